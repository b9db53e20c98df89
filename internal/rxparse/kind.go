package rxparse

import "strconv"

// Kind is what a received frame is, as far as IPsec offload is concerned: the receive path
// switches on it to decide whether to look up an SA at all (R-RX-2) and, if not, to indicate
// the frame to the host untouched.
type Kind uint8

// The kinds, in the order a NIC would tell them apart. KindESP, KindUDPESP and KindAH lead to
// an SA lookup; every other kind goes to the host without IPsec processing.
const (
	// KindMalformed means the IP header (or the UDP header under it) does not parse: the
	// frame is too short, the version is not 4 or 6, a length field points past the frame.
	// Only Layout.Reason is set; there is nothing trustworthy to offload.
	KindMalformed Kind = iota
	// KindPlain is IP that is not IPsec (TCP, plain UDP, ICMP, a later fragment, ...).
	KindPlain
	// KindESP is ESP (protocol 50) right after the IP header and any IPv6 extension
	// headers (RFC 4303).
	KindESP
	// KindUDPESP is ESP inside UDP port 4500 (RFC 3948 §2.1): the payload starts with a
	// non-zero SPI.
	KindUDPESP
	// KindIKE is UDP port 4500 whose payload starts with the 4-byte non-ESP marker (RFC 3948
	// §2.2): IKE sharing the NAT-T port, which belongs to the host's IKE daemon.
	KindIKE
	// KindKeepalive is UDP port 4500 with the one-byte payload 0xFF (RFC 3948 §2.3): a NAT
	// keepalive, which only keeps a NAT mapping open.
	KindKeepalive
	// KindAH is the Authentication Header (protocol 51, RFC 4302): ParseAH reads its header
	// for the SA lookup.
	KindAH
)

// kindNames are the String forms, indexed by Kind.
var kindNames = [...]string{
	KindMalformed: "malformed",
	KindPlain:     "plain",
	KindESP:       "ESP",
	KindUDPESP:    "UDP-ESP",
	KindIKE:       "IKE",
	KindKeepalive: "NAT-keepalive",
	KindAH:        "AH",
}

// String names the kind for logs and counters; a value outside the set prints its number so
// a corrupted Kind is visible rather than mistaken for a real one.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}
