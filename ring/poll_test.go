package ring

import (
	"testing"
	"time"
)

// pollConsumer starts a consumer goroutine that sends every item it dequeues from r on the
// returned channel, and closes the channel when DequeueWait reports ErrClosed.
func pollConsumer(r *Ring[int]) <-chan int {
	got := make(chan int, 100)
	go func() {
		buf := make([]int, 8)
		for {
			n, err := r.DequeueWait(buf)
			if err != nil {
				close(got)
				return
			}
			for _, v := range buf[:n] {
				got <- v
			}
		}
	}()
	return got
}

// In poll mode the consumer keeps polling instead of parking: items that come within the
// poll time are taken without a single park, and once the poll time has passed with
// nothing, it parks as usual (and a later item still wakes it).
//
// Nothing here depends on how fast the machine is or how busy: each item is enqueued only
// once the consumer is known to be waiting for it (its wait count says so), and the poll
// time of the first ring is a minute, far longer than any delay of the scheduler, so every
// wait must end by polling; the second ring polls for a few milliseconds and the test
// waits until the consumer has parked, rather than sleeping for a guessed time.
func TestConsumerPoll(t *testing.T) {
	const items = 20
	r := newRing[int](t, 64)
	r.SetConsumerPoll(time.Minute)
	got := pollConsumer(r)
	for i := range items {
		waitFor(t, "the consumer to wait for the next item", func() bool { return r.Stats().ConsumerWaits == uint64(i+1) })
		r.EnqueueBurst([]int{i})
		if v := <-got; v != i {
			t.Fatalf("got %d, want %d", v, i)
		}
	}
	// One wait per item, each ended by the poll, and the consumer polling for the next.
	waitFor(t, "the consumer to wait after the last item", func() bool { return r.Stats().ConsumerWaits == items+1 })
	if s := r.Stats(); s.ConsumerParks != 0 || s.ConsumerWaits != items+1 {
		t.Fatalf("polling consumer: %d parks, %d waits; want 0 parks and %d waits", s.ConsumerParks, s.ConsumerWaits, items+1)
	}
	r.Close() // ends the poll at once
	if _, ok := <-got; ok {
		t.Fatal("an item after Close")
	}

	const poll = 5 * time.Millisecond
	r = newRing[int](t, 64)
	r.SetConsumerPoll(poll)
	got = pollConsumer(r)
	// Past the poll time with nothing: the consumer parks, after one wait.
	waitFor(t, "the consumer to park after polling", func() bool { return r.Stats().ConsumerParks == 1 })
	if s := r.Stats(); s.ConsumerWaits != 1 {
		t.Fatalf("Stats = %+v before any item, want one wait", s)
	}
	r.EnqueueBurst([]int{99})
	if v := <-got; v != 99 {
		t.Fatalf("got %d after the park, want 99", v)
	}
	r.Close()
	if _, ok := <-got; ok {
		t.Fatal("an item after Close")
	}
}
