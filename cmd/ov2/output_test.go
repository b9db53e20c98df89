//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ov2dev/ov2/internal/testenv"
	"github.com/ov2dev/ov2/pcap"
	"github.com/ov2dev/ov2/replay"
)

// guard bounds how long these tests wait for the program: a guard against a run that
// never ends, not a measurement (the machine may be busy). The time taken is logged; the
// README shows the one-second figures of a quiet run.
const guard = 60 * time.Second

// ov2Bin builds the program once per test binary; TestMain removes it when the tests end.
var ov2Bin struct {
	path string
	err  error
}

// TestMain removes the program's directory after the tests: it is 22 MB (more under -race),
// and every run of the package's tests used to leave one in the temporary directory.
func TestMain(m *testing.M) {
	code := m.Run()
	if ov2Bin.path != "" {
		os.RemoveAll(filepath.Dir(ov2Bin.path))
	}
	os.Exit(code)
}

func program(t *testing.T) string {
	t.Helper()
	if ov2Bin.path == "" && ov2Bin.err == nil {
		dir, err := os.MkdirTemp("", "ov2-bin-")
		if err != nil {
			t.Fatal(err)
		}
		ov2Bin.path = buildOV2(t, dir)
	}
	return ov2Bin.path
}

// started is a running ov2.
type started struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
}

func start(t *testing.T, dir string, args ...string) *started {
	t.Helper()
	s := &started{cmd: exec.Command(program(t), args...)}
	s.cmd.Dir = dir
	s.cmd.Stdout, s.cmd.Stderr = &s.stdout, &s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return s
}

// wait waits for the program (at most guard) and returns its exit status and how long
// it took from the call.
func (s *started) wait(t *testing.T) (int, time.Duration) {
	t.Helper()
	t0 := time.Now()
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), time.Since(t0)
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, time.Since(t0)
	case <-time.After(guard):
		s.cmd.Process.Kill()
		t.Fatalf("ov2 did not exit within %v\nstdout:\n%s\nstderr:\n%s", guard, s.stdout.Bytes(), s.stderr.Bytes())
	}
	return 0, 0
}

// waitFor polls until cond holds (at most guard).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(guard); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("waited %v for %s", guard, what)
		}
	}
}

// tempFiles lists the temporary files a writer may leave in dir.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, ".*.tmp-*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// countPackets reads a capture and returns its packets.
func countPackets(t *testing.T, path string) uint64 {
	t.Helper()
	var n uint64
	eachRecord(t, path, func(pcap.Record) { n++ })
	return n
}

// eachRecord calls f with every record of the capture at path, in order; a capture that
// does not read to its end fails the test.
func eachRecord(t *testing.T, path string, f func(pcap.Record)) {
	t.Helper()
	r, err := pcap.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for n := 0; ; n++ {
		rec, err := r.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("%s after %d packets: %v", path, n, err)
		}
		f(rec)
	}
}

