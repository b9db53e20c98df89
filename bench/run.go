package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"time"

	"github.com/klauspost/cpuid/v2"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/internal/hdr"
	"github.com/ov2dev/ov2/stage"
)

// Row is one measured combination. Rates are over the measured window only; latencies are
// per packet, from its entry into the NIC to its completion, in microseconds.
type Row struct {
	Size      string  `json:"size"`       // "64", "1400", "imix", "lso64k"
	WireBytes float64 `json:"wire_bytes"` // mean wire size of the packets
	Mode      string  `json:"mode"`
	Algo      string  `json:"algo"`
	Lanes     int     `json:"lanes"`
	Placement string  `json:"placement"`

	Packets uint64  `json:"packets"` // completed in the full-speed window
	Bytes   uint64  `json:"bytes"`
	Seconds float64 `json:"seconds"`
	Mpps    float64 `json:"mpps"` // for lso64k: segments per second
	Gbps    float64 `json:"gbps"`
	// LargeSends is, for lso64k, the large sends completed in the window; 0 otherwise.
	LargeSends       uint64  `json:"large_sends"`
	LargeSendsPerSec float64 `json:"large_sends_per_sec"`
	// RawMpps is the raw limit for this size, algorithm and mode (Go's standard library on
	// one core), measured beside the row: half just before its window, half just after
	// (paired.go); RawBeforeMpps and RawAfterMpps are the two halves on their own.
	RawMpps       float64 `json:"raw_mpps"`
	Ratio         float64 `json:"ratio"` // Mpps / RawMpps
	RawBeforeMpps float64 `json:"raw_before_mpps"`
	RawAfterMpps  float64 `json:"raw_after_mpps"`
	// ImplRawMpps is the raw limit of the implementation the engine dispatched to (Impl),
	// measured the same way; ImplSame says that is the standard library loop itself (AES-GCM
	// dispatched to crypto/cipher; AES-CBC, NULL and AH, whose crypto is crypto/aes and
	// crypto/hmac), so ImplRawMpps and ImplRatio repeat RawMpps and Ratio.
	ImplRawMpps     float64 `json:"impl_raw_mpps"`
	ImplRatio       float64 `json:"impl_ratio"` // Mpps / ImplRawMpps
	ImplSame        bool    `json:"impl_same"`
	InFlight        int     `json:"in_flight"`
	LatencyLoad     float64 `json:"latency_load"` // share of the maximum offered while latency was measured
	OfferedMpps     float64 `json:"offered_mpps"`
	AchievedMpps    float64 `json:"achieved_mpps"`
	LatencyPackets  uint64  `json:"latency_packets"`
	LatencyMinUs    float64 `json:"latency_min_us"`
	LatencyMeanUs   float64 `json:"latency_mean_us"`
	LatencyP50Us    float64 `json:"latency_p50_us"`
	LatencyP99Us    float64 `json:"latency_p99_us"`
	LatencyP999Us   float64 `json:"latency_p999_us"`
	LatencyMaxUs    float64 `json:"latency_max_us"`
	LatencyCurve    []Point `json:"latency_curve"` // the percentile curve the chart draws
	AllocsPerPacket float64 `json:"allocs_per_packet"`
	// CPUCores is the whole process's CPU time (lanes, harness, runtime; getrusage) in the
	// full-speed window over the window's wall time: where it is well below lanes + 1 the
	// engine did not get the cores it could use (on a shared machine, other work had them),
	// and the ratio to the single-core raw limit reads low for that reason. 0 where the
	// CPU time cannot be read.
	CPUCores          float64 `json:"cpu_cores"`
	GCCycles          uint32  `json:"gc_cycles"` // garbage collections during the measured windows
	Impl              string  `json:"impl"`      // the AES-GCM implementation the SA's transform dispatched to
	CPU               string  `json:"cpu"`
	GoVersion         string  `json:"go_version"`
	Failed            uint64  `json:"failed"`             // packets that did not seal or verify: always 0 in a result
	Balanced          bool    `json:"balanced"`           // the paths' counters account for every packet
	PacedLatePackets  uint64  `json:"paced_late_packets"` // paced phase: packets submitted behind schedule
	PacedBurstPackets int     `json:"paced_burst"`        // paced phase: packets per scheduled burst
	// Pass is the pass of the run that measured the row: 1 to Options.Repeat.
	Pass int `json:"pass"`
}

