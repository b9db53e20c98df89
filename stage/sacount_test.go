package stage_test

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/ndis"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/sa"
	"github.com/ov2dev/ov2/stage"
)

// The SAs' packet and byte counters, added up per burst and published once per SA, are
// exact once the packets are back: interleaved over more SAs than a burst's table holds,
// with failed packets (not counted) among them, on every placement.
func TestSACountersExact(t *testing.T) {
	for _, pl := range []stage.Placement{stage.Fused, stage.Split} {
		for _, lanes := range []int{1, 3} {
			t.Run(fmt.Sprintf("send/%v/%dlane", pl, lanes), func(t *testing.T) { sendCounters(t, pl, lanes) })
			t.Run(fmt.Sprintf("recv/%v/%dlane", pl, lanes), func(t *testing.T) { recvCounters(t, pl, lanes) })
		}
	}
}

const counterSAs = 21 // more than a burst's table of SA parts (16)

func sendCounters(t *testing.T, pl stage.Placement, lanes int) {
	r := newRig(t, stage.SendConfig{Lanes: lanes, Placement: pl, Burst: 64})
	handles := make([]sa.Handle, counterSAs)
	for i := range handles {
		handles[i], _ = r.addPair(uint32(0x300+i), esp.AESGCM, 16, 16, 0, false)
	}
	want := make([][2]uint64, counterSAs)
	var pkts []*packet.Buffer
	for n := 0; n < 1000; n++ {
		k := (n * 7) % counterSAs
		p := transportPacket(uint32(0x300+k), uint32(n+1), make([]byte, 10+n%50), 16, handles[k])
		if n%13 == 0 {
			p.Tx.OffloadHandle = uint64(handles[k]) + 1<<40 // a stale handle: fails, not counted
		} else {
			want[k][0]++
			want[k][1] += uint64(p.Len() - 20) // the ESP region: all but the IPv4 header
		}
		pkts = append(pkts, p)
	}
	out := r.run(pkts)
	if len(out) != len(pkts) {
		t.Fatalf("%d completions, want %d", len(out), len(pkts))
	}
	tb := r.ctl.Snapshot()
	for k, h := range handles {
		st := tb.Lookup(h).State
		if got := [2]uint64{st.Packets.Load(), st.Bytes.Load()}; got != want[k] {
			t.Errorf("SA %d: counted %d packets %d bytes, want %d %d", k, got[0], got[1], want[k][0], want[k][1])
		}
	}
}

func recvCounters(t *testing.T, pl stage.Placement, lanes int) {
	ctl := sa.NewController(64)
	t.Cleanup(ctl.Close)
	path, err := stage.NewRecvPath(stage.Env{SAs: ctl}, stage.Config{Lanes: lanes, Placement: pl, Burst: 64})
	if err != nil {
		t.Fatal(err)
	}
	trs := make([]*esp.Transform, counterSAs)
	for i := range trs {
		trs[i] = addInbound(t, ctl, uint32(0x400+i))
	}
	want := make([][2]uint64, counterSAs)
	var pkts []*packet.Buffer
	for n := 0; n < 1000; n++ {
		k := (n * 5) % counterSAs
		f := sealedFrame(trs[k], uint32(0x400+k), uint32(n+1), 64+4*(n%40))
		if n%11 == 0 {
			f[len(f)-1] ^= 1 // a bad ICV: fails, not counted
		} else {
			want[k][0]++
			want[k][1] += uint64(len(f) - 20)
		}
		p := packet.NewBuffer(packet.SmallSize)
		if err := p.SetData(f); err != nil {
			t.Fatal(err)
		}
		pkts = append(pkts, p)
	}
	done := make(chan int)
	go func() {
		n, buf := 0, make([]*packet.Buffer, 64)
		for {
			k, err := path.Completions(buf)
			if err != nil {
				done <- n
				return
			}
			for _, p := range buf[:k] {
				if !p.Rx.CryptoDone {
					t.Errorf("a packet came back unprocessed: %v", p.Rx)
				}
			}
			n += k
		}
	}()
	path.Submit(pkts)
	path.Close()
	if n := <-done; n != len(pkts) {
		t.Fatalf("%d indications, want %d", n, len(pkts))
	}
	path.Wait()
	if st := path.Stats(); st.Status[ndis.CryptoSuccess] != uint64(len(pkts)-(len(pkts)+10)/11) {
		t.Errorf("stats %+v", st)
	}
	tb := ctl.Snapshot()
	dst := netip.MustParseAddr("198.51.100.1").AsSlice()
	for k := range trs {
		a := tb.LookupInbound(uint32(0x400+k), dst)
		if got := [2]uint64{a.State.Packets.Load(), a.State.Bytes.Load()}; got != want[k] {
			t.Errorf("SA %d: counted %d packets %d bytes, want %d %d", k, got[0], got[1], want[k][0], want[k][1])
		}
	}
}
