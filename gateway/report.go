package gateway

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/host"
	"github.com/ov2dev/ov2/internal/counts"
	"github.com/ov2dev/ov2/live"
	"github.com/ov2dev/ov2/ndis"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/stage"
)

// Direction is what came in on one interface and what became of it.
type Direction struct {
	From string `json:"from"`
	To   string `json:"to"`
	// Received is every frame taken from the interface's receive rings.
	Received Counter `json:"received"`
	// In is the IP packets handed to the NIC (to seal, or to open), and Out what the NIC
	// and the host gave back to send: sealed packets, or decrypted inner packets.
	In  Counter `json:"in"`
	Out Counter `json:"out"`
	// Bridged is the frames passed to the other side unchanged (BridgedIP the IP ones
	// among them: traffic for no SA).
	Bridged   Counter `json:"bridged"`
	BridgedIP Counter `json:"bridged_ip"`
	// BridgedAggregates is the TCP and UDP aggregates (longer than the MTU) among
	// BridgedIP, sent for the kernel to cut into segments.
	BridgedAggregates Counter `json:"bridged_aggregates"`
	// ICMP is the packets too big once sealed that were answered with an ICMP error (the
	// bytes are theirs); Fragmented the IPv4 packets without DF cut into Fragments
	// fragments before sealing.
	ICMP       Counter `json:"icmp_errors"`
	Fragmented Counter `json:"fragmented"`
	Fragments  uint64  `json:"fragments"`
	// Segmented is the aggregates (GSO/GRO frames longer than the MTU) among In that the
	// NIC cut into Segments segments (LSO + IPsec); encrypt direction only.
	Segmented Counter `json:"segmented"`
	Segments  uint64  `json:"segments"`
	// UDPSplit is the UDP aggregates (UDP_SEGMENT) for an SA cut into Datagrams datagrams,
	// each then handed to the NIC; encrypt direction only.
	UDPSplit  Counter `json:"udp_split"`
	Datagrams uint64  `json:"datagrams"`
	// Coalesced is the packets among Out sent as parts of Aggregates aggregates (decrypt
	// direction): consecutive TCP segments of one flow, one send each, cut back into the
	// same segments by the kernel. Each aggregate is one frame in Sent.
	Coalesced  Counter `json:"coalesced"`
	Aggregates uint64  `json:"aggregates"`
	// Sent is what the sockets sending on this direction's account (to the other
	// interface, and for the encrypt direction the ICMP errors back) had the kernel take;
	// Refused the frames the interface refused with a hard error.
	Sent    Counter `json:"sent"`
	Batches uint64  `json:"batches"` // sendmmsg calls that sent at least one of them
	Refused uint64  `json:"refused"`
	// RingDrops are the frames the kernel dropped because the receive rings were full;
	// LeftInRings the frames still in them when the gateway stopped.
	RingDrops   uint64 `json:"ring_drops"`
	LeftInRings uint64 `json:"left_in_rings"`
}

// SAReport is one SA's line.
type SAReport struct {
	Dir      string `json:"dir"` // "out" or "in"
	SPI      uint32 `json:"spi"`
	Src      string `json:"src"`
	Dst      string `json:"dst"`
	Mode     string `json:"mode,omitempty"`
	Lane     int    `json:"lane"`
	Where    string `json:"where"` // file:line
	Packets  uint64 `json:"packets"`
	Bytes    uint64 `json:"bytes"`
	NextSeq  uint64 `json:"next_seq,omitempty"`
	Replayed uint64 `json:"replayed,omitempty"`
	TooOld   uint64 `json:"too_old,omitempty"`
	// CryptoStatus counts, for an inbound SA, the NIC's results.
	CryptoStatus map[string]uint64 `json:"crypto_status,omitempty"`
}

