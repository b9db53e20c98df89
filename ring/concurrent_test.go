package ring

import (
	"fmt"
	"math/rand/v2"
	"runtime"
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
// The spin-yield-park policy must keep the stream moving: the collapsed pipeline of the
// design doc (0.2 Mpps) would need 5 s for these items, and the limit is well below.
// The tiny ring makes every burst wait, so the yield path is taken constantly; it gets
// a fifth of the items because under the race detector each of its waits is slow.
func TestOneCoreMakesProgress(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	limit := 2 * time.Second
	if raceEnabled {
		limit = 20 * time.Second
	}
	for _, c := range []struct {
		size  int
		items uint64
	}{{1024, streamItems}, {2, streamItems / 5}} {
		start := time.Now()
		s := stream(t, c.size, c.items, 3)
		elapsed := time.Since(start)
		t.Logf("GOMAXPROCS 1, ring %d: %d items in %v (%.1f Mitems/s), %+v",
			c.size, c.items, elapsed, float64(c.items)/elapsed.Seconds()/1e6, s)
		if elapsed > limit {
			t.Fatalf("ring %d: %d items took %v on one P, want under %v", c.size, c.items, elapsed, limit)
		}
	}
}
