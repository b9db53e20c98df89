package bench

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sampleResult is a result with known rows: 3 sizes x 2 lanes x 2 placements x 2 modes,
// minus nothing, plus its raw rows.
func sampleResult() *Result {
	r := &Result{
		StartedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), CPU: "Test CPU <1>", GoVersion: "go1.26.0",
		GOOS: "linux", GOARCH: "amd64", GOMAXPROCS: 2, NumCPU: 2, Features: "AES-NI PCLMULQDQ",
		DurationS: 3, WarmupS: 1, RawS: 1, Load: 0.5, InFlight: 1024, Burst: 32, SAsPerLane: 4,
		SizeNote: SizeNote, LatencyNote: "latency at 50%", Rows: []Row{}, Raw: []RawRow{}, Notes: []string{"a note"},
	}
	k := 0
	for _, mode := range []string{"encrypt", "decrypt"} {
		for si, size := range []string{"64", "1400", "imix"} {
			op := map[string]string{"encrypt": "seal", "decrypt": "open"}[mode]
			raw := 10.0 / float64(si+1)
			r.Raw = append(r.Raw, RawRow{Size: size, Algo: "aes128gcm", Op: op, Mpps: raw, WireBytes: 64,
				Impl: "crypto/cipher", Measurements: 8, MinMpps: raw * 0.9, MaxMpps: raw * 1.1})
			for _, lanes := range []int{1, 2} {
				for _, pl := range []string{"fused", "split"} {
					k++
					mpps := raw * 0.8 * float64(lanes) * (1 - 0.01*float64(k))
					row := Row{Size: size, WireBytes: 64, Mode: mode, Algo: "aes128gcm", Lanes: lanes, Placement: pl,
						Packets: 1000, Mpps: mpps, Gbps: mpps * 0.5, RawMpps: raw, Ratio: mpps / raw,
						RawBeforeMpps: raw * 0.95, RawAfterMpps: raw * 1.05, ImplRawMpps: raw, ImplRatio: mpps / raw, ImplSame: true,
						LatencyLoad: 0.5, LatencyPackets: 1000, LatencyP50Us: 2, LatencyP99Us: 20, LatencyP999Us: 80, LatencyMaxUs: 300,
						Impl: "stdlib AES-GCM (AES-NI+PCLMULQDQ asm)", CPU: "Test CPU <1>", GoVersion: "go1.26.0", Balanced: true}
					for _, p := range curvePercentiles {
						row.LatencyCurve = append(row.LatencyCurve, Point{Percentile: p, Us: 1 + p/10*float64(k)})
					}
					r.Rows = append(r.Rows, row)
				}
			}
		}
	}
	return r
}

// jsonKeys lists the JSON names of a struct type's fields.
func jsonKeys(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		out = append(out, name)
	}
	return out
}

func TestWriteJSONHasEveryField(t *testing.T) {
	r := sampleResult()
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, buf.String())
	}
	for _, k := range jsonKeys(reflect.TypeOf(Result{})) {
		if _, ok := m[k]; !ok {
			t.Errorf("result lacks %q", k)
		}
	}
	rows, _ := m["rows"].([]any)
	if len(rows) != len(r.Rows) {
		t.Fatalf("%d rows in JSON, want %d", len(rows), len(r.Rows))
	}
	// The fields the issue names, by name, and every field of Row.
	named := []string{"size", "mode", "algo", "lanes", "placement", "mpps", "gbps", "ratio", "raw_mpps",
		"latency_p50_us", "latency_p99_us", "latency_p999_us", "latency_max_us", "allocs_per_packet", "impl", "cpu", "go_version"}
	for i, x := range rows {
		row := x.(map[string]any)
		for _, k := range append(named, jsonKeys(reflect.TypeOf(Row{}))...) {
			if _, ok := row[k]; !ok {
				t.Errorf("row %d lacks %q", i, k)
			}
		}
	}
	if strings.Contains(buf.String(), `\u003c`) {
		t.Errorf("JSON escapes < in the CPU name")
	}
}

func TestWriteCSV(t *testing.T) {
	r := sampleResult()
	var buf bytes.Buffer
	if err := r.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(r.Rows)+1 {
		t.Fatalf("%d records, want header + %d rows", len(recs), len(r.Rows))
	}
	if !reflect.DeepEqual(recs[0], csvHeader) {
		t.Errorf("header %v", recs[0])
	}
	// Every scalar field of Row has a column.
	for _, k := range jsonKeys(reflect.TypeOf(Row{})) {
		if k == "latency_curve" {
			continue
		}
		found := false
		for _, h := range csvHeader {
			found = found || h == k
		}
		if !found {
			t.Errorf("no CSV column %q", k)
		}
	}
	col := func(name string) int {
		for i, h := range recs[0] {
			if h == name {
				return i
			}
		}
		t.Fatalf("no column %q", name)
		return -1
	}
	for i, rec := range recs[1:] {
		if len(rec) != len(csvHeader) {
			t.Fatalf("row %d has %d fields", i, len(rec))
		}
		if got, _ := strconv.ParseFloat(rec[col("mpps")], 64); got != r.Rows[i].Mpps {
			t.Errorf("row %d mpps %v, want %v", i, got, r.Rows[i].Mpps)
		}
		if rec[col("cpu")] != "Test CPU <1>" || rec[col("size")] != r.Rows[i].Size {
			t.Errorf("row %d: %v", i, rec)
		}
	}
}

