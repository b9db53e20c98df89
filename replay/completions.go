package replay

import (
	"bytes"
	"fmt"
	"time"

	"github.com/ov2dev/ov2/fastpath"
	"github.com/ov2dev/ov2/host"
	"github.com/ov2dev/ov2/packet"
)

// write hands frames to an output.
func (r *run) write(s *sink, fs []Frame) {
	if len(fs) == 0 {
		return
	}
	s.mu.Lock()
	for i := range fs { // wall-clock order, which is what a capture file keeps
		if fs[i].Time.UnixNano() < s.mu.last.UnixNano() {
			fs[i].Time = s.mu.last
		}
		s.mu.last = fs[i].Time
	}
	err := s.out.WriteFrames(fs)
	s.mu.Unlock()
	if err != nil {
		r.fail(fmt.Errorf("output: %w", err))
		return
	}
	var n uint64
	for i := range fs {
		n += uint64(len(fs[i].Data))
	}
	r.outPkts.Add(uint64(len(fs)))
	r.outBytes.Add(n)
}

// withLink puts the packet's link header h in front of it, in the buffer's headroom, set
// for the packet's IP version. It returns the header length (0 if it did not fit).
func withLink(p *packet.Buffer, h *linkHdr) int {
	if len(h.hdr) == 0 || p.Headroom() < len(h.hdr) {
		return 0
	}
	hdr := h.forIP(p.Bytes()) // before Prepend moves the frame's start
	copy(p.Prepend(len(h.hdr)), hdr)
	return len(h.hdr)
}

// laneScratch is one send lane's reused slices.
type laneScratch struct {
	frames []Frame
	wire   []*packet.Buffer
	trims  []int
}

// sendCompletions takes a burst of one send lane's completions (the fast path's Protected
// callback, on that lane's goroutine): sealed and clear packets go to the output (and in
// RoundTrip the sealed ones on to the receive path), failed ones are counted.
func (r *run) sendCompletions(b fastpath.Burst) {
	c, out, sc := &r.sc[b.Lane], r.sinks[b.Lane], &r.scratch[b.Lane]
	now, wall := packet.Now(), time.Now()
	frames, wire, trims := sc.frames[:0], sc.wire[:0], sc.trims[:0]
	var h *linkHdr // the link header of lastID: a burst's packets mostly share one
	lastID := ^uint32(0)
	for i := range b.Results {
		res := &b.Results[i]
		p := res.Buf
		c.lat.Record(now - p.Stamp)
		if res.Failed {
			c.sendFail[p.Tx.Reason]++
			continue // the fast path releases it
		}
		if p.Tx.LSOCount > 0 {
			c.segments++
		}
		sealed := p.Tx.OffloadHandle != 0
		if sealed {
			c.out.add(p.Len())
		} else {
			c.clear.add(p.Len())
		}
		if r.raw != nil && sealed {
			r.raw[b.Lane].note(p)
		}
		if id := cookieLink(p.Cookie); id != lastID {
			h, lastID = r.link(id), id
		}
		n := withLink(p, h)
		frames = append(frames, Frame{Time: wall, Link: h.lt, Data: p.Bytes()})
		if r.cfg.RoundTrip && sealed {
			wire, trims = append(wire, res.Take()), append(trims, n)
		}
	}
	r.write(out, frames)
	clear(frames)
	sc.frames = frames[:0]
	if len(wire) > 0 {
		// The wire: what arrives carries its bytes (and the host's cookie), nothing else.
		for i, p := range wire {
			p.TrimFront(trims[i])
			c.wire.add(p.Len())
		}
		r.q.UnprotectBuffers(wire, 0) // the fast path owns them now, error or not
	}
	clear(wire)
	sc.wire, sc.trims = wire[:0], trims[:0]
}

// recvCompletions takes a burst of the receive path's indications, which the host has
// checked and decapsulated (the fast path's Unprotected callback): what it delivered goes
// to the output (or, in RoundTrip, is compared with the input).
func (r *run) recvCompletions(b fastpath.Burst) {
	now, wall := packet.Now(), time.Now()
	frames := r.recvFrames[:0]
	c := &r.rc
	for i := range b.Results {
		res := &b.Results[i]
		p := res.Buf
		c.lat.Record(now - p.Stamp)
		c.verdicts[res.Verdict]++
		if res.Verdict != host.Delivered { // counted in verdicts
			continue
		}
		pkt := res.Frame // the inner packet, decapsulated in the buffer
		c.out.add(len(pkt))
		if r.cfg.RoundTrip && p.Cookie&cookieLSO != 0 {
			c.segments++ // a segment of a large send: not the packet read, so not compared
			continue
		}
		if r.cfg.RoundTrip {
			c.checked++
			if pos := cookiePos(p.Cookie); pos < uint64(len(r.originals)) && bytes.Equal(pkt, r.originals[pos]) {
				c.equal++
			} else {
				c.differ++
			}
			continue
		}
		// The output frame: the input's link header in front of the packet, in the
		// buffer's headroom (the buffer lives until this burst is written).
		h := r.link(cookieLink(p.Cookie))
		if p.Headroom() >= len(h.hdr) {
			copy(p.Prepend(len(h.hdr)), h.forIP(pkt))
		}
		frames = append(frames, Frame{Time: wall, Link: h.lt, Data: p.Bytes()})
	}
	r.write(r.sinks[0], frames)
	clear(frames)
	r.recvFrames = frames[:0]
}
