package antireplay

import (
	"errors"
	"testing"
)

// step is one packet of a table test: Accept (or only Check, as for a packet whose ICV
// failed) of seq, and the verdict wanted.
type step struct {
	seq   uint64
	check bool // Check only, leaving the window as it is
	want  error
}

// acceptRange returns steps accepting lo..hi in order, each wanted to succeed.
func acceptRange(lo, hi uint64) []step {
	s := make([]step, 0, hi-lo+1)
	for n := lo; n <= hi; n++ {
		s = append(s, step{seq: n})
	}
	return s
}

// join concatenates step lists, so that a table row can be built from runs and singles.
func join(parts ...[]step) []step {
	var s []step
	for _, p := range parts {
		s = append(s, p...)
	}
	return s
}

// runSteps plays steps against w and reports the first index whose verdict differs.
func runSteps(t *testing.T, w *Window, steps []step) {
	t.Helper()
	for i, s := range steps {
		var got error
		if s.check {
			got = w.Check(s.seq)
		} else {
			got = w.Accept(s.seq)
		}
		if got != s.want {
			op := "Accept"
			if s.check {
				op = "Check"
			}
			t.Fatalf("step %d: %s(%d) = %v, want %v (top %d)", i, op, s.seq, got, s.want, w.Top())
		}
	}
}

// TestNewSize checks the size bounds and the rounding to whole 64-bit blocks, and that
// the ring has a power-of-two number of slots of at least W/64+1 (RFC 6479).
func TestNewSize(t *testing.T) {
	for _, tc := range []struct {
		size, wantSize, wantSlots int
	}{
		{64, 64, 2},
		{65, 128, 4},
		{100, 128, 4},
		{1000, 1024, 32},
		{DefaultSize, 1024, 32},
		{4096, 4096, 128},
		{8192, 8192, 256},
		{MaxSize, MaxSize, 32768},
	} {
		w, err := New(tc.size, true)
		if err != nil {
			t.Fatalf("New(%d): %v", tc.size, err)
		}
		if w.Size() != tc.wantSize || len(w.blocks) != tc.wantSlots || !w.ESN() || w.Top() != 0 {
			t.Errorf("New(%d): Size %d, slots %d, ESN %v, Top %d; want %d, %d, true, 0",
				tc.size, w.Size(), len(w.blocks), w.ESN(), w.Top(), tc.wantSize, tc.wantSlots)
		}
	}
	for _, size := range []int{-1, 0, 63, MaxSize + 1} {
		if w, err := New(size, false); !errors.Is(err, ErrSize) || w != nil {
			t.Errorf("New(%d) = %v, %v; want nil, ErrSize", size, w, err)
		}
	}
}

// TestAcceptVerdicts is R-RX-9's sequence test (RFC 4303 §3.4.3): reordering inside the
// window, duplicates at the top and inside, the exact window edges, too old, zero.
func TestAcceptVerdicts(t *testing.T) {
	for _, tc := range []struct {
		name  string
		size  int
		steps []step
		top   uint64
	}{
		{"R-RX-9 reordered inside the window", 1024, []step{
			{seq: 5}, {seq: 3}, {seq: 4}, {seq: 1}, {seq: 2}, {seq: 10}, {seq: 7}, {seq: 9}, {seq: 8}, {seq: 6},
		}, 10},
		{"R-RX-9 duplicate at the top", 1024, []step{
			{seq: 1}, {seq: 2}, {seq: 2, want: ErrReplay}, {seq: 2, want: ErrReplay},
		}, 2},
		{"R-RX-9 duplicate inside", 1024, join(acceptRange(1, 300), []step{
			{seq: 150, want: ErrReplay}, {seq: 1, want: ErrReplay}, {seq: 299, want: ErrReplay},
		}), 300},
		{"R-RX-9 gap filled once", 1024, []step{
			{seq: 1}, {seq: 100}, {seq: 50}, {seq: 50, want: ErrReplay}, {seq: 64}, {seq: 63}, {seq: 64, want: ErrReplay},
		}, 100},
		{"R-RX-9 edges W=1024: top-W+1 accepted, top-W too old", 1024, []step{
			{seq: 2000}, {seq: 976, want: ErrTooOld}, {seq: 977}, {seq: 977, want: ErrReplay},
			{seq: 978}, {seq: 1, want: ErrTooOld},
		}, 2000},
		{"R-RX-9 edges W=64", 64, []step{
			{seq: 100}, {seq: 36, want: ErrTooOld}, {seq: 37}, {seq: 37, want: ErrReplay}, {seq: 99},
		}, 100},
		{"R-RX-9 edges W=4096", 4096, []step{
			{seq: 10000}, {seq: 5904, want: ErrTooOld}, {seq: 5905}, {seq: 5905, want: ErrReplay},
		}, 10000},
		{"R-RX-9 edge moves with the top", 1024, []step{
			{seq: 1024}, {seq: 1}, {seq: 2}, {seq: 1025}, {seq: 1, want: ErrTooOld}, {seq: 2, want: ErrReplay},
			{seq: 1026}, {seq: 2, want: ErrTooOld},
		}, 1026},
		{"R-RX-9 zero is never valid", 1024, []step{
			{seq: 0, want: ErrTooOld}, {seq: 1}, {seq: 0, want: ErrTooOld},
		}, 1},
		{"R-RX-9 jump far ahead clears all bits", 1024, join(acceptRange(1, 1024), []step{
			{seq: 1_000_000}, {seq: 1_000_000 - 1023}, {seq: 1_000_000 - 1024, want: ErrTooOld},
			{seq: 1024, want: ErrTooOld}, {seq: 999_000}, {seq: 1_000_000, want: ErrReplay},
		}), 1_000_000},
		{"R-RX-9 jump within the ring keeps recent bits", 1024, join(acceptRange(1, 2000), []step{
			{seq: 2500}, {seq: 1477, want: ErrReplay}, {seq: 1476, want: ErrTooOld},
			{seq: 2000, want: ErrReplay}, {seq: 2001}, {seq: 2499}, {seq: 2500, want: ErrReplay},
		}), 2500},
		{"R-RX-9 advance by one block keeps the previous block", 64, join(acceptRange(1, 127), []step{
			// W=64 has 2 slots: 150 is in block 2, which takes block 0's slot.
			{seq: 150}, {seq: 100, want: ErrReplay}, {seq: 87, want: ErrReplay}, {seq: 86, want: ErrTooOld},
			{seq: 128}, {seq: 149}, {seq: 128, want: ErrReplay},
		}), 150},
		{"R-RX-9 jump of exactly the ring's blocks", 64, join(acceptRange(1, 127), []step{
			// W=64 has 2 slots: 127 is in block 1; 192 is block 3, two blocks on.
			{seq: 192}, {seq: 129}, {seq: 128, want: ErrTooOld}, {seq: 191}, {seq: 130},
		}), 192},
		{"R-RX-9 near the top of the 64-bit space", 1024, []step{
			{seq: 1<<64 - 2}, {seq: 1<<64 - 1}, {seq: 1<<64 - 1, want: ErrReplay},
			{seq: 1<<64 - 1024}, {seq: 1<<64 - 1025, want: ErrTooOld},
		}, 1<<64 - 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := New(tc.size, false)
			if err != nil {
				t.Fatal(err)
			}
			runSteps(t, w, tc.steps)
			if w.Top() != tc.top {
				t.Errorf("Top = %d, want %d", w.Top(), tc.top)
			}
		})
	}
}