// SIGINT and SIGTERM stop a long run of the built-in sample (500 packets a loop, fewer
// than the 1024 that the old check needed): the program prints the report marked
// INTERRUPTED, exits with 130 or 143, and leaves --out as a valid capture holding exactly
// the packets the report says went out, and no temporary file.
func TestReplaySignals(t *testing.T) {
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
		json bool
	}{{syscall.SIGINT, 130, false}, {syscall.SIGTERM, 143, true}} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			args := []string{"replay", "--loop", "100000000", "--out", "o.pcap"}
			if tc.json {
				args = append(args, "--json")
			}
			s := start(t, dir, args...)
			// Under way: packets have reached the temporary file (a flush, every 250 ms,
			// wrote more than the 24-byte file header).
			waitFor(t, "packets in the temporary file", func() bool {
				for _, f := range tempFiles(t, dir) {
					if st, err := os.Stat(f); err == nil && st.Size() > 24 {
						return true
					}
				}
				return false
			})
			if err := s.cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			code, took := s.wait(t)
			t.Logf("%v: exit %d, %v after the signal", tc.sig, code, took.Round(time.Millisecond))
			out, errOut := s.stdout.String(), s.stderr.String()
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, out, errOut)
			}
			sigName := map[syscall.Signal]string{syscall.SIGINT: "SIGINT", syscall.SIGTERM: "SIGTERM"}[tc.sig]
			if want := "ov2: interrupted by " + sigName + "; the report above covers what was done\n"; !strings.HasSuffix(errOut, want) {
				t.Errorf("stderr %q, want it to end with %q", errOut, want)
			}
			// Standard error is a pipe here, as in a log: no blank line before the notice
			// (it ends a progress line only on a terminal).
			if strings.HasPrefix(errOut, "\n") || strings.Contains(errOut, "\n\n") {
				t.Errorf("stderr, not a terminal, has a blank line: %q", errOut)
			}
			var outPackets uint64
			if tc.json {
				var rep replay.Report
				if err := json.Unmarshal([]byte(out), &rep); err != nil {
					t.Fatalf("report: %v\n%s", err, out)
				}
				if !rep.Interrupted || !rep.Balanced || rep.RoundTrip == nil || !rep.RoundTrip.OK || len(rep.Drops) != 0 {
					t.Fatalf("report: interrupted %v, balanced %v, round trip %+v, drops %v", rep.Interrupted, rep.Balanced, rep.RoundTrip, rep.Drops)
				}
				outPackets = rep.Out.Packets
			} else {
				for _, want := range []string{"  INTERRUPTED after ", "accounting: balanced", "round trip: OK", "drops: 0\n"} {
					if !strings.Contains(out, want) {
						t.Errorf("report lacks %q:\n%s", want, out)
					}
				}
				m := regexp.MustCompile(`  wrote o\.pcap \(pcap, (\d+) packets\)`).FindStringSubmatch(out)
				o := regexp.MustCompile(`(?m)^  out: +(\d+) packets`).FindStringSubmatch(out)
				if m == nil || o == nil || m[1] != o[1] {
					t.Fatalf("report: wrote %v, out %v; want the same count\n%s", m, o, out)
				}
				outPackets, _ = strconv.ParseUint(o[1], 10, 64)
			}
			if outPackets == 0 {
				t.Fatalf("nothing went out before the signal")
			}
			if got := countPackets(t, filepath.Join(dir, "o.pcap")); got != outPackets {
				t.Fatalf("o.pcap holds %d packets, the report says %d went out", got, outPackets)
			}
			if tmp := tempFiles(t, dir); len(tmp) != 0 {
				t.Fatalf("temporary files left: %v", tmp)
			}
		})
	}
}

// A second signal quits at once and leaves no output file, not even a temporary one.
func TestReplaySecondSignal(t *testing.T) {
	dir := t.TempDir()
	// Slow pacing, so that the first signal's drain is not over before the second comes.
	s := start(t, dir, "replay", "--loop", "100000000", "--pps", "1000", "--out", "o.pcap")
	waitFor(t, "the run to write its temporary file", func() bool { return len(tempFiles(t, dir)) > 0 })
	// The first signal may find the run already stopping; a second one always ends it.
	s.cmd.Process.Signal(syscall.SIGINT)
	s.cmd.Process.Signal(syscall.SIGINT)
	code, _ := s.wait(t)
	if code != 130 {
		t.Fatalf("exit %d, want 130\n%s\n%s", code, s.stdout.Bytes(), s.stderr.Bytes())
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() == "o.pcap" && !strings.Contains(s.stderr.String(), "quitting at once") {
			continue // the first signal's orderly stop won the race: a committed capture
		}
		if strings.Contains(e.Name(), ".tmp-") {
			t.Fatalf("left %s", e.Name())
		}
	}
}

// --out naming a device writes to it in place: the device stays a device. (A private null
// device, so that a regression cannot replace the system's /dev/null.)
func TestReplayOutDevice(t *testing.T) {
	null := testenv.NullDevice(t)
	code, out, errOut := runCmd("replay", "--loop", "1", "--out", null)
	if code != 0 || !strings.Contains(out, "  wrote "+null+" (pcap, 500 packets)") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	st, err := os.Lstat(null)
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("%s is no longer a character device: %v %v", null, st.Mode(), err)
	}
	if tmp := tempFiles(t, filepath.Dir(null)); len(tmp) != 0 {
		t.Fatalf("temporary files left: %v", tmp)
	}
}

