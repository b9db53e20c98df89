package replay

import (
	"bytes"
	"fmt"
	"time"

	"github.com/ov2dev/ov2/host"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/pcap"
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

// withLink puts the packet's link header in front of it, in the buffer's headroom, set for
// the packet's IP version. It returns the header length (0 if it did not fit).
func (r *run) withLink(p *packet.Buffer) int {
	h := r.link(cookieLink(p.Cookie))
	if len(h.hdr) == 0 || p.Headroom() < len(h.hdr) {
		return 0
	}
	v6 := p.Len() > 0 && p.Bytes()[0]>>4 == 6
	dst := p.Prepend(len(h.hdr))
	copy(dst, h.hdr)
	pcap.SetIPVersion(h.lt, dst, v6)
	return len(h.hdr)
}

// sendCompletions takes the send path's completions: sealed and clear packets go to the
// output (and in RoundTrip the sealed ones on to the receive path), failed ones are counted.
func (r *run) sendCompletions(lane int) {
	// Up to 256 at a time: when the output is behind, one system call takes more frames.
	const most = 256
	buf := make([]*packet.Buffer, most)
	frames := make([]Frame, 0, most)
	wire := make([]*packet.Buffer, 0, most)
	trims := make([]int, 0, most)
	done := make([]*packet.Buffer, 0, most)
	c, out := &r.sc[lane], r.sinks[lane]
	for {
		k, err := r.send.LaneCompletions(lane, buf)
		if err != nil {
			return
		}
		now, wall := packet.Now(), time.Now()
		frames, wire, trims, done = frames[:0], wire[:0], trims[:0], done[:0]
		r.snd.CompletedBurst(buf[:k])
		for _, p := range buf[:k] {
			c.lat.Record(now - p.Stamp)
			if p.Tx.Failed() {
				c.sendFail[p.Tx.Reason]++
				p.Release()
				continue
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
			n := r.withLink(p)
			frames = append(frames, Frame{Time: wall, Link: r.link(cookieLink(p.Cookie)).lt, Data: p.Bytes()})
			if r.cfg.RoundTrip && sealed {
				wire, trims = append(wire, p), append(trims, n)
			} else {
				done = append(done, p)
			}
		}
		r.write(out, frames)
		for _, p := range done {
			p.Release()
		}
		if len(wire) == 0 {
			continue
		}
		// The wire: what arrives carries its bytes (and the host's cookie), nothing else.
		for i, p := range wire {
			p.TrimFront(trims[i])
			p.Tx, p.Rx, p.Meta = packet.TxInfo{}, packet.RxInfo{}, packet.Meta{}
		}
		for _, p := range wire {
			c.wire.add(p.Len())
		}
		r.recvMu.Lock()
		r.recv.Submit(wire)
		r.recvMu.Unlock()
	}
}

// recvCompletions takes the receive path's indications and gives them to the host; what it
// delivers goes to the output (or, in RoundTrip, is compared with the input).
func (r *run) recvCompletions() {
	buf := make([]*packet.Buffer, 64)
	frames := make([]Frame, 0, 64)
	arena := make([]byte, 0, 64*(packet.SmallSize+64))
	c := &r.rc
	for {
		k, err := r.recv.Completions(buf)
		if err != nil {
			return
		}
		now, wall := packet.Now(), time.Now()
		frames, arena = frames[:0], arena[:0]
		for _, p := range buf[:k] {
			c.lat.Record(now - p.Stamp)
			h := r.link(cookieLink(p.Cookie))
			if len(arena)+len(h.hdr)+p.Len() > cap(arena) { // keep earlier frames valid
				r.write(r.sinks[0], frames)
				frames, arena = frames[:0], arena[:0]
				if need := len(h.hdr) + p.Len(); need > cap(arena) {
					arena = make([]byte, 0, need)
				}
			}
			start := len(arena)
			arena = append(arena, h.hdr...)
			got, v := r.rcv.Receive(p, arena)
			c.verdicts[v]++
			if v != host.Delivered { // counted in verdicts
				arena = arena[:start]
				p.Release()
				continue
			}
			pkt := got[start+len(h.hdr):]
			c.out.add(len(pkt))
			if r.cfg.RoundTrip && p.Cookie&cookieLSO != 0 {
				c.segments++ // a segment of a large send: not the packet read, so not compared
				arena = arena[:start]
				p.Release()
				continue
			}
			if r.cfg.RoundTrip {
				c.checked++
				if pos := cookiePos(p.Cookie); pos < uint64(len(r.originals)) && bytes.Equal(pkt, r.originals[pos]) {
					c.equal++
				} else {
					c.differ++
				}
				arena = arena[:start]
				p.Release()
				continue
			}
			p.Release()
			pcap.SetIPVersion(h.lt, got[start:start+len(h.hdr)], len(pkt) > 0 && pkt[0]>>4 == 6)
			arena = got
			frames = append(frames, Frame{Time: wall, Link: h.lt, Data: got[start:]})
		}
		r.write(r.sinks[0], frames)
	}
}
