package stage

import (
	"encoding/binary"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/internal/inet"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/sa"
)

// txClassify is the first send stage: it decides which packets get IPsec at all and finds
// where their ESP and AH headers are.
//
//   - Handle 0: no IPsec processing (R-TX-2).
//   - A protocol the packet needs not enabled for its IP version in the current
//     configuration (ESP when EspHeaderOffset is set or AhHeaderOffset is not, AH when
//     AhHeaderOffset is set, both for an ESP+AH packet): sent without IPsec processing
//     (R-TX-1), as the host framed it.
//   - Otherwise the ESP header of the OffloadHandle SA is at EspHeaderOffset and its AH
//     header at AhHeaderOffset (4-byte units from the start of the frame, which is the
//     outermost IP header; 0 for a part the SA does not have). With both, AH comes first
//     (ESP is applied first, then AH over the result, so AH is outside) and ESP runs to the
//     end of the frame. In a combined transport+tunnel packet (R-TX-5) the tunnel SA's ESP
//     header follows the outer IP header (and the UDP header of NAT-T); the lookup stage,
//     which knows the tunnel SA's IV length, finds it and where the transport ESP region
//     ends. A large send (MSS != 0) is left to the LSO stage.
//
// Results go to packet.Meta; a packet whose offsets or lengths do not add up fails with
// ReasonMalformed.
type txClassify struct{ env *Env }

// allowed is which protocols the current configuration enables, [IPv4, IPv6]: read once
// per burst.
func (c *txClassify) allowed() (espOn, ahOn [2]bool) {
	return [2]bool{c.env.espAllowed(false), c.env.espAllowed(true)},
		[2]bool{c.env.ahAllowed(false), c.env.ahAllowed(true)}
}

// one classifies a packet.
func (c *txClassify) one(p *packet.Buffer, espOn, ahOn *[2]bool) {
	p.Meta = packet.Meta{}
	if p.Tx.Status != 0 || p.Tx.Reason != packet.ReasonNone {
		// Only when stale: the host reads this line on every completion, and a store here
		// would take it back from the host's core on every packet (see packet.Buffer).
		p.Tx.Status, p.Tx.Reason = 0, packet.ReasonNone
	}
	frame := p.Bytes()
	if len(frame) < 20 {
		p.Tx.Fail(packet.ReasonMalformed)
		return
	}
	v6 := frame[0]>>4 == 6
	if !v6 && frame[0]>>4 != 4 {
		p.Tx.Fail(packet.ReasonMalformed)
		return
	}
	p.Meta.IPv6 = v6
	if p.Tx.OffloadHandle == 0 {
		if p.Tx.TunnelHandle != 0 {
			p.Tx.Fail(packet.ReasonMalformed) // a tunnel SA without its transport SA
		}
		return // R-TX-2: no IPsec for this packet
	}
	wantAH := p.Tx.AhHeaderOffset != 0
	wantESP := p.Tx.EspHeaderOffset != 0 || !wantAH
	fam := 0
	if v6 {
		fam = 1
	}
	if (wantESP && !espOn[fam]) || (wantAH && !ahOn[fam]) {
		return // R-TX-1: offload disabled, the packet leaves as framed
	}
	hdr, ok := ipHeaderLen(frame)
	if !ok || ipTotalLen(frame) != len(frame) {
		p.Tx.Fail(packet.ReasonMalformed)
		return
	}
	espOff, ahOff := int(p.Tx.EspHeaderOffset)*4, int(p.Tx.AhHeaderOffset)*4
	switch {
	case wantESP && (espOff < hdr || espOff+espMinRegion > len(frame)),
		wantAH && (ahOff < hdr || ahOff+ahFixedLen > len(frame)),
		wantESP && wantAH && espOff <= ahOff:
		p.Tx.Fail(packet.ReasonMalformed)
		return
	}
	if wantESP {
		p.Meta.ESP, p.Meta.ESPEnd = int32(espOff), int32(len(frame))
	}
	if wantAH {
		p.Meta.AH = int32(ahOff)
	}
	if p.Tx.TunnelHandle != 0 && p.Tx.MSS != 0 {
		// LSO of a combined transport+tunnel packet is not offered.
		p.Tx.Fail(packet.ReasonUnsupported)
	}
}

