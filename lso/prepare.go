package lso

import (
	"encoding/binary"
	"fmt"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/internal/inet"
)

// Prepare parses and checks a large send (R-TX-6) and returns the Plan that Segment follows.
// frame runs from the outer IP header to the end of the host padding:
//
//	transport: IP | [UDP 4500] | ESP hdr | IV | TCP | payload | PadLength bytes
//	tunnel:    IP | [UDP 4500] | ESP hdr | IV | inner IP | TCP | payload | PadLength bytes
//
// Everything is checked before any segment is cut, so a send is refused whole or not at all:
// lengths agree with len(frame) (IPv4 total length, IPv6 payload length, UDP length, the inner
// header's length with the end of the payload before the host padding), the outer header
// carries ESP or UDP to port 4500 then ESP, the TCP payload is not empty, and the sequence
// numbers S..S+Count-1 are all usable (R-TX-7, R-TX-8). It does not allocate unless it
// returns an error.
func Prepare(frame []byte, p Params) (Plan, error) {
	if err := p.check(len(frame)); err != nil {
		return Plan{}, err
	}
	pl := Plan{udpOff: -1, innerOff: -1, mss: p.MSS, icvLen: p.ICVLen, nextHeader: p.NextHeader, frameLen: len(frame)}
	proto, err := pl.parseOuter(frame)
	if err != nil {
		return Plan{}, err
	}
	if proto == inet.ProtoUDP {
		if err := pl.parseUDP(frame); err != nil {
			return Plan{}, err
		}
	} else {
		pl.espOff = pl.outerHL
	}
	if left := len(frame) - pl.espOff; left < esp.PayloadOffset {
		return Plan{}, fmt.Errorf("%w: ESP header and IV at offset %d: %d bytes left, want %d",
			ErrMalformed, pl.espOff, left, esp.PayloadOffset)
	}
	spi := esp.SPI(frame[pl.espOff:])
	if spi == 0 {
		return Plan{}, fmt.Errorf("%w: ESP SPI 0 at offset %d: reserved, never sent (RFC 4303 §2.1)", ErrMalformed, pl.espOff)
	}
	// From here on the data ends where the host padding begins.
	body := pl.espOff + esp.PayloadOffset
	end := len(frame) - p.PadLength
	if end < body {
		return Plan{}, fmt.Errorf("%w: PadLength %d: only %d bytes follow the ESP IV", ErrMalformed, p.PadLength, len(frame)-body)
	}
	if p.NextHeader == inet.ProtoTCP {
		pl.tcpOff = body
	} else if err := pl.parseInner(frame[:end], body); err != nil {
		return Plan{}, err
	}
	tcp, err := inet.ParseTCP(frame[pl.tcpOff:end])
	if err != nil {
		return Plan{}, headerErr(tcpHeader, pl.tcpOff, frame[pl.tcpOff:end], inet.TCPMinHeaderLen, err)
	}
	pl.payloadOff = pl.tcpOff + len(tcp)
	pl.payloadLen = end - pl.payloadOff
	if pl.payloadLen == 0 {
		return Plan{}, fmt.Errorf("%w: empty TCP payload: the TCP header ends at %d and PadLength %d leaves nothing after it",
			ErrMalformed, pl.payloadOff, p.PadLength)
	}
	pl.count = (pl.payloadLen + p.MSS - 1) / p.MSS
	pl.maxSegLen = pl.segmentLen(min(p.MSS, pl.payloadLen))
	if err := pl.checkSize(); err != nil {
		return Plan{}, err
	}
	if err := pl.setSeq(uint64(p.SeqHi)<<32|uint64(esp.Seq(frame[pl.espOff:])), p.ESN); err != nil {
		return Plan{}, err
	}
	return pl, nil
}

// parseOuter reads the outer IP header, checks its length against the frame, and returns the
// protocol it carries: ESP or UDP (checked here; anything else is refused).
func (pl *Plan) parseOuter(frame []byte) (byte, error) {
	if len(frame) == 0 {
		return 0, fmt.Errorf("%w: empty frame", ErrMalformed)
	}
	var proto byte
	switch v := frame[0] >> 4; v {
	case 4:
		h, err := inet.ParseIPv4(frame)
		if err != nil {
			return 0, headerErr(outerIPv4, 0, frame, inet.IPv4MinHeaderLen, err)
		}
		if h.TotalLen() != len(frame) {
			return 0, fmt.Errorf("%w: outer IPv4 total length %d, frame has %d bytes", ErrMalformed, h.TotalLen(), len(frame))
		}
		if h.IsFragment() {
			return 0, fmt.Errorf("%w: outer IPv4 header is a fragment (flags/offset %#04x)", ErrMalformed, binary.BigEndian.Uint16(h[6:8]))
		}
		pl.outerHL, proto = len(h), h.Protocol()
	case 6:
		h, err := inet.ParseIPv6(frame)
		if err != nil {
			return 0, headerErr(outerIPv6, 0, frame, inet.IPv6HeaderLen, err)
		}
		if h.PayloadLen() != len(frame)-inet.IPv6HeaderLen {
			return 0, fmt.Errorf("%w: outer IPv6 payload length %d, frame has %d bytes after the header",
				ErrMalformed, h.PayloadLen(), len(frame)-inet.IPv6HeaderLen)
		}
		if inet.IsIPv6ExtensionHeader(h.NextHeader()) {
			return 0, fmt.Errorf("%w: outer IPv6 next header %d is an extension header", ErrUnsupported, h.NextHeader())
		}
		pl.outerHL, proto, pl.ipv6 = inet.IPv6HeaderLen, h.NextHeader(), true
	default:
		return 0, fmt.Errorf("%w: outer IP version %d: want 4 or 6", ErrMalformed, v)
	}
	switch proto {
	case inet.ProtoESP, inet.ProtoUDP:
		return proto, nil
	case inet.ProtoAH:
		return 0, fmt.Errorf("%w: outer protocol 51 (AH): only ESP large sends are segmented", ErrUnsupported)
	}
	return 0, fmt.Errorf("%w: outer protocol %d: want 50 (ESP) or 17 (UDP to port 4500, then ESP)", ErrMalformed, proto)
}

