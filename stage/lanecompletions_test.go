package stage_test

import (
	"sync"
	"testing"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/sa"
	"github.com/ov2dev/ov2/stage"
)

// One goroutine per lane takes that lane's completions: every packet comes back exactly
// once, on the lane of its SA, in submission order per SA, and each consumer sees
// ErrClosed after the path closes.
func TestLaneCompletions(t *testing.T) {
	for _, pl := range []stage.Placement{stage.Fused, stage.Split} {
		t.Run(pl.String(), func(t *testing.T) {
			r := newRig(t, stage.SendConfig{Lanes: 2, Placement: pl, RingSize: 64})
			const nSA, perSA = 8, 500
			handles := make([]sa.Handle, nSA)
			for i := range handles {
				handles[i], _ = r.addPair(uint32(0x200+i), esp.AESGCM, 16, 16, 0, false)
			}
			var mu sync.Mutex
			got := map[sa.Handle][]uint32{}
			laneOf := map[sa.Handle]int{}
			var wg sync.WaitGroup
			for lane := 0; lane < r.path.Lanes(); lane++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					buf := make([]*packet.Buffer, 16)
					for {
						n, err := r.path.LaneCompletions(lane, buf)
						if err != nil {
							if err != stage.ErrClosed {
								t.Errorf("lane %d: %v", lane, err)
							}
							return
						}
						mu.Lock()
						for _, p := range buf[:n] {
							h := sa.Handle(p.Tx.OffloadHandle)
							if l, ok := laneOf[h]; ok && l != lane {
								t.Errorf("SA %d on lanes %d and %d", h, l, lane)
							}
							laneOf[h] = lane
							got[h] = append(got[h], esp.Seq(p.Bytes()[20:]))
							p.Release()
						}
						mu.Unlock()
					}
				}()
			}
			payload := make([]byte, 100)
			for i := 0; i < perSA; i++ {
				var burst []*packet.Buffer
				for k, h := range handles {
					burst = append(burst, transportPacket(uint32(0x200+k), uint32(i+1), payload, 16, h))
				}
				r.path.Submit(burst)
			}
			r.path.Close()
			wg.Wait()
			r.path.Wait()
			lanesUsed := map[int]bool{}
			for _, h := range handles {
				seqs := got[h]
				if len(seqs) != perSA {
					t.Fatalf("SA %d: %d completions, want %d", h, len(seqs), perSA)
				}
				for i, s := range seqs {
					if s != uint32(i+1) {
						t.Fatalf("SA %d: completion %d has sequence %d, want %d", h, i, s, i+1)
					}
				}
				lanesUsed[laneOf[h]] = true
			}
			if len(lanesUsed) != 2 {
				t.Errorf("lanes used: %v, want both", lanesUsed)
			}
		})
	}
}
