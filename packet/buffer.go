package packet

import (
	"errors"
	"fmt"
	"sync/atomic"
)

// Sizes of a buffer's regions. The layout is drawn in the package documentation.
const (
	// DefaultHeadroom is the free space kept in front of a fresh frame. 128 bytes hold the
	// largest front growth the data path makes to one packet: an outer IPv6 header (40),
	// a UDP-ESP header (8), an ESP header with IV (16) and AH with a 16-byte ICV (28), with
	// room to spare for a VLAN tag and alignment.
	DefaultHeadroom = 128

	// DefaultTailroom is the free space kept behind a buffer's data capacity: up to 3 bytes
	// of RFC 4303 padding plus pad length and next header, an ICV of up to 16 bytes, scratch
	// for a GCM tag, and room for an implementation that always writes a 16-byte tag even
	// when the SA truncates the ICV to 8 bytes. 256 leaves slack for block-cipher padding
	// (AES-CBC pads up to 15 bytes) without a second size.
	DefaultTailroom = 256

	// SmallSize is the data capacity of a small buffer: one 1500-byte MTU frame with its
	// Ethernet header and ESP overhead, rounded up to a power of two.
	SmallSize = 2048

	// LargeSize is the data capacity of a large buffer: an LSO super-packet (an IP datagram
	// of up to 64 KiB) plus the headers in front of it.
	LargeSize = 65536 + 1024

	// CarryRoom is how many bytes of headroom, right in front of the frame, a large send
	// hands on to each of its segments (CarryFront): room for what a host keeps there for
	// itself, such as the link-layer header host.StashLink puts in front of a packet.
	CarryRoom = 65
)

// ErrTooBig is returned (wrapped, with the sizes) when data does not fit in a buffer's data
// capacity. It is an error rather than a panic because the size comes from outside (a pcap,
// a peer), not from the program.
var ErrTooBig = errors.New("packet: data larger than the buffer's capacity")

// Buffer is one packet: a frame inside a backing array with headroom and tailroom, and its
// send and receive OOB information. See the package documentation for the layout.
//
// Its fields are laid out by who writes them, on four 64-byte cache lines (a Buffer is
// 256 bytes, a size class whose objects start on a line), so that the cores a packet
// passes through do not write into each other's lines, and a buffer shares no line with
// the next one in memory (the data path has several in flight on different cores):
//
//	line 0  backing, head, tail; Tx up to Status    the host: the frame and its request
//	line 1  Tx.Status, Tx.Reason, Rx                the NIC: its verdicts, which the host reads
//	line 2  Meta                                    the NIC: its scratch, which no host reads
//	line 3  Stamp, Cookie, the pool's fields        the host: Submit, its cookie, Get/Put
//
// The verdicts and the scratch are apart so that the line the host reads on every
// completion is one the NIC need not write on every packet: the send path writes Status
// and Reason only when they change (a failure, or a buffer coming back with a stale one),
// so on a packet that seals the host's copy of line 1 stays valid and the lane's first
// store to the packet (Meta, line 2) does not wait for that line to come back from the
// host's core. With the two on one line, every send paid that round trip at its first
// store, and because stores leave a core in order every later store waited behind it: on
// 2 vCPUs (AMD EPYC, 64 B AES-GCM, one lane) the lane spent 23-26% of its samples at the
// first read of Meta, and 50% in runs where the two vCPUs were far apart.
//
// TestBufferLayout checks it.
//
// A Buffer must not be copied: its identity is what the pool tracks.
type Buffer struct {
	backing []byte // never reallocated: its address is what makes the buffer reusable
	head    int32  // start of the frame in backing
	tail    int32  // end of the frame in backing

	// Tx is the send OOB information; the host fills it, the NIC sets Status and Reason.
	Tx TxInfo
	// Rx is the receive OOB information; the NIC fills it before indicating the packet.
	Rx RxInfo
	_  [lineSize - txVerdictSize - rxInfoSize]byte

	// Meta is the NIC's scratch between its stages; hosts ignore it.
	Meta Meta
	_    [lineSize - metaSize]byte

	// Stamp is when the packet entered the NIC (Submit), in nanoseconds on the clock of
	// packet.Now; completion minus Stamp is the packet's latency through the NIC.
	Stamp int64
	// Cookie belongs to the host: the NIC never reads or changes it, so a host can carry
	// its own per-packet reference (an index into a table of link headers, say) through
	// the NIC. Reset clears it.
	Cookie uint64

	pool   *Pool // where Release returns the buffer; nil for NewBuffer
	inPool atomic.Bool
	_      [lineSize - 28]byte
}

