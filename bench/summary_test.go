package bench

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{0.7}, 0.7},
		{[]float64{0.9, 0.5}, 0.7},
		{[]float64{0.9, 0.5, 0.8}, 0.8},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{1, 1, 5, 1, 9}, 1},
	} {
		in := append([]float64(nil), tc.in...)
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
		if !reflect.DeepEqual(in, tc.in) {
			t.Errorf("median changed its input: %v, was %v", tc.in, in)
		}
	}
}

// Rows of three passes over two row kinds, interleaved as Run makes them: each kind's
// summary takes its own three passes, in the order the kinds first appear.
func TestSummarize(t *testing.T) {
	row := func(algo string, pass int, mpps, ratio, impl, allocs float64) Row {
		return Row{Size: "1400", Mode: "decrypt", Algo: algo, Lanes: 1, Placement: "fused", Pass: pass,
			Mpps: mpps, Ratio: ratio, ImplRatio: impl, AllocsPerPacket: allocs, ImplSame: algo == "ah-sha256"}
	}
	rows := []Row{
		row("ah-sha256", 1, 0.46, 0.84, 0.84, 0),
		row("aes128gcm", 1, 3.1, 1.70, 0.60, 0),
		row("ah-sha256", 2, 0.45, 0.83, 0.83, 0.001),
		row("aes128gcm", 2, 2.9, 1.50, 0.62, 0),
		row("ah-sha256", 3, 0.53, 0.97, 0.97, 0),
		row("aes128gcm", 3, 3.3, 1.90, 0.58, 0),
	}
	got := summarize(rows)
	want := []Summary{
		{Size: "1400", Mode: "decrypt", Algo: "ah-sha256", Lanes: 1, Placement: "fused", Runs: 3,
			MppsMedian: 0.46, RatioMedian: 0.84, RatioMin: 0.83, RatioMax: 0.97, ImplRatioMedian: 0.84, ImplSame: true, AllocsMax: 0.001},
		{Size: "1400", Mode: "decrypt", Algo: "aes128gcm", Lanes: 1, Placement: "fused", Runs: 3,
			MppsMedian: 3.1, RatioMedian: 1.70, RatioMin: 1.50, RatioMax: 1.90, ImplRatioMedian: 0.60},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("summarize:\n got %+v\nwant %+v", got, want)
	}
	// The chart's rows: each kind's median pass by Mpps, first-pass order.
	r := &Result{Repeat: 3, Rows: rows}
	if m := r.medianRows(); len(m) != 2 || m[0].Pass != 1 || m[0].Algo != "ah-sha256" || m[1].Pass != 1 || m[1].Algo != "aes128gcm" {
		t.Errorf("medianRows: %+v", m)
	}
	// Of an even number of passes, the lower middle one.
	r.Rows = rows[:4]
	if m := r.medianRows(); len(m) != 2 || m[0].Pass != 2 || m[1].Pass != 2 {
		t.Errorf("medianRows of two passes: %+v", m)
	}
	r.Repeat, r.Rows = 1, rows
	if m := r.medianRows(); len(m) != 6 {
		t.Errorf("medianRows of one pass: %d rows, want all 6", len(m))
	}
}

// A real run of three passes over two rows: the rows come interleaved (pass 1 of both,
// then pass 2 of both, ...), numbered, and summarized exactly; the table and the CSV say so.
func TestRunRepeat(t *testing.T) {
	if testing.Short() {
		t.Skip("real run")
	}
	var lines []string
	res, err := Run(context.Background(), Options{
		Sizes: []Size{{Kind: Fixed, Bytes: 64}}, Modes: []Mode{Encrypt, Decrypt}, Repeat: 3,
		Duration: 100 * time.Millisecond, Warmup: 20 * time.Millisecond, RawDuration: 20 * time.Millisecond,
	}, func(s string) { lines = append(lines, s) })
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, res, 6)
	if res.Repeat != 3 || len(res.Summary) != 2 {
		t.Fatalf("repeat %d, %d summaries", res.Repeat, len(res.Summary))
	}
	for i, x := range res.Rows {
		if wantPass, wantMode := i/2+1, []string{"encrypt", "decrypt"}[i%2]; x.Pass != wantPass || x.Mode != wantMode {
			t.Errorf("row %d: pass %d %s, want pass %d %s", i, x.Pass, x.Mode, wantPass, wantMode)
		}
		if want := "pass " + string(rune('0'+x.Pass)) + "/3: "; !strings.HasPrefix(lines[1+i], want) {
			t.Errorf("progress line %q, want it to begin %q", lines[1+i], want)
		}
	}
	for k, s := range res.Summary {
		var mpps, ratio []float64
		for _, x := range res.Rows[k:] {
			if x.Mode == s.Mode {
				mpps, ratio = append(mpps, x.Mpps), append(ratio, x.Ratio)
			}
		}
		if s.Runs != 3 || s.MppsMedian != median(mpps) || s.RatioMedian != median(ratio) || len(mpps) != 3 {
			t.Errorf("summary %+v of Mpps %v ratios %v", s, mpps, ratio)
		}
	}
	var table, csv strings.Builder
	if err := res.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "3 passes: each measures every row once") || !strings.Contains(table.String(), "medians over the passes") {
		t.Errorf("table without the passes' note or medians:\n%s", table.String())
	}
	if err := res.WriteCSV(&csv); err != nil {
		t.Fatal(err)
	}
	// The chart of the passes is the chart of each row's median pass.
	var svg, one strings.Builder
	c := *res
	c.Rows, c.Repeat = res.medianRows(), 1
	if err := res.WriteSVG(&svg); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteSVG(&one); err != nil {
		t.Fatal(err)
	}
	if len(c.Rows) != 2 || svg.String() != one.String() {
		t.Errorf("the chart of 3 passes is not the chart of the %d median rows", len(c.Rows))
	}
	recs := strings.Split(strings.TrimSpace(csv.String()), "\n")
	if len(recs) != 7 || !strings.HasSuffix(recs[0], ",pass") || !strings.HasSuffix(recs[6], ",3") {
		t.Errorf("CSV: %d lines, header %q, last %q", len(recs), recs[0], recs[len(recs)-1])
	}
}
