package esp

import "encoding/binary"

// GHASH in plain Go for the portable implementation, built from the definition of the field
// in NIST SP 800-38D §6.3 with the 4-bit table method V. Shoup described for this field.
//
// Bit order. SP 800-38D reads a 128-bit block as the polynomial x0 + x1·x + ... + x127·x^127
// where x0 is the most significant bit of the first byte. A fieldElem holds the block as two
// big-endian words, so bit 63-d of hi is the coefficient of x^d (d < 64) and bit 127-d of lo
// the coefficient of x^d (d >= 64). Multiplying by x moves every coefficient one degree up,
// which in this layout is a right shift of the 128-bit value; the coefficient of x^127 falls
// off the end of lo and comes back reduced, because x^128 = x^7 + x^2 + x + 1 in this field
// (the R = 11100001 ‖ 0^120 of SP 800-38D Algorithm 1).

// fieldElem is one element of GF(2^128) in the layout above.
type fieldElem struct {
	hi, lo uint64
}

// ghashPoly is x^7 + x^2 + x + 1, the value of x^128, in the hi word: degrees 0, 1, 2 and 7
// are bits 63, 62, 61 and 56.
const ghashPoly = 0xe1 << 56

// mulX returns e·x.
func (e fieldElem) mulX() fieldElem {
	carry := e.lo & 1 // coefficient of x^127, which becomes x^128
	return fieldElem{
		hi: e.hi>>1 ^ -carry&ghashPoly,
		lo: e.lo>>1 | e.hi<<63,
	}
}

// reduce4 is what the four coefficients of x^124..x^127 become after a multiplication by
// x^4: indexed by the low 4 bits of lo before the shift (bit k holds x^(127-k), which moves to
// x^(131-k) = x^(3-k)·x^128), it is the sum of (x^7 + x^2 + x + 1)·x^(3-k) over the set bits.
// At most degree 10, so it always fits in hi. Built from ghashPoly rather than written out,
// so that it cannot disagree with it.
var reduce4 = func() (t [16]uint64) {
	for r := range t {
		for k := range 4 {
			if r>>k&1 == 1 {
				t[r] ^= ghashPoly >> (3 - k)
			}
		}
	}
	return t
}()

// ghashTable holds i·H for every 4-bit i, where the nibble's most significant bit is the
// lowest degree, matching the bit order of a block: entry 8 is H, 4 is H·x, 2 is H·x^2, 1 is
// H·x^3, and the others are sums of those. 256 bytes, built once in NewTransform; the
// portable core keeps two (for H and H², see update2), 512 bytes per SA. An 8-bit table would
// roughly halve the per-block work but cost 4 KiB per table, and a NIC holds thousands of SAs.
type ghashTable [16]fieldElem

// newGHASHTable builds the table for hash key h (SP 800-38D §6.4: H = CIPH_K(0^128)).
func newGHASHTable(h fieldElem) (t ghashTable) {
	t[8] = h
	for i := 4; i > 0; i >>= 1 {
		t[i] = t[2*i].mulX()
	}
	for i := 2; i < 16; i <<= 1 {
		for j := 1; j < i; j++ {
			t[i+j] = fieldElem{t[i].hi ^ t[j].hi, t[i].lo ^ t[j].lo}
		}
	}
	return t
}

// mul sets y = y·H. It reads y's 32 nibbles from the highest degree down and evaluates the
// product by Horner's rule, z = z·x^4 + nibble·H, with one table lookup per nibble and one
// for the reduction.
//
// The lookups are indexed by secret-dependent data, so this is not constant-time against an
// attacker who can observe the cache; the table spans four 64-byte lines and reduce4 two.
// That is one reason ImplAuto prefers the standard library wherever it has assembly.
func (t *ghashTable) mul(y *fieldElem) {
	var z fieldElem
	for _, w := range [2]uint64{y.lo, y.hi} { // lo holds the higher degrees
		for range 16 {
			r := z.lo & 0xf
			z.lo = z.lo>>4 | z.hi<<60
			z.hi = z.hi>>4 ^ reduce4[r]
			m := &t[w&0xf]
			z.hi ^= m.hi
			z.lo ^= m.lo
			w >>= 4
		}
	}
	*y = z
}

// mulAdd2 returns a·H² ⊕ b·H, where t holds H and t2 holds H². The two products do not
// depend on each other, so running their Horner steps side by side lets the CPU overlap
// them; a single mul is a chain of dependent lookups and leaves most of the core idle.
func mulAdd2(t, t2 *ghashTable, a, b fieldElem) fieldElem {
	var za, zb fieldElem
	wa, wb := a.lo, b.lo // lo holds the higher degrees
	for i := range 32 {
		if i == 16 {
			wa, wb = a.hi, b.hi
		}
		ra, rb := za.lo&0xf, zb.lo&0xf
		za.lo = za.lo>>4 | za.hi<<60
		zb.lo = zb.lo>>4 | zb.hi<<60
		za.hi = za.hi>>4 ^ reduce4[ra]
		zb.hi = zb.hi>>4 ^ reduce4[rb]
		ma, mb := &t2[wa&0xf], &t[wb&0xf]
		za.hi ^= ma.hi
		za.lo ^= ma.lo
		zb.hi ^= mb.hi
		zb.lo ^= mb.lo
		wa >>= 4
		wb >>= 4
	}
	return fieldElem{za.hi ^ zb.hi, za.lo ^ zb.lo}
}

// update absorbs data into the running GHASH value y (SP 800-38D §6.4: Y = (Y ⊕ X)·H per
// block), padding a final partial block with zeros, as GCM pads both the AAD and the
// ciphertext.
func (t *ghashTable) update(y *fieldElem, data []byte) {
	for len(data) >= 16 {
		y.hi ^= binary.BigEndian.Uint64(data[0:8])
		y.lo ^= binary.BigEndian.Uint64(data[8:16])
		t.mul(y)
		data = data[16:]
	}
	if len(data) > 0 {
		var last [16]byte
		copy(last[:], data)
		y.hi ^= binary.BigEndian.Uint64(last[0:8])
		y.lo ^= binary.BigEndian.Uint64(last[8:16])
		t.mul(y)
	}
}

// zeroed reports whether the table has been wiped.
func (t *ghashTable) zeroed() bool {
	var acc uint64
	for _, e := range t {
		acc |= e.hi | e.lo
	}
	return acc == 0
}

// update2 is update taking two blocks per step: Y' = (Y ⊕ X1)·H² ⊕ X2·H, which equals two
// steps of the one-block rule because multiplication distributes over ⊕.
func update2(t, t2 *ghashTable, y *fieldElem, data []byte) {
	for len(data) >= 32 {
		a := fieldElem{y.hi ^ binary.BigEndian.Uint64(data[0:8]), y.lo ^ binary.BigEndian.Uint64(data[8:16])}
		b := fieldElem{binary.BigEndian.Uint64(data[16:24]), binary.BigEndian.Uint64(data[24:32])}
		*y = mulAdd2(t, t2, a, b)
		data = data[32:]
	}
	t.update(y, data)
}
