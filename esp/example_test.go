package esp_test

import (
	"fmt"

	"github.com/ov2dev/ov2/esp"
)

// ExampleTransform frames, seals and opens one packet: the host's framing (header, IV =
// sequence number, payload, trailer), then the NIC's Seal on send and Open on receive.
func ExampleTransform() {
	keyMat := []byte("16-byte AES key!salt") // 16-byte key ‖ 4-byte salt
	tr, err := esp.NewTransform(esp.Params{Alg: esp.AESGCM, KeyMat: keyMat})
	if err != nil {
		panic(err)
	}
	lane := new(struct{ s esp.Scratch }) // one per lane, on the heap

	const seq = 42
	payload := []byte("hello")
	pkt := make([]byte, esp.PayloadOffset, 64) // room for the trailer and the ICV
	esp.PutHeader(pkt, 0x1234, seq)
	esp.PutIV(pkt, seq)
	pkt = append(pkt, payload...)
	pkt = esp.AppendTrailer(pkt, esp.PadLen(len(payload)), 59)

	sealed, err := tr.Seal(&lane.s, pkt, 0)
	if err != nil {
		panic(err)
	}
	fmt.Printf("sealed %d bytes, SPI %#x, seq %d\n", len(sealed), esp.SPI(sealed), esp.Seq(sealed))

	plain, err := tr.Open(&lane.s, sealed, 0)
	if err != nil {
		panic(err)
	}
	inner, padLen, nextHdr, err := esp.ParseTrailer(plain)
	fmt.Printf("opened %q, pad %d, next header %d, err %v\n", inner, padLen, nextHdr, err)

	sealed[len(sealed)-1] ^= 1
	_, err = tr.Open(&lane.s, sealed, 0)
	fmt.Println(err)
	// Output:
	// sealed 40 bytes, SPI 0x1234, seq 42
	// opened "hello", pad 1, next header 59, err <nil>
	// esp: ICV mismatch
}
