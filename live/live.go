//go:build linux

package live

import (
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// MaxBatch is the most frames Send hands to one sendmmsg(2) call.
const MaxBatch = 1024

const (
	ethHeaderLen  = 14
	vlanTagLen    = 4
	etherTypeVLAN = 0x8100
	defaultSndBuf = 4 << 20

	// stallCheck is how long Send waits on a full socket or device without progress before it
	// checks that the interface is still up and has carrier (and then again as often).
	stallCheck = time.Second
	// ENOBUFS backoff: the device or the receiving backlog refused a frame; sleep, doubling
	// from minBackoff to maxBackoff while the refusals continue.
	minBackoff = 20 * time.Microsecond
	maxBackoff = time.Millisecond
	// pollTimeoutMs bounds one poll(2) for POLLOUT, so that a stall is noticed.
	pollTimeoutMs = 100
)

// Options configure Open.
type Options struct {
	// QdiscBypass sets PACKET_QDISC_BYPASS: frames go straight to the driver's transmit
	// function instead of through the interface's queueing discipline. It saves the qdisc's
	// enqueue/dequeue and lock, but there is then no queue to absorb a burst and no backpressure
	// from one: when the driver's ring (or, for veth, the peer's backlog) is full the frame is
	// refused at once, which Send sees as ENOBUFS and answers by waiting and retrying. Traffic
	// control (shaping, tc filters on egress) and packet taps on the qdisc are bypassed too.
	// Default false.
	QdiscBypass bool
	// SndBuf is the socket send buffer in bytes; 0 means 4 MiB. It bounds the frames the
	// kernel holds for this socket (queued or in the driver's ring) before sends would block.
	// Open sets it with SO_SNDBUFFORCE (CAP_NET_ADMIN, so the net.core.wmem_max cap does not
	// apply) and falls back to SO_SNDBUF.
	SndBuf int
	// AllowDown opens the socket even when the interface is down or has no carrier, for a
	// program that waits for its link to come up (Send refuses frames until it does).
	AllowDown bool
}

// Stats count what a Sender has done since Open.
type Stats struct {
	Packets, Bytes uint64 // frames and bytes accepted by the kernel
	Batches        uint64 // sendmmsg calls that sent at least one frame
	Waits          uint64 // times the socket or device was full (EAGAIN/ENOBUFS) and Send waited before retrying
}

// Sender sends Ethernet frames out one interface through an AF_PACKET socket. Send and Close
// must not be called concurrently with each other or with themselves; Stats, Name, MTU and
// HardwareAddr may be called at any time.
type Sender struct {
	fd      int
	name    string
	index   int
	mtu     atomic.Int32 // read at Open; SetMTU follows a change
	hwaddr  net.HardwareAddr
	closed  atomic.Bool
	packets atomic.Uint64
	bytes   atomic.Uint64
	batches atomic.Uint64
	waits   atomic.Uint64

	ifr *unix.Ifreq // name set at Open; SIOCGIFFLAGS writes the flags into it

	msgs [MaxBatch]unix.Mmsghdr
	iovs [MaxBatch]unix.Iovec
	pfd  [1]unix.PollFd
}

// FrameError is the error Send returns for a frame it could not send: one that failed the size
// checks, or one the kernel refused with a hard error. Index is the frame's index in the slice
// given to Send, which is also the number of frames sent before it.
type FrameError struct {
	Iface string
	Index int
	Size  int
	MTU   int
	Op    string // "" for a size check, else the call that failed ("sendmmsg", "poll", ...)
	Err   error  // a unix.Errno: EMSGSIZE, EINVAL, ENETDOWN, ...
}

func (e *FrameError) Error() string {
	switch {
	case e.Op == opLinkCheck:
		// The interface, not a frame: nothing of this call was sent.
		return fmt.Sprintf("live: interface %q: %v (found before sending)", e.Iface, e.Err)
	case e.Op != "" && linkErr(e.Err):
		// The interface went down or away while sending: which frame of the batch met it
		// says nothing to the user.
		return fmt.Sprintf("live: interface %q: %v (%s)", e.Iface, e.Err, e.Op)
	case e.Op != "":
		return fmt.Sprintf("live: interface %q: frame %d (%d bytes): %s: %v", e.Iface, e.Index, e.Size, e.Op, e.Err)
	case e.Size < ethHeaderLen:
		return fmt.Sprintf("live: interface %q: frame %d is %d bytes, shorter than an Ethernet header (%d): %v", e.Iface, e.Index, e.Size, ethHeaderLen, e.Err)
	default:
		return fmt.Sprintf("live: interface %q: frame %d is %d bytes, MTU %d: %v", e.Iface, e.Index, e.Size, e.MTU, e.Err)
	}
}

// linkErr says err is about the interface (down, no carrier, gone), not a frame.
func linkErr(err error) bool {
	for _, e := range []unix.Errno{unix.ENETDOWN, unix.ENOLINK, unix.ENXIO, unix.ENODEV} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// opLinkCheck is FrameError.Op when Send found the interface down or without carrier
// before it sent anything.
const opLinkCheck = "before sending"

func (e *FrameError) Unwrap() error { return e.Err }

// TooLong reports whether err is Send's refusal of a frame longer than the interface's MTU
// allows (a *FrameError with EMSGSIZE, from Send's own check or the kernel's): that frame
// was not sent, the ones before it were, and the ones after it were not tried.
func TooLong(err error) bool {
	var fe *FrameError
	return errors.As(err, &fe) && fe.Err == unix.EMSGSIZE
}

// Open opens an AF_PACKET SOCK_RAW socket bound to interface iface for sending. The socket
// uses protocol 0, so it receives nothing. The interface must exist, be up and have carrier
// (IFF_RUNNING), and be an Ethernet (or loopback) device. Opening needs CAP_NET_RAW.
func Open(iface string, o Options) (*Sender, error) {
	fd, err := sendSocket(iface)
	if err != nil {
		return nil, err
	}
	s, err := open(fd, iface, o)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	return s, nil
}

// sendSocket makes a non-blocking AF_PACKET SOCK_RAW socket, bound to nothing yet.
func sendSocket(iface string) (int, error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return -1, fmt.Errorf("live: interface %q: opening an AF_PACKET socket needs CAP_NET_RAW (run as root or grant the capability): %w", iface, err)
		}
		return -1, fmt.Errorf("live: interface %q: socket(AF_PACKET, SOCK_RAW): %w", iface, err)
	}
	return fd, nil
}

