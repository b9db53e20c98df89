package rxparse

import (
	"encoding/binary"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// badCases are frames that do not parse, or whose ESP header is cut short, each with the
// exact Layout (Kind and Reason; a malformed Layout has nothing else) that Parse must return.
// Most are a good packet from goodCases with one field broken.
func badCases(t testing.TB) []parseCase {
	t.Helper()
	good := map[string][]byte{}
	for _, c := range goodCases(t) {
		good[c.name] = c.frame
	}
	esp4, esp6 := good["ipv4-esp"], good["ipv6-esp"]
	ip4UDP := ip4(layers.IPProtocolUDP)
	setTotal := func(n uint16) func([]byte) { return func(b []byte) { binary.BigEndian.PutUint16(b[2:4], n) } }
	setUDPLen := func(off int, n uint16) func([]byte) {
		return func(b []byte) { binary.BigEndian.PutUint16(b[off+4:off+6], n) }
	}
	nineDst := cat(hbhPadN(60), hbhPadN(60), hbhPadN(60), hbhPadN(60), hbhPadN(60), hbhPadN(60), hbhPadN(60), hbhPadN(60), hbhPadN(50))
	m := func(reason string) Layout { return Layout{Kind: KindMalformed, Reason: reason} }

	return []parseCase{
		{"empty", []byte{}, m("empty frame")},
		{"one-byte-v4", []byte{0x45}, m("IPv4 header truncated")},
		{"one-byte-v6", []byte{0x60}, m("IPv6 header truncated")},
		{"ipv4-19-bytes", esp4[:19], m("IPv4 header truncated")},
		{"version-5", patch(esp4, func(b []byte) { b[0] = 0x55 }), m("IP version not 4 or 6")},
		{"version-0", patch(esp4, func(b []byte) { b[0] = 0x05 }), m("IP version not 4 or 6")},
		{"ihl-4", patch(esp4, func(b []byte) { b[0] = 0x44 }), m("IPv4 IHL below 5")},
		{"ihl-0", patch(esp4, func(b []byte) { b[0] = 0x40 }), m("IPv4 IHL below 5")},
		{"ihl-15-past-frame", patch(esp4[:40], func(b []byte) { b[0] = 0x4f }), m("IPv4 IHL past the frame")},
		{"total-length-past-frame", esp4[:67], m("IPv4 total length past the frame")},
		{"total-length-below-ihl", patch(esp4, setTotal(19)), m("IPv4 total length below header length")},
		{"ipv6-39-bytes", esp6[:39], m("IPv6 header truncated")},
		{"ipv6-payload-length-past-frame", esp6[:87], m("IPv6 payload length past the frame")},
		{"ipv6-ext-past-end", // HBH with length 1 (16 bytes) in an 8-byte payload
			serialize(t, ip6(0), gopacket.Payload([]byte{50, 1, 1, 4, 0, 0, 0, 0})), m("IPv6 extension header past the packet")},
		{"ipv6-ext-1-byte", // next header HBH, one byte of payload: not even its length byte
			serialize(t, ip6(0), gopacket.Payload([]byte{50})), m("IPv6 extension header past the packet")},
		{"ipv6-jumbo-payload-length-0", // payload length 0 as in a jumbogram: the HBH is past End
			patch(good["ipv6-hbh-dstopts-esp"], func(b []byte) { b[4], b[5] = 0, 0 }), m("IPv6 extension header past the packet")},
		{"ipv6-frag-header-truncated", // Fragment header cut to 4 bytes
			serialize(t, ip6(44), gopacket.Payload([]byte{50, 0, 0, 1})), m("IPv6 extension header past the packet")},
		{"ipv6-9-ext-headers", // HBH, 8x DSTOPT, ESP: one more than Parse walks
			serialize(t, ip6(0), gopacket.Payload(cat(nineDst, espBytes(0x2001, 1, 8)))), m("too many IPv6 extension headers")},
		{"udp-5-bytes", // IPv4 protocol 17 with 5 bytes after the header
			serialize(t, ip4UDP, gopacket.Payload([]byte{0x11, 0x94, 0x11, 0x94, 0})), m("UDP header truncated")},
		{"udp-length-past-ip", patch(good["ipv4-udp-esp"], setUDPLen(20, 57)), m("UDP length disagrees with the IP length")},
		{"udp-length-short-of-ip", patch(good["ipv4-udp-esp"], setUDPLen(20, 55)), m("UDP length disagrees with the IP length")},
		{"udp-length-below-8", patch(good["ipv4-udp-dns"], setUDPLen(20, 7)), m("UDP length disagrees with the IP length")},
		{"ipv6-udp-length-past-ip", patch(good["ipv6-udp-esp"], setUDPLen(40, 0xffff)), m("UDP length disagrees with the IP length")},
		{"frag-udp-length-below-8", // a first fragment may have a longer UDP length, never one below 8
			patch(good["ipv6-frag-first-udp-esp"], setUDPLen(48, 7)), m("UDP length disagrees with the IP length")},
		{"frag-udp-length-below-fragment", // nor one shorter than the bytes this fragment holds
			patch(good["ipv6-frag-first-udp-esp"], setUDPLen(48, 23)), m("UDP length disagrees with the IP length")},

		// A truncated ESP header is still ESP, marked Short, so that the SA its SPI names can
		// report CRYPTO_INVALID_PACKET_SYNTAX.
		{"esp-5-bytes", // 192.0.2.1 > 198.51.100.7: ESP(spi=0x00001001) cut after 5 bytes
			serialize(t, ip4(layers.IPProtocolESP), gopacket.Payload(espBytes(0x1001, 1, 0)[:5])),
			Layout{Kind: KindESP, DstOff: 16, DstLen: 4, L4: 20, ESP: 20, End: 25, SPI: 0x1001, Short: true, Reason: "ESP header truncated"}},
		{"esp-3-bytes", // no whole SPI: SPI 0, which RFC 4303 reserves, so no SA matches
			serialize(t, ip4(layers.IPProtocolESP), gopacket.Payload([]byte{0, 0, 0x10})),
			Layout{Kind: KindESP, DstOff: 16, DstLen: 4, L4: 20, ESP: 20, End: 23, Short: true, Reason: "ESP header truncated"}},
		{"esp-0-bytes",
			serialize(t, ip4(layers.IPProtocolESP)),
			Layout{Kind: KindESP, DstOff: 16, DstLen: 4, L4: 20, ESP: 20, End: 20, Short: true, Reason: "ESP header truncated"}},
		{"ipv6-esp-7-bytes",
			serialize(t, ip6(layers.IPProtocolESP), gopacket.Payload(espBytes(0x2001, 1, 0)[:7])),
			Layout{Kind: KindESP, IPv6: true, DstOff: 24, DstLen: 16, L4: 40, ESP: 40, End: 47, SPI: 0x2001, Short: true, Reason: "ESP header truncated"}},
		{"udp-esp-6-bytes", // 192.0.2.1.4500 > 198.51.100.7.4500: UDP-encap: ESP(spi=0x00001002) cut after 6 bytes
			serialize(t, ip4UDP, udpLayer(t, 4500, 4500, ip4UDP), gopacket.Payload(espBytes(0x1002, 1, 0)[:6])),
			Layout{Kind: KindUDPESP, DstOff: 16, DstLen: 4, L4: 20, UDP: 20, ESP: 28, End: 34, SPI: 0x1002, Short: true, Reason: "ESP header truncated"}},
	}
}
