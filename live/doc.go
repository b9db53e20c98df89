// Package live sends Ethernet frames out of a live network interface, fast, in batches, and
// without silent drops, and receives them from one through memory-mapped rings. Its Sender
// is the output stage of `ov2 replay --iface NAME`; its Receiver and Sender are the I/O of
// `ov2 gateway`.
//
// # How
//
// Open creates an AF_PACKET SOCK_RAW socket (non-blocking) bound to the interface with
// protocol 0, so the socket sends but receives nothing (it is hooked to no protocol), sets a
// large send buffer (SO_SNDBUFFORCE, 4 MiB by default; SO_SNDBUF if the process lacks
// CAP_NET_ADMIN) and, if asked, PACKET_QDISC_BYPASS. Send hands the frames to the kernel with
// sendmmsg(2), one mmsghdr and one iovec per frame, up to MaxBatch (1024) frames per call; the
// kernel copies each frame into an skb and transmits it as it is (the frame carries its own
// Ethernet header; the kernel adds nothing, though a NIC pads a short frame to 60 bytes on the
// wire). The mmsghdr and iovec arrays live in the Sender, so Send does not allocate.
//
// sendmmsg is made as a raw system call: the socket is non-blocking, so the call never sleeps
// and is bounded CPU work in the kernel, and the calling goroutine keeps its processor (P)
// through it instead of the runtime handing the P to another thread and the sender waiting
// to win one back afterwards. On two CPUs that hand-off left up to 13% of CPU time idle
// during ov2 replay onto a veth pair (see sendBatch for the figures).
//
// A PACKET_TX_RING (TPACKET_V2: frames copied into a memory-mapped ring, one
// sendto(MSG_DONTWAIT) per batch) was measured against sendmmsg on a veth pair and is slower
// there: TestSendPaths (OV2_LIVE_BENCH=1) sends 200,000 1400-byte frames each way, interleaved;
// on a shared 2-vCPU Xeon (December 2026) the best of 3 were 1,302 ns of CPU per frame
// (723,000 frames/s) for sendmmsg, 1,371 ns with PACKET_QDISC_BYPASS, 1,707 ns (537,000/s)
// for the ring and 1,697 ns for the ring with the bypass. A profile says why: the ring's skbs
// carry the ring's pages as zero-copy fragments, and a veth forwarding into another network
// namespace must orphan them (__dev_forward_skb: skb_orphan_frags, skb_copy_ubufs), so the
// kernel allocates pages and copies every frame again; the copy the ring saves in the system
// call is paid twice. Of the ~1.3 µs per frame, the system call itself (sendmsg set-up, msghdr
// and iovec copies) is about a tenth; the skb, the transmit and, on a veth, the peer's receive
// processing in the sender's softirq are the rest, and no transmit API removes them. The
// ring's error reporting is weaker too (tpacket_snd reports no error for a frame the device
// refused but did not free at once, and per-frame errors come back only as slot states), so
// the package uses sendmmsg only. Batches of 1024 frames measured no better than 256.
//
// # No silent drops
//
// Send returns only when the kernel has accepted every frame, or on a hard error. Where the
// kernel pushes back, Send waits and retries the refused frame, counting each wait in
// Stats.Waits:
//
//   - EAGAIN: the socket's send buffer is full (frames still queued in the qdisc or the
//     driver's ring are charged to it). Send polls for POLLOUT.
//   - ENOBUFS: the qdisc was full and dropped the frame, or (with QdiscBypass) the driver's
//     queue was stopped, or, on a veth, the peer's backlog (net.core.netdev_max_backlog, a
//     global, per-CPU queue shared by all namespaces) was full. The kernel freed the frame and
//     said so; Send sleeps briefly (20 µs, doubling to 1 ms while it continues) and sends it
//     again.
//
// sendmmsg(2) reports an error only for the first frame of a call; when a later frame is
// refused it returns the number sent before it, and Send resends from the refused frame, so
// nothing is lost either way. On a veth, such a refusal is counted in the sender's tx_dropped
// and the receiver's rx_dropped although the frame arrives on the retry: the exact counts of
// what arrived are the receiver's rx_packets (for a veth, the sender's successful
// transmissions) and an ingress counter on the receiver (tc ingress qdisc statistics).
//
// One kernel path reports success for frames it discards: while an interface is up but has no
// carrier (a NIC without link, a veth whose peer is down), its qdisc is replaced by noop, which
// drops every frame and returns NET_XMIT_CN, which the packet socket turns into success. Open
// therefore refuses an interface without carrier (IFF_RUNNING), and Send checks the interface
// before sending (and returns an error wrapping ErrNoCarrier or ENETDOWN without sending) and
// after (and returns a *LinkLostError: the frames were accepted but some may have been
// discarded). The checks cost two ioctl(2) calls per Send, so send in batches. A carrier loss
// and recovery entirely within one Send is not detected. With QdiscBypass the kernel refuses
// frames without carrier with ENOBUFS instead; if Send has been waiting for a second and the
// interface is down or has no carrier, it returns an error rather than waiting forever.
//
// # Qdisc bypass
//
// Options.QdiscBypass (PACKET_QDISC_BYPASS) sends frames straight to the driver, skipping the
// interface's queueing discipline: less work and no qdisc lock per frame, but no queue to absorb
// bursts, no traffic control (shaping, egress filters), and no backpressure from a queue: when
// the driver's own ring is full the frame is refused at once (ENOBUFS) and Send retries after a
// sleep, where through a qdisc it would have been queued and the socket buffer would have
// filled (EAGAIN, answered by poll). On a veth (whose default qdisc is noqueue anyway) the two
// measured the same.
//
// # Errors
//
// Errors name the interface: Open returns "live: interface \"nope0\": no such network
// interface", "live: interface \"eth0\" is down", "live: interface \"eth0\": no carrier: ...",
// and, without CAP_NET_RAW, an error that says the capability is needed. Send checks each frame
// before sending it: shorter than 14 bytes (EINVAL), or longer than MTU+14 bytes, MTU+18 for a
// frame with an 802.1Q tag (EMSGSIZE), as the kernel would; the frames before it are sent, and
// Send returns their number and a *FrameError naming the frame's index and size, e.g.
// "live: interface \"veth0\": frame 3 is 9100 bytes, MTU 9000: message too long". A hard error
// from the kernel is reported the same way, with the call and the errno:
// "live: interface \"veth0\": frame 5 (1400 bytes): sendmmsg: network is down". FrameError and
// LinkLostError unwrap to the errno (errors.Is(err, unix.EMSGSIZE)).
//
// # Receiving
//
// OpenReceiver opens an AF_PACKET socket with a TPACKET_V3 receive ring mapped into the
// process (receiver.go): the kernel copies each frame into the current block of the ring
// and hands the block over when it is full or after RecvOptions.Timeout (1 ms by default);
// Recv returns the frames of the blocks handed over as slices of the ring, without a copy, a
// system call or an allocation per frame, and gives each block back when its frames are
// used. A frame that finds the ring full is dropped and counted by the kernel
// (RecvStats.KernelDrops, from PACKET_STATISTICS), which Stats reads. The timeout is what a
// frame can wait at a low rate: V3 hands over whole blocks only. With RecvOptions.Immediate
// the ring is TPACKET_V2 instead, slots of one frame each (as big as the interface's MTU
// needs), each handed over as soon as the kernel has written it: what a box that forwards
// wants, since it adds every frame's wait to the round trips through it. The gateway's
// measurement (BenchmarkGatewayVersusBridge): ping through two gateways 0.5 ms with frame
// slots against 2-3 ms with blocks, for 10-15% less throughput under full load (a wake-up
// per frame where V3 has one per block).
//
// OpenFanout opens several receivers on one interface in a PACKET_FANOUT group (fanout.go):
// the kernel spreads the frames over them by flow hash, by CPU, or by a classic BPF program
// that names the member (FanoutProgram; SetFanoutProgram replaces it atomically while frames
// flow), so that each receiver's goroutine gets its share and the frames of one flow stay on
// one receiver, in order. No frame reaches a member before the group is complete: each
// socket drops everything (a socket filter) until then.
//
// RecvOptions.Promisc puts the interface in promiscuous mode for as long as the socket is
// open (PACKET_MR_PROMISC, which the kernel undoes at close). RecvOptions.IgnoreOutgoing
// leaves out what the host itself sends on the interface (PACKET_IGNORE_OUTGOING, in a group
// PACKET_FANOUT_FLAG_IGNORE_OUTGOING where the kernel has it, and a check of each frame's
// packet type in Recv): a bridge does not receive what it sent.
//
// # Concurrency and namespaces
//
// A Sender is used by one goroutine at a time (Stats, Name, MTU and HardwareAddr may be called
// from any goroutine), and so is a Receiver (Stats, Name, Index, MTU and Fd from any). A
// socket belongs to the network namespace of the thread that opened it, whichever thread
// later uses it: open it inside a namespace (see internal/netns InNS) and use it from
// anywhere.
package live
