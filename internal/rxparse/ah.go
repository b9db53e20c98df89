package rxparse

import "encoding/binary"

// AH is where an AH header (RFC 4302 §2) lies in a frame Parse classified as KindAH, and
// what the SA lookup needs from it: the SPI (with the outer destination, R-RX-2), the next
// header (ESP for an ESP+AH bundle, 4 or 41 in tunnel mode) and where the protected payload
// starts. ParseAH reads it; Parse's Layout is left as it is for AH, so that its callers see
// exactly what they saw before the NIC offloaded AH.
//
//	 0               1               2               3
//	+---------------+---------------+-------------------------------+
//	|  Next Header  |  Payload Len  |           Reserved            |
//	+---------------+---------------+-------------------------------+
//	|                 Security Parameters Index (SPI)               |
//	|                 Sequence Number (low 32 bits)                 |
//	|  IV (AES-GMAC), ICV, padding: (Payload Len + 2) * 4 - 12 bytes|
//	+---------------------------------------------------------------+
type AH struct {
	// Off is the offset of the AH header: Layout.L4.
	Off int
	// Len is the whole AH header, (Payload Len + 2) × 4 bytes; 0 when Invalid says the
	// header's length cannot be trusted.
	Len int
	// Payload is Off + Len: the transport header, the inner IP packet (tunnel mode), or the
	// ESP header of an ESP+AH bundle. 0 when Invalid.
	Payload int
	// SPI is the AH SPI, 0 when fewer than 8 bytes of AH are present (SPI 0 is reserved by
	// RFC 4302 §2.4, so it never matches an SA).
	SPI uint32
	// NextHeader is the protocol after AH: 50 for ESP, 4 or 41 for tunnel mode, the
	// transport protocol otherwise. 0 when the byte is not there.
	NextHeader byte
	// Invalid says the header cannot be processed as it is: cut short of its 12 fixed bytes,
	// a Payload Len of 0 (an AH header shorter than its own fixed fields), a length running
	// past the IP packet's End, or, in IPv6, a length that is not a multiple of 8 bytes
	// (RFC 4302 §2.2). As with a Short ESP header, the SPI still names an SA when it is
	// there, so that the NIC can report CRYPTO_INVALID_PACKET_SYNTAX on it.
	Invalid bool
	// Reason names what is wrong when Invalid; "" otherwise. Always a constant.
	Reason string
}

// Reasons an AH header is Invalid.
const (
	reasonAHTruncated  = "AH header truncated"
	reasonAHLenZero    = "AH payload length 0"
	reasonAHPastEnd    = "AH header past the packet"
	reasonAHNotAligned = "AH length not a multiple of 8 in IPv6"
	reasonNotAH        = "not an AH packet"
)

// ahFixedLen is the part of an AH header every algorithm has: next header, payload length,
// reserved, SPI, sequence number (RFC 4302 §2).
const ahFixedLen = 12

// ParseAH reads the AH header of frame at l.L4, where l is Parse(frame) with Kind KindAH.
// For any other Layout it returns an Invalid AH with no SPI, so that a caller that skipped
// the Kind check still gets a safe answer. Like Parse it never panics and never allocates:
// every offset is checked against l.End and len(frame) first.
func ParseAH(frame []byte, l Layout) AH {
	a := AH{Off: l.L4}
	if l.Kind != KindAH || l.End > len(frame) || l.L4 < 0 || l.L4 > l.End {
		return AH{Invalid: true, Reason: reasonNotAH}
	}
	pkt := frame[l.L4:l.End]
	if len(pkt) >= 1 {
		a.NextHeader = pkt[0]
	}
	if len(pkt) >= 8 {
		a.SPI = binary.BigEndian.Uint32(pkt[4:8])
	}
	if len(pkt) < ahFixedLen {
		a.Invalid, a.Reason = true, reasonAHTruncated
		return a
	}
	n := (int(pkt[1]) + 2) * 4
	switch {
	case pkt[1] == 0:
		a.Invalid, a.Reason = true, reasonAHLenZero
	case n > len(pkt):
		a.Invalid, a.Reason = true, reasonAHPastEnd
	case l.IPv6 && n%8 != 0:
		a.Invalid, a.Reason = true, reasonAHNotAligned
	default:
		a.Len, a.Payload = n, l.L4+n
	}
	return a
}