// Point is one point of a latency percentile curve.
type Point struct {
	Percentile float64 `json:"percentile"`
	Us         float64 `json:"us"`
}

// curvePercentiles are the points of Row.LatencyCurve; the chart puts them on a "nines"
// axis. 100 is the maximum.
var curvePercentiles = []float64{50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 100}

// RawRow is one raw-limit loop on one goroutine: crypto/cipher AES-GCM, or for the other
// suites crypto/aes CBC and crypto/hmac (rawetm.go); in Result.ImplRaw, the AES-GCM
// implementation the engine dispatched to, through esp.Transform (rawimpl.go). Its figures
// are the loop's measurements beside every row that used it, taken together (paired.go).
type RawRow struct {
	Size            string  `json:"size"`
	Algo            string  `json:"algo"`
	Op              string  `json:"op"` // seal, open, seal+open
	WireBytes       float64 `json:"wire_bytes"`
	Packets         uint64  `json:"packets"`
	Seconds         float64 `json:"seconds"`
	Mpps            float64 `json:"mpps"`
	Gbps            float64 `json:"gbps"`
	NsPerPacket     float64 `json:"ns_per_packet"`
	AllocsPerPacket float64 `json:"allocs_per_packet"`
	Derived         bool    `json:"derived"` // computed from seal and open, not measured
	// Impl is what the loop runs: crypto/cipher, crypto/aes CBC + crypto/hmac, or the
	// dispatched implementation through esp.Transform.
	Impl string `json:"impl"`
	// Measurements is how many slices the figures above add up (two per row that used the
	// loop: before and after it); MinMpps and MaxMpps are the lowest and highest pair.
	Measurements int     `json:"measurements"`
	MinMpps      float64 `json:"min_mpps"`
	MaxMpps      float64 `json:"max_mpps"`
}

// Result is a whole run.
type Result struct {
	StartedAt   time.Time `json:"started_at"`
	CPU         string    `json:"cpu"`
	GoVersion   string    `json:"go_version"`
	GOOS        string    `json:"goos"`
	GOARCH      string    `json:"goarch"`
	GOMAXPROCS  int       `json:"gomaxprocs"`
	NumCPU      int       `json:"num_cpu"`
	Features    string    `json:"cpu_features"`
	DurationS   float64   `json:"duration_s"`
	WarmupS     float64   `json:"warmup_s"`
	RawS        float64   `json:"raw_duration_s"`
	Load        float64   `json:"load"`
	InFlight    int       `json:"in_flight"`
	PollUS      float64   `json:"poll_us"` // lanes' poll time in the latency window; 0: busy-poll harness
	Burst       int       `json:"burst"`
	SAsPerLane  int       `json:"sas_per_lane"`
	Repeat      int       `json:"repeat"` // passes over the rows (Options.Repeat)
	SizeNote    string    `json:"size_note"`
	LatencyNote string    `json:"latency_note"`
	Rows        []Row     `json:"rows"`
	Raw         []RawRow  `json:"raw"`      // the standard library's loops
	ImplRaw     []RawRow  `json:"impl_raw"` // the dispatched implementations' loops, where they differ
	RawNote     string    `json:"raw_note"` // how the raw limits were measured
	// Jitter is the machine's own stalls, measured in the same run: the floor under the
	// latency percentiles.
	Jitter Jitter   `json:"machine_jitter"`
	Notes  []string `json:"notes"` // combinations skipped, and why
	// Summary is every row's medians over the passes (summary.go), in the order of the
	// first pass; one entry per row however many passes there were.
	Summary []Summary `json:"summary"`
}

// RawFor returns the standard library's raw row for a size, algorithm and op, or nil.
func (r *Result) RawFor(size, algo string, op RawOp) *RawRow { return rawIn(r.Raw, size, algo, op) }

// ImplRawFor returns the dispatched implementation's raw row for a size, algorithm and op,
// or nil where the engine's crypto is the standard library loop's.
func (r *Result) ImplRawFor(size, algo string, op RawOp) *RawRow {
	return rawIn(r.ImplRaw, size, algo, op)
}

func rawIn(rows []RawRow, size, algo string, op RawOp) *RawRow {
	for i := range rows {
		x := &rows[i]
		if x.Size == size && x.Algo == algo && x.Op == op.String() {
			return x
		}
	}
	return nil
}

