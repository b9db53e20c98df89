package ring

import (
	"slices"
	"testing"
	"time"
)

// result is what a helper goroutine's EnqueueWait or DequeueWait returned.
type result struct {
	n   int
	err error
}

// hangGuard bounds waitFor. It is not a measurement: the conditions waited for are reached
// in microseconds on an idle machine, and the bound is there only so that a goroutine that
// never gets there fails the test with a message instead of hanging it, however busy the
// machine.
const hangGuard = time.Minute

// waitFor polls cond until it holds, failing the test after hangGuard. The parking tests
// use it to know that the other goroutine has gone all the way to its channel.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// notDone fails the test if the helper goroutine has already returned.
func notDone(t *testing.T, done <-chan result, who string) {
	t.Helper()
	select {
	case res := <-done:
		t.Fatalf("%s returned %d, %v before it was woken", who, res.n, res.err)
	default:
	}
}

// TestParkedProducerIsWoken parks the producer on a full ring and checks that one
// dequeue wakes it, with exactly one wait and one park counted.
func TestParkedProducerIsWoken(t *testing.T) {
	r := newRing[uint64](t, 4)
	r.EnqueueBurst(seq(1, 4))
	done := make(chan result, 1)
	go func() { // the producer from now on
		n, err := r.EnqueueWait([]uint64{99})
		done <- result{n, err}
	}()
	waitFor(t, "the producer to park", func() bool { return r.Stats().ProducerParks == 1 })
	notDone(t, done, "EnqueueWait")
	if n := r.DequeueBurst(make([]uint64, 1)); n != 1 {
		t.Fatalf("DequeueBurst = %d, want 1", n)
	}
	if res := <-done; res.n != 1 || res.err != nil {
		t.Fatalf("EnqueueWait = %d, %v; want 1, nil", res.n, res.err)
	}
	s := r.Stats()
	if s.ProducerWaits != 1 || s.ProducerParks != 1 || s.ConsumerWaits != 0 || s.ConsumerParks != 0 {
		t.Fatalf("Stats = %+v, want one producer wait and one producer park", s)
	}
	got := make([]uint64, 4)
	if !r.DequeueAll(got) || !slices.Equal(got, []uint64{2, 3, 4, 99}) {
		t.Fatalf("ring held %v, want [2 3 4 99]", got)
	}
}

// TestParkedConsumerIsWoken is the mirror image for a consumer on an empty ring.
func TestParkedConsumerIsWoken(t *testing.T) {
	r := newRing[uint64](t, 4)
	dst := make([]uint64, 4)
	done := make(chan result, 1)
	go func() { // the consumer
		n, err := r.DequeueWait(dst)
		done <- result{n, err}
	}()
	waitFor(t, "the consumer to park", func() bool { return r.Stats().ConsumerParks == 1 })
	notDone(t, done, "DequeueWait")
	if n := r.EnqueueBurst(seq(7, 2)); n != 2 {
		t.Fatalf("EnqueueBurst = %d, want 2", n)
	}
	res := <-done
	// The burst is published with one store of tail, so the woken consumer sees both.
	if res.n != 2 || res.err != nil || !slices.Equal(dst[:2], []uint64{7, 8}) {
		t.Fatalf("DequeueWait = %d, %v, %v; want 2, nil, [7 8]", res.n, res.err, dst[:res.n])
	}
	s := r.Stats()
	if s.ConsumerWaits != 1 || s.ConsumerParks != 1 || s.ProducerWaits != 0 || s.ProducerParks != 0 {
		t.Fatalf("Stats = %+v, want one consumer wait and one consumer park", s)
	}
}

// TestCloseWakesParkedConsumer checks that Close reaches a consumer that is already
// parked, rather than leaving it asleep for ever.
func TestCloseWakesParkedConsumer(t *testing.T) {
	r := newRing[uint64](t, 4)
	done := make(chan result, 1)
	go func() {
		n, err := r.DequeueWait(make([]uint64, 4))
		done <- result{n, err}
	}()
	waitFor(t, "the consumer to park", func() bool { return r.Stats().ConsumerParks == 1 })
	notDone(t, done, "DequeueWait")
	r.Close()
	if res := <-done; res.n != 0 || res.err != ErrClosed {
		t.Fatalf("DequeueWait = %d, %v; want 0, ErrClosed", res.n, res.err)
	}
}

// TestStaleTokenCausesOnlyAnotherPark plants a token left over from an earlier wake-up
// in the producer's channel. The producer must take it, find the ring still full, and
// park a second time rather than return or enqueue into a full ring.
func TestStaleTokenCausesOnlyAnotherPark(t *testing.T) {
	r := newRing[uint64](t, 2)
	r.EnqueueBurst(seq(1, 2))
	r.producerWake <- struct{}{}
	done := make(chan result, 1)
	go func() {
		n, err := r.EnqueueWait([]uint64{3})
		done <- result{n, err}
	}()
	waitFor(t, "the producer to park twice", func() bool { return r.Stats().ProducerParks == 2 })
	notDone(t, done, "EnqueueWait")
	if r.Len() != 2 {
		t.Fatalf("Len = %d, want 2", r.Len())
	}
	got := make([]uint64, 2)
	r.DequeueAll(got)
	if res := <-done; res.n != 1 || res.err != nil {
		t.Fatalf("EnqueueWait = %d, %v; want 1, nil", res.n, res.err)
	}
	if s := r.Stats(); s.ProducerWaits != 1 || s.ProducerParks != 2 {
		t.Fatalf("Stats = %+v, want one producer wait and two parks", s)
	}
	if n := r.DequeueBurst(got); n != 1 || got[0] != 3 {
		t.Fatalf("DequeueBurst = %d, %v; want 1, [3]", n, got[:n])
	}
}
