package gateway

import "encoding/binary"

// IPv4 packets without DF that do not fit once sealed are fragmented before they are
// sealed (RFC 4459 §5.1's pre-fragmentation, what Linux does for a tunnel's inner packet):
// each fragment is sealed on its own and the destination reassembles them after
// decryption, so the far gateway never handles a fragment.

// fragment4 writes fragment k of the IPv4 packet of frame (parsed as f) into dst, for
// fragments of at most mtu bytes each, and returns the fragment frame's length, or 0 when
// k is past the last fragment (or mtu leaves no room for 8 bytes of data). Each fragment
// has the link header and a copy of the IP header (options and all) with its length,
// offset and MF set, and a new checksum. dst must hold mtu+f.LinkLen bytes. It does not
// allocate.
func fragment4(dst, frame []byte, f Frame, mtu, k int) int {
	chunk := (mtu - f.HdrLen) &^ 7
	if f.Kind != KindIPv4 || chunk < 8 || len(frame) < f.LinkLen+f.IPLen {
		return 0
	}
	ip := frame[f.LinkLen : f.LinkLen+f.IPLen]
	if !fragmentable4(ip, f) {
		return 0
	}
	data := ip[f.HdrLen:]
	start := k * chunk
	if start >= len(data) || (k > 0 && start == 0) {
		return 0
	}
	end := min(start+chunk, len(data))
	n := f.LinkLen + f.HdrLen + end - start
	if len(dst) < n {
		return 0
	}
	copy(dst, frame[:f.LinkLen+f.HdrLen])
	copy(dst[f.LinkLen+f.HdrLen:], data[start:end])
	h := dst[f.LinkLen : f.LinkLen+f.HdrLen]
	orig := binary.BigEndian.Uint16(ip[6:])
	off := int(orig&0x1fff) + start/8
	flags := orig & 0xe000 // reserved, DF, MF
	if end < len(data) {
		flags |= 0x2000 // more fragments
	}
	binary.BigEndian.PutUint16(h[2:], uint16(f.HdrLen+end-start))
	binary.BigEndian.PutUint16(h[6:], flags|uint16(off))
	h[10], h[11] = 0, 0
	binary.BigEndian.PutUint16(h[10:], ^checksum16(h))
	return n
}

// fragments is how many fragments fragment4 makes of the IPv4 packet ip (parsed as f).
func fragments(ip []byte, f Frame, mtu int) int {
	chunk := (mtu - f.HdrLen) &^ 7
	if chunk < 8 || !fragmentable4(ip, f) {
		return 0
	}
	return (f.IPLen - f.HdrLen + chunk - 1) / chunk
}

// fragmentable4 says whether the data of the IPv4 packet ip (parsed as f), at its own
// fragment offset, ends within the 65,535 bytes an IPv4 datagram can have: only then does
// every fragment's offset fit the header's 13 bits. A packet that claims more is malformed
// (the "ping of death" shape) and is not fragmented: the caller drops it with a reason.
func fragmentable4(ip []byte, f Frame) bool {
	return int(binary.BigEndian.Uint16(ip[6:])&0x1fff)*8+f.IPLen-f.HdrLen <= 0xffff
}

// checksum16 is the folded one's-complement sum of an IPv4 header.
func checksum16(h []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(h); i += 2 {
		s += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}
