//go:build linux

package live_test

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ov2dev/ov2/live"
)

// TestSendPaths measures the kernel's cost per frame of the transmit paths that could serve
// live.Sender, on a veth pair (MTU 9000) with 1400-byte frames: live.Send (sendmmsg(2),
// batches of 256), the same with PACKET_QDISC_BYPASS, a PACKET_TX_RING (TPACKET_V2,
// memory-mapped: the frames are copied into the ring and one sendto(MSG_DONTWAIT) per 256
// hands them over) with and without the bypass, and live.Send from two threads on two
// sockets (what the lanes of ov2 replay do). Each variant sends the same frames, rounds
// interleaved; the test logs frames/s (wall) and the CPU time per frame of the whole
// process (user, system and the far end's receive processing, which runs in the sender's
// softirq), best of the rounds. It checks only that the far end received every frame: it
// is a measurement (set OV2_LIVE_BENCH=1 to run it), not a check of speed.
func TestSendPaths(t *testing.T) {
	if os.Getenv("OV2_LIVE_BENCH") != "1" {
		t.Skip("set OV2_LIVE_BENCH=1 to measure the transmit paths")
	}
	const (
		total = 200_000
		size  = 1400
		batch = 256
	)
	e := newEnv(t, 9000, live.Options{})
	frames := make([][]byte, total)
	for i := range frames {
		frames[i] = make([]byte, size)
		udpFrame(frames[i], e.peer, e.s.HardwareAddr(), uint64(i))
	}
	bypass := openOn(t, e, live.Options{QdiscBypass: true})
	second := openOn(t, e, live.Options{})
	var ring, ringBypass *txRing
	for _, r := range []struct {
		to     **txRing
		bypass bool
	}{{&ring, false}, {&ringBypass, true}} {
		if err := e.p.InNS(0, func() (err error) { *r.to, err = openTxRing(e.p.Link[0], r.bypass, 2048, 4096); return err }); err != nil {
			t.Fatal(err)
		}
		t.Cleanup((*r.to).close)
	}
	sendAll := func(s *live.Sender, fs [][]byte) error {
		for i := 0; i < len(fs); i += batch {
			if _, err := s.Send(fs[i:min(i+batch, len(fs))]); err != nil {
				return err
			}
		}
		return nil
	}
	type variant struct {
		name string
		run  func() error
	}
	variants := []variant{
		{"sendmmsg", func() error { return sendAll(e.s, frames) }},
		{"sendmmsg+bypass", func() error { return sendAll(bypass, frames) }},
		{"tx-ring", func() error { return ring.send(frames, batch) }},
		{"tx-ring+bypass", func() error { return ringBypass.send(frames, batch) }},
		{"sendmmsg, 2 threads", func() error {
			// Two sockets, each with half the frames, as two send lanes.
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for k, s := range []*live.Sender{e.s, second} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					runtime.LockOSThread()
					defer runtime.UnlockOSThread()
					errs[k] = sendAll(s, frames[k*total/2:(k+1)*total/2])
				}()
			}
			wg.Wait()
			if errs[0] != nil {
				return errs[0]
			}
			return errs[1]
		}},
	}
	type best struct{ pps, nsPerFrame float64 }
	bests := make([]best, len(variants))
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for round := range 3 {
		for i, v := range variants {
			before := e.p.Counters(t, 1)
			c0, t0 := processCPU(), time.Now()
			if err := v.run(); err != nil {
				t.Fatalf("%s: %v", v.name, err)
			}
			wall, cpu := time.Since(t0), processCPU()-c0
			after := e.p.Counters(t, 1)
			if got := after.RxPackets - before.RxPackets; got != total {
				t.Fatalf("%s: the far end received %d of %d frames", v.name, got, total)
			}
			pps, ns := total/wall.Seconds(), float64(cpu.Nanoseconds())/total
			t.Logf("round %d: %-20s %8.0f frames/s, %5.0f ns CPU per frame", round+1, v.name, pps, ns)
			if pps > bests[i].pps {
				bests[i].pps = pps
			}
			if bests[i].nsPerFrame == 0 || ns < bests[i].nsPerFrame {
				bests[i].nsPerFrame = ns
			}
		}
	}
	for i, v := range variants {
		t.Logf("best of 3: %-20s %8.0f frames/s, %5.0f ns CPU per frame", v.name, bests[i].pps, bests[i].nsPerFrame)
	}
}

