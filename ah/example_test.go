package ah_test

import (
	"encoding/binary"
	"fmt"

	"github.com/ov2dev/ov2/ah"
	"github.com/ov2dev/ov2/esp"
)

// An IPv4 transport-mode AH packet with HMAC-SHA-256-128: the host frames the IP header and
// the AH header (PutHeader), Insert writes the ICV; on the other side Verify checks it,
// whatever the routers did to the TTL on the way, and finds the payload.
func ExampleTransform() {
	tr, err := ah.NewTransform(ah.Params{Integrity: esp.HMACSHA256_128, Key: make([]byte, 32)})
	if err != nil {
		panic(err)
	}
	payload := []byte("UDP segment, say")
	ahLen := tr.HeaderLen(false) // 28 bytes: 12 fixed + 16 ICV
	pkt := make([]byte, 20+ahLen+len(payload))
	pkt[0], pkt[8], pkt[9] = 0x45, 64, ah.Protocol
	binary.BigEndian.PutUint16(pkt[2:], uint16(len(pkt)))
	copy(pkt[12:], []byte{192, 0, 2, 1, 198, 51, 100, 2})
	ah.PutHeader(pkt[20:], 17, ahLen, 0x1000, 1)
	copy(pkt[20+ahLen:], payload)

	s := new(ah.Scratch) // one per lane, kept for the lane's life
	if _, err := tr.Insert(s, pkt, 0); err != nil {
		panic(err)
	}
	pkt[8]-- // a router on the way
	l, err := tr.Verify(s, pkt, 0)
	fmt.Println(err, l.NextHeader, string(pkt[l.Payload:l.End]))
	// Output: <nil> 17 UDP segment, say
}
