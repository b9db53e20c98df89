package esp

import "encoding/binary"

// SPI reads the Security Parameters Index from an ESP header; the caller has checked that
// len(pkt) >= HeaderLen (these helpers sit on the per-packet path and do not re-check).
func SPI(pkt []byte) uint32 { return binary.BigEndian.Uint32(pkt[0:4]) }

// Seq reads the low 32 bits of the sequence number: all the wire carries, even with ESN
// (RFC 4303 §2.2.1). Caller guarantees len(pkt) >= HeaderLen.
func Seq(pkt []byte) uint32 { return binary.BigEndian.Uint32(pkt[4:8]) }

// PutHeader writes SPI and the low 32 bits of the sequence number, the host's part of the
// framing (R-TX-4).
func PutHeader(pkt []byte, spi, seqLo uint32) {
	binary.BigEndian.PutUint32(pkt[0:4], spi)
	binary.BigEndian.PutUint32(pkt[4:8], seqLo)
}

// PutIV writes the packet's full 64-bit sequence number as the IV, big-endian (R-TX-4). A
// sequence number is never reused under one key (R-TX-8), so neither is the GCM nonce
// salt ‖ IV, which RFC 4106 §3.1 requires.
func PutIV(pkt []byte, seq uint64) {
	binary.BigEndian.PutUint64(pkt[HeaderLen:HeaderLen+IVLen], seq)
}
