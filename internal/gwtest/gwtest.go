//go:build linux

// Package gwtest is the test kit of the gateway's end-to-end tests (package gateway and
// cmd/ov2): a topology of network namespaces with two hosts behind two gateways, a capture
// of the link between the gateways, ping and TCP transfers between the hosts, and the
// sorting of what the capture holds.
package gwtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/gateway"
	"github.com/ov2dev/ov2/host"
	"github.com/ov2dev/ov2/internal/inet"
	"github.com/ov2dev/ov2/internal/interop"
	"github.com/ov2dev/ov2/internal/netns"
	"github.com/ov2dev/ov2/live"
	"github.com/ov2dev/ov2/xfrm"
)

// The test topology: host A and host B on one subnet, each behind its own gateway, the
// two gateways joined by a veth pair:
//
//	[a] eth0 ──── in [g1] out ──── out [g2] in ──── eth0 [b]
//	10.0.0.1/24                                      10.0.0.2/24
//	fd00::1/64                                       fd00::2/64
//
// The gateways' interfaces have no addresses and IPv6 is off in their namespaces; A and B
// have segmentation offloads off unless Opts.Offloads (checksum offload stays on: the
// gateways complete the checksums).
type Topo struct {
	N      *netns.Net
	A, B   netip.Addr
	A6, B6 netip.Addr
}

// HangGuard bounds the waits for what the kernel or a peer does: a wait that long has lost
// what it waits for. It is not a measurement.
const HangGuard = 60 * time.Second

type Opts struct {
	OuterMTU int // the link between the gateways (0: 1500)
	IPv6     bool
	// Offloads leaves A's and B's segmentation offloads on (TSO, GSO, GRO, as a veth has
	// them): A's TCP then sends aggregates of up to 64 KB.
	Offloads bool
}

func New(t testing.TB, o Opts) *Topo {
	t.Helper()
	n := netns.NewNet(t, "a", "g1", "g2", "b")
	if o.IPv6 {
		n.EnableIPv6(t, "a")
		n.EnableIPv6(t, "b")
	}
	n.Link(t, "a", "eth0", "g1", "in", 1500)
	n.Link(t, "g1", "out", "g2", "out", o.OuterMTU)
	n.Link(t, "g2", "in", "b", "eth0", 1500)
	tp := &Topo{N: n, A: netip.MustParseAddr("10.0.0.1"), B: netip.MustParseAddr("10.0.0.2"),
		A6: netip.MustParseAddr("fd00::1"), B6: netip.MustParseAddr("fd00::2")}
	for _, h := range []struct {
		role   string
		v4, v6 netip.Addr
	}{{"a", tp.A, tp.A6}, {"b", tp.B, tp.B6}} {
		n.Run(t, h.role, "ip", "addr", "add", h.v4.String()+"/24", "dev", "eth0")
		if o.IPv6 {
			n.Run(t, h.role, "ip", "addr", "add", h.v6.String()+"/64", "dev", "eth0", "nodad")
		}
		if !o.Offloads {
			OffloadsOff(t, n, h.role, "eth0")
		}
	}
	return tp
}

// OffloadsOff turns segmentation offloads off on an interface (ethtool -K).
func OffloadsOff(t testing.TB, n *netns.Net, role, iface string) {
	t.Helper()
	if _, err := exec.LookPath("ethtool"); err != nil {
		if os.Getenv(netns.RequireEnv) == "1" {
			t.Fatalf("ethtool is not installed (apt-get install ethtool): %v", err)
		}
		t.Skipf("ethtool is not installed: %v", err)
	}
	n.Run(t, role, "ethtool", "-K", iface, "tso", "off", "gso", "off", "gro", "off")
}

