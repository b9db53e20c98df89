package esp

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding"
	"hash"
	"math/bits"
	"runtime"
	"sync/atomic"
	"unsafe"
)

// The HMAC suites need per-goroutine state that a Scratch does not hold: hash objects.
// crypto/sha1 and crypto/sha256 keep their state in heap objects behind hash.Hash, which are
// not safe for concurrent use, and a lane (a Scratch) serves many SAs. So the package keeps a
// small fixed pool of laneStates, each holding one unkeyed SHA-1 and one SHA-256 object, made
// on first use and then reused forever. An SA's key never lives in a laneState: Seal and Open
// restore the hash from the SA's precomputed inner or outer pad state (hmacKey) and Reset it
// before letting go, so any lane can serve any SA with no re-keying and nothing to wipe.
//
// A caller finds its slot by hashing the address of its Scratch (a lane's Scratch lives on
// the heap for the lane's life, and Go's collector does not move heap objects), so each lane
// keeps landing on the same slot, whose line stays in that core's cache: taking it is one
// uncontended compare-and-swap, giving it back one atomic store. Two lanes that hash to the
// same slot probe onwards to a free one; if every slot is busy (more goroutines inside Seal
// or Open at once than slots), the caller yields and tries again. The slot count is four per
// GOMAXPROCS at start-up, at least 16, so that in practice no lane ever waits.
//
// Why not a field in Scratch: Scratch is shared with the AES-GCM implementations and their
// owners; the pool keeps the HMAC suites self-contained at the price of the CAS pair, a few
// nanoseconds beside an HMAC's hundreds (see BenchmarkSealCBC). Moving laneState into Scratch
// later changes nothing else.

// laneState is the working memory of one HMAC computation.
type laneState struct {
	sha1, sha256   hash.Hash
	sha1u, sha256u encoding.BinaryUnmarshaler
	sum            [sha256.Size]byte // inner digest, then the full HMAC
	esn            [4]byte           // seq-high, appended to the MAC input under ESN
	ctr            [16]byte          // the IV generator's input block (must not be on the stack)
}

// hasher returns the lane's hash object for alg and its state restorer, making them the first
// time this lane needs that hash.
func (l *laneState) hasher(alg Integrity) (hash.Hash, encoding.BinaryUnmarshaler) {
	if alg == HMACSHA1_96 {
		if l.sha1 == nil {
			l.sha1 = sha1.New()
			l.sha1u = l.sha1.(encoding.BinaryUnmarshaler)
		}
		return l.sha1, l.sha1u
	}
	if l.sha256 == nil {
		l.sha256 = sha256.New()
		l.sha256u = l.sha256.(encoding.BinaryUnmarshaler)
	}
	return l.sha256, l.sha256u
}

// laneSlot is one pool entry on a cache line of its own, so that two lanes' flags never share
// a line.
type laneSlot struct {
	busy atomic.Bool // taken by CompareAndSwap(false, true), given back by Store(false)
	st   *laneState  // owned by whoever holds busy; made on first use of the slot
	idx  int         // the slot's index: per-SA state kept per slot (cbcModes) is indexed by it
	_    [64 - 24]byte
}

type lanePool struct {
	slots []laneSlot
	shift uint // 64 - log2(len(slots)), for the multiplicative hash
}

var lanes = newLanePool(runtime.GOMAXPROCS(0))

func newLanePool(procs int) *lanePool {
	n := max(16, 4*procs)
	n = 1 << bits.Len(uint(n-1)) // a power of two
	p := &lanePool{slots: make([]laneSlot, n), shift: uint(64 - bits.TrailingZeros(uint(n)))}
	for i := range p.slots {
		p.slots[i].idx = i
	}
	return p
}

// acquire takes a slot for the lane whose Scratch is s and returns it with its state made.
func (p *lanePool) acquire(s *Scratch) *laneSlot {
	// Fibonacci hashing of the address: the low bits of heap addresses are mostly the size
	// class's alignment, the multiply spreads the rest over the top bits.
	i := int((uint64(uintptr(unsafe.Pointer(s))) * 0x9E3779B97F4A7C15) >> p.shift)
	mask := len(p.slots) - 1
	for {
		for n := 0; n < len(p.slots); n++ {
			sl := &p.slots[(i+n)&mask]
			if !sl.busy.Load() && sl.busy.CompareAndSwap(false, true) {
				if sl.st == nil {
					sl.st = new(laneState)
				}
				return sl
			}
		}
		runtime.Gosched()
	}
}

// release gives a slot back. Its laneState holds no key material (hmacKey.finish reset the
// hash), so nothing needs clearing.
func (p *lanePool) release(sl *laneSlot) { sl.busy.Store(false) }
