package fastpath

import (
	"sync/atomic"

	"github.com/ov2dev/ov2/host"
	"github.com/ov2dev/ov2/ndis"
	"github.com/ov2dev/ov2/packet"
)

// Burst is a burst of completed packets given to a callback: from one send lane of one
// queue (Config.Protected), or from one queue's receive side (Config.Unprotected).
type Burst struct {
	Queue, Lane int
	Results     []Result
}

// Result is one completed packet. Frame, and Buf unless taken, are valid only during the
// callback.
type Result struct {
	// Frame is what leaves: the link-layer header given with the packet (LinkLen bytes)
	// followed by the sealed or clear packet (Protected), or the inner packet the host
	// delivered (Unprotected, Verdict Delivered or Plain). Empty when Failed.
	Frame   []byte
	LinkLen int
	Cookie  uint64
	// Sealed says the packet was sealed with an SA (Protected); false for one that went
	// through in clear.
	Sealed bool
	// Failed says the packet does not go on: the NIC failed it (Protected; Buf.Tx.Reason
	// says why), or the host dropped it (Unprotected; Verdict says why).
	Failed bool
	// Verdict is the host's verdict on an Unprotect packet (host.Delivered, host.Plain, or a
	// reason to drop); with CryptoStatus the NIC's result when it processed the packet.
	Verdict      host.Verdict
	CryptoStatus ndis.CryptoStatus
	// Buf is the NIC's buffer: its OOB information (Tx, Rx), its Stamp. Frame is Buf's
	// frame: for Unprotected the host decapsulated the packet in place
	// (host.Receiver.ReceiveInPlace), so nothing is copied.
	Buf  *packet.Buffer
	kept bool
}

// Take keeps the buffer from being released when the callback returns: the caller owns
// it from here (and releases it, or gives it to UnprotectBuffer).
func (r *Result) Take() *packet.Buffer {
	r.kept = true
	return r.Buf
}

// laneStat counts one send lane's completions; one goroutine writes each.
type laneStat struct {
	sealed, clear counters
	failed        [packet.NumReasons]atomic.Uint64
	segments      atomic.Uint64
	_             [64]byte
}

// rxStat counts a queue's receive side.
type rxStat struct {
	submitted atomic.Uint64
	verdicts  [host.NumVerdicts]atomic.Uint64
}

// sendCompletions takes a send lane's completions and gives them to Config.Protected.
func (q *Queue) sendCompletions(lane int) {
	c := newCompleter(256)
	for {
		k, err := q.send.LaneCompletions(lane, c.buf)
		if err != nil {
			return
		}
		q.sent(lane, c, k)
	}
}

// completer is the scratch of one goroutine that takes completions: the buffers taken from
// a path and the results given to a callback.
type completer struct {
	buf  []*packet.Buffer
	res  []Result
	link [host.MaxLink]byte
}

func newCompleter(most int) *completer {
	return &completer{buf: make([]*packet.Buffer, most), res: make([]Result, most)}
}

// sent takes a burst of k completions of a send lane (in c.buf) to Config.Protected.
func (q *Queue) sent(lane int, c *completer, k int) {
	buf, res := c.buf[:k], c.res[:k]
	st := &q.lanes[lane]
	links := q.p.cfg.LinkHeaders
	q.snd.CompletedBurst(buf)
	// The lane's counters are added once per burst: one goroutine writes them, Stats
	// reads them, and an atomic add per packet would cost a locked instruction each.
	done := uint64(0) // packets whose send completes here (as host.Sender counts them)
	var sealed, clr Counter
	segments := uint64(0)
	for i, b := range buf {
		if b.Tx.LSOSegment == b.Tx.LSOCount {
			done++
		}
		r := &res[i]
		*r = Result{Cookie: b.Cookie, Buf: b, Sealed: b.Tx.OffloadHandle != 0 || b.Tx.TunnelHandle != 0}
		if b.Tx.LSOCount > 0 {
			segments++
		}
		if links { // a segment carries its large send's (packet.CarryFront)
			r.LinkLen = host.UnstashLink(b)
		}
		if b.Tx.Failed() {
			r.Failed = true
			st.failed[b.Tx.Reason].Add(1)
			continue
		}
		r.Frame = b.Bytes()
		n := uint64(len(r.Frame) - r.LinkLen)
		if r.Sealed {
			sealed.Packets++
			sealed.Bytes += n
		} else {
			clr.Packets++
			clr.Bytes += n
		}
	}
	if segments != 0 {
		st.segments.Add(segments)
	}
	if sealed.Packets != 0 {
		st.sealed.packets.Add(sealed.Packets)
		st.sealed.bytes.Add(sealed.Bytes)
	}
	if clr.Packets != 0 {
		st.clear.packets.Add(clr.Packets)
		st.clear.bytes.Add(clr.Bytes)
	}
	if cb := q.p.cfg.Protected; cb != nil {
		cb(Burst{Queue: q.idx, Lane: lane, Results: res})
	}
	releaseUnkept(res, buf)
	q.txDone.Add(done) // after the callback: what it sent has left (Reload's drain)
}

