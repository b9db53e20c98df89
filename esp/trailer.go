package esp

// PadLen is the smallest padding that ends the ESP trailer on a 4-byte boundary (RFC 4303
// §2.4). GCM is a stream mode and needs no block alignment, so this is the only constraint.
// The alignment counts from the start of the payload, which is 4-byte aligned in the packet
// because header and IV are 16 bytes.
func PadLen(payloadLen int) int {
	return (4 - (payloadLen+TrailerLen)%4) % 4
}

// AppendTrailer appends the padding 1, 2, ..., padLen, then padLen and nextHdr (RFC 4303
// §2.4-2.6). It uses append, so it does not allocate when b has the capacity: the host frames
// into a pooled buffer. padLen must be in 0..255.
func AppendTrailer(b []byte, padLen int, nextHdr byte) []byte {
	for i := 1; i <= padLen; i++ {
		b = append(b, byte(i))
	}
	return append(b, byte(padLen), nextHdr)
}

// ParseTrailer splits a decrypted (or GMAC-authenticated) plain = payload ‖ padding ‖ pad
// length ‖ next header. It insists on the default padding 1, 2, 3, ... (RFC 4303 §2.4: a
// receiver should check it), returning ErrPadding otherwise or when the pad length runs past
// the front of plain, and ErrShort when plain cannot hold the two trailer bytes. payload
// aliases plain.
func ParseTrailer(plain []byte) (payload []byte, padLen int, nextHdr byte, err error) {
	if len(plain) < TrailerLen {
		return nil, 0, 0, ErrShort
	}
	end := len(plain) - TrailerLen
	pl := int(plain[end])
	if pl > end {
		return nil, 0, 0, ErrPadding
	}
	start := end - pl
	for i, b := range plain[start:end] {
		if b != byte(i+1) {
			return nil, 0, 0, ErrPadding
		}
	}
	return plain[:start], pl, plain[end+1], nil
}
