// Package ring links the stages of the ov2 packet pipeline: a bounded, lock-free queue
// with exactly one producer goroutine and exactly one consumer goroutine (SPSC), generic
// over the element so that the pipeline can pass *packet.Buffer values and the tests can
// pass plain integers.
//
// # Why bursts
//
// On the machines this pipeline runs on, handing one item from one goroutine to another
// costs about 45-55 ns, most of it the cache-line transfer of the shared index, while a
// burst of 32 costs about 4-12 ns per item because that transfer is paid once per burst.
// The API therefore moves slices: EnqueueBurst, EnqueueAll, DequeueBurst and DequeueAll
// copy as many items as they can in one go and publish them with a single index store.
//
// # Indices
//
// The ring holds a power-of-two number of slots. Two free-running uint64 counters say
// where each side stands: tail counts every item ever enqueued and is written only by the
// producer; head counts every item ever dequeued and is written only by the consumer. The
// slot of counter value i is i & (size-1). Because the counters never wrap back to the
// slot range, tail-head is always the number of items in the ring (0 means empty, size
// means full) and no slot has to stay unused to tell the two apart; a uint64 at one
// item per nanosecond would take centuries to overflow.
//
// Each counter sits on its own 64-byte cache line, padded with byte arrays, so the
// producer's stores to tail do not evict the line the consumer writes head on, and vice
// versa (false sharing would add a cache miss to every operation on both sides).
//
// # Cached indices
//
// Reading the other side's counter pulls its cache line across cores. To do that rarely,
// each side keeps a private copy of the other's counter (the producer's headCache and the
// consumer's tailCache, each on a line of its own) and trusts it until it says there is
// not enough room (producer) or not enough items (consumer) for the request at hand. The
// copy is always stale in the safe direction: the real head is never behind headCache,
// so the producer never overwrites a slot it believes free; the real tail is never
// behind tailCache, so the consumer never reads a slot it believes filled. Only when the
// copy is insufficient is the shared counter loaded again.
//
// # Memory ordering
//
// The algorithm needs acquire/release ordering: the producer's store of tail must make
// the slot writes before it visible to a consumer that loads that tail value (release on
// the store, acquire on the load), and the consumer's store of head must make its reads
// and clearing of the slots complete before the producer, having loaded that head value,
// reuses them. Go's sync/atomic offers no weaker orderings: every atomic operation in Go
// is sequentially consistent (the Go memory model, "synchronized before"), which is
// stronger than required. The price on amd64 is that an atomic store is an XCHG (a full
// fence) rather than a plain MOV; it is paid once per burst, which is another reason to
// move bursts. The parking protocol below does rely on the sequential consistency, and
// says where.
//
// # Waiting
//
// EnqueueWait and DequeueWait apply backpressure: a producer facing a full ring waits for
// room instead of dropping, and a consumer facing an empty ring waits for items. Each wait
// goes through three phases, with the counts in named constants:
//
//  1. spin: re-load the other side's counter spinChecks times. If the other side runs
//     on another core this is the cheapest wait, since the item usually arrives within
//     a few hundred nanoseconds.
//  2. yield: call runtime.Gosched up to yieldChecks times, re-checking after each. On a
//     VM whose second core has vanished, the other side may be waiting for this very P;
//     spinning would then burn the whole time slice. A pipeline that only spun collapsed
//     to about 0.2 Mpps in exactly that situation.
//  3. park: block on a channel until the other side signals progress, so that an idle
//     pipeline consumes no CPU at all.
//
// The park protocol is described with parkUntil in wait.go. In short, the waiter raises a
// "sleeping" flag and then re-checks the condition; the other side publishes its counter
// and then reads the flag. Because both pairs of operations are sequentially consistent,
// at least one of the two sides sees the other's write, so a wake-up is never lost.
//
// # Rules for callers
//
// Exactly one goroutine may call the producer methods (EnqueueBurst, EnqueueAll,
// EnqueueWait, Close) and exactly one goroutine the consumer methods (DequeueBurst,
// DequeueAll, DequeueWait); the two may be the same goroutine. Len, Cap and Stats may be
// called from anywhere. Two producers (or two consumers) would write the same private
// fields and slots without synchronization: that is a data race, and the race detector
// reports it.
package ring
