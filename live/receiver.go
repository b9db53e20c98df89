//go:build linux

package live

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The receive side: an AF_PACKET socket with a TPACKET_V3 ring mapped into the process.
//
//	kernel (softirq) ─copies each frame─► [block 0][block 1]...[block n-1] ─Recv─► caller
//	                                        retired when full or after Timeout
//
// The kernel fills one block at a time with as many frames as fit, then retires it to user
// space (TP_STATUS_USER) when it is full or when RecvOptions.Timeout passes, whichever comes
// first. Recv hands out the frames of retired blocks in order, as slices of the ring itself
// (no copy, no allocation); a block goes back to the kernel (TP_STATUS_KERNEL) when its last
// frame has been handed out and the caller calls Recv again or Release. The caller therefore
// uses a frame's bytes only until its next Recv or Release: copy what must outlive that.
//
// A frame the ring has no room for is dropped by the kernel and counted
// (RecvStats.KernelDrops, from PACKET_STATISTICS), never lost unseen.
//
// With RecvOptions.Immediate the ring is TPACKET_V2 instead: fixed-size frame slots, each
// handed to user space (TP_STATUS_USER) as soon as the kernel has written it, and back
// (TP_STATUS_KERNEL) by the next Recv or Release. A block of V3 holds its first frame until
// the block is full or the block timer fires, which at a low rate is every frame's wait: a
// forwarding box (the gateway) adds that to every round trip through it, twice per hop for
// TCP (the data, then its ACK), and TCP's throughput falls with the round trip. A V2 slot
// has room for one frame of the interface's MTU; a longer frame (an aggregate: GRO, or GSO
// from a host with segmentation offloads on) still comes whole: the socket has
// PACKET_COPY_THRESH, so the kernel puts the slot's part in the ring marked
// TP_STATUS_COPY and queues the whole frame on the socket (a reference, not a copy), and
// Recv reads it from there (recvfrom, into the receiver's own buffer of maxWhole bytes).

const (
	defaultBlockSize = 1 << 18 // 256 KiB: ~170 frames of 1500 bytes
	defaultBlocks    = 64
	defaultTimeout   = time.Millisecond

	// tpacket2HdrLen is TPACKET_ALIGN(sizeof(struct tpacket2_hdr)): in an Immediate (V2)
	// ring, the struct sockaddr_ll behind each frame header starts here.
	tpacket2HdrLen = 32
	// slotSlack is what an Immediate ring's slot holds besides the frame of MTU bytes:
	// the frame header and sockaddr_ll (the kernel puts the link header at
	// TPACKET_ALIGN(tpacket2HdrLen + sizeof(sockaddr_ll)) plus its reserve), the Ethernet
	// header and two VLAN tags, rounded up.
	slotSlack = 128

	// tpacketHdrLen is TPACKET_ALIGN(sizeof(struct tpacket3_hdr)): the struct sockaddr_ll
	// that the kernel writes behind each frame header starts here.
	tpacketHdrLen = 48
	// sllPktTypeOff is sll_pkttype's offset in struct sockaddr_ll.
	sllPktTypeOff = 10
	// blockHdrStatusOff is the offset of bh1.block_status in struct tpacket_block_desc.
	blockHdrStatusOff = 8

	// maxWhole is the longest frame an Immediate ring's receiver takes whole when it is
	// longer than a slot: a 64 KiB aggregate (the kernel's default GSO and GRO limit) with
	// its link-layer header and VLAN tags, and room to spare. A longer one is cut as the
	// slot cut it.
	maxWhole = 1 << 17
	// wholeRcvBuf is the receive buffer an Immediate ring's socket asks for, where the
	// kernel queues the aggregates: dozens of them between two Recv calls.
	wholeRcvBuf = 8 << 20
)

// Packet types (sll_pkttype), as the kernel classifies a frame.
const (
	PacketHost      = unix.PACKET_HOST      // to this host's address
	PacketBroadcast = unix.PACKET_BROADCAST // to the link's broadcast address
	PacketMulticast = unix.PACKET_MULTICAST // to a multicast address
	PacketOtherHost = unix.PACKET_OTHERHOST // to another host (seen in promiscuous mode)
	PacketOutgoing  = unix.PACKET_OUTGOING  // sent by this host
)

