package esp

import "encoding/binary"

// Open verifies one received packet, pkt = SPI through ICV, and for AES-GCM decrypts it in
// place (R-RX-6). It returns pkt[PayloadOffset:len(pkt)-ICVLen()]: payload, padding, pad
// length and next header, for ParseTrailer. seqHi is the high 32 bits of the sequence number
// the receiver infers for this packet (R-RX-8); it is used only when the SA has ESN.
//
// On any error, ErrAuth included, the bytes of pkt are exactly as they were on entry, so that
// a failed packet can still be indicated to the host as it arrived (R-RX-5). Open does not
// check the trailer or the sequence number: the first is ParseTrailer's job, the second the
// host's anti-replay (R-RX-9).
//
// AESCBC and NULL: Open checks the lengths (ErrShort; for AES-CBC, ErrBlockAlign when the
// ciphertext is not whole blocks), verifies the ICV in constant time before decrypting
// anything, decrypts AES-CBC in place, and then does check the trailer: padding that is not
// 1, 2, 3, ... or a pad length running past the payload is reported as ErrAuth, the same
// error as a bad ICV, and the packet is restored as it arrived. A caller therefore cannot
// tell the two apart (no padding oracle), and bad padding behind a valid ICV can only come
// from a holder of the key. It returns pkt[PayloadOffset():len(pkt)-ICVLen()], which
// ParseTrailer then splits without failing.
func (t *Transform) Open(s *Scratch, pkt []byte, seqHi uint32) ([]byte, error) {
	if !t.live {
		return nil, ErrWiped
	}
	if t.integ != IntegrityNone {
		return t.openETM(s, pkt, seqHi)
	}
	n := len(pkt) - t.icvLen
	if n < PayloadOffset+TrailerLen {
		return nil, ErrShort
	}
	nonce := t.nonce(s, pkt[HeaderLen:PayloadOffset])
	if t.alg == AESGMAC {
		if !t.openGMAC(s, nonce, pkt, seqHi) {
			return nil, ErrAuth
		}
		return pkt[PayloadOffset:n], nil
	}
	return t.openCore(s, nonce, t.aad(s, pkt, seqHi), pkt[PayloadOffset:])
}

// openGMAC verifies the RFC 4543 ICV at the end of pkt. With ESN it makes room for seq-high
// the way sealGMAC does, except that the room is taken from the ICV's own bytes (Open has no
// tailroom guarantee): the ICV is saved in s first and written back afterwards.
func (t *Transform) openGMAC(s *Scratch, nonce, pkt []byte, seqHi uint32) bool {
	n := len(pkt) - MaxICVLen
	if !t.esn {
		return t.gmacVerify(s, nonce, pkt[:n], pkt[n:])
	}
	copy(s.icv[:], pkt[n:])
	aad := pkt[:n+4]
	copy(aad[8:], pkt[4:n])
	binary.BigEndian.PutUint32(aad[4:8], seqHi)
	ok := t.gmacVerify(s, nonce, aad, s.icv[:])
	copy(pkt[4:n], aad[8:])
	copy(pkt[n:], s.icv[:])
	return ok
}
