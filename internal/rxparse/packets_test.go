package rxparse

import (
	"bytes"
	"encoding/binary"
	"net"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// This file builds the reference packets: gopacket writes the IP, UDP, TCP and ICMP headers
// with their lengths and checksums, so the expected offsets below are checked against frames
// that an independent serializer produced, not against bytes this package's author laid out.
// ESP, AH and IPv6 extension headers are payload to gopacket and are spelled out by hand,
// each with the tcpdump-style line of what it is.

// parseCase is one frame and the exact Layout that Parse must return for it.
type parseCase struct {
	name  string // also the seed corpus file name, after "seed-"
	frame []byte
	want  Layout
}

var (
	src4 = net.IP{192, 0, 2, 1}
	dst4 = net.IP{198, 51, 100, 7}
	src6 = net.ParseIP("2001:db8::1")
	dst6 = net.ParseIP("2001:db8:0:1::7")
)

// serialize builds a packet with gopacket, fixing lengths and computing checksums.
func serialize(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

// ip4 is an IPv4 header 192.0.2.1 > 198.51.100.7 carrying proto.
func ip4(proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Id: 0x4242, Flags: layers.IPv4DontFragment,
		Protocol: proto, SrcIP: src4, DstIP: dst4}
}

// ip6 is an IPv6 header 2001:db8::1 > 2001:db8:0:1::7 whose next header is nh.
func ip6(nh layers.IPProtocol) *layers.IPv6 {
	return &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: nh, SrcIP: src6, DstIP: dst6}
}

// udpLayer is a UDP header whose checksum is computed over ip's pseudo-header.
func udpLayer(t testing.TB, sport, dport layers.UDPPort, ip gopacket.NetworkLayer) *layers.UDP {
	t.Helper()
	u := &layers.UDP{SrcPort: sport, DstPort: dport}
	if err := u.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	return u
}

// tcpSYN is a TCP SYN 49152 > 443, seq 1000, whose checksum is computed over ip's
// pseudo-header.
func tcpSYN(t testing.TB, ip gopacket.NetworkLayer) *layers.TCP {
	t.Helper()
	c := &layers.TCP{SrcPort: 49152, DstPort: 443, Seq: 1000, SYN: true, Window: 65535}
	if err := c.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	return c
}

// espBytes is an ESP packet (RFC 4303 §2) as the wire has it: SPI, sequence number, then n
// bytes standing for IV, ciphertext, padding, trailer and ICV (Parse reads none of them).
func espBytes(spi, seq uint32, n int) []byte {
	b := make([]byte, 8+n)
	binary.BigEndian.PutUint32(b[0:4], spi)
	binary.BigEndian.PutUint32(b[4:8], seq)
	for i := 8; i < len(b); i++ {
		b[i] = byte(0xa0 + i)
	}
	return b
}

// ahBytes is an AH header (RFC 4302 §2) with a 12-byte ICV (payload length (24/4)-2 = 4)
// followed by next bytes of the protected payload.
func ahBytes(nextHeader byte, spi uint32, next int) []byte {
	b := make([]byte, 24+next)
	b[0], b[1] = nextHeader, 4
	binary.BigEndian.PutUint32(b[4:8], spi)
	binary.BigEndian.PutUint32(b[8:12], 1)
	return b
}

// cat joins byte slices into a new one.
func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// hbhPadN is an 8-byte Hop-by-Hop or Destination Options header (RFC 8200 §4.3) whose only
// option is PadN: next header, length 0, then PadN type 1 with 4 bytes of padding.
func hbhPadN(next byte) []byte { return []byte{next, 0, 1, 4, 0, 0, 0, 0} }

// dstOpts16 is a 16-byte Destination Options header (length 1) holding one 12-byte PadN.
func dstOpts16(next byte) []byte {
	return cat([]byte{next, 1, 1, 12}, make([]byte, 12))
}

