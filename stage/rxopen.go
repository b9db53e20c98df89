package stage

import (
	"encoding/binary"

	"github.com/ov2dev/ov2/ah"
	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/internal/rxparse"
	"github.com/ov2dev/ov2/ndis"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/sa"
)

// rxOpen verifies and decrypts in place (R-RX-4, R-RX-6, R-RX-8): ESP alone; AH alone; an
// ESP+AH bundle, AH first (it is the outer header: the sender applied it last) and ESP only
// once AH has verified; and, for a tunnel packet whose inner packet is IPsec for another
// inbound SA, the inner part too (NextCryptoDone). An ESP+AH bundle is one SA bundle, one
// part in NDIS's sense, so it sets NextCryptoDone only as the tunnel or the transport part
// of a combined packet. Results go to the receive OOB:
//
//	AH ICV failure                   CryptoDone, CRYPTO_TRANSPORT_AH_AUTH_FAILED, or
//	                                 CRYPTO_TUNNEL_AH_AUTH_FAILED on a tunnel SA (outer part)
//	ESP ICV or CBC padding failure   CryptoDone, CRYPTO_TRANSPORT_ESP_AUTH_FAILED, or
//	                                 CRYPTO_TUNNEL_ESP_AUTH_FAILED on a tunnel SA (outer part)
//	lengths that do not add up       CryptoDone, CRYPTO_INVALID_PACKET_SYNTAX (an AH length
//	                                 that is not the SA's, AES-CBC ciphertext not in whole
//	                                 blocks, a trailer that does not parse)
//	protocols not the SA's           CryptoDone, CRYPTO_INVALID_PROTOCOL (an ESP+AH bundle's
//	                                 packet without ESP after AH, or ESP of another SPI)
//	AH the NIC cannot compute        not processed (SkipUnsupported): an unpredictable IPv6
//	                                 routing header, a jumbogram (R-RX-3)
//	verified                         CryptoDone, CRYPTO_SUCCESS, HeaderInfoSet, NextHeader and
//	                                 PadLength of the innermost part processed: the ESP
//	                                 trailer's, or for AH alone AH's next header and 0
//
// A tunnel SA is one that has carried an inner IP packet (ESP learns it on the first
// verified packet, sa.State.Tunnel); AH also knows it from its next header, which travels in
// clear. A failed packet keeps its bytes as they arrived (esp.Open restores them, ah.Verify
// never writes), so the host sees what came in (R-RX-5). The NIC reports, in Rx.SeqHi and
// Rx.AHSeqHi, the high halves it used: the ones that verified, or for a failed packet the
// first it tried (inferSeq says which it tries).
type rxOpen struct {
	scratch *esp.Scratch
	ah      *ah.Scratch
	counts  saCounts // the SAs' packets and bytes, published once per SA per burst
}

func (o *rxOpen) process(b *Burst, tb *sa.Table) {
	defer o.counts.flush()
	pkts := b.Slice()
	prefetchStart(b, tb, pkts)
	for i, p := range pkts {
		if j := i + prefetchDistance; prefetchable(pkts, j) {
			prefetchFor(b, tb, pkts[j], j) // prefetch.go
		}
		if p.Rx.Handle == 0 || p.Rx.CryptoDone {
			continue
		}
		a, ok := b.carried(i, tb)
		if !ok {
			a = tb.Lookup(sa.Handle(p.Rx.Handle))
		}
		if a == nil { // deleted since the lookup stage: the NIC no longer has it
			p.Rx.Handle = 0
			setSkip(p, SkipNoSA)
			continue
		}
		frame := p.Bytes()
		var plain []byte
		var res openResult
		if p.Meta.AH != 0 {
			plain, res = o.openAH(p, a, frame[:p.Meta.ESPEnd], int(p.Meta.AH), false)
		} else {
			plain, res = o.open(p, a, frame[p.Meta.ESP:p.Meta.ESPEnd], false)
		}
		if res != opened || (p.Rx.NextHeader != 4 && p.Rx.NextHeader != 41) {
			continue
		}
		o.openInner(tb, p, plain)
	}
}

