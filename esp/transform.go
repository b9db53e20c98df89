package esp

import (
	"crypto/aes"
	"crypto/cipher"
	"fmt"

	"github.com/ov2dev/ov2/esp/internal/vgcm"
)

// Params describe one SA's transform: what the control plane (ADD_SA) knows about the crypto.
type Params struct {
	// Alg is AESGCM, AESGMAC, AESCBC or NULL.
	Alg Algorithm
	// KeyMat is, for AESGCM and AESGMAC, the AES key followed by the 4-byte salt (RFC 4106
	// §8.1, RFC 4543 §3): 20, 28 or 36 bytes. For AESCBC it is the AES key alone, 16, 24 or
	// 32 bytes (RFC 3602 §5); NULL takes none. NewTransform copies it, so the caller may wipe
	// its own copy.
	KeyMat []byte
	// ICVLen is 8, 12 or 16 for AESGCM (RFC 4106 §6 allows all three) and 16 for AESGMAC
	// (RFC 4543 §3). Zero means 16, the only length SPEC §7 calls the default. For AESCBC and
	// NULL the integrity algorithm fixes it (12 or 16); zero means that, and any other value
	// must equal it.
	ICVLen int
	// Integrity is the integrity algorithm of AESCBC and NULL, which do not authenticate by
	// themselves: HMACSHA1_96 or HMACSHA256_128 (encrypt then MAC, RFC 4303 §3.3.2). It must
	// be IntegrityNone for AESGCM and AESGMAC. (The GMAC values are for AH, package ah; in ESP
	// AES-GMAC is the Algorithm AESGMAC.)
	Integrity Integrity
	// IntegrityKey is the HMAC key: 20 bytes for HMAC-SHA1-96 (RFC 2404 §3), 32 for
	// HMAC-SHA-256-128 (RFC 4868 §2.1.1). NewTransform copies it (as precomputed pad states).
	IntegrityKey []byte
	// ESN says the SA uses 64-bit extended sequence numbers: the high 32 bits go into the
	// AAD (RFC 4106 §5, RFC 4543 §3) but never onto the wire.
	ESN bool
	// Impl picks the AES-GCM implementation; the zero value, ImplAuto, lets NewTransform
	// choose by CPU features (SPEC §6). Any value behaves the same on the wire: only speed
	// and the side-channel properties differ. For AESCBC it picks the decryption: ImplVAES
	// (ImplAuto's choice where it runs) decrypts eight blocks at a time with ov2's AES-NI
	// code, any other value with crypto/aes; CBC encryption (one block after another by
	// nature), NULL and the HMACs are crypto/aes and crypto/sha1 or crypto/sha256 whatever
	// Impl says, so that a control plane that pins the AES-GCM implementation for every SA
	// can still add them.
	Impl Impl
}

// Transform is one SA's keyed ESP transform. It is built once when the SA is added (SPEC §6:
// "choose each SA's crypto implementation once") and is then read-only, apart from the
// AES-CBC IV counter, which Seal advances atomically, so any number of goroutines may call
// Seal and Open at once, each with its own Scratch. Wipe is the one writer: call it only once
// no lane can still use the transform (the SA table's copy-on-write reclamation guarantees
// that).
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
	// vk is the ImplVAES core, nil otherwise and after Wipe.
	vk *vgcm.Key
	// cbcKey encrypts and decrypts AES-CBC for ImplVAES (cbc.go); nil for crypto/aes (which
	// makes the IVs either way). Wipe zeroes it but
	// keeps the pointer, for KeyZeroed.
	cbcKey *vgcm.CBCKey
	// mac computes GMAC tags: aead, pg as a portableMAC, or vk as a vaesMAC. Nil after Wipe.
	mac tagSealer

	// The encrypt-then-MAC suites (AESCBC, NULL; etm.go). integ is IntegrityNone for the
	// AES-GCM suites, which is what Seal and Open branch on.
	integ Integrity
	ivLen int          // the explicit IV: 8 (GCM, GMAC), 16 (CBC), 0 (NULL)
	hm    *hmacKey     // HMAC pad states; zeroed by Wipe
	block cipher.Block // AES-CBC under the SA's key; nil for NULL and after Wipe
	iv    ivGen        // AES-CBC IV generator (cbc.go)
	modes []cbcModes   // AES-CBC block modes per lane slot (cbc.go); nil after Wipe
}