// fragHeader is an IPv6 Fragment header (RFC 8200 §4.5) with the offset in 8-byte units.
func fragHeader(next byte, offset uint16, more bool) []byte {
	b := []byte{next, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef}
	fo := offset << 3
	if more {
		fo |= 1
	}
	binary.BigEndian.PutUint16(b[2:4], fo)
	return b
}

// srh is a 24-byte IPv6 Routing header of type 4 (Segment Routing, RFC 8754) with one segment
// and segments left 0: what the final destination of an SRv6 path receives.
func srh(next byte) []byte {
	return cat([]byte{next, 2, 4, 0, 0, 0, 0, 0}, dst6.To16())
}

// ikeSAInit is the non-ESP marker (RFC 3948 §2.2) followed by a 28-byte IKEv2 header of an
// IKE_SA_INIT request (RFC 7296 §3.1): SPIi, SPIr 0, next payload SA, version 2.0, exchange
// 34, flags Initiator, message ID 0, length 28.
func ikeSAInit() []byte {
	b := make([]byte, 4+28)
	copy(b[4:12], []byte{1, 2, 3, 4, 5, 6, 7, 8})
	b[20], b[21], b[22], b[23] = 33, 0x20, 34, 0x08
	binary.BigEndian.PutUint32(b[28:32], 28)
	return b
}

// patch returns a copy of b with f applied: the malformed cases are real packets with one
// field broken.
func patch(b []byte, f func(b []byte)) []byte {
	c := append([]byte(nil), b...)
	f(c)
	return c
}

