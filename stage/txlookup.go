package stage

import (
	"encoding/binary"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/sa"
)

// txLookup is the send path's SA lookup by handle (R-TX-3): a handle with no outbound SA
// fails that packet alone with NDIS_STATUS_FAILURE; the others in the burst go on. It also
// checks what the host framed against the SA (R-TX-4): the packet has exactly the headers
// the bundle's parts need (ESP, AH, or ESP after AH), each carrying the part's SPI; an ESP
// region holds header, the suite's IV, a trailer (padded to whole blocks for AES-CBC) and
// room for the ICV; an AH header is as long as the SA's ICV (and IV) make it, and in an
// ESP+AH packet ESP follows it directly. For a combined transport+tunnel packet it finds
// the tunnel SA's headers, whose parts and IV length it knows (classifyCombined), and checks
// the transport SA's inside the inner packet.
//
// The SA it finds goes on with the burst to the seal stage when that runs next in the same
// read section (Burst.carry).
type txLookup struct{}

// one looks up the SA of packet i of b (classified, not failed, with IPsec work) and checks
// the framing against it; the SA found is carried with the burst (b.startCarry was called).
func (l *txLookup) one(b *Burst, i int, p *packet.Buffer, tb *sa.Table) {
	frame := p.Bytes()
	a := outboundSA(tb, p.Tx.OffloadHandle)
	if a == nil {
		p.Tx.Fail(packet.ReasonUnknownHandle)
		return
	}
	end := len(frame) // where the transport part's datagram ends
	if p.Tx.TunnelHandle != 0 {
		t := outboundSA(tb, p.Tx.TunnelHandle)
		switch {
		case t == nil:
			p.Tx.Fail(packet.ReasonUnknownHandle)
			return
		case !classifyCombined(p, frame, a, t) ||
			(t.HasESP() && !regionFits(frame, int(p.Meta.TunnelESP), len(frame), t, false)):
			p.Tx.Fail(packet.ReasonMalformed)
			return
		}
		end = int(p.Meta.ESPEnd)
	}
	if !framingFits(frame, end, p, a) {
		p.Tx.Fail(packet.ReasonMalformed)
		return
	}
	b.carry(i, a)
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

// framingFits checks the packet's ESP and AH offsets against the parts of its SA; the SA's
// datagram ends at end (the inner packet's end in a combined packet).
func framingFits(frame []byte, end int, p *packet.Buffer, a *sa.SA) bool {
	lso := p.Tx.MSS != 0
	if (p.Meta.ESP != 0) != a.HasESP() || (p.Meta.AH != 0) != (a.AH != nil) {
		return false
	}
	if a.HasESP() && !regionFits(frame, int(p.Meta.ESP), int(p.Meta.ESPEnd), a, lso) {
		return false
	}
	if a.AH == nil {
		return true
	}
	off := int(p.Meta.AH)
	n := (int(frame[off+1]) + 2) * 4
	v6 := p.Meta.IPv6
	if p.Meta.Inner != 0 {
		v6 = frame[p.Meta.Inner]>>4 == 6 // the transport SA's AH follows the inner header
	}
	return binary.BigEndian.Uint32(frame[off+4:]) == a.AH.SPI && n == a.AH.Transform.HeaderLen(v6) &&
		off+n <= end && (p.Meta.ESP == 0 || int(p.Meta.ESP) == off+n)
}

// regionFits checks an ESP region [start, end) against its SA: the SPI the host wrote is
// the SA's, and (unless it is a large send, whose trailer the NIC writes) the region holds
// header, IV, a trailer and the ICV room, the payload and trailer in whole blocks for
// AES-CBC.
func regionFits(frame []byte, start, end int, a *sa.SA, lso bool) bool {
	if esp.SPI(frame[start:]) != a.SPI {
		return false
	}
	if lso {
		return true
	}
	tr := a.Transform
	body := end - start - tr.PayloadOffset() - tr.ICVLen() // payload, padding, pad length, next header
	if body < esp.TrailerLen {
		return false
	}
	// AES-CBC encrypts whole blocks; the stream and null suites work on any length (the
	// 4-byte boundary of RFC 4303 section 2.4 is the host's to keep).
	return tr.PadAlign() != esp.CBCBlockSize || body%esp.CBCBlockSize == 0
}