func open(fd int, iface string, o Options) (*Sender, error) {
	if len(iface) == 0 || len(iface) >= unix.IFNAMSIZ {
		return nil, fmt.Errorf("live: interface %q: no such network interface", iface)
	}
	ifr, err := unix.NewIfreq(iface)
	if err != nil {
		return nil, fmt.Errorf("live: interface %q: %w", iface, err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFINDEX, ifr); err != nil {
		if errors.Is(err, unix.ENODEV) {
			return nil, fmt.Errorf("live: interface %q: no such network interface", iface)
		}
		return nil, fmt.Errorf("live: interface %q: SIOCGIFINDEX: %w", iface, err)
	}
	index := int(ifr.Uint32())
	flags, err := ifFlags(fd, iface)
	if err != nil {
		return nil, err
	}
	if flags&unix.IFF_UP == 0 && !o.AllowDown {
		return nil, fmt.Errorf("live: interface %q is down", iface)
	}
	if flags&unix.IFF_RUNNING == 0 && !o.AllowDown {
		return nil, fmt.Errorf("live: interface %q: %w", iface, ErrNoCarrier)
	}
	ifr, _ = unix.NewIfreq(iface)
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFMTU, ifr); err != nil {
		return nil, fmt.Errorf("live: interface %q: SIOCGIFMTU: %w", iface, err)
	}
	mtu := int(ifr.Uint32())
	hwaddr, err := hardwareAddr(fd, iface)
	if err != nil {
		return nil, err
	}

	if o.QdiscBypass {
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_QDISC_BYPASS, 1); err != nil {
			return nil, fmt.Errorf("live: interface %q: PACKET_QDISC_BYPASS: %w", iface, err)
		}
	}
	sndbuf := o.SndBuf
	if sndbuf <= 0 {
		sndbuf = defaultSndBuf
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, sndbuf); err != nil {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, sndbuf); err != nil {
			return nil, fmt.Errorf("live: interface %q: SO_SNDBUF %d: %w", iface, sndbuf, err)
		}
	}
	// Protocol 0: bound to the device for sending, hooked to no protocol, so nothing is received.
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: 0, Ifindex: index}); err != nil {
		return nil, fmt.Errorf("live: interface %q: bind: %w", iface, err)
	}

	s := &Sender{fd: fd, name: iface, index: index, hwaddr: hwaddr}
	s.mtu.Store(int32(mtu))
	if s.ifr, err = unix.NewIfreq(iface); err != nil {
		return nil, fmt.Errorf("live: interface %q: %w", iface, err)
	}
	for i := range s.msgs {
		s.msgs[i].Hdr.Iov = &s.iovs[i]
		s.msgs[i].Hdr.SetIovlen(1)
	}
	s.pfd[0] = unix.PollFd{Fd: int32(fd), Events: unix.POLLOUT}
	return s, nil
}

