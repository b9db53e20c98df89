package pcap

import (
	"strconv"

	"github.com/google/gopacket/layers"
)

// LinkType is a pcap/pcapng LINKTYPE_ value (the 16-bit link-type field of a pcap file
// header or a pcapng interface description block).
//
// It is its own type rather than layers.LinkType because gopacket v1.1.19 declares
// layers.LinkType as a uint8, which cannot hold LINKTYPE_LINUX_SLL2 (276); pcapgo also
// truncates the link type it reads to 8 bits. Values below 256 convert both ways:
// pcap.LinkType(layers.LinkTypeEthernet), layers.LinkType(lt).
type LinkType uint16

// The link types Network understands, plus the two BSD raw-IP numbers.
const (
	LinkTypeNull      LinkType = 0   // BSD loopback: 4-byte address family in the capturing host's byte order
	LinkTypeEthernet  LinkType = 1   // Ethernet II, with any number of 802.1Q / 802.1ad tags
	LinkTypeRawDLT12  LinkType = 12  // raw IP as DLT_RAW is numbered on most BSDs (DLT 12)
	LinkTypeRawDLT14  LinkType = 14  // raw IP as DLT_RAW is numbered on OpenBSD (DLT 14)
	LinkTypeRaw       LinkType = 101 // LINKTYPE_RAW: raw IPv4 or IPv6, told apart by the version nibble
	LinkTypeLoop      LinkType = 108 // OpenBSD loopback: 4-byte address family, network byte order
	LinkTypeLinuxSLL  LinkType = 113 // Linux cooked capture v1, 16-byte header
	LinkTypeIPv4      LinkType = 228 // LINKTYPE_IPV4: raw IPv4 only
	LinkTypeIPv6      LinkType = 229 // LINKTYPE_IPV6: raw IPv6 only
	LinkTypeLinuxSLL2 LinkType = 276 // Linux cooked capture v2, 20-byte header
)

// String returns the link type's name: this package's own names for the types it
// supports, gopacket's name for other values below 256, "unknown" otherwise. Errors
// print it together with the number, as in "802.11 (105)".
func (lt LinkType) String() string {
	switch lt {
	case LinkTypeNull:
		return "Null"
	case LinkTypeEthernet:
		return "Ethernet"
	case LinkTypeRawDLT12, LinkTypeRawDLT14, LinkTypeRaw:
		return "Raw"
	case LinkTypeLoop:
		return "Loop"
	case LinkTypeLinuxSLL:
		return "Linux SLL"
	case LinkTypeIPv4:
		return "IPv4"
	case LinkTypeIPv6:
		return "IPv6"
	case LinkTypeLinuxSLL2:
		return "Linux SLL2"
	}
	if lt < 256 {
		// gopacket fills unassigned entries with "UnknownLinkType".
		if name := layers.LinkType(lt).String(); name != "" && name != "UnknownLinkType" {
			return name
		}
	}
	return "unknown"
}

// describe is "name (number)" for messages.
func (lt LinkType) describe() string {
	return lt.String() + " (" + strconv.Itoa(int(lt)) + ")"
}

// Supported reports whether Network can find the IP packet in frames of link type lt.
func Supported(lt LinkType) bool {
	switch lt {
	case LinkTypeNull, LinkTypeEthernet, LinkTypeRawDLT12, LinkTypeRawDLT14, LinkTypeRaw,
		LinkTypeLoop, LinkTypeLinuxSLL, LinkTypeIPv4, LinkTypeIPv6, LinkTypeLinuxSLL2:
		return true
	}
	return false
}
