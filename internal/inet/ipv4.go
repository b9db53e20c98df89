package inet

import "encoding/binary"

// IPv4 is a view of an IPv4 header (RFC 791 §3.1), options included: exactly IHL*4 bytes when
// it comes from ParseIPv4. The setters write through to the packet, which is how the LSO stage
// rewrites each segment's header in place.
type IPv4 []byte

// ParseIPv4 checks that b starts with an IPv4 header: at least 20 bytes, version 4, IHL at
// least 5 and no longer than b. It returns the header (b[:IHL*4]). The total-length field is
// not checked against len(b): what a consistent length is depends on the caller (a frame, a
// tunnel's inner packet).
func ParseIPv4(b []byte) (IPv4, error) {
	if len(b) < IPv4MinHeaderLen {
		return nil, ErrTruncated
	}
	if b[0]>>4 != 4 {
		return nil, ErrVersion
	}
	hl := int(b[0]&0x0f) * 4
	if hl < IPv4MinHeaderLen {
		return nil, ErrHeaderLen
	}
	if len(b) < hl {
		return nil, ErrTruncated
	}
	return IPv4(b[:hl]), nil
}

// Version is the version nibble (4 for a parsed header).
func (h IPv4) Version() int { return int(h[0] >> 4) }

// HeaderLen is IHL*4, the header length in bytes, options included.
func (h IPv4) HeaderLen() int { return int(h[0]&0x0f) * 4 }

// TotalLen is the total-length field: header plus payload, in bytes.
func (h IPv4) TotalLen() int { return int(binary.BigEndian.Uint16(h[2:4])) }

// SetTotalLen writes the total-length field; n must fit in 16 bits.
func (h IPv4) SetTotalLen(n int) { binary.BigEndian.PutUint16(h[2:4], uint16(n)) }

// ID is the identification field. An LSO segment i carries the large packet's ID plus i, the
// rule NICs follow so each segment is distinct to reassembly and to capture tools.
func (h IPv4) ID() uint16 { return binary.BigEndian.Uint16(h[4:6]) }

// SetID writes the identification field.
func (h IPv4) SetID(id uint16) { binary.BigEndian.PutUint16(h[4:6], id) }

// IsFragment reports whether the More Fragments flag or the fragment offset is set: the packet
// is a piece of a larger one and its payload cannot be parsed on its own.
func (h IPv4) IsFragment() bool { return binary.BigEndian.Uint16(h[6:8])&0x3fff != 0 }

// TTL is the time-to-live field.
func (h IPv4) TTL() byte { return h[8] }

// Protocol is the protocol field: what the payload is (ProtoESP, ProtoUDP, ProtoTCP, ...).
func (h IPv4) Protocol() byte { return h[9] }

// Checksum is the header-checksum field as it stands.
func (h IPv4) Checksum() uint16 { return binary.BigEndian.Uint16(h[10:12]) }

// SetChecksum computes the header checksum over HeaderLen bytes (RFC 791: the field counts as
// zero) and writes it. Call it after every other field of the header is final.
func (h IPv4) SetChecksum() {
	h[10], h[11] = 0, 0
	binary.BigEndian.PutUint16(h[10:12], Finish(Checksum(h[:h.HeaderLen()], 0)))
}

// ChecksumValid reports whether the header checksum verifies: the one's-complement sum of the
// whole header, checksum included, is 0xffff (RFC 1071 §1).
func (h IPv4) ChecksumValid() bool { return Checksum(h[:h.HeaderLen()], 0) == 0xffff }

// Src is the 4-byte source address, aliasing the header.
func (h IPv4) Src() []byte { return h[12:16] }

// Dst is the 4-byte destination address, aliasing the header.
func (h IPv4) Dst() []byte { return h[16:20] }
