package fastpath

import (
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/ov2dev/ov2/host"
	"github.com/ov2dev/ov2/internal/rxparse"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/sa"
	"github.com/ov2dev/ov2/stage"
)

// rxBurst is how many packets Unprotect gathers before it hands them to the NIC.
const rxBurst = 32

// Queue is one queue of a Path: its own send and receive path and host. Its entry points
// may be called from any goroutine; calls in one direction are serialized.
type Queue struct {
	p   *Path
	idx int

	// Send side: txMu serializes the host Sender (Protect, Flush, Reload's changes). It
	// sits on a cache line of its own with what only the submitting goroutine touches, so
	// that the completion goroutines' writes nearby do not slow its lock and unlock.
	_    [64]byte
	txMu sync.Mutex
	send *stage.SendPath
	snd  *host.Sender
	_    [64]byte

	// Receive side: rxMu serializes submitting (Unprotect, UnprotectBuffer); hostMu the
	// host Receiver (the receive goroutine, Reload's changes, Stats).
	rxMu     sync.Mutex
	recv     *stage.RecvPath
	rxBatch  []*packet.Buffer
	rxClosed bool
	small    *packet.Pool
	large    *packet.Pool
	hostMu   sync.Mutex
	rcv      *host.Receiver
	recvDone chan struct{}
	inl      *completer // Turn's (Config.Inline)

	// Counted by the completion goroutines (see Stats).
	_           [64]byte
	unprotected counters      // delivered by the host (inner packets)
	txDone      atomic.Uint64 // Protect packets whose callback has returned (a large send once)
	lanes       []laneStat    // per send lane
	rx          rxStat
}

// Index is the queue's number.
func (q *Queue) Index() int { return q.idx }

// Outcome tells what Protect did with a packet.
type Outcome struct {
	// Sealed says an outbound SA matched: the packet is being sealed with it. Without an
	// error and not Sealed, the packet crosses the NIC in clear.
	Sealed bool
	// SPI is the matching SA's, when one matched (also with ErrMTU and ErrWrongQueue).
	SPI uint32
	// Queue is the queue the matching SA belongs to (with ErrWrongQueue).
	Queue int
	// Tunnel says the matching SA is a tunnel-mode SA.
	Tunnel bool
	// Fits is, with ErrMTU (and from Match), the length of the longest IP packet with the
	// same IP header length that fits Config.MTU once sealed: what an ICMP "fragmentation needed" or
	// ICMPv6 "packet too big" says to the sender.
	Fits int
	// Sealed length, with ErrMTU.
	SealedLen int
}

// Protect hands an IP packet to the NIC's send path: frame is linkLen bytes of link-layer
// header (kept and given back with the result; 0 for none) followed by the IP packet. If an
// outbound SA's selector (or, in transport mode, its src/dst) matches, the host frames the
// packet as ESP for it and the NIC seals it; otherwise it goes through the NIC in clear.
// The bytes are copied: frame may be reused when Protect returns. The packet is queued;
// Flush (or a full burst) hands it to the NIC, and it comes back in a Protected Burst.
//
// Errors (nothing is queued): ErrWrongQueue; ErrMTU (with Outcome.Fits); the host's
// host.ErrNotIP, host.ErrTooBig, host.ErrSeqExhausted, host.ErrOffloadDisabled,
// host.ErrUnsupported, wrapped; ErrClosed. Protect does not allocate, except to build an
// error of the host's.
func (q *Queue) Protect(frame []byte, linkLen int, cookie uint64) (Outcome, error) {
	return q.protect(frame, linkLen, 0, cookie, nil)
}

// ProtectLarge is Protect for a TCP packet larger than mss bytes of payload: one LSO +
// IPsec large send (R-TX-6) that the NIC cuts into segments of mss bytes, each sealed with
// its own sequence number; they come back one by one, each with the link header (and the
// cookie) of the large send. The MTU is not checked: mss is the caller's choice.
//
// On an inline path (Config.Inline) ProtectLarge runs the queue itself: it hands what is
// queued to the NIC and turns the queue until it is empty, queues the large send, and turns
// the queue again, so its segments (and the callbacks on them) are done when it returns and
// never outgrow the rings between two turns. There a large send may be cut into at most
// MaxInlineSegments segments. It must not be called from a callback.
func (q *Queue) ProtectLarge(frame []byte, linkLen, mss int, cookie uint64) (Outcome, error) {
	if err := q.checkLarge(frame, linkLen, mss); err != nil {
		return Outcome{}, err
	}
	return q.protect(frame, linkLen, mss, cookie, nil)
}

