// Package hdr is a high-dynamic-range histogram of latencies in nanoseconds: three
// significant decimal digits (relative error under 1/1024) from 1 ns to 2^42 ns (73 min),
// fixed memory, and a Record that neither allocates nor takes a lock. One goroutine records
// into a histogram; histograms of several goroutines are merged afterwards.
//
// Values are kept in buckets that double in width: the first 2048 values exactly, then
// 1024 sub-buckets for each further power of two, so every bucket's width is at most
// 1/1024 of its lowest value.
package hdr

import (
	"math"
	"math/bits"
)

const (
	subBits    = 11 // 2048 exact values in the first bucket
	subCount   = 1 << subBits
	halfCount  = subCount / 2
	maxBits    = 42 // values up to 2^42-1 ns; larger ones are clamped and counted in Clamped
	numBuckets = maxBits - subBits + 1
	numCounts  = subCount + (numBuckets-1)*halfCount

	// Highest is the largest value kept exactly in range.
	Highest = 1<<maxBits - 1
)

// Histogram counts values. The zero value is not usable; use New.
type Histogram struct {
	counts   []uint64
	total    uint64
	sum      float64
	min, max int64
	clamped  uint64
}

// New returns an empty histogram (about 270 KiB).
func New() *Histogram {
	h := &Histogram{counts: make([]uint64, numCounts)}
	h.Reset()
	return h
}

// Reset empties the histogram.
func (h *Histogram) Reset() {
	clear(h.counts)
	h.total, h.sum, h.clamped = 0, 0, 0
	h.min, h.max = math.MaxInt64, 0
}

// index is the slot of v (0 <= v <= Highest).
func index(v int64) int {
	u := uint64(v)
	b := bits.Len64(u) - subBits // how many doublings above the exact range
	if b <= 0 {
		return int(u)
	}
	return subCount + (b-1)*halfCount + int(u>>b) - halfCount
}

// lowest and highest are the smallest and largest values that land in slot i.
func lowest(i int) int64 {
	if i < subCount {
		return int64(i)
	}
	b := (i-subCount)/halfCount + 1
	sub := (i-subCount)%halfCount + halfCount
	return int64(sub) << b
}

func highest(i int) int64 {
	if i < subCount {
		return int64(i)
	}
	b := (i-subCount)/halfCount + 1
	return lowest(i) + 1<<b - 1
}

// Record counts one value. Negative values count as 0; values above Highest count as
// Highest and in Clamped.
func (h *Histogram) Record(v int64) { h.RecordN(v, 1) }

// RecordN counts n occurrences of v.
func (h *Histogram) RecordN(v int64, n uint64) {
	if n == 0 {
		return
	}
	if v < 0 {
		v = 0
	}
	if v > Highest {
		v = Highest
		h.clamped += n
	}
	h.counts[index(v)] += n
	h.total += n
	h.sum += float64(v) * float64(n)
	h.min = min(h.min, v)
	h.max = max(h.max, v)
}

// Merge adds o's counts to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
	h.sum += o.sum
	h.clamped += o.clamped
	if o.total > 0 {
		h.min = min(h.min, o.min)
		h.max = max(h.max, o.max)
	}
}

// Count is how many values were recorded.
func (h *Histogram) Count() uint64 { return h.total }

// Clamped is how many values were above Highest.
func (h *Histogram) Clamped() uint64 { return h.clamped }

// Min and Max are the exact smallest and largest values recorded (0 when empty).
func (h *Histogram) Min() int64 {
	if h.total == 0 {
		return 0
	}
	return h.min
}

// Max is the exact largest value recorded (0 when empty).
func (h *Histogram) Max() int64 { return h.max }

// Mean is the exact mean of the recorded values (0 when empty).
func (h *Histogram) Mean() float64 {
	if h.total == 0 {
		return 0
	}
	return h.sum / float64(h.total)
}

// Quantile returns the value at or below which a share q (0..1) of the recorded values
// lie: the highest value of the bucket holding the ceil(q*count)-th smallest value, capped
// at Max, so it never understates a latency by more than the bucket's width (under 0.1%).
// It is 0 for an empty histogram; q <= 0 gives Min and q >= 1 gives Max.
func (h *Histogram) Quantile(q float64) int64 {
	if h.total == 0 {
		return 0
	}
	if q <= 0 {
		return h.Min()
	}
	if q >= 1 {
		return h.max
	}
	rank := uint64(math.Ceil(q * float64(h.total)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(highest(i), h.max)
		}
	}
	return h.max
}

// Bucket is a range of values and how many were recorded in it.
type Bucket struct {
	Lo, Hi int64 // inclusive
	Count  uint64
}

// Buckets calls f for every non-empty slot, in increasing order of value.
func (h *Histogram) Buckets(f func(Bucket)) {
	for i, c := range h.counts {
		if c != 0 {
			f(Bucket{Lo: lowest(i), Hi: highest(i), Count: c})
		}
	}
}