func ifFlags(fd int, iface string) (uint16, error) {
	ifr, err := unix.NewIfreq(iface)
	if err != nil {
		return 0, fmt.Errorf("live: interface %q: %w", iface, err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		if errors.Is(err, unix.ENODEV) {
			return 0, fmt.Errorf("live: interface %q: no such network interface", iface)
		}
		return 0, fmt.Errorf("live: interface %q: SIOCGIFFLAGS: %w", iface, err)
	}
	return ifr.Uint16(), nil
}

// ifreqHW is struct ifreq with the ifr_hwaddr (struct sockaddr) member of the union.
type ifreqHW struct {
	name   [unix.IFNAMSIZ]byte
	family uint16
	data   [14]byte
	_      [8]byte // the union is 24 bytes on 64-bit Linux
}

func hardwareAddr(fd int, iface string) (net.HardwareAddr, error) {
	var ifr ifreqHW
	copy(ifr.name[:], iface)
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCGIFHWADDR, uintptr(unsafe.Pointer(&ifr))); errno != 0 {
		return nil, fmt.Errorf("live: interface %q: SIOCGIFHWADDR: %w", iface, errno)
	}
	switch ifr.family {
	case unix.ARPHRD_ETHER, unix.ARPHRD_LOOPBACK:
	default:
		return nil, fmt.Errorf("live: interface %q is not an Ethernet device (ARPHRD %d)", iface, ifr.family)
	}
	return net.HardwareAddr(append([]byte(nil), ifr.data[:6]...)), nil
}

// Name returns the interface name given to Open.
func (s *Sender) Name() string { return s.name }

// MTU returns the interface MTU read at Open, or given to SetMTU since (the largest frame is
// MTU+14 bytes, MTU+18 with an 802.1Q tag).
func (s *Sender) MTU() int { return int(s.mtu.Load()) }

// SetMTU tells the Sender the interface's MTU changed (Receiver.Link reads it): Send checks
// frames against it from then on. It may be called while another goroutine sends.
func (s *Sender) SetMTU(mtu int) { s.mtu.Store(int32(mtu)) }

// HardwareAddr returns the interface's MAC address, read at Open.
func (s *Sender) HardwareAddr() net.HardwareAddr { return s.hwaddr }

// Stats returns the counters so far. It may be called concurrently with Send.
func (s *Sender) Stats() Stats {
	return Stats{
		Packets: s.packets.Load(),
		Bytes:   s.bytes.Load(),
		Batches: s.batches.Load(),
		Waits:   s.waits.Load(),
	}
}

// Close closes the socket. Frames already accepted by the kernel are still transmitted.
func (s *Sender) Close() error {
	if s.closed.Swap(true) {
		return fmt.Errorf("live: interface %q: %w", s.name, net.ErrClosed)
	}
	if err := unix.Close(s.fd); err != nil {
		return fmt.Errorf("live: interface %q: close: %w", s.name, err)
	}
	return nil
}

