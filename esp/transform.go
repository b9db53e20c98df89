package esp

import (
	"crypto/aes"
	"crypto/cipher"
	"fmt"
)

// Params describe one SA's transform: what the control plane (ADD_SA) knows about the crypto.
type Params struct {
	// Alg is AESGCM or AESGMAC.
	Alg Algorithm
	// KeyMat is the AES key followed by the 4-byte salt (RFC 4106 §8.1, RFC 4543 §3):
	// 20, 28 or 36 bytes. NewTransform copies it, so the caller may wipe its own copy.
	KeyMat []byte
	// ICVLen is 8, 12 or 16 for AESGCM (RFC 4106 §6 allows all three) and 16 for AESGMAC
	// (RFC 4543 §3). Zero means 16, the only length SPEC §7 calls the default.
	ICVLen int
	// ESN says the SA uses 64-bit extended sequence numbers: the high 32 bits go into the
	// AAD (RFC 4106 §5, RFC 4543 §3) but never onto the wire.
	ESN bool
	// Impl picks the AES-GCM implementation; the zero value, ImplAuto, lets NewTransform
	// choose by CPU features (SPEC §6). Any value behaves the same on the wire: only speed
	// and the side-channel properties differ.
	Impl Impl
}

// Transform is one SA's keyed ESP transform. It is built once when the SA is added (SPEC §6:
// "choose each SA's crypto implementation once") and is then read-only, so any number of
// goroutines may call Seal and Open at once, each with its own Scratch. Wipe is the one
// writer: call it only once no lane can still use the transform (the SA table's
// copy-on-write reclamation guarantees that).
type Transform struct {
	alg    Algorithm
	icvLen int
	esn    bool
	live   bool   // set by NewTransform, cleared by Wipe: Seal and Open refuse when false
	impl   Impl   // ImplStdlib or ImplPortable, resolved once
	keyMat []byte // our own copy of key ‖ salt, zeroed by Wipe
	salt   []byte // keyMat[len-4:], the nonce prefix
	// aead is the ImplStdlib core (nil for ImplPortable and after Wipe). It has a 16-byte tag
	// except for ICV 12; ICV 8 also uses the 16-byte one and truncates, because crypto/cipher
	// refuses tags under 12 bytes.
	aead cipher.AEAD
	// pg is the ImplPortable core, nil for ImplStdlib. Wipe zeroes it but keeps the pointer,
	// so that KeyZeroed can still look at its tables.
	pg *portableGCM
	// mac computes GMAC tags: aead, or pg as a portableMAC. Nil after Wipe.
	mac tagSealer
}

// NewTransform checks p against RFC 4106 / RFC 4543, chooses the implementation (resolving
// ImplAuto by CPU features) and keys it once, so that the data path never pays for key
// expansion, GHASH table set-up or a dispatch decision.
func NewTransform(p Params) (*Transform, error) {
	if p.Alg != AESGCM && p.Alg != AESGMAC {
		return nil, fmt.Errorf("esp: algorithm %d is neither AES-GCM (1) nor AES-GMAC (2): %w", uint8(p.Alg), ErrAlgorithm)
	}
	switch n := len(p.KeyMat); n {
	case 16 + SaltLen, 24 + SaltLen, 32 + SaltLen:
	default:
		return nil, fmt.Errorf("esp: key material is %d bytes, want 20, 28 or 36 (key‖salt): %w", n, ErrKeyLength)
	}
	icv := p.ICVLen
	if icv == 0 {
		icv = MaxICVLen
	}
	if icv != 8 && icv != 12 && icv != 16 {
		return nil, fmt.Errorf("esp: ICV length %d, want 8, 12 or 16: %w", p.ICVLen, ErrICVLength)
	}
	if p.Alg == AESGMAC && icv != 16 {
		return nil, fmt.Errorf("esp: AES-GMAC ICV length %d, want 16 (RFC 4543): %w", p.ICVLen, ErrICVLength)
	}
	if p.Impl > ImplPortable {
		return nil, fmt.Errorf("esp: implementation %d, want 0 (auto), 1 (stdlib) or 2 (portable): %w", uint8(p.Impl), ErrImpl)
	}

	km := make([]byte, len(p.KeyMat))
	copy(km, p.KeyMat)
	keyLen := len(km) - SaltLen
	block, err := aes.NewCipher(km[:keyLen])
	if err != nil { // unreachable: the length was checked above
		return nil, fmt.Errorf("esp: %v: %w", err, ErrKeyLength)
	}
	t := &Transform{
		alg:    p.Alg,
		icvLen: icv,
		esn:    p.ESN,
		live:   true,
		impl:   resolveImpl(p.Impl),
		keyMat: km,
		salt:   km[keyLen:],
	}
	if t.impl == ImplPortable {
		t.pg = newPortableGCM(block)
		t.mac = (*portableMAC)(t.pg)
		return t, nil
	}
	if icv == 12 {
		t.aead, err = cipher.NewGCMWithTagSize(block, 12)
	} else {
		t.aead, err = cipher.NewGCM(block)
	}
	if err != nil { // unreachable with an AES block and a standard tag size
		return nil, fmt.Errorf("esp: %v: %w", err, ErrICVLength)
	}
	t.mac = t.aead
	return t, nil
}

// Alg reports the transform's algorithm.
func (t *Transform) Alg() Algorithm { return t.alg }

// ICVLen reports the ICV length on the wire (8, 12 or 16), with the Params default resolved.
func (t *Transform) ICVLen() int { return t.icvLen }

// ESN reports whether the high 32 bits of the sequence number are authenticated.
func (t *Transform) ESN() bool { return t.esn }

// Wipe zeroes the key material the transform holds, including the portable core's GHASH
// table, and drops its cipher objects; Seal and Open return ErrWiped afterwards (R-SA-5).
// Go's crypto/aes keeps its expanded key schedule (and, for ImplStdlib, its GHASH tables) in
// unexported fields that cannot be zeroed from outside: dropping our references so the
// garbage collector can reclaim them is all this package can do there.
// Wipe must not run concurrently with Seal or Open on the same transform.
func (t *Transform) Wipe() {
	t.live = false
	clear(t.keyMat)
	t.aead = nil
	t.mac = nil
	if t.pg != nil {
		t.pg.wipe()
	}
}

// KeyZeroed reports whether every byte of key material the transform holds is zero, the
// portable core's GHASH table included: the observable half of R-SA-5 that tests can check
// after DELETE_SA.
func (t *Transform) KeyZeroed() bool {
	for _, b := range t.keyMat {
		if b != 0 {
			return false
		}
	}
	return t.pg == nil || t.pg.zeroed()
}
