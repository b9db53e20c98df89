package replay

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/host"
	"github.com/ov2dev/ov2/internal/counts"
	"github.com/ov2dev/ov2/internal/hdr"
	"github.com/ov2dev/ov2/ndis"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/stage"
)

// Latency is a latency distribution through the NIC in microseconds, from NIC entry
// (Submit) to completion.
type Latency struct {
	Packets uint64  `json:"packets"`
	P50     float64 `json:"p50_us"`
	P99     float64 `json:"p99_us"`
	P999    float64 `json:"p99_9_us"`
	Max     float64 `json:"max_us"`
}

func latencyOf(h *hdr.Histogram) Latency {
	us := func(ns int64) float64 { return float64(ns) / 1e3 }
	return Latency{Packets: h.Count(), P50: us(h.Quantile(0.5)), P99: us(h.Quantile(0.99)),
		P999: us(h.Quantile(0.999)), Max: us(h.Max())}
}

// Direction is what one direction of the engine took in and gave out.
type Direction struct {
	In      Counter `json:"in"`
	Out     Counter `json:"out"`
	Latency Latency `json:"latency"`
}

// RoundTrip is the check of a round-trip run.
type RoundTrip struct {
	Sent uint64 `json:"sent"` // sealed packets (and segments) handed to the receive path
	// Segments of large sends delivered back; they are not the packets read, so they are
	// counted, not compared.
	Segments uint64 `json:"segments"`
	Checked  uint64 `json:"checked"` // delivered by the host and compared with the input
	Equal    uint64 `json:"equal"`
	Differ   uint64 `json:"differ"`
	OK       bool   `json:"ok"`
}

// Report is what a run did. Every packet read is accounted for: encrypted, sent in clear,
// decrypted, passed through, or dropped with a reason.
type Report struct {
	Input     string  `json:"input"`
	Loops     int     `json:"loops"`
	Lanes     int     `json:"lanes"`
	Placement string  `json:"placement"`
	Pacing    string  `json:"pacing"`
	Crypto    string  `json:"crypto"`
	CPU       string  `json:"cpu_features"`
	SAs       SACount `json:"sas"`

	Elapsed float64   `json:"elapsed_s"`
	Read    Counter   `json:"read"`
	Encrypt Direction `json:"encrypt"`
	Clear   Counter   `json:"clear"` // matched no SA: through the NIC unchanged
	Decrypt Direction `json:"decrypt"`
	// PassThrough is what did not go through the NIC at all (not IP, ESP for no SA), by reason.
	PassThrough        Counter           `json:"pass_through"`
	PassThroughReasons map[string]uint64 `json:"pass_through_reasons"`
	Out                Counter           `json:"out"`
	Drops              map[string]uint64 `json:"drops"`
	CryptoStatus       map[string]uint64 `json:"crypto_status"`
	Updates            uint64            `json:"update_sa"`
	// LargeSends is how many TCP packets too big for a buffer went to the NIC as LSO + IPsec
	// large sends, and Segments how many segments the NIC cut them into.
	LargeSends uint64 `json:"large_sends"`
	Segments   uint64 `json:"segments"`

	ReadPPS float64 `json:"read_pps"` // packets read per second (the offered rate)
	OutPPS  float64 `json:"out_pps"`
	OutGbps float64 `json:"out_gbit_s"`

	// Iface is what the live output did (--iface): set by the caller that made it
	// (LiveOutput.Report), as Run does not know its output.
	Iface *IfaceReport `json:"iface,omitempty"`

	RoundTrip *RoundTrip `json:"round_trip,omitempty"`
	// RawLimit is the round trip's raw limit (Config.RawLimit) and the run's share of it.
	RawLimit *RawLimit `json:"raw_limit,omitempty"`
	Balanced bool      `json:"balanced"`
	// Interrupted says the run was stopped (Ctrl-C) before it read all its input: the
	// report covers the packets read until then, every one of them completed.
	Interrupted bool `json:"interrupted"`
}

