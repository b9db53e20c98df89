package stage_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/ndis"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/sa"
	"github.com/ov2dev/ov2/stage"
)

// SPEC section 6: under load, with 1 and 2 lanes, fused and split, every packet comes back
// exactly once, packets of one SA come back in the order they went in, and
// in == completed OK + completed with a counted failure.
func TestSendUnderLoad(t *testing.T) {
	total := 60000
	if testing.Short() || raceEnabled {
		total = 12000
	}
	for _, lanes := range []int{1, 2} {
		for _, pl := range []stage.Placement{stage.Fused, stage.Split} {
			t.Run(fmt.Sprintf("%s/%dlanes", pl, lanes), func(t *testing.T) {
				r := newRig(t, stage.SendConfig{Lanes: lanes, Placement: pl, RingSize: 256})
				const nSA = 8
				handles := make([]sa.Handle, nSA)
				for i := range handles {
					handles[i], _ = r.addPair(uint32(0x10+i), esp.AESGCM, 16, 16, 0, false)
				}
				rng := rand.New(rand.NewPCG(uint64(lanes), uint64(pl)))
				next := make([]uint32, nSA)
				pkts := make([]*packet.Buffer, total)
				want := map[packet.Reason]int{}
				for i := range pkts {
					k := rng.IntN(nSA)
					next[k]++
					p := transportPacket(uint32(0x10+k), next[k], make([]byte, rng.IntN(200)), 16, handles[k])
					switch x := rng.IntN(100); {
					case x < 5:
						p.Tx.OffloadHandle = 0
					case x < 10:
						p.Tx.OffloadHandle |= 0xff << 40 // a generation that never existed
						want[packet.ReasonUnknownHandle]++
					case x < 12:
						p.Tx.EspHeaderOffset = 200 // past the end
						want[packet.ReasonMalformed]++
					}
					pkts[i] = p
				}
				out := r.run(pkts)
				if len(out) != total {
					t.Fatalf("%d completions for %d packets", len(out), total)
				}
				seen := make(map[*packet.Buffer]bool, total)
				last := make([]uint32, nSA)
				for _, p := range out {
					if seen[p] {
						t.Fatal("a packet completed twice")
					}
					seen[p] = true
					if p.Tx.Failed() || p.Tx.OffloadHandle == 0 {
						continue
					}
					k := esp.SPI(p.Bytes()[20:]) - 0x10
					if s := esp.Seq(p.Bytes()[20:]); s <= last[k] {
						t.Fatalf("SA %d: sequence %d after %d: order lost", k, s, last[k])
					} else {
						last[k] = s
					}
				}
				st := r.path.Stats()
				if !st.Balanced() || st.Submitted != uint64(total) {
					t.Errorf("accounting: %+v", st)
				}
				for reason, n := range want {
					if st.Failed[reason] != uint64(n) {
						t.Errorf("%v: %d failures, want %d", reason, st.Failed[reason], n)
					}
				}
				if st.FailedTotal() != uint64(want[packet.ReasonUnknownHandle]+want[packet.ReasonMalformed]) {
					t.Errorf("failures %+v, want %v", st.Failed, want)
				}
			})
		}
	}
}

// Zero allocations per packet in steady state: after a warm-up, a million-packet-scale run
// through a fused lane allocates (next to) nothing. The host interleaves Submit and Poll in
// bursts smaller than the rings, the documented single-goroutine way.
func TestSendZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own; this test runs in the non-race pass")
	}
	r := newRig(t, stage.SendConfig{Lanes: 1})
	h, _ := r.addPair(0x100, esp.AESGCM, 16, 16, 0, false)
	const burst = 32
	pkts := make([]*packet.Buffer, burst)
	for i := range pkts {
		pkts[i] = transportPacket(0x100, uint32(i+1), make([]byte, 100), 16, h)
	}
	back := make([]*packet.Buffer, burst)
	round := func(seq uint32) {
		for i, p := range pkts {
			esp.PutHeader(p.Bytes()[20:], 0x100, seq+uint32(i))
		}
		r.path.Submit(pkts)
		for got := 0; got < burst; {
			got += r.path.Poll(back[got:])
		}
	}
	for i := range 200 {
		round(uint32(1 + i*burst))
	}
	const rounds = 3000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range rounds {
		round(uint32(1 + (200+i)*burst))
	}
	runtime.ReadMemStats(&after)
	allocs := after.Mallocs - before.Mallocs
	perPacket := float64(allocs) / float64(rounds*burst)
	t.Logf("%d allocations for %d packets (%.5f per packet)", allocs, rounds*burst, perPacket)
	if perPacket >= 0.001 {
		t.Errorf("%.5f allocations per packet, want 0", perPacket)
	}
	if st := r.path.Stats(); st.Completed != uint64((200+rounds)*burst) || st.Sealed != st.Completed {
		t.Errorf("stats %+v", st)
	}
	for _, p := range pkts {
		if p.Tx.Status != ndis.StatusSuccess {
			t.Fatal(p.Tx.Reason)
		}
	}
	r.path.Close()
	for {
		if _, err := r.path.Completions(back); err != nil {
			break
		}
	}
}
