package ring

import (
	"errors"
	"runtime"
	"sync/atomic"
	"time"
)

// ErrClosed is returned by DequeueWait once the producer has closed the ring and every
// item has been taken, and by EnqueueWait when called after Close.
var ErrClosed = errors.New("ring: closed")

// spinChecks is how many times a waiter re-loads the other side's counter before it
// starts yielding. With both sides on their own cores, the other side usually moves
// within this many loads (a few hundred nanoseconds), and spinning is the cheapest wait.
const spinChecks = 64

// yieldChecks is how many times a waiter calls runtime.Gosched, re-checking after each,
// before it parks. If the other side is runnable but has no core (GOMAXPROCS 1, or a VM
// whose second core has vanished), a yield lets it run at once, where spinning would
// burn the rest of the time slice.
const yieldChecks = 16

// EnqueueWait copies all of items into the ring, waiting for room as long as necessary;
// a full ring slows the producer down rather than losing items. It returns len(items)
// and nil, or, when called after Close, 0 and ErrClosed. Producer only.
//
// Items go in as room appears, so the consumer may start on the first of them before
// the last are in.
func (r *Ring[T]) EnqueueWait(items []T) (int, error) {
	if r.closedLocal {
		return 0, ErrClosed
	}
	done := 0
	for {
		done += r.EnqueueBurst(items[done:])
		if done == len(items) {
			return done, nil
		}
		r.producerWaits.Add(1)
		r.parkUntil(r.hasSpace, &r.producerSleeping, r.producerWake, &r.producerParks)
	}
}

// DequeueWait moves up to len(dst) items into dst, waiting until there is at least one,
// and returns how many it moved. Once the ring is closed and empty it returns 0 and
// ErrClosed, on this and every later call. An empty dst returns 0 and nil at once.
// Consumer only.
func (r *Ring[T]) DequeueWait(dst []T) (int, error) {
	if len(dst) == 0 {
		return 0, nil
	}
	for {
		if n := r.DequeueBurst(dst); n > 0 {
			return n, nil
		}
		// Load of closed: pairs with the Store in Close. That Store comes after the
		// producer's last Store of tail, so once closed reads true, the tail load in the
		// DequeueBurst below sees every item that will ever be enqueued.
		if r.closed.Load() {
			if n := r.DequeueBurst(dst); n > 0 {
				return n, nil
			}
			return 0, ErrClosed
		}
		r.consumerWaits.Add(1)
		if r.consumerPoll > 0 && r.pollUntil(r.hasItems, r.consumerPoll) {
			continue
		}
		r.parkUntil(r.hasItems, &r.consumerSleeping, r.consumerWake, &r.consumerParks)
	}
}

// SetConsumerPoll makes DequeueWait keep polling for up to d, yielding the processor
// between checks, before it parks: poll mode, for a consumer whose items come at short
// intervals. Parking costs nothing while idle, but the wake-up goes through the scheduler
// and, when the consumer's CPU has gone idle, through the operating system (tens of
// microseconds on a virtual machine); polling keeps the consumer running at the cost of
// its CPU time. 0 (the default) parks after the short spin. Consumer only, before use or
// between waits.
func (r *Ring[T]) SetConsumerPoll(d time.Duration) { r.consumerPoll = int64(d) }

// pollUntil checks ready for up to d nanoseconds, yielding between checks, and reports
// whether it became true.
func (r *Ring[T]) pollUntil(ready func() bool, d int64) bool {
	start := time.Now()
	for i := 0; ; i++ {
		for range spinChecks {
			if ready() {
				return true
			}
		}
		runtime.Gosched()
		if int64(time.Since(start)) >= d {
			return ready()
		}
	}
}

// Close tells the consumer that no more items will come. The consumer still receives
// every item already enqueued; after those, DequeueWait reports ErrClosed. Later
// enqueues are refused. Calling Close again has no further effect. Producer only.
func (r *Ring[T]) Close() {
	r.closedLocal = true
	// seq-cst store: ordered after every Store of tail in publish; pairs with the Loads
	// of closed in DequeueWait and hasItems. Also the first half of the Dekker pattern
	// with consumerSleeping (see parkUntil).
	r.closed.Store(true)
	r.wakeConsumer()
}