// openResult is what one part's check came to.
type openResult uint8

const (
	opened      openResult = iota // verified (and decrypted): CRYPTO_SUCCESS and header info
	failed                        // checked and failed: CryptoDone with a failure status
	unprocessed                   // not processed at all: no IPsec OOB for this part
)

// open checks one ESP region with SA a and records the result; it returns the plaintext
// (payload, without trailer).
func (o *rxOpen) open(p *packet.Buffer, a *sa.SA, region []byte, inner bool) ([]byte, openResult) {
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
	case err == esp.ErrAuth: // a bad ICV, or (AES-CBC, NULL) bad padding behind a good one
		a.State.AuthFailures.Add(1)
		p.Rx.CryptoStatus = ndis.CryptoTransportESPAuthFailed
		if !inner && a.State.Tunnel() {
			p.Rx.CryptoStatus = ndis.CryptoTunnelESPAuthFailed
		}
		return nil, failed
	case err == esp.ErrWiped:
		p.Rx.CryptoStatus = ndis.CryptoGenericError
		return nil, failed
	case err != nil: // ErrShort, ErrBlockAlign: the lengths do not add up
		p.Rx.CryptoStatus = ndis.CryptoInvalidPacketSyntax
		return nil, failed
	}
	payload, pad, nh, err := esp.ParseTrailer(plain)
	if err != nil {
		p.Rx.CryptoStatus = ndis.CryptoInvalidPacketSyntax
		return nil, failed
	}
	a.State.NoteVerified(seq)
	o.counts.add(a.State, len(region))
	if nh == 4 || nh == 41 {
		a.State.NoteTunnel()
	}
	p.Rx.CryptoStatus = ndis.CryptoSuccess
	p.Rx.NextHeader, p.Rx.PadLength, p.Rx.HeaderInfoSet = nh, uint8(pad), true
	return payload, opened
}