// RecvOptions configure OpenReceiver.
type RecvOptions struct {
	// BlockSize is the size of one ring block in bytes, a multiple of the page size; 0 means
	// 256 KiB. A frame larger than a block (minus its header) is cut to fit (Frame.Len
	// keeps its length on the wire).
	BlockSize int
	// Blocks is the number of blocks in the ring; 0 means 64 (16 MiB with the default
	// size). Frames that arrive while every block waits for the caller are dropped by the
	// kernel and counted in RecvStats.KernelDrops.
	Blocks int
	// Timeout is how long the kernel fills a block before it retires it to the caller
	// although it is not full (tp_retire_blk_tov, in whole milliseconds); 0 means 1 ms. It
	// bounds the wait a frame adds at a low rate; at a high rate blocks fill first.
	Timeout time.Duration
	// Promisc puts the interface in promiscuous mode for as long as the socket is open
	// (PACKET_MR_PROMISC: the kernel counts each such socket and restores the mode when
	// the last one closes), so that frames for other hosts' addresses reach it.
	Promisc bool
	// IgnoreOutgoing leaves out frames that this host sends out of the interface
	// (PACKET_IGNORE_OUTGOING, or in a fanout group PACKET_FANOUT_FLAG_IGNORE_OUTGOING); Recv
	// also skips any outgoing frame the kernel still delivers, counting it in
	// RecvStats.Outgoing. A bridge sets it so that what it sends is not received again.
	IgnoreOutgoing bool
	// Immediate hands each frame over as soon as the kernel has written it (a TPACKET_V2
	// ring of frame slots) instead of a block at a time (TPACKET_V3, which keeps a frame
	// until its block is full or Timeout passes). BlockSize and Blocks then size the ring
	// (BlockSize/FrameSize slots per block) and Timeout is not used. For a box that
	// forwards, whose every frame's wait is added to the round trips through it.
	Immediate bool
	// FrameSize is the size of one slot of an Immediate ring, a multiple of 16 that
	// divides BlockSize; 0 means the smallest power of two that holds a frame of the
	// interface's MTU. A frame longer than a slot (an aggregated GRO or GSO frame) still
	// comes whole, up to 128 KiB, read from the socket (see the package's ring drawing);
	// only when the socket's receive buffer is full is it cut to fit, as a frame longer
	// than a block is in the V3 ring.
	FrameSize int
	// AllowDown opens the socket even when the interface is down, for a program that
	// waits for its link to come up (nothing arrives until it does).
	AllowDown bool
	// VNetHdr asks the kernel for each frame's virtio-net header (PACKET_VNET_HDR), which
	// says how an aggregate (a GSO or GRO frame longer than the MTU) was made: Frame.GSO
	// and Frame.GSOSize.
	VNetHdr bool
}

// GSO kinds of an aggregate (Frame.GSO), from its virtio-net header.
const (
	GSONone  = 0 // not an aggregate
	GSOTCPv4 = 1 // TCP over IPv4, cut at GSOSize bytes of payload
	GSOTCPv6 = 4 // TCP over IPv6
	GSOUDPL4 = 5 // UDP datagrams of GSOSize bytes of payload each (UDP_SEGMENT), over IPv4 or IPv6
)

func (o *RecvOptions) normalize() error {
	page := unix.Getpagesize()
	if o.BlockSize == 0 {
		o.BlockSize = defaultBlockSize
	}
	if o.Blocks == 0 {
		o.Blocks = defaultBlocks
	}
	if o.Timeout == 0 {
		o.Timeout = defaultTimeout
	}
	switch {
	case o.BlockSize < page || o.BlockSize%page != 0 || o.BlockSize > 1<<30:
		return fmt.Errorf("block size %d: want a multiple of the page size (%d), at most 1 GiB", o.BlockSize, page)
	case o.Blocks < 2 || o.Blocks > 1<<16:
		return fmt.Errorf("%d blocks: want 2 to 65536", o.Blocks)
	case int64(o.BlockSize)*int64(o.Blocks) > 1<<32-1:
		return fmt.Errorf("ring of %d blocks of %d bytes: larger than 4 GiB", o.Blocks, o.BlockSize)
	case o.Timeout < time.Millisecond || o.Timeout > time.Minute:
		return fmt.Errorf("block timeout %v: want 1ms to 1m", o.Timeout)
	case o.FrameSize != 0 && !o.Immediate:
		return fmt.Errorf("frame size %d: only an Immediate ring has frame slots", o.FrameSize)
	case o.FrameSize != 0 && (o.FrameSize < 256 || o.FrameSize%16 != 0 || o.BlockSize%o.FrameSize != 0):
		return fmt.Errorf("frame size %d: want a multiple of 16, at least 256, that divides the block size %d", o.FrameSize, o.BlockSize)
	}
	return nil
}

