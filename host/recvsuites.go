package host

import (
	"encoding/binary"
	"errors"
	"net/netip"

	"github.com/ov2dev/ov2/antireplay"
	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/internal/inet"
	"github.com/ov2dev/ov2/internal/rxparse"
	"github.com/ov2dev/ov2/ndis"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/sa"
)

// The receive side of every suite: where the inner packet lies once the NIC has verified
// (and decrypted) a packet of any suite, an ESP+AH bundle or a tunnel + transport combined
// packet, and the anti-replay check of each part (R-RX-9).
//
// What the NIC leaves (R-RX-6): ESP of any suite is decrypted in place, IV room and all,
// with the trailer's next header and pad length in the header info; AH stays in the packet
// (NextHeader is AH's, PadLength 0); in a bundle ESP follows AH directly and the header
// info is ESP's. A combined packet (NextCryptoDone) is decrypted in place twice: the
// tunnel SA's part around the inner packet, and inside it the transport SA's, whose
// header info the NIC reports; the host finds the transport SA by the inner packet's SPI
// (the AH SPI for AH and bundles) and checks its windows as well as the tunnel SA's.

// inAH is the AH part of an inbound ESP+AH bundle: its own window and ESN high half.
type inAH struct {
	win   *antireplay.Window
	nicHi uint32
}

// partKey finds an inbound SA by the SPI of its outer header: ESP's, or AH's for an SA
// with AH (AH alone or a bundle), as the NIC does (sa.Table.LookupInboundAH).
type partKey struct {
	spi uint32
	ah  bool
}

func keyOf(c *SAConfig) partKey {
	if a := c.ahPart(); a != nil {
		return partKey{a.SPI, true}
	}
	return partKey{c.SPI, false}
}

// register sets up the parts after the first of a new inbound SA and indexes it for the
// inner part of combined packets. size is the receiver's window size.
func (r *Receiver) register(in *inSA, size int) error {
	if h := in.cfg.AH; in.cfg.Proto == ESP && h != nil {
		if h.ReplayWindow > 0 {
			size = max(h.ReplayWindow, 64)
		}
		win, err := antireplay.New(size, h.ESN)
		if err != nil {
			return err
		}
		win.Start(h.StartSeq)
		in.ah = &inAH{win: win, nicHi: h.seqHi(true)}
	}
	if r.parts == nil {
		r.parts = map[partKey]*inSA{}
	}
	if cap(r.checks) < 4 { // two parts outside, two inside a combined packet
		r.checks = make([]seqCheck, 0, 4)
	}
	r.parts[keyOf(&in.cfg)] = in
	return nil
}

// unregister forgets an inbound SA's index entry.
func (r *Receiver) unregister(in *inSA) {
	if k := keyOf(&in.cfg); r.parts[k] == in {
		delete(r.parts, k)
	}
}

// AddBundle offloads an inbound ESP+AH bundle (see Sender.AddBundle): espCfg with
// espCfg.AH = &ahCfg. The NIC finds it by the AH SPI; each part has its own anti-replay
// window.
func (r *Receiver) AddBundle(espCfg, ahCfg SAConfig, paired sa.Handle) (sa.Handle, error) {
	espCfg.AH = &ahCfg
	return r.AddSA(espCfg, paired)
}

// where is where what the host delivers lies in a verified frame.
type where struct {
	hdrOff, hdrLen int  // transport mode: the IP header to keep (hdrLen 0 in tunnel mode)
	start, end     int  // the payload: the inner packet (tunnel), the transport payload
	nh             byte // the payload's protocol
	v6             bool // the kept IP header is IPv6
	ext            bool // the kept IPv6 header has extension headers (not decapsulated)
}

// parts is where one SA's headers lie in a datagram.
type parts struct {
	hdr     int // the IP header (and IPv6 extension headers) in front of the IPsec headers
	esp, ah int // the ESP and AH headers; 0 for a part the SA does not have
	start   int // the protected payload: after the IV room, or after AH for AH alone
}