// hasIPsec reports whether the classifier found IPsec work for the packet.
func hasIPsec(p *packet.Buffer) bool { return p.Meta.ESP != 0 || p.Meta.AH != 0 }

// ahFixedLen is the part of an AH header every algorithm has (RFC 4302 section 2).
const ahFixedLen = 12

// espMinRegion is the smallest ESP region: header, IV, pad length and next header.
const espMinRegion = 8 + 8 + 2

// classifyCombined finds the tunnel SA's headers in a combined packet and checks that the
// transport SA's lie inside the inner IP packet:
//
//	outer IP | [AH(tunnel)] | [UDP] | [ESP(tunnel) | IV] | inner IP | [AH(transport)] | [ESP(transport) ...
//	         ... transport trailer and ICV] | [tunnel trailer and ICV]
//
// t is the tunnel SA (its parts say which headers there are, its IV length where the inner
// packet starts), a the transport SA. It sets Meta.TunnelAH, Meta.TunnelESP, Meta.Inner and
// Meta.ESPEnd (the end of the inner packet, where the transport part's region ends).
func classifyCombined(p *packet.Buffer, frame []byte, a, t *sa.SA) bool {
	hdr, _ := ipHeaderLen(frame)
	off, proto := hdr, ipProtocol(frame)
	if t.AH != nil {
		if proto != inet.ProtoAH || off+ahFixedLen > len(frame) {
			return false
		}
		n := (int(frame[off+1]) + 2) * 4
		if n != t.AH.Transform.HeaderLen(p.Meta.IPv6) || off+n > len(frame) || binary.BigEndian.Uint32(frame[off+4:]) != t.AH.SPI {
			return false
		}
		p.Meta.TunnelAH = int32(off)
		off, proto = off+n, frame[off]
	}
	inner := off
	if t.HasESP() {
		if proto == inet.ProtoUDP && t.AH == nil {
			off += 8
		}
		p.Meta.TunnelESP = int32(off)
		inner = off + esp.HeaderLen + t.Transform.IVLen()
	}
	if inner+20 > len(frame) {
		return false
	}
	innerLen := ipTotalLen(frame[inner:])
	innerHdr, ok := ipHeaderLen(frame[inner:])
	end := inner + innerLen
	if !ok || innerLen < innerHdr || end > len(frame) {
		return false
	}
	if a.HasESP() && (int(p.Meta.ESP) < inner+innerHdr || int(p.Meta.ESP)+espMinRegion > end) {
		return false
	}
	if a.AH != nil && (int(p.Meta.AH) < inner+innerHdr || int(p.Meta.AH)+ahFixedLen > end) {
		return false
	}
	p.Meta.Inner, p.Meta.ESPEnd = int32(inner), int32(end)
	return true
}

// ipHeaderLen is the length of the IP header at the start of b: IHL*4 for IPv4, 40 for
// IPv6 (the send path does not look past IPv6 extension headers: the ESP offset comes from
// the OOB).
func ipHeaderLen(b []byte) (int, bool) {
	if len(b) < 20 {
		return 0, false
	}
	switch b[0] >> 4 {
	case 4:
		n := int(b[0]&0xf) * 4
		return n, n >= 20 && n <= len(b)
	case 6:
		return 40, len(b) >= 40
	}
	return 0, false
}

// ipTotalLen is the packet length the IP header claims (IPv4 total length, IPv6 40 +
// payload length); -1 if b is too short to say.
func ipTotalLen(b []byte) int {
	switch {
	case len(b) >= 20 && b[0]>>4 == 4:
		return int(binary.BigEndian.Uint16(b[2:]))
	case len(b) >= 40 && b[0]>>4 == 6:
		return 40 + int(binary.BigEndian.Uint16(b[4:]))
	}
	return -1
}

// ipProtocol is the IPv4 protocol or the IPv6 next header.
func ipProtocol(b []byte) byte {
	if b[0]>>4 == 6 {
		return b[6]
	}
	return b[9]
}