// Report is what a gateway did: the form of `ov2 replay`'s report, per direction, per SA,
// CryptoStatus, drops by reason. Every frame received is accounted for: handed to the NIC,
// bridged, answered with an ICMP error, fragmented, or dropped with a reason.
type Report struct {
	Inside  string  `json:"inside"`
	Outside string  `json:"outside"`
	Lanes   int     `json:"lanes"`
	Elapsed float64 `json:"elapsed_s"`
	Crypto  string  `json:"crypto"`
	CPU     string  `json:"cpu_features"`
	SAs     struct {
		Outbound int `json:"outbound"`
		Inbound  int `json:"inbound"`
	} `json:"sas"`
	Encrypt      Direction         `json:"encrypt"` // inside to outside
	Decrypt      Direction         `json:"decrypt"` // outside to inside
	PerSA        []SAReport        `json:"per_sa"`
	CryptoStatus map[string]uint64 `json:"crypto_status"`
	Drops        map[string]uint64 `json:"drops"`
	Updates      uint64            `json:"update_sa"`
	Reloads      uint64            `json:"reloads"`
	ReloadErrors uint64            `json:"reload_errors"`
	// Running says the figures are a snapshot of a gateway still forwarding: they move,
	// and Balanced is checked only once it has stopped.
	Running  bool `json:"running"`
	Balanced bool `json:"balanced"`
}

// Received returns how many frames the gateway has taken from the inside and the outside
// receive rings so far. Unlike Report it does not allocate.
func (g *Gateway) Received() (inside, outside uint64) {
	return g.in.received.packets.Load(), g.out.received.packets.Load()
}

