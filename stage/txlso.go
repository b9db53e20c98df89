package stage

import (
	"errors"

	"github.com/ov2dev/ov2/lso"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/sa"
)

// txLSO is the LSO segmenter (R-TX-6, R-TX-7): it passes ordinary packets through and cuts
// each large send into MSS-sized IPsec packets, each in a buffer of its own from the segment
// pool, ready for the seal stage: every suite (the ESP trailer padded to the suite's block,
// AES-CBC's 16 bytes), and AH alone or over ESP, each segment with its own AH header. The
// large buffer is released once cut. Segment i carries the 64-bit sequence numbers S+i of
// its ESP part and of its AH part (each its own sequence space) in packet.Meta, so the seal
// stage uses them, carry into the high half included, rather than the SA's high halves.
//
// Each segment carries the large send's Stamp and Cookie, and the bytes the host kept in
// front of its frame (packet.Buffer.CarryFront: a link-layer header host.StashLink put
// there comes back with every segment).
//
// The stage writes into out and calls flush whenever out is full; the caller flushes the
// rest. flush may block (a full ring): the stage holds no SA while it does, because it
// leaves its read section before cutting.
type txLSO struct {
	r     *sa.Reader
	pool  *packet.Pool
	stats *laneStats
}

// expands reports whether the burst has a large send to cut.
func (s *txLSO) expands(b *Burst) bool {
	for _, p := range b.Slice() {
		if p.Tx.MSS != 0 && !p.Tx.Failed() && hasIPsec(p) {
			return true
		}
	}
	return false
}

func (s *txLSO) expand(in, out *Burst, flush func()) {
	for _, p := range in.Slice() {
		if p.Tx.MSS == 0 || p.Tx.Failed() || !hasIPsec(p) {
			if out.Full() {
				flush()
			}
			out.Add(p)
			continue
		}
		plan, err := s.prepare(p)
		if err != nil {
			p.Tx.Fail(lsoReason(err))
			if out.Full() {
				flush()
			}
			out.Add(p)
			continue
		}
		frame := p.Bytes()
		for i := 0; i < plan.Count(); i++ {
			seg := s.pool.Get()
			seg.Stamp, seg.Cookie = p.Stamp, p.Cookie // a segment entered the NIC with its large send
			seg.CarryFront(p)                         // and carries what the host kept in front of it
			dst := seg.Bytes()
			if cap(dst) < plan.SealBufferLen() {
				// The pool's buffers are too small for this MSS: fail the segment, keep
				// the count right.
				seg.Tx = p.Tx
				seg.Tx.MSS = 0
				seg.Tx.LSOSegment, seg.Tx.LSOCount = uint16(i+1), uint16(plan.Count())
				seg.Tx.Fail(packet.ReasonNoTailroom)
			} else {
				n, seq := plan.Segment(frame, i, dst[:0])
				seg.SetLen(n)
				seg.Tx = p.Tx
				seg.Tx.MSS, seg.Tx.PadLength = 0, 0
				seg.Tx.LSOSegment, seg.Tx.LSOCount = uint16(i+1), uint16(plan.Count())
				seg.Meta = packet.Meta{Seq: seq, AHSeq: plan.AHSeq(i), SeqSet: true, ESP: p.Meta.ESP,
					AH: p.Meta.AH, IPv6: p.Meta.IPv6, Segment: true}
				if seg.Meta.ESP != 0 {
					seg.Meta.ESPEnd = int32(n)
				}
			}
			if out.Full() {
				flush()
			}
			out.Add(seg)
		}
		s.stats.split.Add(1)
		s.stats.segments.Add(uint64(plan.Count()))
		p.Release()
	}
}

// prepare looks the SA up (for its suite, ICV length, ESN and high halves, and its AH part)
// and plans the cuts. The plan's headers must be where the OOB said they are.
func (s *txLSO) prepare(p *packet.Buffer) (lso.Plan, error) {
	tb := s.r.Begin()
	defer s.r.End()
	a := outboundSA(tb, p.Tx.OffloadHandle)
	if a == nil {
		return lso.Plan{}, errUnknownHandle
	}
	prm := lso.Params{
		MSS:        int(p.Tx.MSS),
		PadLength:  int(p.Tx.PadLength),
		NextHeader: p.Tx.NextHeader,
	}
	if a.HasESP() {
		prm.ICVLen, prm.Alg = a.Transform.ICVLen(), a.Transform.Alg()
		prm.SeqHi, prm.ESN = a.State.SeqHi(), a.ESN
	}
	if h := a.AH; h != nil {
		prm.AH = lso.AHParams{HeaderLen: h.Transform.HeaderLen(p.Meta.IPv6), SeqHi: h.State.SeqHi(), ESN: h.ESN}
	}
	plan, err := lso.Prepare(p.Bytes(), prm)
	if err != nil {
		return plan, err
	}
	espOff, ahOff := int32(plan.ESPOffset()), int32(plan.AHOffset())
	if (p.Meta.ESP != 0 && p.Meta.ESP != espOff) || (p.Meta.AH != 0 && p.Meta.AH != ahOff) {
		return lso.Plan{}, errOffsets
	}
	return plan, nil
}

var (
	errUnknownHandle = errors.New("stage: unknown handle")
	errOffsets       = errors.New("stage: the OOB header offsets are not where the large send's headers are")
)

func lsoReason(err error) packet.Reason {
	switch {
	case errors.Is(err, errUnknownHandle):
		return packet.ReasonUnknownHandle
	case errors.Is(err, lso.ErrSeqExhausted):
		return packet.ReasonSeqExhausted
	case errors.Is(err, lso.ErrUnsupported):
		return packet.ReasonUnsupported
	}
	return packet.ReasonMalformed
}

func (x *txLSO) useReader(r *sa.Reader) { x.r = r }
