package stage

import (
	"encoding/binary"
	"github.com/ov2dev/ov2/internal/inet"

	"github.com/ov2dev/ov2/packet"
)

// txClassify is the first send stage: it decides which packets get IPsec at all and finds
// where their ESP headers are.
//
//   - Handle 0: no IPsec processing (R-TX-2).
//   - ESP not enabled for the packet's IP version in the current configuration: sent
//     without IPsec processing (R-TX-1), as the host framed it.
//   - Otherwise the ESP header of the OffloadHandle SA is at EspHeaderOffset (4-byte units
//     from the start of the frame, which is the outermost IP header). In a combined
//     transport+tunnel packet (R-TX-5) the tunnel SA's ESP header follows the outer IP
//     header (and the UDP header of NAT-T), and the transport ESP region ends where the
//     inner IP packet ends. A large send (MSS != 0) is left to the LSO stage.
//
// Results go to packet.Meta; a packet whose offsets or lengths do not add up fails with
// ReasonMalformed.
type txClassify struct{ env *Env }

func (c *txClassify) process(b *Burst) {
	cfgV4, cfgV6 := c.env.espAllowed(false), c.env.espAllowed(true)
	for _, p := range b.Slice() {
		p.Meta = packet.Meta{}
		p.Tx.Status, p.Tx.Reason = 0, packet.ReasonNone
		frame := p.Bytes()
		if len(frame) < 20 {
			p.Tx.Fail(packet.ReasonMalformed)
			continue
		}
		v6 := frame[0]>>4 == 6
		if !v6 && frame[0]>>4 != 4 {
			p.Tx.Fail(packet.ReasonMalformed)
			continue
		}
		p.Meta.IPv6 = v6
		if p.Tx.OffloadHandle == 0 {
			if p.Tx.TunnelHandle != 0 {
				p.Tx.Fail(packet.ReasonMalformed) // a tunnel SA without its transport SA
			}
			continue // R-TX-2: no IPsec for this packet
		}
		if (v6 && !cfgV6) || (!v6 && !cfgV4) {
			continue // R-TX-1: offload disabled, the packet leaves as framed
		}
		hdr, ok := ipHeaderLen(frame)
		if !ok || ipTotalLen(frame) != len(frame) {
			p.Tx.Fail(packet.ReasonMalformed)
			continue
		}
		espOff := int(p.Tx.EspHeaderOffset) * 4
		if espOff < hdr || espOff+espMinRegion > len(frame) {
			p.Tx.Fail(packet.ReasonMalformed)
			continue
		}
		p.Meta.ESP, p.Meta.ESPEnd = int32(espOff), int32(len(frame))
		if p.Tx.MSS != 0 {
			if p.Tx.TunnelHandle != 0 {
				// LSO of a combined transport+tunnel packet is not advertised.
				p.Tx.Fail(packet.ReasonUnsupported)
			}
			continue
		}
		if p.Tx.TunnelHandle != 0 && !classifyCombined(p, frame, hdr) {
			p.Tx.Fail(packet.ReasonMalformed)
		}
	}
}

// espMinRegion is the smallest ESP region: header, IV, pad length and next header.
const espMinRegion = 8 + 8 + 2

// classifyCombined finds the tunnel ESP header and the end of the transport ESP region of
// a combined packet: outer IP | [UDP] | ESP(tunnel) | IV | inner IP | ... | ESP(transport)
// ... | transport trailer and ICV | tunnel trailer and ICV.
func classifyCombined(p *packet.Buffer, frame []byte, hdr int) bool {
	tunnelESP := hdr
	if ipProtocol(frame) == inet.ProtoUDP {
		tunnelESP += 8
	}
	inner := tunnelESP + 16
	if int(p.Meta.ESP) <= inner || inner+20 > len(frame) {
		return false
	}
	innerLen := ipTotalLen(frame[inner:])
	innerHdr, ok := ipHeaderLen(frame[inner:])
	end := inner + innerLen
	if !ok || innerLen < innerHdr || end > len(frame) || int(p.Meta.ESP) < inner+innerHdr ||
		int(p.Meta.ESP)+espMinRegion > end {
		return false
	}
	p.Meta.TunnelESP, p.Meta.ESPEnd = int32(tunnelESP), int32(end)
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
