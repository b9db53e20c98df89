package vgcm

import (
	"bytes"
	"testing"
)

// FuzzSealOpen checks Seal against crypto/cipher and Open's round trip and rejection for
// arbitrary keys, nonces, texts and AAD. keySel picks the key size (16/24/32 bytes, the
// key being the first bytes of keyMat, zero-padded), tagSel the tag length, and flip a
// bit of AAD ‖ ciphertext ‖ tag to corrupt before a second Open, which must fail and
// leave the buffer as it was.
func FuzzSealOpen(f *testing.F) {
	if !Supported() {
		f.Skip("vgcm needs VAES, VPCLMULQDQ, AVX-512 F/BW/VL with OS support")
	}
	// More seeds are in testdata/fuzz/FuzzSealOpen.
	f.Add(byte(0), []byte("0123456789abcdef"), []byte("nonce-nonce-"), []byte("hello, world"), []byte("SPI+seq!"), byte(2), uint32(5))
	f.Fuzz(func(t *testing.T, keySel byte, keyMat, nonce, pt, aad []byte, tagSel byte, flip uint32) {
		key := make([]byte, 16+8*int(keySel%3))
		copy(key, keyMat)
		var n12 [12]byte
		copy(n12[:], nonce)
		tagLen := tagLens[int(tagSel)%3]
		k := mustKey(t, key)
		want := stdSeal(t, key, n12[:], pt, aad, tagLen)
		n := len(pt)

		buf := make([]byte, n+tagLen)
		copy(buf, pt)
		k.Seal(buf, n12[:], buf[:n], aad, tagLen)
		if !bytes.Equal(buf, want) {
			t.Fatalf("in-place Seal differs from crypto/cipher")
		}
		out := make([]byte, n)
		if !k.Open(out, n12[:], buf, aad, tagLen) || !bytes.Equal(out, pt) {
			t.Fatalf("Open of a sealed message failed or differs")
		}

		// Corrupt one bit of AAD ‖ ciphertext ‖ tag.
		total := len(aad) + len(buf)
		pos := int(flip % uint32(total))
		bit := byte(1) << (flip >> 29)
		a := bytes.Clone(aad)
		if pos < len(aad) {
			a[pos] ^= bit
		} else {
			buf[pos-len(aad)] ^= bit
		}
		orig := bytes.Clone(buf)
		if k.Open(buf, n12[:], buf, a, tagLen) {
			t.Fatalf("Open accepted a flipped bit at %d of %d", pos, total)
		}
		if !bytes.Equal(buf, orig) {
			t.Fatalf("failed Open changed the buffer")
		}
	})
}
