package gateway

import (
	"errors"
	"sync/atomic"

	"github.com/ov2dev/ov2/fastpath"
	"github.com/ov2dev/ov2/live"
)

// protected takes a burst of sealed packets from a lane's send path and sends them out of
// the outside, each with the link header it came with (its EtherType set for the outer IP
// version). Failed packets are counted by the fast path. It runs inside the lane's
// Queue.Turn: on the lane's worker, or on the goroutine that stops the gateway once the
// workers have ended; one of them at a time uses the lane's sealOut socket.
func (g *Gateway) protected(b fastpath.Burst) {
	l := g.lanes[b.Queue]
	frames := l.cbOut[:0]
	for i := range b.Results {
		r := &b.Results[i]
		if r.Failed || len(r.Frame) <= r.LinkLen {
			continue
		}
		setEtherType(r.Frame[:r.LinkLen], r.Frame[r.LinkLen:])
		frames = append(frames, r.Frame)
	}
	sendAll(l.sealOut, frames, &g.in.sentErr)
	clear(frames)
	l.cbOut = frames[:0]
}

// unprotected takes a burst of packets the host has opened (or dropped) and sends the
// inner packets out of the inside with the link header they came with. It runs inside the
// lane's Queue.Turn, as protected does; nothing else sends with openIn.
func (g *Gateway) unprotected(b fastpath.Burst) {
	l := g.lanes[b.Queue]
	frames := l.cbIn[:0]
	for i := range b.Results {
		r := &b.Results[i]
		if r.Failed || len(r.Frame) <= r.LinkLen {
			continue
		}
		setEtherType(r.Frame[:r.LinkLen], r.Frame[r.LinkLen:])
		frames = append(frames, r.Frame)
	}
	sendAll(l.openIn, frames, &g.out.sentErr)
	clear(frames)
	l.cbIn = frames[:0]
}

// sendAll sends frames, and counts in refused each one the interface refuses with a hard
// error (live.FrameError: too long for the MTU, the link down, ...), going on with the
// rest. live.Sender waits and retries where the kernel only pushes back, so nothing else
// is lost. A live.LinkLostError (the link went down during the call; the kernel may have
// discarded some frames while it said it took them) is not counted as refused: the
// interface counters tell.
func sendAll(s *live.Sender, frames [][]byte, refused *atomic.Uint64) {
	for len(frames) > 0 {
		n, err := s.Send(frames)
		if err == nil {
			return
		}
		var lost *live.LinkLostError
		if errors.As(err, &lost) {
			return
		}
		refused.Add(1)
		if n+1 >= len(frames) {
			return
		}
		frames = frames[n+1:]
	}
}
