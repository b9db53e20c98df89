// Package lso is the NIC's large-send stage for IPsec (SPEC R-TX-6, R-TX-7, R-TX-8): it cuts
// one large ESP-framed TCP send from the host into MSS-sized ESP packets, each complete and
// ready for the seal stage to encrypt.
//
// With LSO and IPsec together the host frames ESP only partly: header and IV space, but no
// trailer and no ICV room, and it may end the frame with PadLength bytes of its own padding
// that the NIC throws away. The OOB info gives the MSS, the PadLength and the next header the
// trailers must carry. A large send, transport mode (tunnel mode puts the inner IP header
// between the IV and TCP; NAT-T puts a UDP header to port 4500 in front of the ESP header):
//
//	+--------+------------+----------+------------+-----+-------------------------+---------+
//	| IP hdr | [UDP 4500] | SPI  S   | IV space 8 | TCP | TCP payload, up to 64 K | PadLen  |
//	+--------+------------+----------+------------+-----+-------------------------+---------+
//	                       ESP header                     |<- MSS ->|<- MSS ->|.. | discarded
//
// Segment i of Count = ceil(payload / MSS):
//
//	+--------+------------+------------+----------+-----+---------+------------+----+----+-----+
//	| IP hdr | [UDP 4500] | SPI  S+i   | IV space | TCP | chunk i | 1, 2, 3, ..| PL | NH | ICV |
//	+--------+------------+------------+----------+-----+---------+------------+----+----+-----+
//	 len, ID+i,  len,        low 32 bits             seq+i*MSS, flags,         trailer     zeros,
//	 checksum    checksum 0  of S+i                  checksum                  (RFC 4303)  ICVLen
//
// The ESP payload (from after the IV through the next header) is padded to a multiple of 4
// (RFC 4303 §2.4). The seal stage then writes IV = S+i (R-TX-4), encrypts and fills the ICV.
//
// Sequence numbers (R-TX-7). The documentation is silent on how LSO and ESP sequence numbers
// combine; the rule here is the one Linux and DPDK use: the large send's ESP header carries
// the low half of the first number S (the high half is the SA's), segment i gets S+i, and the
// host reserves Count numbers for the send. The addition is 64-bit, so with ESN a send that
// crosses 2^32 carries into the high half: S = 2^32-3 gives 2^32-3, 2^32-2, 2^32-1, then
// 1<<32 | 0, 1<<32 | 1, ... with the low halves 0, 1, ... in the ESP headers. R-TX-8 bounds
// it: without ESN no segment may need a number past 2^32-1, with ESN past 2^64-1, and S = 0 is
// never valid; Prepare refuses such a send whole with ErrSeqExhausted rather than sending part
// of it.
//
// Suites and AH (issue 11). Params.Alg gives the ESP suite's IV room (8 for AES-GCM and
// AES-GMAC, 16 for AES-CBC, none for NULL) and padding boundary (AES-CBC pads the payload and
// trailer of every segment to its 16-byte block). Params.AH describes an SA with AH: the large
// send then carries the AH header right after the outer IP header (AH alone, or AH over ESP;
// AH is never in UDP), the host frames it with zeros for the IV, ICV and padding and the AH
// part's first sequence number S', and every segment gets a copy with S'+i; the seal stage
// computes the ICV over the finished segment. AH alone has no trailer and no ICV room.
//
// Use: Prepare parses and checks everything once and returns a Plan, a plain value; Segment
// then writes any segment, in any order, into a caller's buffer. Neither allocates on
// success, so a stage can segment a burst of large sends into pooled buffers; errors
// allocate, but they are host bugs, not wire traffic.
package lso
