package lso

import (
	"encoding/binary"
	"errors"
	"testing"
)

// Small large sends (3,000 bytes of payload, MSS 1400, 4 bytes of host padding) that the
// malformed cases below break one field at a time. Offsets: IPv4 transport has ESP at 20, TCP
// at 36 (32 bytes with timestamps), payload at 68 and is 3072 bytes long.
var (
	v4Transport = layout{name: "IPv4 transport", icvLen: 16}
	v6Transport = layout{name: "IPv6 transport", outer6: true, icvLen: 16}
	v4NATT      = layout{name: "IPv4 NAT-T", natt: true, icvLen: 16}
	v4Tunnel4   = layout{name: "IPv4 tunnel, inner IPv4", inner: 4, icvLen: 16}
	v4Tunnel6   = layout{name: "IPv4 tunnel, inner IPv6", inner: 41, icvLen: 16}
)

// setU16 writes a big-endian 16-bit field; fixTotal makes an IPv4 frame's total length agree
// with a truncated frame, so that the truncation, not the length, is what Prepare meets.
func setU16(b []byte, off, v int) { binary.BigEndian.PutUint16(b[off:], uint16(v)) }
func fixTotal(b []byte) []byte    { setU16(b, 2, len(b)); return b }

// TestPrepareMalformed: every inconsistent or unsupported large send is refused before any
// segment is cut (R-TX-6), with the sentinel and the exact text naming field and value.
func TestPrepareMalformed(t *testing.T) {
	cases := []struct {
		name   string
		l      layout
		mutate func(b []byte) []byte // nil: leave the frame
		params func(p *Params)       // nil: the send's own
		want   string
		is     error
	}{
		{"MSS 0", v4Transport, nil, func(p *Params) { p.MSS = 0 },
			"lso: malformed large send: MSS 0: want > 0", ErrMalformed},
		{"MSS negative", v4Transport, nil, func(p *Params) { p.MSS = -1 },
			"lso: malformed large send: MSS -1: want > 0", ErrMalformed},
		{"PadLength negative", v4Transport, nil, func(p *Params) { p.PadLength = -1 },
			"lso: malformed large send: PadLength -1: want 0 to 3072 (the frame length)", ErrMalformed},
		{"PadLength past the frame", v4Transport, nil, func(p *Params) { p.PadLength = 5000 },
			"lso: malformed large send: PadLength 5000: want 0 to 3072 (the frame length)", ErrMalformed},
		{"PadLength into the ESP header", v4Transport, nil, func(p *Params) { p.PadLength = 3037 },
			"lso: malformed large send: PadLength 3037: only 3036 bytes follow the ESP IV", ErrMalformed},
		{"PadLength into the TCP header", v4Transport, nil, func(p *Params) { p.PadLength = 3005 },
			"lso: malformed large send: TCP header at offset 36: inet: header truncated: 31 bytes left, want 32", ErrMalformed},
		{"PadLength leaves no payload", v4Transport, nil, func(p *Params) { p.PadLength = 3004 },
			"lso: malformed large send: empty TCP payload: the TCP header ends at 68 and PadLength 3004 leaves nothing after it", ErrMalformed},
		{"ICV length 10", v4Transport, nil, func(p *Params) { p.ICVLen = 10 },
			"lso: unsupported large send: ICV length 10: want 8, 12 or 16", ErrUnsupported},
		{"next header UDP", v4Transport, nil, func(p *Params) { p.NextHeader = 17 },
			"lso: unsupported large send: ESP next header 17: want 6 (TCP, transport mode), 4 or 41 (IPv4 or IPv6, tunnel mode)", ErrUnsupported},
		{"empty frame", v4Transport, func(b []byte) []byte { return nil }, func(p *Params) { p.PadLength = 0 },
			"lso: malformed large send: empty frame", ErrMalformed},
		{"IPv4 header truncated", v4Transport, func(b []byte) []byte { return b[:10] }, func(p *Params) { p.PadLength = 0 },
			"lso: malformed large send: outer IPv4 header at offset 0: inet: header truncated: 10 bytes left, want 20", ErrMalformed},
		{"IPv4 options truncated", v4Transport, func(b []byte) []byte { b[0] = 0x46; return b[:22] }, func(p *Params) { p.PadLength = 0 },
			"lso: malformed large send: outer IPv4 header at offset 0: inet: header truncated: 22 bytes left, want 24", ErrMalformed},
		{"IPv4 IHL 4", v4Transport, func(b []byte) []byte { b[0] = 0x44; return b }, nil,
			"lso: malformed large send: outer IPv4 header at offset 0: inet: header length field below 5: 4 words", ErrMalformed},
		{"IP version 5", v4Transport, func(b []byte) []byte { b[0] = 0x55; return b }, nil,
			"lso: malformed large send: outer IP version 5: want 4 or 6", ErrMalformed},
		{"IPv4 total length too big", v4Transport, func(b []byte) []byte { setU16(b, 2, 3073); return b }, nil,
			"lso: malformed large send: outer IPv4 total length 3073, frame has 3072 bytes", ErrMalformed},
		{"frame cut short", v4Transport, func(b []byte) []byte { return b[:3000] }, nil,
			"lso: malformed large send: outer IPv4 total length 3072, frame has 3000 bytes", ErrMalformed},
		{"IPv4 fragment", v4Transport, func(b []byte) []byte { b[6] |= 0x20; return b }, nil,
			"lso: malformed large send: outer IPv4 header is a fragment (flags/offset 0x6000)", ErrMalformed},
		{"not ESP (TCP)", v4Transport, func(b []byte) []byte { b[9] = 6; return b }, nil,
			"lso: malformed large send: outer protocol 6: want 50 (ESP) or 17 (UDP to port 4500, then ESP)", ErrMalformed},
		{"AH", v4Transport, func(b []byte) []byte { b[9] = 51; return b }, nil,
			"lso: unsupported large send: outer protocol 51 (AH): only ESP large sends are segmented", ErrUnsupported},
		{"ESP header truncated", v4Transport, func(b []byte) []byte { return fixTotal(b[:30]) }, func(p *Params) { p.PadLength = 0 },
			"lso: malformed large send: ESP header and IV at offset 20: 10 bytes left, want 16", ErrMalformed},
		{"SPI 0", v4Transport, func(b []byte) []byte { clear(b[20:24]); return b }, nil,
			"lso: malformed large send: ESP SPI 0 at offset 20: reserved, never sent (RFC 4303 §2.1)", ErrMalformed},
		{"TCP header truncated", v4Transport, func(b []byte) []byte { return fixTotal(b[:46]) }, func(p *Params) { p.PadLength = 0 },
			"lso: malformed large send: TCP header at offset 36: inet: header truncated: 10 bytes left, want 20", ErrMalformed},
		{"TCP data offset 4", v4Transport, func(b []byte) []byte { b[36+12] = 0x40; return b }, nil,
			"lso: malformed large send: TCP header at offset 36: inet: header length field below 5: 4 words", ErrMalformed},
		{"segments over 65535 bytes", v4Transport, func(b []byte) []byte { return fixTotal(append(b[:68], make([]byte, 65467)...)) },
			func(p *Params) { p.PadLength, p.MSS = 0, 65536 },
			"lso: malformed large send: MSS 65536 makes 65556-byte segments: outer IPv4 total length 65556 exceeds 65535", ErrMalformed},

		{"UDP to port 53", v4NATT, func(b []byte) []byte { setU16(b, 22, 53); return b }, nil,
			"lso: malformed large send: UDP destination port 53: want 4500 (ESP in UDP, RFC 3948)", ErrMalformed},
		{"UDP length wrong", v4NATT, func(b []byte) []byte { setU16(b, 24, 3061); return b }, nil,
			"lso: malformed large send: UDP length 3061, 3060 bytes from the UDP header to the frame's end", ErrMalformed},
		{"UDP header truncated", v4NATT, func(b []byte) []byte { return fixTotal(b[:25]) }, func(p *Params) { p.PadLength = 0 },
			"lso: malformed large send: UDP header at offset 20: inet: header truncated: 5 bytes left, want 8", ErrMalformed},

		{"IPv6 hop-by-hop options", v6Transport, func(b []byte) []byte { b[6] = 0; return b }, nil,
			"lso: unsupported large send: outer IPv6 next header 0 is an extension header", ErrUnsupported},
		{"IPv6 fragment header", v6Transport, func(b []byte) []byte { b[6] = 44; return b }, nil,
			"lso: unsupported large send: outer IPv6 next header 44 is an extension header", ErrUnsupported},
		{"IPv6 payload length wrong", v6Transport, func(b []byte) []byte { setU16(b, 4, 3000); return b }, nil,
			"lso: malformed large send: outer IPv6 payload length 3000, frame has 3052 bytes after the header", ErrMalformed},
		{"IPv6 header truncated", v6Transport, func(b []byte) []byte { return b[:30] }, func(p *Params) { p.PadLength = 0 },
			"lso: malformed large send: outer IPv6 header at offset 0: inet: header truncated: 30 bytes left, want 40", ErrMalformed},

		{"inner IPv4 total length wrong", v4Tunnel4, func(b []byte) []byte { setU16(b, 36+2, 3051); return b }, nil,
			"lso: malformed large send: inner IPv4 total length 3051, 3052 bytes between the IV and the host padding", ErrMalformed},
		{"inner UDP", v4Tunnel4, func(b []byte) []byte { b[36+9] = 17; return b }, nil,
			"lso: unsupported large send: inner protocol 17: only TCP (6) is segmented", ErrUnsupported},
		{"inner version 6 under next header 4", v4Tunnel4, func(b []byte) []byte { b[36] = 0x65; return b }, nil,
			"lso: malformed large send: inner IPv4 header at offset 36: inet: wrong IP version: version 6", ErrMalformed},
		{"inner IPv4 fragment", v4Tunnel4, func(b []byte) []byte { setU16(b, 36+6, 0x0010); return b }, nil,
			"lso: malformed large send: inner IPv4 header is a fragment (flags/offset 0x0010)", ErrMalformed},
		{"inner IPv6 destination options", v4Tunnel6, func(b []byte) []byte { b[36+6] = 60; return b }, nil,
			"lso: unsupported large send: inner IPv6 next header 60 is an extension header", ErrUnsupported},
		{"inner IPv6 payload length wrong", v4Tunnel6, func(b []byte) []byte { setU16(b, 36+4, 3033); return b }, nil,
			"lso: malformed large send: inner IPv6 payload length 3033, 3032 bytes between its header and the host padding", ErrMalformed},
		{"inner IPv6 truncated by PadLength", v4Tunnel6, nil, func(p *Params) { p.PadLength = 3112 - 36 - 39 },
			"lso: malformed large send: inner IPv6 header at offset 36: inet: header truncated: 39 bytes left, want 40", ErrMalformed},
	}
	payload := testPayload(3000)
	for _, c := range cases {
		frame := largeSend(t, c.l, payload, 4, 1)
		p := Params{MSS: 1400, PadLength: 4, NextHeader: c.l.nextHeader(), ICVLen: c.l.icvLen}
		if _, err := Prepare(frame, p); err != nil {
			t.Fatalf("%s: the unbroken send is refused: %v", c.name, err)
		}
		if c.mutate != nil {
			frame = c.mutate(frame)
		}
		if c.params != nil {
			c.params(&p)
		}
		pl, err := Prepare(frame, p)
		if err == nil || err.Error() != c.want || !errors.Is(err, c.is) {
			t.Errorf("%s:\n got %v\nwant %s", c.name, err, c.want)
		}
		if pl != (Plan{}) {
			t.Errorf("%s: refused send returned a non-zero Plan", c.name)
		}
	}
}