// slotFor is the default slot of an Immediate ring for an interface's MTU: the smallest
// power of two, at least 2048, that holds a frame of MTU bytes (slotSlack).
func slotFor(mtu int) int {
	s := 2048
	for s < mtu+slotSlack {
		s *= 2
	}
	return s
}

// Frame is one received frame. Data aliases the ring: it is valid until the next Recv or
// Release on the Receiver that returned it.
type Frame struct {
	// Data is the frame from its link-layer header, as much of it as the ring holds.
	Data []byte
	// Len is the frame's length as received; more than len(Data) when the ring cut it.
	Len int
	// Status is the frame's TP_STATUS_* bits: unix.TP_STATUS_CSUMNOTREADY (the transport
	// checksum is not filled in yet: a frame sent by this host, or forwarded, with checksum
	// offload), TP_STATUS_VLAN_VALID (VLANTCI holds a tag the device removed), ...
	Status uint32
	// VLANTCI and VLANTPID are the 802.1Q tag the device took off the frame, when Status
	// has TP_STATUS_VLAN_VALID (VLANTPID when it also has TP_STATUS_VLAN_TPID_VALID).
	VLANTCI, VLANTPID uint16
	// PktType is how the kernel classified the frame: PacketHost, PacketOtherHost, ...
	PktType uint8
	// Stamp is when the kernel received the frame, in Unix nanoseconds (the realtime
	// clock; for a frame sent on the interface, when it was sent).
	Stamp int64
	// GSO and GSOSize say, with RecvOptions.VNetHdr, whether the frame is an aggregate and
	// how to cut it (GSOTCPv4, GSOTCPv6, GSOUDPL4; GSONone for an ordinary frame, or when
	// the kernel did not say), from the virtio-net header the kernel wrote in front of it.
	// The ECN bit is cleared from GSO.
	GSO     uint8
	GSOSize uint16
}

// RecvStats count what a Receiver has done since it was opened.
type RecvStats struct {
	Packets, Bytes uint64 // frames handed out by Recv, and their lengths (Len)
	Blocks         uint64 // ring blocks taken from the kernel
	Truncated      uint64 // frames the ring cut (Len > len(Data)); they are handed out too
	Whole          uint64 // frames longer than an Immediate ring's slot read whole from the socket
	Outgoing       uint64 // outgoing frames skipped with IgnoreOutgoing (not in Packets)
	// KernelPackets and KernelDrops are the kernel's counts for the socket
	// (PACKET_STATISTICS, summed over the reads): frames it passed to the ring, and frames it
	// dropped because the ring was full. They are read when Stats is called.
	KernelPackets, KernelDrops uint64
	// KernelFreezes counts the times the ring had no free block (tp_freeze_q_cnt).
	KernelFreezes uint64
}

// Receiver receives Ethernet frames from one interface through an AF_PACKET socket and a
// TPACKET_V3 ring (or, Immediate, a TPACKET_V2 one). Recv, Release, Wait and Close are used by one goroutine at a time;
// Stats, Name, Index, MTU and Fd may be called from any goroutine.
type Receiver struct {
	fd     int
	name   string
	index  int
	mtu    int
	opts   RecvOptions
	ring   []byte
	closed atomic.Bool

	block  int // the block being read, or the next one to wait for
	held   bool
	next   int // offset of the next frame in the held block
	remain int // frames of the held block not handed out yet

	// An Immediate ring: slots of slot bytes; head is the next slot to read, and the out
	// slots before it were handed out by the last Recv and go back to the kernel next.
	// whole holds a frame longer than a slot, read from the socket (TP_STATUS_COPY); it
	// is made at the first one.
	slot, slots, head, out int
	whole                  []byte

	packets, bytes, blocks, truncated, outgoing, wholes atomic.Uint64
	kernelPackets, kernelDrops, kernelFreezes           atomic.Uint64
	statsMu                                             atomic.Bool // one Stats reader at a time reads the kernel counters

	pfd [1]unix.PollFd
}

