//go:build linux

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ov2dev/ov2/internal/gwtest"
	"github.com/ov2dev/ov2/internal/netns"
)

// benchSAs are the gateways' SAs in the throughput comparison: AES-GCM-128, transport.
const benchSAs = `src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x8001 mode transport aead 'rfc4106(gcm(aes))' 0x0102030405060708090a0b0c0d0e0f10a1a2a3a4 128
src 10.0.0.2 dst 10.0.0.1 proto esp spi 0x8002 mode transport aead 'rfc4106(gcm(aes))' 0x1112131415161718191a1b1c1d1e1f20b1b2b3b4 128
`

// pingRTT pings B from A 50 times, 10 ms apart, and returns the mean round trip in
// milliseconds (every reply must come).
func pingRTT(tb testing.TB, tp *gwtest.Topo) float64 {
	out := tp.Ping(tb, "a", tp.B, 50, "-i", "0.01", "-q")
	m := regexp.MustCompile(`rtt min/avg/max/mdev = [0-9.]+/([0-9.]+)/`).FindStringSubmatch(out)
	if m == nil {
		tb.Fatalf("ping: no round-trip summary in\n%s", out)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		tb.Fatalf("ping: mean round trip %q: %v", m[1], err)
	}
	return v
}

// iperf3 runs an iperf3 client in A against a one-off server in B and returns its JSON
// report's totals: bits per second received and, for UDP, datagrams received per second.
func iperf3(tb testing.TB, tp *gwtest.Topo, secs int, udp bool) (bps, pps float64) {
	tb.Helper()
	// Both ends are bounded: a run that takes far longer than asked has lost its control
	// connection (a hang guard, not a measurement).
	srv := tp.N.Cmd("b", "timeout", fmt.Sprint(secs+30), "iperf3", "-s", "-1", "-B", tp.B.String())
	if err := srv.Start(); err != nil {
		tb.Fatal(err)
	}
	defer srv.Wait()
	args := []string{"-c", tp.B.String(), "-t", fmt.Sprint(secs), "-J"}
	if udp {
		args = append(args, "-u", "-b", "0", "-l", "18") // 18 bytes of payload: 60-byte frames, 64 with the FCS
	}
	var out []byte
	var err error
	for try := 0; try < 50; try++ { // until the server listens
		out, err = tp.N.Cmd("a", "timeout", append([]string{fmt.Sprint(secs + 20), "iperf3"}, args...)...).Output()
		var e struct {
			Error string `json:"error"`
		}
		json.Unmarshal(out, &e)
		if err == nil && e.Error == "" {
			break
		}
		if err == nil {
			err = errors.New(e.Error)
		}
		if !strings.Contains(err.Error(), "refused") && !strings.Contains(string(out), "refused") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		srv.Process.Kill()
		tb.Fatalf("iperf3 %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	var r struct {
		End struct {
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
			Sum struct {
				Seconds     float64 `json:"seconds"`
				Packets     float64 `json:"packets"`
				LostPackets float64 `json:"lost_packets"`
			} `json:"sum"`
		} `json:"end"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		tb.Fatalf("iperf3 output: %v\n%s", err, out)
	}
	if udp {
		s := r.End.Sum
		if s.Seconds <= 0 {
			tb.Fatalf("iperf3: no UDP totals\n%s", out)
		}
		return 0, (s.Packets - s.LostPackets) / s.Seconds
	}
	return r.End.SumReceived.BitsPerSecond, 0
}

// BenchmarkGatewayVersusBridge measures, in the end-to-end topology (host A and host B
// each behind a box, the boxes joined by a veth pair; 1500-byte MTU, segmentation offloads
// off on every interface), TCP throughput (iperf3) and 64-byte UDP packets per second
// (iperf3 -u -l 18, the datagrams B received) through two `ov2 gateway` programs (AES-GCM-128,
// transport mode) against the same through two Linux bridges (no encryption), interleaved:
// bridges, gateways, bridges, ... three rounds, the best of each reported with the ratio. It
// fails only if a gateway's books do not balance. Run it with
//
//	go test -run '^$' -bench GatewayVersusBridge -benchtime 1x ./cmd/ov2
func BenchmarkGatewayVersusBridge(b *testing.B) {
	if _, err := exec.LookPath("iperf3"); err != nil {
		if os.Getenv(netns.RequireEnv) == "1" {
			b.Fatalf("iperf3 is not installed (apt-get install iperf3): %v", err)
		}
		b.Skipf("iperf3 is not installed: %v", err)
	}
	secs := 5
	lanes := "1"
	tp := gwtest.New(b, gwtest.Opts{})
	for _, e := range [][2]string{{"g1", "in"}, {"g1", "out"}, {"g2", "in"}, {"g2", "out"}} {
		gwtest.OffloadsOff(b, tp.N, e[0], e[1])
	}
	dir := b.TempDir()
	bin := buildOV2(b, dir)
	sa := filepath.Join(dir, "bench.sa")
	if err := os.WriteFile(sa, []byte(benchSAs), 0o644); err != nil {
		b.Fatal(err)
	}
	bridges := func(up bool) {
		for _, g := range []string{"g1", "g2"} {
			if up {
				tp.N.Run(b, g, "ip", "link", "add", "br0", "type", "bridge")
				tp.N.Run(b, g, "ip", "link", "set", "in", "master", "br0")
				tp.N.Run(b, g, "ip", "link", "set", "out", "master", "br0")
				tp.N.Run(b, g, "ip", "link", "set", "br0", "up")
				gwtest.OffloadsOff(b, tp.N, g, "br0")
			} else {
				tp.N.Run(b, g, "ip", "link", "del", "br0")
			}
		}
	}
	b.ResetTimer()
	var brTCP, brUDP, gwTCP, gwUDP float64
	brRTT, gwRTT := math.Inf(1), math.Inf(1)
	for range b.N {
		for round := 1; round <= 3; round++ {
			bridges(true)
			rtt := pingRTT(b, tp)
			tcp, _ := iperf3(b, tp, secs, false)
			_, udp := iperf3(b, tp, secs, true)
			bridges(false)
			brTCP, brUDP, brRTT = max(brTCP, tcp), max(brUDP, udp), min(brRTT, rtt)

			g1 := startGatewayProc(b, tp, bin, "g1", sa, "--lanes", lanes)
			g2 := startGatewayProc(b, tp, bin, "g2", sa, "--lanes", lanes)
			grtt := pingRTT(b, tp)
			gtcp, _ := iperf3(b, tp, secs, false)
			_, gudp := iperf3(b, tp, secs, true)
			r1, r2 := g1.stop(b), g2.stop(b)
			if !r1.Balanced || !r2.Balanced {
				b.Fatalf("round %d: a gateway's books do not balance", round)
			}
			gwTCP, gwUDP, gwRTT = max(gwTCP, gtcp), max(gwUDP, gudp), min(gwRTT, grtt)
			b.Logf("round %d: bridges TCP %.2f Gbit/s, UDP %.0f packets/s, ping %.3f ms; gateways TCP %.2f Gbit/s, UDP %.0f packets/s, ping %.3f ms (drops %v / %v)",
				round, tcp/1e9, udp, rtt, gtcp/1e9, gudp, grtt, r1.Drops, r2.Drops)
		}
	}
	b.StopTimer()
	b.Logf("A -> B through two boxes, 1500-byte MTU, segmentation offloads off everywhere, %ds per run, best of 3, on %s:", secs, cpuModel())
	b.Logf("  TCP (iperf3):          bridges %.2f Gbit/s, ov2 gateways (AES-GCM-128) %.2f Gbit/s, ratio %.2f", brTCP/1e9, gwTCP/1e9, gwTCP/brTCP)
	b.Logf("  UDP 64-byte packets/s: bridges %.0f, ov2 gateways %.0f, ratio %.2f", brUDP, gwUDP, gwUDP/brUDP)
	b.Logf("  ping A -> B, mean round trip: bridges %.3f ms, ov2 gateways %.3f ms", brRTT, gwRTT)
	b.ReportMetric(brTCP/1e9, "bridge-Gbit/s")
	b.ReportMetric(gwTCP/1e9, "gateway-Gbit/s")
	b.ReportMetric(brUDP, "bridge-udp-pps")
	b.ReportMetric(gwUDP, "gateway-udp-pps")
	b.ReportMetric(0, "ns/op")
}
