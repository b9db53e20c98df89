package pcap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
)

// Errors returned by Network, always wrapped with what was found; test with errors.Is.
var (
	// ErrNotIP: the frame is valid for its link type but does not carry IPv4 or IPv6
	// (ARP, LLDP, an 802.3/LLC frame, an unknown address family, ...). The caller can pass
	// such frames through unchanged and count them.
	ErrNotIP = errors.New("not an IP packet")
	// ErrLinkType: Network does not know the link type (Supported reports false).
	ErrLinkType = errors.New("unsupported link type")
	// ErrShort: the frame ends inside its link header (or a VLAN tag), or what follows the
	// link header is too short for the fixed IP header (20 bytes IPv4, 40 bytes IPv6).
	ErrShort = errors.New("frame too short")
	// ErrTruncatedByCapture: Reader.Network found the frame too short for its headers, or
	// the IP packet longer than what is there, and the record says the packet was longer on
	// the wire: the capture kept only its first bytes (its snaplen), so the packet is not
	// malformed, only cut. The error gives the sizes ("truncated by the capture (snaplen):
	// 96 of 1514 bytes captured") and also matches ErrShort.
	ErrTruncatedByCapture = errors.New("truncated by the capture (snaplen)")
)

// capturedError is ErrTruncatedByCapture with the sizes; it matches ErrShort too, so that
// code that passes short frames through keeps doing so.
type capturedError struct{ captured, orig int }

func (e *capturedError) Error() string {
	return fmt.Sprintf("%v: %d of %d bytes captured", ErrTruncatedByCapture, e.captured, e.orig)
}

func (e *capturedError) Unwrap() []error { return []error{ErrTruncatedByCapture, ErrShort} }

// Ethertypes and header sizes.
const (
	etherTypeIPv4   = 0x0800
	etherTypeIPv6   = 0x86dd
	etherTypeDot1Q  = 0x8100 // 802.1Q C-tag
	etherTypeDot1AD = 0x88a8 // 802.1ad S-tag (QinQ outer)
	etherTypeQinQ   = 0x9100 // pre-standard QinQ outer tag, still seen in captures

	ethHeaderLen  = 14
	sllHeaderLen  = 16
	sll2HeaderLen = 20
	nullHeaderLen = 4
	vlanTagLen    = 4
	ipv4MinLen    = 20
	ipv6HeaderLen = 40

	// BSD address family values for DLT_NULL / DLT_LOOP. AF_INET is 2 everywhere;
	// AF_INET6 differs by OS: 24 (NetBSD, OpenBSD, BSD/OS), 28 (FreeBSD, DragonFly),
	// 30 (macOS). All three are accepted whatever the host.
	afInet         = 2
	afInet6BSD     = 24
	afInet6FreeBSD = 28
	afInet6Darwin  = 30
)

// notIPError is ErrNotIP with a description of what the frame was.
type notIPError struct{ what string }

func (e *notIPError) Error() string { return ErrNotIP.Error() + ": " + e.what }
func (e *notIPError) Unwrap() error { return ErrNotIP }

// commonNotIP holds prebuilt errors for the non-IP ethertypes seen on most networks, so
// that passing such frames through does not allocate. Read-only after init.
var commonNotIP = func() map[uint16]error {
	m := make(map[uint16]error)
	for _, et := range []uint16{
		0x0806, // ARP
		0x8035, // RARP
		0x8137, // IPX
		0x8808, // Ethernet flow control (PAUSE)
		0x8809, // slow protocols (LACP, OAM)
		0x8847, // MPLS unicast
		0x8848, // MPLS multicast
		0x8863, // PPPoE discovery
		0x8864, // PPPoE session
		0x888e, // 802.1X EAPOL
		0x88cc, // LLDP
		0x88e5, // MACsec
		0x88f7, // PTP
		0x8906, // FCoE
		0x8914, // FIP
		0x893a, // IEEE 1905.1
		0x9000, // Ethernet loopback (CTP)
	} {
		m[et] = &notIPError{fmt.Sprintf("ethertype 0x%04x", et)}
	}
	return m
}()

var errLLC error = &notIPError{"802.3/LLC frame (no ethertype)"}

func notIPEtherType(et uint16) error {
	if et <= 1500 {
		return errLLC
	}
	if err := commonNotIP[et]; err != nil {
		return err
	}
	return &notIPError{fmt.Sprintf("ethertype 0x%04x", et)}
}

func shortFrame(n int, what string, need int) error {
	return fmt.Errorf("%w: %d bytes, %s needs %d", ErrShort, n, what, need)
}

