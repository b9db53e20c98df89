package fastpath

import (
	"net/netip"

	"github.com/ov2dev/ov2/host"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/stage"
)

// Counter is packets and bytes.
type Counter struct {
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

func (c *Counter) addFrom(x *counters) {
	c.Packets += x.packets.Load()
	c.Bytes += x.bytes.Load()
}

// Stats is a snapshot of a Path's counters, summed over its queues. Counters are read one
// by one while packets move; after Stop they are final and the invariants of
// stage.SendStats and stage.RecvStats hold.
type Stats struct {
	Send stage.SendStats // the NIC's send paths
	Recv stage.RecvStats // the NIC's receive paths

	// Protect completions: sealed and clear packets (bytes of the IP packets as they left
	// the NIC), failed ones by the NIC's reason, and large-send segments among them.
	Sealed, Clear Counter
	Failed        [packet.NumReasons]uint64
	Segments      uint64

	// Unprotect: packets handed to the receive paths, the host's verdicts on them, and the
	// inner packets it delivered (bytes of the inner IP packets).
	Submitted uint64
	Verdicts  [host.NumVerdicts]uint64
	Delivered Counter

	Updates uint64 // UPDATE_SA requests (ESN high half), both directions
	Deletes uint64 // SaDeleteReq the host acted on

	Out []OutSA // the outbound SAs in force, in policy order
	In  []InSA  // the inbound SAs in force, in configuration order
}

// FailedTotal is the sum of Failed.
func (s *Stats) FailedTotal() uint64 {
	var n uint64
	for _, f := range s.Failed {
		n += f
	}
	return n
}

// OutSA is one outbound SA's part of Stats.
type OutSA struct {
	SPI      uint32
	Src, Dst netip.Addr
	Mode     host.Mode
	Queue    int
	File     string
	Line     int
	// Protected counts the packets given to Protect that it matched (and their plain
	// lengths), a large send as the segments it is cut into (and their plain lengths);
	// NextSeq is the sequence number its next packet gets.
	Protected Counter
	NextSeq   uint64
}

// InSA is one inbound SA's part of Stats: the host's counters (delivered packets and bytes,
// CryptoStatus counts, replays, UPDATE_SA).
type InSA struct {
	SPI      uint32
	Src, Dst netip.Addr
	Queue    int
	File     string
	Line     int
	host.InStats
}

// Stats returns the counters so far. It may be called from any goroutine.
func (p *Path) Stats() Stats {
	var s Stats
	pol := p.pol.Load()
	for _, q := range p.queues {
		ss, rs := q.send.Stats(), q.recv.Stats()
		addSend(&s.Send, &ss)
		addRecv(&s.Recv, &rs)
		for i := range q.lanes {
			l := &q.lanes[i]
			s.Sealed.addFrom(&l.sealed)
			s.Clear.addFrom(&l.clear)
			for k := range l.failed {
				s.Failed[k] += l.failed[k].Load()
			}
			s.Segments += l.segments.Load()
		}
		s.Submitted += q.rx.submitted.Load()
		for v := range q.rx.verdicts {
			s.Verdicts[v] += q.rx.verdicts[v].Load()
		}
		s.Delivered.addFrom(&q.unprotected)
		s.Updates += q.snd.Updates()
		q.hostMu.Lock()
		s.Deletes += q.rcv.Deletes()
		q.hostMu.Unlock()
	}
	for _, o := range pol.out {
		x := OutSA{SPI: o.cfg.SPI, Src: o.cfg.Src, Dst: o.cfg.Dst, Mode: o.cfg.Mode, Queue: o.queue, File: o.st.File, Line: o.st.Line}
		q := p.queues[o.queue]
		q.txMu.Lock()
		x.Protected = o.in
		x.NextSeq = q.snd.NextSeq(o.cfg.SPI)
		q.txMu.Unlock()
		s.Out = append(s.Out, x)
	}
	for _, in := range pol.inList {
		x := InSA{SPI: in.cfg.SPI, Src: in.cfg.Src, Dst: in.cfg.Dst, Queue: in.queue, File: in.st.File, Line: in.st.Line}
		q := p.queues[in.queue]
		q.hostMu.Lock()
		x.InStats, _ = q.rcv.SAStats(in.handle)
		q.hostMu.Unlock()
		s.Updates += x.Updates
		s.In = append(s.In, x)
	}
	return s
}

func addSend(d, s *stage.SendStats) {
	d.Submitted += s.Submitted
	d.Split += s.Split
	d.Segments += s.Segments
	d.Completed += s.Completed
	d.Clear += s.Clear
	d.Sealed += s.Sealed
	d.Bytes += s.Bytes
	for i := range s.Failed {
		d.Failed[i] += s.Failed[i]
	}
}

func addRecv(d, s *stage.RecvStats) {
	d.Received += s.Received
	d.Indicated += s.Indicated
	d.Bytes += s.Bytes
	d.NextCryptoDone += s.NextCryptoDone
	d.SaDeleteReq += s.SaDeleteReq
	for i := range s.Skipped {
		d.Skipped[i] += s.Skipped[i]
	}
	for i := range s.Status {
		d.Status[i] += s.Status[i]
	}
}
