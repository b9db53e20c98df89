package gateway

import (
	"encoding/binary"

	"github.com/ov2dev/ov2/internal/inet"
)

// completeChecksum fills in the TCP or UDP checksum of an IP packet whose checksum the
// sending host left to the hardware (checksum offload: the AF_PACKET ring marks such a
// frame TP_STATUS_CSUMNOTREADY, and its checksum field holds only the pseudo-header's
// part). Sealed or bridged as it is, the packet would reach its destination with a wrong
// checksum. It reports whether it did: packets of other protocols, IPv4 fragments and IPv6
// packets with extension headers are left alone. It does not allocate.
func completeChecksum(ip []byte, f Frame) bool {
	if f.Kind == KindOther || len(ip) < f.IPLen || f.IPLen < f.HdrLen {
		return false
	}
	ip = ip[:f.IPLen]
	l4 := ip[f.HdrLen:]
	var at int
	switch f.Proto {
	case inet.ProtoTCP:
		at = 16
	case inet.ProtoUDP:
		at = 6
	default:
		return false
	}
	if len(l4) < at+2 {
		return false
	}
	if f.Kind == KindIPv4 && binary.BigEndian.Uint16(ip[6:])&0x3fff != 0 {
		return false // a fragment: the checksum covers the whole datagram
	}
	sum := inet.PseudoHeader(ip, f.Proto, len(l4))
	binary.BigEndian.PutUint16(l4[at:], 0)
	c := inet.Finish(inet.Checksum(l4, sum))
	if c == 0 && f.Proto == inet.ProtoUDP {
		c = 0xffff // RFC 768: a computed 0 is sent as all ones
	}
	binary.BigEndian.PutUint16(l4[at:], c)
	return true
}
