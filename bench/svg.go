package bench

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// The chart: throughput on the left (grouped bars of Mpps per size, one bar per series of
// mode, lanes and placement, with the raw limit as a dashed line over each group), latency
// on the right (the percentile curve of every row on a "nines" axis), a legend below, and a
// title naming the CPU and Go version. Hand-written SVG 1.1, parseable by encoding/xml.

const (
	svgW       = 1200
	svgPlotTop = 80
	svgPlotBot = 430 // bottom of both plot areas
	svgLeftL   = 70  // throughput plot area, x
	svgLeftR   = 580
	svgRightL  = 690 // latency plot area, x
	svgRightR  = 1170
	svgLegendY = 490
	svgLegendW = 280 // width of a legend column
)

// palette is Tableau 10: distinct hues that survive grey-scale printing reasonably.
var palette = []string{"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"}

// dashes tell sizes apart on the latency panel.
var dashes = []string{"", "8 4", "2 3", "10 3 2 3", "4 4", "1 6"}

// rawDashes tell raw operations apart on the throughput panel.
var rawDashes = map[string]string{"seal": "6 3", "open": "2 2", "seal+open": "9 3 2 3"}

// series is one bar colour: the rows that differ only by size.
type series struct {
	name string
	rows []int // index into Result.Rows
}

// seriesName names a row's series; algo is in it only when the result has several.
func seriesName(x Row, multiAlgo bool) string {
	l := "lanes"
	if x.Lanes == 1 {
		l = "lane"
	}
	s := x.Mode
	if multiAlgo {
		s += " " + x.Algo
	}
	return fmt.Sprintf("%s, %d %s, %s", s, x.Lanes, l, x.Placement)
}

// SeriesNames lists the chart's series in legend order.
func (r *Result) SeriesNames() []string {
	var out []string
	for _, s := range r.series() {
		out = append(out, s.name)
	}
	return out
}

func (r *Result) series() []series {
	algos := map[string]bool{}
	for _, x := range r.Rows {
		algos[x.Algo] = true
	}
	var out []series
	idx := map[string]int{}
	for i, x := range r.Rows {
		n := seriesName(x, len(algos) > 1)
		k, ok := idx[n]
		if !ok {
			k = len(out)
			idx[n] = k
			out = append(out, series{name: n})
		}
		out[k].rows = append(out[k].rows, i)
	}
	return out
}

// sizes lists the rows' sizes in order of appearance.
func (r *Result) sizes() []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range r.Rows {
		if !seen[x.Size] {
			seen[x.Size] = true
			out = append(out, x.Size)
		}
	}
	return out
}

func sizeLabel(s string) string {
	if _, err := strconv.Atoi(s); err == nil {
		return s + " B"
	}
	return s
}

// svgWriter collects elements; num formats a coordinate, never NaN or Inf.
type svgWriter struct{ b bytes.Buffer }

func num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v = 0
	}
	return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
}

// finite is v, or 0 for NaN and the infinities, which no axis can hold.
func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

func (w *svgWriter) f(format string, a ...any) { fmt.Fprintf(&w.b, format, a...) }

func (w *svgWriter) line(x1, y1, x2, y2 float64, attrs string) {
	w.f(`<line x1="%s" y1="%s" x2="%s" y2="%s" %s/>`+"\n", num(x1), num(y1), num(x2), num(y2), attrs)
}

func (w *svgWriter) text(x, y float64, class, anchor, s string, extra string) {
	w.f(`<text class="%s" x="%s" y="%s" text-anchor="%s"%s>%s</text>`+"\n", class, num(x), num(y), anchor, extra, esc(s))
}

