package esp

import (
	"crypto/aes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"fmt"

	"github.com/ov2dev/ov2/esp/internal/vgcm"
)

// The encrypt-then-MAC suites: AES-CBC (RFC 3602) or NULL (RFC 2410) encryption with
// HMAC-SHA1-96 (RFC 2404) or HMAC-SHA-256-128 (RFC 4868) integrity.
//
//	 0       4       8                      8+IVLen
//	+-------+-------+-----------------------+---------------------------------+-----------+
//	|  SPI  |  Seq  | IV (16 CBC, 0 NULL)   | payload | pad | padlen | nh     |    ICV    |
//	+-------+-------+-----------------------+---------------------------------+-----------+
//	                                        |<- encrypted (CBC), block-aligned ->|
//	|<------------------- MAC input, then seq-high under ESN --------------->|
//
// The ICV is the truncated HMAC of SPI ‖ Seq ‖ IV ‖ ciphertext, followed under ESN by the
// high 32 bits of the sequence number, which are authenticated but never sent (RFC 4303
// §2.2.1 and §3.3.2.1: the ESN high half is appended after the payload for the ICV
// computation). Seal encrypts and then MACs; Open verifies the ICV in constant time before
// it decrypts anything.

// newETMTransform is NewTransform for AESCBC and NULL.
func newETMTransform(p Params) (*Transform, error) {
	if !p.Integrity.isHMAC() {
		return nil, fmt.Errorf("esp: %v encryption needs integrity HMAC-SHA1-96 (1) or HMAC-SHA-256-128 (2), got %v: %w",
			p.Alg, p.Integrity, ErrIntegrity)
	}
	if n, want := len(p.IntegrityKey), p.Integrity.KeyLen(); n != want {
		return nil, fmt.Errorf("esp: %v key is %d bytes, want %d: %w", p.Integrity, n, want, ErrKeyLength)
	}
	switch n := len(p.KeyMat); {
	case p.Alg == NULL && n != 0:
		return nil, fmt.Errorf("esp: NULL encryption takes no key, got %d bytes: %w", n, ErrKeyLength)
	case p.Alg == AESCBC && n != 16 && n != 24 && n != 32:
		return nil, fmt.Errorf("esp: AES-CBC key is %d bytes, want 16, 24 or 32: %w", n, ErrKeyLength)
	}
	icv := p.Integrity.ICVLen()
	if p.ICVLen != 0 && p.ICVLen != icv {
		return nil, fmt.Errorf("esp: %v ICV length %d, want %d: %w", p.Integrity, p.ICVLen, icv, ErrICVLength)
	}
	if !p.Impl.Valid() { // any AES-GCM choice is fine: it does not apply to these suites
		return nil, fmt.Errorf("esp: implementation %d, want 0 (auto), 1 (stdlib), 2 (portable) or 3 (vaes): %w", uint8(p.Impl), ErrImpl)
	}
	t := &Transform{
		alg:    p.Alg,
		integ:  p.Integrity,
		icvLen: icv,
		esn:    p.ESN,
		live:   true,
		impl:   ImplStdlib, // crypto/aes and crypto/sha*, but for AES-CBC itself (below)
		ivLen:  p.Alg.IVLen(),
		keyMat: append([]byte(nil), p.KeyMat...),
		hm:     newHMACKey(p.Integrity, p.IntegrityKey, p.Impl != ImplStdlib && p.Impl != ImplPortable),
	}
	if t.hm.fast != nil {
		t.impl = ImplVAES // ov2's own HMAC-SHA-256 (ImplKind: some part is our code)
	}
	if p.Alg == NULL {
		return t, nil
	}
	var err error
	t.modes = make([]cbcModes, len(lanes.slots))
	if t.block, err = aes.NewCipher(t.keyMat); err != nil { // unreachable: length checked
		return nil, fmt.Errorf("esp: %v: %w", err, ErrKeyLength)
	}
	t.iv.key = make([]byte, len(t.keyMat))
	rand.Read(t.iv.key) // never fails (crypto/rand since Go 1.24)
	if t.iv.block, err = aes.NewCipher(t.iv.key); err != nil {
		return nil, fmt.Errorf("esp: %v: %w", err, ErrKeyLength)
	}
	t.iv.ctr = new(ivCounter)
	if resolveImpl(p.Impl) == ImplVAES && vgcm.Supported() {
		if t.cbcKey, err = vgcm.NewCBCKey(t.keyMat); err != nil { // unreachable: checked
			return nil, fmt.Errorf("esp: %v: %w", err, ErrImpl)
		}
		t.impl = ImplVAES
	}
	return t, nil
}

