//go:build linux

package gateway_test

import (
	"encoding/binary"
	"net"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/ov2dev/ov2/gateway"
	"github.com/ov2dev/ov2/internal/gwtest"
	"github.com/ov2dev/ov2/internal/inet"
	"github.com/ov2dev/ov2/internal/netns"
	"github.com/ov2dev/ov2/live"
)

// udpTo writes an Ethernet frame (to the broadcast address) with an IPv4 UDP packet from A
// to B into f.
func udpTo(f []byte, src net.HardwareAddr, seq int) {
	copy(f[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(f[6:12], src)
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[14:]
	ip[0], ip[1], ip[8], ip[9] = 0x45, 0, 64, 17
	binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)))
	binary.BigEndian.PutUint16(ip[4:], uint16(seq))
	binary.BigEndian.PutUint16(ip[6:], 0x4000)
	copy(ip[12:], []byte{10, 0, 0, 1})
	copy(ip[16:], []byte{10, 0, 0, 2})
	ip[10], ip[11] = 0, 0
	inet.IPv4(ip[:20]).SetChecksum()
	u := ip[20:]
	binary.BigEndian.PutUint16(u[0:], 40000)
	binary.BigEndian.PutUint16(u[2:], 9)
	binary.BigEndian.PutUint16(u[4:], uint16(len(u)))
	binary.BigEndian.PutUint16(u[6:], 0)
}

