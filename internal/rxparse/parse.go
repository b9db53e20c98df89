package rxparse

import (
	"encoding/binary"

	"github.com/ov2dev/ov2/internal/inet"
)

// Reasons a frame is KindMalformed or Short. They are constants so that Parse never
// allocates; tests compare against them word for word.
const (
	reasonEmpty          = "empty frame"
	reasonVersion        = "IP version not 4 or 6"
	reasonIPv4Truncated  = "IPv4 header truncated"
	reasonIHLBelow5      = "IPv4 IHL below 5"
	reasonIHLPastFrame   = "IPv4 IHL past the frame"
	reasonTotalBelowIHL  = "IPv4 total length below header length"
	reasonTotalPastFrame = "IPv4 total length past the frame"
	reasonIPv6Truncated  = "IPv6 header truncated"
	reasonPayloadPast    = "IPv6 payload length past the frame"
	reasonExtPastEnd     = "IPv6 extension header past the packet"
	reasonTooManyExt     = "too many IPv6 extension headers"
	reasonUDPTruncated   = "UDP header truncated"
	reasonUDPLength      = "UDP length disagrees with the IP length"
	reasonESPTruncated   = "ESP header truncated"
)

// Header offsets and sizes that Parse needs beyond the views of package inet.
const (
	ipv4DstOff = 16 // the IPv4 destination address (RFC 791 §3.1)
	ipv6DstOff = 24 // the IPv6 destination address (RFC 8200 §3)
	// maxIPv6ExtHeaders bounds the extension-header walk so that a frame made of nothing but
	// 8-byte headers cannot make Parse loop thousands of times; real traffic carries two or
	// three at most.
	maxIPv6ExtHeaders = 8
	ipv6FragHeaderLen = 8 // the Fragment header has a fixed size (RFC 8200 §4.5)
	ipv6ProtoFragment = 44
)

// Parse classifies a received frame that starts at the IP header and says where its
// headers are. It never panics and never allocates, whatever the bytes: every length is
// checked against the frame before it is used, because the frame comes off the wire.
func Parse(frame []byte) Layout {
	if len(frame) == 0 {
		return malformed(reasonEmpty)
	}
	switch frame[0] >> 4 {
	case 4:
		return parseIPv4(frame)
	case 6:
		return parseIPv6(frame)
	}
	return malformed(reasonVersion)
}

// malformed is the Layout of a frame that does not parse: Reason only, no offsets.
func malformed(reason string) Layout {
	return Layout{Kind: KindMalformed, Reason: reason}
}

// parseIPv4 reads the IPv4 header of a frame whose version nibble is 4.
func parseIPv4(frame []byte) Layout {
	h, err := inet.ParseIPv4(frame)
	if err != nil {
		switch {
		case err == inet.ErrHeaderLen:
			return malformed(reasonIHLBelow5)
		case len(frame) < inet.IPv4MinHeaderLen:
			return malformed(reasonIPv4Truncated)
		}
		return malformed(reasonIHLPastFrame)
	}
	hl, total := h.HeaderLen(), h.TotalLen()
	if total < hl {
		return malformed(reasonTotalBelowIHL)
	}
	if total > len(frame) {
		return malformed(reasonTotalPastFrame)
	}
	l := Layout{
		DstOff:      ipv4DstOff,
		DstLen:      4,
		L4:          hl,
		End:         total,
		IPv4Options: hl > inet.IPv4MinHeaderLen,
		Fragment:    h.IsFragment(),
	}
	// A later fragment (offset non-zero) carries the middle of the payload: whatever its
	// first bytes are, they are not an ESP or UDP header.
	if binary.BigEndian.Uint16(h[6:8])&0x1fff != 0 {
		l.Kind = KindPlain
		return l
	}
	return classifyUpper(frame[:total], h.Protocol(), l)
}

// parseIPv6 reads the IPv6 header of a frame whose version nibble is 6, and walks its
// extension headers to the ESP, AH or upper-layer header.
func parseIPv6(frame []byte) Layout {
	h, err := inet.ParseIPv6(frame)
	if err != nil {
		return malformed(reasonIPv6Truncated)
	}
	end := inet.IPv6HeaderLen + h.PayloadLen()
	if end > len(frame) {
		return malformed(reasonPayloadPast)
	}
	// A jumbogram (RFC 2675) has payload length 0 and its real length in a Hop-by-Hop
	// option; a NIC frame is far below 64 KiB, so it is read as an empty payload and its
	// Hop-by-Hop header then runs past the end.
	pkt := frame[:end]
	l := Layout{IPv6: true, DstOff: ipv6DstOff, DstLen: 16, End: end}
	nh, off := h.NextHeader(), inet.IPv6HeaderLen
	for n := 0; inet.IsIPv6ExtensionHeader(nh); n++ {
		if n == maxIPv6ExtHeaders {
			return malformed(reasonTooManyExt)
		}
		l.IPv6ExtHeaders = true
		if nh == ipv6ProtoFragment {
			if len(pkt)-off < ipv6FragHeaderLen {
				return malformed(reasonExtPastEnd)
			}
			l.Fragment = true
			fragOff := binary.BigEndian.Uint16(pkt[off+2:off+4]) >> 3
			nh, off = pkt[off], off+ipv6FragHeaderLen
			if fragOff != 0 {
				// As for IPv4: the headers after this one are in the first fragment only.
				l.Kind, l.L4 = KindPlain, off
				return l
			}
			continue
		}
		// Every other registered extension header has the uniform layout of RFC 8200 §4
		// and RFC 6564: next header, then the length in 8-byte units not counting the first.
		if len(pkt)-off < 2 {
			return malformed(reasonExtPastEnd)
		}
		hl := (int(pkt[off+1]) + 1) * 8
		if len(pkt)-off < hl {
			return malformed(reasonExtPastEnd)
		}
		nh, off = pkt[off], off+hl
	}
	l.L4 = off
	return classifyUpper(pkt, nh, l)
}
