package rxparse

import (
	"encoding/binary"

	"github.com/ov2dev/ov2/internal/inet"
)

// espMinLen is the part of the ESP header that must be present for the NIC to look the SA up
// and check the sequence number: SPI and sequence number (RFC 4303 §2).
const espMinLen = 8

// nonESPMarkerLen is the length of the non-ESP marker, four zero bytes where an SPI would be
// (RFC 3948 §2.2).
const nonESPMarkerLen = 4

// natKeepalive is the single payload byte of a NAT-keepalive packet (RFC 3948 §2.3).
const natKeepalive = 0xff

// classifyUpper sets the Kind from the protocol that follows the IP header (and its
// extension headers) at l.L4. pkt ends at l.End, so nothing past the IP packet (link padding)
// is ever read as a header or payload.
func classifyUpper(pkt []byte, proto byte, l Layout) Layout {
	switch proto {
	case inet.ProtoESP:
		return esp(pkt, l.L4, KindESP, l)
	case inet.ProtoAH:
		l.Kind = KindAH
		return l
	case inet.ProtoUDP:
		return udp(pkt, l)
	}
	l.Kind = KindPlain
	return l
}

// esp records an ESP header at off. A header shorter than SPI and sequence number keeps its
// ESP kind but is marked Short, so the caller can report the syntax error on the SA the SPI
// names (when at least the SPI is there).
func esp(pkt []byte, off int, kind Kind, l Layout) Layout {
	l.Kind, l.ESP = kind, off
	n := len(pkt) - off
	if n >= 4 {
		l.SPI = binary.BigEndian.Uint32(pkt[off : off+4])
	}
	if n < espMinLen {
		l.Short, l.Reason = true, reasonESPTruncated
	}
	return l
}

// udp checks the UDP header at l.L4 and, on the NAT-T port, tells ESP, IKE and keepalives
// apart the way RFC 3948 §2 has a receiver do.
//
// The port test accepts 4500 as either port. The local end of a NAT-T flow is normally 4500
// and the remote end's port may have been rewritten by a NAT, but an IKE daemon may also bind
// another local port and talk to a peer's 4500. Linux matches the ports of the socket the SA
// is bound to; Parse does not know the SA, so it casts the wider net and leaves the exact
// ports to the caller, which compares Layout.UDP's ports with the SA's encapsulation ports
// after the SPI lookup. A stray UDP packet from port 4500 costs one failed lookup and is then
// indicated untouched (R-RX-2), so the wide test cannot make the NIC mangle plain traffic.
func udp(pkt []byte, l Layout) Layout {
	u, err := inet.ParseUDP(pkt[l.L4:])
	if err != nil {
		return malformed(reasonUDPTruncated)
	}
	// The UDP length must account for exactly the rest of the IP packet: ESP finds its ICV at
	// the end of the datagram, so a disagreement leaves the packet's boundaries ambiguous. A
	// first fragment holds only the start of the datagram, so there it need only not be less.
	ulen, have := u.Length(), len(pkt)-l.L4
	if l.Fragment {
		if ulen < inet.UDPHeaderLen || ulen < have {
			return malformed(reasonUDPLength)
		}
	} else if ulen != have {
		return malformed(reasonUDPLength)
	}
	if u.SrcPort() != inet.PortNATT && u.DstPort() != inet.PortNATT {
		l.Kind = KindPlain
		return l
	}
	off := l.L4 + inet.UDPHeaderLen
	payload := pkt[off:]
	switch {
	case ulen == inet.UDPHeaderLen+1 && len(payload) == 1 && payload[0] == natKeepalive:
		l.Kind, l.UDP = KindKeepalive, l.L4
	case len(payload) >= nonESPMarkerLen && binary.BigEndian.Uint32(payload) == 0:
		l.Kind, l.UDP = KindIKE, l.L4
	case len(payload) >= nonESPMarkerLen:
		l.UDP = l.L4
		return esp(pkt, off, KindUDPESP, l)
	default:
		// Fewer than 4 bytes and not a keepalive: too short to hold an SPI or the marker,
		// so it is neither ESP nor IKE. The host's stack decides what to do with it.
		l.Kind = KindPlain
	}
	return l
}
