package vgcm

import (
	"bytes"
	mrand "math/rand/v2"
	"testing"
)

// TestDifferentialRandom compares random messages up to 9216 bytes (jumbo frames), with
// AAD from 0 to 64 bytes and some long AAD, in place and not, against crypto/cipher.
func TestDifferentialRandom(t *testing.T) {
	skipUnsupported(t)
	r := mrand.New(mrand.NewPCG(7, 8))
	iters := 3000
	if testing.Short() {
		iters = 300
	}
	for i := 0; i < iters; i++ {
		key := randBytes(r, []int{16, 24, 32}[r.IntN(3)])
		k := mustKey(t, key)
		n := r.IntN(9217)
		aadLen := r.IntN(65)
		if i%10 == 0 {
			aadLen = r.IntN(10000)
		}
		checkOne(t, key, k, randBytes(r, 12), randBytes(r, n), randBytes(r, aadLen), tagLens[r.IntN(3)])
	}
}

// TestBoundaries covers every length class of both paths: around 16-block chunks, 64-byte
// lane groups and the short/long switch, for text and for AAD (GMAC too).
func TestBoundaries(t *testing.T) {
	skipUnsupported(t)
	r := mrand.New(mrand.NewPCG(9, 10))
	var lens []int
	for _, base := range []int{0, 64, 128, 192, 224, 240, 256, 512, 768, 1024, 4096, 9216} {
		for d := -17; d <= 17; d++ {
			if base+d >= 0 {
				lens = append(lens, base+d)
			}
		}
	}
	for _, size := range []int{16, 24, 32} {
		key := randBytes(r, size)
		k := mustKey(t, key)
		for _, n := range lens {
			checkOne(t, key, k, randBytes(r, 12), randBytes(r, n), randBytes(r, 8), 16)
			checkOne(t, key, k, randBytes(r, 12), nil, randBytes(r, n), 16) // GMAC
			checkOne(t, key, k, randBytes(r, 12), randBytes(r, n), randBytes(r, n), 12)
			checkOne(t, key, k, randBytes(r, 12), randBytes(r, 17), randBytes(r, n), 8)
		}
	}
}

// TestTamper flips one bit at every position of AAD, ciphertext and tag (and truncates):
// Open must fail and leave the buffer exactly as it was, in place and out of place.
func TestTamper(t *testing.T) {
	skipUnsupported(t)
	r := mrand.New(mrand.NewPCG(11, 12))
	tries := 0
	defer func() { t.Logf("%d tampered opens", tries) }()
	for _, n := range []int{0, 1, 15, 16, 63, 64, 65, 200, 255, 256, 257, 1400} {
		for _, aadLen := range []int{0, 8, 300} {
			for _, tagLen := range tagLens {
				key := randBytes(r, 16+8*r.IntN(3))
				k := mustKey(t, key)
				nonce, pt, aad := randBytes(r, 12), randBytes(r, n), randBytes(r, aadLen)
				sealed := make([]byte, n+tagLen)
				k.Seal(sealed, nonce, pt, aad, tagLen)
				try := func(what string, ct, a []byte, nn []byte) {
					t.Helper()
					tries++
					orig := bytes.Clone(ct)
					if k.Open(ct, nn, ct, a, tagLen) {
						t.Fatalf("n=%d aad=%d tag=%d: in-place Open accepted %s", n, aadLen, tagLen, what)
					}
					if !bytes.Equal(ct, orig) {
						t.Fatalf("n=%d aad=%d tag=%d: failed in-place Open (%s) changed the buffer", n, aadLen, tagLen, what)
					}
					out := make([]byte, len(ct))
					for i := range out {
						out[i] = 0xee
					}
					if k.Open(out, nn, ct, a, tagLen) {
						t.Fatalf("n=%d: out-of-place Open accepted %s", n, what)
					}
					if !bytes.Equal(ct, orig) {
						t.Fatalf("n=%d: failed out-of-place Open (%s) changed the input", n, what)
					}
					if m := len(ct) - tagLen; m >= 0 && !bytes.Equal(out[:m], ct[:m]) {
						t.Fatalf("n=%d: failed out-of-place Open (%s) left plaintext in out", n, what)
					}
				}
				positions := func(l int) []int {
					if l <= 80 {
						p := make([]int, l)
						for i := range p {
							p[i] = i
						}
						return p
					}
					return []int{0, 1, 15, 16, 17, 63, 64, 65, l / 2, l - 17, l - 16, l - 1}
				}
				for _, i := range positions(aadLen) {
					a := bytes.Clone(aad)
					a[i] ^= 1 << (i % 8)
					try("modified AAD", bytes.Clone(sealed), a, nonce)
				}
				for _, i := range positions(len(sealed)) {
					ct := bytes.Clone(sealed)
					ct[i] ^= 0x80 >> (i % 8)
					try("modified ciphertext or tag", ct, aad, nonce)
				}
				nn := bytes.Clone(nonce)
				nn[11] ^= 1
				try("another nonce", bytes.Clone(sealed), aad, nn)
				try("a dropped byte", bytes.Clone(sealed[:len(sealed)-1]), aad, nonce)
				if aadLen > 0 {
					try("shorter AAD", bytes.Clone(sealed), aad[:aadLen-1], nonce)
				}
				try("longer AAD", bytes.Clone(sealed), append(bytes.Clone(aad), 0), nonce)
				other := mustKey(t, randBytes(r, len(key)))
				orig := bytes.Clone(sealed)
				if other.Open(sealed, nonce, sealed, aad, tagLen) || !bytes.Equal(sealed, orig) {
					t.Fatalf("n=%d: Open under another key accepted or changed the buffer", n)
				}
			}
		}
	}
}

