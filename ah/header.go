package ah

import "encoding/binary"

// Protocol is AH's IP protocol number / IPv6 next header value (RFC 4302 §2).
const Protocol = 51

// FixedLen is the part of the AH header every algorithm has: next header (1), payload length
// (1), reserved (2), SPI (4), sequence number (4). The IV (AES-GMAC), the ICV and padding
// follow (RFC 4302 §2).
const FixedLen = 12

// HeaderLen is the whole AH header for an ICV of icvLen bytes behind an IV of ivLen bytes:
// 12 + IV + ICV, padded to a multiple of 4 bytes in IPv4 and of 8 bytes in IPv6 (RFC 4302 §2.2,
// RFC 4543 §4 with erratum 3643). For example HMAC-SHA1-96 (ICV 12) needs 24 bytes in both;
// HMAC-SHA-256-128 (ICV 16) 28 in IPv4 and 32 in IPv6; AES-GMAC (IV 8, ICV 16) 36 and 40.
func HeaderLen(ivLen, icvLen int, v6 bool) int {
	n := FixedLen + ivLen + icvLen
	align := 4
	if v6 {
		align = 8
	}
	return (n + align - 1) / align * align
}

// PutHeader writes an AH header into h[:ahLen] for the host's framing: next header, payload
// length (ahLen/4 - 2, RFC 4302 §2.2), reserved 0, SPI, the low 32 bits of the sequence
// number, and zeros for the IV, ICV and padding, which Insert fills. ahLen is HeaderLen's
// value for the SA and IP version.
func PutHeader(h []byte, nextHeader byte, ahLen int, spi, seqLo uint32) {
	h[0], h[1], h[2], h[3] = nextHeader, byte(ahLen/4-2), 0, 0
	binary.BigEndian.PutUint32(h[4:8], spi)
	binary.BigEndian.PutUint32(h[8:12], seqLo)
	clear(h[FixedLen:ahLen])
}

// Header is the fixed part of an AH header and its length.
type Header struct {
	// NextHeader is the protocol of what follows AH.
	NextHeader byte
	// Len is the whole AH header's length in bytes, (Payload Length + 2) × 4 (RFC 4302 §2.2).
	Len int
	// SPI is the Security Parameters Index.
	SPI uint32
	// Seq is the sequence number's low 32 bits (all the wire carries, with or without ESN).
	Seq uint32
}

// ParseHeader reads the AH header at the start of b and checks its length: at least the 12
// fixed bytes (Payload Length at least 1), within b (b runs to the end of the datagram), and a multiple of 8 bytes in IPv6
// (v6 true; RFC 4302 §2.2). The Reserved field is not checked: RFC 4302 §2.3 has the receiver
// ignore it (the ICV covers it).
func ParseHeader(b []byte, v6 bool) (Header, error) {
	if len(b) < FixedLen {
		return Header{}, ErrShort
	}
	h := Header{NextHeader: b[0], Len: (int(b[1]) + 2) * 4,
		SPI: binary.BigEndian.Uint32(b[4:8]), Seq: binary.BigEndian.Uint32(b[8:12])}
	if h.Len < FixedLen { // Payload Length 0: an AH header shorter than its own fixed fields
		return h, ErrMalformed
	}
	if h.Len > len(b) {
		return h, ErrShort
	}
	if v6 && h.Len%8 != 0 {
		return h, ErrMalformed
	}
	return h, nil
}

// Layout says where an AH packet's parts lie; Parse and AppendCanonical fill it.
type Layout struct {
	// V6 says the packet is IPv6.
	V6 bool
	// AH is the offset of the AH header: after the IPv4 header with its options, or after
	// the IPv6 header and the extension headers in front of AH.
	AH int
	// AHLen is the AH header's length in bytes, (Payload Length + 2) × 4.
	AHLen int
	// Payload is where the protected payload starts, AH + AHLen: the transport header in
	// transport mode, the inner IP packet in tunnel mode.
	Payload int
	// End is the end of the IP datagram (IPv4 total length, IPv6 40 + payload length); bytes
	// after it (link-layer padding) are not covered by the ICV.
	End int
	// NextHeader is AH's next header: the payload's protocol (4 or 41 in tunnel mode).
	NextHeader byte
	// SPI and Seq are the AH header's SPI and sequence number (its low 32 bits).
	SPI, Seq uint32
}
