// Package stage is the engine's data path: the pipeline stages and how they are placed on
// goroutines (SPEC section 6).
//
// The send path, as packets move through it:
//
//	host ─Submit─► [lane in-ring] ─► classify ─► SA lookup ─► LSO segment ─► seal (ESP, then AH) ─► complete ─► [lane out-ring] ─Completions─► host
//
// An SA is a bundle of one or two protocols (R-SA-2): ESP, AH, or ESP then AH. Every stage
// handles all of them and every suite the NIC advertises (AES-GCM, AES-GMAC, AES-CBC and NULL
// with HMAC, AH with HMAC or AES-GMAC): the suite's sizes (IV, padding boundary, ICV, AH
// header length) come from the SA's transforms, never from constants.
//
// Who may touch what:
//
//   - A stage is a function on a Burst. It never allocates per packet and never returns an
//     error for one packet: it marks that packet failed (TxInfo.Status, TxInfo.Reason) and
//     moves on; later stages skip failed packets; the complete stage counts every packet.
//   - A stage that uses SAs brackets its burst with its own sa.Reader (Begin/End) and looks
//     the SA up again by handle: a handle is cheap to look up (a slot index and a
//     generation check), and a stage never holds an SA across a ring or a blocking call,
//     so DELETE_SA never waits on a full ring, and a deleted SA is never used after
//     DELETE_SA returns (R-SA-5).
//   - Per-packet facts one stage finds and a later one needs (header offsets, the sequence
//     number chosen) travel on the packet itself, in packet.Meta, so the same stages run
//     whatever the placement.
//   - The host is the single producer of every lane's in-ring (Submit) and the single
//     consumer of every lane's out-ring (Completions); each lane's stages are the other
//     ends. All rings are package ring's lock-free SPSC rings; a full ring makes its
//     producer wait (spin, yield, park), it never drops.
//
// Placement is separate from logic. Fused runs every stage of a lane on one goroutine
// (run-to-completion, like a VPP worker); Split runs classify+lookup, LSO, and seal+complete
// on three goroutines per lane joined by SPSC rings (like DPDK's packet framework). Lanes
// give the multi-core scale: Submit picks a packet's lane by hashing its SA handle, so all
// packets of one SA go through one lane and stay in order (SPEC section 6). Which placement
// wins is a measurement, kept in the benchmarks; the design notes (DESIGN.md) expect fused
// lanes sharded by SA to win on this hardware, since every cross-core hop costs ~46 ns.
//
// Every packet is accounted for: SendStats satisfies
//
//	Submitted - Split + Segments == Completed + sum(Failed)
//
// where an LSO packet that is cut into n segments leaves the count as one packet (Split)
// and comes back as n segments (Segments), each completed on its own.
package stage
