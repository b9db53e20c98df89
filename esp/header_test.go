package esp

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"testing"
)

// TestHeaderHelpers checks the byte order of SPI, Seq and the IV (RFC 4303 §2: network order).
// Covers R-TX-4 (IV = the 64-bit sequence number, big-endian).
func TestHeaderHelpers(t *testing.T) {
	pkt := make([]byte, PayloadOffset+2)
	PutHeader(pkt, 0x01020304, 0xa0b0c0d0)
	PutIV(pkt, 0x1122334455667788)
	want := []byte{1, 2, 3, 4, 0xa0, 0xb0, 0xc0, 0xd0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0, 0}
	if !bytes.Equal(pkt, want) {
		t.Fatalf("PutHeader+PutIV = %x, want %x", pkt, want)
	}
	if SPI(pkt) != 0x01020304 || Seq(pkt) != 0xa0b0c0d0 {
		t.Errorf("SPI, Seq = %#x, %#x", SPI(pkt), Seq(pkt))
	}
}

// stdlibGCM is an independent reference: it builds the RFC 4106 / 4543 nonce and AAD by
// concatenation into fresh slices and calls crypto/cipher directly, none of this package's
// in-place tricks.
func stdlibGCM(t *testing.T, keyMat []byte, alg Algorithm, esn bool, seqHi uint32, framed []byte) []byte {
	t.Helper()
	block, err := aes.NewCipher(keyMat[:len(keyMat)-SaltLen])
	if err != nil {
		t.Fatal(err)
	}
	g, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	nonce := append(bytes.Clone(keyMat[len(keyMat)-SaltLen:]), framed[HeaderLen:PayloadOffset]...)
	aad := bytes.Clone(framed[:4])
	if esn {
		aad = append(aad, byte(seqHi>>24), byte(seqHi>>16), byte(seqHi>>8), byte(seqHi))
	}
	aad = append(aad, framed[4:8]...)
	if alg == AESGMAC {
		aad = append(aad, framed[HeaderLen:]...)
		return append(bytes.Clone(framed), g.Seal(nil, nonce, nil, aad)...)
	}
	return append(bytes.Clone(framed[:PayloadOffset]), g.Seal(nil, nonce, framed[PayloadOffset:], aad)...)
}

// TestSealIVIsSequence frames packets the way the NIC does on send: IV = the 64-bit sequence
// number, seq-low in the header, seq-high only in the AAD. The result must match an
// independent crypto/cipher computation for AES-GCM and for AES-GMAC, with and without ESN
// (the draft has no GMAC+ESN case, so this is that case's known answer), and open again.
// Covers R-TX-4, SPEC §7 (GMAC AAD with ESN), R-RX-8.
func TestSealIVIsSequence(t *testing.T) {
	keyMat := []byte("0123456789abcdef0123456789abcdefSALT") // AES-256 + salt
	const spi = 0xc0ffee01
	for _, seq := range []uint64{1, 0x00000001fffffffe, 0xfedcba9876543210} {
		for _, alg := range []Algorithm{AESGCM, AESGMAC} {
			for _, esn := range []bool{false, true} {
				tr := mustTransform(t, Params{Alg: alg, KeyMat: keyMat, ESN: esn})
				s := new(Scratch)
				payload := []byte("an inner packet")
				framed := make([]byte, PayloadOffset, 64)
				PutHeader(framed, spi, uint32(seq))
				PutIV(framed, seq)
				framed = AppendTrailer(append(framed, payload...), PadLen(len(payload)), 4)
				seqHi := uint32(seq >> 32)
				want := stdlibGCM(t, keyMat, alg, esn, seqHi, framed)

				sealed, err := tr.Seal(s, withTailroom(framed), seqHi)
				if err != nil || !bytes.Equal(sealed, want) {
					t.Fatalf("%v ESN=%v seq=%#x: Seal = %x, %v;\nwant %x", alg, esn, seq, sealed, err, want)
				}
				if got := sealed[HeaderLen:PayloadOffset]; !bytes.Equal(got, framed[HeaderLen:PayloadOffset]) {
					t.Errorf("Seal rewrote the IV: %x", got)
				}
				got, err := tr.Open(s, withTailroom(sealed), seqHi)
				if err != nil || !bytes.Equal(got, framed[PayloadOffset:]) {
					t.Fatalf("%v ESN=%v: Open = %x, %v", alg, esn, got, err)
				}
				if esn {
					expectAuthFail(t, tr, s, withTailroom(sealed), seqHi+1, "seq-high off by one")
				}
			}
		}
	}
}
