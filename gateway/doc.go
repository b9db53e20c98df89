// Package gateway is the engine as a live ESP fast path between two interfaces: a bump in
// the wire, the job of DPDK's ipsec-secgw or VPP's IPsec, built on package fastpath (the
// NIC model, its stages and the host model) and package live (AF_PACKET rings). It is what
// `ov2 gateway` runs; an embedder uses it the same way (New, Run, Report, Reload, Close).
//
//	          inside                                            outside
//	host A ─── [ring] ─► classify ─► Protect ─► NIC seal ─────► [send] ─── ESP ───► peer
//	       ◄── [send] ◄─ host decap ◄─ NIC open ◄─ Unprotect ◄─ classify ◄─ [ring] ◄──
//	           (ARP, neighbour discovery, IP for no SA: bridged unchanged both ways)
//
// A frame from the inside whose IP packet an outbound SA matches (its selector, or in
// transport mode its src/dst) leaves the outside sealed: transport or tunnel, IPv4 or
// IPv6, ESP or ESP in UDP. ESP (or ESP in UDP) from the outside for an inbound SA is
// opened, checked for replay and decapsulated, and the inner packet leaves the inside.
// Each keeps the Ethernet header it came with (its EtherType set for the IP version that
// leaves), so that neither side needs to know the gateway is there: it has no address.
// Everything else is bridged unchanged, except plain traffic from the outside that an
// inbound SA covers, which should have come protected and is dropped. Frames that fail
// are dropped and counted by reason; Report accounts for every frame.
//
// # Lanes
//
// Each interface has Config.Lanes receive sockets, memory-mapped TPACKET_V3 rings in one
// PACKET_FANOUT group, and lane i's worker reads member i of both groups. The groups steer
// with a classic BPF program (fanout.go) that sends every packet to the lane owning its SA
// (fastpath.Rules): on the inside by the outbound SAs' selectors in policy order, on the
// outside by the inbound SAs' SPI and destination; anything else by fastpath.QueueOf its
// addresses. One SA's packets thus meet one worker, one fast-path queue (whose host owns
// the SA's sequence numbers and replay window) and one send socket: they stay in order. The
// sockets ignore what this host sends (PACKET_FANOUT_FLAG_IGNORE_OUTGOING, and a check of
// each frame's packet type), so the gateway never receives its own frames, and they keep
// the interfaces in promiscuous mode while open.
//
// Sending is batched: frames bridged go out with sendmmsg straight from the receive ring
// (package live's Sender), the NIC's results in the bursts the fast path completes.
//
// # Run to completion
//
// Each worker runs its queue of the fast path inline (fastpath.Config.Inline): after a
// batch from a ring it hands the NIC its bursts and calls Queue.Turn, which runs the NIC's
// stages and the host's completions, and sends the results, on the worker's own goroutine.
// A frame thus crosses the gateway on one goroutine: it never waits for a parked lane or
// completion goroutine to be woken, which on a virtual machine takes tens to hundreds of
// microseconds each (with lane and completion goroutines a frame crossed three, and a ping
// through two gateways on a 2-vCPU machine took 1.2 to 2.0 ms; inline, mostly 0.4 to 0.7 ms). An
// idle worker looks at its rings for 50 µs (no system call) before it sleeps in poll(2),
// so that under load the next frame rarely finds it asleep.
//
// # MTU
//
// A packet that would not fit the outside MTU once sealed gets what Linux gives it: the
// sender gets an ICMP "fragmentation needed" (IPv4) or ICMPv6 "packet too big" error with
// the MTU that fits (icmp.go), so that path MTU discovery works. For a tunnel SA an IPv4
// packet without DF is fragmented instead, and each fragment sealed on its own
// (fragment.go: RFC 4459's pre-fragmentation; the destination reassembles). A transport SA
// cannot carry IPv4 fragments (the ESP packet would take the fragment's header and look
// like a fragment itself): they are dropped and counted, and an IPv4 packet without DF too
// big for a transport SA gets the ICMP error like one with DF, so that the sender lowers
// its path MTU. Everything is counted.
//
// # Checksums and offloads
//
// A frame sent with checksum offload reaches the ring with its TCP or UDP checksum not
// filled in (TP_STATUS_CSUMNOTREADY); the gateway completes it before sealing or bridging.
// Frames longer than the inside MTU (GSO/GRO aggregates of up to 64 KB from a host with
// segmentation offloads on) come whole from the receive ring (live: PACKET_COPY_THRESH),
// with their virtio-net header (PACKET_VNET_HDR: the GSO type and size the sender meant).
// A TCP one for an SA goes to the NIC as one LSO + IPsec large send (IPsecOV2's LSO with
// IPsec, R-TX-6), which cuts it into segments of the sender's size or what fits the inside
// MTU as a plain packet and the outside MTU once sealed, whichever is smaller, so that none
// needs an ICMP error, and seals each; the segments leave with the aggregate's Ethernet
// header. A UDP one (UDP_SEGMENT) for an SA is cut into its datagrams, each sealed. An
// aggregate for no SA is bridged as it is, for the kernel to cut on the way out
// (live.AggregateSender: PACKET_VNET_HDR, GSO), after what was queued before it. Anything
// else longer than an MTU is dropped and counted.
//
// # Links
//
// An interface that goes down (or loses carrier) leaves its sockets with a pending error
// (ENETDOWN), which poll(2) reports until it is read: the worker that sees it reads it and
// wakes a watcher, which also looks at both interfaces every 250 ms. The watcher tells
// Config.Notice when an interface goes down and when it is up again (the sockets receive
// again by themselves); frames sent meanwhile are refused and counted. An interface that is
// removed ends Run with an error naming it: its sockets will never receive again. An MTU
// that changes is followed the same way: the fast path's MTU check (Path.SetMTU), the
// senders' and the ICMP errors' use the new one.
//
// # Reload
//
// Reload applies a new list of SAs while traffic flows (fastpath.Path.Reload: the removed
// SAs are deleted with DELETE_SA, the added ones offloaded with ADD_SA, no packet is
// processed with a deleted SA) and gives the fanout groups the programs for the new SAs.
package gateway
