package bench

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/nic"
	"github.com/ov2dev/ov2/stage"
)

// checkRows asserts what must hold of every measured row, whatever the machine's speed.
func checkRows(t *testing.T, res *Result, wantRows int) {
	t.Helper()
	if len(res.Rows) != wantRows {
		t.Fatalf("%d rows, want %d", len(res.Rows), wantRows)
	}
	for _, r := range res.Rows {
		name := r.Mode + " " + r.Size + " " + r.Placement
		if r.Mpps <= 0 || r.Packets == 0 || r.Bytes == 0 || r.Gbps <= 0 || r.Seconds <= 0 {
			t.Errorf("%s: nothing measured: %+v", name, r)
		}
		if !r.Balanced || r.Failed != 0 {
			t.Errorf("%s: balanced %v, %d failed", name, r.Balanced, r.Failed)
		}
		if r.LatencyLoad == 1 && r.LatencyPackets != r.Packets {
			t.Errorf("%s: %d latencies recorded for %d packets measured", name, r.LatencyPackets, r.Packets)
		}
		if !(0 < r.LatencyMinUs && r.LatencyMinUs <= r.LatencyP50Us && r.LatencyP50Us <= r.LatencyP99Us &&
			r.LatencyP99Us <= r.LatencyP999Us && r.LatencyP999Us <= r.LatencyMaxUs) {
			t.Errorf("%s: latency min %v p50 %v p99 %v p99.9 %v max %v out of order", name,
				r.LatencyMinUs, r.LatencyP50Us, r.LatencyP99Us, r.LatencyP999Us, r.LatencyMaxUs)
		}
		if len(r.LatencyCurve) != len(curvePercentiles) || r.LatencyCurve[len(r.LatencyCurve)-1].Us != r.LatencyMaxUs {
			t.Errorf("%s: curve %v", name, r.LatencyCurve)
		}
		checkRawPair(t, res, r, name)
		if r.CPUCores < 0 || (runtime.GOOS == "linux" && r.CPUCores == 0) {
			t.Errorf("%s: %v cores of CPU", name, r.CPUCores)
		}
		if mb := float64(r.Bytes) / float64(r.Packets); r.Size != "imix" && r.Size != "lso64k" && mb != r.WireBytes {
			t.Errorf("%s: %v bytes per packet, want %v", name, mb, r.WireBytes)
		}
		if r.Impl == "" || r.CPU == "" || r.GoVersion == "" {
			t.Errorf("%s: impl %q cpu %q go %q", name, r.Impl, r.CPU, r.GoVersion)
		}
		if perPacketAllocs(r.AllocsPerPacket) && !raceEnabled {
			t.Errorf("%s: %v allocations per packet (%d GCs in the window)", name, r.AllocsPerPacket, r.GCCycles)
		}
	}
}

// perPacketAllocs says whether a window's allocations per packet show an allocation that
// the data path makes per packet, per burst or per large send: anything of that kind is at
// least 1/46 (one per 64 KB large send of 46 segments). What it lets through is the Go
// runtime's own bookkeeping on a busy machine, a few allocations in a window of a hundred
// thousand packets and more: a processor's timer heap growing the first time a goroutine
// sleeps on it (runtime.(*timers).addHeap), which no code of ours can avoid. On a quiet
// machine the windows read 0.
func perPacketAllocs(v float64) bool { return v >= 1e-3 }