// OpenReceiver opens a receiving AF_PACKET socket on iface with a TPACKET_V3 ring. The
// interface must exist and be up; it needs CAP_NET_RAW (and CAP_NET_ADMIN for Promisc).
// The socket belongs to the network namespace of the calling thread.
func OpenReceiver(iface string, o RecvOptions) (*Receiver, error) {
	r, err := newReceiver(iface, o, false)
	if err != nil {
		return nil, err
	}
	if err := r.start(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// newReceiver makes the socket and the ring, bound to the interface. With quiet, a socket
// filter that accepts nothing is attached first, so that no frame lands in the ring before
// the caller is ready (a fanout group being assembled); start removes it.
func newReceiver(iface string, o RecvOptions, quiet bool) (*Receiver, error) {
	if err := o.normalize(); err != nil {
		return nil, fmt.Errorf("live: interface %q: %w", iface, err)
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return nil, fmt.Errorf("live: interface %q: opening an AF_PACKET socket needs CAP_NET_RAW (run as root or grant the capability): %w", iface, err)
		}
		return nil, fmt.Errorf("live: interface %q: socket(AF_PACKET, SOCK_RAW): %w", iface, err)
	}
	r := &Receiver{fd: fd, name: iface, opts: o}
	if err := r.setup(quiet); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

func (r *Receiver) errf(format string, args ...any) error {
	return fmt.Errorf("live: interface %q: "+format, append([]any{r.name}, args...)...)
}

func (r *Receiver) setup(quiet bool) error {
	if len(r.name) == 0 || len(r.name) >= unix.IFNAMSIZ {
		return r.errf("no such network interface")
	}
	ifr, err := unix.NewIfreq(r.name)
	if err != nil {
		return r.errf("%w", err)
	}
	if err := unix.IoctlIfreq(r.fd, unix.SIOCGIFINDEX, ifr); err != nil {
		if errors.Is(err, unix.ENODEV) {
			return r.errf("no such network interface")
		}
		return r.errf("SIOCGIFINDEX: %w", err)
	}
	r.index = int(ifr.Uint32())
	flags, err := ifFlags(r.fd, r.name)
	if err != nil {
		return err
	}
	if flags&unix.IFF_UP == 0 && !r.opts.AllowDown {
		return fmt.Errorf("live: interface %q is down", r.name)
	}
	ifr, _ = unix.NewIfreq(r.name)
	if err := unix.IoctlIfreq(r.fd, unix.SIOCGIFMTU, ifr); err != nil {
		return r.errf("SIOCGIFMTU: %w", err)
	}
	r.mtu = int(ifr.Uint32())
	if _, err := hardwareAddr(r.fd, r.name); err != nil {
		return err
	}
	if quiet {
		if err := attachDropAll(r.fd); err != nil {
			return r.errf("SO_ATTACH_FILTER: %w", err)
		}
	}
	if r.opts.VNetHdr {
		// Before the ring: the kernel refuses it once a ring is mapped.
		if err := unix.SetsockoptInt(r.fd, unix.SOL_PACKET, unix.PACKET_VNET_HDR, 1); err != nil {
			return r.errf("PACKET_VNET_HDR: %w", err)
		}
	}
	if err := r.requestRing(); err != nil {
		return err
	}
	o := &r.opts
	ring, err := unix.Mmap(r.fd, 0, o.BlockSize*o.Blocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_LOCKED|unix.MAP_POPULATE)
	if err != nil {
		// MAP_LOCKED needs RLIMIT_MEMLOCK room; the ring works unlocked too.
		ring, err = unix.Mmap(r.fd, 0, o.BlockSize*o.Blocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
		if err != nil {
			return r.errf("mmap of the receive ring (%d bytes): %w", o.BlockSize*o.Blocks, err)
		}
	}
	r.ring = ring
	if o.Immediate {
		// Frames longer than a slot: the whole frame queued on the socket too.
		if err := unix.SetsockoptInt(r.fd, unix.SOL_PACKET, unix.PACKET_COPY_THRESH, 1); err != nil {
			return r.errf("PACKET_COPY_THRESH: %w", err)
		}
		if err := unix.SetsockoptInt(r.fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, wholeRcvBuf); err != nil {
			unix.SetsockoptInt(r.fd, unix.SOL_SOCKET, unix.SO_RCVBUF, wholeRcvBuf) // capped by net.core.rmem_max
		}
	}
	if o.IgnoreOutgoing {
		// Not an error where the kernel lacks it (before Linux 4.20): Recv skips them.
		unix.SetsockoptInt(r.fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1)
	}
	if err := unix.Bind(r.fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: r.index}); err != nil {
		return r.errf("bind: %w", err)
	}
	if o.Promisc {
		mreq := unix.PacketMreq{Ifindex: int32(r.index), Type: unix.PACKET_MR_PROMISC}
		if err := unix.SetsockoptPacketMreq(r.fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq); err != nil {
			return r.errf("promiscuous mode (PACKET_ADD_MEMBERSHIP): %w", err)
		}
	}
	r.pfd[0] = unix.PollFd{Fd: int32(r.fd), Events: unix.POLLIN | unix.POLLERR}
	return nil
}

// requestRing sets the ring's version and asks the kernel for it (PACKET_RX_RING).
func (r *Receiver) requestRing() error {
	o := &r.opts
	if o.Immediate {
		if err := unix.SetsockoptInt(r.fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V2); err != nil {
			return r.errf("PACKET_VERSION TPACKET_V2: %w", err)
		}
		r.slot = o.FrameSize
		if r.slot == 0 {
			// A power of two of at least 2048: a multiple of it is a multiple of the page
			// size whenever BlockSize (a page multiple) was not one already.
			r.slot = slotFor(r.mtu)
			o.BlockSize = max(o.BlockSize/r.slot, 1) * r.slot
		}
		per := o.BlockSize / r.slot
		r.slots = per * o.Blocks
		req := unix.TpacketReq{Block_size: uint32(o.BlockSize), Block_nr: uint32(o.Blocks),
			Frame_size: uint32(r.slot), Frame_nr: uint32(r.slots)}
		if err := unix.SetsockoptTpacketReq(r.fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
			return r.errf("PACKET_RX_RING (%d blocks of %d bytes, %d-byte frame slots): %w", o.Blocks, o.BlockSize, r.slot, err)
		}
		return nil
	}
	if err := unix.SetsockoptInt(r.fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); err != nil {
		return r.errf("PACKET_VERSION TPACKET_V3: %w", err)
	}
	req := unix.TpacketReq3{
		Block_size: uint32(o.BlockSize), Block_nr: uint32(o.Blocks),
		// V3 packs frames of any size into a block; the frame fields only have to be
		// consistent with the blocks.
		Frame_size: uint32(o.BlockSize), Frame_nr: uint32(o.Blocks),
		Retire_blk_tov: uint32(o.Timeout / time.Millisecond),
	}
	if err := unix.SetsockoptTpacketReq3(r.fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return r.errf("PACKET_RX_RING (%d blocks of %d bytes): %w", o.Blocks, o.BlockSize, err)
	}
	return nil
}

// start lets frames in: it removes the quiet filter, if any. Frames the kernel offered
// while it was attached were refused by the filter, not queued.
func (r *Receiver) start() error {
	if err := unix.SetsockoptInt(r.fd, unix.SOL_SOCKET, unix.SO_DETACH_FILTER, 0); err != nil && !errors.Is(err, unix.ENOENT) {
		return r.errf("SO_DETACH_FILTER: %w", err)
	}
	return nil
}

// attachDropAll attaches a classic BPF socket filter that accepts no frame.
func attachDropAll(fd int) error {
	prog := []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: 0}}
	return unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER,
		&unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]})
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// Name returns the interface name given at Open.
func (r *Receiver) Name() string { return r.name }

