// Package ah is the IP Authentication Header (RFC 4302) of the NIC model: finding AH in an
// IPv4 or IPv6 packet, the canonical view of the headers the ICV covers, and inserting and
// verifying ICVs in place without allocating, with HMAC-SHA1-96 (RFC 2404),
// HMAC-SHA-256-128 (RFC 4868) or AES-GMAC (RFC 4543 §4), in transport or tunnel mode.
//
// The AH header (RFC 4302 §2):
//
//	 0               1               2               3
//	+---------------+---------------+-------------------------------+
//	|  Next Header  |  Payload Len  |           Reserved            |
//	+---------------+---------------+-------------------------------+
//	|                 Security Parameters Index (SPI)               |
//	+---------------------------------------------------------------+
//	|                 Sequence Number (low 32 bits)                 |
//	+---------------------------------------------------------------+
//	|  IV (8 bytes, AES-GMAC only, RFC 4543 §4)                     |
//	+---------------------------------------------------------------+
//	|  ICV (12 HMAC-SHA1-96, 16 HMAC-SHA-256-128 and AES-GMAC)      |
//	+---------------------------------------------------------------+
//	|  padding to 4 bytes (IPv4) or 8 bytes (IPv6), sent as zeros    |
//	+---------------------------------------------------------------+
//
// Payload Len is the header's length in 4-byte words minus 2 (HeaderLen): HMAC-SHA1-96 24
// bytes in both families; HMAC-SHA-256-128 28 (IPv4) and 32 (IPv6); AES-GMAC 36 and 40
// (RFC 4543 erratum 3643).
//
// The ICV covers, in order (RFC 4302 §3.3.3): the IP header and the extension headers in
// front of AH with their mutable fields zeroed and their mutable-but-predictable fields set
// to their values at the receiver (mutable.go lists which, from RFC 4302 §3.3.3.1 and
// Appendix A); the AH header with the ICV field zeroed (the padding after it is covered as
// sent); the payload; and, under ESN, the high 32 bits of the sequence number, appended
// after the payload and never sent (RFC 4302 §2.5.1, §3.3.3.2.2). The HMACs are truncated
// to the ICV length. AES-GMAC is GCM with an empty plaintext whose AAD is all of that,
// under the nonce salt ‖ IV; the IV travels in the header in front of the ICV and, being an
// input to the algorithm rather than its output, is covered as sent (only the 16-byte tag is
// zeroed). That last point is this package's reading of RFC 4543 §4, which puts IV and tag
// together in the Authentication Data field; the outside-peer test encodes the same reading,
// so it checks the mutable-field handling, not this choice. On send the IV is the 64-bit
// sequence number, unique per SA as RFC 4543 §3.1 requires.
//
// Division of work, as for ESP (SPEC R-TX-4): the host frames the packet, IP header with the
// protocol or next-header chain leading to AH, the AH header written with PutHeader, the
// payload; Insert writes the IV, zeroes the ICV and padding, and writes the ICV. Verify reads
// the packet as it arrived, mutable fields and all, and never writes it; the caller finds
// the payload from the returned Layout. Anti-replay is the host's (R-RX-9).
//
// Memory: the canonical image of the headers is built in the lane's Scratch (for AES-GMAC,
// whose AAD crypto/cipher takes as one slice, with the payload copied behind it); for the
// HMACs the payload is hashed where it lies. The MAC runs through esp.Auth and its lane pool.
// Insert and Verify allocate nothing once a lane's Scratch has seen its largest packet.
//
// Reporting (SPEC §5 CryptoStatus), for the stage that maps errors: ErrAuth is
// CRYPTO_TRANSPORT_AH_AUTH_FAILED, or CRYPTO_TUNNEL_AH_AUTH_FAILED for a tunnel SA's outer
// part; ErrShort, ErrMalformed and ErrICVLength are CRYPTO_INVALID_PACKET_SYNTAX; ErrNotAH is
// CRYPTO_INVALID_PROTOCOL; ErrFragment and ErrUnsupported mean the NIC does not process the
// packet and indicates it without IPsec information (R-RX-3).
package ah
