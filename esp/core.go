package esp

import "crypto/subtle"

// The core functions below are the whole of the cryptography. Seal and Open only build the
// nonce and AAD and then call them, and the Wycheproof tests call them directly, so the code
// that the known-answer vectors check is the code that packets run through.

// nonce writes salt ‖ iv into s and returns it (RFC 4106 §4). The nonce must live in s, not
// on the stack: it crosses the cipher.AEAD interface and would escape.
func (t *Transform) nonce(s *Scratch, iv []byte) []byte {
	copy(s.nonce[:SaltLen], t.salt)
	copy(s.nonce[SaltLen:], iv)
	return s.nonce[:]
}

// sealCore encrypts buf in place and appends the ICV inside buf's capacity, which must be at
// least len(buf)+MaxICVLen. For ICV 8 the full 16-byte tag is written and the 8 bytes past
// the ICV are cleared again, so no part of the untruncated tag is left in the tailroom.
func (t *Transform) sealCore(nonce, aad, buf []byte) []byte {
	n := len(buf)
	out := t.aead.Seal(buf[:0], nonce, buf, aad)
	if t.icvLen == 8 {
		clear(out[n+8:])
		out = out[:n+8]
	}
	return out
}

// openCore verifies buf = ciphertext ‖ ICV and decrypts the ciphertext in place, returning
// it. On failure buf is exactly as it was: crypto/cipher's Open clears its output when the
// tag does not match (its assembly decrypts while it authenticates), so the ciphertext is
// saved in s first and put back. The copy is the price of R-RX-5: a failed packet is still
// indicated to the host as it arrived.
func (t *Transform) openCore(s *Scratch, nonce, aad, buf []byte) ([]byte, error) {
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

// gmacTag returns the GCM tag of an empty plaintext with the given AAD (RFC 4543 §3.1),
// held in s.tag.
func (t *Transform) gmacTag(s *Scratch, nonce, aad []byte) []byte {
	return t.aead.Seal(s.tag[:0], nonce, nil, aad)
}

// gmacVerify reports whether icv is the GMAC tag of aad, comparing in constant time.
func (t *Transform) gmacVerify(s *Scratch, nonce, aad, icv []byte) bool {
	return subtle.ConstantTimeCompare(t.gmacTag(s, nonce, aad), icv) == 1
}
