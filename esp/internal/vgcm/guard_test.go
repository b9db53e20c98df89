//go:build unix

package vgcm

import (
	"bytes"
	mrand "math/rand/v2"
	"testing"

	"golang.org/x/sys/unix"
)

// guardPages maps two pages and makes the second inaccessible; it returns the first page
// (anything read or written past its end faults).
func guardPages(t *testing.T) []byte {
	t.Helper()
	ps := unix.Getpagesize()
	mem, err := unix.Mmap(-1, 0, 2*ps, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		t.Skipf("mmap: %v", err)
	}
	t.Cleanup(func() { unix.Munmap(mem) })
	if err := unix.Mprotect(mem[ps:], unix.PROT_NONE); err != nil {
		t.Fatalf("mprotect: %v", err)
	}
	return mem[:ps]
}

// TestGuardPage puts every input and output so that it ends exactly at an unmapped page,
// for every length 0..300 (and a few long ones) and every tag length: masked tails must
// neither read nor write past the end (a fault would kill the test binary).
func TestGuardPage(t *testing.T) {
	skipUnsupported(t)
	r := mrand.New(mrand.NewPCG(13, 14))
	key := randBytes(r, 16)
	k := mustKey(t, key)
	ps := 0
	pIn, pOut, pAAD := guardPages(t), guardPages(t), guardPages(t)
	ps = len(pIn)
	atEnd := func(p []byte, n int) []byte { return p[ps-n : ps : ps] }
	nonceMem := guardPages(t)
	nonce := atEnd(nonceMem, 12)
	copy(nonce, randBytes(r, 12))

	var lens []int
	for n := 0; n <= 300; n++ {
		lens = append(lens, n)
	}
	lens = append(lens, 511, 512, 1400, 4000-16)
	for _, tagLen := range tagLens {
		for _, n := range lens {
			if n+tagLen > ps {
				continue
			}
			aadLen := n % 70
			aad := atEnd(pAAD, aadLen)
			copy(aad, randBytes(r, aadLen))
			pt := atEnd(pIn, n)
			copy(pt, randBytes(r, n))
			ptCopy := bytes.Clone(pt) // pIn is reused for the ciphertext below
			want := stdSeal(t, key, nonce, pt, aad, tagLen)

			// Out of place: plaintext and output each end at a guard page.
			out := atEnd(pOut, n+tagLen)
			k.Seal(out, nonce, pt, aad, tagLen)
			if !bytes.Equal(out, want) {
				t.Fatalf("n=%d tag=%d: Seal at page end", n, tagLen)
			}
			// GMAC with the data as AAD ending at the page end.
			gm := atEnd(pOut, tagLen)
			k.Seal(gm, nonce, nil, atEnd(pIn, n), tagLen)
			if !bytes.Equal(gm, stdSeal(t, key, nonce, nil, atEnd(pIn, n), tagLen)) {
				t.Fatalf("n=%d tag=%d: GMAC at page end", n, tagLen)
			}

			// Open: ciphertext ‖ tag ends at the page end; plaintext out ends there too.
			sealed := atEnd(pIn, n+tagLen)
			copy(sealed, want)
			dec := atEnd(pOut, n)
			if !k.Open(dec, nonce, sealed, aad, tagLen) || !bytes.Equal(dec, ptCopy) {
				t.Fatalf("n=%d tag=%d: Open at page end", n, tagLen)
			}
			// In place, and a failed open (which runs the keystream twice).
			if !k.Open(sealed, nonce, sealed, aad, tagLen) {
				t.Fatalf("n=%d tag=%d: in-place Open at page end", n, tagLen)
			}
			k.Seal(sealed, nonce, sealed[:n], aad, tagLen)
			if !bytes.Equal(sealed, want) {
				t.Fatalf("n=%d tag=%d: in-place Seal at page end", n, tagLen)
			}
			sealed[len(sealed)-1] ^= 1
			if k.Open(sealed, nonce, sealed, aad, tagLen) {
				t.Fatalf("n=%d tag=%d: bad tag accepted", n, tagLen)
			}
			sealed[len(sealed)-1] ^= 1
			if !bytes.Equal(sealed, want) {
				t.Fatalf("n=%d tag=%d: failed Open at page end changed the buffer", n, tagLen)
			}
		}
	}
}
