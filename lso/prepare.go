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
	alg := p.alg()
	pl := Plan{udpOff: -1, innerOff: -1, ahOff: -1, espOff: -1, mss: p.MSS, icvLen: p.ICVLen, nextHeader: p.NextHeader,
		frameLen: len(frame), ivLen: alg.IVLen(), alg: alg}
	proto, err := pl.parseOuter(frame, p.AH.HeaderLen != 0)
	if err != nil {
		return Plan{}, err
	}
	switch proto {
	case inet.ProtoAH:
		if err := pl.parseAH(frame, &p); err != nil {
			return Plan{}, err
		}
	case inet.ProtoUDP:
		if err := pl.parseUDP(frame); err != nil {
			return Plan{}, err
		}
	default:
		pl.espOff = pl.outerHL
	}
	// body is where the ESP payload (or, for AH alone, the AH payload) starts.
	body := pl.ahOff + pl.ahLen
	if pl.espOff >= 0 {
		if left := len(frame) - pl.espOff; left < esp.HeaderLen+pl.ivLen {
			return Plan{}, fmt.Errorf("%w: ESP header and IV at offset %d: %d bytes left, want %d",
				ErrMalformed, pl.espOff, left, esp.HeaderLen+pl.ivLen)
		}
		spi := esp.SPI(frame[pl.espOff:])
		if spi == 0 {
			return Plan{}, fmt.Errorf("%w: ESP SPI 0 at offset %d: reserved, never sent (RFC 4303 §2.1)", ErrMalformed, pl.espOff)
		}
		body = pl.espOff + esp.HeaderLen + pl.ivLen
	}
	// From here on the data ends where the host padding begins.
	end := len(frame) - p.PadLength
	if end < body {
		return Plan{}, fmt.Errorf("%w: PadLength %d: only %d bytes follow the %s", ErrMalformed, p.PadLength, len(frame)-body, pl.bodyName())
	}
	if pl.nextHeader == inet.ProtoTCP {
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
	if pl.ahOff >= 0 {
		s := uint64(p.AH.SeqHi)<<32 | uint64(binary.BigEndian.Uint32(frame[pl.ahOff+8:]))
		if err := pl.checkSeq("AH ", s, p.AH.ESN); err != nil {
			return Plan{}, err
		}
		pl.ahSeq, pl.seq = s, s
	}
	if pl.espOff >= 0 {
		if err := pl.setSeq(uint64(p.SeqHi)<<32|uint64(esp.Seq(frame[pl.espOff:])), p.ESN); err != nil {
			return Plan{}, err
		}
	}
	return pl, nil
}

// bodyName names what body follows, for an error.
func (pl *Plan) bodyName() string {
	if pl.espOff < 0 {
		return "AH header"
	}
	return "ESP IV"
}

// parseAH reads the AH header right after the outer IP header (RFC 4302 §2): its length must
// be the SA's, its SPI not 0. The next header says what follows: ESP (an ESP+AH bundle, whose
// ESP fields are then checked), or TCP or an inner IP header for AH alone, whose mode it is
// (the OOB NextHeader, which names the ESP trailer's next header, must then be 0 or agree).
func (pl *Plan) parseAH(frame []byte, p *Params) error {
	off := pl.outerHL
	if left := len(frame) - off; left < ahFixedLen {
		return fmt.Errorf("%w: AH header at offset %d: %d bytes left, want %d", ErrMalformed, off, left, p.AH.HeaderLen)
	}
	n := (int(frame[off+1]) + 2) * 4
	switch {
	case n != p.AH.HeaderLen:
		return fmt.Errorf("%w: AH header at offset %d is %d bytes (payload length %d), the SA's is %d",
			ErrMalformed, off, n, frame[off+1], p.AH.HeaderLen)
	case off+n > len(frame):
		return fmt.Errorf("%w: AH header at offset %d: %d bytes left, want %d", ErrMalformed, off, len(frame)-off, n)
	case binary.BigEndian.Uint32(frame[off+4:]) == 0:
		return fmt.Errorf("%w: AH SPI 0 at offset %d: reserved, never sent (RFC 4302 §2.4)", ErrMalformed, off)
	}
	pl.ahOff, pl.ahLen = off, n
	nh := frame[off]
	if nh == inet.ProtoESP {
		pl.espOff = off + n
		return p.checkESP()
	}
	if err := checkNextHeader("AH", nh); err != nil {
		return err
	}
	if p.NextHeader != 0 && p.NextHeader != nh {
		return fmt.Errorf("%w: OOB next header %d, the AH header's is %d (AH alone has no ESP trailer)", ErrMalformed, p.NextHeader, nh)
	}
	pl.nextHeader, pl.icvLen, pl.ivLen = nh, 0, 0
	return nil
}

// parseOuter reads the outer IP header, checks its length against the frame, and returns the
// protocol it carries: ESP or UDP, or AH when the SA has AH (checked here; anything else is
// refused).
func (pl *Plan) parseOuter(frame []byte, withAH bool) (byte, error) {
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
	switch {
	case withAH && proto == inet.ProtoAH:
		return proto, nil
	case withAH:
		return 0, fmt.Errorf("%w: outer protocol %d: the SA has AH, want 51 (AH) right after the IP header", ErrMalformed, proto)
	case proto == inet.ProtoESP, proto == inet.ProtoUDP:
		return proto, nil
	case proto == inet.ProtoAH: // the SA has no AH part: AH here is not the NIC's to process
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
// chunk, the RFC 4303 padding that brings the ESP payload and trailer to the algorithm's
// boundary (4 bytes, or the 16-byte block of AES-CBC), pad length, next header and the ICV
// room.
func (pl *Plan) segmentLen(chunk int) int {
	if pl.espOff < 0 {
		return pl.payloadOff + chunk // AH alone: no trailer, no ICV room (the ICV is in the AH header)
	}
	espPayload := pl.payloadOff - (pl.espOff + esp.HeaderLen + pl.ivLen) + chunk
	return pl.payloadOff + chunk + pl.alg.PadLen(espPayload) + esp.TrailerLen + pl.icvLen
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
