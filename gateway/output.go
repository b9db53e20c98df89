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
// inner packets out of the inside with the link header they came with, consecutive TCP
// segments of one flow as one aggregate (coalesce.go). It runs inside the lane's
// Queue.Turn, as protected does; nothing else sends with openIn and aggIn's aggregates.
func (g *Gateway) unprotected(b fastpath.Burst) {
	l := g.lanes[b.Queue]
	frames := l.cbIn[:0]
	l.merge.n = 0
	for i := range b.Results {
		r := &b.Results[i]
		if r.Failed || len(r.Frame) <= r.LinkLen {
			continue
		}
		setEtherType(r.Frame[:r.LinkLen], r.Frame[r.LinkLen:])
		s, ok := segment(r.Frame, r.LinkLen)
		if ok && l.merge.join(r.Frame, s) {
			continue
		}
		frames = l.endAggregate(frames)
		if ok {
			l.merge.begin(r.Frame, s)
		} else {
			frames = append(frames, r.Frame)
		}
	}
	frames = l.endAggregate(frames)
	sendAll(l.openIn, frames, &g.out.sentErr)
	clear(frames)
	l.cbIn = frames[:0]
}

// endAggregate ends the aggregate being built: a lone segment joins frames, to go out as
// it is; two or more go out as one aggregate, after frames (sent first, so the order
// holds). It returns frames, emptied if they were sent.
func (l *lane) endAggregate(frames [][]byte) [][]byte {
	m := &l.merge
	switch {
	case m.n == 1:
		frames = append(frames, m.first)
	case m.n >= 2:
		sendAll(l.openIn, frames, &l.g.out.sentErr)
		clear(frames)
		frames = frames[:0]
		agg := m.finish()
		if err := l.aggIn.SendTCP(agg, m.link, m.ip, m.mss); err != nil {
			var lost *live.LinkLostError
			if !errors.As(err, &lost) {
				l.g.out.sentErr.Add(uint64(m.n))
			}
		} else {
			l.g.out.coalesced.add(uint64(m.n), uint64(len(agg)-m.link))
			l.g.out.coalescedInto.Add(1)
		}
	}
	m.n, m.first = 0, nil
	return frames
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
