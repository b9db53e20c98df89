package stage

import (
	"encoding/binary"

	"github.com/ov2dev/ov2/ah"
	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/internal/inet"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/sa"
)

// txSeal is the seal stage (R-TX-4, R-TX-5, R-TX-8). For each packet it takes the SA the
// lookup stage found when that ran in the same read section (Burst.carried), else it looks
// the SA up again (the classify and lookup stages may have run on another goroutine, and an
// SA is never held across a ring), and protects the packet in place with the SA's
// transforms, built when the SA was added:
//
//   - ESP: the NIC's part of the IV (esp.Transform.PutIV: the 64-bit sequence number for
//     AES-GCM and AES-GMAC; nothing for AES-CBC, whose Seal draws an unpredictable IV, and
//     for NULL, which has none), then Seal, which encrypts and writes the ICV into the room
//     the host left.
//   - AH: after ESP when the SA has both (ESP is applied first, then AH over the result,
//     the only order NDIS allows), ah.Transform.Insert computes the ICV over the whole IP
//     datagram, mutable header fields zeroed, and writes it (and the AES-GMAC IV) into the
//     AH header the host framed.
//
// A combined packet is sealed transport part first, then tunnel part.
//
// Each part's 64-bit sequence number is its high half (set by ADD_SA and UPDATE_SA; ESP and
// AH each have their own) joined to the low half the host wrote in its header, or, for an
// LSO segment, the number the LSO stage computed. R-TX-8: a sequence number is never used
// twice with one key. Without ESN the counter must not cycle, so a low half of 0 (what 2^32
// wraps to) is refused; with ESN, 0 (what 2^64 wraps to) is refused. Either way the packet
// fails with ReasonSeqExhausted.
//
// The SAs' packet and byte counters are added up over the burst and published once per SA
// at its end (saCounts).
type txSeal struct {
	scratch *esp.Scratch
	ah      *ah.Scratch
	saved   [esp.MaxICVLen]byte
	counts  saCounts
}

// one seals packet i of b (not failed, with IPsec work); the caller flushes s.counts at the
// end of the burst.
func (s *txSeal) one(b *Burst, i int, p *packet.Buffer, tb *sa.Table) {
	frame := p.Bytes()
	a, ok := b.carried(i, tb)
	if !ok {
		a = outboundSA(tb, p.Tx.OffloadHandle)
	}
	if a == nil {
		p.Tx.Fail(packet.ReasonUnknownHandle) // deleted since the lookup stage
		return
	}
	if p.Meta.ESP != 0 {
		if r := s.seal(frame, int(p.Meta.ESP), int(p.Meta.ESPEnd), a, p.Meta.Seq, p.Meta.SeqSet); r != packet.ReasonNone {
			p.Tx.Fail(r)
			return
		}
	}
	if p.Meta.AH != 0 {
		// The transport SA's AH covers its own datagram: the inner packet of a combined one.
		dg, off := frame, int(p.Meta.AH)
		if in := int(p.Meta.Inner); in != 0 {
			dg, off = frame[in:p.Meta.ESPEnd], off-in
		}
		if r := s.insertAH(dg, off, a, p.Meta.AHSeq, p.Meta.SeqSet); r != packet.ReasonNone {
			p.Tx.Fail(r)
			return
		}
	}
	if p.Tx.TunnelHandle != 0 {
		if r := s.sealTunnel(tb, p, frame); r != packet.ReasonNone {
			p.Tx.Fail(r)
			return
		}
	}
	if p.Meta.IPv6 {
		fixUDPChecksum(frame)
	}
}

