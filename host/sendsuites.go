package host

import (
	"encoding/binary"
	"fmt"

	"github.com/ov2dev/ov2/ah"
	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/internal/inet"
	"github.com/ov2dev/ov2/ndis"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/sa"
)

// The send side of every suite: which protocols an SA needs enabled, the sequence numbers
// of each part, and the framing (R-TX-4) of ESP of any suite, AH, an ESP+AH bundle and a
// tunnel + transport combined packet (R-TX-5).

// outAH is the AH part of an outbound ESP+AH bundle: its own counter and ESN high half.
type outAH struct {
	next  uint64
	nicHi uint32
}

// initParts sets up the counters of the parts after the first (called by AddSA).
func (o *outSA) initParts() {
	if h := o.cfg.AH; o.cfg.Proto == ESP && h != nil {
		o.ah = &outAH{next: h.StartSeq, nicHi: uint32(h.StartSeq >> 32)}
	}
}

// allowed checks that the current configuration enables every protocol o needs for its IP
// version (R-TX-1): the host does not frame a packet the NIC would send in clear.
func (s *Sender) allowed(o *outSA) error {
	cc := s.nic.CurrentConfig()
	v6 := o.cfg.Src.Is6()
	if o.cfg.hasESP() && !cc.ESPAllowed(v6) {
		return fmt.Errorf("%w: SPI 0x%08x", ErrOffloadDisabled, o.cfg.SPI)
	}
	if a := o.cfg.ahPart(); a != nil && !cc.AHAllowed(v6) {
		return fmt.Errorf("%w: AH SPI 0x%08x", ErrOffloadDisabled, a.SPI)
	}
	return nil
}

// reserve returns the first sequence number of each part for a packet that uses units
// numbers (an LSO send, one per segment), after checking that neither space runs out
// (R-TX-8) and moving the NIC's high halves where they must be. ahSeq is 0 without a
// bundle's AH part (for AH alone the AH number is seq). commit then consumes them.
func (s *Sender) reserve(o *outSA, units uint64) (seq, ahSeq uint64, err error) {
	seq = o.next
	last := seq + units - 1
	if last < seq || (!o.cfg.ESN && last > 1<<32-1) {
		return 0, 0, fmt.Errorf("%w: SPI 0x%08x at sequence %d", ErrSeqExhausted, o.cfg.SPI, seq)
	}
	if p := o.ah; p != nil {
		ahSeq = p.next
		if l := ahSeq + units - 1; l < ahSeq || (!o.cfg.AH.ESN && l > 1<<32-1) {
			return 0, 0, fmt.Errorf("%w: AH SPI 0x%08x at sequence %d", ErrSeqExhausted, o.cfg.AH.SPI, ahSeq)
		}
	}
	if hi := uint32(seq >> 32); hi != o.nicHi {
		if err := s.updateHigh(o, hi); err != nil {
			return 0, 0, err
		}
	}
	if p := o.ah; p != nil {
		if hi := uint32(ahSeq >> 32); hi != p.nicHi {
			if err := s.updatePart(o.handle, ndis.OpAH, o.cfg.AH.SPI, hi); err != nil {
				return 0, 0, err
			}
			p.nicHi = hi
		}
	}
	return seq, ahSeq, nil
}

// commit consumes units sequence numbers of each part of o.
func (s *Sender) commit(o *outSA, units uint64) {
	o.next += units
	if o.ah != nil {
		o.ah.next += units
	}
}

// updatePart drains the send path and issues UPDATE_SA for one part of an SA (see the
// package documentation: the high half changes only at a quiet moment).
func (s *Sender) updatePart(h sa.Handle, op ndis.Operation, spi, hi uint32) error {
	s.drain()
	u := &sa.Update{OffloadHandle: h, Operation: op, Spi: spi, SequenceNumberHighOrder: hi}
	if st, err := s.nic.OIDUpdateSA(u); st != ndis.StatusSuccess {
		return fmt.Errorf("host: UPDATE_SA for %v SPI 0x%08x: %v: %w", op, spi, st, err)
	}
	s.updates.Add(1)
	return nil
}

// AddBundle offloads an outbound ESP+AH bundle (ADD_SA with NumExtHdrs 2: ESP, then AH
// over it) and puts it in the policy like AddSA: espCfg with espCfg.AH = &ahCfg.
func (s *Sender) AddBundle(espCfg, ahCfg SAConfig) (sa.Handle, error) {
	espCfg.AH = &ahCfg
	return s.AddSA(espCfg)
}

