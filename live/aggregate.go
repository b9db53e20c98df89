//go:build linux

package live

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ov2dev/ov2/internal/inet"
)

// The virtio-net header (struct virtio_net_hdr, little-endian) that a socket with
// PACKET_VNET_HDR takes in front of every frame it sends: it asks the kernel to cut the
// frame into TCP segments (generic segmentation offload) and to fill in their checksums.
const (
	vnetHdrLen       = 10
	vnetFNeedsCsum   = 1 // VIRTIO_NET_HDR_F_NEEDS_CSUM
	vnetGSOTCPv4     = 1 // VIRTIO_NET_HDR_GSO_TCPV4
	vnetGSOTCPv6     = 4 // VIRTIO_NET_HDR_GSO_TCPV6
	vnetGSOUDPL4     = 5 // VIRTIO_NET_HDR_GSO_UDP_L4
	tcpChecksumField = 16
	udpChecksumField = 6
)

// AggregateSender sends TCP aggregates out one interface: Ethernet frames whose IP packet
// (a TCP segment of up to 64 KB) is longer than the interface's MTU, which the kernel cuts
// into segments on the way out (PACKET_VNET_HDR: generic segmentation offload, as for its
// own TCP), filling in every segment's IP and TCP fields and checksum. A bridge passing on
// the aggregates of a host with segmentation offloads on uses it. Its methods are used by
// one goroutine at a time, except Stats, Name and MTU.
type AggregateSender struct {
	s   *Sender // the socket, its checks and counters
	hdr [vnetHdrLen]byte
	iov [2]unix.Iovec
	msg unix.Msghdr
}

// OpenAggregate opens a sending AF_PACKET socket on iface with PACKET_VNET_HDR, as Open
// opens one without it (the same checks and options).
func OpenAggregate(iface string, o Options) (*AggregateSender, error) {
	fd, err := sendSocket(iface)
	if err != nil {
		return nil, err
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VNET_HDR, 1); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("live: interface %q: PACKET_VNET_HDR: %w", iface, err)
	}
	s, err := open(fd, iface, o)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	a := &AggregateSender{s: s}
	a.iov[0].Base = &a.hdr[0]
	a.iov[0].SetLen(vnetHdrLen)
	a.msg.Iov = &a.iov[0]
	a.msg.SetIovlen(2)
	return a, nil
}

// Name is the interface's name.
func (a *AggregateSender) Name() string { return a.s.name }

// Stats counts the aggregates the kernel took (each one frame, however many segments it
// becomes) and their bytes.
func (a *AggregateSender) Stats() Stats { return a.s.Stats() }

// Close closes the socket.
func (a *AggregateSender) Close() error { return a.s.Close() }

// aggregateHeader fills hdr with the virtio-net header that asks the kernel to cut frame
// (linkLen bytes of link-layer header, an IP header of ipHdrLen bytes, TCP, or UDP if udp)
// into segments of size bytes of payload and complete their checksums, and sets frame's
// checksum field to the pseudo-header's folded sum, not complemented: what the field holds
// while the checksum is left to be completed (CHECKSUM_PARTIAL). It reports false,
// changing nothing, for a frame it cannot describe so.
func aggregateHeader(hdr *[vnetHdrLen]byte, frame []byte, linkLen, ipHdrLen, size int, udp bool) bool {
	if linkLen < 0 || ipHdrLen < 20 || len(frame) < linkLen+ipHdrLen+20 || size < 1 || size > 0xffff ||
		linkLen+ipHdrLen+60 > 0xffff {
		return false
	}
	ip := frame[linkLen:]
	l4 := ip[ipHdrLen:]
	proto, l4Hdr, field := byte(inet.ProtoTCP), int(l4[12]>>4)*4, tcpChecksumField
	if udp {
		proto, l4Hdr, field = inet.ProtoUDP, 8, udpChecksumField
	}
	if l4Hdr < 8 || (!udp && l4Hdr < 20) || l4Hdr > len(l4) || len(l4) > 0xffff {
		return false
	}
	var gso byte
	switch {
	case udp && (ip[0]>>4 == 4 || ip[0]>>4 == 6 && ipHdrLen == 40):
		gso = vnetGSOUDPL4
	case ip[0]>>4 == 4:
		gso = vnetGSOTCPv4
	case ip[0]>>4 == 6 && ipHdrLen == 40:
		gso = vnetGSOTCPv6
	default:
		return false
	}
	binary.BigEndian.PutUint16(l4[field:], ^inet.Finish(inet.PseudoHeader(ip, proto, len(l4))))
	hdr[0], hdr[1] = vnetFNeedsCsum, gso
	binary.LittleEndian.PutUint16(hdr[2:], uint16(linkLen+ipHdrLen+l4Hdr))
	binary.LittleEndian.PutUint16(hdr[4:], uint16(size))
	binary.LittleEndian.PutUint16(hdr[6:], uint16(linkLen+ipHdrLen))
	binary.LittleEndian.PutUint16(hdr[8:], uint16(field))
	return true
}