// IfaceReport is what a live output sent on its interface, and what it could not.
type IfaceReport struct {
	Name    string  `json:"name"`
	MTU     int     `json:"mtu"`
	Sent    Counter `json:"sent"`
	Batches uint64  `json:"sendmmsg_batches"`
	Waits   uint64  `json:"waits_for_room"`
	// NotSent is the frames longer than the MTU allows, skipped; Longest the longest.
	NotSent Counter `json:"not_sent_too_long"`
	Longest int     `json:"longest_not_sent,omitempty"`
	// NoEthernet is the frames of a link type without an Ethernet header that carry
	// neither IP nor an EtherType: nothing to send, skipped.
	NoEthernet Counter `json:"not_sent_no_ethernet_form"`
}

// SACount is how many SAs each side of the host offloaded.
type SACount struct {
	Outbound int `json:"outbound"`
	Inbound  int `json:"inbound"`
}

func (r *run) report(elapsed time.Duration) *Report {
	fs := r.fp.Stats()
	ss, rs := fs.Send, fs.Recv
	p, rc := &r.prod, &r.rc
	sc := &compCounts{lat: hdr.New()} // the send lanes' counts together
	for i := range r.sc {
		l := &r.sc[i]
		sc.out.Packets += l.out.Packets
		sc.out.Bytes += l.out.Bytes
		sc.clear.Packets += l.clear.Packets
		sc.clear.Bytes += l.clear.Bytes
		sc.segments += l.segments
		sc.wire.Packets += l.wire.Packets
		sc.wire.Bytes += l.wire.Bytes
		sc.lat.Merge(l.lat)
		for k, v := range l.sendFail {
			sc.sendFail[k] += v
		}
	}
	rep := &Report{
		Input: r.in.Name, Loops: r.cfg.Loops, Lanes: r.cfg.Lanes, Placement: r.cfg.Placement.String(),
		Pacing: r.cfg.Pace.String(), CPU: esp.CPUFeatures().String(),
		SAs:     SACount{Outbound: r.outCount, Inbound: r.inCount},
		Elapsed: elapsed.Seconds(), Read: p.read,
		Encrypt:     Direction{In: p.encIn, Out: sc.out, Latency: latencyOf(sc.lat)},
		Clear:       sc.clear,
		Decrypt:     Direction{In: p.decIn, Out: rc.out, Latency: latencyOf(rc.lat)},
		PassThrough: p.pass, PassThroughReasons: p.passReasons,
		Drops: map[string]uint64{}, CryptoStatus: map[string]uint64{},
		Updates: fs.Updates, LargeSends: p.large, Segments: sc.segments,
	}
	if r.cfg.RoundTrip {
		rep.Decrypt.In.Packets += sc.wire.Packets
		rep.Decrypt.In.Bytes += sc.wire.Bytes
		rep.RoundTrip = &RoundTrip{Sent: sc.wire.Packets, Segments: rc.segments, Checked: rc.checked, Equal: rc.equal, Differ: rc.differ}
	}
	rep.Crypto = r.impl()
	for k, v := range p.drops {
		rep.Drops[k] += v
	}
	var sendFail, hostDrop uint64
	for k, v := range sc.sendFail {
		if v != 0 {
			rep.Drops["NIC send: "+packet.Reason(k).String()] += v
			sendFail += v
		}
	}
	for v, n := range rc.verdicts {
		if n != 0 && host.Verdict(v) != host.Delivered {
			rep.Drops["host: "+host.Verdict(v).String()] += n
			hostDrop += n
		}
	}
	for st, v := range rs.Status {
		if v != 0 {
			rep.CryptoStatus[ndis.CryptoStatus(st).String()] = v
		}
	}
	for sk, v := range rs.Skipped {
		if v != 0 && stage.RxSkip(sk) != stage.SkipNone {
			rep.CryptoStatus["not processed: "+stage.RxSkip(sk).String()] = v
		}
	}
	rep.Out = Counter{Packets: r.outPkts.Load(), Bytes: r.outBytes.Load()}
	if s := rep.Elapsed; s > 0 {
		rep.ReadPPS = float64(rep.Read.Packets) / s
		rep.OutPPS = float64(rep.Out.Packets) / s
		rep.OutGbps = float64(rep.Out.Bytes) * 8 / s / 1e9
	}

	// The books: every packet read went one way; each path gave out or dropped all it took.
	var drops uint64
	for _, v := range p.drops {
		drops += v
	}
	rep.Balanced = p.read.Packets == p.encIn.Packets+p.clearIn.Packets+p.decIn.Packets+p.pass.Packets+drops &&
		p.encIn.Packets+p.clearIn.Packets-ss.Split+ss.Segments == sc.out.Packets+sc.clear.Packets+sendFail &&
		sc.segments == ss.Segments &&
		rep.Decrypt.In.Packets == rc.out.Packets+hostDrop &&
		ss.Balanced() && rs.Balanced()
	if rt := rep.RoundTrip; rt != nil {
		rt.OK = rep.Balanced && rt.Differ == 0 && rt.Checked+rt.Segments == rt.Sent && rt.Equal == p.encIn.Packets-p.large &&
			len(rep.Drops) == 0
	}
	return rep
}