// --out - writes the capture to standard output (and the report to standard error), so
// that `ov2 replay --out - | tshark -r -` works.
func TestReplayOutStdout(t *testing.T) {
	dir := t.TempDir()
	s := start(t, dir, "replay", "--loop", "1", "--out", "-")
	if code, _ := s.wait(t); code != 0 {
		t.Fatalf("exit %d\n%s", code, s.stderr.Bytes())
	}
	if !strings.Contains(s.stderr.String(), "round trip: OK (436/436") || !strings.Contains(s.stderr.String(), "wrote standard output (pcap, 500 packets)") {
		t.Fatalf("report on stderr:\n%s", s.stderr.Bytes())
	}
	r, err := pcap.NewReader("stdout", bytes.NewReader(s.stdout.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for ; ; n++ {
		if _, err := r.Next(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if n != 500 {
		t.Fatalf("%d packets on standard output, want 500", n)
	}
	if code, _, errOut := runCmd("replay", "--out", "-", "--json"); code != 2 || !strings.Contains(errOut, "--out - and --json both want standard output") {
		t.Fatalf("--out - --json: exit %d, %q", code, errOut)
	}
}

// An output that is the input, by any path, is refused before anything is written, and
// the input is left as it was; so is an output in a directory that takes no new file.
func TestReplayOutIsInput(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pcap")
	if err := os.WriteFile(in, replay.SampleCapture, 0o644); err != nil {
		t.Fatal(err)
	}
	hard, sym := filepath.Join(dir, "hard.pcap"), filepath.Join(dir, "sym.pcap")
	if err := os.Link(in, hard); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("in.pcap", sym); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{in, hard, sym, filepath.Join(dir, ".", "in.pcap")} {
		code, _, errOut := runCmd("replay", "--out", out, in)
		want := out + ": refusing to overwrite the input " + in + " (the same file)"
		if code != 1 || !strings.Contains(errOut, want) {
			t.Errorf("--out %s: exit %d, stderr %q; want 1 and %q", out, code, errOut, want)
		}
	}
	if b, err := os.ReadFile(in); err != nil || !bytes.Equal(b, replay.SampleCapture) {
		t.Fatalf("the input changed: %v", err)
	}
	// The SA file and the keys file are inputs too.
	sa := filepath.Join(dir, "demo.sa")
	if err := os.WriteFile(sa, []byte("src 192.0.2.1 dst 198.51.100.2 proto esp spi 0x10 mode transport aead 'rfc4106(gcm(aes))' 0x11111111111111111111111111111111a1a2a3a4 128\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCmd("replay", "--sa", sa, "--out", sa, in); code != 1 || !strings.Contains(errOut, "refusing to overwrite the input") {
		t.Errorf("--out = --sa: exit %d, %q", code, errOut)
	}
	if code, _, errOut := runCmd("replay", "--sa", sa, "--wireshark-keys", hard, in); code != 2 || !strings.Contains(errOut, "--wireshark-keys "+hard+": that is "+in) {
		t.Errorf("--wireshark-keys = input: exit %d, %q", code, errOut)
	}
	ro := testenv.MountTmpfs(t, syscall.MS_RDONLY, "size=1m")
	if code, _, errOut := runCmd("replay", "--out", filepath.Join(ro, "o.pcap"), in); code != 1 ||
		!strings.Contains(errOut, filepath.Join(ro, "o.pcap")+": cannot write to directory "+ro+": read-only file system") {
		t.Errorf("read-only directory: exit %d, %q", code, errOut)
	}
}

// A full disk stops the run with the path and the cause, and leaves no file: the output
// directory is a 2 MiB tmpfs and the run would write hundreds of megabytes.
func TestReplayDiskFull(t *testing.T) {
	small := testenv.MountTmpfs(t, 0, "size=2m")
	out := filepath.Join(small, "o.pcap")
	s := start(t, t.TempDir(), "replay", "--loop", "100000", "--out", out)
	code, took := s.wait(t)
	t.Logf("exit %d after %v", code, took.Round(time.Millisecond))
	want := "ov2: output: " + out + ": write: no space left on device\n"
	if code != 1 || !strings.HasSuffix(s.stderr.String(), want) || strings.Contains(s.stderr.String(), ".tmp") {
		t.Fatalf("exit %d, stderr %q; want 1 and %q", code, s.stderr.String(), want)
	}
	if entries, _ := os.ReadDir(small); len(entries) != 0 {
		t.Fatalf("left in the full directory: %v", entries)
	}
}

// A pcapng of several link types (what mergecap of two interfaces makes) replays whole to
// a pcapng output, each packet under its own link type; a pcap output refuses it, naming
// the packet and pcapng as the way out. A record the capture cut at its snaplen passes
// through as "truncated by the capture", with its original length kept.
func TestReplayMixedLinkTypesAndSnaplen(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "mixed.pcapng")
	sample, err := pcap.NewReader("sample", bytes.NewReader(replay.SampleCapture))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pcap.NewStreamWriter(f, in, pcap.LinkTypeEthernet, pcap.Options{Format: pcap.FormatPcapng})
	if err != nil {
		t.Fatal(err)
	}
	type rec struct {
		lt   pcap.LinkType
		data []byte
		orig int
	}
	var want []rec
	var cutAt int
	for i := 0; i < 40; i++ {
		r, err := sample.Next()
		if err != nil {
			t.Fatal(err)
		}
		x := rec{pcap.LinkTypeEthernet, bytes.Clone(r.Data), len(r.Data)}
		if _, ip, err := pcap.Network(r.Link, r.Data); err == nil && i%3 == 1 {
			x = rec{pcap.LinkTypeRaw, bytes.Clone(ip), len(ip)} // every third IP packet on a raw interface
		}
		if i == 20 && len(x.data) > 40 { // cut by a snaplen of 34 (Ethernet + 20 bytes of IP)
			cutAt = len(want)
			x.data = x.data[:34]
		}
		if err := w.WritePacket(r.Time, x.lt, x.data, x.orig); err != nil {
			t.Fatal(err)
		}
		want = append(want, x)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	f.Close()

	out := filepath.Join(dir, "out.pcapng")
	code, stdout, stderr := runCmd("replay", "--out", out, in)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "truncated by the capture (snaplen) 1") || !strings.Contains(stdout, "wrote "+out+" (pcapng, 40 packets)") ||
		!strings.Contains(stdout, "accounting: balanced") {
		t.Fatalf("report:\n%s", stdout)
	}
	r, err := pcap.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	links := map[pcap.LinkType]int{}
	var cut []pcap.Record
	for n := 0; ; n++ {
		got, err := r.Next()
		if err == io.EOF {
			if n != 40 {
				t.Fatalf("%d packets in %s, want 40", n, out)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		links[got.Link]++
		if got.TruncatedByCapture() {
			got.Data = bytes.Clone(got.Data) // Next reuses its buffer
			cut = append(cut, got)
		}
	}
	wantLinks := map[pcap.LinkType]int{}
	for _, x := range want {
		wantLinks[x.lt]++
	}
	if len(links) != 2 || links[pcap.LinkTypeRaw] != wantLinks[pcap.LinkTypeRaw] || links[pcap.LinkTypeEthernet] != wantLinks[pcap.LinkTypeEthernet] {
		t.Fatalf("output link types %v, want %v", links, wantLinks)
	}
	if len(cut) != 1 || !bytes.Equal(cut[0].Data, want[cutAt].data) || cut[0].OrigLen != want[cutAt].orig {
		t.Fatalf("cut records in the output: %v; want 1: %x (original %d bytes)", cut, want[cutAt].data, want[cutAt].orig)
	}

	// A pcap output holds one link type.
	code, _, stderr = runCmd("replay", "--out", filepath.Join(dir, "out.pcap"), in)
	wantErr := "link type Raw differs from the first packet's Ethernet, and a pcap output holds one link type: write pcapng (an output named .pcapng) to keep both"
	if code != 1 || !strings.Contains(stderr, in+": packet 2: "+wantErr) {
		t.Fatalf("pcap output: exit %d, stderr %q; want 1 and %q", code, stderr, wantErr)
	}
	if _, err := os.Stat(filepath.Join(dir, "out.pcap")); !os.IsNotExist(err) {
		t.Fatalf("out.pcap left behind: %v", err)
	}
	if tmp := tempFiles(t, dir); len(tmp) != 0 {
		t.Fatalf("temporary files left: %v", tmp)
	}
}