// Index returns the interface index.
func (r *Receiver) Index() int { return r.index }

// MTU returns the interface MTU read at Open.
func (r *Receiver) MTU() int { return r.mtu }

// LinkState is where a receiver's interface stands (Receiver.Link).
type LinkState int

const (
	// LinkUp is an interface that is up and has carrier.
	LinkUp LinkState = iota
	// LinkDown is an interface that is down, or up without carrier (a veth whose peer is
	// down, a NIC without link). The socket receives again by itself once it is up.
	LinkDown
	// LinkGone is an interface that was removed: the socket will never receive again.
	LinkGone
)

func (s LinkState) String() string {
	switch s {
	case LinkUp:
		return "up"
	case LinkDown:
		return "down"
	case LinkGone:
		return "removed"
	}
	return fmt.Sprintf("LinkState(%d)", int(s))
}

// ClearError reads and clears the socket's pending error, and returns it (nil if none).
// The kernel sets one (ENETDOWN) when the interface goes down or is removed, and poll(2)
// reports it as POLLERR until it is read: a caller that polls Fd must call ClearError when
// it sees POLLERR, or every poll returns at once from then on.
func (r *Receiver) ClearError() error {
	v, err := unix.GetsockoptInt(r.fd, unix.SOL_SOCKET, unix.SO_ERROR)
	switch {
	case err != nil:
		return r.errf("SO_ERROR: %w", err)
	case v != 0:
		return r.errf("%w", unix.Errno(v))
	}
	return nil
}

