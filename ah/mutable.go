package ah

import "encoding/binary"

// The ICV covers the IP header and the headers in front of AH as the receiver will see them,
// with every field that may change in transit set to zero and every field that changes
// predictably set to its value at the receiver (RFC 4302 §3.3.3.1). walk finds AH in a packet
// and, given an image buffer, writes that view of pkt[:Payload] into it; the packet itself is
// never written.
//
// IPv4 (RFC 4302 §3.3.3.1.1): version, header length, total length, identification,
// protocol, source and destination are covered as they are; type of service (DSCP and ECN),
// flags with fragment offset, TTL and the header checksum are zeroed. Options follow RFC 4302
// Appendix A.1, by their whole type byte: End of Options List (0), No Operation (1),
// Security (130), Extended Security (133), Commercial Security (134), Router Alert (148) and
// Sender Directed Multi-Destination Delivery (149) are immutable and covered; every other
// option, known (Loose and Strict Source Route, Record Route, Timestamp, Traceroute) or not,
// is zeroed whole, type and length included. The bytes after an End of Options List are
// covered as they are. With a source route whose route is not yet complete, the destination
// is mutable but predictable: the ICV uses the last address of the route, where the packet
// ends up; at the receiver (pointer past the end) the header's destination already is that.
//
// IPv6 (RFC 4302 §3.3.3.1.2): version, payload length, next header and source are covered;
// traffic class (DSCP and ECN), flow label and hop limit are zeroed. Hop-by-hop and
// destination options headers are covered, except that the data of each option whose type
// has the "may change en route" bit (0x20, RFC 8200 §4.2) is zeroed (type and length stay).
// A routing header with segments left is mutable but predictable: for types 0 and 2 (an
// address vector, RFC 8200 §4.4 and RFC 6275 §6.4) the ICV uses the addresses and destination
// as they will be at the end of the route (RFC 4302 Appendix A.2: the destination becomes the
// last address, each address slot still to be visited takes the address before it, segments
// left becomes 0); for type 4 (segment routing, RFC 8754) the destination becomes Segment
// List[0], the list stays, segments left becomes 0. Another type with segments left is
// ErrUnsupported; with none left, every routing header is covered as it is.
//
// Refused: IP fragments (ErrFragment), IPv6 jumbograms and unpredictable routing headers
// (ErrUnsupported), a chain that ends without AH (ErrNotAH), and anything whose lengths do not
// add up (ErrShort, ErrMalformed).

// The IPv4 options RFC 4302 Appendix A.1 lists as immutable, by type byte (copy, class, number).
const (
	optEOL        = 0
	optNOP        = 1
	optSecurity   = 0x82 // 1 0 2
	optExtSec     = 0x85 // 1 0 5
	optCommercial = 0x86 // 1 0 6
	optRouterAl   = 0x94 // 1 0 20
	optSDMDD      = 0x95 // 1 0 21
	optLSRR       = 0x83 // 1 0 3, mutable; its last address predicts the destination
	optSSRR       = 0x89 // 1 0 9, likewise
)

// IPv6 next header values walk knows.
const (
	nhHopByHop = 0
	nhRouting  = 43
	nhFragment = 44
	nhDestOpts = 60
)

// Parse finds the AH header of an IPv4 or IPv6 packet (transport or tunnel mode: the IP
// header is the one AH follows) and checks every length on the way, the IPv4 options and
// IPv6 option TLVs included. It reads pkt only.
func Parse(pkt []byte) (Layout, error) {
	var l Layout
	err := walk(pkt, nil, &l)
	return l, err
}

// AppendCanonical appends to dst the packet's headers up to the end of the AH header as the
// ICV sees them: pkt[:Payload] with the mutable fields zeroed and the predictable ones
// predicted (see the package documentation). The AH header is copied as it is; zeroing its
// ICV is the transform's job, since only the SA knows the ICV's length. It returns the
// extended slice and the packet's Layout. It allocates only when dst lacks len(pkt) bytes of
// spare capacity.
func AppendCanonical(dst, pkt []byte) ([]byte, Layout, error) {
	n := len(dst)
	if cap(dst)-n < len(pkt) {
		grown := make([]byte, n, n+len(pkt))
		copy(grown, dst)
		dst = grown
	}
	var l Layout
	if err := walk(pkt, dst[n:n+len(pkt)], &l); err != nil {
		return dst, l, err
	}
	return dst[:n+l.Payload], l, nil
}

// walk parses pkt into *l (which it first zeroes) and, when img is not nil (len(img) >=
// len(pkt)), writes the canonical view of pkt[:Payload] into img[:Payload]. The Layout is
// filled in place, not returned, because copying it up through the walk's calls cost more
// than the walk itself (a 1400-byte packet's verify spent ~5% of its time in those copies).
func walk(pkt, img []byte, l *Layout) error {
	*l = Layout{}
	if len(pkt) < 1 {
		return ErrShort
	}
	switch pkt[0] >> 4 {
	case 4:
		return walk4(pkt, img, l)
	case 6:
		return walk6(pkt, img, l)
	}
	return ErrNotAH
}