// RawNote says how the raw limits were measured, for reports.
func RawNote(rawS float64) string {
	return fmt.Sprintf("raw limit: the crypto alone on 1 core over the same bytes (AES-GCM/GMAC: crypto/cipher; AES-CBC+HMAC: crypto/aes CBC + crypto/hmac; NULL+HMAC and AH: crypto/hmac), "+
		"seal for encrypt, open for decrypt, 1/(1/seal+1/open) for roundtrip; measured beside each row, %gs just before its window and %gs just after, and the row's ratio = Mpps / that pair's Mpps; "+
		"impl = the same for the implementation the engine dispatched to (for AES-GCM/GMAC on VAES or the portable core, through esp.Transform), identical to raw where that is the standard library loop itself", rawS/2, rawS/2)
}

// errLSODecrypt is why lso64k has no decrypt row.
var errLSODecrypt = errors.New("bench: lso64k decrypt: a large send exists only on the send side; the receive path sees its 1476-byte segments (measure those with --size 1476)")

// SizeNote says what the sizes are, for reports.
const SizeNote = "sizes are wire sizes of IPv4 transport-mode ESP packets with a 16-byte ICV (IP header, ESP header and IV, payload, padding and trailer, ICV); imix is 7:4:1 of 64/576/1500 B; lso64k is a 64,400-byte TCP large send cut by the NIC into 46 segments of MSS 1400 (1476 B each), Mpps counting segments; AES-CBC packets come in 16-byte steps, so its rows frame the nearest size they can (64 B becomes 72 or 76 B), and AH packets are IP, AH and the datagram: wire_bytes says what each row framed"

// CPUName is the CPU's brand string, as cpuid reads it.
func CPUName() string {
	if n := cpuid.CPU.BrandName; n != "" {
		return n
	}
	return "unknown CPU"
}

