package esp

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding"
	"hash"

	"github.com/ov2dev/ov2/esp/internal/vgcm"
)

// hmacKey is one SA's HMAC key (RFC 2104) in the form the data path uses: the hash state
// after absorbing K0 ⊕ ipad and the state after absorbing K0 ⊕ opad, each saved with the
// hash's MarshalBinary once, when the SA is added. Per packet, HMAC(K, m) =
// H(K0⊕opad ‖ H(K0⊕ipad ‖ m)) is then: restore the inner state, write m, sum; restore the
// outer state, write the inner digest, sum. That is what crypto/hmac does after its first
// use too, but here the hash objects belong to the lane (laneState) and only these two
// read-only byte strings belong to the SA, so any number of lanes can use one hmacKey at once
// and a lane can switch between SAs without allocating or re-keying.
//
// The two states are as secret as the key (either gives forgeries), so wipe zeroes them.
//
// For HMAC-SHA-256 on a CPU with the SHA extensions, fast holds the same key for ov2's own
// HMAC (vgcm.HMAC256: the pad states as eight words, whole blocks straight from the message
// to the compression function, no hash object to restore), which sum then uses; it gives
// the same bytes (vgcm's tests check it against crypto/hmac and RFC 4231).
type hmacKey struct {
	alg   Integrity // HMACSHA1_96 or HMACSHA256_128
	inner []byte    // MarshalBinary of H after K0 ⊕ ipad
	outer []byte    // MarshalBinary of H after K0 ⊕ opad
	fast  *vgcm.HMAC256
}

// newHMACKey precomputes the pad states for key, which may have any length: RFC 2104 §2
// hashes a key longer than the block first and pads a shorter one with zeros. (RFC 2404 and
// RFC 4868 fix the ESP and AH key lengths; NewTransform checks those. The general form is
// what the RFC 2202 and RFC 4231 vectors exercise.)
func newHMACKey(alg Integrity, key []byte, fast bool) *hmacKey {
	var h hash.Hash
	if alg == HMACSHA1_96 {
		h = sha1.New()
	} else {
		h = sha256.New()
	}
	k0 := make([]byte, h.BlockSize())
	if len(key) > len(k0) {
		h.Write(key)
		h.Sum(k0[:0])
		h.Reset()
	} else {
		copy(k0, key)
	}
	pad := make([]byte, len(k0))
	state := func(b byte) []byte {
		for i := range k0 {
			pad[i] = k0[i] ^ b
		}
		h.Reset()
		h.Write(pad)
		st, err := h.(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil { // crypto/sha1 and crypto/sha256 document that they marshal
			panic("esp: HMAC hash state cannot be saved: " + err.Error())
		}
		return st
	}
	k := &hmacKey{alg: alg, inner: state(0x36), outer: state(0x5c)}
	if fast && alg == HMACSHA256_128 && vgcm.SHASupported() {
		k.fast, _ = vgcm.NewHMAC256(key) // cannot fail where SHASupported
	}
	clear(k0)
	clear(pad)
	h.Reset()
	return k
}

// sum returns the full HMAC (20 or 32 bytes) of the concatenated parts in l.sum; the caller
// truncates it.
func (k *hmacKey) sum(l *laneState, parts [][]byte) []byte {
	if k.fast != nil {
		k.fast.Sum(&l.sum, parts)
		return l.sum[:]
	}
	h := k.begin(l)
	for _, p := range parts {
		h.Write(p)
	}
	return k.finish(l, h)
}

// impl names the HMAC's implementation for reports.
func (k *hmacKey) impl() string {
	switch {
	case k.fast != nil:
		return "ov2 HMAC-SHA-256 (SHA extensions)"
	case k.alg == HMACSHA1_96:
		return "crypto/hmac, crypto/sha1"
	}
	return "crypto/hmac, crypto/sha256"
}

// begin returns the lane's hash object restored to the inner pad state: the caller writes the
// message into it and then calls finish.
func (k *hmacKey) begin(l *laneState) hash.Hash {
	h, u := l.hasher(k.alg)
	restore(u, k.inner)
	return h
}

// finish completes the HMAC begun with begin and returns the full digest (20 or 32 bytes) in
// l.sum; the caller truncates it. The hash is reset afterwards, so the lane keeps no state
// derived from the key.
func (k *hmacKey) finish(l *laneState, h hash.Hash) []byte {
	_, u := l.hasher(k.alg)
	inner := h.Sum(l.sum[:0])
	restore(u, k.outer)
	h.Write(inner)
	out := h.Sum(l.sum[:0])
	h.Reset()
	return out
}

// restore loads a saved state. It cannot fail for a state the same hash saved in this process,
// and returning an error per packet would make every caller handle an impossible case.
func restore(u encoding.BinaryUnmarshaler, state []byte) {
	if err := u.UnmarshalBinary(state); err != nil {
		panic("esp: HMAC hash state cannot be restored")
	}
}

// wipe zeroes both pad states.
func (k *hmacKey) wipe() {
	clear(k.inner)
	clear(k.outer)
	if k.fast != nil {
		k.fast.Wipe()
	}
}

// zeroed reports whether wipe has run (or the states are otherwise all zero).
func (k *hmacKey) zeroed() bool {
	return allZero(k.inner) && allZero(k.outer) && (k.fast == nil || k.fast.Zeroed())
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}
