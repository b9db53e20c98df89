package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// benchRun runs the command line in process, as main does.
func benchRun(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

// `ov2 bench --json` on a tiny run: valid JSON, nothing else on stdout, every field the
// issue names in every row; the CSV and the chart written beside it.
func TestBenchJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("real run")
	}
	dir := t.TempDir()
	svg, csvPath := filepath.Join(dir, "bench.svg"), filepath.Join(dir, "bench.csv")
	code, out, errOut := benchRun("bench", "--size", "64,imix", "--lanes", "1,2", "--duration", "100ms", "--warmup=20ms",
		"--json", "--plot", svg, "-csv", csvPath)
	if code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", code, errOut)
	}
	var res struct {
		CPU, GoVersion string
		Rows           []map[string]any `json:"rows"`
		Raw            []map[string]any `json:"raw"`
	}
	var all map[string]any
	if err := json.Unmarshal([]byte(out), &all); err != nil {
		t.Fatalf("stdout is not one JSON value: %v\n%s", err, out)
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 4 || len(res.Raw) != 2 {
		t.Fatalf("%d rows, %d raw rows", len(res.Rows), len(res.Raw))
	}
	for _, k := range []string{"cpu", "go_version", "gomaxprocs", "cpu_features", "rows", "raw", "started_at", "machine_jitter"} {
		if _, ok := all[k]; !ok {
			t.Errorf("result lacks %q", k)
		}
	}
	for i, r := range res.Rows {
		for _, k := range []string{"size", "mode", "algo", "lanes", "placement", "mpps", "gbps", "ratio", "raw_mpps",
			"latency_p50_us", "latency_p99_us", "latency_p999_us", "latency_max_us", "allocs_per_packet", "impl", "cpu", "go_version",
			"large_sends_per_sec", "offered_mpps", "achieved_mpps", "latency_curve"} {
			if _, ok := r[k]; !ok {
				t.Errorf("row %d lacks %q", i, k)
			}
		}
		if r["mpps"].(float64) <= 0 || r["impl"].(string) == "" || r["balanced"] != true {
			t.Errorf("row %d: %v", i, r)
		}
	}
	// One progress line per raw loop, the machine's jitter, one per row, and the two files.
	if n := strings.Count(errOut, "\n"); n != 2+1+4+2 || !strings.Contains(errOut, "ov2 bench: machine jitter: ") {
		t.Errorf("%d lines on stderr, want 9 with the jitter line:\n%s", n, errOut)
	}
	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) != 5 || recs[0][0] != "size" {
		t.Errorf("CSV: %d records, %v", len(recs), err)
	}
	data, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	bars := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "rect" {
			for _, a := range se.Attr {
				if a.Name.Local == "class" && a.Value == "bar" {
					bars++
				}
			}
		}
	}
	if bars != 4 {
		t.Errorf("%d bars, want 4", bars)
	}
	// No temporary files left behind.
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("directory holds %d entries", len(ents))
	}
}

