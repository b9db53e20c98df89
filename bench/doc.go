// Package bench measures the engine the way a person choosing an ESP engine needs it
// measured: throughput and latency of the NIC's send and receive paths, side by side with
// the limit of the machine, the same algorithm's cryptography alone in a single-core loop
// over the same bytes, measured beside every row of the same run.
//
// Run drives one row per combination of size, mode, algorithm, lane count and placement:
//
//	encrypt    host ─Submit─► send path (classify, lookup, LSO, seal) ─Completions─► host
//	decrypt    wire ─Submit─► receive path (classify, lookup, open)   ─Completions─► host
//	roundtrip  host ─► send path ─► (wire) ─► receive path ─► host
//
// Each row is a closed loop: a fixed budget of packets in flight, recycled as they complete
// (a sealed packet can be sealed again as it is; a decrypted AES-GCM packet is its twin's
// ciphertext and needs only the twin's ICV written over its own (twin.go), one of another
// suite is restored from its sealed copy where it changed; in a round trip the receive path hands back the very
// plaintext the send path seals next). The harness is one goroutine that submits and polls
// the completions itself, never parking, when the lanes leave it a processor of its own
// (fused lanes, fewer lane goroutines than GOMAXPROCS); otherwise completion goroutines
// take the completions and park between bursts (see inlineHarness for why and the figures
// that decided it). After Warmup, the loop runs Duration at full speed:
// that window gives Mpps and Gbit/s. Every completed packet's latency, from its entry into
// the NIC (packet.Buffer.Stamp, set by Submit) to the completion goroutine taking it, is
// recorded in an HDR histogram. In a closed loop at full speed that latency is mostly the
// wait behind the other packets in flight, so with Load below 1 a second window offers
// Load times the measured maximum with an open-loop pacer (burst k leaves at
// start + k*interval, however late the previous one was) and the latency comes from there.
// In that window the pacer also takes the completions, and every core is kept polling
// (busy-poll), so that a lane woken by a burst does not wait for an idle CPU to wake up.
//
// The raw limit is the cryptography alone on one goroutine over the same bytes, in a loop
// with no rings, lookups or framing: for AES-GCM and AES-GMAC crypto/aes + crypto/cipher
// Seal (encrypt) or Open (decrypt) of the same ESP region with the same AAD (raw.go); for
// the suites without AES-GCM (aes128cbc-sha256, aes256cbc-sha1, null-sha256, ah-sha256;
// suites.go) crypto/aes in CBC mode and crypto/hmac over the bytes each packet has
// (rawetm.go); for a round trip 1/(1/seal + 1/open). Each row's raw loops run beside it,
// half of RawDuration just before its full-speed window and half just after (paired.go), so
// that the machine's drift over a run cancels, and the row's ratio is its Mpps over that
// pair's. Where the engine dispatched AES-GCM or AES-GMAC to an implementation other than
// crypto/cipher (our VAES code, or the portable core), the row also has that
// implementation's own raw limit, measured the same way through esp.Transform (rawimpl.go),
// and a second ratio; where it did not (crypto/cipher, and the CBC, NULL and AH suites, whose
// crypto is crypto/aes and crypto/hmac), the two ratios are the same figures, and Row.ImplSame
// says so.
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
