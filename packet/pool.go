package packet

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// Pool recycles Buffers of one data size so that the data path does not allocate per
// packet.
//
// It is built on sync.Pool holding *Buffer. That is acceptable for a packet path, although
// sync.Pool is a general cache, for three reasons: storing a pointer in the interface value
// does not allocate; Get and Put first try a per-P (per-processor) private slot and a
// per-P lock-free queue, so a lane that releases what it got touches no lock and no memory
// another core writes; and the garbage collector may drop idle buffers, which is what we
// want after a burst has passed. What sync.Pool does not give, a bound on the number of
// buffers, the rings' backpressure gives instead.
//
// The counters are atomic and each sits on its own cache line, so that a core that only
// Gets and another that only Puts do not bounce one line between them.
type Pool struct {
	dataSize int
	pool     sync.Pool

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
	p := &Pool{dataSize: dataSize}
	p.pool.New = func() any {
		p.news.Add(1)
		b := NewBuffer(p.dataSize)
		b.pool = p
		return b
	}
	return p
}

// DataSize is the data capacity of every buffer of the pool (Buffer.Cap).
func (p *Pool) DataSize() int { return p.dataSize }

// Get returns a buffer in the Reset state: an empty frame at the default headroom, zero OOB
// information.
func (p *Pool) Get() *Buffer {
	b := p.pool.Get().(*Buffer)
	// Put already reset the buffer; only the ownership mark changes here.
	b.inPool.Store(false)
	p.gets.Add(1)
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
	p.pool.Put(b)
}

// Stats returns the counters. Each is read atomically, but not all three at one instant,
// so under load Gets-Puts is approximate.
func (p *Pool) Stats() PoolStats {
	return PoolStats{Gets: p.gets.Load(), Puts: p.puts.Load(), News: p.news.Load()}
}
