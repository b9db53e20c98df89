package vgcm

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"encoding/hex"
	mrand "math/rand/v2"
	"testing"
)

func skipUnsupported(tb testing.TB) {
	tb.Helper()
	if !Supported() {
		tb.Skip("vgcm needs VAES, VPCLMULQDQ, AVX-512 F/BW/VL with OS support; this CPU or OS lacks one")
	}
}

var tagLens = []int{8, 12, 16}

// stdSeal is the reference: crypto/cipher's AES-GCM with a 16-byte tag, truncated (a GCM
// tag of t bytes is the first t bytes of the full one, SP 800-38D §7.1).
func stdSeal(tb testing.TB, key, nonce, pt, aad []byte, tagLen int) []byte {
	tb.Helper()
	b, err := aes.NewCipher(key)
	if err != nil {
		tb.Fatal(err)
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		tb.Fatal(err)
	}
	out := g.Seal(nil, nonce, pt, aad)
	return out[:len(pt)+tagLen]
}

func mustKey(tb testing.TB, key []byte) *Key {
	tb.Helper()
	k, err := NewKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func randBytes(r *mrand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestKeyExpansion(t *testing.T) {
	skipUnsupported(t)
	r := mrand.New(mrand.NewPCG(1, 2))
	for _, size := range []int{16, 24, 32} {
		for i := 0; i < 200; i++ {
			key := randBytes(r, size)
			k := mustKey(t, key)
			ref, _ := aes.NewCipher(key)
			src := randBytes(r, 16)
			var got, want [16]byte
			encryptBlock(&k.rk[0], k.nr, &got[0], &src[0])
			ref.Encrypt(want[:], src)
			if got != want {
				t.Fatalf("AES-%d key %x: got %x want %x", size*8, key, got, want)
			}
		}
	}
	// FIPS-197 Appendix A.1: the last round key of the AES-128 example.
	k := mustKey(t, mustHex("2b7e151628aed2a6abf7158809cf4f3c"))
	if got := hex.EncodeToString(k.rk[160:176]); got != "d014f9a8c9ee2589e13f0cc8b6630ca6" {
		t.Fatalf("AES-128 round key 10 = %s", got)
	}
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// refMul is a plain-Go model of gfMul: a·b·t^-128 mod Q on 128-bit little-endian
// integers (doc.go), by schoolbook carry-less multiplication and bitwise Montgomery
// reduction.
func refMul(a, b [2]uint64) [2]uint64 {
	var p [4]uint64 // 256-bit product
	for i := 0; i < 128; i++ {
		if (a[i/64]>>(i%64))&1 == 0 {
			continue
		}
		// p ^= b << i
		for w := 0; w < 2; w++ {
			lo := b[w] << (i % 64)
			var hi uint64
			if i%64 != 0 {
				hi = b[w] >> (64 - i%64)
			}
			p[w+i/64] ^= lo
			if w+i/64+1 < 4 {
				p[w+i/64+1] ^= hi
			}
		}
	}
	// Montgomery: clear bits 0..127 by adding multiples of Q = 1 + t^121 + t^126 + t^127 +
	// t^128, then divide by t^128.
	for i := 0; i < 128; i++ {
		if (p[i/64]>>(i%64))&1 == 1 {
			for _, e := range []int{0, 121, 126, 127, 128} {
				j := i + e
				p[j/64] ^= 1 << (j % 64)
			}
		}
	}
	return [2]uint64{p[2], p[3]}
}

func TestGFMul(t *testing.T) {
	skipUnsupported(t)
	r := mrand.New(mrand.NewPCG(3, 4))
	for i := 0; i < 2000; i++ {
		a := [2]uint64{r.Uint64(), r.Uint64()}
		b := [2]uint64{r.Uint64(), r.Uint64()}
		if i < 4 {
			a[1] |= 1 << 63
			b[1] |= 1 << 63
		}
		var ab, bb, got [16]byte
		binary.LittleEndian.PutUint64(ab[:], a[0])
		binary.LittleEndian.PutUint64(ab[8:], a[1])
		binary.LittleEndian.PutUint64(bb[:], b[0])
		binary.LittleEndian.PutUint64(bb[8:], b[1])
		gfMul(&got, &ab, &bb)
		want := refMul(a, b)
		g := [2]uint64{binary.LittleEndian.Uint64(got[:]), binary.LittleEndian.Uint64(got[8:])}
		if g != want {
			t.Fatalf("gfMul(%x, %x) = %x, want %x", a, b, g, want)
		}
	}
}

// checkOne seals and opens one message both in place and not, against crypto/cipher.
func checkOne(t *testing.T, key []byte, k *Key, nonce, pt, aad []byte, tagLen int) {
	t.Helper()
	want := stdSeal(t, key, nonce, pt, aad, tagLen)
	n := len(pt)

	// Out of place, with a guard byte after the output.
	out := make([]byte, n+tagLen+1)
	out[n+tagLen] = 0xa5
	k.Seal(out, nonce, pt, aad, tagLen)
	if !bytes.Equal(out[:n+tagLen], want) {
		t.Fatalf("Seal key %d B, n=%d aad=%d tag=%d:\n got %x\nwant %x", len(key), n, len(aad), tagLen, out[:n+tagLen], want)
	}
	if out[n+tagLen] != 0xa5 {
		t.Fatalf("Seal wrote past the tag (n=%d aad=%d tag=%d)", n, len(aad), tagLen)
	}

	// In place.
	buf := make([]byte, n+tagLen+1)
	copy(buf, pt)
	buf[n+tagLen] = 0x5a
	k.Seal(buf[:n+tagLen], nonce, buf[:n], aad, tagLen)
	if !bytes.Equal(buf[:n+tagLen], want) || buf[n+tagLen] != 0x5a {
		t.Fatalf("in-place Seal n=%d aad=%d tag=%d", n, len(aad), tagLen)
	}

	// Open out of place.
	dec := make([]byte, n+1)
	dec[n] = 0x33
	if !k.Open(dec, nonce, want, aad, tagLen) {
		t.Fatalf("Open failed n=%d aad=%d tag=%d", n, len(aad), tagLen)
	}
	if !bytes.Equal(dec[:n], pt) || dec[n] != 0x33 {
		t.Fatalf("Open plaintext wrong n=%d aad=%d tag=%d", n, len(aad), tagLen)
	}
	// Open in place.
	if !k.Open(buf, nonce, buf[:n+tagLen], aad, tagLen) {
		t.Fatalf("in-place Open failed n=%d aad=%d tag=%d", n, len(aad), tagLen)
	}
	if !bytes.Equal(buf[:n], pt) || !bytes.Equal(buf[n:n+tagLen], want[n:]) || buf[n+tagLen] != 0x5a {
		t.Fatalf("in-place Open wrong n=%d aad=%d tag=%d", n, len(aad), tagLen)
	}
}

func TestDifferentialLengths(t *testing.T) {
	skipUnsupported(t)
	r := mrand.New(mrand.NewPCG(5, 6))
	for _, size := range []int{16, 24, 32} {
		key := randBytes(r, size)
		k := mustKey(t, key)
		for _, tagLen := range tagLens {
			for _, aadLen := range []int{0, 8, 12, 16, 17, 64} {
				for n := 0; n <= 300; n++ {
					checkOne(t, key, k, randBytes(r, 12), randBytes(r, n), randBytes(r, aadLen), tagLen)
				}
			}
		}
	}
}
