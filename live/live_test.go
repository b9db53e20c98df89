//go:build linux

package live_test

import (
	"encoding/binary"
	"net"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ov2dev/ov2/internal/netns"
	"github.com/ov2dev/ov2/live"
)

// udpFrame writes into f (len(f) >= 42) an Ethernet + IPv4 + UDP frame from src to dst whose
// payload starts with seq; the IPv4 header checksum is valid, so the far end's IP stack
// counts it as a well-formed datagram (for an address it does not own) and drops it without
// touching the interface's rx_dropped.
func udpFrame(f []byte, dst, src net.HardwareAddr, seq uint64) {
	copy(f[0:6], dst)
	copy(f[6:12], src)
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[14:34]
	ip[0], ip[1] = 0x45, 0
	binary.BigEndian.PutUint16(ip[2:], uint16(len(f)-14))
	binary.BigEndian.PutUint16(ip[6:], 0x4000) // DF
	ip[8], ip[9] = 64, 17
	copy(ip[12:16], []byte{198, 18, 0, 1}) // RFC 2544 benchmarking range
	copy(ip[16:20], []byte{198, 19, 0, 1})
	udp := f[34:42]
	binary.BigEndian.PutUint16(udp[0:], 9)
	binary.BigEndian.PutUint16(udp[2:], 9)
	binary.BigEndian.PutUint16(udp[4:], uint16(len(f)-34))
	binary.BigEndian.PutUint16(udp[6:], 0) // no UDP checksum (allowed for IPv4)
	for i := 50; i < len(f); i++ {
		f[i] = byte(i)
	}
	stamp(f, seq)
}

// stamp sets the sequence number of a frame built by udpFrame: the IPv4 ID, the first 8 payload
// bytes, and the IPv4 header checksum.
func stamp(f []byte, seq uint64) {
	ip := f[14:34]
	binary.BigEndian.PutUint16(ip[4:], uint16(seq))
	ip[10], ip[11] = 0, 0
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	if len(f) >= 50 {
		binary.BigEndian.PutUint64(f[42:], seq)
	}
}

// hangGuard bounds the waits of these tests for something the kernel does asynchronously
// (softirq draining a backlog, a token bucket emptying, linkwatch changing a flag, a frame
// reaching a capture socket). It is not a measurement: those take milliseconds on an idle
// machine, and the bound is far above anything a busy one adds, so that it only turns a
// frame that never comes into a failure instead of a hang.
const hangGuard = 30 * time.Second

// env is a veth pair with a Sender open on Link[0] and the peer's MAC address.
type env struct {
	p    *netns.Pair
	s    *live.Sender
	peer net.HardwareAddr
}

// farRPSSenderPinned moves the far end's receive processing to CPU 0 (RPS) and pins the
// calling goroutine to CPU 1 (it locks its thread), so that the sending CPU does only the
// sending; the returned function unpins. It skips without 2 CPUs or RPS.
func farRPSSenderPinned(t *testing.T, e *env) (unpin func()) {
	if runtime.NumCPU() < 2 {
		t.Skip("RPS needs 2 CPUs")
	}
	rps := "/sys/class/net/" + e.p.Link[1] + "/queues/rx-0/rps_cpus"
	if out, err := e.p.Cmd(1, "sh", "-c", "echo 1 > "+rps).CombinedOutput(); err != nil {
		t.Skipf("no RPS: %v: %s", err, out)
	}
	runtime.LockOSThread()
	var set unix.CPUSet
	set.Set(1)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	return func() {
		var all unix.CPUSet
		for c := range runtime.NumCPU() {
			all.Set(c)
		}
		unix.SchedSetaffinity(0, &all)
		runtime.UnlockOSThread()
	}
}