// TestAllocs checks that Seal and Open, including a failed Open, do not allocate.
func TestAllocs(t *testing.T) {
	skipUnsupported(t)
	k := mustKey(t, make([]byte, 32))
	nonce, aad := make([]byte, 12), make([]byte, 8)
	buf := make([]byte, 1400+16)
	for name, f := range map[string]func(){
		"Seal":      func() { k.Seal(buf, nonce, buf[:1400], aad, 16) },
		"Open":      func() { k.Seal(buf, nonce, buf[:1400], aad, 16); k.Open(buf, nonce, buf, aad, 16) },
		"Open fail": func() { k.Open(buf, nonce, buf, aad[:4], 16) },
		"GMAC":      func() { k.Seal(buf[:16], nonce, nil, buf[16:], 16) },
	} {
		if a := testing.AllocsPerRun(100, f); a != 0 {
			t.Errorf("%s: %v allocations per call", name, a)
		}
	}
}

// TestContract checks the panics of the slice contract and the short-ciphertext result.
func TestContract(t *testing.T) {
	skipUnsupported(t)
	k := mustKey(t, make([]byte, 16))
	nonce := make([]byte, 12)
	buf := make([]byte, 100)
	mustPanic := func(what string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s: no panic", what)
			}
		}()
		f()
	}
	mustPanic("short nonce", func() { k.Seal(buf, nonce[:8], buf[:10], nil, 16) })
	mustPanic("tag 4", func() { k.Seal(buf, nonce, buf[:10], nil, 4) })
	mustPanic("short out", func() { k.Seal(buf[:25], nonce, buf[:10], nil, 16) })
	mustPanic("inexact overlap", func() { k.Seal(buf[1:], nonce, buf[:10], nil, 16) })
	mustPanic("open inexact overlap", func() { k.Open(buf[1:], nonce, buf[:40], nil, 16) })
	mustPanic("open short out", func() { k.Open(buf[:10], nonce, buf[50:90], nil, 16) })
	mustPanic("zero Key", func() { new(Key).Seal(buf, nonce, buf[:10], nil, 16) })
	if k.Open(buf, nonce, buf[:15], nil, 16) {
		t.Error("Open of 15 bytes with a 16-byte tag succeeded")
	}
	if _, err := NewKey(make([]byte, 20)); err != ErrKeySize {
		t.Errorf("NewKey(20 bytes) = %v", err)
	}
}