// goodCases are real packets of every kind, each with the Layout Parse must return.
func goodCases(t testing.TB) []parseCase {
	t.Helper()
	ip4UDP := ip4(layers.IPProtocolUDP)
	ip6UDP := ip6(layers.IPProtocolUDP)
	ip4TCP, ip6TCP := ip4(layers.IPProtocolTCP), ip6(layers.IPProtocolTCP)
	frag4 := func(offset uint16, more bool) *layers.IPv4 {
		h := ip4(layers.IPProtocolESP)
		h.Flags = 0
		if more {
			h.Flags = layers.IPv4MoreFragments
		}
		h.FragOffset = offset
		return h
	}
	ip4opt := ip4(layers.IPProtocolESP)
	ip4opt.IHL = 6
	ip4opt.Options = []layers.IPv4Option{{OptionType: 148, OptionLength: 4, OptionData: []byte{0, 0}}} // Router Alert
	// The whole UDP datagram of which ipv6-frag-first-udp-esp carries the first 24 bytes.
	udpESP6 := serialize(t, udpLayer(t, 4500, 4500, ip6UDP), gopacket.Payload(espBytes(0x2002, 1, 48)))
	eightDst := cat(hbhPadN(60), hbhPadN(60), hbhPadN(60), hbhPadN(60), hbhPadN(60), hbhPadN(60), hbhPadN(60), hbhPadN(50))

	return []parseCase{
		{"ipv4-esp", // 192.0.2.1 > 198.51.100.7: ESP(spi=0x00001001,seq=0x1), length 48
			serialize(t, ip4(layers.IPProtocolESP), gopacket.Payload(espBytes(0x1001, 1, 40))),
			Layout{Kind: KindESP, DstOff: 16, DstLen: 4, L4: 20, ESP: 20, End: 68, SPI: 0x1001}},
		{"ipv4-esp-8-bytes", // 192.0.2.1 > 198.51.100.7: ESP(spi=0x00001001,seq=0x2), length 8: just enough
			serialize(t, ip4(layers.IPProtocolESP), gopacket.Payload(espBytes(0x1001, 2, 0))),
			Layout{Kind: KindESP, DstOff: 16, DstLen: 4, L4: 20, ESP: 20, End: 28, SPI: 0x1001}},
		{"ipv4-options-esp", // 192.0.2.1 > 198.51.100.7: [options (RA)] ESP(spi=0x00001001,seq=0x3), length 48
			serialize(t, ip4opt, gopacket.Payload(espBytes(0x1001, 3, 40))),
			Layout{Kind: KindESP, DstOff: 16, DstLen: 4, L4: 24, ESP: 24, End: 72, SPI: 0x1001, IPv4Options: true}},
		{"ipv6-esp", // 2001:db8::1 > 2001:db8:0:1::7: ESP(spi=0x00002001,seq=0x1), length 48
			serialize(t, ip6(layers.IPProtocolESP), gopacket.Payload(espBytes(0x2001, 1, 40))),
			Layout{Kind: KindESP, IPv6: true, DstOff: 24, DstLen: 16, L4: 40, ESP: 40, End: 88, SPI: 0x2001}},
		{"ipv6-hbh-dstopts-esp", // 2001:db8::1 > 2001:db8:0:1::7: HBH PadN DSTOPT PadN ESP(spi=0x00002001,seq=0x2), length 48
			serialize(t, ip6(0), gopacket.Payload(cat(hbhPadN(60), dstOpts16(50), espBytes(0x2001, 2, 40)))),
			Layout{Kind: KindESP, IPv6: true, DstOff: 24, DstLen: 16, L4: 64, ESP: 64, End: 112, SPI: 0x2001, IPv6ExtHeaders: true}},
		{"ipv6-srh-esp", // 2001:db8::1 > 2001:db8:0:1::7: RT6 (type 4, segleft=0) ESP(spi=0x00002001,seq=0x3), length 48
			serialize(t, ip6(43), gopacket.Payload(cat(srh(50), espBytes(0x2001, 3, 40)))),
			Layout{Kind: KindESP, IPv6: true, DstOff: 24, DstLen: 16, L4: 64, ESP: 64, End: 112, SPI: 0x2001, IPv6ExtHeaders: true}},
		{"ipv6-8-dstopts-esp", // 2001:db8::1 > 2001:db8:0:1::7: HBH, 7x DSTOPT, ESP(spi=0x00002001,seq=0x4): the most Parse walks
			serialize(t, ip6(0), gopacket.Payload(cat(eightDst, espBytes(0x2001, 4, 8)))),
			Layout{Kind: KindESP, IPv6: true, DstOff: 24, DstLen: 16, L4: 104, ESP: 104, End: 120, SPI: 0x2001, IPv6ExtHeaders: true}},
		{"ipv6-frag-first-esp", // 2001:db8::1 > 2001:db8:0:1::7: frag (0xdeadbeef:0|24) ESP(spi=0x00002001,seq=0x5)
			serialize(t, ip6(44), gopacket.Payload(cat(fragHeader(50, 0, true), espBytes(0x2001, 5, 16)))),
			Layout{Kind: KindESP, IPv6: true, DstOff: 24, DstLen: 16, L4: 48, ESP: 48, End: 72, SPI: 0x2001, IPv6ExtHeaders: true, Fragment: true}},
		{"ipv6-frag-later", // 2001:db8::1 > 2001:db8:0:1::7: frag (0xdeadbeef:24|32): the middle of an ESP packet
			serialize(t, ip6(44), gopacket.Payload(cat(fragHeader(50, 3, false), espBytes(0x5555, 0x5555, 24)))),
			Layout{Kind: KindPlain, IPv6: true, DstOff: 24, DstLen: 16, L4: 48, End: 80, IPv6ExtHeaders: true, Fragment: true}},
		{"ipv6-frag-first-udp-esp", // 2001:db8::1.4500 > 2001:db8:0:1::7.4500: frag (0xdeadbeef:0|24) UDP-encap: ESP(spi=0x00002002,seq=0x1), UDP length 64
			serialize(t, ip6(44), gopacket.Payload(cat(fragHeader(17, 0, true), udpESP6[:24]))),
			Layout{Kind: KindUDPESP, IPv6: true, DstOff: 24, DstLen: 16, L4: 48, UDP: 48, ESP: 56, End: 72, SPI: 0x2002, IPv6ExtHeaders: true, Fragment: true}},
		{"ipv4-udp-esp", // 192.0.2.1.4500 > 198.51.100.7.4500: UDP-encap: ESP(spi=0x00001002,seq=0x1), length 48
			serialize(t, ip4UDP, udpLayer(t, 4500, 4500, ip4UDP), gopacket.Payload(espBytes(0x1002, 1, 40))),
			Layout{Kind: KindUDPESP, DstOff: 16, DstLen: 4, L4: 20, UDP: 20, ESP: 28, End: 76, SPI: 0x1002}},
		{"ipv4-udp-esp-from-4500", // 192.0.2.1.4500 > 198.51.100.7.61000: UDP-encap: ESP(spi=0x00001003,seq=0x1): the local end is not on 4500
			serialize(t, ip4UDP, udpLayer(t, 4500, 61000, ip4UDP), gopacket.Payload(espBytes(0x1003, 1, 40))),
			Layout{Kind: KindUDPESP, DstOff: 16, DstLen: 4, L4: 20, UDP: 20, ESP: 28, End: 76, SPI: 0x1003}},
		{"ipv4-udp-esp-to-4500", // 192.0.2.1.38211 > 198.51.100.7.4500: UDP-encap: ESP(spi=0x00001003,seq=0x2): the peer's port rewritten by a NAT
			serialize(t, ip4UDP, udpLayer(t, 38211, 4500, ip4UDP), gopacket.Payload(espBytes(0x1003, 2, 40))),
			Layout{Kind: KindUDPESP, DstOff: 16, DstLen: 4, L4: 20, UDP: 20, ESP: 28, End: 76, SPI: 0x1003}},
		{"ipv4-ike", // 192.0.2.1.4500 > 198.51.100.7.4500: NONESP-encap: isakmp: parent_sa ikev2_init[I]
			serialize(t, ip4UDP, udpLayer(t, 4500, 4500, ip4UDP), gopacket.Payload(ikeSAInit())),
			Layout{Kind: KindIKE, DstOff: 16, DstLen: 4, L4: 20, UDP: 20, End: 60}},
		{"ipv4-keepalive", // 192.0.2.1.4500 > 198.51.100.7.4500: isakmp-nat-keep-alive
			serialize(t, ip4UDP, udpLayer(t, 4500, 4500, ip4UDP), gopacket.Payload([]byte{0xff})),
			Layout{Kind: KindKeepalive, DstOff: 16, DstLen: 4, L4: 20, UDP: 20, End: 29}},
		{"ipv4-udp-4500-2-bytes", // 192.0.2.1.4500 > 198.51.100.7.4500: UDP, length 2: no SPI, no marker, not a keepalive
			serialize(t, ip4UDP, udpLayer(t, 4500, 4500, ip4UDP), gopacket.Payload([]byte{0xff, 0xff})),
			Layout{Kind: KindPlain, DstOff: 16, DstLen: 4, L4: 20, End: 30}},
		{"ipv6-udp-esp", // 2001:db8::1.4500 > 2001:db8:0:1::7.4500: UDP-encap: ESP(spi=0x00002003,seq=0x1), length 48
			serialize(t, ip6UDP, udpLayer(t, 4500, 4500, ip6UDP), gopacket.Payload(espBytes(0x2003, 1, 40))),
			Layout{Kind: KindUDPESP, IPv6: true, DstOff: 24, DstLen: 16, L4: 40, UDP: 40, ESP: 48, End: 96, SPI: 0x2003}},
		{"ipv6-ike", // 2001:db8::1.4500 > 2001:db8:0:1::7.4500: NONESP-encap: isakmp: parent_sa ikev2_init[I]
			serialize(t, ip6UDP, udpLayer(t, 4500, 4500, ip6UDP), gopacket.Payload(ikeSAInit())),
			Layout{Kind: KindIKE, IPv6: true, DstOff: 24, DstLen: 16, L4: 40, UDP: 40, End: 80}},
		{"ipv4-ah", // 192.0.2.1 > 198.51.100.7: AH(spi=0x00003001,seq=0x1): [20 bytes of TCP]
			serialize(t, ip4(layers.IPProtocolAH), gopacket.Payload(ahBytes(6, 0x3001, 20))),
			Layout{Kind: KindAH, DstOff: 16, DstLen: 4, L4: 20, End: 64}},
		{"ipv6-ah", // 2001:db8::1 > 2001:db8:0:1::7: AH(spi=0x00003002,seq=0x1): [20 bytes of TCP]
			serialize(t, ip6(layers.IPProtocolAH), gopacket.Payload(ahBytes(6, 0x3002, 20))),
			Layout{Kind: KindAH, IPv6: true, DstOff: 24, DstLen: 16, L4: 40, End: 84}},
		{"ipv6-hbh-ah", // 2001:db8::1 > 2001:db8:0:1::7: HBH PadN AH(spi=0x00003002,seq=0x1)
			serialize(t, ip6(0), gopacket.Payload(cat(hbhPadN(51), ahBytes(6, 0x3002, 20)))),
			Layout{Kind: KindAH, IPv6: true, DstOff: 24, DstLen: 16, L4: 48, End: 92, IPv6ExtHeaders: true}},
		{"ipv4-tcp", // 192.0.2.1.49152 > 198.51.100.7.443: Flags [S], seq 1000, win 65535, length 0
			serialize(t, ip4TCP, tcpSYN(t, ip4TCP)),
			Layout{Kind: KindPlain, DstOff: 16, DstLen: 4, L4: 20, End: 40}},
		{"ipv4-udp-dns", // 192.0.2.1.53 > 198.51.100.7.33000: 12-byte DNS header
			serialize(t, ip4UDP, udpLayer(t, 53, 33000, ip4UDP), gopacket.Payload(make([]byte, 12))),
			Layout{Kind: KindPlain, DstOff: 16, DstLen: 4, L4: 20, End: 40}},
		{"ipv4-icmp-echo", // 192.0.2.1 > 198.51.100.7: ICMP echo request, id 7, seq 1, length 16
			serialize(t, ip4(layers.IPProtocolICMPv4),
				&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: 7, Seq: 1},
				gopacket.Payload(make([]byte, 8))),
			Layout{Kind: KindPlain, DstOff: 16, DstLen: 4, L4: 20, End: 36}},
		{"ipv6-tcp", // 2001:db8::1.49152 > 2001:db8:0:1::7.443: Flags [S], seq 1000, win 65535, length 0
			serialize(t, ip6TCP, tcpSYN(t, ip6TCP)),
			Layout{Kind: KindPlain, IPv6: true, DstOff: 24, DstLen: 16, L4: 40, End: 60}},
		{"ipv4-frag-first-esp", // 192.0.2.1 > 198.51.100.7: ESP(spi=0x00001004,seq=0x1) (frag 0x4242:24@0+)
			serialize(t, frag4(0, true), gopacket.Payload(espBytes(0x1004, 1, 16))),
			Layout{Kind: KindESP, DstOff: 16, DstLen: 4, L4: 20, ESP: 20, End: 44, SPI: 0x1004, Fragment: true}},
		{"ipv4-frag-later-esp", // 192.0.2.1 > 198.51.100.7: ip-proto-50 (frag 0x4242:24@24): the rest of that ESP packet
			serialize(t, frag4(3, false), gopacket.Payload(espBytes(0x5555, 0x5555, 16))),
			Layout{Kind: KindPlain, DstOff: 16, DstLen: 4, L4: 20, End: 44, Fragment: true}},
	}
}
