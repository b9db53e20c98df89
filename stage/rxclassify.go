package stage

import (
	"github.com/ov2dev/ov2/internal/rxparse"
	"github.com/ov2dev/ov2/packet"
)

// The receive classifier runs where packets enter the receive path, before the lanes: it
// has to, because the lane is chosen from the SPI it finds, as a NIC's receive-side scaling
// hashes headers before picking a queue. It parses once; the lane's stages read the result
// from packet.Meta:
//
//	Meta.Kind   the rxparse.Kind
//	Meta.SPI    the SPI of an ESP packet, or the AH SPI of an AH packet
//	Meta.DstOff, Meta.DstLen  the outer destination address (R-RX-2)
//	Meta.AH     the AH header of an AH packet (rxparse.ParseAH)
//	Meta.ESP, Meta.ESPEnd     the ESP header (for AH, the one after AH, if its next header
//	            is ESP: an ESP+AH bundle) and the end of the IP packet
//	Meta.Flags  rxIPv4Options, rxIPv6Ext, rxFragment, rxShort, rxUDP
//
// rxShort marks an ESP header cut short, or an AH header whose lengths do not add up
// (rxparse.AH.Invalid): both are CRYPTO_INVALID_PACKET_SYNTAX if the SPI names an SA.
const (
	rxIPv4Options = 1 << iota
	rxIPv6Ext
	rxFragment
	rxShort
	rxUDP
)

// classifyRx fills Meta for a received frame, clears its receive OOB, and returns the lane
// key: the SPI for ESP, the AH SPI for AH (so every packet of an SA bundle takes one lane),
// else the destination address bytes (so that non-IPsec traffic spreads too; it has no
// per-SA order to keep).
func classifyRx(p *packet.Buffer) uint64 {
	p.Rx = packet.RxInfo{}
	p.Meta = packet.Meta{}
	frame := p.Bytes()
	l := rxparse.Parse(frame)
	m := &p.Meta
	m.Kind, m.IPv6 = uint8(l.Kind), l.IPv6
	if l.Kind == rxparse.KindMalformed {
		return 0
	}
	m.DstOff, m.DstLen = int32(l.DstOff), uint8(l.DstLen)
	m.ESP, m.ESPEnd, m.SPI = int32(l.ESP), int32(l.End), l.SPI
	if l.IPv4Options {
		m.Flags |= rxIPv4Options
	}
	if l.IPv6ExtHeaders {
		m.Flags |= rxIPv6Ext
	}
	if l.Fragment {
		m.Flags |= rxFragment
	}
	if l.Short {
		m.Flags |= rxShort
	}
	if l.Kind == rxparse.KindUDPESP {
		m.Flags |= rxUDP
	}
	if l.Kind == rxparse.KindESP || l.Kind == rxparse.KindUDPESP {
		return uint64(l.SPI)
	}
	if l.Kind == rxparse.KindAH {
		a := rxparse.ParseAH(frame, l)
		m.AH, m.SPI = int32(a.Off), a.SPI
		if a.Invalid {
			m.Flags |= rxShort
		} else if a.NextHeader == ahNextESP {
			m.ESP = int32(a.Payload)
		}
		return uint64(a.SPI)
	}
	d := frame[l.DstOff : l.DstOff+l.DstLen]
	return uint64(d[len(d)-4])<<24 | uint64(d[len(d)-3])<<16 | uint64(d[len(d)-2])<<8 | uint64(d[len(d)-1])
}

// ahNextESP is the AH next header of an ESP+AH bundle's packets: ESP's protocol number.
const ahNextESP = 50