// sealETM is Seal for the encrypt-then-MAC suites. keepIV leaves the IV the packet holds
// instead of drawing one, for the RFC 3602 known-answer tests only.
func (t *Transform) sealETM(s *Scratch, pkt []byte, seqHi uint32, keepIV bool) ([]byte, error) {
	n := len(pkt)
	off := HeaderLen + t.ivLen
	if n < off+TrailerLen {
		return nil, ErrShort
	}
	if cap(pkt)-n < MaxICVLen {
		return nil, ErrTailroom
	}
	if t.block != nil && (n-off)%CBCBlockSize != 0 {
		return nil, ErrBlockAlign
	}
	sl := lanes.acquire(s)
	l := sl.st
	if t.block != nil {
		iv := pkt[HeaderLen:off]
		if !keepIV {
			t.iv.next(l.ctr[:], iv)
		}
		t.encrypt(sl, iv, pkt[off:n])
	}
	copy(pkt[n:n+t.icvLen], t.icv(l, pkt[:n], seqHi))
	lanes.release(sl)
	return pkt[:n+t.icvLen], nil
}

// openETM is Open for the encrypt-then-MAC suites. Lengths, which are public, are checked
// first; then the ICV, in constant time, before a byte is decrypted; then the padding of the
// decrypted trailer, in time that depends only on the length (padOK; for ESP-NULL, whose
// padding is in clear on the wire, ParseTrailer). A bad ICV and bad
// padding both return ErrAuth, so a caller cannot tell them apart, and bad padding can only
// follow a valid ICV, that is, come from a holder of the key: there is no padding oracle to
// query. On either failure the packet is restored to exactly what arrived (CBC re-encryption
// under the same IV gives back the same ciphertext), as R-RX-5 requires.
func (t *Transform) openETM(s *Scratch, pkt []byte, seqHi uint32) ([]byte, error) {
	n := len(pkt) - t.icvLen
	off := HeaderLen + t.ivLen
	if n < off+TrailerLen {
		return nil, ErrShort
	}
	if t.block != nil && (n-off)%CBCBlockSize != 0 {
		return nil, ErrBlockAlign
	}
	sl := lanes.acquire(s)
	defer lanes.release(sl)
	if subtle.ConstantTimeCompare(t.icv(sl.st, pkt[:n], seqHi), pkt[n:]) != 1 {
		return nil, ErrAuth
	}
	iv, body := pkt[HeaderLen:off], pkt[off:n]
	if t.block == nil {
		// ESP-NULL: the padding travelled in clear, for anyone to read, so a check whose
		// time depends on it hides nothing; ParseTrailer reads the pad length's bytes only,
		// where padOK reads the last 257 whatever the padding (a tenth of the HMAC's time
		// at 1400 bytes).
		if _, _, _, err := ParseTrailer(body); err != nil {
			return nil, ErrAuth
		}
		return body, nil
	}
	t.decrypt(sl, iv, body)
	if !padOK(body) {
		t.encrypt(sl, iv, body)
		return nil, ErrAuth
	}
	return body, nil
}

// icv computes the ICV of msg (SPI through the last ciphertext byte), with seq-high appended
// under ESN, and returns it truncated to ICVLen, in the lane's memory.
func (t *Transform) icv(l *laneState, msg []byte, seqHi uint32) []byte {
	parts := [2][]byte{msg}
	if t.esn {
		binary.BigEndian.PutUint32(l.esn[:], seqHi)
		parts[1] = l.esn[:]
	}
	return t.hm.sum(l, parts[:])[:t.icvLen]
}
