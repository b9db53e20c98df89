package bench

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/ov2dev/ov2/esp"
)

// WriteTable writes the result as text: what was measured on what, one line per row with
// the raw limit beside it, the raw loops, and the notes.
func (r *Result) WriteTable(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "ov2 bench: %s, %s %s/%s, GOMAXPROCS %d (%d CPUs)\n", r.CPU, r.GoVersion, r.GOOS, r.GOARCH, r.GOMAXPROCS, r.NumCPU)
	fmt.Fprintf(&b, "  CPU features: %s\n", r.Features)
	if impls := r.impls(); len(impls) == 1 {
		fmt.Fprintf(&b, "  crypto dispatched: %s\n", impls[0])
	}
	fmt.Fprintf(&b, "  each row: %gs measured after %gs warm-up, %d packets in flight in bursts of %d, %d SAs per lane\n",
		r.DurationS, r.WarmupS, r.InFlight, r.Burst, r.SAsPerLane)
	if r.Repeat > 1 {
		fmt.Fprintf(&b, "  %d passes: each measures every row once, in turn; the rows below are in the order measured, their medians after them\n", r.Repeat)
	}
	fmt.Fprintf(&b, "  %s\n", r.LatencyNote)
	if j := r.Jitter; j.Seconds > 0 {
		fmt.Fprintf(&b, "  machine jitter (the floor under latency): %d threads spinning for %gs were each stalled over %gµs %.0f times/s, %.2f%% of the time, longest %.0fµs\n",
			j.Threads, j.Seconds, j.ThresholdUS, j.StallsPerSec, j.StalledPercent, j.MaxStallUS)
	}
	fmt.Fprintf(&b, "  %s\n", r.SizeNote)
	note := r.RawNote
	if note == "" {
		note = RawNote(r.RawS)
	}
	fmt.Fprintf(&b, "  %s\n\n", note)

	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	paced := r.Load < 1
	head := "size\tmode\talgo\tlanes\tplacement\tMpps\tGbit/s\traw Mpps\tratio\timpl Mpps\timpl ratio\t"
	if paced {
		head += "offered Mpps\tachieved Mpps\t"
	}
	head += "p50 µs\tp99 µs\tp99.9 µs\tmax µs\tallocs/pkt\tCPU cores\t"
	multi := len(r.impls()) > 1
	if multi {
		head += "crypto\t"
	}
	fmt.Fprintln(tw, head)
	for _, x := range r.Rows {
		line := fmt.Sprintf("%s\t%s\t%s\t%d\t%s\t%.3f\t%.2f\t%.3f\t%.2f\t", sizeText(x.Size), x.Mode, x.Algo, x.Lanes, x.Placement,
			x.Mpps, x.Gbps, x.RawMpps, x.Ratio)
		if x.ImplSame {
			line += fmt.Sprintf("= raw\t%.2f\t", x.ImplRatio)
		} else {
			line += fmt.Sprintf("%.3f\t%.2f\t", x.ImplRawMpps, x.ImplRatio)
		}
		if paced {
			line += fmt.Sprintf("%.3f\t%.3f\t", x.OfferedMpps, x.AchievedMpps)
		}
		line += fmt.Sprintf("%.1f\t%.1f\t%.1f\t%.1f\t%s\t%.2f\t", x.LatencyP50Us, x.LatencyP99Us, x.LatencyP999Us, x.LatencyMaxUs, FormatAllocs(x.AllocsPerPacket), x.CPUCores)
		if multi {
			line += x.Impl + "\t"
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
	if r.Repeat > 1 && len(r.Summary) > 0 {
		fmt.Fprintf(&b, "\nmedians over the passes (runs: how many measured the row; ratio range: its lowest and highest pass):\n")
		writeSummary(&b, r.Summary)
	}

	if len(r.Raw) > 0 {
		fmt.Fprintf(&b, "\nraw limit, 1 core:\n")
		fmt.Fprintf(&b, "  each loop's mean over all its measurements beside the rows (n: how many, two per row); min/max: its lowest and highest pair\n")
		writeRawTable(&b, r.Raw)
		if len(r.ImplRaw) == 0 && r.hasAEAD() {
			fmt.Fprintf(&b, "  (AES-GCM/GMAC dispatched to the standard library: its raw loop is the one above, so impl Mpps = raw Mpps)\n")
		}
	}
	if len(r.ImplRaw) > 0 {
		fmt.Fprintf(&b, "\nraw limit of the implementation the engine dispatched to (impl Mpps), 1 core, measured the same way:\n")
		writeRawTable(&b, r.ImplRaw)
	}
	sep := "\n"
	for _, x := range r.Rows {
		if x.Size == "lso64k" {
			fmt.Fprintf(&b, "%slso64k %s, %s, %s: %.0f large sends/s (%d in the window); Mpps counts their segments\n",
				sep, x.Mode, lanesText(x.Lanes), x.Placement, x.LargeSendsPerSec, x.LargeSends)
			sep = ""
		}
	}
	sep = "\n"
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "%snote: %s\n", sep, n)
		sep = ""
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// sizeText is a row's size for the tables: "1400 B", or "imix" and "lso64k" as they are.
func sizeText(size string) string {
	if _, err := strconv.Atoi(size); err == nil {
		return size + " B"
	}
	return size
}

// writeSummary writes the rows' medians as a table.
func writeSummary(b *strings.Builder, rows []Summary) {
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "size\tmode\talgo\tlanes\tplacement\truns\tMpps\tratio\tratio range\timpl ratio\tallocs/pkt (max)\t")
	for _, x := range rows {
		impl := fmt.Sprintf("%.2f", x.ImplRatioMedian)
		if x.ImplSame {
			impl = "= ratio"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%d\t%.3f\t%.2f\t%.2f-%.2f\t%s\t%s\t\n", sizeText(x.Size), x.Mode, x.Algo, x.Lanes, x.Placement,
			x.Runs, x.MppsMedian, x.RatioMedian, x.RatioMin, x.RatioMax, impl, FormatAllocs(x.AllocsMax))
	}
	tw.Flush()
}

