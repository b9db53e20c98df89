package gateway

import (
	"encoding/binary"
	"net/netip"

	"github.com/ov2dev/ov2/internal/inet"
)

// ICMP errors for packets too big to forward once sealed, as a router sends them
// (RFC 1191 and RFC 1812 §4.3.2.7 for IPv4, RFC 8201 and RFC 4443 for IPv6): the sender
// learns the MTU that fits and sends smaller packets (path MTU discovery).
//
// A bump in the wire has no address of its own, so the error comes from the address the
// packet was sent to, and its Ethernet header swaps the packet's MAC addresses (keeping
// any VLAN tags): to the sender it looks as if the destination answered, which is what it
// needs to lower its path MTU (Linux checks the quoted header, not who sent it).
const (
	// icmpV4Max is the longest ICMPv4 error (RFC 1812 §4.3.2.3: at most 576 bytes).
	icmpV4Max = 576
	// icmpV6Max is the longest ICMPv6 error (RFC 4443 §2.4(c): the minimum IPv6 MTU).
	icmpV6Max = 1280
	// minMTU6 is IPv6's minimum link MTU.
	minMTU6 = 1280
	// icmpHopLimit is the TTL or hop limit of the errors.
	icmpHopLimit = 64
	// maxICMPFrame bounds the frames tooBigError writes.
	maxICMPFrame = ethHdrLen + maxTags*vlanTagLen + icmpV6Max

	protoICMP   = 1
	protoICMPv6 = 58
)

// tooBigError writes into dst (at least maxICMPFrame bytes) the frame of the ICMP error
// for frame, an Ethernet frame of the IP packet f describes, which is too big once sealed:
// IPv4 "fragmentation needed" (type 3, code 4) or ICMPv6 "packet too big" (type 2), saying
// mtu. It returns the error frame's length, or 0 when no error may be sent about the
// packet: an ICMP error message itself, a later fragment, a packet to or from a
// multicast or broadcast (or unspecified) address; IPv6 "packet too big" is the exception
// RFC 4443 makes for multicast destinations, but it still needs a unicast source to
// answer from. It does not allocate.
func tooBigError(dst, frame []byte, f Frame, mtu int) int {
	if f.Kind == KindOther || len(dst) < maxICMPFrame || len(frame) < f.LinkLen+f.IPLen || f.IPLen < f.HdrLen {
		return 0
	}
	ip := frame[f.LinkLen : f.LinkLen+f.IPLen]
	var n int
	if f.Kind == KindIPv4 {
		n = tooBig4(dst[f.LinkLen:], ip, f, mtu)
	} else {
		n = tooBig6(dst[f.LinkLen:], ip, f, mtu)
	}
	if n == 0 {
		return 0
	}
	// The link header, MAC addresses swapped: to the sender, from its destination.
	copy(dst, frame[:f.LinkLen])
	copy(dst[0:6], frame[6:12])
	copy(dst[6:12], frame[0:6])
	return f.LinkLen + n
}

func tooBig4(out, ip []byte, f Frame, mtu int) int {
	src, dst := netip.AddrFrom4([4]byte(ip[12:16])), netip.AddrFrom4([4]byte(ip[16:20]))
	if binary.BigEndian.Uint16(ip[6:])&0x1fff != 0 || // a later fragment
		!unicast4(src) || !unicast4(dst) {
		return 0
	}
	if f.Proto == protoICMP {
		if len(ip) < f.HdrLen+1 {
			return 0
		}
		switch ip[f.HdrLen] { // an error message: never an error about an error
		case 3, 4, 5, 11, 12:
			return 0
		}
	}
	quote := min(len(ip), icmpV4Max-20-8)
	total := 20 + 8 + quote
	h := out[:20]
	h[0], h[1] = 0x45, 0xc0 // precedence internetwork control, as Linux sends its errors
	binary.BigEndian.PutUint16(h[2:], uint16(total))
	binary.BigEndian.PutUint32(h[4:], 0) // ID 0, no flags
	h[8], h[9] = icmpHopLimit, protoICMP
	copy(h[12:16], ip[16:20]) // from the destination
	copy(h[16:20], ip[12:16]) // to the sender
	inet.IPv4(h).SetChecksum()
	m := out[20:total]
	m[0], m[1] = 3, 4 // destination unreachable, fragmentation needed and DF set
	binary.BigEndian.PutUint16(m[2:], 0)
	binary.BigEndian.PutUint16(m[4:], 0)
	binary.BigEndian.PutUint16(m[6:], uint16(min(mtu, 0xffff)))
	copy(m[8:], ip[:quote])
	binary.BigEndian.PutUint16(m[2:], inet.Finish(inet.Checksum(m, 0)))
	return total
}

func unicast4(a netip.Addr) bool {
	return !a.IsUnspecified() && !a.IsMulticast() && !a.IsLoopback() && a != netip.AddrFrom4([4]byte{255, 255, 255, 255}) &&
		a.As4()[0] < 240 // not class E
}

func tooBig6(out, ip []byte, f Frame, mtu int) int {
	src, dst := netip.AddrFrom16([16]byte(ip[8:24])), netip.AddrFrom16([16]byte(ip[24:40]))
	if src.IsUnspecified() || src.IsMulticast() || dst.IsUnspecified() || dst.IsMulticast() || src.IsLoopback() {
		return 0
	}
	if f.Proto == protoICMPv6 && len(ip) > 40 && ip[40] < 128 { // an error message
		return 0
	}
	quote := min(len(ip), icmpV6Max-40-8)
	total := 40 + 8 + quote
	h := out[:40]
	binary.BigEndian.PutUint32(h[0:], 6<<28)
	binary.BigEndian.PutUint16(h[4:], uint16(total-40))
	h[6], h[7] = protoICMPv6, icmpHopLimit
	copy(h[8:24], ip[24:40]) // from the destination
	copy(h[24:40], ip[8:24]) // to the sender
	m := out[40:total]
	m[0], m[1] = 2, 0 // packet too big
	binary.BigEndian.PutUint16(m[2:], 0)
	binary.BigEndian.PutUint32(m[4:], uint32(max(mtu, minMTU6)))
	copy(m[8:], ip[:quote])
	sum := inet.PseudoHeaderIPv6(h[8:24], h[24:40], protoICMPv6, len(m))
	binary.BigEndian.PutUint16(m[2:], inet.Finish(inet.Checksum(m, sum)))
	return total
}
