package ring

import (
	"slices"
	"testing"
)

// TestClosedRefusesEnqueue checks that nothing can be enqueued after Close, so that the
// consumer's ErrClosed really means no item is left behind.
func TestClosedRefusesEnqueue(t *testing.T) {
	r := newRing[uint64](t, 4)
	r.Close()
	r.Close() // a second Close is harmless
	if n := r.EnqueueBurst(seq(0, 2)); n != 0 {
		t.Fatalf("EnqueueBurst after Close = %d, want 0", n)
	}
	if r.EnqueueAll(seq(0, 2)) || r.EnqueueAll(nil) {
		t.Fatal("EnqueueAll after Close succeeded")
	}
	if n, err := r.EnqueueWait(seq(0, 2)); n != 0 || err != ErrClosed {
		t.Fatalf("EnqueueWait after Close = %d, %v; want 0, ErrClosed", n, err)
	}
	if r.Len() != 0 {
		t.Fatalf("Len = %d, want 0", r.Len())
	}
}

// TestCloseDrainsThenReportsClosed checks that the consumer gets every item enqueued
// before Close, and ErrClosed only after the last one.
func TestCloseDrainsThenReportsClosed(t *testing.T) {
	r := newRing[uint64](t, 16)
	if n, err := r.EnqueueWait(seq(0, 10)); n != 10 || err != nil {
		t.Fatalf("EnqueueWait = %d, %v", n, err)
	}
	r.Close()
	dst := make([]uint64, 4)
	var got []uint64
	for _, want := range []int{4, 4, 2} {
		n, err := r.DequeueWait(dst)
		if n != want || err != nil {
			t.Fatalf("DequeueWait = %d, %v; want %d, nil", n, err, want)
		}
		got = append(got, dst[:n]...)
	}
	if !slices.Equal(got, seq(0, 10)) {
		t.Fatalf("drained %v, want 0..9", got)
	}
	for range 2 {
		if n, err := r.DequeueWait(dst); n != 0 || err != ErrClosed {
			t.Fatalf("DequeueWait on a closed, drained ring = %d, %v; want 0, ErrClosed", n, err)
		}
	}
}
