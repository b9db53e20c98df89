package antireplay

import (
	"errors"
	"fmt"
	"math/bits"
)

// DefaultSize is the window size a host uses when it is given none: R-RX-9 asks for at
// least 1024, and at that size one SA's bitmap is 32 blocks, 256 bytes.
const DefaultSize = 1024

// MaxSize bounds the window so that one SA's bitmap stays at most 256 KiB, and the jump
// that zeroes all of it stays a short memclr rather than a stall on the receive path.
const MaxSize = 1 << 20

// blockBits is the number of sequence numbers one bitmap block holds (RFC 6479 §2).
const blockBits = 64

// The verdicts of Check and Accept are fixed values, so that a dropped packet costs no
// allocation and callers can compare them with errors.Is (or ==).
var (
	// ErrReplay says the number is inside the window and was already accepted:
	// the packet is a duplicate (RFC 4303 §3.4.3).
	ErrReplay = errors.New("replay: duplicate sequence number")
	// ErrTooOld says the number is below the window (or is 0, which is never sent):
	// the receiver can no longer tell whether it was seen, so it must drop it.
	ErrTooOld = errors.New("replay: sequence number below the window")
	// ErrSize says New was given a window size outside 64..MaxSize; the error New
	// returns wraps it with the size given.
	ErrSize = errors.New("replay: window size out of range 64..1048576")
)

// Window is one inbound SA's anti-replay state. It is not safe for concurrent use: one
// SA's packets are handled by one goroutine, so a lock or atomics would only cost time.
type Window struct {
	top    uint64   // T: highest number accepted (or first-1 after Start), 0 before the first
	size   uint64   // W: the window size in numbers, a multiple of 64
	mask   uint64   // R-1, where R = len(blocks) is a power of two >= W/64+1
	esn    bool     // whether Infer restores the high half (RFC 4303 Appendix A)
	blocks []uint64 // the ring of bitmap blocks; number s is bit s&63 of blocks[(s>>6)&mask]
}

// New returns an empty window of size numbers, rounded up to a multiple of 64 because
// the bitmap is kept in whole 64-bit blocks; size must be 64..MaxSize. esn says whether
// the SA uses extended sequence numbers, which only Infer looks at. The bitmap is
// allocated here, once, so that no packet allocates.
func New(size int, esn bool) (*Window, error) {
	if size < blockBits || size > MaxSize {
		return nil, fmt.Errorf("%w: got %d", ErrSize, size)
	}
	n := (size + blockBits - 1) / blockBits // blocks the window needs
	// One block more than the window, so that the window's numbers never share a slot
	// even when they start in the middle of a block; then a power of two, for the mask.
	r := 1 << bits.Len(uint(n)) // the smallest power of two above n, i.e. >= n+1
	return &Window{
		size:   uint64(n * blockBits),
		mask:   uint64(r - 1),
		esn:    esn,
		blocks: make([]uint64, r),
	}, nil
}

// Size returns the window size W in sequence numbers, after rounding up to a multiple
// of 64, because that is the W that Check and Infer use.
func (w *Window) Size() int { return int(w.size) }

// ESN reports whether the window was made for extended sequence numbers, so that a
// caller can tell whether Infer restores a high half.
func (w *Window) ESN() bool { return w.esn }

// Top returns the highest sequence number accepted (T), or 0 before the first: it is the
// value a host compares with the NIC's high half and what Infer anchors on.
func (w *Window) Top() uint64 { return w.top }

// Start sets the window to begin at first, as for an SA that starts just below 2^32 or a
// host that learns the NIC's high half: Top becomes first-1 and nothing is marked, so
// first and the numbers above it are new, and the W numbers below first are accepted
// once (they may still be in flight). Start(0) is Start(1), since 0 is never sent.
func (w *Window) Start(first uint64) {
	if first == 0 {
		first = 1
	}
	w.top = first - 1
	clear(w.blocks)
}

// Check says whether a packet with this full sequence number would be accepted: nil,
// ErrReplay (seen inside the window) or ErrTooOld (below the window, or 0). It changes
// nothing, so it may be called for a packet whose ICV failed or is not yet verified.
func (w *Window) Check(seq uint64) error {
	if seq == 0 {
		return ErrTooOld
	}
	if seq > w.top {
		return nil
	}
	if w.top-seq >= w.size {
		return ErrTooOld
	}
	if w.blocks[(seq/blockBits)&w.mask]&(1<<(seq%blockBits)) != 0 {
		return ErrReplay
	}
	return nil
}

// Accept records seq as received. Call it only after the packet's ICV verified (R-RX-9,
// RFC 4303 §3.4.3): a forged packet must not move the window. For a packet that must
// be dropped it returns the error Check would and changes nothing. When seq is above
// Top the window advances, zeroing the blocks that scroll in.
func (w *Window) Accept(seq uint64) error {
	if err := w.Check(seq); err != nil {
		return err
	}
	if seq > w.top {
		w.advance(seq)
	}
	w.blocks[(seq/blockBits)&w.mask] |= 1 << (seq % blockBits)
	return nil
}

// advance moves Top up to seq. The blocks after Top's block up to seq's block are new to
// the window and hold stale bits from R blocks back, so their slots are zeroed; once
// the jump covers R blocks or more, every slot is stale and all are zeroed.
func (w *Window) advance(seq uint64) {
	from, to := w.top/blockBits, seq/blockBits
	if to-from > w.mask {
		clear(w.blocks)
	} else {
		for b := from + 1; b <= to; b++ {
			w.blocks[b&w.mask] = 0
		}
	}
	w.top = seq
}
