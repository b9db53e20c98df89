package hdr

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestIndexBounds(t *testing.T) {
	// Every slot's range starts where the previous one ended, and index agrees with it.
	prev := int64(-1)
	for i := 0; i < numCounts; i++ {
		lo, hi := lowest(i), highest(i)
		if lo != prev+1 || hi < lo {
			t.Fatalf("slot %d: [%d, %d] after %d", i, lo, hi, prev)
		}
		if index(lo) != i || index(hi) != i {
			t.Fatalf("slot %d: index(%d)=%d index(%d)=%d", i, lo, index(lo), hi, index(hi))
		}
		if i >= subCount && float64(hi-lo+1)/float64(lo) > 1.0/1024 {
			t.Fatalf("slot %d: width %d at %d is over 1/1024", i, hi-lo+1, lo)
		}
		prev = hi
	}
	if prev != Highest {
		t.Fatalf("last slot ends at %d, want %d", prev, Highest)
	}
}

func TestExactSmallValues(t *testing.T) {
	h := New()
	for v := int64(1); v <= 100; v++ {
		h.Record(v)
	}
	if h.Count() != 100 || h.Min() != 1 || h.Max() != 100 || h.Mean() != 50.5 {
		t.Fatalf("count %d min %d max %d mean %v", h.Count(), h.Min(), h.Max(), h.Mean())
	}
	for _, c := range []struct {
		q    float64
		want int64
	}{{0.5, 50}, {0.99, 99}, {0.999, 100}, {0.01, 1}, {0, 1}, {1, 100}} {
		if got := h.Quantile(c.q); got != c.want {
			t.Errorf("Quantile(%v) = %d, want %d", c.q, got, c.want)
		}
	}
}

func TestQuantilesAgainstSort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	h := New()
	vals := make([]int64, 200000)
	for i := range vals {
		vals[i] = int64(r.ExpFloat64() * 20000) // ~20 us mean, long tail
		h.Record(vals[i])
	}
	slices.Sort(vals)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 0.9999} {
		rank := int(float64(len(vals))*q+0.999999) - 1
		exact := vals[rank]
		got := h.Quantile(q)
		// got is the top of exact's bucket: never below it, and within 1/1024 above.
		if got < exact || float64(got-exact) > float64(exact)/1024+1 {
			t.Errorf("q=%v: got %d, exact %d", q, got, exact)
		}
	}
	if h.Max() != vals[len(vals)-1] || h.Min() != vals[0] {
		t.Errorf("min/max %d/%d, want %d/%d", h.Min(), h.Max(), vals[0], vals[len(vals)-1])
	}
}

func TestMergeClampEmpty(t *testing.T) {
	a, b := New(), New()
	if a.Quantile(0.5) != 0 || a.Min() != 0 || a.Max() != 0 || a.Mean() != 0 {
		t.Fatal("empty histogram not all zero")
	}
	a.Record(-5)
	b.RecordN(1000, 3)
	b.Record(Highest + 10)
	a.Merge(b)
	if a.Count() != 5 || a.Min() != 0 || a.Max() != Highest || a.Clamped() != 1 {
		t.Fatalf("count %d min %d max %d clamped %d", a.Count(), a.Min(), a.Max(), a.Clamped())
	}
	var got []Bucket
	a.Buckets(func(b Bucket) { got = append(got, b) })
	want := []Bucket{{0, 0, 1}, {1000, 1000, 3}, {lowest(index(Highest)), Highest, 1}}
	if !slices.Equal(got, want) {
		t.Fatalf("buckets %v, want %v", got, want)
	}
	a.Reset()
	if a.Count() != 0 || a.Max() != 0 {
		t.Fatal("Reset left values")
	}
}

func TestRecordAllocs(t *testing.T) {
	h := New()
	if n := testing.AllocsPerRun(1000, func() { h.Record(12345) }); n != 0 {
		t.Fatalf("Record allocates %v", n)
	}
}

func BenchmarkRecord(b *testing.B) {
	h := New()
	for i := 0; b.Loop(); i++ {
		h.Record(int64(i & 0xfffff))
	}
}
