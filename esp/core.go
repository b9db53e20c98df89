package esp

import (
	"crypto/subtle"
	"encoding/binary"

	"github.com/ov2dev/ov2/esp/internal/vgcm"
)

// The core functions below are the whole of the cryptography. Seal and Open only build the
// nonce and AAD and then call them, and the Wycheproof tests call them directly, so the code
// that the known-answer vectors check is the code that packets run through.
//
// Each one first branches to the portable core (portable.go) when the SA has one and
// otherwise runs crypto/cipher's AES-GCM right there. The stdlib code is written inline
// rather than in a function of its own on purpose: a second call level measurably slowed
// the 64-byte and 512-byte packets (a few ns each), and a branch that always goes the same
// way for a given SA costs nothing measurable. crypto/cipher's assembly (where the CPU has
// it) interleaves encryption and GHASH, which is where its speed comes from, but it offers
// only whole-packet Seal and Open with tags of 12 or 16 bytes; the code here and in icv8.go
// adapts that to what ESP needs.

// nonce writes salt ‖ iv into s and returns it (RFC 4106 §4). The nonce must live in s, not
// on the stack: it crosses the cipher.AEAD interface and would escape.
func (t *Transform) nonce(s *Scratch, iv []byte) []byte {
	// Two stores of the sizes and at the places of the VAES assembly's two loads of the
	// nonce (8 bytes at 0, 4 at 8), so that each load takes its bytes straight from one
	// store still in flight. Stored as salt (4 bytes) and IV (8), the first load spanned
	// both and had to wait until they reached the cache: 13% of a 64-byte packet's seal
	// sat on it. iv is always IVLen bytes (the callers slice it so).
	v := binary.LittleEndian.Uint64(iv[:IVLen])
	binary.LittleEndian.PutUint64(s.nonce[0:8], uint64(binary.LittleEndian.Uint32(t.salt))|v<<32)
	binary.LittleEndian.PutUint32(s.nonce[8:12], uint32(v>>32))
	return s.nonce[:]
}

// sealCore encrypts buf in place and appends the ICV inside buf's capacity, which must be at
// least len(buf)+MaxICVLen. For ICV 8 the stdlib path writes the full 16-byte tag and clears
// the 8 bytes past the ICV again, so no part of the untruncated tag is left in the tailroom;
// the portable core writes only the ICV.
func (t *Transform) sealCore(s *Scratch, nonce, aad, buf []byte) []byte {
	if t.vk != nil {
		out := buf[:len(buf)+t.icvLen]
		t.vk.Seal(out, nonce, buf, aad, t.icvLen)
		return out
	}
	if t.pg != nil {
		return t.pg.seal(s, nonce, aad, buf, t.icvLen)
	}
	n := len(buf)
	out := t.aead.Seal(buf[:0], nonce, buf, aad)
	if t.icvLen == 8 {
		clear(out[n+8:])
		out = out[:n+8]
	}
	return out
}

// openCore verifies buf = ciphertext ‖ ICV and decrypts the ciphertext in place, returning
// it. On failure buf is exactly as it was (R-RX-5: a failed packet is still indicated to the
// host as it arrived). The VAES core restores a failed buffer by applying the keystream a
// second time (only failed packets pay); the portable core verifies before it decrypts.
// crypto/cipher's Open instead clears its output when the tag does not match (its assembly
// decrypts while it authenticates), so on the stdlib path the ciphertext is saved in s first
// and put back; the copy is the price of using the fast path.
func (t *Transform) openCore(s *Scratch, nonce, aad, buf []byte) ([]byte, error) {
	if t.vk != nil {
		// Decrypts and authenticates in one pass; on a bad tag it runs the keystream over
		// the buffer again, which restores the ciphertext: nothing is copied on success.
		n := len(buf) - t.icvLen
		if !t.vk.Open(buf[:n], nonce, buf, aad, t.icvLen) {
			return nil, ErrAuth
		}
		return buf[:n], nil
	}
	if t.pg != nil {
		return t.pg.open(s, nonce, aad, buf, t.icvLen)
	}
	if t.icvLen == 8 {
		return t.openICV8(s, nonce, aad, buf)
	}
	n := len(buf) - t.icvLen
	saved := s.grow(n)
	copy(saved, buf[:n])
	if _, err := t.aead.Open(buf[:0], nonce, buf, aad); err != nil {
		copy(buf[:n], saved)
		return nil, ErrAuth
	}
	return buf[:n], nil
}

// tagSealer is the one method of cipher.AEAD that GMAC needs, Seal with an empty plaintext.
// Both cores provide it (the portable one as portableMAC), so that gmacTag is a single
// interface call: a branch there would stop the compiler inlining it, and the extra call
// level cost the 64-byte GMAC packet about 3 ns (5%) on the stdlib path.
type tagSealer interface {
	Seal(dst, nonce, plaintext, aad []byte) []byte
}

// gmacTag returns the GCM tag of an empty plaintext with the given AAD (RFC 4543 §3.1),
// held in s.tag.
func (t *Transform) gmacTag(s *Scratch, nonce, aad []byte) []byte {
	return t.mac.Seal(s.tag[:0], nonce, nil, aad)
}

// gmacVerify reports whether icv is the GMAC tag of aad, comparing in constant time.
func (t *Transform) gmacVerify(s *Scratch, nonce, aad, icv []byte) bool {
	return subtle.ConstantTimeCompare(t.gmacTag(s, nonce, aad), icv) == 1
}

// vaesMAC is the VAES core as a tagSealer: Seal with an empty plaintext writes the 16-byte
// GMAC tag after dst.
type vaesMAC vgcm.Key

func (m *vaesMAC) Seal(dst, nonce, _, aad []byte) []byte {
	n := len(dst)
	out := dst[n : n+16]
	(*vgcm.Key)(m).Seal(out, nonce, nil, aad, 16)
	return dst[:n+16]
}