// niceStep is a 1, 2 or 5 times a power of ten step that cuts 0..max into about n ticks.
func niceStep(max float64, n int) float64 {
	if !(max > 0) || math.IsInf(max, 0) {
		return 1
	}
	raw := max / float64(n)
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

// nines is the latency panel's x position of a percentile: -log10(1 - p/100), so 90%, 99%,
// 99.9% are evenly spaced; the maximum (100%) is drawn one step past 99.99%.
func nines(p float64) float64 {
	if p >= 100 {
		return 5
	}
	return -math.Log10(1 - p/100)
}

// WriteSVG draws the chart. Of a run of several passes it draws each row's median pass
// (medianRows).
func (r *Result) WriteSVG(out io.Writer) error {
	if r.Repeat > 1 {
		c := *r
		c.Rows, c.Repeat = r.medianRows(), 1
		r = &c
	}
	ser := r.series()
	sizes := r.sizes()
	var w svgWriter

	// Legend layout first: it sets the height.
	type entry struct {
		kind, name, color, dash string
	}
	var legend []entry
	for i, s := range ser {
		legend = append(legend, entry{"series", s.name, palette[i%len(palette)], ""})
	}
	var rawOps []string
	for _, x := range r.Rows {
		op := rawOpName(x.Mode)
		found := false
		for _, o := range rawOps {
			found = found || o == op
		}
		if !found && finite(x.RawMpps) > 0 {
			rawOps = append(rawOps, op)
		}
	}
	for _, op := range rawOps {
		legend = append(legend, entry{"raw", "raw limit: " + op + " (Go standard library, 1 core, beside each row)", "#333", rawDashes[op]})
	}
	for i, s := range sizes {
		legend = append(legend, entry{"size", "latency, " + sizeLabel(s), "#555", dashes[i%len(dashes)]})
	}
	cols := svgW / svgLegendW
	rows := (len(legend) + cols - 1) / cols
	height := svgLegendY + rows*22 + 20

	w.f(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", svgW, height, svgW, height)
	w.f("<style>.bar{stroke:none}.raw{stroke:#333;stroke-width:1.5;fill:none}.latency{fill:none;stroke-width:1.6}.axis{stroke:#000;stroke-width:1}.grid{stroke:#ddd;stroke-width:1}.title{font-size:16px;font-weight:bold}.label{font-size:13px}</style>\n")
	w.f(`<rect x="0" y="0" width="%d" height="%d" fill="#fff"/>`+"\n", svgW, height)
	title := fmt.Sprintf("ov2 bench: %s, %s, GOMAXPROCS %d", r.CPU, r.GoVersion, r.GOMAXPROCS)
	w.text(svgW/2, 24, "title", "middle", title, "")
	sub := fmt.Sprintf("%gs per row after %gs warm-up; IPv4 transport ESP wire sizes; latency from NIC entry to completion", r.DurationS, r.WarmupS)
	w.text(svgW/2, 44, "subtitle", "middle", sub, "")

	// Left panel: throughput.
	maxMpps := 0.0
	for _, x := range r.Rows {
		maxMpps = math.Max(maxMpps, math.Max(finite(x.Mpps), finite(x.RawMpps)))
	}
	step := niceStep(maxMpps*1.05, 6)
	top := math.Ceil(maxMpps*1.05/step) * step
	if !(top > 0) {
		top = 1
	}
	yOf := func(v float64) float64 { return svgPlotBot - v/top*(svgPlotBot-svgPlotTop) }
	w.text((svgLeftL+svgLeftR)/2, svgPlotTop-14, "panel", "middle", "Throughput per size (bars) and the raw single-core limit (dashed)", "")
	for v := 0.0; v <= top+step/2; v += step {
		y := yOf(v)
		w.line(svgLeftL, y, svgLeftR, y, `class="grid"`)
		w.text(svgLeftL-6, y+4, "tick", "end", tickText(v), "")
	}
	w.line(svgLeftL, svgPlotTop, svgLeftL, svgPlotBot, `class="axis"`)
	w.line(svgLeftL, svgPlotBot, svgLeftR, svgPlotBot, `class="axis"`)
	w.text(20, (svgPlotTop+svgPlotBot)/2, "label", "middle", "throughput (Mpps)", fmt.Sprintf(` transform="rotate(-90 20 %s)"`, num((svgPlotTop+svgPlotBot)/2)))
	w.text((svgLeftL+svgLeftR)/2, svgPlotBot+40, "label", "middle", "packet size (wire bytes)", "")
	groupW := float64(svgLeftR-svgLeftL) / float64(max(1, len(sizes)))
	barW := groupW * 0.8 / float64(max(1, len(ser)))
	for gi, s := range sizes {
		gx := svgLeftL + groupW*float64(gi) + groupW*0.1
		w.text(gx+groupW*0.4, svgPlotBot+18, "xtick", "middle", sizeLabel(s), "")
		for si, se := range ser {
			for _, ri := range se.rows {
				x := r.Rows[ri]
				if x.Size != s {
					continue
				}
				y := yOf(x.Mpps)
				w.f(`<rect class="bar" x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s</title></rect>`+"\n",
					num(gx+barW*float64(si)), num(y), num(barW*0.92), num(svgPlotBot-y), palette[si%len(palette)],
					esc(fmt.Sprintf("%s, %s: %.3f Mpps, %.2f Gbit/s, ratio %.2f to the raw limit", se.name, sizeLabel(s), x.Mpps, x.Gbps, x.Ratio)))
			}
		}
		// The raw limits of this size, one line per operation (and algorithm).
		drawn := map[string]bool{}
		for _, x := range r.Rows {
			key := rawOpName(x.Mode) + " " + x.Algo
			if x.Size != s || !(finite(x.RawMpps) > 0) || drawn[key] {
				continue
			}
			drawn[key] = true
			y := yOf(x.RawMpps)
			w.f(`<line class="raw" x1="%s" y1="%s" x2="%s" y2="%s" stroke-dasharray="%s"><title>%s</title></line>`+"\n",
				num(gx-2), num(y), num(gx+groupW*0.8+2), num(y), rawDashes[rawOpName(x.Mode)],
				esc(fmt.Sprintf("raw limit %s %s %s: %.3f Mpps", rawOpName(x.Mode), x.Algo, sizeLabel(s), x.RawMpps)))
		}
	}

	// Right panel: latency percentiles.
	lo, hi := math.Inf(1), 0.0
	for _, x := range r.Rows {
		for _, p := range x.LatencyCurve {
			if finite(p.Us) > 0 {
				lo, hi = math.Min(lo, p.Us), math.Max(hi, p.Us)
			}
		}
	}
	if math.IsInf(lo, 1) || !(hi > 0) {
		lo, hi = 1, 10
	}
	dLo, dHi := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if dHi <= dLo {
		dHi = dLo + 1
	}
	ly := func(us float64) float64 {
		if !(us > 0) {
			us = math.Pow(10, dLo)
		}
		return svgPlotBot - (math.Log10(us)-dLo)/(dHi-dLo)*(svgPlotBot-svgPlotTop)
	}
	x0, x1 := nines(50), nines(100)
	lx := func(p float64) float64 {
		return svgRightL + (nines(p)-x0)/(x1-x0)*(svgRightR-svgRightL)
	}
	w.text((svgRightL+svgRightR)/2, svgPlotTop-14, "panel", "middle", fmt.Sprintf("Latency distribution at %s load (one line per row)", pct(r.Load)), "")
	for d := dLo; d <= dHi; d++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, d)
			if math.Log10(v) > dHi+1e-9 {
				break
			}
			y := ly(v)
			w.line(svgRightL, y, svgRightR, y, `class="grid"`)
			if m == 1 || dHi-dLo <= 3 { // label 2 and 5 only when there is room
				w.text(svgRightL-6, y+4, "tick", "end", tickText(v), "")
			}
		}
	}
	for _, p := range []struct {
		p     float64
		label string
	}{{50, "50%"}, {90, "90%"}, {99, "99%"}, {99.9, "99.9%"}, {99.99, "99.99%"}, {100, "max"}} {
		x := lx(p.p)
		w.line(x, svgPlotTop, x, svgPlotBot, `class="grid"`)
		w.text(x, svgPlotBot+18, "xtick", "middle", p.label, "")
	}
	w.line(svgRightL, svgPlotTop, svgRightL, svgPlotBot, `class="axis"`)
	w.line(svgRightL, svgPlotBot, svgRightR, svgPlotBot, `class="axis"`)
	w.text(svgRightL-48, (svgPlotTop+svgPlotBot)/2, "label", "middle", "latency (µs, log scale)", fmt.Sprintf(` transform="rotate(-90 %d %s)"`, svgRightL-48, num((svgPlotTop+svgPlotBot)/2)))
	w.text((svgRightL+svgRightR)/2, svgPlotBot+40, "label", "middle", "percentile of packets", "")
	sizeIdx := map[string]int{}
	for i, s := range sizes {
		sizeIdx[s] = i
	}
	for si, se := range ser {
		for _, ri := range se.rows {
			x := r.Rows[ri]
			if len(x.LatencyCurve) == 0 {
				continue
			}
			var pts []string
			for _, p := range x.LatencyCurve {
				pts = append(pts, num(lx(p.Percentile))+","+num(ly(p.Us)))
			}
			dash := ""
			if d := dashes[sizeIdx[x.Size]%len(dashes)]; d != "" {
				dash = fmt.Sprintf(` stroke-dasharray="%s"`, d)
			}
			w.f(`<polyline class="latency" points="%s" stroke="%s"%s><title>%s</title></polyline>`+"\n",
				strings.Join(pts, " "), palette[si%len(palette)], dash,
				esc(fmt.Sprintf("%s, %s: p50 %.1f µs, p99 %.1f µs, p99.9 %.1f µs, max %.1f µs", se.name, sizeLabel(x.Size), x.LatencyP50Us, x.LatencyP99Us, x.LatencyP999Us, x.LatencyMaxUs)))
		}
	}

	// Legend.
	for i, e := range legend {
		x := float64(20 + (i%cols)*svgLegendW)
		y := float64(svgLegendY + (i/cols)*22)
		switch e.kind {
		case "series":
			w.f(`<rect class="swatch" x="%s" y="%s" width="14" height="12" fill="%s"/>`+"\n", num(x), num(y-10), e.color)
		default:
			dash := ""
			if e.dash != "" {
				dash = fmt.Sprintf(` stroke-dasharray="%s"`, e.dash)
			}
			w.f(`<line class="legend-line" x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1.6"%s/>`+"\n", num(x-4), num(y-4), num(x+18), num(y-4), e.color, dash)
		}
		w.text(x+22, y, "legend", "start", e.name, "")
	}
	w.f("</svg>\n")
	_, err := out.Write(w.b.Bytes())
	return err
}

// tickText prints an axis value: whole numbers with thin spaces between thousands, small
// ones with the digits they need.
func tickText(v float64) string {
	if v < 1 {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	s := strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64)
	whole, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteString("\u2009")
		}
		b.WriteRune(c)
	}
	if frac != "" {
		b.WriteString("." + frac)
	}
	return b.String()
}

// rawOpName is the raw operation a mode name is compared with.
func rawOpName(mode string) string {
	m, err := ParseMode(mode)
	if err != nil {
		return "seal"
	}
	return rawOpFor(m).String()
}