// Report returns the figures so far; after Run has returned they are final and Balanced
// says whether the books balance.
func (g *Gateway) Report() *Report {
	st := g.fp.Stats()
	r := &Report{Inside: g.cfg.Inside, Outside: g.cfg.Outside, Lanes: len(g.lanes),
		Crypto: strings.Join(g.fp.CryptoImpls(), ", "), CPU: esp.CPUFeatures().String(),
		CryptoStatus: map[string]uint64{}, Drops: map[string]uint64{},
		Updates: st.Updates, Reloads: g.reloads.Load(), ReloadErrors: g.reloadErrs.Load()}
	r.Running = g.ran.Load() && g.elapsed.Load() == 0
	if el := g.elapsed.Load(); el > 0 {
		r.Elapsed = time.Duration(el).Seconds()
	} else if ns := g.started.Load(); ns != 0 {
		r.Elapsed = time.Since(time.Unix(0, ns)).Seconds()
	}
	r.SAs.Outbound, r.SAs.Inbound = len(st.Out), len(st.In)

	side := func(d *Direction, s *sideStats, from, to string, rx []*live.Receiver) {
		d.From, d.To = from, to
		d.Received, d.In = s.received.load(), s.toNIC.load()
		d.Bridged, d.BridgedIP = s.bridged.load(), s.bridgedIP.load()
		d.ICMP, d.Fragmented, d.Fragments = s.icmp.load(), s.fragmented.load(), s.fragments.Load()
		d.Segmented, d.BridgedAggregates = s.segmented.load(), s.aggregates.load()
		d.UDPSplit, d.Datagrams = s.udpSplit.load(), s.datagrams.Load()
		d.Coalesced, d.Aggregates = s.coalesced.load(), s.coalescedInto.Load()
		d.Refused = s.sentErr.Load()
		for _, x := range rx {
			ks := x.Stats()
			d.RingDrops += ks.KernelDrops
			if taken := ks.Packets + ks.Outgoing; ks.KernelPackets > taken {
				d.LeftInRings += ks.KernelPackets - taken
			}
		}
		for i := range s.drops {
			if n := s.drops[i].Load(); n != 0 {
				r.Drops[Reason(i).String()] += n
			}
		}
		if d.RingDrops != 0 {
			r.Drops["receive ring full ("+from+", dropped by the kernel)"] += d.RingDrops
		}
	}
	side(&r.Encrypt, &g.in, g.cfg.Inside, g.cfg.Outside, g.inRx)
	side(&r.Decrypt, &g.out, g.cfg.Outside, g.cfg.Inside, g.outRx)
	r.Encrypt.Out = Counter(st.Sealed)
	r.Encrypt.Segments = st.Send.Segments
	r.Decrypt.Out = Counter(st.Delivered)
	for _, l := range g.lanes {
		for _, x := range []struct {
			d *Direction
			o interface{ Stats() live.Stats }
		}{{&r.Encrypt, l.toOut}, {&r.Encrypt, l.sealOut}, {&r.Encrypt, l.aggOut}, {&r.Decrypt, l.toIn}, {&r.Decrypt, l.openIn}, {&r.Decrypt, l.aggIn}} {
			ss := x.o.Stats()
			x.d.Sent.Packets += ss.Packets
			x.d.Sent.Bytes += ss.Bytes
			x.d.Batches += ss.Batches
		}
	}

	var nicFail, hostDrop uint64
	for k, v := range st.Failed {
		if v != 0 {
			r.Drops["NIC send: "+packet.Reason(k).String()] += v
			nicFail += v
		}
	}
	for v, n := range st.Verdicts {
		if n != 0 && host.Verdict(v) != host.Delivered {
			r.Drops["host: "+host.Verdict(v).String()] += n
			hostDrop += n
		}
	}
	for s, v := range st.Recv.Status {
		if v != 0 {
			r.CryptoStatus[ndis.CryptoStatus(s).String()] = v
		}
	}
	for sk, v := range st.Recv.Skipped {
		if v != 0 && stage.RxSkip(sk) != stage.SkipNone {
			r.CryptoStatus["not processed: "+stage.RxSkip(sk).String()] = v
		}
	}
	for _, o := range st.Out {
		r.PerSA = append(r.PerSA, SAReport{Dir: "out", SPI: o.SPI, Src: o.Src.String(), Dst: o.Dst.String(), Mode: o.Mode.String(),
			Lane: o.Queue, Where: fmt.Sprintf("%s:%d", o.File, o.Line), Packets: o.Protected.Packets, Bytes: o.Protected.Bytes, NextSeq: o.NextSeq})
	}
	for _, in := range st.In {
		x := SAReport{Dir: "in", SPI: in.SPI, Src: in.Src.String(), Dst: in.Dst.String(), Lane: in.Queue,
			Where: fmt.Sprintf("%s:%d", in.File, in.Line), Packets: in.Packets, Bytes: in.Bytes, Replayed: in.Replayed, TooOld: in.TooOld}
		for s, v := range in.Status {
			if v != 0 {
				if x.CryptoStatus == nil {
					x.CryptoStatus = map[string]uint64{}
				}
				x.CryptoStatus[ndis.CryptoStatus(s).String()] = v
			}
		}
		r.PerSA = append(r.PerSA, x)
	}

	// The books, exact once stopped.
	dropsIn, dropsOut := sumDrops(&g.in), sumDrops(&g.out)
	fragErrs := g.in.fragErrs.Load() + g.in.dgramErrs.Load() // drops of fragments and datagrams, not of frames received
	e, d := &r.Encrypt, &r.Decrypt
	var verdicts uint64
	for _, n := range st.Verdicts {
		verdicts += n
	}
	r.Balanced = !r.Running &&
		e.Received.Packets == e.In.Packets+e.Bridged.Packets+e.ICMP.Packets+e.Fragmented.Packets+e.UDPSplit.Packets+dropsIn-fragErrs &&
		st.Sealed.Packets+st.Clear.Packets+nicFail == e.In.Packets+e.Fragments+e.Datagrams-st.Send.Split+st.Send.Segments &&
		e.Sent.Packets+e.Refused == e.Bridged.Packets+st.Sealed.Packets &&
		d.Received.Packets == d.In.Packets+d.Bridged.Packets+dropsOut &&
		st.Submitted == d.In.Packets && verdicts == st.Submitted && d.Out.Packets+hostDrop == verdicts &&
		d.Sent.Packets+d.Refused+d.Coalesced.Packets-d.Aggregates == d.Bridged.Packets+e.ICMP.Packets+d.Out.Packets &&
		st.Send.Balanced() && st.Recv.Balanced()
	return r
}

func sumDrops(s *sideStats) uint64 {
	var n uint64
	for i := range s.drops {
		n += s.drops[i].Load()
	}
	return n
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(r)
}