// checkFrame returns the errno for a frame the kernel would refuse for its size, or 0.
func (s *Sender) checkFrame(f []byte) unix.Errno {
	n := len(f)
	if n < ethHeaderLen {
		return unix.EINVAL
	}
	if max := int(s.mtu.Load()) + ethHeaderLen; n > max {
		// The kernel (packet_snd) allows 4 more bytes only for a frame carrying an 802.1Q tag.
		if n > max+vlanTagLen || uint16(f[12])<<8|uint16(f[13]) != etherTypeVLAN {
			return unix.EMSGSIZE
		}
	}
	return 0
}

// Send transmits every frame, in order, batching up to MaxBatch frames per sendmmsg(2) call.
// It returns len(frames), nil only when the kernel has accepted all of them. It never drops a
// frame: when the socket buffer is full (EAGAIN) it polls for POLLOUT, and when the device or
// qdisc refuses a frame (ENOBUFS) it sleeps briefly, and then retries that frame. If the
// interface goes down or loses carrier while Send waits, it returns an error.
//
// Frames are checked before they are sent: one shorter than 14 bytes (EINVAL), or longer than
// MTU+14 (MTU+18 if it carries an 802.1Q tag) (EMSGSIZE), stops Send after the frames before it
// have been sent. On such an error, or a hard error from the kernel, Send returns the number of
// frames sent, which is also the index of the failed frame, and a *FrameError naming the
// interface, the frame index and size, and the errno.
//
// Send also checks the interface before sending (down: ENETDOWN; no carrier: ErrNoCarrier;
// a *FrameError for frame 0, nothing sent) and after (a *LinkLostError with all frames counted
// as sent), because without carrier the kernel discards frames sent through a qdisc and reports
// success. That costs two ioctl(2) calls per Send: send in batches.
//
// Send does not allocate, except to build an error.
//
// Send does not keep references to the frames after it returns; the caller may reuse them.
func (s *Sender) Send(frames [][]byte) (int, error) {
	if s.closed.Load() {
		return 0, &FrameError{Iface: s.name, Size: frameLen(frames, 0), MTU: s.MTU(), Op: "send", Err: net.ErrClosed}
	}
	if len(frames) == 0 {
		return 0, nil
	}
	// Without carrier the kernel's qdisc path discards frames and still reports success
	// (noop qdisc, NET_XMIT_CN), so check the link before and after sending.
	if err := s.linkCheck(); err != nil {
		return 0, &FrameError{Iface: s.name, Index: 0, Size: len(frames[0]), MTU: s.MTU(), Op: opLinkCheck, Err: err}
	}
	sent := 0
	for sent < len(frames) {
		n := 0
		var bad unix.Errno
		for n < MaxBatch && sent+n < len(frames) {
			f := frames[sent+n]
			if bad = s.checkFrame(f); bad != 0 {
				break
			}
			s.iovs[n].Base = &f[0]
			s.iovs[n].SetLen(len(f))
			n++
		}
		k, err := s.sendBatch(n, sent)
		sent += k
		if err != nil {
			err.Size = len(frames[sent])
			return sent, err
		}
		if bad != 0 {
			return sent, &FrameError{Iface: s.name, Index: sent, Size: len(frames[sent]), MTU: s.MTU(), Err: bad}
		}
	}
	if err := s.linkCheck(); err != nil {
		return sent, &LinkLostError{Iface: s.name, Accepted: sent, Err: err}
	}
	return sent, nil
}

// LinkLostError is returned by a Send that found, after the kernel had accepted all its frames,
// that the interface had gone down or lost carrier: some of those frames may have been
// discarded by the kernel without an error (it reports success for frames its queueing
// discipline drops while the link is down). Accepted is the number of frames Send returns.
type LinkLostError struct {
	Iface    string
	Accepted int
	Err      error
}

func (e *LinkLostError) Error() string {
	return fmt.Sprintf("live: interface %q: after the kernel accepted %d frames: %v (some may have been discarded)", e.Iface, e.Accepted, e.Err)
}

func (e *LinkLostError) Unwrap() error { return e.Err }

func frameLen(frames [][]byte, i int) int {
	if i < len(frames) {
		return len(frames[i])
	}
	return 0
}