// MaxInlineSegments is the most segments a large send on an inline path may be cut into:
// half of a ring, so that the segments of one large send always fit in the lane's rings
// (they are emptied before it is queued).
const MaxInlineSegments = 512

// checkLarge refuses a large send the queue cannot make.
func (q *Queue) checkLarge(frame []byte, linkLen, mss int) error {
	if mss < 1 || mss > packet.MaxMSS {
		return fmt.Errorf("%w: MSS %d", host.ErrUnsupported, mss)
	}
	// The IP packet's length bounds its TCP payload.
	if n := (len(frame) - linkLen + mss - 1) / mss; q.p.cfg.Inline && n > MaxInlineSegments {
		return fmt.Errorf("%w: a large send of %d bytes in segments of %d bytes: up to %d segments, more than the %d an inline path takes",
			host.ErrUnsupported, len(frame)-linkLen, mss, n, MaxInlineSegments)
	}
	return nil
}

// holdMax is how many packets a Sending frames under one hold of the send lock.
const holdMax = 32

// Sending is one goroutine's run of Protect calls on a queue that takes the queue's send
// lock once for up to 32 packets instead of once for each: the lock's acquire and release
// are each a locked instruction, which after a packet's bytes were just copied waits for
// those stores to drain. Its Protect and ProtectLarge are the Queue's. While it holds the
// lock, the queue's other senders, Flush, Reload, Stats and Stop wait: call Release before
// anything that takes long (reading a slow input, a pacing wait) or that needs the queue's
// send side (Flush). A Sending is for one goroutine; its zero value is not usable.
type Sending struct {
	q    *Queue
	held bool
	n    int // packets framed under this hold
}

// Sending returns a Sending on the queue, not holding the lock.
func (q *Queue) Sending() *Sending { return &Sending{q: q} }

// Protect is Queue.Protect, under the Sending's hold.
func (s *Sending) Protect(frame []byte, linkLen int, cookie uint64) (Outcome, error) {
	return s.q.protect(frame, linkLen, 0, cookie, s)
}

// ProtectLarge is Queue.ProtectLarge, under the Sending's hold.
func (s *Sending) ProtectLarge(frame []byte, linkLen, mss int, cookie uint64) (Outcome, error) {
	if err := s.q.checkLarge(frame, linkLen, mss); err != nil {
		return Outcome{}, err
	}
	return s.q.protect(frame, linkLen, mss, cookie, s)
}

// Release lets go of the send lock, if held.
func (s *Sending) Release() {
	if s.held {
		s.held, s.n = false, 0
		s.q.txMu.Unlock()
	}
}

func (s *Sending) lock() {
	if !s.held {
		s.q.txMu.Lock()
		s.held = true
	}
}

// lockTx takes the send lock for protect: for s, unless s holds it.
func (q *Queue) lockTx(s *Sending) {
	if s == nil {
		q.txMu.Lock()
	} else {
		s.lock()
	}
}

// unlockTx lets go of the send lock after a protect: s keeps it for up to holdMax packets.
func (q *Queue) unlockTx(s *Sending) {
	if s == nil {
		q.txMu.Unlock()
		return
	}
	if s.n++; s.n >= holdMax {
		s.Release()
	}
}

// releaseTx lets go of the send lock, whoever holds it for protect.
func (q *Queue) releaseTx(s *Sending) {
	if s == nil {
		q.txMu.Unlock()
	} else {
		s.Release()
	}
}

func (q *Queue) protect(frame []byte, linkLen, mss int, cookie uint64, hold *Sending) (Outcome, error) {
	if err := q.p.checkLink(linkLen, len(frame)); err != nil {
		return Outcome{}, err
	}
	ip, link := frame[linkLen:], frame[:linkLen]
	if !q.p.cfg.LinkHeaders {
		link = nil
	}
	var out Outcome
	var rule *outRule
	pol := q.p.pol.Load()
	src, dst, hdr, ok := addrs(ip)
	if ok {
		rule = pol.match(src, dst)
	}
	if rule == nil && q.p.cfg.Bridge {
		return Outcome{}, ErrNoSA
	}
	if rule != nil {
		out = Outcome{Sealed: true, SPI: rule.cfg.SPI, Queue: rule.queue, Tunnel: rule.tunnel}
		if rule.queue != q.idx {
			return out, ErrWrongQueue
		}
		if mtu := int(q.p.mtu.Load()); mtu > 0 && mss == 0 {
			if n := rule.sealed(len(ip), hdr); n > mtu {
				out.SealedLen, out.Fits = n, rule.fits(mtu, hdr)
				return out, ErrMTU
			}
		}
	}
	q.lockTx(hold)
	if q.p.stopped.Load() {
		q.releaseTx(hold)
		return Outcome{}, ErrClosed
	}
	if q.p.pol.Load() != pol { // a Reload came between: decide again under the lock
		q.releaseTx(hold)
		return q.protect(frame, linkLen, mss, cookie, hold)
	}
	h := q.handleOf(rule)
	inline := mss > 0 && q.p.cfg.Inline
	if inline {
		// Empty the queue, so that the segments have the rings to themselves.
		q.snd.Flush()
		q.turn()
	}
	err := q.snd.SendVia(h, ip, link, mss, cookie)
	if err == nil && rule != nil {
		n, bytes := segments(ip, hdr, mss)
		rule.in.Packets += n
		rule.in.Bytes += bytes
	}
	if inline && err == nil {
		q.snd.Flush()
		q.turn()
	}
	q.unlockTx(hold)
	if err != nil {
		return Outcome{}, err
	}
	return out, nil
}

