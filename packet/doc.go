// Package packet is the unit of work of the ov2 data path: a pooled packet buffer that
// carries the frame together with its per-packet out-of-band (OOB) information, in the
// shape that NDIS gives it to an IPsec Offload Version 2 miniport.
//
// # Why a buffer with room on both sides
//
// ESP grows a packet at both ends: the host (or the LSO segmenter, or a tunnel SA) puts
// headers in front, and the NIC writes padding, the ESP trailer and the ICV behind. If the
// frame sat at offset 0 of a slice of exactly its length, every one of those steps would
// copy the whole packet into a bigger slice, once per packet, on the hot path. Instead the
// frame starts DefaultHeadroom bytes into a larger backing array and leaves DefaultTailroom
// bytes free after its data capacity, so Prepend and Append only move two indices.
// Decryption on receive is in place for the same reason: AES-GCM's plaintext is never longer
// than its ciphertext, so it fits where the ciphertext was.
//
//	backing array (allocated once, reused through a Pool)
//	0                head                      tail                        len(backing)
//	|<-- headroom -->|<------ frame data ------>|<-------- tailroom -------->|
//	+----------------+--------------------------+----------------------------+
//	|  free: outer   | Ethernet | IP | ESP hdr  |  free: pad, pad length,    |
//	|  IP, UDP-ESP,  | IV | payload ...         |  next header, ICV, GCM     |
//	|  ESP header    |                          |  scratch                   |
//	+----------------+--------------------------+----------------------------+
//	      Prepend(n) moves head left   Append(n) moves tail right
//	      TrimFront(n) moves head right  TrimBack(n) moves tail left
//
// Bytes returns backing[head:tail]; its capacity runs to the end of the backing array, so
// an AEAD's Seal(dst[:0], ...) or Open may write into the tailroom without a copy, after
// which SetLen records the new length.
//
// # The OOB information as NDIS words
//
// NDIS passes the per-packet IPsec information in NET_BUFFER_LIST_INFO slots, each a
// pointer-sized value whose low 32 bits are C bit fields. The model keeps them as typed Go
// structs (TxInfo, RxInfo) on the Buffer, because a struct field is a load and a store
// while a side map would be a hash and an allocation per packet; the word forms exist so
// that tests, pcap annotations and traces can speak exactly the numbers a Windows driver
// would see.
//
// Send, NDIS_IPSEC_OFFLOAD_V2_HEADER_NET_BUFFER_LIST_INFO.Transmit (TxInfo.HeaderWord):
//
//	 31            24 23            16 15             8 7              0
//	+----------------+----------------+----------------+----------------+
//	|EspHeaderOffset | AhHeaderOffset |   PadLength    |   NextHeader   |
//	+----------------+----------------+----------------+----------------+
//	offsets are from the start of the IP header, in 4-byte units
//
// Send, NDIS_TCP_LARGE_SEND_OFFLOAD_NET_BUFFER_LIST_INFO.LsoV2Transmit (TxInfo.LSOWord):
//
//	 31  30  29                    20 19                                  0
//	+---+---+------------------------+-------------------------------------+
//	| R | T |    TcpHeaderOffset     |                 MSS                 |
//	+---+---+------------------------+-------------------------------------+
//	T: Type, 1 = LSO V2 (set exactly when MSS != 0); R: reserved, 0
//
// Receive, NDIS_IPSEC_OFFLOAD_V2_NET_BUFFER_LIST_INFO.Receive (RxInfo.Word):
//
//	 31                            16 15                     3   2   1   0
//	+--------------------------------+-----------------------+---+---+---+
//	|          CryptoStatus          |    reserved, 0        |NCD| CD|SDR|
//	+--------------------------------+-----------------------+---+---+---+
//	SDR: SaDeleteReq, CD: CryptoDone, NCD: NextCryptoDone
//
// Receive, NDIS_IPSEC_OFFLOAD_V2_HEADER_NET_BUFFER_LIST_INFO.Receive (RxInfo.HeaderWord):
//
//	 31                                17  16 15             8 7              0
//	+-------------------------------------+---+----------------+----------------+
//	|             reserved, 0             |HIS|   PadLength    |   NextHeader   |
//	+-------------------------------------+---+----------------+----------------+
//	HIS: HeaderInfoSet
//
// The same receive result is also offered in the form of Linux's struct xfrm_offload
// (RxInfo.Xfrm): flags SA_DELETE_REQ 1, CRYPTO_DONE 2, CRYPTO_NEXT_DONE 4, and status as
// the single bit 1 << CryptoStatus.
//
// # Ownership
//
// A Buffer has exactly one owner at a time: whoever took it from Pool.Get, or received it
// from a ring. The owner either passes it on or calls Release; nothing else may touch it
// afterwards. Release catches the commonest mistake, releasing twice, and panics, because a
// buffer that sat twice in the pool would later be handed to two packets at once and both
// would be corrupted far from the cause.
package packet