// checkRawPair checks a row's raw limits: measured beside it (both halves), the ratio
// taken from that pair, the run's raw row for the loop holding the pair among its
// measurements, and the dispatched implementation's figures, which repeat the standard
// library's exactly when the engine's crypto is that loop.
func checkRawPair(t *testing.T, res *Result, r Row, name string) {
	t.Helper()
	op := rawOpFor(mustMode(t, r.Mode))
	raw := res.RawFor(r.Size, r.Algo, op)
	if raw == nil || raw.Mpps <= 0 || r.RawMpps <= 0 || r.Ratio != r.Mpps/r.RawMpps || r.RawBeforeMpps <= 0 || r.RawAfterMpps <= 0 {
		t.Errorf("%s: ratio %v raw %v (before %v, after %v); raw row %+v", name, r.Ratio, r.RawMpps, r.RawBeforeMpps, r.RawAfterMpps, raw)
		return
	}
	if !raw.Derived && (raw.Measurements < 2 || raw.Measurements%2 != 0 || r.RawMpps < raw.MinMpps*(1-1e-9) || r.RawMpps > raw.MaxMpps*(1+1e-9) || raw.Impl == "") {
		t.Errorf("%s: pair %v Mpps outside its loop's %v to %v (%d measurements, %q)", name, r.RawMpps, raw.MinMpps, raw.MaxMpps, raw.Measurements, raw.Impl)
	}
	a, err := ParseAlgo(r.Algo)
	if err != nil {
		t.Fatal(err)
	}
	// The AES-GCM family and AES-CBC's decryption run ov2's code where VAES is, HMAC-SHA-256
	// where the SHA extensions are.
	own := a.integrity() == esp.IntegrityNone && esp.VAESSupported() ||
		a.espAlg() == esp.AESCBC && esp.VAESSupported() ||
		a.integrity() == esp.HMACSHA256_128 && esp.SHASupported()
	wantSame := !own
	if r.ImplSame != wantSame {
		t.Errorf("%s: impl_same %v, want %v (impl %s)", name, r.ImplSame, wantSame, r.Impl)
	}
	if r.ImplSame {
		if r.ImplRawMpps != r.RawMpps || r.ImplRatio != r.Ratio || res.ImplRawFor(r.Size, r.Algo, op) != nil {
			t.Errorf("%s: impl raw %v ratio %v, want the standard library's %v %v", name, r.ImplRawMpps, r.ImplRatio, r.RawMpps, r.Ratio)
		}
		return
	}
	ir := res.ImplRawFor(r.Size, r.Algo, op)
	if ir == nil || ir.Mpps <= 0 || r.ImplRawMpps <= 0 || r.ImplRatio != r.Mpps/r.ImplRawMpps || !strings.Contains(ir.Impl, " via esp.") {
		t.Errorf("%s: impl raw %v ratio %v; impl raw row %+v", name, r.ImplRawMpps, r.ImplRatio, ir)
	}
}