// The text table is the default output.
func TestBenchTable(t *testing.T) {
	if testing.Short() {
		t.Skip("real run")
	}
	code, out, errOut := benchRun("bench", "--size", "1400", "--lanes", "1", "--mode", "decrypt", "--duration", "50ms", "--warmup", "0s", "--load", "50%")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	for _, want := range []string{"ov2 bench: ", "crypto dispatched: ", "raw Mpps", "offered Mpps", "1400 B", "decrypt", "raw limit, 1 core:"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

// benchUsageLine follows every usage error of ov2 bench.
const benchUsageLine = "usage: ov2 bench [flags] (ov2 bench --help for the flags)\n"

// Usage errors: exit 2 and a message naming the flag and the bad value.
func TestBenchBadFlags(t *testing.T) {
	dir := t.TempDir()
	// An existing chart, and a link to it under another name.
	if err := os.WriteFile(filepath.Join(dir, "chart.svg"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("chart.svg", filepath.Join(dir, "link.svg")); err != nil {
		t.Fatal(err)
	}
	const sizeWant = "want a wire size in bytes (64 to 2048, a multiple of 4), imix or lso64k"
	const loadWant = "want a share of the measured maximum, more than 0% and at most 100% (e.g. 50%)"
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--size", "0"}, "ov2 bench: --size 0: 0 bytes is out of range: " + sizeWant + "\n"},
		{[]string{"--size", "foo"}, `ov2 bench: --size foo: "foo" is not a size: ` + sizeWant + "\n"},
		{[]string{"--size=64,65"}, "ov2 bench: --size 64,65: 65 bytes is not a multiple of 4, which every IPv4 transport ESP packet with a 16-byte ICV is: " + sizeWant + "\n"},
		{[]string{"--lanes", "0"}, "ov2 bench: --lanes 0: 0 lanes: want 1 to 64\n"},
		{[]string{"--lanes", "1,x"}, `ov2 bench: --lanes 1,x: "x" is not a lane count: want 1 to 64` + "\n"},
		{[]string{"--load", "150%"}, "ov2 bench: --load 150%: 150% is out of range: " + loadWant + "\n"},
		{[]string{"--mode", "bogus"}, `ov2 bench: --mode bogus: "bogus" is not a mode: want encrypt, decrypt or roundtrip` + "\n"},
		{[]string{"--algo", "des"}, `ov2 bench: --algo des: "des" is not an algorithm: want aes128gcm, aes256gcm, gmac, aes128cbc-sha256, aes256cbc-sha1, null-sha256 or ah-sha256` + "\n"},
		{[]string{"--placement", "spread"}, `ov2 bench: --placement spread: "spread" is not a placement: want fused, split or both` + "\n"},
		{[]string{"--duration", "-1s"}, "ov2 bench: --duration -1s: want a positive duration, e.g. 3s\n"},
		{[]string{"--duration", "0s"}, "ov2 bench: --duration 0s: want a positive duration, e.g. 3s\n"},
		{[]string{"--warmup", "-1s"}, "ov2 bench: --warmup -1s: want 0 or a positive duration, e.g. 1s\n"},
		{[]string{"--in-flight", "0"}, "ov2 bench: --in-flight 0: want 1 to 65536\n"},
		{[]string{"--repeat", "0"}, "ov2 bench: --repeat 0: want 1 to 100\n"},
		{[]string{"--repeat=101"}, "ov2 bench: --repeat 101: want 1 to 100\n"},
		{[]string{"--plot", filepath.Join(dir, "chart.png")}, "ov2 bench: --plot " + filepath.Join(dir, "chart.png") + ": want a file name ending in .svg\n"},
		{[]string{"--csv", filepath.Join(dir, "missing", "x.csv")}, "ov2 bench: --csv " + filepath.Join(dir, "missing", "x.csv") + ": directory " + filepath.Join(dir, "missing") + " does not exist\n"},
		{[]string{"extra"}, `ov2 bench: unexpected argument "extra" (flags only)` + "\n"},
		{[]string{"--csv", dir + "/./r.svg", "--plot", filepath.Join(dir, "r.svg")}, `ov2 bench: --csv and --plot name the same file "` + dir + `/./r.svg"` + "\n"},
		{[]string{"--csv", filepath.Join(dir, "link.svg"), "--plot", filepath.Join(dir, "chart.svg")}, `ov2 bench: --csv and --plot name the same file "` + filepath.Join(dir, "link.svg") + `"` + "\n"},
	}
	for _, tc := range cases {
		code, out, errOut := benchRun(append([]string{"bench"}, tc.args...)...)
		tc.want += benchUsageLine
		if code != 2 || errOut != tc.want || out != "" {
			t.Errorf("ov2 bench %q: exit %d, stderr %q, stdout %q\nwant exit 2, stderr %q", tc.args, code, errOut, out, tc.want)
		}
	}
	// The flag package's own errors, in the --flag style of the help.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--bogus"}, "ov2 bench: unknown flag --bogus\n"},
		{[]string{"--duration", "3 s"}, `ov2 bench: --duration "3 s": want a duration with its unit, such as 3s or 500ms` + "\n"},
		{[]string{"--json=maybe"}, `ov2 bench: --json "maybe": want true or false` + "\n"},
		{[]string{"--csv"}, "ov2 bench: --csv needs a value\n"},
	} {
		code, _, errOut := benchRun(append([]string{"bench"}, tc.args...)...)
		if code != 2 || errOut != tc.want+benchUsageLine {
			t.Errorf("ov2 bench %q: exit %d, stderr %q; want 2 and %q", tc.args, code, errOut, tc.want+benchUsageLine)
		}
	}
}

func TestBenchHelp(t *testing.T) {
	for _, h := range []string{"--help", "-h"} {
		code, out, errOut := benchRun("bench", h)
		if code != 0 || errOut != "" || !strings.HasPrefix(out, "usage: ov2 bench [flags]\n") || !strings.Contains(out, "example:") ||
			!strings.Contains(out, "wire sizes") || !strings.Contains(out, "queueing") ||
			!strings.Contains(out, "\n  --size LIST ") || !strings.Contains(out, "(default 64,1400,imix)") {
			t.Errorf("%s: exit %d, stderr %q\n%s", h, code, errOut, out)
		}
	}
	code, out, _ := benchRun("help")
	if code != 0 || !strings.Contains(out, "bench    measure throughput and latency") {
		t.Errorf("ov2 help: exit %d\n%s", code, out)
	}
}

// --csv and --plot treat their files as every output of ov2 is treated (internal/outfile):
// a symlink stays a symlink with its target replaced, a FIFO is written in place, and a
// device is never replaced: a full one (/dev/full) fails the run with its error. Before,
// the CSV and the chart went through a temporary file renamed onto the path, which as
// root replaced /dev/null itself with a regular file.
func TestBenchOutputsInPlace(t *testing.T) {
	if testing.Short() {
		t.Skip("real run")
	}
	dir := t.TempDir()
	real := filepath.Join(dir, "real.csv")
	os.WriteFile(real, []byte("old\n"), 0o600)
	link := filepath.Join(dir, "link.csv")
	os.Symlink("real.csv", link)
	fifo := filepath.Join(dir, "chart.svg")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte)
	go func() {
		b, _ := os.ReadFile(fifo)
		got <- b
	}()
	args := []string{"bench", "--size", "64", "--lanes", "1", "--duration", "50ms", "--warmup", "10ms", "--repeat", "2"}
	code, _, errOut := benchRun(append(args, "--csv", link, "--plot", fifo)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if li, err := os.Lstat(link); err != nil || li.Mode()&os.ModeSymlink == 0 {
		t.Errorf("%s is no longer a symlink (%v)", link, err)
	}
	b, _ := os.ReadFile(real)
	if lines := strings.Count(string(b), "\n"); lines != 3 || !strings.HasPrefix(string(b), "size,") {
		t.Errorf("the link's target holds %d lines: %q", lines, b)
	}
	// A FIFO that was replaced fails the test before the device below is tried: that
	// regression would replace /dev/full too.
	if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("%s is no longer a FIFO (%v)", fifo, err)
	}
	select {
	case svg := <-got:
		if !bytes.HasPrefix(svg, []byte("<svg")) || !bytes.HasSuffix(bytes.TrimSpace(svg), []byte("</svg>")) {
			t.Errorf("the FIFO's reader got %d bytes, not one chart", len(svg))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the FIFO's reader got nothing")
	}
	if fi, err := os.Stat("/dev/full"); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		code, _, errOut := benchRun(append(args, "--csv", "/dev/full")...)
		if want := "ov2: /dev/full: write: no space left on device\n"; code != 1 || !strings.HasSuffix(errOut, want) {
			t.Errorf("--csv /dev/full: exit %d, stderr ending %q; want 1 and %q", code, errOut[max(0, len(errOut)-80):], want)
		}
		if fi, err := os.Lstat("/dev/full"); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
			t.Fatalf("/dev/full is no longer a device: %v %v", fi.Mode(), err)
		}
	}
}