// layout is where a framed packet's parts go, from its first byte.
type layout struct {
	n            int // the whole packet
	hdr          int // the IP header: the packet's own (transport), the outer one (tunnel)
	ahOff, ahLen int // the AH header; 0 without AH
	espOff       int // the ESP header; 0 without ESP
	body         int // the payload: after the IV room (ESP) or after AH (AH alone)
	pad          int // ESP padding (no trailer in a large send)
}

// layoutOf lays out a packet of SA c around a payload of plen bytes behind an IP header of
// hdr bytes (IP version v6): mss > 0 is a large send, framed without trailer and ICV room
// (R-TX-6).
//
//	IP | [AH] | [UDP] | [ESP | IV room] | payload | [padding | pad length | next header | ICV room]
func layoutOf(c *SAConfig, hdr, plen int, v6 bool, mss int) layout {
	l := layout{hdr: hdr}
	off := hdr
	if a := c.ahPart(); a != nil {
		l.ahOff, l.ahLen = off, a.ahLen(v6)
		off += l.ahLen
	}
	if c.NATT {
		off += 8
	}
	if !c.hasESP() {
		l.body, l.n = off, off+plen
		return l
	}
	l.espOff = off
	l.body = off + esp.HeaderLen + c.Alg.IVLen()
	l.n = l.body + plen
	if mss == 0 {
		l.pad = c.Alg.PadLen(plen)
		l.n += l.pad + esp.TrailerLen + c.ICVLen
	}
	return l
}

// put writes into f (len(f) >= l.n) the packet of SA c laid out as l: the IP header (hdr,
// rewritten, in transport mode; a new outer header in tunnel mode), AH written with
// ah.PutHeader (IV, ICV and padding zero: the NIC fills them), the UDP header of NAT-T, the
// ESP header with zero IV room, the payload, and the trailer with zero ICV room. payload
// may already lie at f[l.body:]: the copy then changes nothing. nh is the payload's
// protocol (4 or 41 in tunnel mode).
func (s *Sender) put(f []byte, c *SAConfig, l *layout, hdr, payload []byte, nh byte, seq, ahSeq uint64, mss int) {
	proto := byte(inet.ProtoESP)
	switch {
	case c.ahPart() != nil:
		proto = inet.ProtoAH
	case c.NATT:
		proto = inet.ProtoUDP
	}
	if c.Mode == Tunnel {
		s.outerHeader(f[:l.hdr], c, proto, l.n)
	} else {
		copy(f, hdr)
		setIPLengthProto(f, l.n, proto)
	}
	if a := c.ahPart(); a != nil {
		ahNH, n := nh, ahSeq
		if c.hasESP() {
			ahNH = inet.ProtoESP
		} else {
			n = seq
		}
		ah.PutHeader(f[l.ahOff:], ahNH, l.ahLen, a.SPI, uint32(n))
	}
	if !c.hasESP() {
		copy(f[l.body:], payload)
		return
	}
	if c.NATT {
		u := f[l.espOff-8 : l.espOff]
		binary.BigEndian.PutUint16(u[0:], c.SPort)
		binary.BigEndian.PutUint16(u[2:], c.DPort)
		binary.BigEndian.PutUint16(u[4:], uint16(l.n-l.espOff+8))
		binary.BigEndian.PutUint16(u[6:], 0) // RFC 3948: 0 over IPv4; the NIC fills it over IPv6
	}
	esp.PutHeader(f[l.espOff:], c.SPI, uint32(seq))
	clear(f[l.espOff+esp.HeaderLen : l.body])
	copy(f[l.body:], payload)
	if mss > 0 {
		return
	}
	t := l.body + len(payload)
	esp.AppendTrailer(f[t:t], l.pad, nh)
	clear(f[l.n-c.ICVLen : l.n])
}

// setTx writes the send OOB for a packet of SA c laid out as l at offset base of the frame.
func setTx(tx *packet.TxInfo, c *SAConfig, l *layout, base int, nh byte, mss int) {
	if l.ahOff != 0 {
		tx.AhHeaderOffset = uint8((base + l.ahOff) / 4)
	}
	if l.espOff != 0 {
		tx.EspHeaderOffset = uint8((base + l.espOff) / 4)
		tx.NextHeader = nh
	} else {
		tx.NextHeader = 0 // AH alone: no ESP trailer to describe
	}
	if mss > 0 {
		tx.MSS = uint32(mss)
	} else {
		tx.PadLength = uint8(l.pad)
	}
}