// TestPrepareOffsets checks the Plan's accessors on each layout of TestSegmentLayouts.
func TestPrepareOffsets(t *testing.T) {
	want := map[string]struct{ udp, esp, inner, tcp, payload int }{
		"IPv4 transport":                {-1, 20, -1, 36, 68},
		"IPv6 transport":                {-1, 40, -1, 56, 88},
		"IPv4 tunnel, inner IPv4":       {-1, 24, 40, 60, 92},
		"IPv6-in-IPv4 tunnel":           {-1, 20, 36, 76, 108},
		"IPv4 NAT-T transport":          {20, 28, -1, 44, 76},
		"IPv6 NAT-T tunnel, inner IPv4": {40, 48, 64, 84, 116},
	}
	for _, c := range layoutCases {
		frame := largeSend(t, c.l, testPayload(3000), 0, 9)
		pl, err := Prepare(frame, Params{MSS: 1000, NextHeader: c.l.nextHeader(), ICVLen: c.l.icvLen})
		if err != nil {
			t.Fatalf("%s: %v", c.l.name, err)
		}
		w := want[c.l.name]
		if pl.UDPOffset() != w.udp || pl.ESPOffset() != w.esp || pl.InnerIPOffset() != w.inner || pl.TCPOffset() != w.tcp ||
			pl.PayloadOffset() != w.payload || pl.PayloadLen() != 3000 || pl.Count() != 3 || pl.MSS() != 1000 ||
			pl.NextHeader() != c.l.nextHeader() || pl.ICVLen() != c.l.icvLen || pl.IPv6() != c.l.outer6 ||
			pl.InnerIPv6() != (c.l.inner == 41) {
			t.Errorf("%s: udp %d esp %d inner %d tcp %d payload %d/%d count %d", c.l.name, pl.UDPOffset(), pl.ESPOffset(),
				pl.InnerIPOffset(), pl.TCPOffset(), pl.PayloadOffset(), pl.PayloadLen(), pl.Count())
		}
	}
}