// Zero allocations per packet in the gateway's data path: 100,000 frames from A (UDP for
// B, sealed by g1 and opened by g2, and ARP, bridged), with B's ICMP errors coming back the
// other way, through two gateways in this process, whose allocations are counted over the
// whole burst.
func TestGatewayZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own; this test runs in the non-race pass")
	}
	tp := gwtest.New(t, gwtest.Opts{})
	sas := gwtest.ParseSAs(t, gwtest.SAText(
		`src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x9001 mode transport aead 'rfc4106(gcm(aes))' `+keyAB+` 128`,
		`src 10.0.0.2 dst 10.0.0.1 proto esp spi 0x9002 mode transport aead 'rfc4106(gcm(aes))' `+keyBA+` 128`))
	g1 := tp.StartGateway(t, "g1", sas, 1)
	g2 := tp.StartGateway(t, "g2", sas, 1)
	var s *live.Sender
	if err := tp.N.InNS("a", func() (err error) { s, err = live.Open("eth0", live.Options{}); return err }); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const batch = 64
	frames := make([][]byte, batch)
	for i := range frames {
		frames[i] = make([]byte, 14+400)
		udpTo(frames[i], s.HardwareAddr(), i)
	}
	arp := make([]byte, 60)
	copy(arp, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(arp[6:], s.HardwareAddr())
	binary.BigEndian.PutUint16(arp[12:], 0x0806)
	frames[batch-1] = arp
	// received waits until g1 has taken n frames from its inside ring (or the kernel
	// dropped them for lack of room in it). Each look allocates (a Report): it looks
	// seldom.
	received := func(n uint64) *gateway.Report {
		for deadline := time.Now().Add(gwtest.HangGuard); ; {
			r := g1.G.Report()
			if r.Encrypt.Received.Packets+r.Encrypt.RingDrops >= n || time.Now().After(deadline) {
				return r
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	send := func(rounds int, pause time.Duration) {
		for range rounds {
			if _, err := s.Send(frames); err != nil {
				t.Fatal(err)
			}
			time.Sleep(pause)
		}
	}
	// Warm up at full speed: the rings between the stages fill up, so the packet pools grow
	// to the most buffers the rings' backpressure lets be in flight, where they stay (some
	// frames may be dropped at the receive rings, counted).
	send(1000, 0)
	received(1000 * batch)
	time.Sleep(500 * time.Millisecond)
	before := g1.G.Report().Encrypt.Received.Packets
	const rounds = 1600
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	send(rounds, 100*time.Microsecond) // a pace the gateways keep up with on a busy machine
	// Wait until the inside ring is drained: the count of frames taken stops moving.
	for last, still := uint64(0), 0; still < 3; time.Sleep(100 * time.Millisecond) {
		n, _ := g1.G.Received()
		if n == last {
			still++
		} else {
			last, still = n, 0
		}
	}
	runtime.ReadMemStats(&m1)
	r := received(before + rounds*batch)
	total := uint64(rounds * batch)
	per := float64(m1.Mallocs-m0.Mallocs) / float64(total)
	t.Logf("%d allocations for %d frames (%.5f per frame); g1 sealed %d, bridged %d; g2 sealed %d (B's ICMP errors)",
		m1.Mallocs-m0.Mallocs, total, per, r.Encrypt.Out.Packets, r.Encrypt.Bridged.Packets, g2.G.Report().Encrypt.Out.Packets)
	if per >= 0.01 {
		t.Errorf("%.5f allocations per frame, want 0", per)
	}
	if r.Encrypt.Out.Packets == 0 || r.Encrypt.Bridged.Packets == 0 {
		t.Errorf("sealed %d, bridged %d: the burst did not go through", r.Encrypt.Out.Packets, r.Encrypt.Bridged.Packets)
	}
}

// Zero allocations per packet with segmentation offloads on: A's TCP (iperf3, a process of
// its own) sends aggregates of up to 64 KB, which g1 takes whole from its ring (read from
// the socket) and hands to the NIC as large sends; their segments go out sealed, g2 opens
// them, and B's ACKs come back the same way. The two gateways run in this process, whose
// allocations are counted over 3 seconds of it, after 1 second of warm-up.
func TestGatewayZeroAllocsAggregates(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own; this test runs in the non-race pass")
	}
	if _, err := exec.LookPath("iperf3"); err != nil {
		if os.Getenv(netns.RequireEnv) == "1" {
			t.Fatalf("iperf3 is not installed (apt-get install iperf3): %v", err)
		}
		t.Skipf("iperf3 is not installed: %v", err)
	}
	tp, g1, g2 := offloadedPair(t, "10.0.0.2", 0x9101)
	srv := tp.N.Cmd("b", "timeout", "30", "iperf3", "-s", "-1", "-B", tp.B.String())
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Process.Signal(syscall.SIGTERM); srv.Wait() }()                      // timeout passes it on; the figures are the client's
	for deadline := time.Now().Add(gwtest.HangGuard); ; time.Sleep(50 * time.Millisecond) { // until it listens
		if out, _ := tp.N.Cmd("b", "ss", "-Htln", "sport = :5201").Output(); len(out) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("iperf3 -s does not listen")
		}
	}
	cli := tp.N.Cmd("a", "timeout", "30", "iperf3", "-c", tp.B.String(), "-t", "5")
	if err := cli.Start(); err != nil {
		t.Fatal(err)
	}
	// Warm-up: the pools grow to what the flow keeps in flight.
	time.Sleep(time.Second)
	r0 := g1.G.Report()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	time.Sleep(3 * time.Second)
	runtime.ReadMemStats(&m1)
	r1 := g1.G.Report()
	frames := r1.Encrypt.Received.Packets + r1.Decrypt.Received.Packets - r0.Encrypt.Received.Packets - r0.Decrypt.Received.Packets
	segs := r1.Encrypt.Segments - r0.Encrypt.Segments
	per := float64(m1.Mallocs-m0.Mallocs) / float64(segs+1)
	t.Logf("%d allocations in 3 s: g1 took %d frames, cut %d aggregates into %d segments (%.5f allocations per segment)",
		m1.Mallocs-m0.Mallocs, frames, r1.Encrypt.Segmented.Packets-r0.Encrypt.Segmented.Packets, segs, per)
	if segs < 10000 {
		t.Fatalf("%d segments in 3 s: the aggregates did not go through", segs)
	}
	if per >= 0.01 {
		t.Errorf("%.5f allocations per segment, want 0", per)
	}
	if err := cli.Wait(); err != nil {
		t.Errorf("iperf3 -c: %v", err)
	}
	checkReport(t, "g1", g1.Stop(t))
	checkReport(t, "g2", g2.Stop(t))
}
