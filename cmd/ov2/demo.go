package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/ndis"
	"github.com/ov2dev/ov2/nic"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/sa"
)

// The built-in round trip: one host offloads an AES-GCM-128 ESN SA pair and an AES-GMAC SA
// pair (outbound and inbound with the same keys, so the NIC talks to itself), frames ESP
// transport packets, seals each with its outbound SA (looked up by handle), opens it with
// the inbound SA (looked up by SPI and destination), and compares the inner packet with
// what it sent. The ESN stream starts 64 packets below 2^32, so the run crosses into the
// high half and the host issues UPDATE_SA for both SAs at the crossing.

var (
	demoSrc = netip.MustParseAddr("192.0.2.1")
	demoDst = netip.MustParseAddr("198.51.100.2")
)

type demoFlow struct {
	name    string
	out, in sa.Handle
	spi     uint32
	seq     uint64 // next 64-bit sequence number
	esn     bool
}

type report struct {
	impl                        string
	flows                       []*demoFlow
	sent, opened, bytes         uint64
	mismatched, failed, updates uint64
	sizes                       []int
	elapsed                     time.Duration
	cryptoTime                  time.Duration
	bindConfig                  nic.CurrentConfig
	deleted                     int
	firstSeqHi, lastSeqHi       uint32
}

func demoBundle(inbound bool, spi uint32, gmac, esn bool, seqHi uint32) *nic.AddSA {
	key := make([]byte, 20)
	for i := range key {
		key[i] = byte(spi>>uint(i%4*8)) ^ byte(0x5a+i*7)
	}
	s := sa.SecAssoc{Operation: ndis.OpESP, Spi: spi, SequenceNumberHighOrder: seqHi}
	if gmac {
		s.EncryptionAlgorithm = sa.Algorithm{Identifier: ndis.EncNone}
		s.AuthenticationAlgorithm = sa.Algorithm{Identifier: ndis.AuthAESGCM128, KeyLength: 20}
	} else {
		s.EncryptionAlgorithm = sa.Algorithm{Identifier: ndis.EncAESGCM128, KeyLength: 20}
		s.AuthenticationAlgorithm = sa.Algorithm{Identifier: ndis.AuthAESGCM128}
	}
	if esn {
		s.Flags = ndis.SAFlagESN
	}
	b := sa.Bundle{Src: demoSrc, Dst: demoDst, NumExtHdrs: 1, SecAssoc: [2]sa.SecAssoc{s}, KeyData: key}
	if inbound {
		b.Flags = ndis.SAInbound
	}
	return &nic.AddSA{Bundle: b}
}

type demoHost struct{ indications int }

func (h *demoHost) Status(nic.StatusIndication) { h.indications++ }

