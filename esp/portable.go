package esp

import (
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
)

// portableGCM is the ImplPortable core: GCM (NIST SP 800-38D §7) written out in this
// package, for CPUs where Go's GCM assembly does not run.
//
// What is portable is the mode and GHASH. The block function is crypto/aes's cipher.Block,
// which itself uses AES-NI or the ARMv8 AES instructions for single blocks where they exist
// and table-driven generic Go where they do not; writing AES here too would add risk and no
// portability.
//
// Because the tag is computed here, Open can verify it over the ciphertext before decrypting
// anything, so a failed packet is never touched and no copy is needed (R-RX-5), and any ICV
// length is just the first bytes of the tag, so ICV 8 needs no re-seal.
type portableGCM struct {
	block cipher.Block // AES under the SA's key; nil after wipe
	h     ghashTable   // i·H for the hash key H = AES_K(0^128)
	h2    ghashTable   // i·H², for GHASH two blocks at a time
}

// newPortableGCM keys the portable core: the hash key is the encryption of the zero block
// (SP 800-38D §7.1 step 1), and H² is H times itself through the first table.
func newPortableGCM(block cipher.Block) *portableGCM {
	var hb [16]byte
	block.Encrypt(hb[:], hb[:])
	h := fieldElem{binary.BigEndian.Uint64(hb[0:8]), binary.BigEndian.Uint64(hb[8:16])}
	clear(hb[:])
	g := &portableGCM{block: block, h: newGHASHTable(h)}
	g.h.mul(&h)
	g.h2 = newGHASHTable(h)
	h = fieldElem{}
	return g
}

// seal encrypts buf in place and writes the first icvLen bytes of the tag after it, inside
// buf's capacity. Nothing past the ICV is written.
func (g *portableGCM) seal(s *Scratch, nonce, aad, buf []byte, icvLen int) []byte {
	g.ctr(s, nonce, buf)
	g.tag(s, nonce, aad, buf)
	out := buf[:len(buf)+icvLen]
	copy(out[len(buf):], s.tag[:icvLen])
	return out
}

// open checks the ICV at the end of buf against the tag of the ciphertext in front of it and
// only then decrypts in place; on a mismatch buf has not been written at all.
func (g *portableGCM) open(s *Scratch, nonce, aad, buf []byte, icvLen int) ([]byte, error) {
	n := len(buf) - icvLen
	ct, icv := buf[:n], buf[n:]
	g.tag(s, nonce, aad, ct)
	if subtle.ConstantTimeCompare(s.tag[:icvLen], icv) != 1 {
		return nil, ErrAuth
	}
	g.ctr(s, nonce, ct)
	return ct, nil
}

// tag computes the full 16-byte GCM tag of (aad, ct) into s.tag.
func (g *portableGCM) tag(s *Scratch, nonce, aad, ct []byte) {
	g.tagInto(s.tag[:], nonce, aad, ct)
}

// tagInto computes the GCM tag of (aad, ct) into out[:16]: GHASH over the AAD, the
// ciphertext and their bit lengths, XORed with AES_K(J0), J0 = nonce ‖ 00000001 (SP 800-38D
// §7.1 steps 2, 5, 6). J0 is built in out and encrypted in place, and the hash XORed onto
// it, so out never holds the mask or the hash on their own: together with the inputs either
// would give away an equation in H.
func (g *portableGCM) tagInto(out, nonce, aad, ct []byte) {
	var y fieldElem
	update2(&g.h, &g.h2, &y, aad)
	update2(&g.h, &g.h2, &y, ct)
	y.hi ^= uint64(len(aad)) * 8
	y.lo ^= uint64(len(ct)) * 8
	g.h.mul(&y)

	out = out[:16]
	copy(out[:NonceLen], nonce)
	binary.BigEndian.PutUint32(out[NonceLen:], 1)
	g.block.Encrypt(out, out)
	binary.BigEndian.PutUint64(out[0:8], binary.BigEndian.Uint64(out[0:8])^y.hi)
	binary.BigEndian.PutUint64(out[8:16], binary.BigEndian.Uint64(out[8:16])^y.lo)
}

// portableMAC is the portable core seen as a tagSealer, for GMAC.
type portableMAC portableGCM

// Seal appends the GMAC tag of aad (the GCM tag of an empty plaintext) to dst, within its
// capacity. It has crypto/cipher's signature so that gmacTag can make one interface call
// whichever the core; it exists only for that, and a plaintext is a bug in this package.
func (m *portableMAC) Seal(dst, nonce, plaintext, aad []byte) []byte {
	if len(plaintext) != 0 {
		panic("esp: portable GMAC tag asked to encrypt")
	}
	out := dst[:len(dst)+MaxICVLen]
	(*portableGCM)(m).tagInto(out[len(dst):], nonce, aad, nil)
	return out
}

// ctr XORs buf in place with the GCM keystream: AES_K of nonce ‖ c for c = 2, 3, ...,
// incrementing only the last 32 bits, modulo 2^32 (SP 800-38D §6.2 inc32, §7.1 step 3).
// Counter blocks are encrypted into s.ks a chunk at a time and XORed with subtle.XORBytes,
// which is vectorised, rather than 16 bytes at a time. The keystream is cleared before
// returning, since with the ciphertext it would give the plaintext.
//
// The counter block and keystream live in the Scratch because cipher.Block.Encrypt is an
// interface call, whose arguments the compiler must assume escape.
func (g *portableGCM) ctr(s *Scratch, nonce, buf []byte) {
	copy(s.ctr[:NonceLen], nonce)
	c := uint32(2)
	for len(buf) > 0 {
		m := min(len(buf), len(s.ks))
		for i := 0; i < m; i += 16 {
			binary.BigEndian.PutUint32(s.ctr[NonceLen:], c)
			c++
			g.block.Encrypt(s.ks[i:i+16], s.ctr[:])
		}
		subtle.XORBytes(buf[:m], buf[:m], s.ks[:m])
		buf = buf[m:]
	}
	clear(s.ks[:])
}

// wipe zeroes the GHASH tables, which are as secret as the key (H gives forgeries), and
// drops the block cipher, whose key schedule crypto/aes keeps where it cannot be zeroed.
func (g *portableGCM) wipe() {
	clear(g.h[:])
	clear(g.h2[:])
	g.block = nil
}

// zeroed reports whether wipe has cleared the GHASH tables.
func (g *portableGCM) zeroed() bool { return g.h.zeroed() && g.h2.zeroed() }
