package inet

import (
	"encoding/binary"
	"math/bits"
)

// Checksum adds b to a running Internet checksum (RFC 1071) and returns the one's-complement
// sum of 16-bit big-endian words folded to 16 bits (0..0xffff), not yet complemented, so that
// sums chain: Checksum(b2, Checksum(b1, PseudoHeaderIPv4(...))). An odd final byte counts as
// the high byte of a word whose low byte is zero; only the last piece of a chain may have odd
// length. initial may be any value (an earlier result, a pseudo-header sum); it is folded in.
//
// The loop adds 64-bit words with an end-around carry: one's-complement addition does not care
// how the 16-bit words are grouped (RFC 1071 §2(B)), and 2^16-1 divides 2^64-1, so folding the
// 64-bit sum gives the same 16-bit sum with a quarter of the additions.
func Checksum(b []byte, initial uint32) uint32 {
	sum := uint64(initial)
	var carry uint64
	for len(b) >= 32 {
		sum, carry = bits.Add64(sum, binary.BigEndian.Uint64(b[0:8]), carry)
		sum, carry = bits.Add64(sum, binary.BigEndian.Uint64(b[8:16]), carry)
		sum, carry = bits.Add64(sum, binary.BigEndian.Uint64(b[16:24]), carry)
		sum, carry = bits.Add64(sum, binary.BigEndian.Uint64(b[24:32]), carry)
		b = b[32:]
	}
	for len(b) >= 8 {
		sum, carry = bits.Add64(sum, binary.BigEndian.Uint64(b[0:8]), carry)
		b = b[8:]
	}
	// What is left (0 to 7 bytes) is small; add it into a separate word so no carry is lost.
	var tail uint64
	if len(b) >= 4 {
		tail += uint64(binary.BigEndian.Uint32(b[0:4]))
		b = b[4:]
	}
	if len(b) >= 2 {
		tail += uint64(binary.BigEndian.Uint16(b[0:2]))
		b = b[2:]
	}
	if len(b) == 1 {
		tail += uint64(b[0]) << 8
	}
	sum, carry = bits.Add64(sum, tail, carry)
	sum, carry = bits.Add64(sum, 0, carry) // end-around carry; cannot carry out again
	return fold64(sum)
}

// fold64 reduces a 64-bit one's-complement sum to 16 bits by adding its halves, end-around.
func fold64(s uint64) uint32 {
	s = s>>32 + s&0xffffffff // < 2^33
	s = s>>32 + s&0xffffffff // < 2^32
	s = s>>16 + s&0xffff     // < 2^17
	s = s>>16 + s&0xffff     // <= 0xffff
	return uint32(s)
}

// Finish turns a running sum from Checksum (or any uint32 sum of 16-bit words) into the value
// a checksum field holds: the one's complement of the folded sum (RFC 1071 §1).
func Finish(sum uint32) uint16 {
	return ^uint16(fold64(uint64(sum)))
}

// PseudoHeaderIPv4 is the running sum of the IPv4 pseudo-header that TCP and UDP checksums
// cover (RFC 9293 §3.1, RFC 768): source, destination, zero, protocol, and the transport
// length. src and dst must be 4 bytes each (IPv4.Src, IPv4.Dst). length is the TCP or UDP
// header plus payload, at most 0xffff.
func PseudoHeaderIPv4(src, dst []byte, proto byte, length int) uint32 {
	sum := uint32(binary.BigEndian.Uint16(src[0:2])) + uint32(binary.BigEndian.Uint16(src[2:4]))
	sum += uint32(binary.BigEndian.Uint16(dst[0:2])) + uint32(binary.BigEndian.Uint16(dst[2:4]))
	return sum + uint32(proto) + uint32(length)
}

// PseudoHeader is PseudoHeaderIPv4 or PseudoHeaderIPv6 for the IP packet ip, by its version
// (4, or else 6): its addresses, proto, and length. ip must hold the fixed header.
func PseudoHeader(ip []byte, proto byte, length int) uint32 {
	if ip[0]>>4 == 4 {
		return PseudoHeaderIPv4(ip[12:16], ip[16:20], proto, length)
	}
	return PseudoHeaderIPv6(ip[8:24], ip[24:40], proto, length)
}

// PseudoHeaderIPv6 is the running sum of the IPv6 pseudo-header (RFC 8200 §8.1): source,
// destination, 32-bit upper-layer length, three zero bytes and the next header. src and dst
// must be 16 bytes each (IPv6.Src, IPv6.Dst). The upper-layer length is 32 bits on the wire;
// only values up to 0xffff occur here, but the high half is added as well for correctness.
func PseudoHeaderIPv6(src, dst []byte, proto byte, length int) uint32 {
	sum := Checksum(src[:16], 0)
	sum = Checksum(dst[:16], sum)
	n := uint32(length)
	return sum + n>>16 + n&0xffff + uint32(proto)
}
