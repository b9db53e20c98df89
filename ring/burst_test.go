package ring

import (
	"slices"
	"testing"
)

// seq returns the n values from, from+1, ...
func seq(from uint64, n int) []uint64 {
	s := make([]uint64, n)
	for i := range s {
		s[i] = from + uint64(i)
	}
	return s
}

// newRing is New for tests whose sizes are known to be valid.
func newRing[T any](t *testing.T, size int) *Ring[T] {
	t.Helper()
	r, err := New[T](size)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestFillToCapacity fills the ring, then checks that EnqueueBurst takes what fits and
// EnqueueAll refuses a group that is one slot short.
func TestFillToCapacity(t *testing.T) {
	r := newRing[uint64](t, 8)
	if n := r.EnqueueBurst(seq(0, 10)); n != 8 {
		t.Fatalf("EnqueueBurst of 10 into 8 free slots = %d, want 8", n)
	}
	if r.Len() != 8 {
		t.Fatalf("Len = %d, want 8", r.Len())
	}
	if n := r.EnqueueBurst(seq(100, 1)); n != 0 {
		t.Fatalf("EnqueueBurst into a full ring = %d, want 0", n)
	}
	if r.EnqueueAll(seq(100, 1)) {
		t.Fatal("EnqueueAll into a full ring succeeded")
	}
	got := make([]uint64, 3)
	if n := r.DequeueBurst(got); n != 3 || !slices.Equal(got, seq(0, 3)) {
		t.Fatalf("DequeueBurst = %d %v, want 3 [0 1 2]", n, got)
	}
	// Three slots free: a group of four is refused whole, nothing of it goes in.
	if r.EnqueueAll(seq(8, 4)) {
		t.Fatal("EnqueueAll of 4 into 3 free slots succeeded")
	}
	if r.Len() != 5 {
		t.Fatalf("Len after refused EnqueueAll = %d, want 5", r.Len())
	}
	if !r.EnqueueAll(seq(8, 3)) {
		t.Fatal("EnqueueAll of 3 into 3 free slots failed")
	}
	got = make([]uint64, 8)
	if !r.DequeueAll(got) || !slices.Equal(got, seq(3, 8)) {
		t.Fatalf("DequeueAll = %v, want 3..10", got)
	}
	if s := r.Stats(); s.Enqueued != 11 || s.Dequeued != 11 {
		t.Fatalf("Stats = %+v, want 11 enqueued and 11 dequeued", s)
	}
}

// TestEnqueueAllLargerThanRing checks that a group larger than the ring is refused,
// not split.
func TestEnqueueAllLargerThanRing(t *testing.T) {
	r := newRing[uint64](t, 4)
	if r.EnqueueAll(seq(0, 5)) {
		t.Fatal("EnqueueAll of 5 into an empty ring of 4 succeeded")
	}
	if r.Len() != 0 {
		t.Fatalf("Len = %d, want 0", r.Len())
	}
}

// TestDequeueAllRefusal checks that DequeueAll takes nothing, and leaves dst alone, when
// the ring holds fewer items than asked for.
func TestDequeueAllRefusal(t *testing.T) {
	r := newRing[uint64](t, 8)
	r.EnqueueBurst(seq(0, 3))
	got := []uint64{77, 77, 77, 77}
	if r.DequeueAll(got) {
		t.Fatal("DequeueAll of 4 from 3 items succeeded")
	}
	if !slices.Equal(got, []uint64{77, 77, 77, 77}) || r.Len() != 3 {
		t.Fatalf("refused DequeueAll changed dst to %v or Len to %d", got, r.Len())
	}
	if !r.DequeueAll(got[:3]) || !slices.Equal(got[:3], seq(0, 3)) {
		t.Fatalf("DequeueAll of 3 = %v, want [0 1 2]", got[:3])
	}
	if n := r.DequeueBurst(got); n != 0 {
		t.Fatalf("DequeueBurst from an empty ring = %d, want 0", n)
	}
}

// TestEmptyArguments pins down the results for empty slices, which callers rely on to
// avoid special cases.
func TestEmptyArguments(t *testing.T) {
	r := newRing[uint64](t, 2)
	if r.EnqueueBurst(nil) != 0 || !r.EnqueueAll(nil) || r.DequeueBurst(nil) != 0 || !r.DequeueAll(nil) {
		t.Fatal("empty slices: want EnqueueBurst 0, EnqueueAll true, DequeueBurst 0, DequeueAll true")
	}
	if n, err := r.EnqueueWait(nil); n != 0 || err != nil {
		t.Fatalf("EnqueueWait(nil) = %d, %v; want 0, nil", n, err)
	}
	if n, err := r.DequeueWait(nil); n != 0 || err != nil {
		t.Fatalf("DequeueWait(nil) = %d, %v; want 0, nil", n, err)
	}
}

// TestWrapAround drives the counters round a small ring many times, with burst sizes
// that put the split between the two copy calls at every slot offset.
func TestWrapAround(t *testing.T) {
	r := newRing[uint64](t, 8)
	var next, want uint64
	buf := make([]uint64, 8)
	for round := range 5000 {
		in, free := 1+round%8, 8-r.Len()
		if n := r.EnqueueBurst(seq(next, in)); n != min(in, free) {
			t.Fatalf("round %d: EnqueueBurst of %d with %d free = %d", round, in, free, n)
		}
		next += uint64(min(in, free))
		out, held := 1+(round*5)%8, r.Len()
		n := r.DequeueBurst(buf[:out])
		if n != min(out, held) {
			t.Fatalf("round %d: DequeueBurst of %d with %d held = %d", round, out, held, n)
		}
		for i := range n {
			if buf[i] != want {
				t.Fatalf("round %d: item %d = %d, want %d", round, i, buf[i], want)
			}
			want++
		}
	}
	for {
		n := r.DequeueBurst(buf)
		if n == 0 {
			break
		}
		for i := range n {
			if buf[i] != want {
				t.Fatalf("drain: got %d, want %d", buf[i], want)
			}
			want++
		}
	}
	if want != next {
		t.Fatalf("dequeued %d items, enqueued %d", want, next)
	}
	if s := r.Stats(); s.Enqueued != next || s.Dequeued != next {
		t.Fatalf("Stats = %+v, want %d enqueued and dequeued", s, next)
	}
	if laps := next / 8; laps < 1000 {
		t.Fatalf("only %d laps of the ring, want at least 1000", laps)
	}
}

// TestDequeueZeroesSlots inspects the slot array after dequeues, including a burst that
// wraps, to check that the ring keeps no pointer to an item it has handed out.
func TestDequeueZeroesSlots(t *testing.T) {
	r := newRing[*int](t, 8)
	ptrs := make([]*int, 8)
	for i := range ptrs {
		ptrs[i] = new(int)
	}
	dst := make([]*int, 8)
	// Start at slot 5 so that the next burst wraps.
	r.EnqueueBurst(ptrs[:5])
	r.DequeueBurst(dst[:5])
	if !r.EnqueueAll(ptrs) {
		t.Fatal("EnqueueAll of 8 into an empty ring failed")
	}
	if n := r.DequeueBurst(dst[:4]); n != 4 {
		t.Fatalf("DequeueBurst = %d, want 4", n)
	}
	// Items 0..3 sat in slots 5, 6, 7, 0; items 4..7 are still in slots 1..4.
	for slot, p := range r.buf {
		taken := slot >= 5 || slot == 0
		if taken && p != nil {
			t.Errorf("slot %d still holds a pointer after its item was dequeued", slot)
		}
		if !taken && p != ptrs[slot+3] {
			t.Errorf("slot %d = %p, want item %d (%p)", slot, p, slot+3, ptrs[slot+3])
		}
	}
	if !r.DequeueAll(dst[:4]) || !slices.Equal(dst[:4], ptrs[4:]) {
		t.Fatal("DequeueAll of the last 4 did not return items 4..7")
	}
	for slot, p := range r.buf {
		if p != nil {
			t.Errorf("slot %d still holds a pointer after draining", slot)
		}
	}
}

// TestHeadCacheRefreshedOnlyWhenShort checks the cached-index rule: the producer reloads
// head only when its cached copy shows too little room for the request.
func TestHeadCacheRefreshedOnlyWhenShort(t *testing.T) {
	r := newRing[uint64](t, 8)
	r.EnqueueBurst(seq(0, 4))
	r.DequeueBurst(make([]uint64, 4))
	r.EnqueueBurst(seq(4, 4)) // the cache (head 0) shows 4 free: enough, no reload
	if r.headCache != 0 {
		t.Fatalf("headCache = %d after a request the cache could satisfy, want 0", r.headCache)
	}
	r.EnqueueBurst(seq(8, 1)) // the cache shows 0 free: reload finds head 4
	if r.headCache != 4 {
		t.Fatalf("headCache = %d after a request the cache could not satisfy, want 4", r.headCache)
	}
	// The consumer's first DequeueBurst loaded tail 4; asking for 2 more finds the cache
	// empty and reloads tail 9.
	r.DequeueBurst(make([]uint64, 2))
	if r.tailCache != 9 {
		t.Fatalf("tailCache = %d, want 9", r.tailCache)
	}
	r.EnqueueBurst(seq(9, 2))         // tail is now 11
	r.DequeueBurst(make([]uint64, 3)) // the cache shows 3 items: enough, no reload
	if r.tailCache != 9 {
		t.Fatalf("tailCache = %d after a request the cache could satisfy, want 9", r.tailCache)
	}
	r.DequeueBurst(make([]uint64, 1)) // the cache shows 0 items: reload finds tail 11
	if r.tailCache != 11 {
		t.Fatalf("tailCache = %d after a request the cache could not satisfy, want 11", r.tailCache)
	}
}
