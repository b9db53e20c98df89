package rxparse

// Layout is where things are in a received frame, as offsets from its first byte (the IP
// header: the frame has no link layer). The later receive stages index the frame with these
// offsets instead of parsing it again; Parse has checked every one against the frame's length.
//
// For KindMalformed only Kind and Reason are set and every offset is zero, so that no stage
// can act on half-parsed numbers.
type Layout struct {
	// Kind is the classification; the receive path switches on it.
	Kind Kind
	// IPv6 says the outer header is IPv6 (else IPv4).
	IPv6 bool
	// DstOff and DstLen locate the outer destination address (4 or 16 bytes): with the SPI
	// it is the SA lookup key (R-RX-2).
	DstOff, DstLen int
	// L4 is the offset of what follows the IP header and any IPv6 extension headers: the
	// ESP, UDP, AH or transport header, or a later fragment's data.
	L4 int
	// UDP is the offset of the UDP header for KindUDPESP, KindIKE and KindKeepalive, else 0;
	// the caller compares its ports with the SA's encapsulation ports.
	UDP int
	// ESP is the offset of the ESP header for KindESP and KindUDPESP, else 0.
	ESP int
	// End is where the IP packet ends: the IPv4 total length, or 40 plus the IPv6 payload
	// length. A frame may carry link-layer padding after End, which is not part of the packet
	// and must not be fed to ESP (its ICV is the last bytes before End).
	End int
	// SPI is the ESP header's SPI for KindESP and KindUDPESP (0 when fewer than 4 bytes of ESP
	// are present; SPI 0 is reserved by RFC 4303 §2.1, so it never matches an SA).
	SPI uint32
	// IPv4Options says the IPv4 header is longer than 20 bytes. Under R-RX-3 the NIC
	// processes such a packet only if it advertises IPv4Options.
	IPv4Options bool
	// IPv6ExtHeaders says non-IPsec IPv6 extension headers precede the ESP, AH or upper-layer
	// header. Under R-RX-3 the NIC processes such a packet only if it advertises
	// IPv6NonIPsecExtensionHeaders.
	IPv6ExtHeaders bool
	// Fragment says the packet is an IPv4 fragment (MF set or offset non-zero) or carries an
	// IPv6 Fragment header. ESP is verified over the reassembled packet (RFC 4303 §3.4.1), so
	// the NIC leaves fragments to the host whatever their Kind: check Fragment before Kind.
	Fragment bool
	// Short says the ESP header is truncated (fewer than 8 bytes: SPI and sequence number).
	// The kind stays KindESP or KindUDPESP so that, if the SPI matches an SA, the packet is
	// indicated with CRYPTO_INVALID_PACKET_SYNTAX rather than as plain traffic.
	Short bool
	// Reason names what failed, for KindMalformed and for a Short ESP header; "" otherwise.
	// It is always a constant, so a flood of bad frames costs no allocation.
	Reason string
}
