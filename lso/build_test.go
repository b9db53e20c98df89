package lso

import (
	"encoding/binary"
	"net"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// layout is one shape of large send the tests build: outer IPv4 or IPv6, optional NAT-T,
// transport or tunnel mode.
type layout struct {
	name     string
	outer6   bool
	ipOption bool // outer IPv4 with a 4-byte option (IHL 6)
	natt     bool
	inner    byte // 0: transport mode; 4 or 41: tunnel mode with that next header
	icvLen   int
}

// nextHeader is the ESP trailer's next header for the layout.
func (l layout) nextHeader() byte {
	if l.inner == 0 {
		return 6
	}
	return l.inner
}

// frameSpec is everything that varies between a large send and each of its segments; the
// builder turns one into bytes with gopacket, so the expected segments are made by a
// different code path from the one under test.
type frameSpec struct {
	l             layout
	payload       []byte // TCP payload
	ipID          uint16 // outer and inner IPv4 identification
	tcpSeq        uint32
	fin, psh, cwr bool
	espSeq        uint32
	tail          []byte // after the TCP payload: host padding, or trailer and ICV room
}

const (
	testSPI   = 0x00001001
	testIPID  = 0xfff0     // wraps during a 47-segment send
	testTCPSq = 0xffff0000 // wraps during a 64 KB send
)

// testIV is what the host left in the IV space; segments must carry it unchanged.
var testIV = []byte{0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7}

// serialize runs gopacket's serializer with lengths and checksums computed.
func serialize(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

// build returns the frame f describes.
func (f frameSpec) build(t testing.TB) []byte {
	t.Helper()
	tcp := &layers.TCP{SrcPort: 40000, DstPort: 443, Seq: f.tcpSeq, Ack: 0x01020304, ACK: true, ECE: true,
		FIN: f.fin, PSH: f.psh, CWR: f.cwr, Window: 1000,
		Options: []layers.TCPOption{{OptionType: layers.TCPOptionKindNop}, {OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: []byte{0, 0, 0x10, 0, 0, 0, 0x20, 0}}}}
	var outer gopacket.NetworkLayer
	var outerSer gopacket.SerializableLayer
	proto := layers.IPProtocolESP
	if f.l.natt {
		proto = layers.IPProtocolUDP
	}
	if f.l.outer6 {
		ip := &layers.IPv6{Version: 6, TrafficClass: 0x20, FlowLabel: 0x12345, NextHeader: proto, HopLimit: 64,
			SrcIP: net.ParseIP("2001:db8::1"), DstIP: net.ParseIP("2001:db8:ffff::2")}
		outer, outerSer = ip, ip
	} else {
		ip := &layers.IPv4{Version: 4, TTL: 64, Id: f.ipID, Flags: layers.IPv4DontFragment, Protocol: proto,
			SrcIP: net.IP{192, 0, 2, 1}, DstIP: net.IP{198, 51, 100, 2}}
		if f.l.ipOption {
			ip.Options = []layers.IPv4Option{{OptionType: 148, OptionLength: 4, OptionData: []byte{0, 0}}} // Router Alert
		}
		outer, outerSer = ip, ip
	}
	var inner []byte
	switch f.l.inner {
	case 0:
		if err := tcp.SetNetworkLayerForChecksum(outer); err != nil {
			t.Fatal(err)
		}
		inner = serialize(t, tcp, gopacket.Payload(f.payload))
	case 4:
		ip := &layers.IPv4{Version: 4, TTL: 63, Id: f.ipID, Flags: layers.IPv4DontFragment, Protocol: layers.IPProtocolTCP,
			SrcIP: net.IP{10, 1, 0, 1}, DstIP: net.IP{10, 2, 0, 1}}
		if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		inner = serialize(t, ip, tcp, gopacket.Payload(f.payload))
	case 41:
		ip := &layers.IPv6{Version: 6, NextHeader: layers.IPProtocolTCP, HopLimit: 63,
			SrcIP: net.ParseIP("fd00::a"), DstIP: net.ParseIP("fd00:1::b")}
		if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		inner = serialize(t, ip, tcp, gopacket.Payload(f.payload))
	}
	espb := binary.BigEndian.AppendUint32(nil, testSPI)
	espb = binary.BigEndian.AppendUint32(espb, f.espSeq)
	espb = append(append(append(espb, testIV...), inner...), f.tail...)
	if f.l.natt {
		// By hand: gopacket would compute a UDP checksum, and ESP in UDP sends 0 (RFC 3948).
		udp := []byte{0x11, 0x94, 0x11, 0x94, 0, 0, 0, 0}
		binary.BigEndian.PutUint16(udp[4:], uint16(8+len(espb)))
		espb = append(udp, espb...)
	}
	return serialize(t, outerSer, gopacket.Payload(espb))
}

// testPayload is n bytes of a pattern whose period (251, prime) does not divide any MSS, so a
// chunk in the wrong place shows.
func testPayload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

// hostPadding is what the host puts after the payload for the NIC to discard (R-TX-6).
func hostPadding(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 0xee
	}
	return b
}

// largeSend builds a large send of the layout: all of FIN, PSH and CWR set so the tests see
// each one kept or cleared, the ESP header carrying seqLo.
func largeSend(t testing.TB, l layout, payload []byte, padLength int, seqLo uint32) []byte {
	return frameSpec{l: l, payload: payload, ipID: testIPID, tcpSeq: testTCPSq, fin: true, psh: true, cwr: true,
		espSeq: seqLo, tail: hostPadding(padLength)}.build(t)
}

// wantSegment builds segment i of count independently: gopacket serializes the headers with
// fresh lengths and checksums, and the trailer is worked out here from RFC 4303 §2.4 rather
// than through package esp.
func wantSegment(t testing.TB, l layout, payload []byte, mss, i, count int, seq uint64) []byte {
	chunk := payload[i*mss : min((i+1)*mss, len(payload))]
	f := frameSpec{l: l, payload: chunk, ipID: testIPID + uint16(i), tcpSeq: testTCPSq + uint32(i*mss),
		fin: i == count-1, psh: i == count-1, cwr: i == 0, espSeq: uint32(seq)}
	// The ESP payload without trailer is the frame minus headers up to the IV; measure it.
	plain := len(f.build(t)) - espPayloadOffset(l)
	pad := (4 - (plain+2)%4) % 4
	for k := 1; k <= pad; k++ {
		f.tail = append(f.tail, byte(k))
	}
	f.tail = append(f.tail, byte(pad), l.nextHeader())
	f.tail = append(f.tail, make([]byte, l.icvLen)...)
	return f.build(t)
}

// espPayloadOffset is where the ESP payload (after the IV) starts in the layout's frames.
func espPayloadOffset(l layout) int {
	off := 20
	if l.outer6 {
		off = 40
	} else if l.ipOption {
		off = 24
	}
	if l.natt {
		off += 8
	}
	return off + 16
}
