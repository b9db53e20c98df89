package interop

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/ov2dev/ov2/esp"
)

// IP protocol numbers the tests use.
const (
	protoIPv4 = 4
	protoUDP  = 17
	protoIPv6 = 41
	protoESP  = 50
)

// csum is the Internet checksum (RFC 1071) of b, folded, not complemented.
func csum(sum uint32, b []byte) uint32 {
	for len(b) >= 2 {
		sum += uint32(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return sum
}

// ipv4 returns an IPv4 header (no options, TTL 64, DF clear) with its checksum, followed by
// payload.
func ipv4(src, dst netip.Addr, proto byte, id uint16, payload []byte) []byte {
	h := make([]byte, 20, 20+len(payload))
	h[0] = 0x45
	binary.BigEndian.PutUint16(h[2:], uint16(20+len(payload)))
	binary.BigEndian.PutUint16(h[4:], id)
	h[8] = 64
	h[9] = proto
	s, d := src.As4(), dst.As4()
	copy(h[12:], s[:])
	copy(h[16:], d[:])
	binary.BigEndian.PutUint16(h[10:], ^uint16(csum(0, h)))
	return append(h, payload...)
}

// ipv6 returns an IPv6 header (hop limit 64) followed by payload.
func ipv6(src, dst netip.Addr, nh byte, payload []byte) []byte {
	h := make([]byte, 40, 40+len(payload))
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(len(payload)))
	h[6] = nh
	h[7] = 64
	s, d := src.As16(), dst.As16()
	copy(h[8:], s[:])
	copy(h[24:], d[:])
	return append(h, payload...)
}

// udp returns a UDP datagram with checksum 0 (allowed on IPv4, RFC 3948 §2.1 for ESP in UDP).
func udp(sport, dport uint16, payload []byte) []byte {
	h := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint16(h[0:], sport)
	binary.BigEndian.PutUint16(h[2:], dport)
	binary.BigEndian.PutUint16(h[4:], uint16(8+len(payload)))
	return append(h, payload...)
}

// udp6 returns a UDP datagram with its checksum over the IPv6 pseudo-header (RFC 8200 §8.1).
func udp6(src, dst netip.Addr, sport, dport uint16, payload []byte) []byte {
	d := udp(sport, dport, payload)
	s16, d16 := src.As16(), dst.As16()
	sum := csum(0, s16[:])
	sum = csum(sum, d16[:])
	sum = csum(sum, []byte{0, 0, byte(len(d) >> 8), byte(len(d)), 0, 0, 0, protoUDP})
	c := ^uint16(csum(sum, d))
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(d[6:], c)
	return d
}

// payloadBytes returns n bytes 0, 1, 2, ... offset by seed, so packets differ.
func payloadBytes(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i)
	}
	return b
}

// sealer frames and seals ESP packets with the project's esp package.
type sealer struct {
	sa SA
	tr *esp.Transform
	s  *esp.Scratch
}

func newSealer(t *testing.T, sa SA) *sealer {
	t.Helper()
	alg := esp.AESGCM
	if sa.GMAC {
		alg = esp.AESGMAC
	}
	km := append(append([]byte{}, sa.Key...), sa.Salt...)
	tr, err := esp.NewTransform(esp.Params{Alg: alg, KeyMat: km, ICVLen: sa.ICVLen, ESN: sa.ESN})
	if err != nil {
		t.Fatalf("esp.NewTransform: %v", err)
	}
	return &sealer{sa: sa, tr: tr, s: new(esp.Scratch)}
}

// seal returns the ESP packet (SPI through ICV) carrying inner with next header nh and the
// 64-bit sequence number seq; iv is written as the IV (the sequence number unless a test
// wants otherwise).
func (z *sealer) seal(t *testing.T, seq, iv uint64, inner []byte, nh byte) []byte {
	t.Helper()
	pkt := make([]byte, esp.PayloadOffset, esp.PayloadOffset+len(inner)+esp.TrailerLen+3+esp.MaxICVLen)
	esp.PutHeader(pkt, z.sa.SPI, uint32(seq))
	esp.PutIV(pkt, iv)
	pkt = append(pkt, inner...)
	pkt = esp.AppendTrailer(pkt, esp.PadLen(len(inner)), nh)
	out, err := z.tr.Seal(z.s, pkt, uint32(seq>>32))
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	return out
}

// outer wraps an ESP packet in the SA's outer header: IP, with UDP when NAT-T.
func (z *sealer) outer(espPkt []byte, id uint16) []byte {
	sa := z.sa
	if sa.Dst.Is4() {
		if sa.NATT {
			return ipv4(sa.Src, sa.Dst, protoUDP, id, udp(sa.sport(), sa.dport(), espPkt))
		}
		return ipv4(sa.Src, sa.Dst, protoESP, id, espPkt)
	}
	if sa.NATT {
		return ipv6(sa.Src, sa.Dst, protoUDP, udp6(sa.Src, sa.Dst, sa.sport(), sa.dport(), espPkt))
	}
	return ipv6(sa.Src, sa.Dst, protoESP, espPkt)
}
