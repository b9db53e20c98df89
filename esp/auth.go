package esp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"fmt"
)

// Auth is one SA's keyed integrity algorithm on its own, for AH (package ah), which
// authenticates but does not encrypt: HMAC-SHA1-96 (RFC 2404), HMAC-SHA-256-128 (RFC 4868)
// or AES-GMAC (RFC 4543). It shares the HMAC machinery of the AES-CBC and NULL ESP suites
// and the AES-GCM cipher objects of AESGMAC, and it follows Transform's rules: built once
// when the SA is added, then read-only, so any number of goroutines may use it at once, each
// with its own Scratch; Wipe only once no lane can still use it.
type Auth struct {
	alg    Integrity
	live   bool
	keyMat []byte      // our copy: the HMAC key, or the GMAC key ‖ salt; zeroed by Wipe
	hm     *hmacKey    // HMAC pad states
	gcm    cipher.AEAD // GMAC: AES-GCM with the 16-byte tag
	salt   []byte      // GMAC nonce prefix, keyMat[len-4:]
}

// NewAuth keys an integrity algorithm: key is the HMAC key (20 bytes for HMACSHA1_96, 32 for
// HMACSHA256_128) or, for GMAC128/192/256, the AES key followed by the 4-byte salt (RFC 4543
// §3.2; 20, 28 or 36 bytes). NewAuth copies it.
func NewAuth(alg Integrity, key []byte) (*Auth, error) {
	if !alg.isHMAC() && !alg.isGMAC() {
		return nil, fmt.Errorf("esp: integrity algorithm %d, want 1 (HMAC-SHA1-96), 2 (HMAC-SHA-256-128) or 3-5 (AES-GMAC-128/192/256): %w",
			uint8(alg), ErrIntegrity)
	}
	if n, want := len(key), alg.KeyLen(); n != want {
		what := "key"
		if alg.isGMAC() {
			what = "key material (key‖salt)"
		}
		return nil, fmt.Errorf("esp: %v %s is %d bytes, want %d: %w", alg, what, n, want, ErrKeyLength)
	}
	a := &Auth{alg: alg, live: true, keyMat: append([]byte(nil), key...)}
	if alg.isHMAC() {
		a.hm = newHMACKey(alg, a.keyMat, true)
		return a, nil
	}
	k := len(a.keyMat) - SaltLen
	block, err := aes.NewCipher(a.keyMat[:k])
	if err == nil {
		a.gcm, err = cipher.NewGCM(block)
	}
	if err != nil { // unreachable: the length was checked
		return nil, fmt.Errorf("esp: %v: %w", err, ErrKeyLength)
	}
	a.salt = a.keyMat[k:]
	return a, nil
}

// Alg reports the algorithm.
func (a *Auth) Alg() Integrity { return a.alg }

// ICVLen reports the ICV on the wire: 12 or 16.
func (a *Auth) ICVLen() int { return a.alg.ICVLen() }

// IVLen reports the explicit IV the algorithm needs: 8 for AES-GMAC, 0 for the HMACs.
func (a *Auth) IVLen() int { return a.alg.IVLen() }

// Sum computes the ICV of the concatenation of parts and writes it to icv[:ICVLen()]. For
// AES-GMAC, iv (8 bytes) completes the nonce salt ‖ iv and the parts are the AAD of an empty
// plaintext (RFC 4543 §2); for the HMACs iv is ignored. Parts are hashed where they lie
// (HMAC) or, for GMAC, used in place when there is one and copied into s otherwise, since
// crypto/cipher takes the AAD as one slice. Parts must not be on the caller's stack (they
// reach hash.Hash and cipher.AEAD through interfaces and would escape): keep them in a
// long-lived scratch. Sum returns ErrWiped after Wipe and ErrShort when icv or iv is too
// short; it allocates nothing.
func (a *Auth) Sum(s *Scratch, icv, iv []byte, parts ...[]byte) error {
	if !a.live {
		return ErrWiped
	}
	n := a.ICVLen()
	if len(icv) < n || len(iv) < a.IVLen() {
		return ErrShort
	}
	if a.hm != nil {
		sl := lanes.acquire(s)
		copy(icv[:n], a.hmac(sl.st, parts))
		lanes.release(sl)
		return nil
	}
	copy(icv[:n], a.gmac(s, iv, parts))
	return nil
}

// Verify computes the ICV as Sum does and compares it with icv[:ICVLen()] in constant time:
// nil when they match, ErrAuth when they do not (ErrWiped, ErrShort as for Sum). Nothing the
// caller passed is written.
func (a *Auth) Verify(s *Scratch, icv, iv []byte, parts ...[]byte) error {
	if !a.live {
		return ErrWiped
	}
	n := a.ICVLen()
	if len(icv) < n || len(iv) < a.IVLen() {
		return ErrShort
	}
	var ok bool
	if a.hm != nil {
		sl := lanes.acquire(s)
		ok = subtle.ConstantTimeCompare(a.hmac(sl.st, parts), icv[:n]) == 1
		lanes.release(sl)
	} else {
		ok = subtle.ConstantTimeCompare(a.gmac(s, iv, parts), icv[:n]) == 1
	}
	if !ok {
		return ErrAuth
	}
	return nil
}

// Impl names the implementation for reports, e.g. "HMAC-SHA-256-128 (ov2 HMAC-SHA-256 (SHA
// extensions))" or "AES-GMAC-128 (crypto/cipher)".
func (a *Auth) Impl() string {
	if a.hm != nil {
		return a.alg.String() + " (" + a.hm.impl() + ")"
	}
	return a.alg.String() + " (crypto/cipher)"
}

// ImplKind is ImplVAES where the ICV is ov2's own code (HMAC-SHA-256 on the SHA
// extensions), else ImplStdlib (crypto/hmac, crypto/cipher's GMAC).
func (a *Auth) ImplKind() Impl {
	if a.hm != nil && a.hm.fast != nil {
		return ImplVAES
	}
	return ImplStdlib
}

// hmac returns the truncated HMAC of the parts, in the lane's memory.
func (a *Auth) hmac(l *laneState, parts [][]byte) []byte {
	return a.hm.sum(l, parts)[:a.ICVLen()]
}

// gmac returns the 16-byte GMAC tag of the parts under nonce salt ‖ iv, in s.tag.
func (a *Auth) gmac(s *Scratch, iv []byte, parts [][]byte) []byte {
	copy(s.nonce[:SaltLen], a.salt)
	copy(s.nonce[SaltLen:], iv[:IVLen])
	var aad []byte
	if len(parts) == 1 {
		aad = parts[0]
	} else {
		total := 0
		for _, p := range parts {
			total += len(p)
		}
		aad = s.grow(total)[:0]
		for _, p := range parts {
			aad = append(aad, p...)
		}
	}
	return a.gcm.Seal(s.tag[:0], s.nonce[:], nil, aad)
}

// Wipe zeroes the key material (the key, the HMAC pad states) and drops the cipher objects;
// Sum and Verify return ErrWiped afterwards. As for Transform, crypto/aes's key schedule
// cannot be zeroed from outside. Wipe must not run concurrently with Sum or Verify.
func (a *Auth) Wipe() {
	a.live = false
	clear(a.keyMat)
	if a.hm != nil {
		a.hm.wipe()
	}
	a.gcm = nil
}

// KeyZeroed reports whether every byte of key material the Auth holds is zero (R-SA-5).
func (a *Auth) KeyZeroed() bool {
	return allZero(a.keyMat) && (a.hm == nil || a.hm.zeroed())
}
