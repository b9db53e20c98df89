//go:build linux

package live_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/ov2dev/ov2/live"
)

// TestCompareTcpreplay times `tcpreplay --topspeed` and live.Send on the same 200,000
// 1400-byte frames over a veth pair (MTU 9000) and logs both rates. It is a measurement, not a
// check of speed (the machine may be shared and noisy); it does check that nothing is lost. Set
// OV2_LIVE_BENCH=1 to run it; OV2_LIVE_BENCH_ROUNDS sets the rounds (default 3),
// OV2_LIVE_BENCH_RPS=1 moves the far end's receive processing to another CPU (see below).
func TestCompareTcpreplay(t *testing.T) {
	if os.Getenv("OV2_LIVE_BENCH") != "1" {
		t.Skip("set OV2_LIVE_BENCH=1 to compare with tcpreplay")
	}
	tcpreplay, err := exec.LookPath("tcpreplay")
	if err != nil {
		t.Skip("tcpreplay: not found")
	}
	rounds := 3
	if v, err := strconv.Atoi(os.Getenv("OV2_LIVE_BENCH_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	const (
		total = 200_000
		size  = 1400
	)
	e := newEnv(t, 9000, live.Options{})
	bypass := openOn(t, e, live.Options{QdiscBypass: true})

	// OV2_LIVE_BENCH_RPS=1 moves the far end's receive processing to CPU 0 (RPS) and pins both
	// senders to CPU 1, so that the sending CPU does only the sending. By default the far end's
	// receive processing runs in softirq on the sending CPU, inside each send.
	var pin []string
	if os.Getenv("OV2_LIVE_BENCH_RPS") == "1" {
		if _, err := exec.LookPath("taskset"); err != nil {
			t.Skip("taskset: not found")
		}
		pin = []string{"taskset", "-c", "1"}
		defer farRPSSenderPinned(t, e)()
		t.Log("far end receive processing on CPU 0 (RPS), senders pinned to CPU 1")
	}

	slab := make([]byte, total*size)
	frames := make([][]byte, total)
	for i := range frames {
		frames[i] = slab[i*size : (i+1)*size : (i+1)*size]
		udpFrame(frames[i], e.peer, e.s.HardwareAddr(), uint64(i))
	}
	file := filepath.Join(t.TempDir(), "frames.pcap")
	writePcap(t, file, frames)

	ratedRe := regexp.MustCompile(`Rated: [\d.]+ Bps, [\d.]+ Mbps, ([\d.]+) pps`)
	statRe := regexp.MustCompile(`(?m)^\s*(Successful packets|Failed packets|Truncated packets|Retried packets \(ENOBUFS\)|Retried packets \(EAGAIN\)):\s+(\d+)`)
	farDelta := func(f func()) (rx, drop uint64) {
		before := e.p.Counters(t, 1)
		f()
		after := e.p.Counters(t, 1)
		return after.RxPackets - before.RxPackets, after.RxDropped - before.RxDropped
	}
	runTcpreplay := func(extra ...string) {
		args := append([]string{"--topspeed", "-i", e.p.Link[0]}, extra...)
		args = append(args, file)
		var out []byte
		var el time.Duration
		rx, drop := farDelta(func() {
			cmd := e.p.Cmd(0, tcpreplay, args...)
			if pin != nil {
				cmd = e.p.Cmd(0, pin[0], append(append(pin[1:], tcpreplay), args...)...)
			}
			start := time.Now()
			out, err = cmd.CombinedOutput()
			el = time.Since(start)
		})
		if err != nil {
			t.Fatalf("tcpreplay %v: %v\n%s", args, err, out)
		}
		rated := "?"
		if m := ratedRe.FindSubmatch(out); m != nil {
			rated = string(m[1])
		}
		stats := ""
		for _, m := range statRe.FindAllSubmatch(out, -1) {
			stats += fmt.Sprintf(" %s=%s", m[1], m[2])
		}
		t.Logf("tcpreplay %-28s %8s pps (its own figure), %8.0f pps wall (incl. start-up), far rx +%d drop +%d;%s",
			fmt.Sprint(extra), rated, total/el.Seconds(), rx, drop, stats)
		if rx != total {
			t.Errorf("tcpreplay: far end received %d of %d", rx, total)
		}
	}
	runLive := func(name string, s *live.Sender, batch int) {
		st0 := s.Stats()
		var el time.Duration
		rx, drop := farDelta(func() {
			start := time.Now()
			for i := 0; i < total; i += batch {
				if n, err := s.Send(frames[i:min(i+batch, total)]); err != nil {
					t.Fatalf("Send: %d, %v", n, err)
				}
			}
			el = time.Since(start)
		})
		st := s.Stats()
		t.Logf("live.Send %-12s batch %4d: %8.0f pps, far rx +%d drop +%d; batches %d waits %d",
			name, batch, total/el.Seconds(), rx, drop, st.Batches-st0.Batches, st.Waits-st0.Waits)
		if rx != total || st.Packets-st0.Packets != total {
			t.Errorf("live.Send: far end received %d, sender counted %d, of %d", rx, st.Packets-st0.Packets, total)
		}
	}
	for r := range rounds {
		t.Logf("round %d", r+1)
		runTcpreplay()
		runTcpreplay("--preload-pcap")
		runLive("qdisc", e.s, 256)
		runLive("qdisc", e.s, 1024)
		runLive("bypass", bypass, 256)
		runLive("bypass", bypass, 1024)
	}
}

// openOn opens a second Sender on the env's near end.
func openOn(t *testing.T, e *env, o live.Options) *live.Sender {
	t.Helper()
	var s *live.Sender
	if err := e.p.InNS(0, func() (err error) { s, err = live.Open(e.p.Link[0], o); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func writePcap(t *testing.T, file string, frames [][]byte) {
	t.Helper()
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w := pcapgo.NewWriter(bw)
	if err := w.WriteFileHeader(65536, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	ts := time.Unix(1700000000, 0)
	for i, fr := range frames {
		ci := gopacket.CaptureInfo{Timestamp: ts.Add(time.Duration(i) * time.Microsecond), CaptureLength: len(fr), Length: len(fr)}
		if err := w.WritePacket(ci, fr); err != nil {
			t.Fatal(err)
		}
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
