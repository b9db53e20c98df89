package ring

import (
	"fmt"
	"sync/atomic"
)

// MaxSize is the largest slot count New accepts. 1<<24 slots of a pointer are 128 MiB;
// anything larger is a configuration mistake rather than a queue a pipeline stage needs.
const MaxSize = 1 << 24

// cacheLine is the padding unit. A full line of padding between two groups of fields
// guarantees they never share a line, whatever the alignment of the Ring allocation.
const cacheLine = 64

// pad separates fields written by different goroutines (see cacheLine).
type pad [cacheLine]byte

// Ring is a bounded lock-free queue for one producer goroutine and one consumer
// goroutine. Create it with New; the zero value is not usable. See the package comment
// for the design and for which goroutine may call which method.
type Ring[T any] struct {
	_ pad

	// Read-only after New: safe to share, so one line holds them all.
	buf  []T
	mask uint64
	// producerWake and consumerWake carry at most one pending wake-up each (capacity 1),
	// so that a waker never blocks.
	producerWake chan struct{}
	consumerWake chan struct{}

	_ pad

	// tail counts items ever enqueued. Written by the producer, read by the consumer.
	tail atomic.Uint64

	_ pad

	// Producer-private, except for the counters that Stats reads.
	headCache     uint64 // last head value the producer loaded
	closedLocal   bool   // producer's own record of Close, read without atomics
	producerWaits atomic.Uint64
	producerParks atomic.Uint64

	_ pad

	// head counts items ever dequeued. Written by the consumer, read by the producer.
	head atomic.Uint64

	_ pad

	// Consumer-private, except for the counters that Stats reads.
	tailCache     uint64 // last tail value the consumer loaded
	consumerPoll  int64  // ns the consumer keeps polling before it parks (SetConsumerPoll)
	consumerWaits atomic.Uint64
	consumerParks atomic.Uint64

	_ pad

	// Rarely written flags. producerSleeping is set by the producer before it parks and
	// cleared by whichever side gets there first; the consumer loads it after every burst.
	producerSleeping atomic.Bool

	_ pad

	// consumerSleeping is the consumer's mirror of producerSleeping. closed is set once by
	// Close and loaded by the consumer only when it found the ring empty, so it can share
	// this line.
	consumerSleeping atomic.Bool
	closed           atomic.Bool

	_ pad
}

// New returns an empty ring with size slots. The size must be a power of two, so that
// a slot index is a mask rather than a division, and between 2 and MaxSize.
func New[T any](size int) (*Ring[T], error) {
	if size < 2 || size > MaxSize || size&(size-1) != 0 {
		return nil, fmt.Errorf("ring: size %d is not a power of two between 2 and %d", size, MaxSize)
	}
	return &Ring[T]{
		buf:          make([]T, size),
		mask:         uint64(size - 1),
		producerWake: make(chan struct{}, 1),
		consumerWake: make(chan struct{}, 1),
	}, nil
}

// Cap returns the number of slots, the most items the ring can hold at once.
func (r *Ring[T]) Cap() int { return len(r.buf) }

// Len returns how many items the ring holds. Called from either side it is exact for
// that side's purposes (the other side can only make it more favourable); called from
// a third goroutine it is a snapshot that may be stale by the time it is used.
func (r *Ring[T]) Len() int {
	// head first: it can only grow towards tail, so loading tail afterwards can never
	// yield tail < head. Both loads pair with the Stores at the end of the burst methods.
	h := r.head.Load()
	t := r.tail.Load()
	n := t - h
	// Between the two loads the producer may have refilled slots freed after h was read;
	// the ring never holds more than Cap, so clamp the snapshot.
	if n > uint64(len(r.buf)) {
		n = uint64(len(r.buf))
	}
	return int(n)
}