// Link says where the interface stands now, and its MTU now (0 when it is gone). A removed
// interface is told by the socket itself (the kernel unbinds it), so an interface made
// later with the same name is not taken for it. It costs four system calls: for a watcher,
// not for every frame.
func (r *Receiver) Link() (LinkState, int) {
	if sa, err := unix.Getsockname(r.fd); err == nil {
		if ll, ok := sa.(*unix.SockaddrLinklayer); ok && ll.Ifindex != r.index {
			return LinkGone, 0
		}
	}
	ifr, err := unix.NewIfreq("")
	if err != nil {
		return LinkGone, 0
	}
	ifr.SetUint32(uint32(r.index))
	if err := unix.IoctlIfreq(r.fd, unix.SIOCGIFNAME, ifr); err != nil {
		return LinkGone, 0 // ENODEV: no interface has the index any more
	}
	if err := unix.IoctlIfreq(r.fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return LinkGone, 0
	}
	state := LinkUp
	if f := ifr.Uint16(); f&unix.IFF_UP == 0 || f&unix.IFF_RUNNING == 0 {
		state = LinkDown
	}
	if err := unix.IoctlIfreq(r.fd, unix.SIOCGIFMTU, ifr); err != nil {
		return LinkGone, 0
	}
	return state, int(ifr.Uint32())
}

// MaxMTU is the largest interface MTU whose frames the ring holds whole (with an Ethernet
// header and two VLAN tags): an Immediate ring's slot, or a block ring's block, less what
// else it holds. A longer frame is cut (Frame.Len says how long it was).
func (r *Receiver) MaxMTU() int {
	if r.opts.Immediate {
		return r.slot - slotSlack
	}
	return r.opts.BlockSize - slotSlack
}

// Fd returns the socket, for a caller that waits on several receivers with poll(2): it is
// readable (POLLIN) when a block (Immediate: a frame) is ready.
func (r *Receiver) Fd() int { return r.fd }

// blockStatus is the block's bh1.block_status word, which the kernel and the caller hand
// back and forth: the kernel sets TP_STATUS_USER after it has written the block, the caller
// TP_STATUS_KERNEL after it has read it. The atomic loads and stores order the accesses to
// the block's contents around the hand-over (the kernel pairs them with smp_wmb/smp_rmb).
func (r *Receiver) blockStatus(i int) *uint32 {
	return (*uint32)(unsafe.Pointer(&r.ring[i*r.opts.BlockSize+blockHdrStatusOff]))
}

// slotStatus is an Immediate ring's slot i's tp_status word, handed back and forth as a
// block's status is (blockStatus).
func (r *Receiver) slotStatus(i int) *uint32 {
	return (*uint32)(unsafe.Pointer(&r.ring[i*r.slot]))
}

// Ready reports whether Recv has a frame to return without waiting.
func (r *Receiver) Ready() bool {
	if r.slot != 0 {
		return atomic.LoadUint32(r.slotStatus(r.head))&unix.TP_STATUS_USER != 0
	}
	return r.held || atomic.LoadUint32(r.blockStatus(r.block))&unix.TP_STATUS_USER != 0
}

// Recv moves up to len(dst) frames into dst and returns how many. It waits up to timeout
// for a block when none is ready (0: not at all; negative: without limit); it returns 0,
// nil when the time passes. The frames' bytes are valid until the next Recv or Release.
// Recv does not allocate.
func (r *Receiver) Recv(dst []Frame, timeout time.Duration) (int, error) {
	if r.closed.Load() {
		return 0, r.errf("%w", net.ErrClosed)
	}
	if r.slot != 0 {
		return r.recvSlots(dst, timeout)
	}
	if r.held && r.remain == 0 {
		r.Release()
	}
	if !r.held {
		if atomic.LoadUint32(r.blockStatus(r.block))&unix.TP_STATUS_USER == 0 {
			if timeout == 0 {
				return 0, nil
			}
			if err := r.Wait(timeout); err != nil {
				return 0, err
			}
			if atomic.LoadUint32(r.blockStatus(r.block))&unix.TP_STATUS_USER == 0 {
				return 0, nil
			}
		}
		r.take()
	}
	n := 0
	base := r.block * r.opts.BlockSize
	for n < len(dst) && r.remain > 0 {
		h := (*unix.Tpacket3Hdr)(unsafe.Pointer(&r.ring[base+r.next]))
		off := base + r.next
		r.remain--
		if r.remain > 0 {
			r.next += int(h.Next_offset)
		}
		if r.hand(&dst[n], off, tpacketHdrLen, frameHdr{mac: uint32(h.Mac), snaplen: h.Snaplen, length: h.Len,
			status: h.Status, sec: h.Sec, nsec: h.Nsec, tci: uint16(h.Hv1.Vlan_tci), tpid: h.Hv1.Vlan_tpid}) {
			n++
		}
	}
	r.packets.Add(uint64(n))
	return n, nil
}

