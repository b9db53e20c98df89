package inet

import "encoding/binary"

// IPv6 is a view of the fixed 40-byte IPv6 header (RFC 8200 §3). Extension headers are not
// part of it; NextHeader says whether one follows.
type IPv6 []byte

// ParseIPv6 checks that b starts with an IPv6 header (at least 40 bytes, version 6) and
// returns it (b[:40]). The payload length is the caller's to check against its bytes.
func ParseIPv6(b []byte) (IPv6, error) {
	if len(b) < IPv6HeaderLen {
		return nil, ErrTruncated
	}
	if b[0]>>4 != 6 {
		return nil, ErrVersion
	}
	return IPv6(b[:IPv6HeaderLen]), nil
}

// Version is the version nibble (6 for a parsed header).
func (h IPv6) Version() int { return int(h[0] >> 4) }

// PayloadLen is the payload-length field: everything after the fixed header, extension
// headers included. IPv6 has no header checksum, so this is all an LSO stage rewrites.
func (h IPv6) PayloadLen() int { return int(binary.BigEndian.Uint16(h[4:6])) }

// SetPayloadLen writes the payload-length field; n must fit in 16 bits.
func (h IPv6) SetPayloadLen(n int) { binary.BigEndian.PutUint16(h[4:6], uint16(n)) }

// NextHeader is the next-header field: an upper-layer protocol or an extension header.
func (h IPv6) NextHeader() byte { return h[6] }

// HopLimit is the hop-limit field.
func (h IPv6) HopLimit() byte { return h[7] }

// Src is the 16-byte source address, aliasing the header.
func (h IPv6) Src() []byte { return h[8:24] }

// Dst is the 16-byte destination address, aliasing the header.
func (h IPv6) Dst() []byte { return h[24:40] }
