package ring

import (
	"runtime"
	"testing"
)

// benchRingSize is the ring capacity of the benchmarks, and the channel capacity of the
// channel benchmark it is compared with.
const benchRingSize = 1024

// benchRing moves b.N items (0, 1, ...) from a producer goroutine to the benchmark
// goroutine through a ring, burst items per EnqueueWait and up to burst per
// DequeueWait. One op is one item, so ns/op is the cost per item.
func benchRing(b *testing.B, burst int) {
	r, err := New[uint64](benchRingSize)
	if err != nil {
		b.Fatal(err)
	}
	items := b.N
	in := make([]uint64, burst)
	out := make([]uint64, burst)
	b.ReportAllocs()
	b.ResetTimer()
	go func() {
		for sent := 0; sent < items; {
			k := min(burst, items-sent)
			for i := range k {
				in[i] = uint64(sent + i)
			}
			r.EnqueueWait(in[:k])
			sent += k
		}
		r.Close()
	}()
	var got, sum uint64
	for {
		n, err := r.DequeueWait(out)
		if err != nil {
			break
		}
		for _, v := range out[:n] {
			sum += v
		}
		got += uint64(n)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "items/s")
	checkSum(b, got, sum)
}

// checkSum fails the benchmark unless exactly b.N items 0..b.N-1 arrived, so that a
// broken queue cannot post a good number.
func checkSum(b *testing.B, got, sum uint64) {
	n := uint64(b.N)
	if got != n || sum != n*(n-1)/2 {
		b.Fatalf("received %d items summing to %d, want %d summing to %d", got, sum, n, n*(n-1)/2)
	}
}

// BenchmarkRingBurst32 is the pipeline's case: bursts of 32 on both sides.
func BenchmarkRingBurst32(b *testing.B) { benchRing(b, 32) }

// BenchmarkRingBurst32OneCore is BenchmarkRingBurst32 with GOMAXPROCS 1: both sides share
// one P, so every wait goes through the yield path (see TestOneCoreMakesProgress). The
// pipeline that only spun collapsed to about 0.2 Mpps in this situation.
func BenchmarkRingBurst32OneCore(b *testing.B) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	benchRing(b, 32)
}

// BenchmarkRingBurst1 moves one item per call, to show what bursts save.
func BenchmarkRingBurst1(b *testing.B) { benchRing(b, 1) }

// BenchmarkChanBurst32 is the baseline: the same items through a buffered channel of
// the same capacity. A channel has no burst operation, so each item is its own send and
// receive; the name pairs it with BenchmarkRingBurst32 for comparison.
func BenchmarkChanBurst32(b *testing.B) {
	ch := make(chan uint64, benchRingSize)
	items := b.N
	b.ReportAllocs()
	b.ResetTimer()
	go func() {
		for i := range items {
			ch <- uint64(i)
		}
		close(ch)
	}()
	var got, sum uint64
	for v := range ch {
		sum += v
		got++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "items/s")
	checkSum(b, got, sum)
}