// sendBatch sends s.msgs[:n] (frames base..base+n-1 of the caller's slice) until all are
// accepted or a hard error. It returns how many were sent, and on error a FrameError without
// Size (the caller fills it in).
func (s *Sender) sendBatch(n, base int) (int, *FrameError) {
	off := 0
	backoff := minBackoff
	var stallSince time.Time // zero while making progress
	var lastCheck time.Time
	defer func() {
		// Do not keep the caller's buffers reachable.
		for i := range n {
			s.iovs[i].Base = nil
		}
	}()
	for off < n {
		// A raw system call: the runtime is not told, so this goroutine keeps its processor
		// (P) for the call. The socket is non-blocking, so the call never sleeps; it is CPU
		// work in the kernel (building, queueing and, on a veth, delivering each frame),
		// bounded by MaxBatch frames: a few milliseconds at most. With an ordinary
		// unix.Syscall6 the runtime hands the P to another thread during the call, and on
		// return the sender has to win a P back behind the goroutines that feed it; measured
		// on 2 CPUs with ov2 replay onto a veth (2 lanes, 1,000,000 frames of 1400 bytes,
		// six interleaved runs each): 453k-611k frames/s with 1-12% of the CPUs idle,
		// against 500k-655k with 1-2% idle with the raw call. The cost: a garbage
		// collection's stop-the-world waits for the call to return.
		r, _, errno := unix.RawSyscall6(unix.SYS_SENDMMSG, uintptr(s.fd),
			uintptr(unsafe.Pointer(&s.msgs[off])), uintptr(n-off), 0, 0, 0)
		if errno == 0 && int(r) > 0 {
			var b uint64
			for i := off; i < off+int(r); i++ {
				b += uint64(s.msgs[i].Len)
			}
			off += int(r)
			s.packets.Add(uint64(r))
			s.bytes.Add(b)
			s.batches.Add(1)
			backoff = minBackoff
			stallSince = time.Time{}
			continue
		}
		switch errno {
		case unix.EINTR:
			continue
		case unix.EAGAIN, unix.ENOBUFS:
			s.waits.Add(1)
			now := time.Now()
			if stallSince.IsZero() {
				stallSince, lastCheck = now, now
			} else if now.Sub(lastCheck) >= stallCheck {
				lastCheck = now
				if err := s.linkCheck(); err != nil {
					return off, &FrameError{Iface: s.name, Index: base + off, MTU: s.MTU(), Op: "waiting to send", Err: err}
				}
			}
			if errno == unix.EAGAIN {
				// The socket's send buffer is full: wait until the kernel frees some of it.
				_, err := unix.Poll(s.pfd[:], pollTimeoutMs)
				if err != nil && err != unix.EINTR {
					return off, &FrameError{Iface: s.name, Index: base + off, MTU: s.MTU(), Op: "poll", Err: err}
				}
			} else {
				// The device queue (or with qdisc bypass the driver, or a veth peer's
				// backlog) refused the frame and freed it; give the consumer time to drain.
				time.Sleep(backoff)
				if backoff < maxBackoff {
					backoff *= 2
				}
			}
		case 0:
			// sendmmsg returned 0 frames without an error: cannot happen for n-off > 0; retry.
			continue
		default:
			return off, &FrameError{Iface: s.name, Index: base + off, MTU: s.MTU(), Op: "sendmmsg", Err: errno}
		}
	}
	return off, nil
}

// ErrNoCarrier is wrapped by the errors Send returns when the interface is up but has no
// carrier (not IFF_RUNNING): a veth whose peer is down, a NIC without link.
var ErrNoCarrier = fmt.Errorf("no carrier: %w", unix.ENOLINK)

// linkCheck returns ENETDOWN if the interface is down, ErrNoCarrier if it has no carrier, and
// the ioctl's errno (ENODEV) if it is gone. It does not allocate.
func (s *Sender) linkCheck() error {
	if err := unix.IoctlIfreq(s.fd, unix.SIOCGIFFLAGS, s.ifr); err != nil {
		return err // ENODEV: the interface is gone
	}
	flags := s.ifr.Uint16()
	switch {
	case flags&unix.IFF_UP == 0:
		return unix.ENETDOWN
	case flags&unix.IFF_RUNNING == 0:
		return ErrNoCarrier
	}
	return nil
}