// impl names the crypto implementations the SAs were given.
func (r *run) impl() string { return strings.Join(r.fp.CryptoImpls(), ", ") }

// WriteJSON writes the report as indented JSON.
func (rep *Report) WriteJSON(w io.Writer) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(rep)
}

// Print writes the report for a person.
func (rep *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "ov2 replay: %s, %d loop(s), %d lane(s) each way (%s), pacing: %s\n",
		rep.Input, rep.Loops, rep.Lanes, rep.Placement, rep.Pacing)
	if rep.Interrupted {
		fmt.Fprintf(w, "  INTERRUPTED after %.3fs: the figures cover the %d packets read until then, all completed\n",
			rep.Elapsed, rep.Read.Packets)
	}
	fmt.Fprintf(w, "  SAs: %d outbound, %d inbound; crypto: %s; CPU: %s\n", rep.SAs.Outbound, rep.SAs.Inbound, rep.Crypto, rep.CPU)
	fmt.Fprintf(w, "  read:         %10d packets %14d bytes\n", rep.Read.Packets, rep.Read.Bytes)
	fmt.Fprintf(w, "  encrypt:  in  %10d packets %14d bytes   out %10d packets %14d bytes\n",
		rep.Encrypt.In.Packets, rep.Encrypt.In.Bytes, rep.Encrypt.Out.Packets, rep.Encrypt.Out.Bytes)
	fmt.Fprintf(w, "  decrypt:  in  %10d packets %14d bytes   out %10d packets %14d bytes\n",
		rep.Decrypt.In.Packets, rep.Decrypt.In.Bytes, rep.Decrypt.Out.Packets, rep.Decrypt.Out.Bytes)
	fmt.Fprintf(w, "  clear (no SA, through the NIC unchanged): %d packets %d bytes\n", rep.Clear.Packets, rep.Clear.Bytes)
	if rep.LargeSends > 0 {
		fmt.Fprintf(w, "  large sends (TCP too big for a buffer, LSO + IPsec): %d, cut into %d segments\n", rep.LargeSends, rep.Segments)
	}
	fmt.Fprintf(w, "  passed through (not through the NIC): %d packets%s\n", rep.PassThrough.Packets, counts.Reasons(rep.PassThroughReasons))
	fmt.Fprintf(w, "  out:          %10d packets %14d bytes\n", rep.Out.Packets, rep.Out.Bytes)
	fmt.Fprintf(w, "  rate: %.0f packets/s read; out %.3f Mpps, %.3f Gbit/s in %.3fs\n",
		rep.ReadPPS, rep.OutPPS/1e6, rep.OutGbps, rep.Elapsed)
	if len(rep.CryptoStatus) == 0 {
		fmt.Fprintf(w, "  CryptoStatus: none (nothing went through the receive path)\n")
	} else {
		fmt.Fprintf(w, "  CryptoStatus:%s\n", counts.Reasons(rep.CryptoStatus))
	}
	fmt.Fprintf(w, "  drops: %d%s\n", counts.Sum(rep.Drops), counts.Reasons(rep.Drops))
	fmt.Fprintf(w, "  UPDATE_SA (ESN high half): %d\n", rep.Updates)
	for _, d := range []struct {
		name string
		l    Latency
	}{{"send path", rep.Encrypt.Latency}, {"receive path", rep.Decrypt.Latency}} {
		if d.l.Packets > 0 {
			fmt.Fprintf(w, "  latency through the NIC, %s: p50 %.1f us, p99 %.1f us, p99.9 %.1f us, max %.1f us (%d packets)\n",
				d.name, d.l.P50, d.l.P99, d.l.P999, d.l.Max, d.l.Packets)
		}
	}
	if f := rep.Iface; f != nil {
		fmt.Fprintf(w, "  sent on %s: %d packets, %d bytes, in %d sendmmsg batches; waited %d times for room\n",
			f.Name, f.Sent.Packets, f.Sent.Bytes, f.Batches, f.Waits)
		if f.NotSent.Packets > 0 {
			fmt.Fprintf(w, "  not sent on %s: %d packets, %d bytes, longer than its MTU of %d allows (the longest %d bytes)\n",
				f.Name, f.NotSent.Packets, f.NotSent.Bytes, f.MTU, f.Longest)
		}
		if f.NoEthernet.Packets > 0 {
			fmt.Fprintf(w, "  not sent on %s: %d packets, %d bytes, of a link type without an Ethernet header, carrying neither IP nor an EtherType\n",
				f.Name, f.NoEthernet.Packets, f.NoEthernet.Bytes)
		}
	}
	fmt.Fprintf(w, "  accounting: %s\n", map[bool]string{true: "balanced (every packet read is counted once)", false: "NOT BALANCED"}[rep.Balanced])
	if rt := rep.RoundTrip; rt != nil {
		verdict := "OK"
		if !rt.OK {
			verdict = "FAILED"
		}
		segs := ""
		if rt.Segments > 0 {
			segs = fmt.Sprintf("; %d segments of %d large sends decrypted", rt.Segments, rep.LargeSends)
		}
		fmt.Fprintf(w, "round trip: %s (%d/%d packets decrypted and equal to the input, %d differ%s)\n",
			verdict, rt.Equal, rep.Encrypt.In.Packets-rep.LargeSends, rt.Differ, segs)
	}
	if rl := rep.RawLimit; rl != nil && rl.Packets == 0 {
		fmt.Fprintf(w, "raw limit: none: no packet of the run was sealed as a whole packet (%d large sends and combined packets left out)\n", rl.Excluded)
	} else if rl != nil {
		excl := ""
		if rl.Excluded > 0 {
			excl = fmt.Sprintf(" (%d large sends and combined packets left out)", rl.Excluded)
		}
		short := ""
		if rep.Elapsed < shortRun.Seconds() {
			short = fmt.Sprintf(" (the run took %.3fs: its rate includes its start-up; --loop more for a figure that means something)", rep.Elapsed)
		}
		fmt.Fprintf(w, "raw limit: the crypto alone on 1 core, seal + open of the %d packets one pass sealed%s: %.3f M round trips/s; this run %.3f M/s, %.2f of it%s\n",
			rl.Packets, excl, rl.PerSecond/1e6, rl.RunPerSecond/1e6, rl.Ratio, short)
	}
}
