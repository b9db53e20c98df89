package esp

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// refMul multiplies x and y in GF(2^128) exactly as NIST SP 800-38D §6.3 Algorithm 1 states
// it, bit by bit on the byte strings: for each bit x_i from the left, Z ^= V if x_i is set;
// then V = V >> 1, XORed with R = 11100001 ‖ 0^120 if the bit shifted out was set. It is slow
// and shares no code with ghashTable, which is the point.
func refMul(x, y [16]byte) [16]byte {
	var z [16]byte
	v := y
	for i := range 128 {
		if x[i/8]>>(7-i%8)&1 == 1 {
			for k := range z {
				z[k] ^= v[k]
			}
		}
		lsb := v[15] & 1
		for k := 15; k > 0; k-- {
			v[k] = v[k]>>1 | v[k-1]<<7
		}
		v[0] >>= 1
		if lsb == 1 {
			v[0] ^= 0xe1
		}
	}
	return z
}

func toElem(b [16]byte) fieldElem {
	return fieldElem{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func fromElem(e fieldElem) (b [16]byte) {
	binary.BigEndian.PutUint64(b[:8], e.hi)
	binary.BigEndian.PutUint64(b[8:], e.lo)
	return b
}

// TestGHASHMul checks the portable core's table multiplication against refMul for random and
// edge-case operands (SPEC §6: the portable fallback computes the same GCM). The vectors test
// the whole of GCM; this pins a GHASH fault to the field arithmetic.
func TestGHASHMul(t *testing.T) {
	r := rand.New(rand.NewPCG(0x6a09e667, 0xbb67ae85))
	random := func() (b [16]byte) {
		binary.BigEndian.PutUint64(b[:8], r.Uint64())
		binary.BigEndian.PutUint64(b[8:], r.Uint64())
		return b
	}
	one := [16]byte{0: 0x80}  // the polynomial 1
	top := [16]byte{15: 0x01} // x^127, whose square needs the most reduction
	ones := [16]byte{}        // every coefficient set
	for i := range ones {
		ones[i] = 0xff
	}
	pairs := [][2][16]byte{{one, one}, {one, top}, {top, top}, {ones, ones}, {ones, top}, {{}, ones}}
	for range 2000 {
		pairs = append(pairs, [2][16]byte{random(), random()})
	}
	for _, p := range pairs {
		x, h := p[0], p[1]
		tab := newGHASHTable(toElem(h))
		y := toElem(x)
		tab.mul(&y)
		if got, want := fromElem(y), refMul(x, h); got != want {
			t.Fatalf("%x · %x = %x, want %x", x, h, got, want)
		}
	}
	if got := fromElem(toElem(top).mulX()); got != [16]byte{0: 0xe1} {
		t.Errorf("x^127 · x = %x, want e1000000... (x^128 = x^7 + x^2 + x + 1)", got)
	}
}

// TestGHASHUpdate checks update's and update2's block split and zero padding, and update2's
// use of H²: absorbing data must equal absorbing it padded to whole blocks by hand, one block
// at a time through refMul (SP 800-38D §6.4).
func TestGHASHUpdate(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var h [16]byte
	for i := range h {
		h[i] = byte(r.Uint32())
	}
	tab := newGHASHTable(toElem(h))
	tab2 := newGHASHTable(toElem(refMul(h, h)))
	for n := range 100 {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(r.Uint32())
		}
		var y, y2 fieldElem
		y.hi, y2.hi = uint64(n), uint64(n) // a running value from earlier data
		tab.update(&y, data)
		update2(&tab, &tab2, &y2, data)

		want := fromElem(fieldElem{hi: uint64(n)})
		for off := 0; off < n; off += 16 {
			var blk [16]byte
			copy(blk[:], data[off:])
			for k := range want {
				want[k] ^= blk[k]
			}
			want = refMul(want, h)
		}
		if got := fromElem(y); got != want {
			t.Errorf("update of %d bytes = %x, want %x", n, got, want)
		}
		if got := fromElem(y2); got != want {
			t.Errorf("update2 of %d bytes = %x, want %x", n, got, want)
		}
	}
}