// processCPU is the CPU time (user and system) the process has used.
func processCPU() time.Duration {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// txRing is a PACKET_TX_RING (TPACKET_V2) sender, for the measurement above only: frames
// are copied into the ring's slots, marked TP_STATUS_SEND_REQUEST, and handed to the kernel
// by one sendto(2) per batch; the kernel builds each skb with the slot's pages as fragments
// and marks the slot TP_STATUS_AVAILABLE again when the skb is freed.
type txRing struct {
	fd              int
	mem             []byte
	slot, nslots    int
	next            int
	waits, enobufss atomic.Uint64
}

// tpacket2DataOff is where a TPACKET_V2 transmit slot's frame starts: TPACKET2_HDRLEN less
// sizeof(struct sockaddr_ll), the kernel's default without PACKET_TX_HAS_OFF.
const tpacket2DataOff = 32

func openTxRing(iface string, bypass bool, slot, nslots int) (*txRing, error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	r := &txRing{fd: fd, slot: slot, nslots: nslots}
	fail := func(what string, err error) (*txRing, error) {
		r.close()
		return nil, fmt.Errorf("tx ring on %s: %s: %w", iface, what, err)
	}
	if bypass {
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_QDISC_BYPASS, 1); err != nil {
			return fail("PACKET_QDISC_BYPASS", err)
		}
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 4<<20); err != nil {
		return fail("SO_SNDBUFFORCE", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V2); err != nil {
		return fail("PACKET_VERSION", err)
	}
	const block = 1 << 16
	req := unix.TpacketReq{Block_size: block, Block_nr: uint32(slot * nslots / block), Frame_size: uint32(slot), Frame_nr: uint32(nslots)}
	if err := unix.SetsockoptTpacketReq(fd, unix.SOL_PACKET, unix.PACKET_TX_RING, &req); err != nil {
		return fail("PACKET_TX_RING", err)
	}
	if r.mem, err = unix.Mmap(fd, 0, slot*nslots, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED); err != nil {
		return fail("mmap", err)
	}
	ifi, err := ifIndex(fd, iface)
	if err != nil {
		return fail("SIOCGIFINDEX", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Ifindex: ifi}); err != nil {
		return fail("bind", err)
	}
	return r, nil
}

func ifIndex(fd int, iface string) (int, error) {
	ifr, err := unix.NewIfreq(iface)
	if err != nil {
		return 0, err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFINDEX, ifr); err != nil {
		return 0, err
	}
	return int(ifr.Uint32()), nil
}

func (r *txRing) close() {
	if r.mem != nil {
		unix.Munmap(r.mem)
		r.mem = nil
	}
	if r.fd >= 0 {
		unix.Close(r.fd)
		r.fd = -1
	}
}

func (r *txRing) status(i int) *uint32 { return (*uint32)(unsafe.Pointer(&r.mem[i*r.slot])) }

// send copies the frames into the ring, batch at a time, and has the kernel send each batch;
// it returns when the kernel has taken (and freed) every frame.
func (r *txRing) send(frames [][]byte, batch int) error {
	pfd := []unix.PollFd{{Fd: int32(r.fd), Events: unix.POLLOUT}}
	for len(frames) > 0 {
		n := min(batch, len(frames), r.nslots)
		for _, f := range frames[:n] {
			if len(f) > r.slot-tpacket2DataOff {
				return fmt.Errorf("frame of %d bytes: the ring's slots hold %d", len(f), r.slot-tpacket2DataOff)
			}
			for atomic.LoadUint32(r.status(r.next)) != unix.TP_STATUS_AVAILABLE {
				r.waits.Add(1) // the slot's previous skb is not freed yet
				if _, err := unix.Poll(pfd, 10); err != nil && err != unix.EINTR {
					return err
				}
			}
			s := r.mem[r.next*r.slot : (r.next+1)*r.slot]
			copy(s[tpacket2DataOff:], f)
			*(*uint32)(unsafe.Pointer(&s[4])) = uint32(len(f)) // tp_len
			atomic.StoreUint32(r.status(r.next), unix.TP_STATUS_SEND_REQUEST)
			r.next = (r.next + 1) % r.nslots
		}
		if err := r.flush(pfd); err != nil {
			return err
		}
		frames = frames[n:]
	}
	return nil
}

// flush calls sendto until no slot is waiting to be sent (a refused frame stays
// TP_STATUS_SEND_REQUEST and is sent again).
func (r *txRing) flush(pfd []unix.PollFd) error {
	for {
		_, _, errno := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(r.fd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
		switch errno {
		case 0:
			pending := false
			for i := range r.nslots {
				if atomic.LoadUint32(r.status(i)) == unix.TP_STATUS_SEND_REQUEST {
					pending = true
					break
				}
			}
			if !pending {
				return nil
			}
		case unix.EINTR:
		case unix.EAGAIN:
			r.waits.Add(1)
			if _, err := unix.Poll(pfd, 10); err != nil && err != unix.EINTR {
				return err
			}
		case unix.ENOBUFS:
			r.enobufss.Add(1)
			time.Sleep(20 * time.Microsecond)
		default:
			return fmt.Errorf("sendto: %w", errno)
		}
	}
}
