package bench

import (
	"cmp"
	"slices"
)

// Summary is one row over the passes of a run (Options.Repeat): how many passes measured
// it, and the median of its figures with the range of its ratio. With one pass the
// medians are the row's own figures.
type Summary struct {
	Size      string `json:"size"`
	Mode      string `json:"mode"`
	Algo      string `json:"algo"`
	Lanes     int    `json:"lanes"`
	Placement string `json:"placement"`

	Runs            int     `json:"runs"` // passes that measured the row
	MppsMedian      float64 `json:"mpps_median"`
	RatioMedian     float64 `json:"ratio_median"` // of the per-pass ratios to the raw limit
	RatioMin        float64 `json:"ratio_min"`
	RatioMax        float64 `json:"ratio_max"`
	ImplRatioMedian float64 `json:"impl_ratio_median"`
	ImplSame        bool    `json:"impl_same"`
	// AllocsMax is the highest allocations per packet of any pass: 0 means none in any.
	AllocsMax float64 `json:"allocs_max"`
}

// summaryKey is what makes rows of different passes the same row.
type summaryKey struct {
	size, mode, algo, placement string
	lanes                       int
}

func keyOf(x *Row) summaryKey {
	return summaryKey{x.Size, x.Mode, x.Algo, x.Placement, x.Lanes}
}

// summarize groups rows by size, mode, algorithm, lanes and placement, in the order each
// first appears, and takes each group's medians.
func summarize(rows []Row) []Summary {
	out := []Summary{}
	for _, g := range groups(rows) {
		first := &rows[g[0]]
		s := Summary{Size: first.Size, Mode: first.Mode, Algo: first.Algo, Lanes: first.Lanes,
			Placement: first.Placement, Runs: len(g), ImplSame: first.ImplSame}
		var mpps, ratio, impl []float64
		for _, i := range g {
			x := &rows[i]
			mpps = append(mpps, x.Mpps)
			ratio = append(ratio, x.Ratio)
			impl = append(impl, x.ImplRatio)
			s.AllocsMax = max(s.AllocsMax, x.AllocsPerPacket)
		}
		s.MppsMedian, s.RatioMedian, s.ImplRatioMedian = median(mpps), median(ratio), median(impl)
		s.RatioMin, s.RatioMax = slices.Min(ratio), slices.Max(ratio)
		out = append(out, s)
	}
	return out
}

// groups returns the indexes of rows by summaryKey, groups in order of first appearance,
// each group in pass order.
func groups(rows []Row) [][]int {
	var out [][]int
	at := map[summaryKey]int{}
	for i := range rows {
		k := keyOf(&rows[i])
		j, ok := at[k]
		if !ok {
			j = len(out)
			at[k] = j
			out = append(out, nil)
		}
		out[j] = append(out[j], i)
	}
	return out
}

// median is the middle value of v, or the mean of the two middle values when len(v) is
// even; 0 for none. v is not changed.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// medianRows returns, for every row of a run of several passes, the pass whose Mpps is
// the median (of an even number, the lower of the two middle ones), in the order of the
// first pass: what the chart draws. With one pass it returns the rows as they are.
func (r *Result) medianRows() []Row {
	if r.Repeat <= 1 {
		return r.Rows
	}
	var out []Row
	for _, g := range groups(r.Rows) {
		s := slices.Clone(g)
		slices.SortStableFunc(s, func(a, b int) int { return cmp.Compare(r.Rows[a].Mpps, r.Rows[b].Mpps) })
		out = append(out, r.Rows[s[(len(s)-1)/2]])
	}
	return out
}