// hasSpace reports whether the producer can enqueue at least one item, refreshing
// headCache on the way. Producer only.
func (r *Ring[T]) hasSpace() bool {
	// acquire: pairs with the Store of head in consume; see free.
	r.headCache = r.head.Load()
	// Load of the producer's own counter (written only by publish).
	return r.tail.Load()-r.headCache < uint64(len(r.buf))
}

// hasItems reports whether the consumer has an item to take or the ring is closed,
// refreshing tailCache on the way. Consumer only.
func (r *Ring[T]) hasItems() bool {
	// acquire: pairs with the Store of tail in publish; see available.
	r.tailCache = r.tail.Load()
	// Load of the consumer's own counter (written only by consume).
	if r.tailCache != r.head.Load() {
		return true
	}
	// Pairs with the Store of closed in Close.
	return r.closed.Load()
}

// parkUntil waits, by spinning, then yielding, then parking, until ready reports true.
// It is called by one side with its own flag, channel and park counter.
//
// The park protocol, written for the consumer (the producer's is the mirror image, with
// head for tail and consumerSleeping for producerSleeping):
//
//	consumer (waiter)                      producer (waker), in publish or Close
//	W1 consumerSleeping.Store(true)        P1 tail.Store(t+n)  or closed.Store(true)
//	W2 re-check: tail.Load(), closed.Load  P2 consumerSleeping.Load()
//	W3 if ready: Store(false) and return   P3 if true: CompareAndSwap(true, false) and,
//	W4 else block on consumerWake             on success, a non-blocking send on
//	                                          consumerWake
//
// Go's atomics are sequentially consistent, so W1, W2, P1 and P2 fall into one total
// order. If P2 reads false, it came before W1, hence P1 came before W2, and the re-check
// sees the new tail: the waiter does not block. If P2 reads true, the waker sends a token
// that the waiter's W4 will receive. Either way no wake-up is lost. (With only acquire/
// release this Dekker pattern would be broken: W2 could be satisfied before W1 became
// visible, and both sides could miss each other.)
//
// The channel has capacity 1, so the waker never blocks. A token can go stale: the waker
// sends it after the waiter's re-check has already succeeded. The next park then returns
// at once, the loop re-checks, and parks again; a spurious wake-up costs one loop, never
// correctness. The CompareAndSwap makes only one waker per parking send a token, so a
// stream of bursts does not hammer the channel.
func (r *Ring[T]) parkUntil(ready func() bool, sleeping *atomic.Bool, wake chan struct{}, parks *atomic.Uint64) {
	for range spinChecks {
		if ready() {
			return
		}
	}
	for range yieldChecks {
		runtime.Gosched()
		if ready() {
			return
		}
	}
	for {
		// W1: seq-cst; pairs with the Load of the flag in wakeProducer/wakeConsumer (P2).
		sleeping.Store(true)
		// W2.
		if ready() {
			// W3: no need to be woken. Pairs with nothing in particular: if a waker has
			// already claimed the flag, its token is harmless (see above).
			sleeping.Store(false)
			return
		}
		parks.Add(1)
		<-wake // W4
		if ready() {
			return
		}
	}
}

// wakeProducer is P2/P3 of parkUntil's protocol for a producer that may be parked,
// called by the consumer right after it stored head. It is small so that it inlines
// into consume and costs one load of a line that is rarely written.
func (r *Ring[T]) wakeProducer() {
	// P2: seq-cst load after the Store of head; pairs with W1 in the producer's parkUntil.
	if r.producerSleeping.Load() {
		signal(&r.producerSleeping, r.producerWake)
	}
}

// wakeConsumer is wakeProducer's mirror, called by the producer right after it stored
// tail or closed.
func (r *Ring[T]) wakeConsumer() {
	// P2: seq-cst load after the Store of tail or closed; pairs with W1 in the consumer's
	// parkUntil.
	if r.consumerSleeping.Load() {
		signal(&r.consumerSleeping, r.consumerWake)
	}
}

// signal is P3: claim the sleeper's flag and leave it a token.
func signal(sleeping *atomic.Bool, wake chan struct{}) {
	// Only the caller that flips true to false sends, so each park gets one token.
	// Pairs with W1 (which set it) and W3 (which may clear it first).
	if sleeping.CompareAndSwap(true, false) {
		select {
		case wake <- struct{}{}:
		default:
			// A stale token is already there; it will wake the waiter just as well.
		}
	}
}
