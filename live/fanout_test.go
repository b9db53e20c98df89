//go:build linux

package live_test

import (
	"encoding/binary"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ov2dev/ov2/internal/netns"
	"github.com/ov2dev/ov2/live"
)

// skfNetOff is SKF_NET_OFF: a classic BPF load at skfNetOff+k reads byte k of the network header.
var skfNetOff int32 = -0x100000

// openFanout opens a fanout group of n receivers on Link[i], closed when the test ends.
func openFanout(t *testing.T, p *netns.Pair, i, n int, f live.FanoutOptions, o live.RecvOptions) []*live.Receiver {
	t.Helper()
	var rs []*live.Receiver
	if err := p.InNS(i, func() (err error) { rs, err = live.OpenFanout(p.Link[i], n, f, o); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, r := range rs {
			r.Close()
		}
	})
	return rs
}

// drain receives from every member until total frames came, and returns the sequence
// numbers (udpFrame's stamp) each member got, in order.
func drain(t *testing.T, rs []*live.Receiver, total int) [][]uint64 {
	t.Helper()
	got := make([][]uint64, len(rs))
	fs := make([]live.Frame, 64)
	n := 0
	for deadline := time.Now().Add(hangGuard); n < total && time.Now().Before(deadline); {
		for i, r := range rs {
			k, err := r.Recv(fs, time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range fs[:k] {
				got[i] = append(got[i], binary.BigEndian.Uint64(f.Data[42:]))
			}
			n += k
		}
	}
	if n != total {
		t.Fatalf("received %d of %d frames", n, total)
	}
	return got
}

// A fanout program steers each frame to the member it names: here the last byte of the
// IPv4 destination address, modulo 4. Each member gets exactly its frames, in order.
func TestFanoutProgram(t *testing.T) {
	e := newEnv(t, 1500, live.Options{})
	prog := []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_B | unix.BPF_ABS, K: uint32(skfNetOff + 19)},
		{Code: unix.BPF_RET | unix.BPF_A},
	}
	rs := openFanout(t, e.p, 1, 4, live.FanoutOptions{Mode: live.FanoutProgram, Program: prog}, live.RecvOptions{Promisc: true, IgnoreOutgoing: true})
	const total = 4000
	frames := make([][]byte, total)
	for i := range frames {
		frames[i] = make([]byte, 200)
		udpFrame(frames[i], e.peer, e.s.HardwareAddr(), uint64(i))
		frames[i][14+19] = byte(i % 7) // destination 198.19.0.(i%7): member (i%7)%4
		stamp(frames[i], uint64(i))
	}
	if _, err := e.s.Send(frames); err != nil {
		t.Fatal(err)
	}
	got := drain(t, rs, total)
	for m := range rs {
		var want []uint64
		for i := range total {
			if (i%7)%4 == m {
				want = append(want, uint64(i))
			}
		}
		if len(got[m]) != len(want) {
			t.Fatalf("member %d got %d frames, want %d", m, len(got[m]), len(want))
		}
		for k := range want {
			if got[m][k] != want[k] {
				t.Fatalf("member %d frame %d: seq %d, want %d (order)", m, k, got[m][k], want[k])
			}
		}
	}
	// A new program takes over at once: everything to member 3.
	if err := rs[0].SetFanoutProgram([]unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: 3}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Send(frames[:100]); err != nil {
		t.Fatal(err)
	}
	got = drain(t, rs, 100)
	if len(got[3]) != 100 {
		t.Errorf("after the new program: members got %d, %d, %d, %d frames; want all 100 at member 3", len(got[0]), len(got[1]), len(got[2]), len(got[3]))
	}
}

// In hash mode each flow goes to one member, in order; IgnoreOutgoing holds in a group.
func TestFanoutHash(t *testing.T) {
	e := newEnv(t, 1500, live.Options{})
	rs := openFanout(t, e.p, 1, 2, live.FanoutOptions{Mode: live.FanoutHash}, live.RecvOptions{IgnoreOutgoing: true})
	const flows, per = 16, 50
	frames := make([][]byte, flows*per)
	for i := range frames {
		frames[i] = make([]byte, 200)
		udpFrame(frames[i], e.peer, e.s.HardwareAddr(), uint64(i))
		binary.BigEndian.PutUint16(frames[i][34:], uint16(1000+i%flows)) // source port: the flow
	}
	if _, err := e.s.Send(frames); err != nil {
		t.Fatal(err)
	}
	got := drain(t, rs, len(frames))
	member := map[int]int{}
	for m := range got {
		last := map[int]uint64{}
		for _, seq := range got[m] {
			flow := int(seq) % flows
			if prev, ok := member[flow]; ok && prev != m {
				t.Fatalf("flow %d on members %d and %d", flow, prev, m)
			}
			member[flow] = m
			if l, ok := last[flow]; ok && seq <= l {
				t.Fatalf("flow %d out of order on member %d: %d after %d", flow, m, seq, l)
			}
			last[flow] = seq
		}
	}
	// What the namespace sends itself does not come back.
	var own *live.Sender
	if err := e.p.InNS(1, func() (err error) { own, err = live.Open(e.p.Link[1], live.Options{}); return err }); err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	if _, err := own.Send(frames[:10]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	fs := make([]live.Frame, 16)
	for m, r := range rs {
		if n, _ := r.Recv(fs, 5*time.Millisecond); n != 0 {
			t.Errorf("member %d received %d of its own namespace's outgoing frames", m, n)
		}
	}
}

func TestOpenFanoutErrors(t *testing.T) {
	p := netns.NewPair(t, 1500)
	err := p.InNS(0, func() error {
		_, err := live.OpenFanout(p.Link[0], 0, live.FanoutOptions{}, live.RecvOptions{})
		return err
	})
	if err == nil || err.Error() != `live: interface "`+p.Link[0]+`": fanout of 0 receivers: want 1 to 256` {
		t.Errorf("0 receivers: %v", err)
	}
	err = p.InNS(0, func() error {
		_, err := live.OpenFanout(p.Link[0], 2, live.FanoutOptions{Mode: live.FanoutProgram}, live.RecvOptions{})
		return err
	})
	if err == nil || err.Error() != `live: interface "`+p.Link[0]+`": fanout program of 0 instructions: want 1 to 4096` {
		t.Errorf("no program: %v", err)
	}
}
