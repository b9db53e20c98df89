package fastpath_test

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"

	"github.com/ov2dev/ov2/internal/inet"
	"github.com/ov2dev/ov2/xfrm"
)

// udpPacket is an IPv4 or IPv6 UDP packet of n bytes from src to dst (at least 28, or
// 48 for IPv6), with valid checksums and a payload that depends on seq.
func udpPacket(src, dst string, n int) []byte { return udpSeq(src, dst, n, 0) }

func udpSeq(src, dst string, n int, seq uint64) []byte {
	p := make([]byte, n)
	hdr := ipHeader(p, src, dst, 17, false)
	u := p[hdr:]
	binary.BigEndian.PutUint16(u[0:], 40000)
	binary.BigEndian.PutUint16(u[2:], 9)
	binary.BigEndian.PutUint16(u[4:], uint16(len(u)))
	for i := 8; i < len(u); i++ {
		u[i] = byte(i) ^ byte(seq)
	}
	if len(u) >= 16 {
		binary.BigEndian.PutUint64(u[8:], seq)
	}
	return p
}

// ipHeader writes at the start of p, a packet of len(p) bytes, an IPv4 (with DF if df, and
// its checksum) or IPv6 header from src to dst for protocol proto, and returns its length.
func ipHeader(p []byte, src, dst string, proto byte, df bool) int {
	s, d := netip.MustParseAddr(src), netip.MustParseAddr(dst)
	if s.Is4() {
		p[0], p[8], p[9] = 0x45, 64, proto
		if df {
			p[6] = 0x40
			binary.BigEndian.PutUint16(p[4:], 0x1234)
		}
		binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
		copy(p[12:], s.AsSlice())
		copy(p[16:], d.AsSlice())
		inet.IPv4(p[:20]).SetChecksum()
		return 20
	}
	p[0], p[6], p[7] = 0x60, proto, 64
	binary.BigEndian.PutUint16(p[4:], uint16(len(p)-40))
	copy(p[8:], s.AsSlice())
	copy(p[24:], d.AsSlice())
	return 40
}

// parse reads SAs in xfrm syntax or fails the test.
func parse(t testing.TB, text string) []xfrm.State {
	t.Helper()
	st, err := xfrm.Parse("test.sa", strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// parseConfig reads SAs of any suite and policies (xfrm.ParseConfig).
func parseConfig(t testing.TB, text string) *xfrm.Config {
	t.Helper()
	c, err := xfrm.ParseConfig("test.sa", strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const (
	key128 = "0x000102030405060708090a0b0c0d0e0f01020304"
	key256 = "0x000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0fa1a2a3a4"
)

// tcpSegment is an IPv4 or IPv6 TCP packet from src to dst with the given sequence number,
// flags and payload, with valid checksums.
func tcpSegment(src, dst string, seq uint32, flags byte, payload []byte) []byte {
	hdr := 20
	if strings.Contains(src, ":") {
		hdr = 40
	}
	p := make([]byte, hdr+20+len(payload))
	ipHeader(p, src, dst, 6, true)
	s := netip.MustParseAddr(src)
	tcp := p[hdr:]
	binary.BigEndian.PutUint16(tcp[0:], 40001)
	binary.BigEndian.PutUint16(tcp[2:], 5201)
	binary.BigEndian.PutUint32(tcp[4:], seq)
	binary.BigEndian.PutUint32(tcp[8:], 7)
	tcp[12], tcp[13] = 5<<4, flags
	binary.BigEndian.PutUint16(tcp[14:], 65535)
	copy(tcp[20:], payload)
	var pseudo uint32
	if s.Is4() {
		pseudo = inet.PseudoHeaderIPv4(p[12:16], p[16:20], 6, len(tcp))
	} else {
		pseudo = inet.PseudoHeaderIPv6(p[8:24], p[24:40], 6, len(tcp))
	}
	binary.BigEndian.PutUint16(tcp[16:], inet.Finish(inet.Checksum(tcp, pseudo)))
	return p
}
