//go:build linux

package live_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ov2dev/ov2/internal/netns"
	"github.com/ov2dev/ov2/live"
)

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// openCapture opens, inside namespace i, an AF_PACKET socket that receives every frame
// arriving on Link[i].
func openCapture(t *testing.T, p *netns.Pair, i int) int {
	t.Helper()
	fd := -1
	err := p.InNS(i, func() error {
		ifi, err := net.InterfaceByName(p.Link[i])
		if err != nil {
			return err
		}
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
		if err != nil {
			return err
		}
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20); err != nil {
			return err
		}
		// A receive that waits this long has lost its frame: a hang guard, not a measurement.
		tv := unix.NsecToTimeval(hangGuard.Nanoseconds())
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			return err
		}
		return unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index})
	})
	if err != nil {
		if fd >= 0 {
			unix.Close(fd)
		}
		t.Fatalf("capture socket: %v", err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

// TestSendExactBytes captures at the far end what Send sent and compares byte for byte.
func TestSendExactBytes(t *testing.T) {
	for _, bypass := range []bool{false, true} {
		t.Run(fmt.Sprintf("QdiscBypass=%v", bypass), func(t *testing.T) {
			e := newEnv(t, 9000, live.Options{QdiscBypass: bypass})
			fd := openCapture(t, e.p, 1)
			var frames [][]byte
			for i, size := range []int{14, 42, 60, 64, 1400, 1514, 4000, 9014} {
				f := make([]byte, size)
				if size >= 42 {
					udpFrame(f, e.peer, e.s.HardwareAddr(), uint64(1000+i))
				} else {
					copy(f, e.peer)
					copy(f[6:], e.s.HardwareAddr())
					binary.BigEndian.PutUint16(f[12:], 0x88b5) // IEEE local experimental
				}
				frames = append(frames, f)
			}
			// A broadcast frame too.
			b := make([]byte, 1400)
			udpFrame(b, net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, e.s.HardwareAddr(), 77)
			frames = append(frames, b)

			if n, err := e.s.Send(frames); err != nil || n != len(frames) {
				t.Fatalf("Send: %d of %d, %v", n, len(frames), err)
			}
			buf := make([]byte, 65536)
			for i, want := range frames {
				n, _, err := unix.Recvfrom(fd, buf, 0)
				if err != nil {
					t.Fatalf("capture frame %d: %v", i, err)
				}
				if !bytes.Equal(buf[:n], want) {
					t.Errorf("frame %d: captured %d bytes % x...\nwant %d bytes % x...", i, n, buf[:min(n, 48)], len(want), want[:min(len(want), 48)])
				}
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	p := netns.NewPair(t, 9000)
	open := func(name string) error {
		return p.InNS(0, func() error {
			s, err := live.Open(name, live.Options{})
			if err == nil {
				s.Close()
			}
			return err
		})
	}
	check := func(err error, want string) {
		t.Helper()
		if err == nil || err.Error() != want {
			t.Errorf("Open error %v\nwant %s", err, want)
		}
	}
	check(open("nope0"), `live: interface "nope0": no such network interface`)
	check(open("a-name-that-is-far-too-long"), `live: interface "a-name-that-is-far-too-long": no such network interface`)
	check(open(""), `live: interface "": no such network interface`)

	// The peer down: this end is up but has no carrier.
	if out, err := p.Cmd(1, "ip", "link", "set", p.Link[1], "down").CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	waitFlags(t, p, 0, net.FlagRunning, 0)
	err := open(p.Link[0])
	check(err, fmt.Sprintf(`live: interface %q: no carrier: link has been severed`, p.Link[0]))
	if !errors.Is(err, live.ErrNoCarrier) {
		t.Errorf("error %v is not ErrNoCarrier", err)
	}
	if out, err := p.Cmd(0, "ip", "link", "set", p.Link[0], "down").CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	check(open(p.Link[0]), fmt.Sprintf(`live: interface %q is down`, p.Link[0]))

	// With AllowDown the sockets open on the down interface (a program that waits for its
	// link), and Send says it is down.
	if err := p.InNS(0, func() error {
		s, err := live.Open(p.Link[0], live.Options{AllowDown: true})
		if err != nil {
			return err
		}
		defer s.Close()
		r, err := live.OpenReceiver(p.Link[0], live.RecvOptions{AllowDown: true, Immediate: true})
		if err != nil {
			return err
		}
		defer r.Close()
		if st, _ := r.Link(); st != live.LinkDown {
			t.Errorf("Link of the down interface: %v, want down", st)
		}
		f := make([]byte, 60)
		if _, err := s.Send([][]byte{f}); err == nil || !strings.Contains(err.Error(), "network is down") {
			t.Errorf("Send on the down interface: %v, want network is down", err)
		}
		return nil
	}); err != nil {
		t.Errorf("AllowDown: %v", err)
	}
}

// TestOpenNeedsCapNetRaw drops CAP_NET_RAW from the effective set of one thread (capabilities
// are per thread) and opens there.
func TestOpenNeedsCapNetRaw(t *testing.T) {
	want := `live: interface "lo": opening an AF_PACKET socket needs CAP_NET_RAW (run as root or grant the capability): operation not permitted`
	if os.Geteuid() != 0 {
		// Most likely without the capability already.
		s, err := live.Open("lo", live.Options{})
		if err == nil {
			s.Close()
			t.Skip("not root, but has CAP_NET_RAW")
		}
		if err.Error() != want {
			t.Fatalf("Open as uid %d: %v\nwant %s", os.Geteuid(), err, want)
		}
		return
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // not unlocked: the thread's capabilities are changed
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		if err := unix.Capget(&hdr, &data[0]); err != nil {
			errc <- err
			return
		}
		data[unix.CAP_NET_RAW/32].Effective &^= 1 << (unix.CAP_NET_RAW % 32)
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			errc <- err
			return
		}
		_, err := live.Open("lo", live.Options{})
		errc <- err
	}()
	err := <-errc
	if err == nil || err.Error() != want {
		t.Fatalf("Open without CAP_NET_RAW: %v\nwant %s", err, want)
	}
}

func TestFrameSizes(t *testing.T) {
	e := newEnv(t, 1500, live.Options{})
	mk := func(size int, vlan bool) []byte {
		f := make([]byte, size)
		udpFrame(f, e.peer, e.s.HardwareAddr(), 1)
		if vlan {
			binary.BigEndian.PutUint16(f[12:], 0x8100)
			binary.BigEndian.PutUint16(f[14:], 5) // VID 5
			binary.BigEndian.PutUint16(f[16:], 0x0800)
		}
		return f
	}
	ok := func(f []byte) {
		t.Helper()
		before := e.p.Counters(t, 1).RxPackets
		if n, err := e.s.Send([][]byte{f}); n != 1 || err != nil {
			t.Errorf("Send(%d bytes): %d, %v", len(f), n, err)
		}
		if got := e.p.Counters(t, 1).RxPackets - before; got != 1 {
			t.Errorf("Send(%d bytes): far end rx_packets +%d, want 1", len(f), got)
		}
	}
	bad := func(frames [][]byte, wantN int, want string, errno unix.Errno) {
		t.Helper()
		before := e.p.Counters(t, 1).RxPackets
		n, err := e.s.Send(frames)
		if n != wantN || err == nil || err.Error() != want || !errors.Is(err, errno) {
			t.Errorf("Send: %d, %v\nwant %d, %s (%v)", n, err, wantN, want, errno)
		}
		var fe *live.FrameError
		if !errors.As(err, &fe) || fe.Index != wantN {
			t.Errorf("error %v: not a *FrameError with Index %d", err, wantN)
		}
		if got := e.p.Counters(t, 1).RxPackets - before; got != uint64(wantN) {
			t.Errorf("far end rx_packets +%d, want %d", got, wantN)
		}
	}
	name := e.s.Name()
	ok(mk(1514, false))
	ok(mk(1518, true))
	bad([][]byte{mk(1515, false)}, 0, fmt.Sprintf(`live: interface %q: frame 0 is 1515 bytes, MTU 1500: message too long`, name), unix.EMSGSIZE)
	bad([][]byte{mk(100, false), mk(1519, true)}, 1, fmt.Sprintf(`live: interface %q: frame 1 is 1519 bytes, MTU 1500: message too long`, name), unix.EMSGSIZE)
	bad([][]byte{mk(100, false), mk(100, false), mk(100, false), mk(9100, false), mk(100, false)}, 3,
		fmt.Sprintf(`live: interface %q: frame 3 is 9100 bytes, MTU 1500: message too long`, name), unix.EMSGSIZE)
	bad([][]byte{mk(100, false), make([]byte, 13)}, 1, fmt.Sprintf(`live: interface %q: frame 1 is 13 bytes, shorter than an Ethernet header (14): invalid argument`, name), unix.EINVAL)
	bad([][]byte{nil}, 0, fmt.Sprintf(`live: interface %q: frame 0 is 0 bytes, shorter than an Ethernet header (14): invalid argument`, name), unix.EINVAL)
	// An oversized frame in a later batch: the batches before it are sent.
	frames := make([][]byte, 1500)
	for i := range frames {
		frames[i] = mk(60, false)
	}
	frames[1300] = mk(2000, false)
	bad(frames, 1300, fmt.Sprintf(`live: interface %q: frame 1300 is 2000 bytes, MTU 1500: message too long`, name), unix.EMSGSIZE)
	if n, err := e.s.Send(nil); n != 0 || err != nil {
		t.Errorf("Send(nil): %d, %v", n, err)
	}
}

// TestSendMTU9000 is the example of the specification: MTU 9000, frame 3 is 9100 bytes.
func TestSendMTU9000(t *testing.T) {
	e := newEnv(t, 9000, live.Options{QdiscBypass: true})
	frames := make([][]byte, 5)
	for i := range frames {
		frames[i] = make([]byte, 9014)
		udpFrame(frames[i], e.peer, e.s.HardwareAddr(), uint64(i))
	}
	frames[3] = make([]byte, 9100)
	udpFrame(frames[3], e.peer, e.s.HardwareAddr(), 3)
	n, err := e.s.Send(frames)
	want := fmt.Sprintf(`live: interface %q: frame 3 is 9100 bytes, MTU 9000: message too long`, e.s.Name())
	if n != 3 || err == nil || err.Error() != want {
		t.Fatalf("Send: %d, %v\nwant 3, %s", n, err, want)
	}
	if st := e.s.Stats(); st.Packets != 3 || st.Bytes != 3*9014 {
		t.Errorf("Stats %+v, want 3 packets, %d bytes", st, 3*9014)
	}
}

// TestSendLinkDown: the interface goes down after Open (a hard error from the kernel), and the
// peer goes down (no carrier: the kernel would discard frames, so Send refuses).
func TestSendLinkDown(t *testing.T) {
	for _, bypass := range []bool{false, true} {
		t.Run(fmt.Sprintf("QdiscBypass=%v", bypass), func(t *testing.T) {
			e := newEnv(t, 1500, live.Options{QdiscBypass: bypass})
			f := make([]byte, 1000)
			udpFrame(f, e.peer, e.s.HardwareAddr(), 1)
			frames := [][]byte{f, f}

			if out, err := e.p.Cmd(1, "ip", "link", "set", e.p.Link[1], "down").CombinedOutput(); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			waitFlags(t, e.p, 0, net.FlagRunning, 0)
			n, err := e.s.Send(frames)
			want := fmt.Sprintf(`live: interface %q: no carrier: link has been severed (found before sending)`, e.s.Name())
			if n != 0 || err == nil || err.Error() != want || !errors.Is(err, live.ErrNoCarrier) {
				t.Errorf("Send without carrier: %d, %v\nwant 0, %s", n, err, want)
			}

			if out, err := e.p.Cmd(0, "ip", "link", "set", e.p.Link[0], "down").CombinedOutput(); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			n, err = e.s.Send(frames)
			want = fmt.Sprintf(`live: interface %q: network is down (found before sending)`, e.s.Name())
			if n != 0 || err == nil || err.Error() != want || !errors.Is(err, unix.ENETDOWN) {
				t.Errorf("Send on a down interface: %d, %v\nwant 0, %s", n, err, want)
			}
			if st := e.s.Stats(); st.Packets != 0 {
				t.Errorf("Stats %+v, want nothing sent", st)
			}
		})
	}
}

func waitFlags(t *testing.T, p *netns.Pair, i int, mask, want net.Flags) {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for {
		var flags net.Flags
		if err := p.InNS(i, func() error {
			ifi, err := net.InterfaceByName(p.Link[i])
			if err == nil {
				flags = ifi.Flags
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if flags&mask == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: flags %v, want %v&%v", p.Link[i], flags, mask, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSendClosed(t *testing.T) {
	e := newEnv(t, 1500, live.Options{})
	if err := e.s.Close(); err != nil {
		t.Fatal(err)
	}
	f := make([]byte, 100)
	n, err := e.s.Send([][]byte{f})
	if n != 0 || !errors.Is(err, net.ErrClosed) {
		t.Errorf("Send after Close: %d, %v", n, err)
	}
	if err := e.s.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second Close: %v", err)
	}
}

func TestSenderInfo(t *testing.T) {
	e := newEnv(t, 4000, live.Options{SndBuf: 1 << 20})
	if e.s.Name() != e.p.Link[0] || e.s.MTU() != 4000 {
		t.Errorf("Name %q MTU %d, want %q 4000", e.s.Name(), e.s.MTU(), e.p.Link[0])
	}
	var hw net.HardwareAddr
	if err := e.p.InNS(0, func() error {
		ifi, err := net.InterfaceByName(e.p.Link[0])
		if err == nil {
			hw = ifi.HardwareAddr
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(hw, e.s.HardwareAddr()) {
		t.Errorf("HardwareAddr %v, want %v", e.s.HardwareAddr(), hw)
	}
}

func TestSendAllocs(t *testing.T) {
	e := newEnv(t, 9000, live.Options{})
	frames := make([][]byte, 256)
	for i := range frames {
		frames[i] = make([]byte, 1400)
		udpFrame(frames[i], e.peer, e.s.HardwareAddr(), uint64(i))
	}
	if _, err := e.s.Send(frames); err != nil { // warm up
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(50, func() {
		if _, err := e.s.Send(frames); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Send allocates %v times per call, want 0", allocs)
	}
}

func BenchmarkSend(b *testing.B) {
	for _, bypass := range []bool{false, true} {
		b.Run(fmt.Sprintf("QdiscBypass=%v", bypass), func(b *testing.B) {
			p := netns.NewPair(b, 9000)
			var s *live.Sender
			if err := p.InNS(0, func() (err error) { s, err = live.Open(p.Link[0], live.Options{QdiscBypass: bypass}); return err }); err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			frames := make([][]byte, 1024)
			bc := net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
			for i := range frames {
				frames[i] = make([]byte, 1400)
				udpFrame(frames[i], bc, s.HardwareAddr(), uint64(i))
			}
			b.SetBytes(1400)
			b.ResetTimer()
			for sent := 0; sent < b.N; {
				n, err := s.Send(frames[:min(len(frames), b.N-sent)])
				if err != nil {
					b.Fatal(err)
				}
				sent += n
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pps")
		})
	}
}

// TestSendBackpressure puts a token bucket (tc tbf) on the near end so that the kernel pushes
// back, and checks that Send waits and retries and loses nothing: with a short queue the qdisc
// refuses frames (ENOBUFS); with a long queue and a small send buffer the socket fills (EAGAIN).
// The bucket's rate (100 Mbit/s, under 9,000 frames of 1400 bytes a second) is far below what
// any sender offers even on a busy machine (a batch of 256 frames goes into the kernel in one
// call, and the queue or send buffer holds a few dozen), so the pushback does not depend on
// the machine's speed.
func TestSendBackpressure(t *testing.T) {
	cases := []struct {
		name   string
		limit  string
		sndbuf int
	}{
		{"ENOBUFS", "30kb", 0},
		{"EAGAIN", "10mb", 64 << 10},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, 9000, live.Options{SndBuf: c.sndbuf})
			if out, err := e.p.Cmd(0, "tc", "qdisc", "add", "dev", e.p.Link[0], "root", "tbf",
				"rate", "100mbit", "burst", "32kb", "limit", c.limit).CombinedOutput(); err != nil {
				t.Skipf("no tbf qdisc: %v: %s", err, out)
			}
			const total, size = 4000, 1400
			far0 := e.p.Counters(t, 1)
			frames := make([][]byte, 256)
			for i := range frames {
				frames[i] = make([]byte, size)
				udpFrame(frames[i], e.peer, e.s.HardwareAddr(), 0)
			}
			for seq := 0; seq < total; seq += len(frames) {
				batch := frames[:min(len(frames), total-seq)]
				for i := range batch {
					stamp(batch[i], uint64(seq+i))
				}
				if n, err := e.s.Send(batch); n != len(batch) || err != nil {
					t.Fatalf("Send: %d of %d, %v", n, len(batch), err)
				}
			}
			st := e.s.Stats()
			// Frames accepted into the qdisc are still on their way: wait for the far end
			// (hangGuard bounds the wait; it is not a measurement).
			var far netns.Counters
			for deadline := time.Now().Add(hangGuard); ; {
				far = e.p.Counters(t, 1)
				if far.RxPackets-far0.RxPackets >= total || time.Now().After(deadline) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			near := e.p.Counters(t, 0)
			qs, _ := e.p.Cmd(0, "tc", "-s", "qdisc", "show", "dev", e.p.Link[0]).CombinedOutput()
			t.Logf("stats %+v; far rx +%d; near tx_dropped %d; %s", st, far.RxPackets-far0.RxPackets, near.TxDropped, bytes.TrimSpace(qs))
			if st.Packets != total || st.Bytes != total*size {
				t.Errorf("Stats %+v, want %d packets, %d bytes", st, total, total*size)
			}
			if st.Waits == 0 {
				t.Errorf("Stats %+v: Send never waited", st)
			}
			if got := far.RxPackets - far0.RxPackets; got != total {
				t.Errorf("far end rx_packets +%d, want %d", got, total)
			}
		})
	}
}

// TestSendCarrierLost takes the peer down while a long Send is under way (a token bucket on the
// near end makes it last): the kernel then discards frames and reports success, and Send must
// not return success.
//
// The peer goes down once Send has met the bucket's pushback (its Waits count), so it is under
// way; and the bucket is slow enough (10 Mbit/s: about 9 s for the 8000 frames) that Send is
// still far from done however long a busy machine takes to run `ip link set down`. Once the
// carrier is gone the rest of the frames go at once, so the test itself takes only as long as
// that command.
func TestSendCarrierLost(t *testing.T) {
	e := newEnv(t, 9000, live.Options{})
	if out, err := e.p.Cmd(0, "tc", "qdisc", "add", "dev", e.p.Link[0], "root", "tbf",
		"rate", "10mbit", "burst", "32kb", "limit", "30kb").CombinedOutput(); err != nil {
		t.Skipf("no tbf qdisc: %v: %s", err, out)
	}
	frames := make([][]byte, 8000) // about 9 s at 10 Mbit/s
	for i := range frames {
		frames[i] = make([]byte, 1400)
		udpFrame(frames[i], e.peer, e.s.HardwareAddr(), uint64(i))
	}
	sendDone := make(chan struct{})
	downed := make(chan error, 1)
	go func() {
		for e.s.Stats().Waits == 0 {
			select {
			case <-sendDone:
				downed <- errors.New("Send returned before the token bucket ever pushed back")
				return
			case <-time.After(time.Millisecond):
			}
		}
		if out, err := e.p.Cmd(1, "ip", "link", "set", e.p.Link[1], "down").CombinedOutput(); err != nil {
			downed <- fmt.Errorf("ip link set %s down: %v: %s", e.p.Link[1], err, out)
			return
		}
		downed <- nil
	}()
	start := time.Now()
	n, err := e.s.Send(frames)
	took := time.Since(start)
	close(sendDone)
	t.Logf("Send: %d, %v after %v; stats %+v", n, err, took, e.s.Stats())
	if derr := <-downed; derr != nil {
		t.Fatal(derr)
	}
	var lost *live.LinkLostError
	var fe *live.FrameError
	switch {
	case errors.As(err, &lost):
		if n != len(frames) || lost.Accepted != n || !errors.Is(err, live.ErrNoCarrier) {
			t.Errorf("LinkLostError %+v with n %d", lost, n)
		}
		want := fmt.Sprintf(`live: interface %q: after the kernel accepted %d frames: no carrier: link has been severed (some may have been discarded)`, e.s.Name(), n)
		if err.Error() != want {
			t.Errorf("error %v\nwant %s", err, want)
		}
	case errors.As(err, &fe):
		// The loss was seen while Send waited on the token bucket.
		if fe.Index != n || !errors.Is(err, live.ErrNoCarrier) {
			t.Errorf("FrameError %+v with n %d", fe, n)
		}
	default:
		t.Fatalf("Send returned %d, %v after the carrier was lost", n, err)
	}
}