// segments is how many packets, and of how many bytes in all, a packet Protect took becomes:
// itself, or for a large send (mss > 0; the host checked that it is TCP with a payload) its
// segments, each with the IP and TCP headers.
func segments(ip []byte, hdr, mss int) (n, bytes uint64) {
	if mss == 0 || len(ip) < hdr+20 {
		return 1, uint64(len(ip))
	}
	hdrs := hdr + int(ip[hdr+12]>>4)*4
	payload := len(ip) - hdrs
	k := (payload + mss - 1) / mss
	return uint64(k), uint64(payload + k*hdrs)
}

// Match says which outbound SA would carry an IP packet (Outcome.Sealed, SPI, Queue and
// Tunnel), without queueing anything: false when none matches (or ip is not an IP packet).
// Where Config.MTU is set, Outcome.Fits is the longest IP packet with ip's header length
// that fits it once sealed (what a large send's segments may be).
func (q *Queue) Match(ip []byte) (Outcome, bool) {
	src, dst, hdr, ok := addrs(ip)
	if !ok {
		return Outcome{}, false
	}
	if rule := q.p.pol.Load().match(src, dst); rule != nil {
		out := Outcome{Sealed: true, SPI: rule.cfg.SPI, Queue: rule.queue, Tunnel: rule.tunnel}
		if mtu := int(q.p.mtu.Load()); mtu > 0 {
			out.Fits = rule.fits(mtu, hdr)
		}
		return out, true
	}
	return Outcome{}, false
}

func (q *Queue) handleOf(r *outRule) (h sa.Handle) {
	if r != nil {
		h = r.handle
	}
	return h
}

// Flush hands the packets Protect and Unprotect queued to the NIC. Call it when no more
// packets come for a while (the end of a receive burst).
func (q *Queue) Flush() {
	q.txMu.Lock()
	if !q.p.stopped.Load() {
		q.snd.Flush()
	}
	q.txMu.Unlock()
	q.rxMu.Lock()
	q.flushRx()
	q.rxMu.Unlock()
}

// Unprotect hands a received ESP packet to the NIC's receive path: frame is linkLen bytes
// of link-layer header followed by the IP packet. It must be ESP, or ESP in UDP, whose SPI
// and destination are an inbound SA's: otherwise Unprotect returns ErrNoSA and queues
// nothing. The NIC opens it, the host checks anti-replay and decapsulates, and it comes
// back in an Unprotected Burst. The bytes are copied. Errors: ErrNoSA, ErrWrongQueue,
// packet.ErrTooBig (wrapped), ErrClosed. It does not allocate, except to build the error
// for a packet larger than the largest buffer.
func (q *Queue) Unprotect(frame []byte, linkLen int, cookie uint64) error {
	if err := q.p.checkLink(linkLen, len(frame)); err != nil {
		return err
	}
	ip := frame[linkLen:]
	in, plain := q.p.inbound(ip)
	if in == nil {
		if plain && q.p.cfg.Bridge && q.p.covered(ip) {
			return ErrPolicy
		}
		return ErrNoSA
	}
	if in.queue != q.idx {
		return ErrWrongQueue
	}
	pool := q.small
	if len(ip) > packet.SmallSize {
		pool = q.large
	}
	b := pool.Get()
	if err := b.SetData(ip); err != nil {
		b.Release()
		return err
	}
	if q.p.cfg.LinkHeaders {
		host.StashLink(b, frame[:linkLen])
	}
	b.Cookie = cookie
	return q.submitRx(b)
}