// SAText is an SA file: one line per SA.
func SAText(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

// ParseSAs parses SAs in xfrm syntax or fails the test.
func ParseSAs(t testing.TB, text string) []xfrm.State {
	t.Helper()
	st, err := xfrm.Parse("test.sa", strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// Running is a gateway started in a namespace, in this process.
type Running struct {
	G      *gateway.Gateway
	cancel context.CancelFunc
	done   chan error
}

// StartGateway opens a gateway between "in" and "out" in role's namespace and runs it.
func (tp *Topo) StartGateway(t testing.TB, role string, sas []xfrm.State, lanes int) *Running {
	t.Helper()
	return tp.StartGatewayConfig(t, role, &xfrm.Config{States: sas}, lanes)
}

// StartGatewayConfig is StartGateway for the states and ESP+AH bundles of an
// xfrm.ParseConfig result.
func (tp *Topo) StartGatewayConfig(t testing.TB, role string, sas *xfrm.Config, lanes int) *Running {
	t.Helper()
	var g *gateway.Gateway
	if err := tp.N.InNS(role, func() (err error) {
		g, err = gateway.New(gateway.Config{SAs: sas.States, Bundles: sas.Bundles, Inside: "in", Outside: "out", Lanes: lanes})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Running{G: g, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- g.Run(ctx) }()
	t.Cleanup(func() { r.Stop(t); g.Close() })
	return r
}

// Stop stops the gateway (once) and returns its report.
func (r *Running) Stop(t testing.TB) *gateway.Report {
	t.Helper()
	if r.cancel != nil {
		r.cancel()
		r.cancel = nil
		select {
		case err := <-r.done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(HangGuard):
			t.Fatal("the gateway did not stop")
		}
	}
	return r.G.Report()
}

// Capture records every frame on an interface (both directions) with its kernel timestamp.
type Capture struct {
	r      *live.Receiver
	mu     sync.Mutex
	frames [][]byte
	times  []time.Time
	stop   chan struct{}
	done   chan struct{}
}

// StartCapture records every frame on iface in role's namespace, both directions, until
// Finish (or the end of the test).
func (tp *Topo) StartCapture(t testing.TB, role, iface string) *Capture {
	t.Helper()
	c := &Capture{stop: make(chan struct{}), done: make(chan struct{})}
	if err := tp.N.InNS(role, func() (err error) {
		c.r, err = live.OpenReceiver(iface, live.RecvOptions{Blocks: 256})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(c.done)
		fs := make([]live.Frame, 256)
		for {
			n, err := c.r.Recv(fs, 10*time.Millisecond)
			if err != nil {
				return
			}
			c.mu.Lock()
			for _, f := range fs[:n] {
				c.frames = append(c.frames, bytes.Clone(f.Data))
				c.times = append(c.times, time.Unix(0, f.Stamp))
			}
			c.mu.Unlock()
			if n == 0 {
				select {
				case <-c.stop:
					return
				default:
				}
			}
		}
	}()
	t.Cleanup(func() { c.Finish(t) })
	return c
}

// Times returns when each captured frame was on the wire (the kernel's timestamps); call it
// after Finish.
func (c *Capture) Times() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.times
}

// Finish stops the capture after the ring is empty and checks that the kernel dropped
// nothing; it returns the frames captured.
func (c *Capture) Finish(t testing.TB) [][]byte {
	t.Helper()
	select {
	case <-c.stop:
	default:
		time.Sleep(20 * time.Millisecond) // the last block's timeout
		close(c.stop)
		<-c.done
		if st := c.r.Stats(); st.KernelDrops != 0 {
			t.Errorf("the capture lost %d frames (ring full)", st.KernelDrops)
		}
		c.r.Close()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.frames
}

// Ping runs ping in role's namespace and fails the test unless every reply came.
func (tp *Topo) Ping(t testing.TB, role string, dst netip.Addr, count int, extra ...string) string {
	t.Helper()
	args := append([]string{"-c", fmt.Sprint(count), "-i", "0.2", "-W", "5"}, extra...)
	args = append(args, dst.String())
	out, err := tp.N.Cmd(role, "ping", args...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), fmt.Sprintf("%d packets transmitted, %d received", count, count)) {
		t.Fatalf("ping %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Transfer sends size random bytes over TCP from A to dst (B's address, port) and checks
// they arrived intact (SHA-256). It returns how long it took.
func (tp *Topo) Transfer(t testing.TB, dst netip.Addr, port, size int) time.Duration {
	t.Helper()
	return tp.StartTransfer(t, dst, port, size, 0).Wait(t)
}

// Flow is a TCP transfer under way (StartTransfer).
type Flow struct {
	start time.Time
	size  int
	want  [32]byte
	got   chan flowResult
	sent  chan error
	ln    net.Listener
}

type flowResult struct {
	sum [32]byte
	n   int64
	err error
}

// StartTransfer starts sending size random bytes over TCP from A to dst, in 64 KiB writes
// with pause between them (0: none), so that a transfer can be made to last.
func (tp *Topo) StartTransfer(t testing.TB, dst netip.Addr, port, size int, pause time.Duration) *Flow {
	t.Helper()
	f := &Flow{size: size, got: make(chan flowResult, 1), sent: make(chan error, 1)}
	if err := tp.N.InNS("b", func() (err error) {
		f.ln, err = net.Listen("tcp", netip.AddrPortFrom(dst, uint16(port)).String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, size)
	rand.Read(data)
	f.want = sha256.Sum256(data)
	go func() {
		c, err := f.ln.Accept()
		if err != nil {
			f.got <- flowResult{err: err}
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(HangGuard))
		h := sha256.New()
		n, err := io.Copy(h, c)
		var s [32]byte
		copy(s[:], h.Sum(nil))
		f.got <- flowResult{s, n, err}
	}()
	f.start = time.Now()
	var conn net.Conn
	if err := tp.N.InNS("a", func() (err error) {
		d := net.Dialer{Timeout: 10 * time.Second}
		conn, err = d.Dial("tcp", netip.AddrPortFrom(dst, uint16(port)).String())
		return err
	}); err != nil {
		f.ln.Close()
		t.Fatal(err)
	}
	go func() {
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(HangGuard))
		for off := 0; off < len(data); off += 64 << 10 {
			if _, err := conn.Write(data[off:min(off+64<<10, len(data))]); err != nil {
				f.sent <- err
				return
			}
			if pause > 0 {
				time.Sleep(pause)
			}
		}
		f.sent <- nil
	}()
	return f
}

// Wait waits for the transfer to end, checks that every byte arrived intact, and returns
// how long it took.
func (f *Flow) Wait(t testing.TB) time.Duration {
	t.Helper()
	defer f.ln.Close()
	if err := <-f.sent; err != nil {
		t.Fatalf("TCP write: %v", err)
	}
	r := <-f.got
	took := time.Since(f.start)
	if r.err != nil || r.n != int64(f.size) || r.sum != f.want {
		t.Fatalf("TCP transfer of %d bytes: received %d bytes (%v), intact %v", f.size, r.n, r.err, r.sum == f.want)
	}
	return took
}

// ESPOnWire sorts the captured frames: the ESP (and ESP-in-UDP) packets, as raw IP, and
// any plain IP packet between the hosts, which must not be there.
func ESPOnWire(frames [][]byte, hosts ...netip.Addr) (esp [][]byte, plain []string) {
	isHost := func(a netip.Addr) bool {
		for _, h := range hosts {
			if a == h {
				return true
			}
		}
		return false
	}
	for _, f := range frames {
		fr := gateway.ParseFrame(f)
		if fr.Kind == gateway.KindOther {
			continue
		}
		ip := f[fr.LinkLen : fr.LinkLen+fr.IPLen]
		var src, dst netip.Addr
		if fr.Kind == gateway.KindIPv4 {
			src, dst = netip.AddrFrom4([4]byte(ip[12:16])), netip.AddrFrom4([4]byte(ip[16:20]))
		} else {
			src, dst = netip.AddrFrom16([16]byte(ip[8:24])), netip.AddrFrom16([16]byte(ip[24:40]))
		}
		isESP := fr.Proto == 50 || (fr.Proto == 17 && len(ip) >= fr.HdrLen+12 &&
			binary.BigEndian.Uint16(ip[fr.HdrLen+2:]) == 4500 && binary.BigEndian.Uint32(ip[fr.HdrLen+8:]) != 0)
		if isESP {
			esp = append(esp, bytes.Clone(ip))
			continue
		}
		if isHost(src) && isHost(dst) {
			plain = append(plain, fmt.Sprintf("%v -> %v protocol %d, %d bytes", src, dst, fr.Proto, len(ip)))
		}
	}
	return esp, plain
}

// InteropSAs describes states to the interop verifiers (each state is one SA on the wire,
// whichever gateway sealed it).
func InteropSAs(states []xfrm.State) []interop.SA {
	var out []interop.SA
	for i := range states {
		s := &states[i]
		a := interop.SA{SPI: s.SPI, Key: s.Key, Salt: s.Salt[:], GMAC: s.Alg == esp.AESGMAC, ICVLen: s.ICVLen,
			ESN: s.ESN, SeqHi: uint32((s.OSeq + 1) >> 32), Tunnel: s.Mode == host.Tunnel, Src: s.Src, Dst: s.Dst}
		if s.Encap != nil {
			a.NATT, a.SPort, a.DPort = true, s.Encap.SPort, s.Encap.DPort
		}
		out = append(out, a)
	}
	return out
}

// CheckWire checks a capture of the link between the gateways: no plain IP packet between
// hosts, and every ESP packet verified by python-cryptography (interop.VerifyPyca) with a
// transport packet whose checksum is right (TCP, UDP, ICMP, ICMPv6) inside. It returns the
// ESP packets' count per SPI.
func CheckWire(t testing.TB, frames [][]byte, states []xfrm.State, hosts ...netip.Addr) map[uint32]int {
	t.Helper()
	espPkts, plain := ESPOnWire(frames, hosts...)
	if len(plain) > 0 {
		t.Errorf("%d plain packets between the hosts on the link between the gateways, e.g. %s", len(plain), plain[0])
	}
	if len(espPkts) == 0 {
		t.Fatal("no ESP on the link between the gateways")
	}
	path := filepath.Join(t.TempDir(), "wire.pcap")
	if err := interop.WritePcap(path, espPkts); err != nil {
		t.Fatal(err)
	}
	res := interop.VerifyPyca(t, path, InteropSAs(states))
	bySPI := map[uint32]int{}
	bad := 0
	for _, r := range res {
		bySPI[r.SPI]++
		if !r.OK || !r.IVIsSeq {
			if bad++; bad <= 5 {
				t.Errorf("ESP packet %d (SPI 0x%08x, seq %d) did not verify: %s", r.Index, r.SPI, r.Seq, r.Reason)
			}
			continue
		}
		if why := innerChecksum(espPkts[r.Index], r); why != "" {
			if bad++; bad <= 5 {
				t.Errorf("ESP packet %d (SPI 0x%08x): inner packet: %s", r.Index, r.SPI, why)
			}
		}
	}
	if len(res) != len(espPkts) || bad > 0 {
		t.Errorf("%d ESP packets, %d results, %d bad", len(espPkts), len(res), bad)
	}
	return bySPI
}

// innerChecksum checks the transport checksum of what an ESP packet carried: in tunnel mode
// a whole IP packet, in transport mode the transport segment (whose pseudo-header takes
// the outer packet's addresses).
func innerChecksum(outer []byte, r interop.Result) string {
	var src, dst []byte
	var l4 []byte
	proto := byte(r.NextHeader)
	switch r.NextHeader {
	case 4:
		ip := r.Inner
		if len(ip) < 20 || len(ip) < int(ip[0]&0xf)*4 {
			return "short inner IPv4 packet"
		}
		if inet.Checksum(ip[:int(ip[0]&0xf)*4], 0) != 0xffff {
			return "bad inner IPv4 header checksum"
		}
		if binary.BigEndian.Uint16(ip[6:])&0x3fff != 0 {
			return "" // a fragment: the checksum covers the whole datagram
		}
		src, dst, proto, l4 = ip[12:16], ip[16:20], ip[9], ip[int(ip[0]&0xf)*4:]
	case 41:
		ip := r.Inner
		if len(ip) < 40 {
			return "short inner IPv6 packet"
		}
		src, dst, proto, l4 = ip[8:24], ip[24:40], ip[6], ip[40:]
	default:
		l4 = r.Inner
		if outer[0]>>4 == 4 {
			if binary.BigEndian.Uint16(outer[6:])&0x3fff != 0 {
				return ""
			}
			src, dst = outer[12:16], outer[16:20]
		} else {
			src, dst = outer[8:24], outer[24:40]
		}
	}
	var sum uint32
	switch {
	case proto == 1: // ICMP: no pseudo-header
	case len(src) == 4:
		sum = inet.PseudoHeaderIPv4(src, dst, proto, len(l4))
	default:
		sum = inet.PseudoHeaderIPv6(src, dst, proto, len(l4))
	}
	switch proto {
	case 1, 6, 17, 58:
		if proto == 17 && len(l4) >= 8 && binary.BigEndian.Uint16(l4[6:]) == 0 && len(src) == 4 {
			return "" // no UDP checksum
		}
		if inet.Checksum(l4, sum) != 0xffff {
			return fmt.Sprintf("bad checksum (protocol %d, %d bytes)", proto, len(l4))
		}
	}
	return ""
}
