package antireplay

import (
	"math/rand/v2"
	"testing"
)

// model is the plainest possible anti-replay window (RFC 4303 §3.4.3): every number
// ever accepted, and the top. The ring of blocks must give the same verdict for every
// packet; the model has no blocks, so it cannot share their mistakes.
type model struct {
	top, size uint64
	seen      map[uint64]bool
}

func (m *model) check(seq uint64) error {
	switch {
	case seq == 0:
		return ErrTooOld
	case seq > m.top:
		return nil
	case m.top-seq >= m.size:
		return ErrTooOld
	case m.seen[seq]:
		return ErrReplay
	}
	return nil
}

func (m *model) accept(seq uint64) error {
	if err := m.check(seq); err != nil {
		return err
	}
	m.seen[seq] = true
	m.top = max(m.top, seq)
	return nil
}

func (m *model) start(first uint64) {
	m.top = max(first, 1) - 1
	m.seen = map[uint64]bool{}
}

// TestDifferential drives the window and the model with 100k random operations per
// window size, mostly a sender's increasing numbers with jitter, with duplicates, Checks
// alone (failed ICVs), the exact window edges, jumps of every length and restarts, and
// wants identical verdicts and tops (R-RX-9; RFC 6479's blocks for W = 64..8192).
func TestDifferential(t *testing.T) {
	const ops = 100_000
	for _, size := range []int{64, 1024, 4096, 8192} {
		w, err := New(size, false)
		if err != nil {
			t.Fatal(err)
		}
		m := &model{size: uint64(size), seen: map[uint64]bool{}}
		r := rand.New(rand.NewPCG(6479, uint64(size)))
		var sent uint64 // the sender's counter
		recent := make([]uint64, 0, 256)
		var verdicts [3]int // accepted, replay, too old
		for i := range ops {
			var seq uint64
			checkOnly := false
			switch p := r.IntN(1000); {
			case p < 600: // in order, with jitter of a few dozen either way
				sent += uint64(1 + r.IntN(3))
				seq = jitter(sent, int64(r.IntN(64)-40))
			case p < 700: // a straggler from anywhere around the window's bottom
				seq = jitter(m.top, -int64(r.IntN(size+64)))
			case p < 800: // a duplicate of a recent packet
				if len(recent) > 0 {
					seq = recent[r.IntN(len(recent))]
				}
			case p < 900: // a packet whose ICV failed: Check only
				checkOnly = true
				seq = jitter(m.top, int64(r.IntN(4*size))-int64(2*size))
			case p < 940: // the exact edges
				seq = jitter(m.top, -int64(size-1+r.IntN(2)))
			case p < 985: // a jump of up to a few rings' worth of blocks
				sent += uint64(r.IntN(4 * size))
				seq = sent
			case p < 995: // a jump far away
				sent += uint64(r.Uint32())
				seq = sent
			default: // a restart somewhere near the sender
				first := jitter(sent, -int64(r.IntN(2*size)))
				w.Start(first)
				m.start(first)
				continue
			}
			var got, want error
			if checkOnly {
				got, want = w.Check(seq), m.check(seq)
			} else {
				got, want = w.Accept(seq), m.accept(seq)
			}
			if got != want || w.Top() != m.top {
				t.Fatalf("W=%d op %d: seq %d (check only %v): got %v, top %d; model %v, top %d",
					size, i, seq, checkOnly, got, w.Top(), want, m.top)
			}
			switch {
			case want == nil && !checkOnly:
				verdicts[0]++
				if len(recent) < cap(recent) {
					recent = append(recent, seq)
				} else {
					recent[r.IntN(len(recent))] = seq
				}
			case want == ErrReplay:
				verdicts[1]++
			case want == ErrTooOld:
				verdicts[2]++
			}
			if i%997 == 0 {
				sweep(t, w, m)
			}
		}
		t.Logf("W=%d: accepted %d, replay %d, too old %d", size, verdicts[0], verdicts[1], verdicts[2])
		// Every verdict must have been exercised for the comparison to mean anything.
		if verdicts[0] < ops/4 || verdicts[1] < ops/50 || verdicts[2] < ops/50 {
			t.Errorf("W=%d: verdicts accepted/replay/too old = %v, too few of one kind", size, verdicts)
		}
	}
}

// jitter returns base+d, or 0 where that would be negative (0 is a valid test input:
// it must be rejected).
func jitter(base uint64, d int64) uint64 {
	if d < 0 && uint64(-d) > base {
		return 0
	}
	return base + uint64(d)
}

// sweep compares the verdict for every number in and just around the window.
func sweep(t *testing.T, w *Window, m *model) {
	t.Helper()
	lo := jitter(m.top, -int64(m.size+64))
	for seq := lo; seq <= m.top+64; seq++ {
		if got, want := w.Check(seq), m.check(seq); got != want {
			t.Fatalf("sweep, top %d: Check(%d) = %v, model %v", m.top, seq, got, want)
		}
	}
}