func TestWriteTable(t *testing.T) {
	r := sampleResult()
	var buf bytes.Buffer
	if err := r.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"ov2 bench: Test CPU <1>, go1.26.0 linux/amd64, GOMAXPROCS 2", "crypto dispatched: stdlib AES-GCM",
		"raw Mpps", "impl Mpps", "impl ratio", "= raw", "p99.9 µs", "offered Mpps", "allocs/pkt", "raw limit, 1 core:", "note: a note",
		"measured beside each row", "min Mpps", "impl Mpps = raw Mpps"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "aes128gcm"); n != len(r.Rows)+len(r.Raw) {
		t.Errorf("%d lines name the algorithm, want %d rows + %d raw:\n%s", n, len(r.Rows), len(r.Raw), out)
	}
}

// svgDoc is what the SVG test reads back with encoding/xml.
type svgElem struct {
	name  string
	attrs map[string]string
	text  string
}

func parseSVG(t *testing.T, data []byte) (root svgElem, elems []svgElem) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(data))
	var stack []int
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG does not parse: %v", err)
		}
		switch x := tok.(type) {
		case xml.StartElement:
			e := svgElem{name: x.Name.Local, attrs: map[string]string{}}
			for _, a := range x.Attr {
				e.attrs[a.Name.Local] = a.Value
			}
			elems = append(elems, e)
			stack = append(stack, len(elems)-1)
		case xml.CharData:
			if len(stack) > 0 {
				elems[stack[len(stack)-1]].text += string(x)
			}
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
	if len(elems) == 0 {
		t.Fatal("empty SVG")
	}
	return elems[0], elems
}

func TestWriteSVG(t *testing.T) {
	r := sampleResult()
	var buf bytes.Buffer
	if err := r.WriteSVG(&buf); err != nil {
		t.Fatal(err)
	}
	root, elems := parseSVG(t, buf.Bytes())
	if root.name != "svg" || root.attrs["width"] == "" || root.attrs["height"] == "" || root.attrs["viewBox"] == "" {
		t.Fatalf("root %s %v", root.name, root.attrs)
	}
	var bars, lines, raws int
	var texts, legend []string
	for _, e := range elems {
		switch {
		case e.name == "rect" && e.attrs["class"] == "bar":
			bars++
		case e.name == "polyline" && e.attrs["class"] == "latency":
			lines++
		case e.name == "line" && e.attrs["class"] == "raw":
			raws++
		case e.name == "text":
			texts = append(texts, e.text)
			if e.attrs["class"] == "legend" {
				legend = append(legend, e.text)
			}
		}
		for k, v := range e.attrs {
			for _, bad := range []string{"NaN", "Inf"} {
				if strings.Contains(v, bad) {
					t.Errorf("<%s %s=%q>", e.name, k, v)
				}
			}
		}
	}
	if bars != len(r.Rows) || lines != len(r.Rows) {
		t.Errorf("%d bars and %d latency lines, want %d of each", bars, lines, len(r.Rows))
	}
	if raws != 3*2 { // every size, seal and open
		t.Errorf("%d raw-limit lines, want 6", raws)
	}
	all := strings.Join(texts, "\n")
	for _, want := range []string{"Mpps", "µs", "Test CPU <1>", "go1.26.0", "64 B", "1400 B", "imix", "99.9%", "max"} {
		if !strings.Contains(all, want) {
			t.Errorf("no text with %q", want)
		}
	}
	names := r.SeriesNames()
	if len(names) != 8 || names[0] != "encrypt, 1 lane, fused" || names[7] != "decrypt, 2 lanes, split" {
		t.Errorf("series %q", names)
	}
	for _, n := range names {
		found := false
		for _, l := range legend {
			found = found || l == n
		}
		if !found {
			t.Errorf("legend lacks %q (has %q)", n, legend)
		}
	}
}

// A result with nothing measured, or zeros and infinities, still draws a valid chart.
func TestWriteSVGDegenerate(t *testing.T) {
	for _, r := range []*Result{
		{Rows: []Row{}},
		{Rows: []Row{{Size: "64", Mode: "encrypt", Lanes: 1, Placement: "fused", LatencyCurve: []Point{{50, 0}, {100, 0}}}}},
		{Rows: []Row{{Size: "64", Mode: "encrypt", Lanes: 1, Placement: "fused", Mpps: math.Inf(1), RawMpps: math.NaN()}}},
	} {
		var buf bytes.Buffer
		if err := r.WriteSVG(&buf); err != nil {
			t.Fatal(err)
		}
		_, elems := parseSVG(t, buf.Bytes())
		for _, e := range elems {
			for k, v := range e.attrs {
				if strings.Contains(v, "NaN") || strings.Contains(v, "Inf") {
					t.Errorf("<%s %s=%q>", e.name, k, v)
				}
			}
		}
	}
}