func roundTrip(cfg nic.Config, count int) (*report, error) {
	n, err := nic.New(cfg)
	if err != nil {
		return nil, err
	}
	defer n.Close()
	host := &demoHost{}
	_, bp, err := n.Bind(host)
	if err != nil {
		return nil, err
	}
	if !bp.DefaultOffloadConfiguration.ESPAllowed(false) {
		return nil, fmt.Errorf("the NIC's current configuration does not allow ESP for IPv4 (*IPsecOffloadV2 / *IPsecOffloadV2IPv4)")
	}
	gcm := &demoFlow{name: "AES-GCM-128 ESN", spi: 0x1001, seq: 1<<32 - 64, esn: true}
	gmac := &demoFlow{name: "AES-GMAC-128", spi: 0x2001, seq: 1}
	list := []*nic.AddSA{
		demoBundle(false, gcm.spi, false, true, uint32(gcm.seq>>32)),
		demoBundle(true, gcm.spi, false, true, uint32(gcm.seq>>32)),
		demoBundle(false, gmac.spi, true, false, 0),
		demoBundle(true, gmac.spi, true, false, 0),
	}
	for i := 0; i+1 < len(list); i++ {
		list[i].Next = list[i+1]
	}
	if st, err := n.OIDAddSA(list[0]); st != ndis.StatusSuccess {
		return nil, fmt.Errorf("ADD_SA: %v: %w", st, err)
	}
	for _, x := range list {
		if x.Err != nil {
			return nil, fmt.Errorf("ADD_SA: SPI 0x%x: %w", x.SecAssoc[0].Spi, x.Err)
		}
	}
	gcm.out, gcm.in = list[0].OffloadHandle, list[1].OffloadHandle
	gmac.out, gmac.in = list[2].OffloadHandle, list[3].OffloadHandle

	rep := &report{flows: []*demoFlow{gcm, gmac}, bindConfig: bp.DefaultOffloadConfiguration,
		sizes: []int{64, 576, 1400}, firstSeqHi: uint32(gcm.seq >> 32)}
	pool := packet.NewPool(2048)
	reader := n.Controller().NewReader()
	defer reader.Close()
	var scratch = new(esp.Scratch)
	orig := make([]byte, 2048)
	dst4 := demoDst.As4()

	for i := 0; i < count; i++ {
		f := rep.flows[i%2]
		size := rep.sizes[i%3]
		// The host's ESN duty: when the low half wraps, tell the NIC the new high half
		// for both directions before using it (R-SA-6).
		if f.esn && uint32(f.seq) == 0 {
			for _, h := range []sa.Handle{f.out, f.in} {
				u := &sa.Update{OffloadHandle: h, Operation: ndis.OpESP, Spi: f.spi, SequenceNumberHighOrder: uint32(f.seq >> 32)}
				if st, err := n.OIDUpdateSA(u); st != ndis.StatusSuccess {
					return nil, fmt.Errorf("UPDATE_SA: %v: %w", st, err)
				}
				rep.updates++
			}
		}
		b := pool.Get()
		inner := makeInner(orig[:size-20-espOverhead(size)], uint32(i))
		frame(b, f.spi, uint32(f.seq), inner)
		b.Tx.OffloadHandle = uint64(f.out)
		f.seq++

		t0 := time.Now()
		tb := reader.Begin()
		ok := sendOne(tb, scratch, b) && receiveOne(tb, scratch, b, dst4[:])
		reader.End()
		rep.cryptoTime += time.Since(t0)
		rep.sent++
		if !ok {
			rep.failed++
		} else if got := b.Bytes()[20:]; !bytes.Equal(got, inner) {
			rep.mismatched++
		} else {
			rep.opened++
			rep.bytes += uint64(size)
		}
		b.Release()
	}
	rep.lastSeqHi = n.Controller().Snapshot().Lookup(gcm.in).State.SeqHi()
	rep.impl = n.Controller().Snapshot().Lookup(gcm.out).Transform.Impl()
	del := &nic.DeleteSA{OffloadHandle: gcm.out, Next: &nic.DeleteSA{OffloadHandle: gcm.in,
		Next: &nic.DeleteSA{OffloadHandle: gmac.out, Next: &nic.DeleteSA{OffloadHandle: gmac.in}}}}
	if st, err := n.OIDDeleteSA(del); st != ndis.StatusSuccess {
		return nil, fmt.Errorf("DELETE_SA: %v: %w", st, err)
	}
	rep.deleted = 4
	return rep, nil
}

// espOverhead is what ESP adds to an inner packet in this demo, so that the outer packet
// has the requested size: header and IV, trailer with padding, and the 16-byte ICV.
func espOverhead(outer int) int {
	payload := outer - 20 - esp.HeaderLen - esp.IVLen - esp.MaxICVLen - esp.TrailerLen
	payload -= payload % 4 // the largest inner size whose padded trailer still fits
	return outer - 20 - payload
}

// makeInner writes a UDP datagram of len(b) bytes numbered n.
func makeInner(b []byte, n uint32) []byte {
	binary.BigEndian.PutUint16(b[0:], 4500+uint16(n%7))
	binary.BigEndian.PutUint16(b[2:], 9)
	binary.BigEndian.PutUint16(b[4:], uint16(len(b)))
	binary.BigEndian.PutUint16(b[6:], 0)
	for i := 8; i < len(b); i++ {
		b[i] = byte(n) + byte(i)
	}
	return b
}

// frame is the host's ESP framing for transport mode: IPv4 header (protocol 50), ESP
// header with SPI and the low half of the sequence number, 8 bytes reserved for the IV,
// the inner datagram, RFC 4303 padding, pad length and next header 17 (UDP). The NIC
// writes the IV and the ICV (R-TX-4).
func frame(b *packet.Buffer, spi, seqLo uint32, inner []byte) {
	pad := esp.PadLen(len(inner))
	n := 20 + esp.HeaderLen + esp.IVLen + len(inner)
	p := b.Append(n)
	ip := p[:20]
	ip[0], ip[1] = 0x45, 0
	binary.BigEndian.PutUint16(ip[2:], uint16(n+pad+esp.TrailerLen+esp.MaxICVLen))
	binary.BigEndian.PutUint32(ip[4:], 0)
	ip[8], ip[9] = 64, 50
	src, dst := demoSrc.As4(), demoDst.As4()
	copy(ip[12:], src[:])
	copy(ip[16:], dst[:])
	binary.BigEndian.PutUint16(ip[10:], ipChecksum(ip))
	esp.PutHeader(p[20:], spi, seqLo)
	copy(p[20+esp.HeaderLen+esp.IVLen:], inner)
	esp.AppendTrailer(b.Append(pad + esp.TrailerLen)[:0], pad, 17)
	b.Tx.EspHeaderOffset = 20 / 4
}

func ipChecksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		if i == 10 {
			continue
		}
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// sendOne is the NIC's send side for one framed packet: SA by handle, IV = 64-bit sequence
// number, seal in place.
func sendOne(tb *sa.Table, s *esp.Scratch, b *packet.Buffer) bool {
	a := tb.Lookup(sa.Handle(b.Tx.OffloadHandle))
	if a == nil {
		b.Tx.Status = ndis.StatusFailure
		return false
	}
	off := int(b.Tx.EspHeaderOffset) * 4
	pkt := b.Bytes()[off:]
	seq := uint64(a.State.SeqHi())<<32 | uint64(esp.Seq(pkt))
	esp.PutIV(pkt, seq)
	out, err := a.Transform.Seal(s, pkt, a.State.SeqHi())
	if err != nil {
		b.Tx.Status = ndis.StatusFailure
		return false
	}
	b.Append(len(out) - len(pkt))
	return true
}

// receiveOne is the NIC's receive side plus the host's decapsulation: SA by SPI and
// destination, open in place, check the trailer, and leave IPv4 header + inner datagram.
func receiveOne(tb *sa.Table, s *esp.Scratch, b *packet.Buffer, dst []byte) bool {
	p := b.Bytes()
	if !bytes.Equal(p[16:20], dst) || p[9] != 50 {
		return false
	}
	pkt := p[20:]
	a := tb.LookupInbound(esp.SPI(pkt), p[16:20])
	if a == nil {
		return false
	}
	plain, err := a.Transform.Open(s, pkt, a.State.SeqHi())
	if err != nil {
		b.Rx.CryptoDone, b.Rx.CryptoStatus = true, ndis.CryptoTransportESPAuthFailed
		return false
	}
	payload, padLen, next, err := esp.ParseTrailer(plain)
	if err != nil {
		b.Rx.CryptoDone, b.Rx.CryptoStatus = true, ndis.CryptoInvalidPacketSyntax
		return false
	}
	b.Rx.CryptoDone, b.Rx.HeaderInfoSet = true, true
	b.Rx.NextHeader, b.Rx.PadLength = next, uint8(padLen)
	// Move the inner datagram up against the IPv4 header and cut the rest.
	copy(p[20:], payload)
	b.SetLen(20 + len(payload))
	return true
}

func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "ov2 replay: built-in round trip (no input given)\n")
	fmt.Fprintf(w, "  NIC current config at bind: ESP IPv4=%v IPv6=%v, capacity %d SAs\n",
		r.bindConfig.ESPAllowed(false), r.bindConfig.ESPAllowed(true), r.bindConfig.IPsecV2.SaOffloadCapacity)
	fmt.Fprintf(w, "  crypto implementation: %s\n", r.impl)
	for _, f := range r.flows {
		fmt.Fprintf(w, "  SA %-16s SPI 0x%08x  out handle %v  in handle %v\n", f.name, f.spi, f.out, f.in)
	}
	fmt.Fprintf(w, "  ESN: high half %d -> %d, %d UPDATE_SA requests\n", r.firstSeqHi, r.lastSeqHi, r.updates)
	fmt.Fprintf(w, "  packets: %d sent, %d opened and equal, %d differ, %d failed (sizes %v bytes)\n",
		r.sent, r.opened, r.mismatched, r.failed, r.sizes)
	secs := r.cryptoTime.Seconds()
	if secs > 0 {
		fmt.Fprintf(w, "  seal+open: %.3f Mpps, %.2f Gbit/s on one core (%.2fs total run)\n",
			float64(r.sent)/secs/1e6, float64(r.bytes)*8/secs/1e9, r.elapsed.Seconds())
	}
	fmt.Fprintf(w, "  DELETE_SA: %d SAs deleted, keys zeroed\n", r.deleted)
	if r.mismatched == 0 && r.failed == 0 {
		fmt.Fprintf(w, "round trip: OK (%d/%d packets)\n", r.opened, r.sent)
	} else {
		fmt.Fprintf(w, "round trip: FAILED (%d/%d packets)\n", r.opened, r.sent)
	}
}