// partsOf finds SA c's headers in the datagram frame, Parse'd as l.
func partsOf(frame []byte, l *rxparse.Layout, c *SAConfig) (pt parts, ok bool) {
	pt.hdr = l.L4
	if c.ahPart() != nil {
		if l.Kind != rxparse.KindAH {
			return pt, false
		}
		x := rxparse.ParseAH(frame, *l)
		if x.Invalid {
			return pt, false
		}
		pt.ah = x.Off
		if !c.hasESP() {
			pt.start = x.Payload
			return pt, true
		}
		if x.NextHeader != inet.ProtoESP || x.Payload+esp.HeaderLen > l.End {
			return pt, false
		}
		pt.esp = x.Payload
	} else {
		if (l.Kind != rxparse.KindESP && l.Kind != rxparse.KindUDPESP) || l.Short {
			return pt, false
		}
		pt.esp = l.ESP
	}
	pt.start = pt.esp + esp.HeaderLen + c.Alg.IVLen()
	return pt, pt.start <= l.End
}

// seqCheck is one part's anti-replay check.
type seqCheck struct {
	in  *inSA
	win *antireplay.Window
	seq uint64
}

// seqsOf appends the checks of SA in's parts for a datagram laid out as pt: the high
// halves are the NIC's (espHi, ahHi) for the outer SA, inferred from the windows (infer)
// for the inner SA of a combined packet, which the NIC reports nothing about.
func seqsOf(dst []seqCheck, in *inSA, frame []byte, pt *parts, espHi, ahHi uint32, infer bool) []seqCheck {
	one := func(win *antireplay.Window, esn bool, lo uint32, hi uint32) seqCheck {
		s := uint64(lo)
		switch {
		case esn && infer:
			s = win.Infer(lo)
		case esn:
			s |= uint64(hi) << 32
		}
		return seqCheck{in: in, win: win, seq: s}
	}
	c := &in.cfg
	if c.hasESP() {
		dst = append(dst, one(in.win, c.ESN, esp.Seq(frame[pt.esp:]), espHi))
	}
	if a := c.ahPart(); a != nil {
		win := in.win
		if in.ah != nil {
			win = in.ah.win
		}
		dst = append(dst, one(win, a.ESN, binary.BigEndian.Uint32(frame[pt.ah+8:]), ahHi))
	}
	return dst
}

// accept finds where a verified packet of SA in delivers (into r.at), checks the sequence
// number of every part against its window, and only if all pass accepts them all and keeps
// the NIC told of each part's ESN high half. It returns Delivered, Replayed, TooOld, or
// Undecodable for a packet whose headers the host cannot find.
func (r *Receiver) accept(in *inSA, frame []byte, rx *packet.RxInfo, l *rxparse.Layout) Verdict {
	w := &r.at
	*w = where{}
	if !rx.HeaderInfoSet {
		return Undecodable
	}
	pt, ok := partsOf(frame, l, &in.cfg)
	if !ok {
		return Undecodable
	}
	checks := seqsOf(r.checks[:0], in, frame, &pt, rx.SeqHi, rx.AHSeqHi, false)
	if !rx.NextCryptoDone {
		end := l.End
		if in.cfg.hasESP() {
			end -= in.cfg.ICVLen + int(rx.PadLength) + esp.TrailerLen
		}
		if end < pt.start {
			return Undecodable
		}
		w.hdrLen, w.start, w.end, w.v6, w.ext = pt.hdr, pt.start, end, l.IPv6, l.IPv6ExtHeaders
	} else {
		// Tunnel + transport combined: the transport SA's packet is the tunnel's payload.
		base := pt.start
		inner := frame[base:l.End]
		il := rxparse.Parse(inner)
		if il.Fragment || il.Kind == rxparse.KindMalformed {
			return Undecodable
		}
		var k partKey
		switch il.Kind {
		case rxparse.KindESP, rxparse.KindUDPESP:
			k = partKey{il.SPI, false}
		case rxparse.KindAH:
			k = partKey{rxparse.ParseAH(inner, il).SPI, true}
		default:
			return Undecodable
		}
		tr := r.parts[k]
		if tr == nil || !dstIs(tr.cfg.Dst, inner[il.DstOff:il.DstOff+il.DstLen]) {
			return Undecodable // a transport SA this receiver did not add: nothing to check against
		}
		ipt, ok := partsOf(inner, &il, &tr.cfg)
		if !ok {
			return Undecodable
		}
		checks = seqsOf(checks, tr, inner, &ipt, 0, 0, true)
		end := il.End
		if tr.cfg.hasESP() {
			end -= tr.cfg.ICVLen + int(rx.PadLength) + esp.TrailerLen
		}
		if end < ipt.start {
			return Undecodable
		}
		w.hdrOff, w.hdrLen, w.start, w.end = base, ipt.hdr, base+ipt.start, base+end
		w.v6, w.ext = il.IPv6, il.IPv6ExtHeaders
	}
	w.nh = rx.NextHeader
	if w.nh == inet.ProtoIPv4 || w.nh == inet.ProtoIPv6 {
		w.hdrLen = 0
	}
	r.checks = checks[:0]
	for _, c := range checks {
		switch err := c.win.Check(c.seq); {
		case errors.Is(err, antireplay.ErrReplay):
			c.in.stats.Replayed++
			return Replayed
		case errors.Is(err, antireplay.ErrTooOld):
			c.in.stats.TooOld++
			return TooOld
		}
	}
	for _, c := range checks {
		c.win.Accept(c.seq)
	}
	in.stats.Status[ndis.CryptoSuccess]++
	r.keepUp(in)
	if len(checks) > 0 && checks[len(checks)-1].in != in {
		r.keepUp(checks[len(checks)-1].in)
	}
	return Delivered
}