// maxDataSize is the largest data capacity of a buffer: head and tail are 32-bit.
const maxDataSize = 1<<30 - DefaultHeadroom - DefaultTailroom

// lineSize is the cache line the layout of Buffer is planned for; txVerdictSize is the part
// of TxInfo on line 1 (Status, Reason and TxInfo's trailing padding), rxInfoSize the size of
// RxInfo, which follows it there, and metaSize the size of Meta, which has line 2 to itself.
const (
	lineSize      = 64
	txVerdictSize = 8
	rxInfoSize    = 24
	metaSize      = 56
)

// NewBuffer makes a buffer that belongs to no pool, with room for dataSize bytes of data
// plus the default headroom and tailroom. It is for tests and one-off packets; the data
// path takes buffers from a Pool so that it does not allocate.
func NewBuffer(dataSize int) *Buffer {
	if dataSize < 0 {
		panic(fmt.Sprintf("packet: NewBuffer(%d): negative size", dataSize))
	}
	if dataSize > maxDataSize {
		panic(fmt.Sprintf("packet: NewBuffer(%d): larger than the most a buffer holds, %d", dataSize, maxDataSize))
	}
	b := &Buffer{backing: make([]byte, DefaultHeadroom+dataSize+DefaultTailroom)}
	b.Reset()
	return b
}

// CarryFront copies into b's headroom, right in front of its frame, the bytes right in
// front of src's frame: CarryRoom of them, or as many as both headrooms have. The NIC's
// segmenter uses it so that each segment of a large send carries what the host kept in
// front of the large send (its link-layer header, say). It does not allocate.
func (b *Buffer) CarryFront(src *Buffer) {
	n := min(CarryRoom, int(src.head), int(b.head))
	copy(b.backing[int(b.head)-n:b.head], src.backing[int(src.head)-n:src.head])
}

// Bytes returns the frame. The slice aliases the buffer, and its capacity reaches the end of
// the backing array so that an in-place transform can append into the tailroom; call SetLen
// afterwards to make the growth part of the frame.
func (b *Buffer) Bytes() []byte { return b.backing[b.head:b.tail] }

// Len is the length of the frame.
func (b *Buffer) Len() int { return int(b.tail - b.head) }

// Headroom is how many bytes Prepend can still add.
func (b *Buffer) Headroom() int { return int(b.head) }

// Tailroom is how many bytes Append can still add.
func (b *Buffer) Tailroom() int { return len(b.backing) - int(b.tail) }

// Cap is the data capacity: the longest frame SetData accepts. It excludes the default
// headroom and tailroom, which stay free for the headers and trailers ESP adds.
func (b *Buffer) Cap() int { return len(b.backing) - DefaultHeadroom - DefaultTailroom }

// Prepend grows the frame at the front by n bytes and returns them (their contents are
// whatever the backing array held; the slice's capacity is n, so appending to it cannot
// spill into the frame). It panics if n is negative or more than Headroom(): the
// caller computes n from its own header sizes, so running out is a programming error, like
// a slice index out of range, not a property of the packet.
func (b *Buffer) Prepend(n int) []byte {
	if uint(n) > uint(b.head) {
		b.outOfRange(opPrepend, n)
	}
	b.head -= int32(n)
	h := int(b.head)
	return b.backing[h : h+n : h+n]
}

// Append grows the frame at the back by n bytes and returns them, with capacity n like
// Prepend. It panics if n is negative or more than Tailroom(), for the same reason as
// Prepend.
func (b *Buffer) Append(n int) []byte {
	t := int(b.tail)
	if uint(n) > uint(len(b.backing)-t) {
		b.outOfRange(opAppend, n)
	}
	b.tail = int32(t + n)
	return b.backing[t : t+n : t+n]
}

