package packet

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// Pool recycles Buffers of one data size so that the data path does not allocate per
// packet.
//
// It is a last-in, first-out stack of free buffers behind a mutex: Get pops the buffer
// released last (whose bytes are most likely still in a cache), or makes a new one when the
// stack is empty; Put pushes. The stack's slice grows only when the pool holds more buffers
// than ever before, which is when a new buffer was made anyway, so a steady state allocates
// nothing at all. The pool keeps every buffer it made: its size is the largest number in use
// at once, which the rings' backpressure bounds.
//
// It is not a sync.Pool, for two reasons measured in ov2 bench: sync.Pool allocates inside
// Put while it grows a per-processor queue (a new, larger queue each time buffers released
// on one processor outnumber the old one's room, as when the lane that takes buffers and
// the goroutine that releases them run on different processors), which showed as 1 to 2
// allocations per million packets for LSO segments; and every garbage collection empties
// it, after which the next packets allocate again. The price, from BenchmarkPoolGetRelease
// and BenchmarkPoolCrossGoroutine on 2 cores: a Get and a Release on one goroutine take
// 47 ns against sync.Pool's 29, and with the releases on another goroutine 54-58 ns per
// buffer against 53-54; small beside the hundreds of nanoseconds a packet costs.
//
// The counters are atomic and each sits on its own cache line, so that a core that only
// Gets and another that only Puts do not bounce one line between them.
type Pool struct {
	dataSize int

	mu   sync.Mutex
	free []*Buffer

	_    [64]byte
	gets atomic.Uint64
	_    [56]byte
	puts atomic.Uint64
	_    [56]byte
	news atomic.Uint64
	_    [56]byte
}

// PoolStats is a snapshot of a Pool's counters. Gets-Puts is the number of buffers in use;
// News tells how many backing arrays were allocated, which stays flat in a steady state.
type PoolStats struct {
	Gets uint64 // buffers handed out by Get
	Puts uint64 // buffers returned by Put or Release
	News uint64 // buffers created because the pool was empty
}

// NewPool makes a pool of buffers with room for dataSize bytes of data each, plus
// DefaultHeadroom and DefaultTailroom. It panics on a negative size, a programming error.
func NewPool(dataSize int) *Pool {
	if dataSize < 0 {
		panic(fmt.Sprintf("packet: NewPool(%d): negative size", dataSize))
	}
	return &Pool{dataSize: dataSize}
}

// DataSize is the data capacity of every buffer of the pool (Buffer.Cap).
func (p *Pool) DataSize() int { return p.dataSize }

// Get returns a buffer in the Reset state: an empty frame at the default headroom, zero OOB
// information.
func (p *Pool) Get() *Buffer {
	p.gets.Add(1)
	p.mu.Lock()
	if n := len(p.free); n > 0 {
		b := p.free[n-1]
		p.free[n-1] = nil
		p.free = p.free[:n-1]
		p.mu.Unlock()
		// Put already reset the buffer; only the ownership mark changes here.
		b.inPool.Store(false)
		return b
	}
	p.mu.Unlock()
	p.news.Add(1)
	b := NewBuffer(p.dataSize)
	b.pool = p
	return b
}

// Put returns b to the pool; it is what Buffer.Release calls. It panics if b is already in
// the pool (a double release) or belongs to another pool: either would let two packets
// share one backing array later, a corruption far harder to trace than this panic. A
// release twice with a Get in between cannot be told from a correct one and is not caught.
func (p *Pool) Put(b *Buffer) {
	if b.pool != p {
		panic("packet: Put of a buffer that does not belong to this pool")
	}
	if !b.inPool.CompareAndSwap(false, true) {
		panic("packet: buffer released twice (double Put); it would later be shared by two packets")
	}
	b.Reset()
	p.puts.Add(1)
	p.mu.Lock()
	p.free = append(p.free, b)
	p.mu.Unlock()
}

// Reserve makes sure the pool holds at least n free buffers, making new ones as needed, and
// has room to take back n buffers without growing, so that a run that never has more than n
// in use at once allocates nothing from its start, and not only once its peak has passed.
func (p *Pool) Reserve(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if cap(p.free) < n {
		p.free = append(make([]*Buffer, 0, n), p.free...)
	}
	for len(p.free) < n {
		b := NewBuffer(p.dataSize)
		b.pool = p
		b.inPool.Store(true)
		p.news.Add(1)
		p.free = append(p.free, b)
	}
}

// Stats returns the counters. Each is read atomically, but not all three at one instant,
// so under load Gets-Puts is approximate.
func (p *Pool) Stats() PoolStats {
	return PoolStats{Gets: p.gets.Load(), Puts: p.puts.Load(), News: p.news.Load()}
}

// GetBurst fills dst with buffers, as len(dst) calls of Get would, taking the pool's lock
// once: for a goroutine that takes buffers one by one at a high rate and keeps a few at
// hand, so that it does not pay a lock and the counters' atomic operations per packet.
func (p *Pool) GetBurst(dst []*Buffer) {
	if len(dst) == 0 {
		return
	}
	p.gets.Add(uint64(len(dst)))
	p.mu.Lock()
	k := min(len(dst), len(p.free))
	n := len(p.free)
	copy(dst, p.free[n-k:])
	clear(p.free[n-k:])
	p.free = p.free[:n-k]
	p.mu.Unlock()
	for _, b := range dst[:k] {
		b.inPool.Store(false)
	}
	for i := k; i < len(dst); i++ {
		p.news.Add(1)
		b := NewBuffer(p.dataSize)
		b.pool = p
		dst[i] = b
	}
}

// ReleaseBurst releases every buffer of bs, as Buffer.Release does each, taking a pool's
// lock once for each run of buffers of that pool. It panics as Put does on a double
// release or a buffer that is in its pool.
func ReleaseBurst(bs []*Buffer) {
	for len(bs) > 0 {
		p := bs[0].pool
		n := 1
		for n < len(bs) && bs[n].pool == p {
			n++
		}
		run := bs[:n]
		bs = bs[n:]
		if p == nil {
			for _, b := range run {
				b.Reset()
			}
			continue
		}
		for _, b := range run {
			if !b.inPool.CompareAndSwap(false, true) {
				panic("packet: buffer released twice (double Put); it would later be shared by two packets")
			}
			b.Reset()
		}
		p.puts.Add(uint64(n))
		p.mu.Lock()
		p.free = append(p.free, run...)
		p.mu.Unlock()
	}
}
