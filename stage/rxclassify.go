package stage

import (
	"encoding/binary"

	"github.com/ov2dev/ov2/internal/inet"
	"github.com/ov2dev/ov2/internal/rxparse"
	"github.com/ov2dev/ov2/packet"
)

// The receive classifier is the first stage of a receive lane: it parses once, and the
// lane's stages read the result from packet.Meta:
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

// It runs in the lane, not where packets enter the path (on the core that submits them),
// so that the submitting core neither parses nor writes the NIC's lines of the buffer
// (packet.Buffer's layout): the lookup stage classifies each packet just before it looks
// it up, in one pass over the burst. Where there are several lanes, the submitting core
// still picks the lane from the SPI, as a NIC's receive-side scaling hashes headers before
// picking a queue, but only reads the headers for it (rxLaneKey).

// rxLaneKey is a received frame's lane key: the SPI for ESP, the AH SPI for AH (so every
// packet of an SA bundle takes one lane), else the destination address bytes (so that
// non-IPsec traffic spreads too; it has no per-SA order to keep). It only reads the frame.
func rxLaneKey(p *packet.Buffer) uint64 {
	frame := p.Bytes()
	if _, spi, ok := plainESPv4(frame); ok {
		return uint64(spi)
	}
	if _, _, spi, ok := plainAHv4(frame); ok {
		return uint64(spi)
	}
	l := rxparse.Parse(frame)
	switch l.Kind {
	case rxparse.KindMalformed:
		return 0
	case rxparse.KindESP, rxparse.KindUDPESP:
		return uint64(l.SPI)
	case rxparse.KindAH:
		return uint64(rxparse.ParseAH(frame, l).SPI)
	}
	d := frame[l.DstOff : l.DstOff+l.DstLen]
	return uint64(d[len(d)-4])<<24 | uint64(d[len(d)-3])<<16 | uint64(d[len(d)-2])<<8 | uint64(d[len(d)-1])
}

// plainESPv4 recognizes the commonest received frame, IPv4 with no options and not a
// fragment, carrying ESP with at least its SPI and sequence number, from its fixed offsets;
// it returns the end of the IP packet and the SPI. For such a frame rxparse.Parse gives
// KindESP, the IPv4 destination, the ESP header at 20 and no flags, and classifyRx fills
// the same Meta without it (TestPlainESPv4 checks them against each other). Any other
// frame, or any doubt, is left to rxparse.Parse.
func plainESPv4(frame []byte) (end int, spi uint32, ok bool) {
	const hdr, espMin = 20, 8 // IPv4 header without options; SPI and sequence number
	if len(frame) < hdr+espMin || frame[0] != 0x45 || frame[9] != inet.ProtoESP ||
		binary.BigEndian.Uint16(frame[6:8])&0x3fff != 0 { // MF or a fragment offset
		return 0, 0, false
	}
	total := int(binary.BigEndian.Uint16(frame[2:4]))
	if total < hdr+espMin || total > len(frame) {
		return 0, 0, false
	}
	return total, binary.BigEndian.Uint32(frame[hdr:]), true
}

// plainAHv4 is plainESPv4 for AH (alone, or the outer header of an ESP+AH bundle): IPv4
// with no options and not a fragment, carrying an AH header whose length is not zero and
// ends within the IP packet. It returns the end of the IP packet, where AH's payload starts,
// and the AH SPI. For such a frame rxparse.Parse gives KindAH with the AH header at 20 and
// no flags, and rxparse.ParseAH a valid AH (TestPlainESPv4 checks them against each other).
func plainAHv4(frame []byte) (end, payload int, spi uint32, ok bool) {
	const hdr, ahMin = 20, 12 // IPv4 header without options; AH's fixed part
	if len(frame) < hdr+ahMin || frame[0] != 0x45 || frame[9] != inet.ProtoAH ||
		binary.BigEndian.Uint16(frame[6:8])&0x3fff != 0 || frame[hdr+1] == 0 {
		return 0, 0, 0, false
	}
	total := int(binary.BigEndian.Uint16(frame[2:4]))
	payload = hdr + (int(frame[hdr+1])+2)*4
	if total < hdr+ahMin || total > len(frame) || payload > total {
		return 0, 0, 0, false
	}
	return total, payload, binary.BigEndian.Uint32(frame[hdr+4:]), true
}

// classifyRx fills Meta for a received frame and clears its receive OOB.
func classifyRx(p *packet.Buffer) {
	p.Rx = packet.RxInfo{}
	frame := p.Bytes()
	if end, spi, ok := plainESPv4(frame); ok {
		m := &p.Meta
		*m = packet.Meta{}
		m.Kind, m.DstOff, m.DstLen, m.ESP, m.ESPEnd, m.SPI = uint8(rxparse.KindESP), 16, 4, 20, int32(end), spi
		return
	}
	if end, payload, spi, ok := plainAHv4(frame); ok {
		p.Meta = packet.Meta{Kind: uint8(rxparse.KindAH), DstOff: 16, DstLen: 4, AH: 20, ESPEnd: int32(end), SPI: spi}
		if frame[20] == ahNextESP {
			p.Meta.ESP = int32(payload)
		}
		return
	}
	classifyRxParsed(p, frame)
}

// classifyRxParsed is classifyRx for any frame, through rxparse.Parse.
func classifyRxParsed(p *packet.Buffer, frame []byte) {
	p.Meta = packet.Meta{}
	l := rxparse.Parse(frame)
	m := &p.Meta
	m.Kind, m.IPv6 = uint8(l.Kind), l.IPv6
	if l.Kind == rxparse.KindMalformed {
		return
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
	if l.Kind == rxparse.KindAH {
		a := rxparse.ParseAH(frame, l)
		m.AH, m.SPI = int32(a.Off), a.SPI
		if a.Invalid {
			m.Flags |= rxShort
		} else if a.NextHeader == ahNextESP {
			m.ESP = int32(a.Payload)
		}
	}
}

// ahNextESP is the AH next header of an ESP+AH bundle's packets: ESP's protocol number.
const ahNextESP = 50