// writeRawTable writes raw rows as a table.
func writeRawTable(b *strings.Builder, rows []RawRow) {
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "size\talgo\top\tMpps\tGbit/s\tns/packet\tmin Mpps\tmax Mpps\tn\tallocs/pkt\t")
	impl := ""
	for _, x := range rows {
		op := x.Op
		if x.Derived {
			op += " (computed)"
		}
		lo, hi, n := "-", "-", "-"
		if !x.Derived && x.Measurements > 0 {
			lo, hi, n = fmt.Sprintf("%.3f", x.MinMpps), fmt.Sprintf("%.3f", x.MaxMpps), strconv.Itoa(x.Measurements)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.3f\t%.2f\t%.1f\t%s\t%s\t%s\t%s\t\n", x.Size, x.Algo, op, x.Mpps, x.Gbps, x.NsPerPacket,
			lo, hi, n, FormatAllocs(x.AllocsPerPacket))
		if x.Impl != "" && !strings.Contains(impl, "; "+x.Impl+";") {
			impl += "; " + x.Impl + ";"
		}
	}
	tw.Flush()
	if impl != "" {
		fmt.Fprintf(b, "  the loops run %s\n", strings.ReplaceAll(strings.Trim(impl, "; "), ";;", ";"))
	}
}

// hasAEAD says a row is AES-GCM or AES-GMAC.
func (r *Result) hasAEAD() bool {
	for _, x := range r.Rows {
		if a, err := ParseAlgo(x.Algo); err == nil && a.integrity() == esp.IntegrityNone {
			return true
		}
	}
	return false
}

func lanesText(n int) string {
	if n == 1 {
		return "1 lane"
	}
	return strconv.Itoa(n) + " lanes"
}

// impls lists the distinct crypto implementations of the rows.
func (r *Result) impls() []string {
	var out []string
	for _, x := range r.Rows {
		found := false
		for _, s := range out {
			found = found || s == x.Impl
		}
		if !found {
			out = append(out, x.Impl)
		}
	}
	return out
}

// WriteJSON writes the result as one indented JSON object.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// csvHeader is the header line of WriteCSV: the scalar fields of Row, by their JSON names.
var csvHeader = []string{
	"size", "wire_bytes", "mode", "algo", "lanes", "placement",
	"packets", "bytes", "seconds", "mpps", "gbps", "large_sends", "large_sends_per_sec",
	"raw_mpps", "ratio", "in_flight",
	"latency_load", "offered_mpps", "achieved_mpps", "latency_packets",
	"latency_min_us", "latency_mean_us", "latency_p50_us", "latency_p99_us", "latency_p999_us", "latency_max_us",
	"allocs_per_packet", "gc_cycles", "impl", "cpu", "go_version", "failed", "balanced",
	"paced_late_packets", "paced_burst",
	"raw_before_mpps", "raw_after_mpps", "impl_raw_mpps", "impl_ratio", "impl_same", "cpu_cores",
	"pass",
}

// WriteCSV writes one header line and one line per row.
func (r *Result) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	for _, x := range r.Rows {
		rec := []string{
			x.Size, f(x.WireBytes), x.Mode, x.Algo, strconv.Itoa(x.Lanes), x.Placement,
			u(x.Packets), u(x.Bytes), f(x.Seconds), f(x.Mpps), f(x.Gbps), u(x.LargeSends), f(x.LargeSendsPerSec),
			f(x.RawMpps), f(x.Ratio), strconv.Itoa(x.InFlight),
			f(x.LatencyLoad), f(x.OfferedMpps), f(x.AchievedMpps), u(x.LatencyPackets),
			f(x.LatencyMinUs), f(x.LatencyMeanUs), f(x.LatencyP50Us), f(x.LatencyP99Us), f(x.LatencyP999Us), f(x.LatencyMaxUs),
			f(x.AllocsPerPacket), strconv.FormatUint(uint64(x.GCCycles), 10), x.Impl, x.CPU, x.GoVersion, u(x.Failed), strconv.FormatBool(x.Balanced),
			u(x.PacedLatePackets), strconv.Itoa(x.PacedBurstPackets),
			f(x.RawBeforeMpps), f(x.RawAfterMpps), f(x.ImplRawMpps), f(x.ImplRatio), strconv.FormatBool(x.ImplSame), f(x.CPUCores),
			strconv.Itoa(x.Pass),
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
