package gateway

import "encoding/binary"

// EtherTypes the gateway tells apart.
const (
	etherIPv4  = 0x0800
	etherIPv6  = 0x86dd
	etherVLAN  = 0x8100 // 802.1Q
	etherQinQ  = 0x88a8 // 802.1ad
	ethHdrLen  = 14
	vlanTagLen = 4
	// maxTags is how many VLAN tags the parser looks through.
	maxTags = 2
)

// Kind is what a frame is, as far as the gateway is concerned.
type Kind uint8

// Frame kinds.
const (
	// KindOther is anything that is not IP over Ethernet (ARP, LLDP, a runt): bridged as
	// it is.
	KindOther Kind = iota
	// KindIPv4 and KindIPv6 are IP packets: the header's version agrees with the EtherType
	// and the packet is at least a minimal header long. Whether it is well formed beyond
	// that is for the fast path to decide.
	KindIPv4
	KindIPv6
)

var kindNames = [...]string{"other", "IPv4", "IPv6"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(?)"
}

// Frame is a parsed Ethernet frame: where its IP packet starts, and what it is. It is a
// view; it holds the frame's bytes, not a copy.
type Frame struct {
	Kind Kind
	// LinkLen is the length of the link-layer header: 14, plus 4 per VLAN tag.
	LinkLen int
	// IPLen is the IP packet's length from its header (total length, or 40 plus the
	// payload length), at most what the frame holds; 0 for KindOther. An Ethernet frame
	// can carry padding behind the packet (a 64-byte minimum frame), which is not part of
	// it.
	IPLen int
	// HdrLen is the IP header's length (IHL*4 for IPv4, 40 for IPv6).
	HdrLen int
	// Proto is the IPv4 protocol or the IPv6 next header.
	Proto byte
}

// ParseFrame reads an Ethernet frame (with up to two VLAN tags). It never fails: what it
// cannot read as IP is KindOther. It does not allocate.
func ParseFrame(b []byte) Frame {
	var f Frame
	if len(b) < ethHdrLen {
		return f
	}
	off := 12
	et := binary.BigEndian.Uint16(b[off:])
	for tags := 0; (et == etherVLAN || et == etherQinQ) && tags < maxTags; tags++ {
		off += vlanTagLen
		if len(b) < off+2 {
			return Frame{}
		}
		et = binary.BigEndian.Uint16(b[off:])
	}
	link := off + 2
	ip := b[link:]
	switch et {
	case etherIPv4:
		if len(ip) < 20 || ip[0]>>4 != 4 {
			return Frame{}
		}
		hdr := int(ip[0]&0xf) * 4
		total := int(binary.BigEndian.Uint16(ip[2:]))
		if hdr < 20 || total < hdr || total > len(ip) {
			return Frame{}
		}
		return Frame{Kind: KindIPv4, LinkLen: link, IPLen: total, HdrLen: hdr, Proto: ip[9]}
	case etherIPv6:
		if len(ip) < 40 || ip[0]>>4 != 6 {
			return Frame{}
		}
		total := 40 + int(binary.BigEndian.Uint16(ip[4:]))
		if total > len(ip) {
			return Frame{}
		}
		return Frame{Kind: KindIPv6, LinkLen: link, IPLen: total, HdrLen: 40, Proto: ip[6]}
	}
	return Frame{LinkLen: link}
}

// setEtherType makes the EtherType at the end of a link-layer header (after any VLAN tags)
// say the IP version of the packet that follows it: a tunnel SA can change the family.
func setEtherType(link []byte, ip []byte) {
	if len(link) < ethHdrLen || len(ip) == 0 {
		return
	}
	et := uint16(etherIPv4)
	if ip[0]>>4 == 6 {
		et = etherIPv6
	}
	binary.BigEndian.PutUint16(link[len(link)-2:], et)
}