// recvSlots is Recv on an Immediate ring: it gives the slots of the last Recv back and
// hands out the ready ones that follow, up to len(dst).
func (r *Receiver) recvSlots(dst []Frame, timeout time.Duration) (int, error) {
	r.Release()
	if !r.Ready() {
		if timeout == 0 {
			return 0, nil
		}
		if err := r.Wait(timeout); err != nil || !r.Ready() {
			return 0, err
		}
	}
	n := 0
	// Slots handed out stay TP_STATUS_USER until the next Recv: one pass over the ring at
	// most, or the slots after a wrap would be handed out twice.
	for n < len(dst) && r.out < r.slots && r.Ready() {
		off := r.head * r.slot
		h := (*unix.Tpacket2Hdr)(unsafe.Pointer(&r.ring[off]))
		r.head++
		if r.head == r.slots {
			r.head = 0
		}
		r.out++
		if r.hand(&dst[n], off, tpacket2HdrLen, frameHdr{mac: uint32(h.Mac), snaplen: h.Snaplen, length: h.Len,
			status: h.Status, sec: h.Sec, nsec: h.Nsec, tci: h.Vlan_tci, tpid: h.Vlan_tpid}) {
			n++
			if h.Status&unix.TP_STATUS_COPY != 0 {
				break // its bytes are in r.whole, which the next one would need
			}
		}
	}
	r.packets.Add(uint64(n))
	return n, nil
}

// frameHdr is what a frame's header in the ring (tpacket3_hdr, or tpacket2_hdr in an
// Immediate ring) says about it.
type frameHdr struct {
	mac, snaplen, length, status, sec, nsec uint32
	tci, tpid                               uint16
}

// hand fills f with the frame at ring offset off, whose header says h and whose struct
// sockaddr_ll starts sll bytes in. It reports false, counting the frame, for an outgoing
// frame that IgnoreOutgoing skips.
func (r *Receiver) hand(f *Frame, off, sll int, h frameHdr) bool {
	pktType := r.ring[off+sll+sllPktTypeOff]
	var whole []byte
	if h.status&unix.TP_STATUS_COPY != 0 {
		whole = r.readWhole(int(h.length)) // read even when skipped: the next is behind it
	}
	if pktType == PacketOutgoing && r.opts.IgnoreOutgoing {
		r.outgoing.Add(1)
		return false
	}
	mac := off + int(h.mac)
	f.Data = r.ring[mac : mac+int(h.snaplen) : mac+int(h.snaplen)]
	f.GSO, f.GSOSize = GSONone, 0
	if r.opts.VNetHdr && mac-vnetHdrLen >= off {
		// struct virtio_net_hdr, right in front of the frame: gso_type at 1 (its top bit
		// is ECN), gso_size at 4, little-endian.
		v := r.ring[mac-vnetHdrLen : mac]
		f.GSO, f.GSOSize = v[1]&^0x80, binary.LittleEndian.Uint16(v[4:])
	}
	if whole != nil {
		f.Data = whole
		h.snaplen = uint32(len(whole))
		r.wholes.Add(1)
	}
	f.Len = int(h.length)
	f.Status = h.status
	f.VLANTCI, f.VLANTPID = h.tci, h.tpid
	f.PktType = pktType
	f.Stamp = int64(h.sec)*1e9 + int64(h.nsec)
	if h.length > h.snaplen {
		r.truncated.Add(1)
	}
	r.bytes.Add(uint64(h.length))
	return true
}

// readWhole reads from the socket the whole frame of a slot marked TP_STATUS_COPY, n bytes
// long, into r.whole. The kernel queues these frames on the socket in the order of their
// slots, before it hands the slot over, so the frame is the first one queued; one of
// another length (a frame before it was not read: it cannot happen unless the kernel
// changes) is read and passed over. It returns nil, leaving the slot's cut frame, when the
// frame is longer than maxWhole or not there.
func (r *Receiver) readWhole(n int) []byte {
	if r.whole == nil {
		r.whole = make([]byte, maxWhole)
	}
	// With VNetHdr the socket gives the virtio-net header first (the slot has it too).
	skip := 0
	if r.opts.VNetHdr {
		skip = vnetHdrLen
	}
	for {
		got, err := recvTrunc(r.fd, r.whole)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return nil
		case got == skip+n && skip+n <= len(r.whole):
			return r.whole[skip : skip+n : skip+n]
		case got == skip+n:
			return nil // too long for the buffer: cut
		}
	}
}

