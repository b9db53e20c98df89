package inet

// IP protocol numbers (IANA "Assigned Internet Protocol Numbers"). They appear in the IPv4
// protocol field, the IPv6 next-header field and the ESP trailer's next-header byte; one
// untyped set serves all three.
const (
	// ProtoIPv4 is IPv4 carried in IP: the next header of a tunnel-mode ESP packet with an
	// IPv4 inner packet.
	ProtoIPv4 = 4
	// ProtoTCP is TCP, the only transport that LSO segments.
	ProtoTCP = 6
	// ProtoUDP is UDP, which carries ESP through NAT (RFC 3948).
	ProtoUDP = 17
	// ProtoIPv6 is IPv6 carried in IP: the tunnel-mode next header for an IPv6 inner packet.
	ProtoIPv6 = 41
	// ProtoESP is the Encapsulating Security Payload (RFC 4303).
	ProtoESP = 50
	// ProtoAH is the Authentication Header (RFC 4302).
	ProtoAH = 51
)

// PortNATT is the UDP port of ESP in UDP (RFC 3948 §2): IKE and ESP share it behind NAT.
const PortNATT = 4500

// Header lengths in bytes. The IPv4 and TCP headers carry their own length (in 4-byte words,
// so at most 15*4); the others are fixed.
const (
	// IPv4MinHeaderLen is an IPv4 header without options (IHL 5).
	IPv4MinHeaderLen = 20
	// IPv4MaxHeaderLen is an IPv4 header with the largest IHL, 15.
	IPv4MaxHeaderLen = 60
	// IPv6HeaderLen is the fixed IPv6 header; extension headers come after it.
	IPv6HeaderLen = 40
	// UDPHeaderLen is the UDP header.
	UDPHeaderLen = 8
	// TCPMinHeaderLen is a TCP header without options (data offset 5).
	TCPMinHeaderLen = 20
	// TCPMaxHeaderLen is a TCP header with the largest data offset, 15.
	TCPMaxHeaderLen = 60
)

// IsIPv6ExtensionHeader reports whether an IPv6 next-header value names an extension header
// (RFC 8200 §4 and the IANA "IPv6 Extension Header Types" registry) rather than an upper
// layer. Stages that only handle a bare IPv6 header use it to say "unsupported" instead of
// "malformed". AH (51) and ESP (50) are in the registry too, but they are what the IPsec
// stages look for, so they are not counted here.
func IsIPv6ExtensionHeader(nh byte) bool {
	switch nh {
	case 0, // Hop-by-Hop Options
		43,       // Routing
		44,       // Fragment
		60,       // Destination Options
		135,      // Mobility
		139,      // Host Identity Protocol
		140,      // Shim6
		253, 254: // experimentation and testing (RFC 3692)
		return true
	}
	return false
}
