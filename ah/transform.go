package ah

import (
	"encoding/binary"
	"fmt"

	"github.com/ov2dev/ov2/esp"
)

// Params describe one AH SA: what ADD_SA knows about it.
type Params struct {
	// Integrity is esp.HMACSHA1_96, esp.HMACSHA256_128 or esp.GMAC128/192/256.
	Integrity esp.Integrity
	// Key is the HMAC key (20 or 32 bytes) or the AES-GMAC key followed by its 4-byte salt
	// (20, 28 or 36 bytes, RFC 4543 §3.2). NewTransform copies it.
	Key []byte
	// ESN says the SA uses 64-bit extended sequence numbers: the high 32 bits are
	// authenticated, appended after the payload for the ICV computation (RFC 4302 §2.5.1 and
	// §3.3.3.2.2), and never sent.
	ESN bool
}

// Transform is one AH SA's keyed transform. Like esp.Transform it is built once, is then
// read-only, and serves any number of goroutines at once, each with its own Scratch; Wipe only
// once no lane can still use it.
type Transform struct {
	auth          *esp.Auth
	esn           bool
	ivLen, icvLen int
}

// Scratch is one goroutine's working memory for Insert and Verify: the canonical image of the
// headers (and, for AES-GMAC, of the whole packet, since the AAD must be one slice), the ESN
// high half, and the esp.Scratch the MAC runs in. The zero value is ready; keep it on the heap
// inside a long-lived per-lane struct, never share it between goroutines at once. img grows
// to the largest packet seen plus 4 bytes and is then reused.
type Scratch struct {
	mac esp.Scratch
	img []byte
	esn [4]byte
}

func (s *Scratch) grow(n int) []byte {
	if cap(s.img) < n {
		s.img = make([]byte, n, (n+255)&^255)
	}
	return s.img[:n]
}

// NewTransform keys an AH SA.
func NewTransform(p Params) (*Transform, error) {
	a, err := esp.NewAuth(p.Integrity, p.Key)
	if err != nil {
		return nil, fmt.Errorf("ah: %w", err)
	}
	return &Transform{auth: a, esn: p.ESN, ivLen: a.IVLen(), icvLen: a.ICVLen()}, nil
}

// Integrity reports the SA's algorithm.
func (t *Transform) Integrity() esp.Integrity { return t.auth.Alg() }

// Impl names the ICV's implementation for reports (esp.Auth.Impl), prefixed "AH ".
func (t *Transform) Impl() string { return "AH " + t.auth.Impl() }

// ImplKind is esp.Auth.ImplKind: ImplVAES where the ICV is ov2's own HMAC-SHA-256.
func (t *Transform) ImplKind() esp.Impl { return t.auth.ImplKind() }

// ICVLen reports the ICV length: 12 (HMAC-SHA1-96) or 16.
func (t *Transform) ICVLen() int { return t.icvLen }

// IVLen reports the IV carried after the sequence number: 8 for AES-GMAC, else 0.
func (t *Transform) IVLen() int { return t.ivLen }

// ESN reports whether the high 32 bits of the sequence number are authenticated.
func (t *Transform) ESN() bool { return t.esn }

// HeaderLen is the AH header this SA needs in an IPv4 (v6 false) or IPv6 packet: what the
// host frames and what Verify insists on.
func (t *Transform) HeaderLen(v6 bool) int { return HeaderLen(t.ivLen, t.icvLen, v6) }

