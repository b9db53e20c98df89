package inet

import "encoding/binary"

// UDP is a view of the 8-byte UDP header (RFC 768).
type UDP []byte

// ParseUDP checks that b holds at least a UDP header and returns it (b[:8]). The length field
// is the caller's to check against its bytes.
func ParseUDP(b []byte) (UDP, error) {
	if len(b) < UDPHeaderLen {
		return nil, ErrTruncated
	}
	return UDP(b[:UDPHeaderLen]), nil
}

// SrcPort is the source port.
func (h UDP) SrcPort() uint16 { return binary.BigEndian.Uint16(h[0:2]) }

// DstPort is the destination port (PortNATT for ESP in UDP).
func (h UDP) DstPort() uint16 { return binary.BigEndian.Uint16(h[2:4]) }

// Length is the length field: header plus payload, in bytes.
func (h UDP) Length() int { return int(binary.BigEndian.Uint16(h[4:6])) }

// SetLength writes the length field; n must fit in 16 bits.
func (h UDP) SetLength(n int) { binary.BigEndian.PutUint16(h[4:6], uint16(n)) }

// Checksum is the checksum field. Zero means "not computed", which RFC 768 allows over IPv4
// and RFC 3948 §2.1 recommends for ESP in UDP; over IPv6 it is not allowed (RFC 8200 §8.1).
func (h UDP) Checksum() uint16 { return binary.BigEndian.Uint16(h[6:8]) }

// SetChecksum writes the checksum field. A computed checksum of zero goes on the wire as
// 0xffff (RFC 768), which the caller handles since it also decides whether to compute at all.
func (h UDP) SetChecksum(c uint16) { binary.BigEndian.PutUint16(h[6:8], c) }