func walk4(pkt, img []byte, l *Layout) error {
	if len(pkt) < 20 {
		return ErrShort
	}
	ihl := int(pkt[0]&0xf) * 4
	total := int(binary.BigEndian.Uint16(pkt[2:4]))
	switch {
	case ihl < 20 || total < ihl:
		return ErrMalformed
	case total > len(pkt):
		return ErrShort
	case pkt[9] != Protocol:
		return ErrNotAH
	case binary.BigEndian.Uint16(pkt[6:8])&0x3fff != 0: // MF or a fragment offset
		return ErrFragment
	}
	l.End = total
	if img != nil {
		copy(img, pkt[:ihl])
		img[1] = 0              // type of service
		img[6], img[7] = 0, 0   // flags, fragment offset
		img[8] = 0              // TTL
		img[10], img[11] = 0, 0 // header checksum
	}
	for i := 20; i < ihl; {
		t := pkt[i]
		if t == optEOL {
			break
		}
		if t == optNOP {
			i++
			continue
		}
		if i+1 >= ihl {
			return ErrMalformed
		}
		ol := int(pkt[i+1])
		if ol < 2 || i+ol > ihl {
			return ErrMalformed
		}
		switch t {
		case optSecurity, optExtSec, optCommercial, optRouterAl, optSDMDD:
		default:
			if img != nil {
				if (t == optLSRR || t == optSSRR) && ol >= 7 {
					// Pointer (1-based within the option) at an address still to visit: the
					// packet ends at the route's last address.
					if ptr := int(pkt[i+2]); ptr >= 4 && ptr+3 <= ol {
						copy(img[16:20], pkt[i+ol-4:i+ol])
					}
				}
				clear(img[i : i+ol])
			}
		}
		i += ol
	}
	return ahHeader(pkt, img, l, ihl)
}

func walk6(pkt, img []byte, l *Layout) error {
	l.V6 = true
	if len(pkt) < 40 {
		return ErrShort
	}
	plen := int(binary.BigEndian.Uint16(pkt[4:6]))
	if plen == 0 {
		return ErrUnsupported // a jumbogram (RFC 2675) or nothing at all
	}
	end := 40 + plen
	if end > len(pkt) {
		return ErrShort
	}
	l.End = end
	if img != nil {
		copy(img, pkt[:40])
		img[0] = 0x60                    // version 6, traffic class high nibble zeroed
		img[1], img[2], img[3] = 0, 0, 0 // traffic class low nibble, flow label
		img[7] = 0                       // hop limit
	}
	nh, off := pkt[6], 40
	for nh != Protocol {
		switch nh {
		case nhHopByHop, nhDestOpts, nhRouting:
		case nhFragment:
			return ErrFragment
		default:
			return ErrNotAH
		}
		if nh == nhHopByHop && off != 40 { // RFC 8200 §4.1: only right after the IPv6 header
			return ErrMalformed
		}
		if off+8 > end {
			return ErrShort
		}
		hl := (int(pkt[off+1]) + 1) * 8
		if off+hl > end {
			return ErrShort
		}
		if img != nil {
			copy(img[off:off+hl], pkt[off:off+hl])
		}
		var err error
		if nh == nhRouting {
			err = routing(pkt, img, off, hl)
		} else {
			err = options6(pkt, img, off, hl)
		}
		if err != nil {
			return err
		}
		nh, off = pkt[off], off+hl
	}
	return ahHeader(pkt, img, l, off)
}

// options6 checks the option TLVs of a hop-by-hop or destination options header at
// pkt[off:off+hl] and zeroes, in img, the data of those that may change en route.
func options6(pkt, img []byte, off, hl int) error {
	end := off + hl
	for j := off + 2; j < end; {
		if pkt[j] == 0 { // Pad1: one byte, no length
			j++
			continue
		}
		if j+2 > end {
			return ErrMalformed
		}
		ol := int(pkt[j+1])
		if j+2+ol > end {
			return ErrMalformed
		}
		if pkt[j]&0x20 != 0 && img != nil {
			clear(img[j+2 : j+2+ol])
		}
		j += 2 + ol
	}
	return nil
}

// routing checks a routing header at pkt[off:off+hl] and, when it has segments left, writes
// into img the destination and header as they will be at the end of the route.
func routing(pkt, img []byte, off, hl int) error {
	typ, left := pkt[off+2], int(pkt[off+3])
	if left == 0 {
		return nil
	}
	switch typ {
	case 0, 2: // an address vector: 8 bytes of header, then n 16-byte addresses
		n := int(pkt[off+1]) / 2
		if left > n {
			return ErrMalformed
		}
		if img == nil {
			return nil
		}
		addr := func(b []byte, k int) []byte { return b[off+8+16*k : off+8+16*(k+1)] }
		// Per hop the destination and the next address swap; at the end the slot of each
		// address still to visit holds the address before it (the first of them the current
		// destination) and the destination is the last address.
		visited := n - left
		copy(addr(img, visited), pkt[24:40])
		for k := visited + 1; k < n; k++ {
			copy(addr(img, k), addr(pkt, k-1))
		}
		copy(img[24:40], addr(pkt, n-1))
		img[off+3] = 0
	case 4: // segment routing: Last Entry at +4, Segment List[0..Last Entry] from +8
		last := int(pkt[off+4])
		if 8+16*(last+1) > hl || left > last+1 {
			return ErrMalformed
		}
		if img != nil {
			copy(img[24:40], pkt[off+8:off+24])
			img[off+3] = 0
		}
	default:
		return ErrUnsupported
	}
	return nil
}

// ahHeader reads the AH header at pkt[off:l.End] and copies it into img.
func ahHeader(pkt, img []byte, l *Layout, off int) error {
	h, err := ParseHeader(pkt[off:l.End], l.V6)
	if err != nil {
		return err
	}
	l.AH, l.AHLen, l.Payload = off, h.Len, off+h.Len
	l.NextHeader, l.SPI, l.Seq = h.NextHeader, h.SPI, h.Seq
	if img != nil {
		copy(img[off:l.Payload], pkt[off:l.Payload])
	}
	return nil
}