// ErrNotAggregate is wrapped by SendTCP's error for a frame it cannot send as an aggregate.
var ErrNotAggregate = errors.New("not a TCP aggregate")

// SendTCP sends frame, an Ethernet frame (linkLen bytes of link-layer header, then an IPv4
// or IPv6 packet with an ipHdrLen-byte header and TCP, no extension headers) as an aggregate
// that the kernel cuts into segments of mss bytes of TCP payload. It sets the TCP checksum
// field to the pseudo-header sum over the whole TCP length, which is what the kernel
// completes each segment's checksum from, so the frame's own checksum may be anything.
// It waits, as Send does, when the socket or device is full, and checks the link before
// sending (the kernel discards frames for an interface without carrier). It does not
// allocate, except to build an error.
func (a *AggregateSender) SendTCP(frame []byte, linkLen, ipHdrLen, mss int) error {
	return a.send(frame, linkLen, ipHdrLen, mss, false)
}

// SendUDP is SendTCP for a UDP aggregate (UDP_SEGMENT): the kernel cuts it into datagrams
// of size bytes of payload each (the last may be shorter), with their UDP lengths and
// checksums.
func (a *AggregateSender) SendUDP(frame []byte, linkLen, ipHdrLen, size int) error {
	return a.send(frame, linkLen, ipHdrLen, size, true)
}

func (a *AggregateSender) send(frame []byte, linkLen, ipHdrLen, size int, udp bool) error {
	if a.s.closed.Load() {
		return &FrameError{Iface: a.s.name, Size: len(frame), MTU: a.s.MTU(), Op: "send", Err: net.ErrClosed}
	}
	if !aggregateHeader(&a.hdr, frame, linkLen, ipHdrLen, size, udp) {
		return &FrameError{Iface: a.s.name, Size: len(frame), MTU: a.s.MTU(), Op: "aggregate", Err: ErrNotAggregate}
	}
	if err := a.s.linkCheck(); err != nil {
		return &FrameError{Iface: a.s.name, Size: len(frame), MTU: a.s.MTU(), Op: opLinkCheck, Err: err}
	}
	a.iov[1].Base = &frame[0]
	a.iov[1].SetLen(len(frame))
	defer func() { a.iov[1].Base = nil }()
	backoff := minBackoff
	for {
		_, _, errno := unix.RawSyscall(unix.SYS_SENDMSG, uintptr(a.s.fd), uintptr(unsafe.Pointer(&a.msg)), 0)
		switch errno {
		case 0:
			a.s.packets.Add(1)
			a.s.bytes.Add(uint64(len(frame)))
			a.s.batches.Add(1)
			return nil
		case unix.EINTR:
		case unix.EAGAIN:
			a.s.waits.Add(1)
			if _, err := unix.Poll(a.s.pfd[:], pollTimeoutMs); err != nil && err != unix.EINTR {
				return &FrameError{Iface: a.s.name, Size: len(frame), MTU: a.s.MTU(), Op: "poll", Err: err}
			}
			if err := a.s.linkCheck(); err != nil {
				return &FrameError{Iface: a.s.name, Size: len(frame), MTU: a.s.MTU(), Op: "waiting to send", Err: err}
			}
		case unix.ENOBUFS:
			a.s.waits.Add(1)
			time.Sleep(backoff)
			backoff = min(2*backoff, maxBackoff)
			if err := a.s.linkCheck(); err != nil {
				return &FrameError{Iface: a.s.name, Size: len(frame), MTU: a.s.MTU(), Op: "waiting to send", Err: err}
			}
		default:
			return &FrameError{Iface: a.s.name, Size: len(frame), MTU: a.s.MTU(), Op: "sendmsg", Err: errno}
		}
	}
}