// Insert computes the ICV of a framed AH packet and writes it in place (the send side, R-TX-4
// for AH). pkt is the IP datagram: the IP header (IPv4 with its options, or IPv6 with the
// extension headers that go before AH) whose protocol / next header chain leads to AH, the
// AH header (PutHeader: next header, payload length, SPI, low 32 bits of the sequence
// number), and the payload, in transport or tunnel mode. seqHi is the high half of the
// 64-bit sequence number, authenticated only under ESN. For AES-GMAC, Insert writes the IV:
// the 64-bit sequence number, unique per SA as RFC 4543 §3.1 requires (the same rule as
// esp.PutIV). It zeroes the ICV and padding, computes the ICV over the canonical headers
// (AppendCanonical), the payload and seqHi, and writes it. The mutable header fields
// themselves are neither read for the ICV nor changed. Errors are Parse's, ErrICVLength when
// the AH header's length is not HeaderLen, and ErrWiped.
func (t *Transform) Insert(s *Scratch, pkt []byte, seqHi uint32) (Layout, error) {
	var l Layout
	img, err := t.prepare(s, pkt, &l)
	if err != nil {
		return l, err
	}
	ivAt, icvAt := l.AH+FixedLen, l.AH+FixedLen+t.ivLen
	if t.ivLen != 0 {
		binary.BigEndian.PutUint32(pkt[ivAt:], seqHi)
		binary.BigEndian.PutUint32(pkt[ivAt+4:], l.Seq)
		copy(img[ivAt:icvAt], pkt[ivAt:icvAt])
	}
	clear(pkt[icvAt:l.Payload]) // ICV and padding: the padding is sent as zeros
	clear(img[icvAt:l.Payload])
	parts := t.parts(s, img, pkt, &l, seqHi)
	if err := t.auth.Sum(&s.mac, pkt[icvAt:icvAt+t.icvLen], pkt[ivAt:icvAt], parts[:]...); err != nil {
		return l, ErrWiped // Sum's only possible error here: the lengths are right
	}
	return l, nil
}

// Verify checks the ICV of a received AH packet in constant time (the receive side). pkt is
// the IP datagram as it arrived, mutable fields and all; seqHi is the high half the receiver
// infers (R-RX-8), used only under ESN. On success it returns the Layout, from which the
// caller finds the payload (l.Payload, l.End) and its protocol (l.NextHeader); Verify never
// writes pkt. Errors: Parse's, ErrICVLength, ErrAuth, ErrWiped.
func (t *Transform) Verify(s *Scratch, pkt []byte, seqHi uint32) (Layout, error) {
	var l Layout
	img, err := t.prepare(s, pkt, &l)
	if err != nil {
		return l, err
	}
	ivAt, icvAt := l.AH+FixedLen, l.AH+FixedLen+t.ivLen
	clear(img[icvAt : icvAt+t.icvLen]) // the padding after it is covered as it arrived
	parts := t.parts(s, img, pkt, &l, seqHi)
	switch t.auth.Verify(&s.mac, pkt[icvAt:icvAt+t.icvLen], pkt[ivAt:icvAt], parts[:]...) {
	case nil:
		return l, nil
	case esp.ErrAuth:
		return l, ErrAuth
	}
	return l, ErrWiped
}

// prepare parses pkt into *l, checks the AH length against the SA, and builds the canonical
// header image in s.
func (t *Transform) prepare(s *Scratch, pkt []byte, l *Layout) ([]byte, error) {
	img := s.grow(len(pkt) + 4)
	if err := walk(pkt, img, l); err != nil {
		return nil, err
	}
	if l.AHLen != t.HeaderLen(l.V6) {
		return nil, ErrICVLength
	}
	return img, nil
}

// parts returns the MAC input after the canonical headers in img[:l.Payload]: for the HMACs
// the payload where it lies and seqHi under ESN, as three parts; for AES-GMAC, whose AAD must be
// one slice, the payload and seqHi copied behind the headers in img, as one part. Every part
// lies in the packet or in s: their bytes reach hash.Hash and cipher.AEAD through interfaces,
// so none may be on the stack.
func (t *Transform) parts(s *Scratch, img, pkt []byte, l *Layout, seqHi uint32) [3][]byte {
	binary.BigEndian.PutUint32(s.esn[:], seqHi)
	esn := s.esn[:0]
	if t.esn {
		esn = s.esn[:]
	}
	if t.ivLen == 0 {
		return [3][]byte{img[:l.Payload], pkt[l.Payload:l.End], esn}
	}
	n := copy(img[l.Payload:], pkt[l.Payload:l.End])
	n += copy(img[l.Payload+n:], esn)
	return [3][]byte{img[:l.Payload+n]}
}

// Wipe zeroes the SA's key material (R-SA-5); Insert and Verify then return ErrWiped.
func (t *Transform) Wipe() { t.auth.Wipe() }

// KeyZeroed reports whether every byte of key material the transform holds is zero.
func (t *Transform) KeyZeroed() bool { return t.auth.KeyZeroed() }