func mustMode(t *testing.T, s string) Mode {
	m, err := ParseMode(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// A short real run: encrypt and decrypt, 64 and 1400 bytes, 1 and 2 lanes.
func TestRunShort(t *testing.T) {
	if testing.Short() {
		t.Skip("real run")
	}
	var lines []string
	res, err := Run(context.Background(), Options{
		Sizes: []Size{{Kind: Fixed, Bytes: 64}, {Kind: Fixed, Bytes: 1400}}, Modes: []Mode{Encrypt, Decrypt},
		Lanes: []int{1, 2}, Duration: 200 * time.Millisecond, Warmup: 50 * time.Millisecond, RawDuration: 50 * time.Millisecond,
	}, func(s string) { lines = append(lines, s) })
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, res, 2*2*2)
	if len(res.Raw) != 4 || len(lines) != len(res.Rows)+len(res.Raw)+1 {
		t.Errorf("%d raw rows, %d progress lines (want rows, raw rows and the jitter line)", len(res.Raw), len(lines))
	}
	j := res.Jitter
	if j.Threads != runtime.GOMAXPROCS(0) || j.Seconds != 0.05 || j.ThresholdUS != 50 ||
		j.StalledPercent < 0 || j.StalledPercent > 100 || (j.StallsPerSec > 0) != (j.MaxStallUS > 50) {
		t.Errorf("jitter %+v", j)
	}
	for _, l := range lines {
		t.Log(l)
	}
	if res.CPU == "" || res.GoVersion == "" || res.GOMAXPROCS < 1 || res.Features == "" || !strings.Contains(res.LatencyNote, "queueing") {
		t.Errorf("result %+v", res)
	}
}

// Below 100% load the latency comes from a paced phase at that share of the maximum.
func TestRunPaced(t *testing.T) {
	if testing.Short() {
		t.Skip("real run")
	}
	res, err := Run(context.Background(), Options{
		Sizes: []Size{{Kind: Fixed, Bytes: 1400}, {Kind: IMIX}}, Modes: []Mode{Roundtrip}, Placements: []stage.Placement{stage.Split},
		Duration: 150 * time.Millisecond, Warmup: 30 * time.Millisecond, RawDuration: 30 * time.Millisecond, Load: 0.5,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, res, 2)
	for _, r := range res.Rows {
		if r.LatencyLoad != 0.5 || r.LatencyPackets == 0 || r.AchievedMpps <= 0 || r.PacedBurstPackets < 1 {
			t.Errorf("%s: paced phase %+v", r.Size, r)
		}
		if d := r.OfferedMpps - r.Mpps/2; d > 1e-9*r.Mpps || d < -1e-9*r.Mpps {
			t.Errorf("%s: offered %v Mpps, want half of %v", r.Size, r.OfferedMpps, r.Mpps)
		}
	}
	if raw := res.RawFor("1400", "aes128gcm", RawSealOpen); raw == nil || !raw.Derived || raw.Mpps <= 0 {
		t.Errorf("round-trip raw limit %+v", raw)
	}
}

// lso64k: segments per second on encrypt and round trip, a note instead of a decrypt row.
//
// Every large send is LSOSegments segments, but the window cuts through the large sends in
// flight at its start (their last segments counted, some earlier ones not) and at its end
// (segments counted, the large send not). How many large sends a short window holds depends
// on the machine and its load, so segments per large send is only close to LSOSegments when
// the window is long; what holds on any machine is the bound below: the two counts differ
// by less than the segments in flight. A large send is 46 packets, so the window is longer
// than the other tests' to hold a few dozen of them even on a slow, busy machine (under the
// race detector on 2 CPUs kept busy by other processes, a round-trip window of 0.5 s held 36
// to 90).
func TestRunLSO(t *testing.T) {
	if testing.Short() {
		t.Skip("real run")
	}
	res, err := Run(context.Background(), Options{
		Sizes: []Size{{Kind: LSO64K}}, Modes: []Mode{Encrypt, Decrypt, Roundtrip}, Algos: []Algo{GMAC},
		Duration: 500 * time.Millisecond, Warmup: 30 * time.Millisecond, RawDuration: 30 * time.Millisecond,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, res, 2)
	for _, r := range res.Rows {
		if r.LargeSends == 0 || r.LargeSendsPerSec <= 0 || r.WireBytes != LSOSegmentWire || r.Bytes != r.Packets*LSOSegmentWire {
			t.Errorf("%s: %+v", r.Mode, r)
		}
		t.Logf("%s: %d segments, %d large sends (%.2f segments each) in %.3fs, %d segments in flight",
			r.Mode, r.Packets, r.LargeSends, float64(r.Packets)/float64(r.LargeSends), r.Seconds, r.InFlight)
		if r.InFlight < LSOSegments || r.InFlight%LSOSegments != 0 {
			t.Errorf("%s: %d segments in flight, want whole large sends of %d", r.Mode, r.InFlight, LSOSegments)
		}
		if d := int64(r.Packets) - int64(r.LargeSends)*LSOSegments; d <= -int64(r.InFlight) || d >= int64(r.InFlight) {
			t.Errorf("%s: %d segments for %d large sends of %d: off by %d, more than the %d segments in flight",
				r.Mode, r.Packets, r.LargeSends, LSOSegments, d, r.InFlight)
		}
	}
	if len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "lso64k decrypt") {
		t.Errorf("notes %q", res.Notes)
	}
}

// Every algorithm runs, and reports the implementation its SA dispatched to.
func TestRunAlgos(t *testing.T) {
	if testing.Short() {
		t.Skip("real run")
	}
	res, err := Run(context.Background(), Options{
		Sizes: []Size{{Kind: Fixed, Bytes: 576}}, Modes: []Mode{Decrypt}, Algos: []Algo{AES256GCM, GMAC},
		Duration: 100 * time.Millisecond, Warmup: 20 * time.Millisecond, RawDuration: 20 * time.Millisecond,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, res, 2)
}

func TestRunErrors(t *testing.T) {
	if _, err := Run(context.Background(), Options{Lanes: []int{100}}, nil); err == nil || err.Error() != "bench: 100 lanes: want 1 to 64" {
		t.Errorf("lanes: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Run(ctx, Options{Sizes: []Size{{Kind: Fixed, Bytes: 64}}, Duration: time.Hour, RawDuration: time.Hour}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: %v", err)
	}
}

// pickSAs gives every lane the same number of SAs, on both paths of a round trip, by the
// same lane function the paths use.
func TestPickSAsBalanced(t *testing.T) {
	for _, mode := range []Mode{Encrypt, Decrypt, Roundtrip} {
		for _, lanes := range []int{1, 2, 3, 8} {
			n, err := nic.New(nic.DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			sas, err := pickSAs(n, AES128GCM, mode, lanes, 4)
			if err != nil {
				t.Fatal(err)
			}
			send, recv := make([]int, lanes), make([]int, lanes)
			for i, s := range sas {
				if mode != Decrypt {
					if l := laneOf(uint64(s.out), lanes); l != s.sendLane || (i < lanes && l != i) {
						t.Errorf("%v %d lanes: SA %d on send lane %d", mode, lanes, i, l)
					}
					send[s.sendLane]++
				}
				if mode != Encrypt {
					if s.in == 0 || laneOf(uint64(s.spi), lanes) != s.recvLane {
						t.Errorf("%v %d lanes: SA %d inbound %v", mode, lanes, i, s.in)
					}
					recv[s.recvLane]++
				}
			}
			for l := range lanes {
				if (mode != Decrypt && send[l] != 4) || (mode != Encrypt && recv[l] != 4) {
					t.Errorf("%v %d lanes: send %v recv %v, want 4 each", mode, lanes, send, recv)
				}
			}
			// Only the chosen SAs stay offloaded.
			want := len(sas)
			if mode == Roundtrip {
				want *= 2
			}
			if got := n.Controller().Snapshot().Len(); got != want {
				t.Errorf("%v %d lanes: %d SAs offloaded, want %d", mode, lanes, got, want)
			}
			n.Close()
		}
	}
}