// Run measures every row of o with the raw limits it needs measured beside it (paired.go),
// and calls progress (if not nil) with one line as each row completes and, at the end, one
// for each raw loop. It stops early, with what it
// has and ctx's error, when ctx is done. Rows that cannot exist (lso64k decrypt) are left
// out with a note in Result.Notes.
func Run(ctx context.Context, o Options, progress func(string)) (*Result, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	if progress == nil {
		progress = func(string) {}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res := &Result{
		StartedAt:  time.Now().UTC().Truncate(time.Second),
		CPU:        CPUName(),
		GoVersion:  runtime.Version(),
		GOOS:       runtime.GOOS,
		GOARCH:     runtime.GOARCH,
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		NumCPU:     runtime.NumCPU(),
		Features:   esp.CPUFeatures().String(),
		DurationS:  o.Duration.Seconds(),
		WarmupS:    o.Warmup.Seconds(),
		RawS:       o.RawDuration.Seconds(),
		Load:       o.Load,
		InFlight:   o.InFlight,
		PollUS:     float64(o.Poll) / 1e3,
		Burst:      o.Burst,
		SAsPerLane: o.SAsPerLane,
		Repeat:     o.Repeat,
		SizeNote:   SizeNote,
		Rows:       []Row{},
		Raw:        []RawRow{},
		ImplRaw:    []RawRow{},
		RawNote:    RawNote(o.RawDuration.Seconds()),
		Notes:      []string{},
		Summary:    []Summary{},
	}
	if o.Load >= 1 {
		res.LatencyNote = fmt.Sprintf("latency at 100%% load: the closed loop keeps %d packets in flight, so it is mostly the wait behind them (queueing), not the NIC's own delay; use a lower load for that", o.InFlight)
	} else if o.Poll == 0 {
		res.LatencyNote = fmt.Sprintf("latency at %s of each row's measured maximum, offered by an open-loop pacer (bursts on a fixed schedule) that also takes the completions, with every core kept polling (busy-poll) so that a parked lane is not left waiting for an idle CPU to wake up", pct(o.Load))
	} else {
		res.LatencyNote = fmt.Sprintf("latency at %s of each row's measured maximum, offered by an open-loop pacer (bursts on a fixed schedule) that also takes the completions, with the lanes in poll mode (each polls its input for up to %v before it parks)", pct(o.Load), o.Poll)
	}

	// The rows, and the raw loops they need.
	var specs []rowSpec
	for _, m := range o.Modes {
		for _, a := range o.Algos {
			for _, s := range o.Sizes {
				if s.Kind == LSO64K && m == Decrypt {
					res.Notes = append(res.Notes, "skipped "+trimPrefix(errLSODecrypt.Error()))
					continue
				}
				for _, l := range o.Lanes {
					for _, p := range o.Placements {
						specs = append(specs, rowSpec{size: s, mode: m, algo: a, lanes: l, pl: p})
					}
				}
			}
		}
	}
	res.Jitter = measureJitter(ctx, o.RawDuration)
	progress(fmt.Sprintf("machine jitter: %d threads spinning for %gs were each stalled over %gµs %.0f times/s, %.2f%% of the time, longest %.0fµs",
		res.Jitter.Threads, res.Jitter.Seconds, res.Jitter.ThresholdUS, res.Jitter.StallsPerSec, res.Jitter.StalledPercent, res.Jitter.MaxStallUS))

	rs := newRawSet(ctx, o.RawDuration)
	defer func() {
		res.Summary = summarize(res.Rows)
		// The raw loops' means over every row that used them: one progress line for each
		// loop of the standard library that ran.
		res.Raw, res.ImplRaw = rs.rows(o)
		for _, r := range res.Raw {
			if !r.Derived {
				progress(fmt.Sprintf("raw %s %s %s: %.3f Mpps, %.2f Gbit/s, %.1f ns/packet (%s, 1 core; mean of %d measurements beside the rows, pairs %.3f to %.3f Mpps)",
					r.Op, r.Algo, r.Size, r.Mpps, r.Gbps, r.NsPerPacket, r.Impl, r.Measurements, r.MinMpps, r.MaxMpps))
			}
		}
	}()
	// Passes go round the rows in turn, so that the machine's drift over the run spreads
	// over every row instead of falling on the ones measured last.
	for pass := 1; pass <= o.Repeat; pass++ {
		for _, sp := range specs {
			row, err := runRow(ctx, sp, o, rs)
			if err != nil {
				return res, err
			}
			row.CPU, row.GoVersion, row.Pass = res.CPU, res.GoVersion, pass
			res.Rows = append(res.Rows, row)
			line := progressLine(sp, row)
			if o.Repeat > 1 {
				line = fmt.Sprintf("pass %d/%d: %s", pass, o.Repeat, line)
			}
			progress(line)
		}
	}
	return res, nil
}

func hasMode(ms []Mode, m Mode) bool {
	for _, x := range ms {
		if x == m {
			return true
		}
	}
	return false
}

func trimPrefix(s string) string {
	const p = "bench: "
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

func pct(f float64) string {
	return fmt.Sprintf("%g%%", math.Round(f*1e4)/1e2)
}

func progressLine(sp rowSpec, r Row) string {
	impl := fmt.Sprintf("impl raw %.3f Mpps, impl ratio %.2f", r.ImplRawMpps, r.ImplRatio)
	if r.ImplSame {
		impl = "impl raw = raw"
	}
	return fmt.Sprintf("%s: %.3f Mpps, %.2f Gbit/s, raw %.3f Mpps (before %.3f, after %.3f), ratio %.2f, %s, latency p50/p99/p99.9/max %.1f/%.1f/%.1f/%.1f µs at %s load, %s allocs/packet, %.2f cores of CPU",
		sp, r.Mpps, r.Gbps, r.RawMpps, r.RawBeforeMpps, r.RawAfterMpps, r.Ratio, impl, r.LatencyP50Us, r.LatencyP99Us, r.LatencyP999Us, r.LatencyMaxUs, pct(r.LatencyLoad), FormatAllocs(r.AllocsPerPacket), r.CPUCores)
}

// FormatAllocs prints allocations per packet without rounding a non-zero value to 0.
func FormatAllocs(v float64) string {
	if v == 0 {
		return "0"
	}
	return fmt.Sprintf("%.3g", v)
}

// inlineHarness says whether a row's full-speed window runs on an inline engine (one harness
// goroutine that submits and polls the completions itself, never parking) rather than with
// completion goroutines that park between bursts. Inline when the lanes' goroutines leave a
// processor free for the harness: fused lanes, one goroutine each (two in a round trip: a
// send lane and a receive lane), fewer than procs. Then nobody parks: the lane is not woken,
// and does not wake a completion goroutine onto its own processor, where the woken
// goroutine took the lane's core while the lane waited runnable (a runtime trace of a 1-lane
// AES-CBC row showed that most of its waiting time). On 2 vCPUs, 1 lane, 1400 B, this moved
// the ratio to the raw limit from 0.62-0.90 to 0.81-0.98 across the CBC, NULL and AH rows,
// and AES-GCM decrypt from 0.64 to 0.82. With more lane goroutines than that, a harness
// that never parks would take a lane's core, so the completion goroutines stay.
func inlineHarness(sp rowSpec, procs int) bool {
	if sp.pl != stage.Fused {
		return false
	}
	g := sp.lanes
	if sp.mode == Roundtrip {
		g *= 2
	}
	return g < procs
}

// runRow measures one row: the full-speed window (on an inline engine or one with completion
// goroutines: inlineHarness), then, below 100% load, the paced window on a fresh inline
// engine (see pacedLoop).
func runRow(ctx context.Context, sp rowSpec, o Options, rs *rawSet) (Row, error) {
	e, err := newEngine(sp, o, inlineHarness(sp, runtime.GOMAXPROCS(0)))
	if err != nil {
		return Row{}, fmt.Errorf("bench: %s: %w", sp, err)
	}
	defer e.close()
	pair, err := rs.measureBefore(sp, e.implKind)
	if err != nil {
		return Row{}, err
	}
	full, err := e.closedLoop(ctx, o.Warmup, o.Duration)
	e.stop()
	if err != nil {
		return Row{}, err
	}
	if err := pair.measureAfter(); err != nil {
		return Row{}, err
	}
	row := Row{
		Size: sp.size.String(), WireBytes: sp.algo.meanWire(sp.size), Mode: sp.mode.String(), Algo: sp.algo.String(),
		Lanes: sp.lanes, Placement: sp.pl.String(),
		Packets: full.packets, Bytes: full.bytes, Seconds: full.seconds,
		InFlight: e.units * e.segsPerUnit,
		Impl:     e.impl,
	}
	if row.Failed, row.Balanced, err = e.accounting(); err != nil {
		return row, err
	}
	if full.units == 0 || full.seconds <= 0 {
		return row, fmt.Errorf("bench: %s: nothing completed in the measured window", sp)
	}
	row.Mpps = float64(full.packets) / full.seconds / 1e6
	row.Gbps = float64(full.bytes) * 8 / full.seconds / 1e9
	row.CPUCores = full.cpu
	pair.fill(&row)
	if e.lso {
		row.LargeSends = full.units
		row.LargeSendsPerSec = float64(full.units) / full.seconds
	}
	lat := full
	row.LatencyLoad, row.OfferedMpps, row.AchievedMpps = 1, row.Mpps, row.Mpps
	mallocs, packets := full.mallocs, full.packets
	row.GCCycles = full.gcs
	if o.Load < 1 {
		p, err := newEngine(sp, o, true)
		if err != nil {
			return row, fmt.Errorf("bench: %s: %w", sp, err)
		}
		defer p.close()
		unitRate := float64(full.units) / full.seconds * o.Load
		paced, err := p.pacedLoop(ctx, unitRate, min(o.Warmup, 200*time.Millisecond), o.Duration)
		p.stop()
		if err != nil {
			return row, err
		}
		failed, balanced, err := p.accounting()
		row.Failed += failed
		row.Balanced = row.Balanced && balanced
		if err != nil {
			return row, err
		}
		lat = paced
		row.LatencyLoad = o.Load
		row.OfferedMpps = unitRate * float64(p.segsPerUnit) / 1e6
		row.AchievedMpps = float64(paced.packets) / paced.seconds / 1e6
		row.PacedLatePackets = paced.late * uint64(p.segsPerUnit)
		row.PacedBurstPackets = paced.burst * p.segsPerUnit
		mallocs += paced.mallocs
		packets += paced.packets
		row.GCCycles += paced.gcs
	}
	fillLatency(&row, lat.hist)
	if packets > 0 {
		row.AllocsPerPacket = float64(mallocs) / float64(packets)
	}
	return row, nil
}

// fillLatency puts a histogram's figures into a row, in microseconds.
func fillLatency(r *Row, h *hdr.Histogram) {
	us := func(ns int64) float64 { return float64(ns) / 1e3 }
	r.LatencyPackets = h.Count()
	r.LatencyMinUs = us(h.Min())
	r.LatencyMeanUs = h.Mean() / 1e3
	r.LatencyP50Us = us(h.Quantile(0.50))
	r.LatencyP99Us = us(h.Quantile(0.99))
	r.LatencyP999Us = us(h.Quantile(0.999))
	r.LatencyMaxUs = us(h.Max())
	r.LatencyCurve = make([]Point, len(curvePercentiles))
	for i, p := range curvePercentiles {
		r.LatencyCurve[i] = Point{Percentile: p, Us: us(h.Quantile(p / 100))}
	}
}
