// Package inet holds the small IP, TCP and UDP facts the NIC's stages share: protocol numbers,
// header lengths, header views over []byte and the Internet checksum (RFC 1071) with the IPv4
// and IPv6 pseudo-headers (RFC 9293 §3.1, RFC 8200 §8.1).
//
// It exists so that the send stages (LSO segmentation, classification) and the receive stages
// read headers one way, with one set of length checks, instead of each repeating offsets.
//
// A view (IPv4, IPv6, TCP, UDP) is a []byte that a Parse function has checked to be long
// enough for the fixed header and, where the header says its own length, for that length too.
// The accessors then index without re-checking: they sit on the per-packet path, and a view
// built without Parse that is too short is a programming error, which panics like any other
// out-of-range index. Nothing here allocates; the Parse errors are bare sentinels for the same
// reason (a flood of bad packets must not become a flood of garbage), and callers that want to
// say which header and which value add that themselves.
package inet
