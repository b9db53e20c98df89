package stage

import (
	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/sa"
)

// txLookup is the send path's SA lookup by handle (R-TX-3): a handle with no outbound SA
// fails that packet alone with NDIS_STATUS_FAILURE; the others in the burst go on. It also
// checks what the host framed against the SA: the SPI in the ESP header, and room for the
// ICV (R-TX-4).
type txLookup struct{ r *sa.Reader }

func (l *txLookup) process(b *Burst) {
	tb := l.r.Begin()
	defer l.r.End()
	for _, p := range b.Slice() {
		if p.Tx.Failed() || p.Meta.ESP == 0 {
			continue
		}
		frame := p.Bytes()
		a := outboundSA(tb, p.Tx.OffloadHandle)
		if a == nil {
			p.Tx.Fail(packet.ReasonUnknownHandle)
			continue
		}
		if !regionFits(frame, int(p.Meta.ESP), int(p.Meta.ESPEnd), a, p.Tx.MSS != 0) {
			p.Tx.Fail(packet.ReasonMalformed)
			continue
		}
		if p.Meta.TunnelESP != 0 {
			t := outboundSA(tb, p.Tx.TunnelHandle)
			if t == nil {
				p.Tx.Fail(packet.ReasonUnknownHandle)
				continue
			}
			if !regionFits(frame, int(p.Meta.TunnelESP), len(frame), t, false) {
				p.Tx.Fail(packet.ReasonMalformed)
			}
		}
	}
}

// outboundSA returns the outbound SA of a handle, or nil: an inbound SA's handle on the send
// path is as unknown as a stale one.
func outboundSA(tb *sa.Table, h uint64) *sa.SA {
	a := tb.Lookup(sa.Handle(h))
	if a == nil || a.Inbound {
		return nil
	}
	return a
}

// regionFits checks an ESP region [start, end) against its SA: the SPI the host wrote is
// the SA's, and (unless it is a large send, whose trailer the NIC writes) the region holds
// header, IV, a trailer and the ICV room.
func regionFits(frame []byte, start, end int, a *sa.SA, lso bool) bool {
	if esp.SPI(frame[start:]) != a.SPI {
		return false
	}
	if lso {
		return true
	}
	return end-start >= espMinRegion+a.Transform.ICVLen()
}

func (x *txLookup) useReader(r *sa.Reader) { x.r = r }