// Network finds the IP packet in a frame of link type lt. link is the link-layer header
// (all bytes before the IP packet, VLAN tags included; its capacity is cut to its length so
// an append cannot overwrite the IP packet) and ip is the IP packet. When the frame is
// longer than the IP packet's own length (Ethernet padding of a short packet, an FCS), ip
// is trimmed to that length; it never reaches past the frame, so for a snaplen-truncated
// capture it is the captured part. Both alias frame; Network does not allocate for IP
// frames.
//
//   - Ethernet: a 14-byte header, then any number of 802.1Q (0x8100), 802.1ad (0x88a8) or
//     0x9100 tags; the innermost ethertype selects IPv4 (0x0800) or IPv6 (0x86dd).
//   - Linux SLL (113): 16-byte header, protocol at bytes 14-15; SLL2 (276): 20-byte header,
//     protocol at bytes 0-1. A VLAN tag that libpcap put back after the header is skipped
//     as on Ethernet.
//   - Raw (101, DLT 12, DLT 14): the version nibble selects IPv4 or IPv6; IPv4 (228) and
//     IPv6 (229) accept only their own version.
//   - Null (0) and Loop (108): a 4-byte address family, 2 for IPv4 and 24, 28 or 30 for
//     IPv6, in either byte order (Null uses the capturing host's order, Loop network order;
//     the order is recognised because the family fits in 16 bits).
//
// Errors: ErrNotIP wrapped with what the frame carries ("ethertype 0x0806"), ErrLinkType
// wrapped with the link type's name and number, ErrShort wrapped with the sizes.
func Network(lt LinkType, frame []byte) (link, ip []byte, err error) {
	switch lt {
	case LinkTypeEthernet:
		if len(frame) < ethHeaderLen {
			return nil, nil, shortFrame(len(frame), "Ethernet header", ethHeaderLen)
		}
		return etherChain(frame, 12, ethHeaderLen)
	case LinkTypeLinuxSLL:
		if len(frame) < sllHeaderLen {
			return nil, nil, shortFrame(len(frame), "Linux SLL header", sllHeaderLen)
		}
		return etherChain(frame, 14, sllHeaderLen)
	case LinkTypeLinuxSLL2:
		if len(frame) < sll2HeaderLen {
			return nil, nil, shortFrame(len(frame), "Linux SLL2 header", sll2HeaderLen)
		}
		return etherChain(frame, 0, sll2HeaderLen)
	case LinkTypeRaw, LinkTypeRawDLT12, LinkTypeRawDLT14, LinkTypeIPv4, LinkTypeIPv6:
		if len(frame) == 0 {
			return nil, nil, shortFrame(0, "an IP header", 1)
		}
		v := frame[0] >> 4
		if (v != 4 && v != 6) || (lt == LinkTypeIPv4 && v != 4) || (lt == LinkTypeIPv6 && v != 6) {
			return nil, nil, &notIPError{fmt.Sprintf("IP version %d on link type %s", v, lt.describe())}
		}
		return ipAt(frame, 0, v == 6)
	case LinkTypeNull, LinkTypeLoop:
		if len(frame) < nullHeaderLen {
			return nil, nil, shortFrame(len(frame), lt.String()+" header", nullHeaderLen)
		}
		fam, _ := nullFamily(frame)
		switch fam {
		case afInet:
			return ipAt(frame, nullHeaderLen, false)
		case afInet6BSD, afInet6FreeBSD, afInet6Darwin:
			return ipAt(frame, nullHeaderLen, true)
		}
		return nil, nil, &notIPError{fmt.Sprintf("address family %d", fam)}
	}
	return nil, nil, fmt.Errorf("%w %s", ErrLinkType, lt.describe())
}

// etherChain follows an ethertype at frame[typeOff:] through VLAN tags that start at off.
func etherChain(frame []byte, typeOff, off int) (link, ip []byte, err error) {
	et := binary.BigEndian.Uint16(frame[typeOff:])
	for isVLAN(et) {
		if len(frame) < off+vlanTagLen {
			return nil, nil, shortFrame(len(frame), "VLAN tag", off+vlanTagLen)
		}
		et = binary.BigEndian.Uint16(frame[off+2:])
		off += vlanTagLen
	}
	switch et {
	case etherTypeIPv4:
		return ipAt(frame, off, false)
	case etherTypeIPv6:
		return ipAt(frame, off, true)
	}
	return nil, nil, notIPEtherType(et)
}

func isVLAN(et uint16) bool {
	return et == etherTypeDot1Q || et == etherTypeDot1AD || et == etherTypeQinQ
}