// parseUDP reads the NAT-T UDP header after the outer IP header (RFC 3948 §2.1).
func (pl *Plan) parseUDP(frame []byte) error {
	off := pl.outerHL
	u, err := inet.ParseUDP(frame[off:])
	if err != nil {
		return headerErr(udpHeader, off, frame[off:], inet.UDPHeaderLen, err)
	}
	if u.DstPort() != inet.PortNATT {
		return fmt.Errorf("%w: UDP destination port %d: want 4500 (ESP in UDP, RFC 3948)", ErrMalformed, u.DstPort())
	}
	if u.Length() != len(frame)-off {
		return fmt.Errorf("%w: UDP length %d, %d bytes from the UDP header to the frame's end", ErrMalformed, u.Length(), len(frame)-off)
	}
	pl.udpOff, pl.espOff = off, off+inet.UDPHeaderLen
	return nil
}

// parseInner reads a tunnel-mode inner IP header at off; data ends where the host padding
// begins, which is where the inner packet must end too.
func (pl *Plan) parseInner(data []byte, off int) error {
	pl.innerOff = off
	var proto byte
	if pl.nextHeader == inet.ProtoIPv4 {
		h, err := inet.ParseIPv4(data[off:])
		if err != nil {
			return headerErr(innerIPv4, off, data[off:], inet.IPv4MinHeaderLen, err)
		}
		if h.TotalLen() != len(data)-off {
			return fmt.Errorf("%w: inner IPv4 total length %d, %d bytes between the IV and the host padding",
				ErrMalformed, h.TotalLen(), len(data)-off)
		}
		if h.IsFragment() {
			return fmt.Errorf("%w: inner IPv4 header is a fragment (flags/offset %#04x)", ErrMalformed, binary.BigEndian.Uint16(h[6:8]))
		}
		pl.tcpOff, proto = off+len(h), h.Protocol()
	} else {
		h, err := inet.ParseIPv6(data[off:])
		if err != nil {
			return headerErr(innerIPv6, off, data[off:], inet.IPv6HeaderLen, err)
		}
		if h.PayloadLen() != len(data)-off-inet.IPv6HeaderLen {
			return fmt.Errorf("%w: inner IPv6 payload length %d, %d bytes between its header and the host padding",
				ErrMalformed, h.PayloadLen(), len(data)-off-inet.IPv6HeaderLen)
		}
		if inet.IsIPv6ExtensionHeader(h.NextHeader()) {
			return fmt.Errorf("%w: inner IPv6 next header %d is an extension header", ErrUnsupported, h.NextHeader())
		}
		pl.tcpOff, proto, pl.innerIPv6 = off+inet.IPv6HeaderLen, h.NextHeader(), true
	}
	if proto != inet.ProtoTCP {
		return fmt.Errorf("%w: inner protocol %d: only TCP (6) is segmented", ErrUnsupported, proto)
	}
	return nil
}

// segmentLen is the length of a segment carrying chunk bytes of TCP payload: the headers, the
// chunk, the RFC 4303 padding that ends the trailer on a 4-byte boundary, pad length, next
// header and the ICV room.
func (pl *Plan) segmentLen(chunk int) int {
	espPayload := pl.payloadOff - (pl.espOff + esp.PayloadOffset) + chunk
	return pl.payloadOff + chunk + esp.PadLen(espPayload) + esp.TrailerLen + pl.icvLen
}

// checkSize refuses an MSS whose segments, grown by padding, trailer and ICV, no longer fit the
// outer header's 16-bit length field. It can only happen when one segment is about as long as
// the whole large send.
func (pl *Plan) checkSize() error {
	n, field := pl.maxSegLen, "IPv4 total length"
	if pl.ipv6 {
		n, field = pl.maxSegLen-inet.IPv6HeaderLen, "IPv6 payload length"
	}
	if n > 0xffff {
		return fmt.Errorf("%w: MSS %d makes %d-byte segments: outer %s %d exceeds 65535",
			ErrMalformed, pl.mss, pl.maxSegLen, field, n)
	}
	return nil
}
