package esp_test

import (
	"fmt"

	"github.com/ov2dev/ov2/esp"
)

// AES-CBC with HMAC-SHA-256-128: the framing code asks the transform for the IV room, the
// padding and the ICV, so it needs no knowledge of the suite; Seal draws the IV itself.
func ExampleTransform_cbc() {
	tr, err := esp.NewTransform(esp.Params{
		Alg: esp.AESCBC, KeyMat: make([]byte, 16),
		Integrity: esp.HMACSHA256_128, IntegrityKey: make([]byte, 32),
	})
	if err != nil {
		panic(err)
	}
	payload := []byte("an inner packet, say")
	pad := tr.PadLen(len(payload))
	pkt := make([]byte, tr.PayloadOffset(), tr.PayloadOffset()+len(payload)+pad+esp.TrailerLen+esp.MaxICVLen)
	esp.PutHeader(pkt, 0x1000, 1)
	pkt = esp.AppendTrailer(append(pkt, payload...), pad, 4)

	s := new(esp.Scratch) // one per lane, kept for the lane's life
	sealed, err := tr.Seal(s, pkt, 0)
	if err != nil {
		panic(err)
	}
	fmt.Println(tr.Suite(), len(sealed), "bytes: header 8, IV", tr.IVLen(), "ciphertext", len(sealed)-8-tr.IVLen()-tr.ICVLen(), "ICV", tr.ICVLen())
	plain, err := tr.Open(s, sealed, 0)
	if err != nil {
		panic(err)
	}
	got, _, nh, _ := esp.ParseTrailer(plain)
	fmt.Printf("%s, next header %d\n", got, nh)
	// Output:
	// AES-CBC-128 + HMAC-SHA-256-128 72 bytes: header 8, IV 16 ciphertext 32 ICV 16
	// an inner packet, say, next header 4
}
