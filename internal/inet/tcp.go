package inet

import "encoding/binary"

// TCP header flag bits (RFC 9293 §3.1, RFC 3168 §6.1 for ECE and CWR), as they sit in byte 13.
const (
	TCPFlagFIN = 0x01 // no more data from sender
	TCPFlagSYN = 0x02 // synchronize sequence numbers
	TCPFlagRST = 0x04 // reset the connection
	TCPFlagPSH = 0x08 // push: deliver to the application now
	TCPFlagACK = 0x10 // the acknowledgment field is significant
	TCPFlagURG = 0x20 // the urgent pointer is significant
	TCPFlagECE = 0x40 // ECN echo
	TCPFlagCWR = 0x80 // congestion window reduced
)

// TCP is a view of a TCP header, options included: exactly DataOffset bytes when it comes
// from ParseTCP.
type TCP []byte

// ParseTCP checks that b starts with a TCP header: at least 20 bytes, a data offset of at least
// 5 words and no longer than b. It returns the header (b[:DataOffset]).
func ParseTCP(b []byte) (TCP, error) {
	if len(b) < TCPMinHeaderLen {
		return nil, ErrTruncated
	}
	hl := int(b[12]>>4) * 4
	if hl < TCPMinHeaderLen {
		return nil, ErrHeaderLen
	}
	if len(b) < hl {
		return nil, ErrTruncated
	}
	return TCP(b[:hl]), nil
}

// SrcPort is the source port.
func (h TCP) SrcPort() uint16 { return binary.BigEndian.Uint16(h[0:2]) }

// DstPort is the destination port.
func (h TCP) DstPort() uint16 { return binary.BigEndian.Uint16(h[2:4]) }

// Seq is the sequence number: the stream offset of the first payload byte.
func (h TCP) Seq() uint32 { return binary.BigEndian.Uint32(h[4:8]) }

// SetSeq writes the sequence number.
func (h TCP) SetSeq(seq uint32) { binary.BigEndian.PutUint32(h[4:8], seq) }

// Ack is the acknowledgment number.
func (h TCP) Ack() uint32 { return binary.BigEndian.Uint32(h[8:12]) }

// DataOffset is the header length in bytes (the data-offset field times 4): where the
// payload starts.
func (h TCP) DataOffset() int { return int(h[12]>>4) * 4 }

// Flags is byte 13, the eight flag bits (TCPFlagFIN ... TCPFlagCWR).
func (h TCP) Flags() byte { return h[13] }

// SetFlags writes byte 13. The reserved bits in byte 12 are left alone.
func (h TCP) SetFlags(f byte) { h[13] = f }

// Window is the receive window.
func (h TCP) Window() uint16 { return binary.BigEndian.Uint16(h[14:16]) }

// Checksum is the checksum field as it stands.
func (h TCP) Checksum() uint16 { return binary.BigEndian.Uint16(h[16:18]) }

// SetChecksum writes the checksum field. Computing it needs the pseudo-header and the
// payload, which the view does not have: Finish(Checksum(segment, PseudoHeaderIPv4(...)))
// with the field zeroed first.
func (h TCP) SetChecksum(c uint16) { binary.BigEndian.PutUint16(h[16:18], c) }