// recvCompletions takes the queue's receive completions, gives each to the host (anti-replay,
// decapsulation in the buffer), and the results to Config.Unprotected.
func (q *Queue) recvCompletions() {
	c := newCompleter(64)
	for {
		k, err := q.recv.Completions(c.buf)
		if err != nil {
			return
		}
		q.received(c, k)
	}
}

// received takes a burst of k receive completions (in c.buf) through the host to
// Config.Unprotected.
func (q *Queue) received(c *completer, k int) {
	buf, res := c.buf[:k], c.res[:k]
	links := q.p.cfg.LinkHeaders
	q.hostMu.Lock()
	for i, b := range buf {
		r := &res[i]
		*r = Result{Cookie: b.Cookie, Buf: b}
		// The link header comes off while the host decapsulates (which moves the
		// packet's start), then goes back in front of what it delivers.
		n := 0
		if links {
			n = host.UnstashLink(b)
			copy(c.link[:n], b.Bytes())
			b.TrimFront(n)
		}
		v := q.rcv.ReceiveInPlace(b)
		r.Verdict, r.CryptoStatus = v, b.Rx.CryptoStatus
		q.rx.verdicts[v].Add(1)
		if v != host.Delivered && v != host.Plain {
			r.Failed = true
			continue
		}
		if v == host.Delivered {
			q.unprotected.packets.Add(1)
			q.unprotected.bytes.Add(uint64(b.Len()))
		}
		if n > 0 {
			copy(b.Prepend(n), c.link[:n])
		}
		r.Frame, r.LinkLen = b.Bytes(), n
	}
	q.hostMu.Unlock()
	if cb := q.p.cfg.Unprotected; cb != nil {
		cb(Burst{Queue: q.idx, Results: res})
	}
	releaseUnkept(res, buf)
}

// Turn runs the queue's lanes (Config.Inline) on the caller's goroutine until nothing is
// left inside them: each path's stages a burst at a time, and its completions through the
// host to the callbacks, which are called here. It returns how many packets completed. With
// Inline, the queue has one owner goroutine, which calls Protect, Unprotect, Flush and
// Turn: it calls Turn after Flush at the end of each batch it receives (and at least every
// 512 packets), and nothing waits for another goroutine. Without Inline, Turn returns 0.
func (q *Queue) Turn() int {
	if !q.p.cfg.Inline {
		return 0
	}
	return q.turn()
}

func (q *Queue) turn() int {
	c, total := q.inl, 0
	for {
		moved := q.send.Turn()
		if k := q.send.Poll(c.buf); k > 0 {
			q.sent(0, c, k)
			total += k
			moved += k
		}
		moved += q.recv.Turn()
		if k := q.recv.Poll(c.buf); k > 0 {
			q.received(c, k)
			total += k
			moved += k
		}
		if moved == 0 {
			return total
		}
	}
}

// releaseUnkept releases the buffers of a burst's results that the callback did not take
// (a buffer it took is not ours to touch), with one lock per pool (packet.ReleaseBurst),
// and clears the results. scratch has room for them.
func releaseUnkept(res []Result, scratch []*packet.Buffer) {
	n := 0
	for i := range res {
		if !res[i].kept {
			scratch[n] = res[i].Buf
			n++
		}
		res[i] = Result{}
	}
	packet.ReleaseBurst(scratch[:n])
	clear(scratch[:n])
}
