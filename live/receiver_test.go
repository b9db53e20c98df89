//go:build linux

package live_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ov2dev/ov2/internal/netns"
	"github.com/ov2dev/ov2/live"
)

// openReceiver opens a Receiver on Link[i] inside namespace i, closed when the test ends.
func openReceiver(t *testing.T, p *netns.Pair, i int, o live.RecvOptions) *live.Receiver {
	t.Helper()
	var r *live.Receiver
	if err := p.InNS(i, func() (err error) { r, err = live.OpenReceiver(p.Link[i], o); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// ringKinds runs a test on both kinds of receive ring: blocks (TPACKET_V3) and Immediate
// frame slots (TPACKET_V2).
func ringKinds(t *testing.T, f func(t *testing.T, immediate bool)) {
	for _, immediate := range []bool{false, true} {
		name := "blocks"
		if immediate {
			name = "immediate"
		}
		t.Run(name, func(t *testing.T) { f(t, immediate) })
	}
}

// recvAll receives until want frames came (or hangGuard passes) and returns copies of them.
func recvAll(t *testing.T, r *live.Receiver, want int) [][]byte {
	t.Helper()
	return recvCounting(t, r, want, nil)
}

// recvCounting is recvAll that also stores in *progress (if not nil) how many frames it has
// received so far, for a sender that paces itself on the reader.
func recvCounting(t *testing.T, r *live.Receiver, want int, progress *atomic.Int64) [][]byte {
	t.Helper()
	var got [][]byte
	fs := make([]live.Frame, 64)
	deadline := time.Now().Add(hangGuard)
	for len(got) < want && time.Now().Before(deadline) {
		n, err := r.Recv(fs, 100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs[:n] {
			if f.Len != len(f.Data) {
				t.Fatalf("frame %d: Len %d, %d bytes held", len(got), f.Len, len(f.Data))
			}
			got = append(got, bytes.Clone(f.Data))
		}
		if progress != nil {
			progress.Store(int64(len(got)))
		}
	}
	return got
}

// Every frame sent arrives once, in order, byte for byte, and the counters agree with the
// kernel's: 20,000 frames of 60 to 1514 bytes through a ring of 1 MiB that the test keeps
// draining (an Immediate ring, whose slots hold one frame each, gets 64 blocks: 2048 slots
// of 2 KiB, as many frames as 1 MiB of blocks holds of these).
func TestRecvExact(t *testing.T) { ringKinds(t, testRecvExact) }

func testRecvExact(t *testing.T, immediate bool) {
	e := newEnv(t, 1500, live.Options{})
	o := live.RecvOptions{BlockSize: 1 << 16, Blocks: 16, Promisc: true, IgnoreOutgoing: true, Immediate: immediate}
	if immediate {
		o.Blocks = 64
	}
	r := openReceiver(t, e.p, 1, o)
	const total = 20_000
	frames := make([][]byte, total)
	var bytesSent uint64
	for i := range frames {
		frames[i] = make([]byte, 60+(i*97)%(1514-60+1))
		udpFrame(frames[i], e.peer, e.s.HardwareAddr(), uint64(i))
		bytesSent += uint64(len(frames[i]))
	}
	// The sender keeps at most window frames ahead of the reader, far less than the ring
	// holds (about 1,300 of these frames in 1 MiB of blocks; 2048 slots), so no drop is
	// expected however slowly the reader runs (the race detector, a busy machine: a fixed
	// pace of 100 frames per 200 µs once overflowed the block ring by 191 frames).
	const window = 400
	var progress atomic.Int64
	done := make(chan error, 1)
	go func() {
		deadline := time.Now().Add(hangGuard)
		for i := 0; i < total; i += 100 {
			for int64(i)-progress.Load() > window-100 && time.Now().Before(deadline) {
				time.Sleep(50 * time.Microsecond)
			}
			if _, err := e.s.Send(frames[i : i+100]); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	got := recvCounting(t, r, total, &progress)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st := r.Stats()
	if len(got) != total {
		t.Fatalf("received %d of %d frames; stats %+v", len(got), total, st)
	}
	for i := range got {
		if !bytes.Equal(got[i], frames[i]) {
			t.Fatalf("frame %d differs: got %d bytes, sent %d (seq %d)", i, len(got[i]), len(frames[i]), binary.BigEndian.Uint64(got[i][42:]))
		}
	}
	if st.Packets != total || st.Bytes != bytesSent || st.KernelPackets != total || st.KernelDrops != 0 || st.Truncated != 0 || st.Outgoing != 0 {
		t.Errorf("stats %+v: want %d packets, %d bytes, kernel %d, no drops", st, total, bytesSent, total)
	}
	if immediate && st.Blocks != 0 || !immediate && (st.Blocks == 0 || st.Blocks > total) {
		t.Errorf("%d blocks for %d frames (Immediate %v: a frame ring takes no blocks)", st.Blocks, total, immediate)
	}
}

// A ring that is not read fills up: the kernel drops what does not fit and counts it, and
// what it kept plus what it dropped is exactly what was sent.
func TestRecvKernelDrops(t *testing.T) { ringKinds(t, testRecvKernelDrops) }

func testRecvKernelDrops(t *testing.T, immediate bool) {
	e := newEnv(t, 1500, live.Options{})
	r := openReceiver(t, e.p, 1, live.RecvOptions{BlockSize: 4096, Blocks: 4, Immediate: immediate})
	const total = 1000
	frames := make([][]byte, total)
	for i := range frames {
		frames[i] = make([]byte, 1000)
		udpFrame(frames[i], e.peer, e.s.HardwareAddr(), uint64(i))
	}
	if _, err := e.s.Send(frames); err != nil {
		t.Fatal(err)
	}
	var got int
	fs := make([]live.Frame, 64)
	for deadline := time.Now().Add(hangGuard); time.Now().Before(deadline); {
		st := r.Stats()
		if st.KernelPackets+st.KernelDrops >= total && !r.Ready() {
			// Everything was offered; wait one block timeout for a partly filled block.
			time.Sleep(10 * time.Millisecond)
			if !r.Ready() {
				break
			}
		}
		n, err := r.Recv(fs, 10*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		got += n
	}
	st := r.Stats()
	if st.KernelDrops == 0 || uint64(got) != st.Packets || st.KernelPackets != st.Packets || st.Packets+st.KernelDrops != total {
		t.Errorf("received %d; stats %+v: want received + kernel drops = %d, some drops", got, st, total)
	}
	t.Logf("ring of 4 blocks of 4 KiB (Immediate %v): %d frames kept, %d dropped by the kernel, %d freezes", immediate, st.Packets, st.KernelDrops, st.KernelFreezes)
}

// With IgnoreOutgoing a receiver does not see what its own host sends on the interface;
// without it, it does, marked PacketOutgoing.
func TestRecvIgnoreOutgoing(t *testing.T) { ringKinds(t, testRecvIgnoreOutgoing) }

func testRecvIgnoreOutgoing(t *testing.T, immediate bool) {
	e := newEnv(t, 1500, live.Options{})
	quiet := openReceiver(t, e.p, 0, live.RecvOptions{IgnoreOutgoing: true, Immediate: immediate})
	all := openReceiver(t, e.p, 0, live.RecvOptions{Immediate: immediate})
	f := make([]byte, 100)
	udpFrame(f, e.peer, e.s.HardwareAddr(), 1)
	if _, err := e.s.Send([][]byte{f}); err != nil {
		t.Fatal(err)
	}
	got := recvAll(t, all, 1)
	if len(got) != 1 || !bytes.Equal(got[0], f) {
		t.Fatalf("without IgnoreOutgoing: got %d frames, want the one sent", len(got))
	}
	// A frame from the far end arrives at both; the sent one only at all.
	var far *live.Sender
	if err := e.p.InNS(1, func() (err error) { far, err = live.Open(e.p.Link[1], live.Options{}); return err }); err != nil {
		t.Fatal(err)
	}
	defer far.Close()
	g := make([]byte, 120)
	udpFrame(g, e.s.HardwareAddr(), far.HardwareAddr(), 2)
	if _, err := far.Send([][]byte{g}); err != nil {
		t.Fatal(err)
	}
	got = recvAll(t, quiet, 1)
	if len(got) != 1 || !bytes.Equal(got[0], g) {
		t.Fatalf("with IgnoreOutgoing: got %d frames (%x), want only the far end's", len(got), got)
	}
	fs := make([]live.Frame, 4)
	if n, _ := quiet.Recv(fs, 20*time.Millisecond); n != 0 {
		t.Errorf("with IgnoreOutgoing: %d more frames", n)
	}
	if st := quiet.Stats(); st.Packets != 1 {
		t.Errorf("stats %+v: want 1 packet", st)
	}
}

// Promiscuous mode is on while a Promisc receiver is open and off after it closes; frames
// for another host's MAC address reach it, marked PacketOtherHost.
func TestRecvPromisc(t *testing.T) {
	e := newEnv(t, 1500, live.Options{})
	promisc := func() bool {
		out, err := e.p.Cmd(1, "cat", "/sys/class/net/"+e.p.Link[1]+"/flags").Output()
		if err != nil {
			t.Fatal(err)
		}
		v, err := strconv.ParseUint(strings.TrimSpace(string(out)), 0, 32)
		if err != nil {
			t.Fatalf("flags %q: %v", out, err)
		}
		return v&unix.IFF_PROMISC != 0
	}
	if promisc() {
		t.Fatal("promiscuous before any receiver")
	}
	var r *live.Receiver
	if err := e.p.InNS(1, func() (err error) {
		r, err = live.OpenReceiver(e.p.Link[1], live.RecvOptions{Promisc: true})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if !promisc() {
		t.Error("not promiscuous with a Promisc receiver open")
	}
	f := make([]byte, 100)
	udpFrame(f, net.HardwareAddr{0x02, 9, 9, 9, 9, 9}, e.s.HardwareAddr(), 7)
	if _, err := e.s.Send([][]byte{f}); err != nil {
		t.Fatal(err)
	}
	fs := make([]live.Frame, 4)
	n := 0
	for deadline := time.Now().Add(hangGuard); n == 0 && time.Now().Before(deadline); {
		var err error
		if n, err = r.Recv(fs, 100*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	if n != 1 || fs[0].PktType != live.PacketOtherHost || !bytes.Equal(fs[0].Data, f) {
		t.Errorf("got %d frames, type %d; want the frame for another host (type %d)", n, fs[0].PktType, live.PacketOtherHost)
	}
	r.Close()
	if promisc() {
		t.Error("still promiscuous after Close")
	}
	if _, err := r.Recv(fs, 0); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Recv after Close: %v, want net.ErrClosed", err)
	}
}

// A frame larger than a block (Immediate: a frame slot) is cut to fit and handed out with
// its full length.
func TestRecvTruncated(t *testing.T) {
	e := newEnv(t, 9000, live.Options{})
	r := openReceiver(t, e.p, 1, live.RecvOptions{BlockSize: 4096, Blocks: 4})
	f := make([]byte, 6000)
	udpFrame(f, e.peer, e.s.HardwareAddr(), 3)
	if _, err := e.s.Send([][]byte{f}); err != nil {
		t.Fatal(err)
	}
	fs := make([]live.Frame, 4)
	n := 0
	for deadline := time.Now().Add(hangGuard); n == 0 && time.Now().Before(deadline); {
		var err error
		if n, err = r.Recv(fs, 100*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	if n != 1 || fs[0].Len != 6000 || len(fs[0].Data) >= 6000 || !bytes.Equal(fs[0].Data, f[:len(fs[0].Data)]) {
		t.Fatalf("got %d frames: Len %d, %d bytes held; want one of 6000 bytes, cut", n, fs[0].Len, len(fs[0].Data))
	}
	if st := r.Stats(); st.Truncated != 1 {
		t.Errorf("stats %+v: want 1 truncated", st)
	}
}

// An Immediate ring takes a frame longer than its slots whole (an aggregate from a host
// with segmentation offloads on, say): here 4 KiB slots on a 9000-byte link, and frames of
// 60 to 9014 bytes, a third of them longer than a slot, sent in bursts of 7. Every frame
// arrives in order, byte for byte, and none is cut.
func TestRecvImmediateWhole(t *testing.T) {
	e := newEnv(t, 9000, live.Options{})
	r := openReceiver(t, e.p, 1, live.RecvOptions{BlockSize: 8192, Blocks: 16, Immediate: true, FrameSize: 4096})
	const n = 300
	sent := make([][]byte, n)
	for j := range sent {
		size := 60 + (j*2731)%1500
		if j%3 == 1 {
			size = 4100 + (j*977)%4914 // 4100..9013: longer than a slot
		}
		sent[j] = make([]byte, size)
		udpFrame(sent[j], e.peer, e.s.HardwareAddr(), uint64(j))
	}
	var progress atomic.Int64
	go func() {
		for i := 0; i < n; i += 7 {
			for int(progress.Load()) < i-16 { // stay within the ring's 32 slots
				time.Sleep(time.Millisecond)
			}
			if _, err := e.s.Send(sent[i:min(i+7, n)]); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	got := recvCounting(t, r, n, &progress)
	if len(got) != n {
		t.Fatalf("got %d frames, want %d", len(got), n)
	}
	for i, g := range got {
		if !bytes.Equal(g, sent[i]) {
			t.Fatalf("frame %d: %d bytes, want the %d sent", i, len(g), len(sent[i]))
		}
	}
	if st := r.Stats(); st.Truncated != 0 || st.Whole != n/3 || st.Packets != n || st.KernelDrops != 0 {
		t.Errorf("stats %+v: want %d packets, %d whole, none truncated or dropped", st, n, n/3)
	}
}

// An Immediate ring hands a frame over as soon as it arrives; a block ring holds it until
// the block is full or its timer fires (here a minute: a lone frame stays in the kernel).
func TestRecvImmediate(t *testing.T) {
	e := newEnv(t, 1500, live.Options{})
	blocks := openReceiver(t, e.p, 1, live.RecvOptions{Timeout: time.Minute})
	now := openReceiver(t, e.p, 1, live.RecvOptions{Immediate: true})
	f := make([]byte, 100)
	udpFrame(f, e.peer, e.s.HardwareAddr(), 7)
	if _, err := e.s.Send([][]byte{f}); err != nil {
		t.Fatal(err)
	}
	got := recvAll(t, now, 1)
	if len(got) != 1 || !bytes.Equal(got[0], f) {
		t.Fatalf("Immediate ring: got %d frames, want the one sent", len(got))
	}
	fs := make([]live.Frame, 4)
	if n, err := blocks.Recv(fs, 200*time.Millisecond); n != 0 || err != nil || blocks.Ready() {
		t.Fatalf("block ring with a 1-minute timer: Recv %d, %v (Ready %v); want the frame still held by the kernel", n, err, blocks.Ready())
	}
	// The Immediate ring's slot went back to the kernel with the next Recv: 3 more frames
	// arrive in order in the slots after it.
	for i := range 3 {
		udpFrame(f, e.peer, e.s.HardwareAddr(), uint64(10+i))
		if _, err := e.s.Send([][]byte{f}); err != nil {
			t.Fatal(err)
		}
	}
	got = recvAll(t, now, 3)
	for i, g := range got {
		if seq := binary.BigEndian.Uint64(g[42:]); len(got) != 3 || seq != uint64(10+i) {
			t.Fatalf("frame %d of %d: sequence %d, want %d", i, len(got), seq, 10+i)
		}
	}
	if st := now.Stats(); st.Packets != 4 || st.Blocks != 0 || st.KernelDrops != 0 {
		t.Errorf("Immediate ring stats %+v: want 4 packets, no blocks, no drops", st)
	}
}

// An Immediate ring's default slot holds a frame of the interface's MTU, whatever the block
// size asked for: on a 9000-byte link with 4 KiB blocks, a 6000-byte frame arrives whole.
func TestRecvImmediateJumbo(t *testing.T) {
	e := newEnv(t, 9000, live.Options{})
	r := openReceiver(t, e.p, 1, live.RecvOptions{BlockSize: 4096, Blocks: 4, Immediate: true})
	f := make([]byte, 6000)
	udpFrame(f, e.peer, e.s.HardwareAddr(), 5)
	if _, err := e.s.Send([][]byte{f}); err != nil {
		t.Fatal(err)
	}
	got := recvAll(t, r, 1)
	if len(got) != 1 {
		t.Fatalf("got %d frames, want 1", len(got))
	}
	if !bytes.Equal(got[0], f) {
		t.Fatalf("got %d bytes, want the 6000-byte frame whole", len(got[0]))
	}
	if st := r.Stats(); st.Truncated != 0 {
		t.Errorf("stats %+v: want nothing truncated", st)
	}
}

// Recv does not allocate.
func TestRecvAllocs(t *testing.T) { ringKinds(t, testRecvAllocs) }

func testRecvAllocs(t *testing.T, immediate bool) {
	e := newEnv(t, 1500, live.Options{})
	r := openReceiver(t, e.p, 1, live.RecvOptions{Immediate: immediate})
	frames := make([][]byte, 64)
	for i := range frames {
		frames[i] = make([]byte, 200)
		udpFrame(frames[i], e.peer, e.s.HardwareAddr(), uint64(i))
	}
	fs := make([]live.Frame, 64)
	allocs := testing.AllocsPerRun(50, func() {
		if _, err := e.s.Send(frames); err != nil {
			t.Fatal(err)
		}
		for got := 0; got < len(frames); {
			n, err := r.Recv(fs, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			got += n
		}
	})
	// Send allocates nothing either (TestSendAllocs), so the whole round is Recv's.
	if allocs != 0 {
		t.Errorf("Send+Recv allocate %v times per round, want 0", allocs)
	}
}

func TestOpenReceiverErrors(t *testing.T) {
	p := netns.NewPair(t, 1500)
	for _, c := range []struct {
		iface string
		o     live.RecvOptions
		want  string
	}{
		{"nope0", live.RecvOptions{}, `live: interface "nope0": no such network interface`},
		{"", live.RecvOptions{}, `live: interface "": no such network interface`},
		{p.Link[0], live.RecvOptions{BlockSize: 1000}, `block size 1000: want a multiple of the page size`},
		{p.Link[0], live.RecvOptions{Blocks: 1}, `1 blocks: want 2 to 65536`},
		{p.Link[0], live.RecvOptions{Timeout: time.Microsecond}, `block timeout 1µs: want 1ms to 1m`},
		{p.Link[0], live.RecvOptions{FrameSize: 2048}, `frame size 2048: only an Immediate ring has frame slots`},
		{p.Link[0], live.RecvOptions{Immediate: true, FrameSize: 1000}, `frame size 1000: want a multiple of 16, at least 256, that divides the block size 262144`},
		{p.Link[0], live.RecvOptions{Immediate: true, BlockSize: 4096, FrameSize: 3072}, `frame size 3072: want a multiple of 16, at least 256, that divides the block size 4096`},
	} {
		err := p.InNS(0, func() error {
			r, err := live.OpenReceiver(c.iface, c.o)
			if err == nil {
				r.Close()
			}
			return err
		})
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte(c.want)) {
			t.Errorf("OpenReceiver(%q, %+v): %v, want %q", c.iface, c.o, err, c.want)
		}
	}
	if out, err := p.Cmd(0, "ip", "link", "set", p.Link[0], "down").CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	err := p.InNS(0, func() error { _, err := live.OpenReceiver(p.Link[0], live.RecvOptions{}); return err })
	if err == nil || err.Error() != `live: interface "`+p.Link[0]+`" is down` {
		t.Errorf("down interface: %v", err)
	}
}

// Link and ClearError follow the interface: up; down (the socket's pending ENETDOWN makes
// poll report POLLERR until ClearError reads it); without carrier (the peer down); up
// again; removed (with an interface of the same name made after it: still removed).
func TestReceiverLink(t *testing.T) {
	p := netns.NewPair(t, 1500)
	r := openReceiver(t, p, 0, live.RecvOptions{Immediate: true})
	ip := func(ns int, args ...string) {
		t.Helper()
		if out, err := p.Cmd(ns, "ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
	pollErr := func() bool {
		pfd := []unix.PollFd{{Fd: int32(r.Fd()), Events: unix.POLLIN}}
		unix.Poll(pfd, 0)
		return pfd[0].Revents&unix.POLLERR != 0
	}
	if s, mtu := r.Link(); s != live.LinkUp || mtu != 1500 || r.ClearError() != nil || pollErr() {
		t.Fatalf("at the start: %v, MTU %d, error %v, POLLERR %v; want up, 1500, none, false", s, mtu, r.ClearError(), pollErr())
	}
	if m := r.MaxMTU(); m != 2048-128 {
		t.Errorf("MaxMTU %d: want 1920 (a 2048-byte slot for MTU 1500, less 128 for the headers)", m)
	}
	ip(0, "link", "set", p.Link[0], "down")
	if s, _ := r.Link(); s != live.LinkDown || !pollErr() {
		t.Fatalf("down: %v, POLLERR %v; want down, true", s, pollErr())
	}
	if err := r.ClearError(); !errors.Is(err, unix.ENETDOWN) {
		t.Fatalf("ClearError after down: %v, want ENETDOWN", err)
	}
	if pollErr() || r.ClearError() != nil {
		t.Fatal("the error is still pending after ClearError")
	}
	ip(0, "link", "set", p.Link[0], "up")
	ip(1, "link", "set", p.Link[1], "down")
	ip(0, "link", "set", p.Link[0], "mtu", "1400")
	if s, mtu := r.Link(); s != live.LinkDown || mtu != 1400 {
		t.Fatalf("peer down (no carrier), MTU set to 1400: %v, MTU %d; want down, 1400", s, mtu)
	}
	ip(1, "link", "set", p.Link[1], "up")
	deadline := time.Now().Add(5 * time.Second)
	for s, _ := r.Link(); s != live.LinkUp && time.Now().Before(deadline); s, _ = r.Link() {
		time.Sleep(10 * time.Millisecond)
	}
	if s, _ := r.Link(); s != live.LinkUp {
		t.Fatalf("up again: %v", s)
	}
	ip(0, "link", "del", p.Link[0])
	ip(0, "link", "add", p.Link[0], "type", "veth", "peer", "name", p.Link[0]+"p")
	ip(0, "link", "set", p.Link[0], "up")
	if s, _ := r.Link(); s != live.LinkGone || s.String() != "removed" {
		t.Fatalf("removed, and another made with its name: %v, want removed", s)
	}
}