// TestFailedICVLeavesWindow holds the contract of R-RX-9 (the window is updated only for
// packets whose ICV verified): the host only Checks a failed packet, and Check changes
// nothing, however far ahead or often it is called.
func TestFailedICVLeavesWindow(t *testing.T) {
	w, err := New(1024, false)
	if err != nil {
		t.Fatal(err)
	}
	runSteps(t, w, join(acceptRange(1, 49), acceptRange(51, 100)))
	before := append([]uint64(nil), w.blocks...)
	runSteps(t, w, []step{
		// Forged or corrupted packets: their ICV failed, so they are only Checked.
		{seq: 5000, check: true}, {seq: 1_000_000, check: true}, {seq: 1 << 40, check: true},
		{seq: 50, check: true}, {seq: 50, check: true}, {seq: 100, check: true, want: ErrReplay},
		{seq: 0, check: true, want: ErrTooOld},
	})
	if w.Top() != 100 {
		t.Fatalf("Top after Checks = %d, want 100", w.Top())
	}
	for i := range before {
		if w.blocks[i] != before[i] {
			t.Fatalf("Check changed block %d: %#x, want %#x", i, w.blocks[i], before[i])
		}
	}
	// The genuine packets then arrive, the older one first, and are judged as if the
	// failed ones had never been seen.
	runSteps(t, w, []step{
		{seq: 50}, {seq: 50, want: ErrReplay}, {seq: 101}, {seq: 5000}, {seq: 3976, want: ErrTooOld}, {seq: 3977},
	})
	if w.Top() != 5000 {
		t.Errorf("Top = %d, want 5000", w.Top())
	}
}

// TestStart covers an SA that begins just below 2^32 and a restart: Top is first-1,
// nothing is marked, and the W numbers below first are still accepted once.
func TestStart(t *testing.T) {
	w, err := New(1024, true)
	if err != nil {
		t.Fatal(err)
	}
	runSteps(t, w, acceptRange(1, 10))
	w.Start(1<<32 - 64)
	if w.Top() != 1<<32-65 {
		t.Fatalf("Top after Start(2^32-64) = %#x, want %#x", w.Top(), uint64(1<<32-65))
	}
	runSteps(t, w, []step{
		{seq: 1<<32 - 1088, check: true}, {seq: 1<<32 - 1089, check: true, want: ErrTooOld},
		{seq: 1<<32 - 64}, {seq: 1<<32 - 65}, {seq: 1<<32 - 65, want: ErrReplay},
		{seq: 1<<32 - 1087}, {seq: 1<<32 - 1088, want: ErrTooOld}, {seq: 1 << 32},
	})
	w.Start(5) // back down: the bits of 1..10 must not survive
	if w.Top() != 4 {
		t.Fatalf("Top after Start(5) = %d, want 4", w.Top())
	}
	runSteps(t, w, []step{{seq: 3}, {seq: 5}, {seq: 10}, {seq: 3, want: ErrReplay}})
	w.Start(0)
	if w.Top() != 0 {
		t.Fatalf("Top after Start(0) = %d, want 0", w.Top())
	}
	runSteps(t, w, []step{{seq: 0, want: ErrTooOld}, {seq: 1}, {seq: 1, want: ErrReplay}})
}
