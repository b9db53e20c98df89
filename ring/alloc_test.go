package ring

import (
	"runtime"
	"testing"
)

// TestBurstsDoNotAllocate holds the ring to zero allocations per burst, waiting or not:
// a per-packet allocation would cost more than the hand-off itself.
func TestBurstsDoNotAllocate(t *testing.T) {
	r := newRing[*int](t, 64)
	in := make([]*int, 32)
	for i := range in {
		in[i] = new(int)
	}
	out := make([]*int, 32)
	allocs := testing.AllocsPerRun(1000, func() {
		if r.EnqueueBurst(in) != 32 || r.DequeueBurst(out) != 32 {
			panic("burst of 32 did not go through an empty ring of 64")
		}
	})
	if allocs != 0 {
		t.Errorf("EnqueueBurst+DequeueBurst: %v allocations per run, want 0", allocs)
	}
	allocs = testing.AllocsPerRun(1000, func() {
		if n, err := r.EnqueueWait(in); n != 32 || err != nil {
			panic("EnqueueWait failed")
		}
		if n, err := r.DequeueWait(out); n != 32 || err != nil {
			panic("DequeueWait failed")
		}
	})
	if allocs != 0 {
		t.Errorf("EnqueueWait+DequeueWait: %v allocations per run, want 0", allocs)
	}
}

// TestWaitsDoNotAllocate pushes items through the smallest ring, so that nearly every
// call waits and many park, and checks that the waiting machinery allocates nothing:
// the few allocations allowed (the goroutine, its channel, and under the race detector
// some of its own bookkeeping) must stay far below one per wait.
func TestWaitsDoNotAllocate(t *testing.T) {
	const items = 100_000
	r := newRing[uint64](t, 2)
	in := seq(0, 16)
	out := make([]uint64, 16)
	done := make(chan struct{})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	go func() {
		for range items / len(in) {
			r.EnqueueWait(in)
		}
		r.Close()
		close(done)
	}()
	got := 0
	for {
		n, err := r.DequeueWait(out)
		if err != nil {
			break
		}
		got += n
	}
	<-done
	runtime.ReadMemStats(&after)
	s := r.Stats()
	if got != items || s.ProducerWaits == 0 || s.ConsumerWaits == 0 {
		t.Fatalf("received %d items with %+v; want %d and waits on both sides", got, s, items)
	}
	waits := s.ProducerWaits + s.ConsumerWaits
	if mallocs := after.Mallocs - before.Mallocs; mallocs > waits/100 {
		t.Fatalf("%d allocations for %d waits, want at most %d", mallocs, waits, waits/100)
	}
	t.Logf("%d allocations for %d waits", after.Mallocs-before.Mallocs, waits)
}
