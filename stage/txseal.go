package stage

import (
	"github.com/ov2dev/ov2/internal/inet"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/sa"
)

// txSeal is the ESP seal stage (R-TX-4, R-TX-5, R-TX-8). For each packet it looks the SA
// up again (the classify and lookup stages may have run on another goroutine, and an SA is
// never held across a ring), writes IV = the 64-bit sequence number, and seals in place
// with the SA's transform, whose AES-GCM implementation was chosen when the SA was added
// (esp.Transform.Impl). A combined packet is sealed transport part first, then tunnel part.
//
// The 64-bit sequence number is the SA's high half (set by ADD_SA and UPDATE_SA) joined to
// the low half the host wrote, or, for an LSO segment, the number the LSO stage computed.
// R-TX-8: a sequence number is never used twice with one key. Without ESN the counter must
// not cycle, so a low half of 0 (what 2^32 wraps to) is refused; with ESN, 0 (what 2^64
// wraps to) is refused. Either way the packet fails with ReasonSeqExhausted.
type txSeal struct {
	r       *sa.Reader
	scratch *esp.Scratch
	saved   [esp.MaxICVLen]byte
}

func (s *txSeal) process(b *Burst) {
	tb := s.r.Begin()
	defer s.r.End()
	for _, p := range b.Slice() {
		if p.Tx.Failed() || p.Meta.ESP == 0 {
			continue
		}
		frame := p.Bytes()
		a := outboundSA(tb, p.Tx.OffloadHandle)
		if a == nil {
			p.Tx.Fail(packet.ReasonUnknownHandle) // deleted since the lookup stage
			continue
		}
		if r := s.seal(frame, int(p.Meta.ESP), int(p.Meta.ESPEnd), a, p.Meta.Seq, p.Meta.SeqSet); r != packet.ReasonNone {
			p.Tx.Fail(r)
			continue
		}
		if p.Meta.TunnelESP != 0 {
			t := outboundSA(tb, p.Tx.TunnelHandle)
			if t == nil {
				p.Tx.Fail(packet.ReasonUnknownHandle)
				continue
			}
			if r := s.seal(frame, int(p.Meta.TunnelESP), len(frame), t, 0, false); r != packet.ReasonNone {
				p.Tx.Fail(r)
				continue
			}
		}
		fixUDPChecksum(frame)
	}
}

// seal protects the ESP region frame[start:end], whose last ICVLen bytes are the room the
// host (or the LSO stage) left for the ICV.
func (s *txSeal) seal(frame []byte, start, end int, a *sa.SA, seq uint64, seqSet bool) packet.Reason {
	icv := a.Transform.ICVLen()
	body := frame[start : end-icv]
	if !seqSet {
		seq = uint64(a.State.SeqHi())<<32 | uint64(esp.Seq(body))
	}
	if (!a.ESN && (seq>>32 != 0 || uint32(seq) == 0)) || (a.ESN && seq == 0) {
		return packet.ReasonSeqExhausted
	}
	esp.PutIV(body, seq)
	// Seal may use up to MaxICVLen bytes past the body as work space (an 8-byte ICV is
	// computed as a 16-byte tag). Inside a combined packet those bytes are the tunnel
	// trailer: keep them.
	kept := 0
	if end < len(frame) {
		kept = copy(s.saved[:], frame[end:])
	}
	_, err := a.Transform.Seal(s.scratch, body, uint32(seq>>32))
	copy(frame[end:end+kept], s.saved[:kept])
	if err != nil {
		return packet.ReasonCrypto
	}
	a.State.Packets.Add(1)
	a.State.Bytes.Add(uint64(end - start))
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

func (x *txSeal) useReader(r *sa.Reader) { x.r = r }
