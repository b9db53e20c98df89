// Package rxparse is the first stage of the NIC's receive path: it classifies a frame that
// starts at the IP header and says where its headers are, so that the SA lookup (SPI and
// outer destination, R-RX-2) and the ESP open read the frame without parsing it again.
//
// # What it decides
//
// Parse returns a Layout whose Kind is one of: malformed, plain IP, ESP (protocol 50), ESP in
// UDP, IKE on the NAT-T port, a NAT keepalive, or AH (protocol 51, after the IPv4 header or
// the IPv6 extension headers in front of it). The two ESP kinds and AH are candidates for
// offload; every other frame goes to the host untouched. For AH, ParseAH then reads the AH
// header at Layout.L4: its SPI (the SA lookup key with the destination), its length, and the
// next header, which says whether ESP follows (an ESP+AH bundle) or the packet is in tunnel
// mode. Parse's Layout for AH is the same as before the NIC offloaded AH; ParseAH's AH is
// its own value, fuzzed on its own (FuzzParseAH).
//
// UDP port 4500 carries three things (RFC 3948 §2): ESP, whose first four payload bytes are
// a non-zero SPI; IKE, behind the non-ESP marker of four zero bytes (§2.2); and NAT
// keepalives, a single 0xFF byte (§2.3). Parse tells them apart exactly as a receiver must,
// because handing IKE to the crypto engine would destroy the key exchange that set up the SA.
// It takes 4500 as either the source or the destination port and leaves the SA's exact
// encapsulation ports to the caller (see udp in upper.go for why).
//
// # Capability flags (R-RX-3)
//
// Parse does not decide whether the NIC may process a packet; it reports the facts that the
// advertised capabilities gate. IPv4Options is set when the IPv4 header is longer than 20
// bytes, and IPv6ExtHeaders when non-IPsec IPv6 extension headers come before the ESP, AH or
// upper-layer header. A NIC that does not advertise IPv4Options or
// IPv6NonIPsecExtensionHeaders indicates such packets without IPsec processing. The walk over
// IPv6 extension headers follows the uniform header format of RFC 8200 §4 and RFC 6564 for
// every registered extension header (Hop-by-Hop, Routing, Destination Options, Mobility, HIP,
// Shim6, the experimental values) and the fixed 8-byte Fragment header, and is bounded at
// eight headers so that a crafted frame cannot make it loop.
//
// # Fragments
//
// ESP's integrity check covers the whole packet, so an ESP packet split by IP fragmentation
// is verified only after reassembly (RFC 4303 §3.4.1), which is the host's job. Parse sets
// Fragment for an IPv4 fragment or an IPv6 packet with a Fragment header, and the caller
// leaves it alone whatever its Kind. A first fragment (offset 0) still gets the Kind of its
// upper-layer header, so a fragment of an ESP packet can be counted as such; a later fragment
// has no upper-layer header and is KindPlain with L4 at its data. An IPv6 atomic
// fragment (offset 0, no more fragments) is reported as a fragment too: RFC 6946 has it
// processed on its own, and the host is where that happens.
//
// # Lengths
//
// A frame may carry link-layer padding after the IP packet (a 60-byte Ethernet minimum), so
// End is the IP packet's own length and nothing past it is parsed. A length field that claims
// more than the frame holds, a UDP length that disagrees with the IP length, or an extension
// header that runs past End makes the frame KindMalformed. An ESP header shorter than its SPI
// and sequence number stays ESP but is marked Short, so that the caller can report
// CRYPTO_INVALID_PACKET_SYNTAX on the SA it names. The IPv4 header checksum is not checked
// here: it does not move any header, and the receive checksum offload reports it.
//
// Parse never allocates and never panics; FuzzParse holds it to that and to the invariants
// between the offsets.
package rxparse