// Print writes the report for a person.
func (r *Report) Print(w io.Writer) {
	state := fmt.Sprintf("%.3fs", r.Elapsed)
	if r.Running {
		state = fmt.Sprintf("running for %.3fs", r.Elapsed)
	}
	fmt.Fprintf(w, "ov2 gateway: inside %s, outside %s, %d lane(s), %s\n", r.Inside, r.Outside, r.Lanes, state)
	fmt.Fprintf(w, "  SAs: %d outbound, %d inbound; crypto: %s; CPU: %s\n", r.SAs.Outbound, r.SAs.Inbound, r.Crypto, r.CPU)
	for _, d := range []struct {
		name string
		x    *Direction
	}{{"encrypt", &r.Encrypt}, {"decrypt", &r.Decrypt}} {
		x := d.x
		fmt.Fprintf(w, "  %s (%s -> %s):\n", d.name, x.From, x.To)
		fmt.Fprintf(w, "    received:   %10d frames  %14d bytes\n", x.Received.Packets, x.Received.Bytes)
		fmt.Fprintf(w, "    %s:  in %10d packets %14d bytes   out %10d packets %14d bytes\n", d.name, x.In.Packets, x.In.Bytes, x.Out.Packets, x.Out.Bytes)
		fmt.Fprintf(w, "    bridged:    %10d frames  %14d bytes (IP for no SA %d, other %d)\n", x.Bridged.Packets, x.Bridged.Bytes,
			x.BridgedIP.Packets, x.Bridged.Packets-x.BridgedIP.Packets)
		if x.BridgedAggregates.Packets > 0 {
			fmt.Fprintf(w, "    bridged TCP aggregates (cut by the kernel on the way out): %d frames %d bytes\n", x.BridgedAggregates.Packets, x.BridgedAggregates.Bytes)
		}
		if x.ICMP.Packets > 0 || x.Fragmented.Packets > 0 {
			fmt.Fprintf(w, "    too big once sealed: %d answered with ICMP errors, %d fragmented into %d fragments\n",
				x.ICMP.Packets, x.Fragmented.Packets, x.Fragments)
		}
		if x.Coalesced.Packets > 0 {
			fmt.Fprintf(w, "    coalesced:  %10d packets %14d bytes into %d aggregates (consecutive TCP segments, cut back by the kernel)\n", x.Coalesced.Packets, x.Coalesced.Bytes, x.Aggregates)
		}
		if x.UDPSplit.Packets > 0 {
			fmt.Fprintf(w, "    UDP aggregates (UDP_SEGMENT) cut into datagrams before sealing: %d frames into %d datagrams\n", x.UDPSplit.Packets, x.Datagrams)
		}
		if x.Segmented.Packets > 0 {
			fmt.Fprintf(w, "    GSO/GRO aggregates cut by the NIC (LSO + IPsec): %d frames into %d segments\n", x.Segmented.Packets, x.Segments)
		}
		fmt.Fprintf(w, "    sent:       %10d frames  %14d bytes in %d sendmmsg batches (refused %d)\n", x.Sent.Packets, x.Sent.Bytes, x.Batches, x.Refused)
		if x.LeftInRings > 0 {
			fmt.Fprintf(w, "    left in the receive rings when stopping: %d frames\n", x.LeftInRings)
		}
	}
	fmt.Fprintf(w, "  per SA:\n")
	for _, s := range r.PerSA {
		switch s.Dir {
		case "out":
			fmt.Fprintf(w, "    out 0x%08x %s -> %s %s, lane %d (%s): %d packets %d bytes, next seq %d\n",
				s.SPI, s.Src, s.Dst, s.Mode, s.Lane, s.Where, s.Packets, s.Bytes, s.NextSeq)
		default:
			fmt.Fprintf(w, "    in  0x%08x %s -> %s, lane %d (%s): %d packets %d bytes delivered, CryptoStatus:%s, replayed %d, too old %d\n",
				s.SPI, s.Src, s.Dst, s.Lane, s.Where, s.Packets, s.Bytes, orNone(counts.Reasons(s.CryptoStatus)), s.Replayed, s.TooOld)
		}
	}
	if len(r.CryptoStatus) == 0 {
		fmt.Fprintf(w, "  CryptoStatus: none (nothing went through the receive path)\n")
	} else {
		fmt.Fprintf(w, "  CryptoStatus:%s\n", counts.Reasons(r.CryptoStatus))
	}
	var drops uint64
	for _, v := range r.Drops {
		drops += v
	}
	fmt.Fprintf(w, "  drops: %d%s\n", drops, counts.Reasons(r.Drops))
	fmt.Fprintf(w, "  UPDATE_SA (ESN high half): %d; SA reloads: %d (%d failed)\n", r.Updates, r.Reloads, r.ReloadErrors)
	switch {
	case r.Running:
		fmt.Fprintf(w, "  accounting: checked when stopped\n")
	case r.Balanced:
		fmt.Fprintf(w, "  accounting: balanced (every frame received is counted once)\n")
	default:
		fmt.Fprintf(w, "  accounting: NOT BALANCED\n")
	}
}

func orNone(s string) string {
	if s == "" {
		return " none"
	}
	return s
}
