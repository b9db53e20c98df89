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
//   - A lane goroutine holds one sa.Reader read section (Begin/End) around the stages it
//     runs on a burst, not one per stage, and leaves it before anything that may wait (a
//     full ring, the LSO stage's flushes; that stage takes sections of its own). The SA
//     the lookup stage found travels with the burst to the seal or open stage when they
//     run in the same section (Burst.carry: same table, same SAs); otherwise that stage
//     looks the SA up again by handle, which is cheap (a slot index and a generation
//     check). A stage never holds an SA across a ring or a blocking call, so DELETE_SA
//     never waits on a full ring, and a deleted SA is never used after DELETE_SA returns
//     (R-SA-5).
//   - Counters are added up during a burst and published once per burst: the lane's with
//     one atomic add per counter, each SA's (sa.State.Packets, Bytes) with one per SA part
//     (saCounts), before the burst leaves the stage, so they are exact whenever the path
//     is idle and include every packet the host has been given back.
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
// on three goroutines per lane joined by SPSC rings (like DPDK's packet framework). Either
// way classify and lookup run in one pass over a burst (txFront), and so do seal and
// complete (txBack); a burst with no large send skips the LSO stage. Lanes
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
