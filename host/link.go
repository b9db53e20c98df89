package host

import "github.com/ov2dev/ov2/packet"

// MaxLink is the longest link-layer header StashLink keeps: Ethernet with two VLAN tags
// (22 bytes) and room to spare. With its length byte it fills packet.CarryRoom, the
// headroom a large send hands on to each of its segments, so segments carry it too.
const MaxLink = packet.CarryRoom - 1

// StashLink keeps a link-layer header (an Ethernet header, say) in b's headroom, right in
// front of the frame, without making it part of the frame, so that it travels with the
// packet through the NIC (whose stages work on the frame and its tailroom and leave the
// headroom alone) to whoever takes the completion, which gets it back with UnstashLink.
// The headroom then holds, from the frame backwards, one byte with the header's length and
// the header itself:
//
//	... | link (n bytes) | n | frame ...
//
// An empty link stores only the length byte, 0. A link longer than MaxLink, or than the
// headroom allows, is not kept (the length byte says 0 where there is room for it). It
// does not allocate.
func StashLink(b *packet.Buffer, link []byte) {
	n := len(link)
	if n > MaxLink || b.Headroom() < n+1 {
		n = 0
		if b.Headroom() < 1 {
			return
		}
	}
	s := b.Prepend(n + 1)
	copy(s, link[:n])
	s[n] = byte(n)
	b.TrimFront(n + 1)
}

// UnstashLink puts back in front of the frame the link header StashLink kept, and returns
// its length: the frame is then the link header followed by the packet. It must only be
// called for a buffer that went through StashLink since it was last reset, or for a
// segment of a large send that did (the segment carries its large send's headroom). It
// does not allocate.
func UnstashLink(b *packet.Buffer) int {
	if b.Headroom() < 1 {
		return 0
	}
	n := int(b.Prepend(1)[0])
	b.TrimFront(1)
	if n == 0 || n > MaxLink || b.Headroom() < n+1 {
		return 0
	}
	s := b.Prepend(n + 1) // link | n
	copy(s[1:], s[:n])    // the link moves over its length byte, next to the frame
	b.TrimFront(1)
	return n
}