// TrimFront removes n bytes from the front of the frame, giving them back to the headroom
// (stripping an outer header on receive). It panics if n is negative or more than Len().
func (b *Buffer) TrimFront(n int) {
	if uint(n) > uint(b.tail-b.head) {
		b.outOfRange(opTrimFront, n)
	}
	b.head += int32(n)
}

// TrimBack removes n bytes from the back of the frame, giving them back to the tailroom
// (dropping the ICV and trailer after decryption). It panics if n is negative or more than
// Len().
func (b *Buffer) TrimBack(n int) {
	if uint(n) > uint(b.tail-b.head) {
		b.outOfRange(opTrimBack, n)
	}
	b.tail -= int32(n)
}

// SetLen makes the frame the first n bytes from its current start. It is how a transform
// that wrote through Bytes() into the tailroom publishes the new length. It panics if n is
// negative or more than Len()+Tailroom().
func (b *Buffer) SetLen(n int) {
	if uint(n) > uint(len(b.backing)-int(b.head)) {
		b.outOfRange(opSetLen, n)
	}
	b.tail = b.head + int32(n)
}

// Reset empties the frame at the default headroom and zeroes the OOB information, giving
// the state of a buffer fresh from a pool. The backing bytes are not cleared: every user
// writes before it reads, and clearing 2 KiB per packet would cost more than the crypto of
// a small packet. Nor is Meta, the NIC's scratch: the first stage of each path (and the LSO
// stage, for a segment) writes all of it before any stage reads it, and a store here would
// put its line in the host's cache, from where the lane's first store would have to take it
// back (see the layout above).
func (b *Buffer) Reset() {
	b.Tx = TxInfo{}
	b.Rx = RxInfo{}
	b.Stamp, b.Cookie = 0, 0
	b.head = int32(min(DefaultHeadroom, len(b.backing)))
	b.tail = b.head
}

// SetData resets the buffer and copies p in as the frame. It returns an error wrapping
// ErrTooBig, and leaves the buffer reset and empty, if p is longer than Cap().
func (b *Buffer) SetData(p []byte) error {
	b.Reset()
	if len(p) > b.Cap() {
		return fmt.Errorf("%w: %d bytes, capacity %d", ErrTooBig, len(p), b.Cap())
	}
	b.tail = b.head + int32(copy(b.backing[b.head:], p))
	return nil
}

// Release hands the buffer back to its pool; the caller must not use it afterwards. The
// OOB information is cleared first, the habit wireguard-go keeps of clearing on return, so
// that a handle or status cannot leak into the next packet that gets this buffer. A buffer
// made by NewBuffer has no pool: Release only resets it. Releasing a pooled buffer twice
// panics (see Pool.Put).
func (b *Buffer) Release() {
	if b.pool == nil {
		b.Reset()
		return
	}
	b.pool.Put(b)
}

// The operations whose bounds outOfRange reports.
const (
	opPrepend = iota
	opAppend
	opTrimFront
	opTrimBack
	opSetLen
)

// outOfRange panics for a bounds violation. It is out of line and takes few arguments so
// that the checks stay cheap for their callers (TrimFront, TrimBack and SetLen inline);
// it reads the room from b itself, which still holds the state before the failed call.
//
//go:noinline
func (b *Buffer) outOfRange(op, n int) {
	var name, what string
	var room int
	switch op {
	case opPrepend:
		name, what, room = "Prepend", "headroom", b.Headroom()
	case opAppend:
		name, what, room = "Append", "tailroom", b.Tailroom()
	case opTrimFront:
		name, what, room = "TrimFront", "length", b.Len()
	case opTrimBack:
		name, what, room = "TrimBack", "length", b.Len()
	default:
		name, what, room = "SetLen", "length+tailroom", b.Len()+b.Tailroom()
	}
	panic(fmt.Sprintf("packet: %s(%d) out of range: %s is %d", name, n, what, room))
}
