package ring

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// streamItems is how many items the concurrent tests push through a ring.
const streamItems = 1_000_000

// maxBurst is the largest random burst either side uses in the concurrent tests.
const maxBurst = 64

// stream sends the sequence 0, 1, ..., items-1 from a producer goroutine to the calling
// goroutine through a ring of the given size, each side using random burst sizes from
// 1 to maxBurst and the waiting calls, and checks that every item arrives exactly once
// and in order, and that DequeueWait reports ErrClosed after the last one. It returns
// the ring's final Stats.
func stream(t *testing.T, size int, items uint64, seed uint64) Stats {
	t.Helper()
	r := newRing[uint64](t, size)
	produced := make(chan error, 1)
	go func() {
		rng := rand.New(rand.NewPCG(seed, 1))
		buf := make([]uint64, maxBurst)
		for next := uint64(0); next < items; {
			k := min(uint64(1+rng.IntN(maxBurst)), items-next)
			for i := range k {
				buf[i] = next + i
			}
			if n, err := r.EnqueueWait(buf[:k]); n != int(k) || err != nil {
				produced <- fmt.Errorf("EnqueueWait of %d = %d, %v", k, n, err)
				return
			}
			next += k
		}
		r.Close()
		produced <- nil
	}()

	rng := rand.New(rand.NewPCG(seed, 2))
	dst := make([]uint64, maxBurst)
	var want uint64
	for {
		k := 1 + rng.IntN(maxBurst)
		n, err := r.DequeueWait(dst[:k])
		if err == ErrClosed {
			break
		}
		if err != nil || n < 1 || n > k {
			t.Fatalf("DequeueWait of %d = %d, %v after %d items", k, n, err, want)
		}
		for _, v := range dst[:n] {
			if v != want {
				t.Fatalf("got item %d, want %d", v, want)
			}
			want++
		}
	}
	if err := <-produced; err != nil {
		t.Fatal(err)
	}
	if want != items {
		t.Fatalf("received %d items, want %d", want, items)
	}
	if n, err := r.DequeueWait(dst); n != 0 || err != ErrClosed {
		t.Fatalf("DequeueWait after the end = %d, %v; want 0, ErrClosed", n, err)
	}
	s := r.Stats()
	if s.Enqueued != items || s.Dequeued != items || r.Len() != 0 {
		t.Fatalf("Stats = %+v, Len %d; want %d enqueued and dequeued, Len 0", s, r.Len(), items)
	}
	return s
}

// TestConcurrentStream is the pipeline's shape: a ring of 1024 between two goroutines.
func TestConcurrentStream(t *testing.T) {
	s := stream(t, 1024, streamItems, 1)
	t.Logf("ring 1024: %+v", s)
}

// TestConcurrentStreamTinyRing uses the smallest ring, so that nearly every burst on
// both sides waits, wraps and often parks: the stress test of the wake-up protocol.
func TestConcurrentStreamTinyRing(t *testing.T) {
	s := stream(t, 2, streamItems, 2)
	t.Logf("ring 2: %+v", s)
	if s.ProducerWaits == 0 || s.ConsumerWaits == 0 {
		t.Fatalf("Stats = %+v: a ring of 2 fed bursts of up to 64 must make both sides wait", s)
	}
}

// TestOneCoreMakesProgress runs the stream with GOMAXPROCS 1, the situation of a VM
// whose second core has vanished: both sides share one P, so a waiter that only spun
// would hold the P until preempted (about 10 ms) while the other side could not move.
// Here the stream must deliver every item once and in order, with either ring size; the
// tiny ring makes every burst wait, so the yield path is taken constantly (it gets a fifth
// of the items because under the race detector each of its waits is slow). How fast it
// goes depends on the machine and on what else runs on it, so the rate is only logged
// (BenchmarkRingBurst32OneCore measures it); TestOneCoreWaitYields checks exactly that a
// wait on one P lets the other side run instead of spinning or parking.
func TestOneCoreMakesProgress(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for _, c := range []struct {
		size  int
		items uint64
	}{{1024, streamItems}, {2, streamItems / 5}} {
		start := time.Now()
		s := stream(t, c.size, c.items, 3)
		elapsed := time.Since(start)
		t.Logf("GOMAXPROCS 1, ring %d: %d items in %v (%.1f Mitems/s), %+v",
			c.size, c.items, elapsed, float64(c.items)/elapsed.Seconds()/1e6, s)
		if c.size == 2 && (s.ProducerWaits == 0 || s.ConsumerWaits == 0) {
			t.Fatalf("ring 2: Stats = %+v: bursts of up to 64 must make both sides wait", s)
		}
	}
}

// TestOneCoreWaitYields is the exact form of the one-core property. With GOMAXPROCS 1, a
// waiter whose condition only another runnable goroutine can make true must let that
// goroutine run during its yield phase, and return without parking after at most
// spinChecks+yieldChecks checks. A waiter that only spun would hold the only P until
// preempted and check the condition thousands of times or more; one that went from
// spinning straight to parking would park (the other goroutine wakes it as a producer
// would, so that such a failure shows as a count rather than a hang).
func TestOneCoreWaitYields(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	r := newRing[uint64](t, 4)
	const rounds = 1000
	most := 0
	for round := range rounds {
		var ready atomic.Bool
		checks := 0
		go func() {
			ready.Store(true)
			r.wakeConsumer()
		}()
		r.parkUntil(func() bool { checks++; return ready.Load() }, &r.consumerSleeping, r.consumerWake, &r.consumerParks)
		if parks := r.consumerParks.Load(); parks != 0 {
			t.Fatalf("round %d: the waiter parked (%d parks) while the other goroutine was runnable", round, parks)
		}
		if checks > spinChecks+yieldChecks {
			t.Fatalf("round %d: %d checks before the other goroutine ran, want at most %d (%d spins, %d yields)",
				round, checks, spinChecks+yieldChecks, spinChecks, yieldChecks)
		}
		most = max(most, checks)
	}
	t.Logf("GOMAXPROCS 1: %d waits, each ended in at most %d checks without a park", rounds, most)
}