func newEnv(t *testing.T, mtu int, o live.Options) *env {
	t.Helper()
	p := netns.NewPair(t, mtu)
	e := &env{p: p}
	if err := p.InNS(0, func() (err error) { e.s, err = live.Open(p.Link[0], o); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.s.Close() })
	if err := p.InNS(1, func() error {
		ifi, err := net.InterfaceByName(p.Link[1])
		if err == nil {
			e.peer = ifi.HardwareAddr
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return e
}

// ingressCount adds an ingress qdisc on Link[i] and returns a function that reads the number
// of packets it has seen: a count taken in the far end's receive path (__netif_receive_skb),
// after the backlog, independent of the veth driver's own counters.
func ingressCount(t *testing.T, p *netns.Pair, i int) func() uint64 {
	t.Helper()
	if out, err := p.Cmd(i, "tc", "qdisc", "add", "dev", p.Link[i], "ingress").CombinedOutput(); err != nil {
		t.Logf("no ingress counter (tc qdisc add ... ingress: %v: %s)", err, out)
		return nil
	}
	// Without a filter the kernel does not run the ingress hook at all (nothing is counted).
	// A u32 filter matching everything, with no action, works on kernels built without
	// cls_matchall and act_gact.
	if out, err := p.Cmd(i, "tc", "filter", "add", "dev", p.Link[i], "ingress", "protocol", "all",
		"u32", "match", "u32", "0", "0", "classid", ":1").CombinedOutput(); err != nil {
		t.Logf("no ingress counter (tc filter add ... u32: %v: %s)", err, out)
		return nil
	}
	re := regexp.MustCompile(`Sent \d+ bytes (\d+) pkt`)
	return func() uint64 {
		out, err := p.Cmd(i, "tc", "-s", "qdisc", "show", "dev", p.Link[i], "ingress").CombinedOutput()
		if err != nil {
			t.Fatalf("tc -s qdisc show: %v: %s", err, out)
		}
		m := re.FindSubmatch(out)
		if m == nil {
			t.Fatalf("tc -s qdisc show: no packet count in %q", out)
		}
		n, _ := strconv.ParseUint(string(m[1]), 10, 64)
		return n
	}
}

func softnetDropped(t *testing.T) uint64 {
	b, err := os.ReadFile("/proc/net/softnet_stat")
	if err != nil {
		return 0
	}
	var total uint64
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		if len(f) > 1 {
			v, _ := strconv.ParseUint(f[1], 16, 64)
			total += v
		}
	}
	return total
}

func TestSendVethExact(t *testing.T) {
	const (
		total = 200_000
		batch = 256
		size  = 1400
	)
	type variant struct {
		name   string
		bypass bool
		rps    bool
	}
	for _, v := range []variant{{"qdisc", false, false}, {"QdiscBypass", true, false}, {"qdisc+RPS", false, true}, {"QdiscBypass+RPS", true, true}} {
		t.Run(v.name, func(t *testing.T) {
			e := newEnv(t, 9000, live.Options{QdiscBypass: v.bypass})
			if v.rps {
				// Receive processing on the other CPU (the sender is pinned): the far end's
				// backlog can then overflow, which the sender sees as ENOBUFS.
				defer farRPSSenderPinned(t, e)()
			}
			ingress := ingressCount(t, e.p, 1)
			var in0 uint64
			if ingress != nil {
				in0 = ingress()
			}
			far0, near0 := e.p.Counters(t, 1), e.p.Counters(t, 0)
			sn0 := softnetDropped(t)

			bufs := make([][]byte, batch)
			for i := range bufs {
				bufs[i] = make([]byte, size)
				udpFrame(bufs[i], e.peer, e.s.HardwareAddr(), 0)
			}
			start := time.Now()
			for seq := 0; seq < total; seq += batch {
				frames := bufs[:min(batch, total-seq)]
				for i := range frames {
					stamp(frames[i], uint64(seq+i))
				}
				if n, err := e.s.Send(frames); err != nil || n != len(frames) {
					t.Fatalf("Send: %d of %d, %v", n, len(frames), err)
				}
			}
			el := time.Since(start)
			st := e.s.Stats()
			far, near := e.p.Counters(t, 1), e.p.Counters(t, 0)
			t.Logf("%d frames in %v (%.0f pps, frames stamped in the loop); stats %+v", total, el, total/el.Seconds(), st)
			t.Logf("far end: rx_packets +%d rx_bytes +%d rx_dropped +%d; near end: tx_packets +%d tx_dropped +%d; softnet backlog drops +%d",
				far.RxPackets-far0.RxPackets, far.RxBytes-far0.RxBytes, far.RxDropped-far0.RxDropped,
				near.TxPackets-near0.TxPackets, near.TxDropped-near0.TxDropped, softnetDropped(t)-sn0)
			if st.Packets != total || st.Bytes != total*size {
				t.Errorf("Stats: %d packets, %d bytes; want %d, %d", st.Packets, st.Bytes, total, total*size)
			}
			if got := far.RxPackets - far0.RxPackets; got != total {
				t.Errorf("far end rx_packets +%d, want %d", got, total)
			}
			if got := far.RxBytes - far0.RxBytes; got != total*size {
				t.Errorf("far end rx_bytes +%d, want %d", got, total*size)
			}
			// A frame the far end's backlog refused is counted in the near end's tx_dropped and
			// the far end's rx_dropped, and refused to the sender (ENOBUFS), which sends it
			// again: such drops are of attempts, not of frames, and the exact counts above and
			// below show that every frame arrived once. Any other rx_dropped is a loss.
			if got, refused := far.RxDropped-far0.RxDropped, near.TxDropped-near0.TxDropped; got != refused {
				t.Errorf("far end rx_dropped +%d, near end tx_dropped (refused and resent) +%d", got, refused)
			}
			if ingress != nil {
				// The backlog is drained by softirq, which a busy machine can hold back: wait
				// for the count (hangGuard bounds the wait; it is not a measurement).
				var got uint64
				for deadline := time.Now().Add(hangGuard); ; {
					if got = ingress() - in0; got >= total || time.Now().After(deadline) {
						break
					}
					time.Sleep(10 * time.Millisecond)
				}
				t.Logf("far end ingress qdisc: +%d packets", got)
				if got != total {
					t.Errorf("far end ingress qdisc counted +%d, want %d", got, total)
				}
			}
		})
	}
}