// ipAt returns frame[:off] and the IP packet at frame[off:], trimmed to its own length.
func ipAt(frame []byte, off int, v6 bool) (link, ip []byte, err error) {
	ip = frame[off:]
	if v6 {
		if len(ip) < ipv6HeaderLen {
			return nil, nil, shortFrame(len(ip), "IPv6 header", ipv6HeaderLen)
		}
		// A payload length of 0 is a jumbogram or an LSO super-packet: keep it all.
		if n := ipv6HeaderLen + int(binary.BigEndian.Uint16(ip[4:6])); n > ipv6HeaderLen && n < len(ip) {
			ip = ip[:n]
		}
	} else {
		if len(ip) < ipv4MinLen {
			return nil, nil, shortFrame(len(ip), "IPv4 header", ipv4MinLen)
		}
		// A total length of 0 (LSO captures) or below the minimum header is not trusted.
		if n := int(binary.BigEndian.Uint16(ip[2:4])); n >= ipv4MinLen && n < len(ip) {
			ip = ip[:n]
		}
	}
	return frame[:off:off], ip, nil
}

// nullFamily reads a DLT_NULL/DLT_LOOP address family in whichever byte order makes it a
// 16-bit number; bigEndian reports which one that was.
func nullFamily(h []byte) (fam uint32, bigEndian bool) {
	fam = binary.LittleEndian.Uint32(h)
	if fam > 0xffff {
		return bits.ReverseBytes32(fam), true
	}
	return fam, false
}

// SetIPVersion rewrites the protocol field of link, a link header of type lt as Network
// returned it, for an IP packet of the given version: the innermost ethertype on Ethernet
// (behind any VLAN tags) and on SLL/SLL2, the address family on Null/Loop. It is for
// output whose IP version changed, e.g. an IPv4 packet sent in an IPv6 tunnel.
//
// Null/Loop keep the byte order they are in (an all-zero family is taken as
// little-endian for Null and big-endian for Loop); an IPv6 family that is already one of
// 24/28/30 is kept, otherwise 24 is written, which every reader accepts; IPv4 is 2.
// Raw link types carry no protocol field: no-op (LINKTYPE_IPV4/IPV6 cannot change version;
// the caller must pick an output link type that can carry the packet). A header too short
// for its type, or an unsupported link type, is left alone. In place, no allocation.
func SetIPVersion(lt LinkType, link []byte, ipv6 bool) {
	et := uint16(etherTypeIPv4)
	if ipv6 {
		et = etherTypeIPv6
	}
	switch lt {
	case LinkTypeEthernet:
		setEtherType(link, 12, ethHeaderLen, et)
	case LinkTypeLinuxSLL:
		setEtherType(link, 14, sllHeaderLen, et)
	case LinkTypeLinuxSLL2:
		setEtherType(link, 0, sll2HeaderLen, et)
	case LinkTypeNull, LinkTypeLoop:
		if len(link) < nullHeaderLen {
			return
		}
		fam, big := nullFamily(link)
		if fam == 0 {
			big = lt == LinkTypeLoop
		}
		switch {
		case !ipv6:
			fam = afInet
		case fam != afInet6BSD && fam != afInet6FreeBSD && fam != afInet6Darwin:
			fam = afInet6BSD
		}
		if big {
			binary.BigEndian.PutUint32(link, fam)
		} else {
			binary.LittleEndian.PutUint32(link, fam)
		}
	}
}

// setEtherType walks the same chain as etherChain inside link and writes et at the
// innermost ethertype.
func setEtherType(link []byte, typeOff, off int, et uint16) {
	if len(link) < off {
		return
	}
	for isVLAN(binary.BigEndian.Uint16(link[typeOff:])) && len(link) >= off+vlanTagLen {
		typeOff = off + 2
		off += vlanTagLen
	}
	binary.BigEndian.PutUint16(link[typeOff:], et)
}

// EtherPayload gives, for a Linux cooked capture record (SLL or SLL2), the EtherType in its
// protocol field and what follows the header, so that a frame that is not IP (ARP, say)
// can be sent again behind an Ethernet header: ok is false for any other link type, a
// record too short for its header, or a protocol field that is not an EtherType (below
// 0x0600: 802.2 LLC, Novell raw 802.3, ...). A VLAN tag that libpcap put back after the
// header stays in the payload, behind its EtherType, as on Ethernet.
func EtherPayload(lt LinkType, frame []byte) (etherType uint16, payload []byte, ok bool) {
	var typeOff, hdrLen int
	switch lt {
	case LinkTypeLinuxSLL:
		typeOff, hdrLen = 14, sllHeaderLen
	case LinkTypeLinuxSLL2:
		typeOff, hdrLen = 0, sll2HeaderLen
	default:
		return 0, nil, false
	}
	if len(frame) < hdrLen {
		return 0, nil, false
	}
	et := binary.BigEndian.Uint16(frame[typeOff:])
	if et < 0x0600 {
		return 0, nil, false
	}
	return et, frame[hdrLen:], true
}
