package stage

import (
	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/internal/rxparse"
	"github.com/ov2dev/ov2/ndis"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/sa"
)

// rxOpen verifies and decrypts ESP in place (R-RX-4, R-RX-6, R-RX-8), and for a tunnel
// packet whose inner packet is ESP for another inbound SA, the inner part too
// (NextCryptoDone). Results go to the receive OOB:
//
//	ICV failure                      CryptoDone, CRYPTO_TRANSPORT_ESP_AUTH_FAILED, or
//	                                 CRYPTO_TUNNEL_ESP_AUTH_FAILED on a tunnel SA (outer part)
//	trailer padding or length wrong  CryptoDone, CRYPTO_INVALID_PACKET_SYNTAX
//	verified                         CryptoDone, CRYPTO_SUCCESS, NextHeader, PadLength,
//	                                 HeaderInfoSet (of the innermost part processed)
//
// A failed packet keeps its bytes as they arrived (esp.Open restores them), so the host
// sees what came in (R-RX-5). The NIC reports, in Rx.SeqHi, the high half it used: the one
// that verified, or for a failed packet the first it tried (inferSeq says which it tries).
type rxOpen struct {
	r       *sa.Reader
	scratch *esp.Scratch
}

func (o *rxOpen) useReader(r *sa.Reader) { o.r = r }

func (o *rxOpen) process(b *Burst) {
	tb := o.r.Begin()
	defer o.r.End()
	for _, p := range b.Slice() {
		if p.Rx.Handle == 0 || p.Rx.CryptoDone {
			continue
		}
		a := tb.Lookup(sa.Handle(p.Rx.Handle))
		if a == nil { // deleted since the lookup stage: the NIC no longer has it
			p.Rx.Handle = 0
			setSkip(p, SkipNoSA)
			continue
		}
		frame := p.Bytes()
		plain, ok := o.open(p, a, frame[p.Meta.ESP:p.Meta.ESPEnd], false)
		if !ok || (p.Rx.NextHeader != 4 && p.Rx.NextHeader != 41) {
			continue
		}
		o.openInner(tb, p, plain)
	}
}

// open checks one ESP region with SA a and records the result; it returns the plaintext
// (payload, without trailer) and whether it verified.
func (o *rxOpen) open(p *packet.Buffer, a *sa.SA, region []byte, inner bool) ([]byte, bool) {
	seq, retry := uint64(esp.Seq(region)), uint64(0)
	if a.ESN {
		seq, retry = inferSeq(a, uint32(seq))
	}
	plain, err := a.Transform.Open(o.scratch, region, uint32(seq>>32))
	if err == esp.ErrAuth && retry != 0 { // the SA has verified nothing yet: the other candidate (rxesn.go)
		if pl, e := a.Transform.Open(o.scratch, region, uint32(retry>>32)); e == nil {
			seq, plain, err = retry, pl, nil
		}
	}
	if !inner {
		p.Rx.SeqHi = uint32(seq >> 32)
	}
	p.Rx.CryptoDone = true
	switch {
	case err == esp.ErrAuth:
		a.State.AuthFailures.Add(1)
		p.Rx.CryptoStatus = ndis.CryptoTransportESPAuthFailed
		if !inner && a.State.Tunnel() {
			p.Rx.CryptoStatus = ndis.CryptoTunnelESPAuthFailed
		}
		return nil, false
	case err != nil:
		p.Rx.CryptoStatus = ndis.CryptoInvalidPacketSyntax
		return nil, false
	}
	payload, pad, nh, err := esp.ParseTrailer(plain)
	if err != nil {
		p.Rx.CryptoStatus = ndis.CryptoInvalidPacketSyntax
		return nil, false
	}
	a.State.NoteVerified(seq)
	a.State.Packets.Add(1)
	a.State.Bytes.Add(uint64(len(region)))
	if nh == 4 || nh == 41 {
		a.State.NoteTunnel()
	}
	p.Rx.CryptoStatus = ndis.CryptoSuccess
	p.Rx.NextHeader, p.Rx.PadLength, p.Rx.HeaderInfoSet = nh, uint8(pad), true
	return payload, true
}

// openInner handles tunnel + transport combined (R-RX-4): the decrypted inner IP packet
// carries ESP for an inbound SA of its own.
func (o *rxOpen) openInner(tb *sa.Table, p *packet.Buffer, inner []byte) {
	l := rxparse.Parse(inner)
	if (l.Kind != rxparse.KindESP && l.Kind != rxparse.KindUDPESP) || l.Short || l.Fragment {
		return
	}
	a := tb.LookupInbound(l.SPI, inner[l.DstOff:l.DstOff+l.DstLen])
	if a == nil {
		return
	}
	p.Rx.NextCryptoDone = true
	if (l.Kind == rxparse.KindUDPESP) != (a.UdpEspEncapsulation != ndis.UDPEspNone) {
		p.Rx.CryptoStatus = ndis.CryptoInvalidProtocol
		p.Rx.HeaderInfoSet = false
		return
	}
	if _, ok := o.open(p, a, inner[l.ESP:l.End], true); !ok {
		p.Rx.HeaderInfoSet = false
	}
}