// sealTunnel protects the tunnel part of a combined packet, after the transport part: its
// ESP over the rest of the frame, then its AH over the whole frame.
func (s *txSeal) sealTunnel(tb *sa.Table, p *packet.Buffer, frame []byte) packet.Reason {
	t := outboundSA(tb, p.Tx.TunnelHandle)
	if t == nil {
		return packet.ReasonUnknownHandle
	}
	if p.Meta.TunnelESP != 0 {
		if r := s.seal(frame, int(p.Meta.TunnelESP), len(frame), t, 0, false); r != packet.ReasonNone {
			return r
		}
	}
	if p.Meta.TunnelAH != 0 {
		return s.insertAH(frame, int(p.Meta.TunnelAH), t, 0, false)
	}
	return packet.ReasonNone
}

// nextSeq is the 64-bit sequence number of one part: the one LSO computed, or the part's
// high half joined to the low half in the header. ok is false when R-TX-8 refuses it.
func nextSeq(st *sa.State, esn bool, lo uint32, seq uint64, seqSet bool) (uint64, bool) {
	if !seqSet {
		seq = uint64(st.SeqHi())<<32 | uint64(lo)
	}
	if (!esn && (seq>>32 != 0 || uint32(seq) == 0)) || (esn && seq == 0) {
		return seq, false
	}
	return seq, true
}

// seal protects the ESP region frame[start:end], whose last ICVLen bytes are the room the
// host (or the LSO stage) left for the ICV.
func (s *txSeal) seal(frame []byte, start, end int, a *sa.SA, seq uint64, seqSet bool) packet.Reason {
	icv := a.Transform.ICVLen()
	body := frame[start : end-icv]
	seq, ok := nextSeq(a.State, a.ESN, esp.Seq(body), seq, seqSet)
	if !ok {
		return packet.ReasonSeqExhausted
	}
	a.Transform.PutIV(body, seq)
	// Seal may use up to MaxICVLen bytes past the body as work space (an 8-byte ICV is
	// computed as a 16-byte tag). Inside a combined packet those bytes are the tunnel
	// trailer: keep them.
	kept := 0
	if end < len(frame) {
		kept = copy(s.saved[:], frame[end:])
	}
	_, err := a.Transform.Seal(s.scratch, body, uint32(seq>>32))
	if kept > 0 {
		copy(frame[end:end+kept], s.saved[:kept])
	}
	if err != nil {
		return packet.ReasonCrypto
	}
	s.counts.add(a.State, end-start)
	return packet.ReasonNone
}

// insertAH computes and writes the ICV of the AH header at frame[off:] (the lookup stage
// checked its SPI and length against the SA), over the whole datagram frame.
func (s *txSeal) insertAH(frame []byte, off int, a *sa.SA, seq uint64, seqSet bool) packet.Reason {
	h := a.AH
	seq, ok := nextSeq(h.State, h.ESN, binary.BigEndian.Uint32(frame[off+8:]), seq, seqSet)
	if !ok {
		return packet.ReasonSeqExhausted
	}
	l, err := h.Transform.Insert(s.ah, frame, uint32(seq>>32))
	switch {
	case err == ah.ErrWiped:
		return packet.ReasonCrypto
	case err != nil || l.AH != off:
		// The IP header chain does not lead to the AH header at AhHeaderOffset (a wrong
		// protocol field, a fragment, an unpredictable routing header): the host's framing.
		return packet.ReasonMalformed
	}
	s.counts.add(h.State, len(frame)-off)
	return packet.ReasonNone
}

// fixUDPChecksum fills in the UDP checksum of a NAT-T packet over IPv6 once the payload is
// final; over IPv4 RFC 3948 lets it be 0, and the host's value is kept.
func fixUDPChecksum(frame []byte) {
	if frame[0]>>4 != 6 || frame[6] != inet.ProtoUDP || len(frame) < 48 {
		return
	}
	udp := inet.UDP(frame[40:])
	udp.SetChecksum(0)
	sum := inet.PseudoHeaderIPv6(frame[8:24], frame[24:40], inet.ProtoUDP, len(udp))
	c := inet.Finish(inet.Checksum(udp, sum))
	if c == 0 {
		c = 0xffff // RFC 768: a computed 0 is sent as all ones
	}
	udp.SetChecksum(c)
}