// NewTransform checks p against RFC 4106 / RFC 4543, chooses the implementation (resolving
// ImplAuto by CPU features) and keys it once, so that the data path never pays for key
// expansion, GHASH table set-up or a dispatch decision.
//
// For AESCBC and NULL it checks the key and integrity parameters against RFC 3602, 2410, 2404
// and 4868, precomputes the HMAC pad states, and for AESCBC draws the IV generator's key from
// crypto/rand (see ivGen).
func NewTransform(p Params) (*Transform, error) {
	if p.Alg == AESCBC || p.Alg == NULL {
		return newETMTransform(p)
	}
	if p.Alg != AESGCM && p.Alg != AESGMAC {
		return nil, fmt.Errorf("esp: algorithm %d is neither AES-GCM (1) nor AES-GMAC (2): %w", uint8(p.Alg), ErrAlgorithm)
	}
	if p.Integrity != IntegrityNone || len(p.IntegrityKey) != 0 {
		return nil, fmt.Errorf("esp: %v authenticates by itself, want integrity none and no integrity key, got %v and %d bytes: %w",
			p.Alg, p.Integrity, len(p.IntegrityKey), ErrIntegrity)
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
	if !p.Impl.Valid() {
		return nil, fmt.Errorf("esp: implementation %d, want 0 (auto), 1 (stdlib), 2 (portable) or 3 (vaes): %w", uint8(p.Impl), ErrImpl)
	}
	if p.Impl == ImplVAES && !vgcm.Supported() {
		return nil, fmt.Errorf("esp: implementation vaes needs VAES, VPCLMULQDQ and AVX-512 (F, BW, VL) with OS support, which this CPU lacks (it has %v): %w",
			CPUFeatures(), ErrImpl)
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
		ivLen:  IVLen,
	}
	if t.impl == ImplPortable {
		t.pg = newPortableGCM(block)
		t.mac = (*portableMAC)(t.pg)
		return t, nil
	}
	if t.impl == ImplVAES {
		if t.vk, err = vgcm.NewKey(km[:keyLen]); err != nil { // unreachable: checked above
			return nil, fmt.Errorf("esp: %v: %w", err, ErrImpl)
		}
		t.mac = (*vaesMAC)(t.vk)
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

// Integrity reports the integrity algorithm of an AESCBC or NULL transform, and IntegrityNone
// for AESGCM and AESGMAC.
func (t *Transform) Integrity() Integrity { return t.integ }

// IVLen reports the explicit IV after the ESP header: 8 (AES-GCM, AES-GMAC), 16 (AES-CBC) or
// 0 (NULL). The host frames that much room; PayloadOffset is where the payload then starts.
func (t *Transform) IVLen() int { return t.ivLen }

// PayloadOffset is HeaderLen + IVLen(): where the payload starts, and what Open's result is
// sliced from.
func (t *Transform) PayloadOffset() int { return HeaderLen + t.ivLen }

// PadAlign is the multiple the payload and trailer must reach (Algorithm.PadAlign): 16 for
// AES-CBC, 4 otherwise.
func (t *Transform) PadAlign() int { return t.alg.PadAlign() }

// PadLen is the padding the host (or the LSO stage) frames after payloadLen bytes of payload
// (Algorithm.PadLen).
func (t *Transform) PadLen(payloadLen int) int { return t.alg.PadLen(payloadLen) }

// PutIV is the NIC's part of the IV for this suite (R-TX-4), done before Seal. For AESGCM and
// AESGMAC it writes the 64-bit sequence number, as the package function PutIV does. For
// AESCBC it does nothing, because Seal draws the IV itself (an AES-CBC IV must be
// unpredictable, RFC 3602 §3, so it cannot be the sequence number), and for NULL there is no
// IV: the package function PutIV would write into its payload.
func (t *Transform) PutIV(pkt []byte, seq uint64) {
	if t.alg == AESGCM || t.alg == AESGMAC {
		PutIV(pkt, seq)
	}
}

// Suite names the whole transform for reports, e.g. "AES-CBC-256 + HMAC-SHA-256-128" or
// "AES-GCM-128". (Impl names the AES-GCM implementation; for AESCBC and NULL the one
// implementation is crypto/aes with crypto/sha1 or crypto/sha256.)
func (t *Transform) Suite() string {
	switch t.alg {
	case AESCBC:
		return fmt.Sprintf("AES-CBC-%d + %v", 8*len(t.keyMat), t.integ)
	case NULL:
		return "NULL + " + t.integ.String()
	}
	return fmt.Sprintf("%v-%d", t.alg, 8*(len(t.keyMat)-SaltLen))
}

// ESN reports whether the high 32 bits of the sequence number are authenticated.
func (t *Transform) ESN() bool { return t.esn }

// Wipe zeroes the key material the transform holds, including the portable core's GHASH
// table, the HMAC pad states and the AES-CBC IV key, and drops its cipher objects; Seal and Open return ErrWiped afterwards (R-SA-5).
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
	if t.vk != nil {
		t.vk.Wipe() // the pointer stays, so that KeyZeroed can still look at it
	}
	if t.cbcKey != nil {
		t.cbcKey.Wipe() // the same
	}
	if t.hm != nil {
		t.hm.wipe()
	}
	clear(t.iv.key)
	t.block = nil
	t.modes = nil
	t.iv.block = nil
}

// KeyZeroed reports whether every byte of key material the transform holds is zero, the
// portable core's GHASH table, the HMAC pad states and the IV key included: the observable half of R-SA-5 that tests can check
// after DELETE_SA.
func (t *Transform) KeyZeroed() bool {
	for _, b := range t.keyMat {
		if b != 0 {
			return false
		}
	}
	if t.hm != nil && (!t.hm.zeroed() || !allZero(t.iv.key)) {
		return false
	}
	if t.vk != nil && !t.vk.Zeroed() || t.cbcKey != nil && !t.cbcKey.Zeroed() {
		return false
	}
	return t.pg == nil || t.pg.zeroed()
}