// keepUp tells the NIC each part's new high half once its window's top has moved into it,
// so the NIC's inference reference keeps up (R-RX-8, R-SA-6).
func (r *Receiver) keepUp(in *inSA) {
	if in.cfg.ESN {
		if hi := uint32(in.win.Top() >> 32); hi > in.nicHi {
			r.update(in, hi)
		}
	}
	if p := in.ah; p != nil && in.cfg.AH.ESN {
		if hi := uint32(p.win.Top() >> 32); hi > p.nicHi {
			u := &sa.Update{OffloadHandle: in.handle, Operation: ndis.OpAH, Spi: in.cfg.AH.SPI, SequenceNumberHighOrder: hi}
			if st, _ := r.nic.OIDUpdateSA(u); st == ndis.StatusSuccess {
				p.nicHi = hi
				in.stats.Updates++
			}
		}
	}
}

// dstIs reports whether the SA's destination a is the address b (or a wildcard).
func dstIs(a netip.Addr, b []byte) bool {
	switch {
	case !a.IsValid() || a.IsUnspecified():
		return true
	case len(b) == 4:
		return a == netip.AddrFrom4([4]byte(b))
	case len(b) == 16:
		return a == netip.AddrFrom16([16]byte(b))
	}
	return false
}

// decap appends what the host delivers of a verified packet laid out as w: the inner IP
// packet (tunnel mode), or the kept IP header, its length and protocol rewritten, followed
// by the payload (transport mode).
func decap(frame []byte, w *where, dst []byte) ([]byte, bool) {
	payload := frame[w.start:w.end]
	if w.hdrLen == 0 {
		return append(dst, payload...), true
	}
	if w.ext {
		return dst, false
	}
	n := len(dst)
	dst = append(dst, frame[w.hdrOff:w.hdrOff+w.hdrLen]...)
	dst = append(dst, payload...)
	fixHeader(dst[n:], w.hdrLen, w.nh, w.v6)
	return dst, true
}

// decapInPlace is decap done in the buffer: it returns the inner packet's length.
func decapInPlace(p *packet.Buffer, w *where) (int, bool) {
	frame := p.Bytes()
	if w.hdrLen == 0 {
		p.SetLen(w.end)
		p.TrimFront(w.start)
		return w.end - w.start, true
	}
	if w.ext {
		return 0, false
	}
	copy(frame[w.start-w.hdrLen:w.start], frame[w.hdrOff:w.hdrOff+w.hdrLen])
	p.SetLen(w.end)
	p.TrimFront(w.start - w.hdrLen)
	h := p.Bytes()
	fixHeader(h, w.hdrLen, w.nh, w.v6)
	return len(h), true
}

// fixHeader rewrites the length and protocol of a transport packet's kept IP header.
func fixHeader(h []byte, hdr int, nh byte, v6 bool) {
	if v6 {
		binary.BigEndian.PutUint16(h[4:], uint16(len(h)-40))
		h[6] = nh
		return
	}
	binary.BigEndian.PutUint16(h[2:], uint16(len(h)))
	h[9] = nh
	putIPv4Checksum(h[:hdr])
}
