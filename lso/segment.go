package lso

import (
	"encoding/binary"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/internal/inet"
)

// Segment writes segment i (0 <= i < Count) of the large send into dst[:n], ready for the seal
// stage, and returns n and the segment's 64-bit sequence number S+i (R-TX-7). frame must be
// the frame Prepare parsed, unchanged; dst must not overlap it and cap(dst) must be at least
// MaxSegmentLen. Breaking these is a programming error and panics; everything the frame could
// get wrong, Prepare has already refused.
//
// The segment is the frame's headers followed by payload bytes [i*MSS, min((i+1)*MSS, len)),
// with every field that depends on the segment rewritten (R-TX-6):
//   - outer IPv4: total length, identification + i, header checksum; outer IPv6: payload length;
//   - NAT-T UDP: length, checksum 0 (RFC 3948 §2.1 on IPv4; on IPv6 the caller computes it after
//     sealing, since it covers the ciphertext);
//   - ESP header: the low 32 bits of S+i; the IV space is copied as it is (the seal stage writes
//     IV = S+i, R-TX-4);
//   - inner IP header in tunnel mode, the same way as the outer one;
//   - TCP: sequence number + i*MSS; FIN and PSH kept only on the last segment and CWR only on
//     the first, so the stream ends once and the congestion signal is given once; checksum over
//     the pseudo-header of the IP header right in front of TCP;
//
// then the RFC 4303 trailer (padding 1, 2, 3, ... to the algorithm's boundary, 4 bytes or
// AES-CBC's 16-byte block, pad length, next header) and ICVLen zero bytes of ICV room. With
// AH, the AH header is copied as the host framed it, with the low 32 bits of the AH part's
// number AHSeq(i); for AH alone there is no trailer and no ICV room, and seq is AH's. It
// allocates nothing.
func (p *Plan) Segment(frame []byte, i int, dst []byte) (n int, seq uint64) {
	if len(frame) != p.frameLen {
		panic("lso: Segment: frame is not the one Prepare parsed")
	}
	if i < 0 || i >= p.count {
		panic("lso: Segment: segment index out of range")
	}
	if cap(dst) < p.maxSegLen {
		panic("lso: Segment: cap(dst) < MaxSegmentLen")
	}
	hdr := p.payloadOff
	start := i * p.mss
	chunk := min(p.mss, p.payloadLen-start)

	copy(dst[:hdr], frame[:hdr])
	copy(dst[hdr:hdr+chunk], frame[hdr+start:hdr+start+chunk])
	n = hdr + chunk
	seq = p.seq + uint64(i)
	if p.espOff >= 0 {
		espPayload := hdr + chunk - (p.espOff + esp.HeaderLen + p.ivLen)
		body := esp.AppendTrailer(dst[:hdr+chunk], p.alg.PadLen(espPayload), p.nextHeader)
		n = len(body) + p.icvLen
		clear(dst[len(body):n])
		binary.BigEndian.PutUint32(dst[p.espOff+4:p.espOff+8], uint32(seq))
	}
	if p.ahOff >= 0 {
		binary.BigEndian.PutUint32(dst[p.ahOff+8:p.ahOff+12], uint32(p.AHSeq(i)))
	}

	p.rewriteOuter(dst[:n], i)
	p.rewriteTCP(dst[:hdr+chunk], i, start, p.pseudoHeader(dst[:hdr+chunk], i))
	return n, seq
}

// rewriteOuter sets the outer IP header's length fields (and, for IPv4, identification and
// checksum) and the NAT-T UDP length for a segment of len(seg) bytes.
func (p *Plan) rewriteOuter(seg []byte, i int) {
	if p.ipv6 {
		inet.IPv6(seg).SetPayloadLen(len(seg) - inet.IPv6HeaderLen)
	} else {
		h := inet.IPv4(seg[:p.outerHL])
		h.SetTotalLen(len(seg))
		h.SetID(h.ID() + uint16(i))
		h.SetChecksum()
	}
	if p.udpOff >= 0 {
		u := inet.UDP(seg[p.udpOff : p.udpOff+inet.UDPHeaderLen])
		u.SetLength(len(seg) - p.udpOff)
		u.SetChecksum(0)
	}
}

// pseudoHeader rewrites the inner IP header in tunnel mode (inner holds the segment up to the
// end of its TCP payload, which is where the inner packet ends) and returns the running sum of
// the pseudo-header the TCP checksum covers: the inner header's in tunnel mode, the outer one's
// in transport mode.
func (p *Plan) pseudoHeader(inner []byte, i int) uint32 {
	tcpLen := len(inner) - p.tcpOff
	switch {
	case p.innerOff < 0 && p.ipv6:
		h := inet.IPv6(inner[:inet.IPv6HeaderLen])
		return inet.PseudoHeaderIPv6(h.Src(), h.Dst(), inet.ProtoTCP, tcpLen)
	case p.innerOff < 0:
		h := inet.IPv4(inner[:p.outerHL])
		return inet.PseudoHeaderIPv4(h.Src(), h.Dst(), inet.ProtoTCP, tcpLen)
	case p.innerIPv6:
		h := inet.IPv6(inner[p.innerOff : p.innerOff+inet.IPv6HeaderLen])
		h.SetPayloadLen(len(inner) - p.innerOff - inet.IPv6HeaderLen)
		return inet.PseudoHeaderIPv6(h.Src(), h.Dst(), inet.ProtoTCP, tcpLen)
	default:
		h := inet.IPv4(inner[p.innerOff:p.tcpOff])
		h.SetTotalLen(len(inner) - p.innerOff)
		h.SetID(h.ID() + uint16(i))
		h.SetChecksum()
		return inet.PseudoHeaderIPv4(h.Src(), h.Dst(), inet.ProtoTCP, tcpLen)
	}
}

// rewriteTCP sets the TCP sequence number, flags and checksum of segment i, whose TCP header
// and payload end seg.
func (p *Plan) rewriteTCP(seg []byte, i, start int, pseudo uint32) {
	h := inet.TCP(seg[p.tcpOff:p.payloadOff])
	h.SetSeq(h.Seq() + uint32(start))
	f := h.Flags()
	if i != p.count-1 {
		f &^= inet.TCPFlagFIN | inet.TCPFlagPSH
	}
	if i != 0 {
		f &^= inet.TCPFlagCWR
	}
	h.SetFlags(f)
	h.SetChecksum(0)
	h.SetChecksum(inet.Finish(inet.Checksum(seg[p.tcpOff:], pseudo)))
}
