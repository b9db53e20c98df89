package host_test

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/ov2dev/ov2/host"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/stage"
)

// No allocation per packet on the host's send and receive for any suite, IPv4 and IPv6,
// transport and tunnel, and for a combined packet: Send (framing, sequence numbers), the
// NIC's two paths, Receive (anti-replay per part, decapsulation into a reused slice) and
// ReceiveInPlace.
func TestSuitesZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	for _, name := range suiteNames {
		for _, v6 := range []bool{false, true} {
			for _, tunnel := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/v6=%v/tunnel=%v", name, v6, tunnel), func(t *testing.T) {
					c := suiteCfg(name, 0x3600, v6, tunnel)
					l := newLoop(t, stage.Config{Lanes: 1}, stage.DeletePolicy{})
					l.addFlow(t, c)
					pkt := suitePackets(c, 3)[2]
					allocFree(t, l, func() error { return l.sender.Send(pkt) }, pkt)
				})
			}
		}
	}
	t.Run("combined", func(t *testing.T) {
		tr := suiteCfg("cbc128-sha256+ah-sha1", 0x3700, false, false)
		tu := suiteCfg("cbc256-sha256", 0x3800, false, true)
		tu.Src, tu.Dst = mustAddr("203.0.113.1"), mustAddr("203.0.113.2")
		l := newLoop(t, stage.Config{Lanes: 1}, stage.DeletePolicy{})
		a, _ := l.addFlow(t, tr)
		b, _ := l.addFlow(t, tu)
		pkt := suitePackets(tr, 3)[2]
		allocFree(t, l, func() error { return l.sender.SendCombined(a, b, pkt, 0) }, pkt)
	})
}

// allocFree measures one packet sent with send, through the NIC both ways, and received
// (alternately with Receive and ReceiveInPlace), and wants it delivered as pkt.
func allocFree(t *testing.T, l *loop, send func() error, pkt []byte) {
	buf := make([]*packet.Buffer, 8)
	one := make([]*packet.Buffer, 1)
	dst := make([]byte, 0, 2048)
	inPlace := false
	run := func() {
		if err := send(); err != nil {
			panic(err)
		}
		l.sender.Flush()
		var p *packet.Buffer
		for p == nil {
			if l.send.Poll(buf[:1]) == 1 {
				p = buf[0]
			} else {
				runtime.Gosched() // AllocsPerRun runs on one P: let the NIC's stages run
			}
		}
		l.sender.Completed(p)
		one[0] = p
		l.recv.Submit(one)
		for l.recv.Poll(buf[:1]) != 1 {
			runtime.Gosched()
		}
		p = buf[0]
		var v host.Verdict
		if inPlace {
			v = l.receiver.ReceiveInPlace(p)
			dst = append(dst[:0], p.Bytes()...)
		} else {
			dst, v = l.receiver.Receive(p, dst[:0])
		}
		inPlace = !inPlace
		if v != host.Delivered || string(dst) != string(pkt) {
			panic(fmt.Sprintf("verdict %v, delivered %x", v, dst))
		}
		p.Release()
	}
	for range 50 {
		run()
	}
	if n := testing.AllocsPerRun(500, run); n != 0 {
		t.Errorf("%v allocations per packet, want 0", n)
	}
}
