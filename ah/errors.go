package ah

import "errors"

// Errors returned by this package. NewTransform wraps its errors (and esp's key and algorithm
// errors) with %w and a sentence; Parse, AppendCanonical, Insert and Verify return them bare,
// because a per-packet error must not allocate.
//
// How a NIC reports them (SPEC §5, CryptoStatus): ErrAuth is CRYPTO_TRANSPORT_AH_AUTH_FAILED
// (2), or CRYPTO_TUNNEL_AH_AUTH_FAILED (4) for the outer part of a tunnel; ErrShort, ErrMalformed
// and ErrICVLength are CRYPTO_INVALID_PACKET_SYNTAX (6); ErrNotAH is CRYPTO_INVALID_PROTOCOL (7);
// ErrFragment and ErrUnsupported mean the NIC cannot process the packet and indicates it
// without IPsec processing (R-RX-3), leaving AH to the host's own stack.
var (
	// ErrShort means the packet ends inside a header, or the IP length fields claim more bytes
	// than there are.
	ErrShort = errors.New("ah: packet too short")
	// ErrMalformed means a length field or an option is inconsistent: an IPv4 header length
	// under 20 or over the total length, an option running past the header, an extension
	// header's options not filling it exactly, a hop-by-hop header not first, an AH length not
	// a multiple of 8 bytes in IPv6 (RFC 4302 §2.2), a routing header with more segments left
	// than addresses.
	ErrMalformed = errors.New("ah: malformed header")
	// ErrNotAH means the IP header chain reaches an upper-layer protocol (or ESP) without an AH
	// header.
	ErrNotAH = errors.New("ah: no AH header in the packet")
	// ErrFragment means the packet is an IP fragment (IPv4 MF or a fragment offset, an IPv6
	// fragment header before AH): AH covers the whole datagram, so it must be reassembled first
	// (RFC 4302 §3.4.1).
	ErrFragment = errors.New("ah: IP fragment")
	// ErrUnsupported means a well-formed packet this package cannot compute an ICV for: an IPv6
	// jumbogram, or a routing header with segments left whose type it cannot predict.
	ErrUnsupported = errors.New("ah: unsupported header")
	// ErrICVLength means the AH header's length does not match the SA's ICV (and IV) with the
	// padding RFC 4302 §2.2 requires for the IP version.
	ErrICVLength = errors.New("ah: AH length does not match the SA's ICV")
	// ErrAuth means the ICV did not verify. The packet is never written by Verify.
	ErrAuth = errors.New("ah: ICV mismatch")
	// ErrWiped means Insert or Verify ran on a transform after Wipe (R-SA-5).
	ErrWiped = errors.New("ah: transform used after Wipe")
)