// openAH checks the AH part of SA a over the IP datagram pkt, whose AH header is at ahOff
// (12 bytes of it at least: the classifier checked), and then, for an ESP+AH bundle, the ESP
// part after it. It returns the innermost payload: what follows AH for AH alone, the ESP
// plaintext for a bundle.
func (o *rxOpen) openAH(p *packet.Buffer, a *sa.SA, pkt []byte, ahOff int, inner bool) ([]byte, openResult) {
	h := a.AH
	seq, retry := uint64(binary.BigEndian.Uint32(pkt[ahOff+8:])), uint64(0)
	if h.ESN {
		seq, retry = esnInfer(h.State.SeqHi(), h.State.RxTop(), uint32(seq))
	}
	l, err := h.Transform.Verify(o.ah, pkt, uint32(seq>>32))
	if err == ah.ErrAuth && retry != 0 { // as for ESP: the second candidate before the first verified packet
		if l2, e := h.Transform.Verify(o.ah, pkt, uint32(retry>>32)); e == nil {
			seq, l, err = retry, l2, nil
		}
	}
	if err == ah.ErrFragment || err == ah.ErrUnsupported {
		// A datagram AH cannot be computed over here (R-RX-3): the part is not processed.
		if !inner {
			p.Rx = packet.RxInfo{}
			setSkip(p, SkipUnsupported)
		}
		return nil, unprocessed
	}
	if !inner {
		p.Rx.AHSeqHi = uint32(seq >> 32)
		if !a.HasESP() {
			p.Rx.SeqHi = p.Rx.AHSeqHi
		}
	}
	p.Rx.CryptoDone = true
	switch err {
	case nil:
	case ah.ErrAuth:
		h.State.AuthFailures.Add(1)
		p.Rx.CryptoStatus = ndis.CryptoTransportAHAuthFailed
		nh := pkt[ahOff]
		if !inner && (nh == 4 || nh == 41 || h.State.Tunnel() || (a.HasESP() && a.State.Tunnel())) {
			p.Rx.CryptoStatus = ndis.CryptoTunnelAHAuthFailed
		}
		return nil, failed
	case ah.ErrNotAH: // the header chain reaches no AH: not the protocol the SA is for
		p.Rx.CryptoStatus = ndis.CryptoInvalidProtocol
		return nil, failed
	case ah.ErrWiped:
		p.Rx.CryptoStatus = ndis.CryptoGenericError
		return nil, failed
	default: // ErrShort, ErrMalformed, ErrICVLength: the lengths do not add up
		p.Rx.CryptoStatus = ndis.CryptoInvalidPacketSyntax
		return nil, failed
	}
	h.State.NoteVerified(seq)
	o.counts.add(h.State, l.End-l.AH)
	if l.NextHeader == 4 || l.NextHeader == 41 {
		h.State.NoteTunnel()
	}
	if !a.HasESP() {
		p.Rx.CryptoStatus = ndis.CryptoSuccess
		p.Rx.NextHeader, p.Rx.PadLength, p.Rx.HeaderInfoSet = l.NextHeader, 0, true
		return pkt[l.Payload:l.End], opened
	}
	// The bundle's ESP part must follow AH directly, with the bundle's ESP SPI.
	switch {
	case l.NextHeader != ahNextESP:
		p.Rx.CryptoStatus = ndis.CryptoInvalidProtocol
		return nil, failed
	case l.End-l.Payload < esp.HeaderLen:
		p.Rx.CryptoStatus = ndis.CryptoInvalidPacketSyntax
		return nil, failed
	case esp.SPI(pkt[l.Payload:]) != a.SPI:
		p.Rx.CryptoStatus = ndis.CryptoInvalidProtocol
		return nil, failed
	}
	return o.open(p, a, pkt[l.Payload:l.End], inner)
}

// openInner handles tunnel + transport combined (R-RX-4): the decrypted inner IP packet
// carries ESP, or AH (alone or over ESP), for an inbound SA of its own.
func (o *rxOpen) openInner(tb *sa.Table, p *packet.Buffer, inner []byte) {
	l := rxparse.Parse(inner)
	if l.Fragment {
		return
	}
	dst := inner[l.DstOff : l.DstOff+l.DstLen]
	switch l.Kind {
	case rxparse.KindESP, rxparse.KindUDPESP:
		if l.Short {
			return
		}
		a := tb.LookupInbound(l.SPI, dst)
		if a == nil {
			return
		}
		p.Rx.NextCryptoDone = true
		if (l.Kind == rxparse.KindUDPESP) != (a.UdpEspEncapsulation != ndis.UDPEspNone) {
			p.Rx.CryptoStatus = ndis.CryptoInvalidProtocol
			p.Rx.HeaderInfoSet = false
			return
		}
		if _, res := o.open(p, a, inner[l.ESP:l.End], true); res != opened {
			p.Rx.HeaderInfoSet = false
		}
	case rxparse.KindAH:
		x := rxparse.ParseAH(inner, l)
		a := tb.LookupInboundAH(x.SPI, dst)
		if a == nil {
			return
		}
		if x.Invalid {
			p.Rx.NextCryptoDone = true
			p.Rx.CryptoStatus, p.Rx.HeaderInfoSet = ndis.CryptoInvalidPacketSyntax, false
			return
		}
		// Keep the outer part's verdict if the inner part turns out not processable.
		outer := p.Rx
		switch _, res := o.openAH(p, a, inner[:l.End], x.Off, true); res {
		case unprocessed:
			p.Rx = outer
		case failed:
			p.Rx.NextCryptoDone, p.Rx.HeaderInfoSet = true, false
		default:
			p.Rx.NextCryptoDone = true
		}
	}
}
