// Package bench measures the engine the way a person choosing an ESP engine needs it
// measured: throughput and latency of the NIC's send and receive paths, side by side with
// the limit of the machine, a raw single-core AES-GCM loop of the standard library over the
// same bytes, measured in the same run.
//
// Run drives one row per combination of size, mode, algorithm, lane count and placement:
//
//	encrypt    host ─Submit─► send path (classify, lookup, LSO, seal) ─Completions─► host
//	decrypt    wire ─Submit─► receive path (classify, lookup, open)   ─Completions─► host
//	roundtrip  host ─► send path ─► (wire) ─► receive path ─► host
//
// Each row is a closed loop: a fixed budget of packets in flight, recycled as they complete
// (a sealed packet can be sealed again as it is; a decrypted one is restored from its sealed
// copy by the completion goroutine; in a round trip the receive path hands back the very
// plaintext the send path seals next). After Warmup, the loop runs Duration at full speed:
// that window gives Mpps and Gbit/s. Every completed packet's latency, from its entry into
// the NIC (packet.Buffer.Stamp, set by Submit) to the completion goroutine taking it, is
// recorded in an HDR histogram. In a closed loop at full speed that latency is mostly the
// wait behind the other packets in flight, so with Load below 1 a second window offers
// Load times the measured maximum with an open-loop pacer (burst k leaves at
// start + k*interval, however late the previous one was) and the latency comes from there.
// In that window the pacer also takes the completions, and every core is kept polling
// (busy-poll), so that a lane woken by a burst does not wait for an idle CPU to wake up.
//
// The raw limit is crypto/aes + crypto/cipher on one goroutine: Seal (encrypt), Open
// (decrypt) of the same ESP region, with the same AAD, in a loop with no rings, lookups or
// framing; for a round trip the limit is 1/(1/seal + 1/open). Every row reports its Mpps
// as a ratio to that limit. For the suites without AES-GCM (aes128cbc-sha256,
// aes256cbc-sha1, null-sha256, ah-sha256; suites.go) the limit is crypto/aes in CBC mode
// plus crypto/hmac over the same bytes (rawetm.go).
//
// Sizes are wire sizes of IPv4 transport-mode ESP packets with a 16-byte ICV: IP header
// (20), ESP header and IV (16), payload, RFC 4303 padding, pad length and next header (2),
// ICV (16). IMIX is 7:4:1 of 64, 576 and 1500-byte packets in a fixed interleaved pattern
// of 12; lso64k is a TCP large send of 64,400 payload bytes cut by the NIC into 46
// segments of MSS 1400 (1476 bytes on the wire each), counted as segments per second.
//
// Allocations per packet are the heap allocations of the whole process (runtime.MemStats
// Mallocs) over the measured windows divided by the packets in them.
package bench