// payloadOf is what SA c protects of a plain packet: the whole packet and next header 4 or
// 41 in tunnel mode; after the IP header, with its protocol, in transport mode.
func payloadOf(c *SAConfig, ip []byte, in *inner) (hdr, payload []byte, nh byte, err error) {
	if c.Mode == Tunnel {
		nh = inet.ProtoIPv4
		if in.v6 {
			nh = inet.ProtoIPv6
		}
		return nil, ip, nh, nil
	}
	if in.v6 && inet.IsIPv6ExtensionHeader(in.proto) { // ESP and AH go directly after the fixed header
		return nil, nil, 0, fmt.Errorf("%w: IPv6 extension header %d before the transport payload", ErrUnsupported, in.proto)
	}
	if in.v6 != c.Src.Is6() {
		return nil, nil, 0, fmt.Errorf("%w: transport SA 0x%08x is %v, packet is not", ErrUnsupported, c.SPI, familyName(c.Src))
	}
	return ip[:in.hdrLen], ip[in.hdrLen:], in.proto, nil
}

// fits checks a framed length against the buffer and the IP length field.
func fits(b *packet.Buffer, n int, v6 bool) error {
	if n > b.Cap() || (!v6 && n > 0xffff) || (v6 && n-40 > 0xffff) {
		return fmt.Errorf("%w: %d bytes framed", ErrTooBig, n)
	}
	return nil
}

// SendCombined frames ip for tunnel + transport combined (R-TX-5): first for the transport
// SA (its own ESP, AH or both, in transport mode), then the result inside the tunnel SA
// (tunnel mode), and hands both handles to the NIC, which seals the transport part first.
// The OOB offsets name the transport SA's headers inside the inner packet. A large send
// is not offered combined.
func (s *Sender) SendCombined(transport, tunnel sa.Handle, ip []byte, cookie uint64) error {
	o, t := s.byH[transport], s.byH[tunnel]
	switch {
	case o == nil:
		return fmt.Errorf("%w: handle %v", ErrNoSA, transport)
	case t == nil:
		return fmt.Errorf("%w: handle %v", ErrNoSA, tunnel)
	case o.cfg.Mode != Transport || t.cfg.Mode != Tunnel || t.cfg.NATT:
		return fmt.Errorf("%w: combined needs a transport SA inside a tunnel SA without NAT-T", ErrUnsupported)
	}
	in, err := parseInner(ip)
	if err != nil {
		return err
	}
	if err := s.allowed(o); err != nil {
		return err
	}
	if err := s.allowed(t); err != nil {
		return err
	}
	hdr, payload, nh, err := payloadOf(&o.cfg, ip, &in)
	if err != nil {
		return err
	}
	seq, ahSeq, err := s.reserve(o, 1)
	if err != nil {
		return err
	}
	tseq, tahSeq, err := s.reserve(t, 1)
	if err != nil {
		return err
	}
	li := layoutOf(&o.cfg, in.hdrLen, len(payload), in.v6, 0)
	outer := 20
	if t.cfg.Src.Is6() {
		outer = 40
	}
	lo := layoutOf(&t.cfg, outer, li.n, t.cfg.Src.Is6(), 0)
	b := s.getSmall()
	if err := fits(b, lo.n, t.cfg.Src.Is6()); err != nil {
		b.Release()
		return err
	}
	if err := fits(b, li.n, in.v6); err != nil {
		b.Release()
		return err
	}
	f := b.Append(lo.n)
	s.put(f[lo.body:lo.body+li.n], &o.cfg, &li, hdr, payload, nh, seq, ahSeq, 0)
	tnh := byte(inet.ProtoIPv4)
	if in.v6 {
		tnh = inet.ProtoIPv6
	}
	s.put(f, &t.cfg, &lo, nil, f[lo.body:lo.body+li.n], tnh, tseq, tahSeq, 0)
	setTx(&b.Tx, &o.cfg, &li, lo.body, nh, 0)
	b.Tx.OffloadHandle, b.Tx.TunnelHandle = uint64(o.handle), uint64(t.handle)
	s.commit(o, 1)
	s.commit(t, 1)
	b.Cookie = cookie
	s.queue(b)
	return nil
}