// recvTrunc reads the first frame queued on a packet socket into buf without waiting and
// returns its whole length (MSG_TRUNC: more than len(buf) when it was cut). It is
// recvfrom(2) without the sender's address, which unix.Recvfrom would allocate to return.
func recvTrunc(fd int, buf []byte) (int, error) {
	n, _, e := unix.Syscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(buf))),
		uintptr(len(buf)), unix.MSG_DONTWAIT|unix.MSG_TRUNC, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// take makes the ready block r.block the held one.
func (r *Receiver) take() {
	base := r.block * r.opts.BlockSize
	bh := (*unix.TpacketHdrV1)(unsafe.Pointer(&r.ring[base+blockHdrStatusOff]))
	r.held = true
	r.remain = int(bh.Num_pkts)
	r.next = int(bh.Offset_to_first_pkt)
	r.blocks.Add(1)
}

// Release gives the held block back to the kernel, even if some of its frames were not
// handed out yet (they are skipped: use it when stopping); on an Immediate ring, the slots
// of the last Recv. Frames from Recv are invalid afterwards.
func (r *Receiver) Release() {
	if r.slot != 0 {
		for i := r.head - r.out; r.out > 0; i++ {
			if i < 0 {
				i += r.slots
			} else if i == r.slots {
				i = 0
			}
			atomic.StoreUint32(r.slotStatus(i), unix.TP_STATUS_KERNEL)
			r.out--
		}
		return
	}
	if !r.held {
		return
	}
	atomic.StoreUint32(r.blockStatus(r.block), unix.TP_STATUS_KERNEL)
	r.held = false
	r.remain = 0
	r.block = (r.block + 1) % r.opts.Blocks
}

// Wait waits up to timeout (negative: without limit) until a block is ready. It returns
// nil when one is ready or the time has passed.
func (r *Receiver) Wait(timeout time.Duration) error {
	ms := -1
	if timeout >= 0 {
		ms = int((timeout + time.Millisecond - 1) / time.Millisecond)
	}
	deadline := time.Now().Add(timeout)
	for !r.Ready() {
		_, err := unix.Poll(r.pfd[:], ms)
		if err != nil && err != unix.EINTR {
			return r.errf("poll: %w", err)
		}
		if r.pfd[0].Revents&unix.POLLERR != 0 {
			// A pending socket error (the device went away): report it.
			if v, err := unix.GetsockoptInt(r.fd, unix.SOL_SOCKET, unix.SO_ERROR); err == nil && v != 0 {
				return r.errf("%w", unix.Errno(v))
			}
		}
		if timeout >= 0 {
			left := time.Until(deadline)
			if left <= 0 {
				return nil
			}
			ms = int((left + time.Millisecond - 1) / time.Millisecond)
		}
	}
	return nil
}

// Stats returns the counters so far; it reads the kernel's (PACKET_STATISTICS, which
// reset on each read and are summed here).
func (r *Receiver) Stats() RecvStats {
	if !r.closed.Load() && r.statsMu.CompareAndSwap(false, true) {
		if st, err := unix.GetsockoptTpacketStatsV3(r.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS); err == nil {
			// tp_packets counts every frame offered to the socket, dropped ones too.
			r.kernelPackets.Add(uint64(st.Packets - st.Drops))
			r.kernelDrops.Add(uint64(st.Drops))
			r.kernelFreezes.Add(uint64(st.Freeze_q_cnt))
		}
		r.statsMu.Store(false)
	}
	return RecvStats{
		Packets: r.packets.Load(), Bytes: r.bytes.Load(), Blocks: r.blocks.Load(),
		Truncated: r.truncated.Load(), Whole: r.wholes.Load(), Outgoing: r.outgoing.Load(),
		KernelPackets: r.kernelPackets.Load(), KernelDrops: r.kernelDrops.Load(), KernelFreezes: r.kernelFreezes.Load(),
	}
}

// Close unmaps the ring and closes the socket (leaving promiscuous mode and the fanout
// group). Frames still in the ring are discarded.
func (r *Receiver) Close() error {
	if r.closed.Load() {
		return r.errf("%w", net.ErrClosed)
	}
	r.Stats() // keep the kernel's last counts
	if r.closed.Swap(true) {
		return r.errf("%w", net.ErrClosed)
	}
	var first error
	if r.ring != nil {
		if err := unix.Munmap(r.ring); err != nil {
			first = r.errf("munmap: %w", err)
		}
		r.ring = nil
	}
	if err := unix.Close(r.fd); err != nil && first == nil {
		first = r.errf("close: %w", err)
	}
	return first
}
