package lso

import "github.com/ov2dev/ov2/esp"

// Plan is a parsed large send: where every header of the frame is, how the TCP payload is cut
// and the first sequence number. It is a plain value (no pointers, no allocation) so a stage
// can keep one per packet in its burst arrays; Prepare fills it and Segment reads it.
type Plan struct {
	frameLen   int    // len(frame) at Prepare; Segment refuses any other frame
	outerHL    int    // outer IP header length (IPv4 IHL*4, or 40)
	udpOff     int    // UDP header offset, -1 without NAT-T
	ahOff      int    // AH header offset, -1 without AH
	ahLen      int    // AH header length
	espOff     int    // ESP header offset, -1 for AH alone
	innerOff   int    // inner IP header offset, -1 in transport mode
	tcpOff     int    // TCP header offset
	payloadOff int    // first TCP payload byte: every byte before it is header, copied per segment
	payloadLen int    // TCP payload bytes, host padding excluded
	mss        int    // payload bytes per segment
	count      int    // segments
	icvLen     int    // ICV room per segment (0 for AH alone)
	ivLen      int    // IV room after the ESP header (0 for AH alone)
	maxSegLen  int    // length of the longest segment
	seq        uint64 // S, the first segment's 64-bit sequence number (ESP's; AH's for AH alone)
	ahSeq      uint64 // the AH part's first sequence number
	nextHeader byte   // ESP trailer next header
	ipv6       bool   // outer header is IPv6
	innerIPv6  bool   // inner header is IPv6 (tunnel mode only)

	alg esp.Algorithm // the ESP suite: IV room and padding boundary
}

// Count is the number of segments: ceil(TCP payload / MSS).
func (p *Plan) Count() int { return p.count }

// Seq is S, the first segment's 64-bit sequence number; segment i has S+i (R-TX-7). It is
// the ESP part's, or the AH part's when the SA is AH alone.
func (p *Plan) Seq() uint64 { return p.seq }

// AHSeq is the AH part's sequence number of segment i: the AH part has its own sequence
// space, and its segments count up from the number in the large send's AH header just as
// ESP's do (R-TX-7). Meaningless without AH.
func (p *Plan) AHSeq(i int) uint64 { return p.ahSeq + uint64(i) }

// AHOffset is the offset of the AH header (right after the outer IP header), or -1 without
// AH.
func (p *Plan) AHOffset() int { return p.ahOff }

// LastSeq is the last segment's sequence number, S+Count-1: where the SA's counter stands
// after this send, so the caller can advance it by Count.
func (p *Plan) LastSeq() uint64 { return p.seq + uint64(p.count-1) }

// MSS is the TCP payload bytes per segment; only the last segment may carry fewer.
func (p *Plan) MSS() int { return p.mss }

// MaxSegmentLen is the length of the longest segment, ICV room included: the capacity
// Segment needs in dst. esp.Seal wants esp.MaxICVLen bytes of tailroom after the next-header
// byte whatever the ICV length, so a buffer that is sealed in place needs SealBufferLen.
func (p *Plan) MaxSegmentLen() int { return p.maxSegLen }

// SealBufferLen is the capacity a segment buffer needs to be both written by Segment and
// sealed in place by esp.Seal: MaxSegmentLen with the ICV room widened to esp.MaxICVLen.
func (p *Plan) SealBufferLen() int {
	if p.espOff < 0 {
		return p.maxSegLen // AH alone: the ICV goes into the AH header, no tailroom needed
	}
	return p.maxSegLen - p.icvLen + esp.MaxICVLen
}

// ICVLen is the ICV room each segment ends with (0 for AH alone).
func (p *Plan) ICVLen() int { return p.icvLen }

// IPv6 reports whether the outer IP header is IPv6 (no header checksum; the UDP checksum of
// NAT-T is then the caller's to compute after sealing).
func (p *Plan) IPv6() bool { return p.ipv6 }

// InnerIPv6 reports whether the inner IP header of a tunnel-mode send is IPv6; false in
// transport mode.
func (p *Plan) InnerIPv6() bool { return p.innerIPv6 }

// UDPOffset is the offset of the NAT-T UDP header (RFC 3948), or -1 when ESP is not in UDP.
// Segment writes its length and a zero checksum; over IPv6 the caller must fill in the real
// checksum after sealing, since it covers the ciphertext.
func (p *Plan) UDPOffset() int { return p.udpOff }

// ESPOffset is the offset of the ESP header: where the seal stage's packet starts; -1 for
// an SA that is AH alone.
func (p *Plan) ESPOffset() int { return p.espOff }

// InnerIPOffset is the offset of the inner IP header in tunnel mode, -1 in transport mode.
func (p *Plan) InnerIPOffset() int { return p.innerOff }

// TCPOffset is the offset of the TCP header.
func (p *Plan) TCPOffset() int { return p.tcpOff }

// PayloadOffset is the offset of the first TCP payload byte, in the frame and in every
// segment: the headers in front of it are the same length in both.
func (p *Plan) PayloadOffset() int { return p.payloadOff }

// PayloadLen is the large send's TCP payload length, the host padding excluded.
func (p *Plan) PayloadLen() int { return p.payloadLen }

// NextHeader is the ESP trailer's next header every segment gets (for AH alone, the AH
// header's next header).
func (p *Plan) NextHeader() byte { return p.nextHeader }
