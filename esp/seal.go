package esp

import "encoding/binary"

// Seal protects one framed packet in place. pkt runs from the SPI through the next header
// byte (header with the IV already written, payload, padding, pad length, next header) and
// cap(pkt) must leave MaxICVLen bytes of tailroom, whatever the SA's ICV length: the ICV-8
// and GMAC+ESN paths use all of it as work space. AES-GCM encrypts everything after the IV;
// AES-GMAC leaves it in clear. The ICV is appended and pkt[:len(pkt)+ICVLen()] returned.
//
// seqHi is the high 32 bits of the 64-bit sequence number; it is authenticated only when the
// SA has ESN and is never written to the packet. Seal uses whatever IV the packet holds, so
// that known-answer vectors with arbitrary IVs can be reproduced; a NIC writes the sequence
// number there with PutIV first (R-TX-4).
//
// AESCBC and NULL (encrypt then MAC): pkt runs from the SPI through the next header byte as
// above, with IVLen() bytes of IV room (16 for AES-CBC, none for NULL) and the payload and
// trailer padded to a multiple of PadAlign() (16 for AES-CBC, whose ciphertext must be whole
// blocks, else ErrBlockAlign; 4 for NULL). The tailroom rule is the same. AES-CBC draws a
// fresh unpredictable IV into the IV room (whatever it held), encrypts the payload and
// trailer in place; then the ICV, HMAC over SPI ‖ Seq ‖ IV ‖ ciphertext (‖ seqHi under ESN),
// truncated to ICVLen() (12 or 16), is appended. The stage's PutIV is Transform.PutIV, which
// leaves these packets alone.
func (t *Transform) Seal(s *Scratch, pkt []byte, seqHi uint32) ([]byte, error) {
	if !t.live {
		return nil, ErrWiped
	}
	if t.integ != IntegrityNone {
		return t.sealETM(s, pkt, seqHi, false)
	}
	n := len(pkt)
	if n < PayloadOffset+TrailerLen {
		return nil, ErrShort
	}
	if cap(pkt)-n < MaxICVLen {
		return nil, ErrTailroom
	}
	nonce := t.nonce(s, pkt[HeaderLen:PayloadOffset])
	if t.alg == AESGMAC {
		t.sealGMAC(s, nonce, pkt, seqHi)
		return pkt[:n+MaxICVLen], nil
	}
	t.sealCore(s, nonce, t.aad(s, pkt, seqHi), pkt[PayloadOffset:])
	return pkt[:n+t.icvLen], nil
}

// aad returns the RFC 4106 §5 AAD: SPI ‖ seq-low straight from the packet (no copy; it does
// not overlap the ciphertext), or SPI ‖ seq-high ‖ seq-low assembled in s when ESN is on.
func (t *Transform) aad(s *Scratch, pkt []byte, seqHi uint32) []byte {
	if !t.esn {
		return pkt[:HeaderLen]
	}
	copy(s.aad[0:4], pkt[0:4])
	binary.BigEndian.PutUint32(s.aad[4:8], seqHi)
	copy(s.aad[8:12], pkt[4:8])
	return s.aad[:]
}

// sealGMAC writes the RFC 4543 ICV at pkt[len(pkt):]. Without ESN the AAD is exactly the
// packet so far. With ESN it is SPI ‖ seq-high ‖ seq-low ‖ IV ‖ payload ‖ trailer, and
// seq-high is not in the packet: rather than copy the whole packet into scratch, move
// everything after the SPI 4 bytes right into the tailroom, write seq-high into the gap,
// authenticate, and move it back.
func (t *Transform) sealGMAC(s *Scratch, nonce, pkt []byte, seqHi uint32) {
	n := len(pkt)
	aad := pkt
	if t.esn {
		aad = pkt[:n+4]
		copy(aad[8:], pkt[4:n])
		binary.BigEndian.PutUint32(aad[4:8], seqHi)
	}
	tag := t.gmacTag(s, nonce, aad)
	if t.esn {
		copy(pkt[4:n], aad[8:])
	}
	copy(pkt[n:n+MaxICVLen], tag)
}