// UnprotectBuffer is Unprotect for a packet already in a buffer (a sealed packet taken from
// a Protected burst, say): the buffer's frame is linkLen bytes of link-layer header
// followed by the IP packet, its Cookie the caller's, and the NIC owns it from here, even
// when UnprotectBuffer fails (ErrClosed: the path releases it). It is not checked against
// the inbound SAs: a packet for none comes back with the host's verdict (not-offloaded,
// or plain).
func (q *Queue) UnprotectBuffer(b *packet.Buffer, linkLen int) error {
	q.prepareRx(b, linkLen)
	return q.submitRx(b)
}

// UnprotectBuffers is UnprotectBuffer for a burst of buffers, each with linkLen bytes of
// link-layer header, taking the queue's lock once. It returns the first error (the buffers
// are the path's either way).
func (q *Queue) UnprotectBuffers(bs []*packet.Buffer, linkLen int) error {
	for _, b := range bs {
		q.prepareRx(b, linkLen)
	}
	q.rxMu.Lock()
	defer q.rxMu.Unlock()
	if q.rxClosed {
		for _, b := range bs {
			b.Release()
		}
		return ErrClosed
	}
	for _, b := range bs {
		q.rxBatch = append(q.rxBatch, b)
		if len(q.rxBatch) == cap(q.rxBatch) {
			q.flushRx()
		}
	}
	return nil
}

// prepareRx readies a buffer given to UnprotectBuffer: no OOB left from the send side, and
// the link header kept.
func (q *Queue) prepareRx(b *packet.Buffer, linkLen int) {
	b.Tx, b.Rx, b.Meta = packet.TxInfo{}, packet.RxInfo{}, packet.Meta{}
	if !q.p.cfg.LinkHeaders {
		return
	}
	if linkLen < 0 || linkLen > b.Len() || linkLen > host.MaxLink {
		linkLen = 0
	}
	link := b.Bytes()[:linkLen]
	b.TrimFront(linkLen)
	host.StashLink(b, link)
}

func (q *Queue) submitRx(b *packet.Buffer) error {
	q.rxMu.Lock()
	if q.rxClosed {
		q.rxMu.Unlock()
		b.Release()
		return ErrClosed
	}
	q.rxBatch = append(q.rxBatch, b)
	if len(q.rxBatch) == cap(q.rxBatch) {
		q.flushRx()
	}
	q.rxMu.Unlock()
	return nil
}

// flushRx submits the gathered receive burst; rxMu is held.
func (q *Queue) flushRx() {
	if len(q.rxBatch) > 0 && !q.rxClosed {
		q.rx.submitted.Add(uint64(len(q.rxBatch)))
		q.recv.Submit(q.rxBatch)
		clear(q.rxBatch)
		q.rxBatch = q.rxBatch[:0]
	}
}

// checkLink refuses a link header the path cannot keep.
func (p *Path) checkLink(linkLen, frameLen int) error {
	switch {
	case linkLen == 0:
		return nil
	case !p.cfg.LinkHeaders:
		return fmt.Errorf("%w: a link header of %d bytes, and the path has Config.LinkHeaders off", host.ErrUnsupported, linkLen)
	case linkLen < 0 || linkLen > frameLen || linkLen > host.MaxLink:
		return fmt.Errorf("%w: link header of %d bytes in a frame of %d", host.ErrUnsupported, linkLen, frameLen)
	}
	return nil
}

// inbound returns the inbound SA an ESP packet is for, or nil; plain says the packet is IP
// but not IPsec (not ESP, ESP in UDP, or AH; IKE and NAT keepalives on port 4500 are not
// plain either).
func (p *Path) inbound(ip []byte) (in *inRule, plain bool) {
	l := rxparse.Parse(ip)
	spi := l.SPI
	switch {
	case l.Kind == rxparse.KindAH:
		spi = rxparse.ParseAH(ip, l).SPI
	case l.Kind != rxparse.KindESP && l.Kind != rxparse.KindUDPESP:
		return nil, l.Kind == rxparse.KindPlain
	}
	if l.DstLen == 0 {
		return nil, false
	}
	dst, _ := netip.AddrFromSlice(ip[l.DstOff : l.DstOff+l.DstLen])
	return p.pol.Load().in[inKey{spi, dst}], false
}

// covered says whether an inbound SA's selector covers a plain packet (Config.Bridge).
func (p *Path) covered(ip []byte) bool {
	src, dst, _, ok := addrs(ip)
	if !ok {
		return false
	}
	for _, in := range p.pol.Load().inList {
		if in.cfg.Matches(src, dst) {
			return true
		}
	}
	return false
}
