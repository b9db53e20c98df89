// Package replay replays packet captures through the ov2 NIC: the engine behind
// `ov2 replay`, usable on its own.
//
// A run makes a NIC, offloads the SAs through the host model (an SA without a direction
// becomes an outbound and an inbound SA, as on Linux), and reads the input once per loop.
// Each packet goes one way:
//
//   - ESP, or ESP in UDP, whose SPI and destination match an inbound SA: into the receive
//     path; the host checks anti-replay and decapsulates, and the inner packet goes out.
//   - Any other IP packet: to the host's send side. If an outbound SA's selector (or its
//     src/dst in transport mode) matches, the host frames it and the send path seals it;
//     otherwise it crosses the NIC in clear (offload handle 0) and comes out unchanged.
//     A TCP packet too big for a packet buffer (captured with GSO/TSO) goes as one LSO +
//     IPsec large send of Config.MSS segments.
//   - Anything else (ARP and other non-IP frames, ESP for no inbound SA): out unchanged.
//
// Output frames keep the input's link-layer header (its protocol field set for the packet's
// IP version). The report accounts for every packet read: encrypted, clear, decrypted,
// passed through, or dropped with a reason (the NIC's failure reason on send, the host's
// verdict on receive: crypto-failed with its CryptoStatus, replayed, too-old, ...). It
// also gives rates, and the latency through the NIC from Submit to completion (one clock
// read per burst on each side) as p50, p99, p99.9 and max.
//
// Pacing schedules every packet at an absolute time computed from 64-bit totals (packets,
// bits, or capture time), so the rate does not drift over long runs; a late packet does not
// delay the schedule of the ones after it.
//
// Each send lane has its own completion goroutine. An Output that implements LaneSplitter
// (LiveOutput: one AF_PACKET socket per lane) gets one output per lane, so system calls run
// in parallel; other outputs are serialized. One SA's packets stay on one lane, so they leave
// in order.
//
// In a round trip (Config.RoundTrip), what the send path seals goes on into the receive
// path, and each packet the host delivers is compared with the packet read; the output gets
// the sealed packets.
package replay
