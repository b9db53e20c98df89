package gateway

import (
	"encoding/binary"
	"errors"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ov2dev/ov2/fastpath"
	"github.com/ov2dev/ov2/host"
	"github.com/ov2dev/ov2/internal/inet"
	"github.com/ov2dev/ov2/live"
	"github.com/ov2dev/ov2/packet"
)

// A lane's worker, one goroutine:
//
//	inside ring  ─Recv─► classify ─┬─ for an SA ──► Queue.Protect ─► NIC ─► protected() ─► sealOut ─► outside
//	                               ├─ too big ────► ICMP error ─────────────────────────► toIn ────► inside
//	                               └─ the rest ───► bridged as it is ──────────────────► toOut ───► outside
//	outside ring ─Recv─► classify ─┬─ ESP for an SA ► Queue.Unprotect ─► NIC ─► host ─► unprotected() ─► openIn ─► inside
//	                               ├─ plain, covered by an SA ► dropped (counted)
//	                               └─ the rest ───► bridged as it is ──────────────────► toIn ────► inside
//
// The worker owns its two receivers and all four senders: it runs its fast-path queue
// inline (Queue.Turn after each batch), so the callbacks protected() and unprotected(),
// which send with sealOut and openIn, run on its goroutine too. Frames bridged are sent
// straight from the ring (the bytes stay in the ring until the next Recv); everything else
// is copied once, into the NIC's buffers.

const (
	framesPerRecv = 256
	pollMs        = 100 // the longest a worker sleeps before it looks at the stop flag
	arenaSize     = 64 << 10
)

type lane struct {
	g   *Gateway
	idx int
	q   *fastpath.Queue
	// tx frames the worker's packets under one hold of the queue's send lock for up to
	// 32 of them; sendBatches lets go first (a send may wait, and flushSide's Flush takes
	// the lock), so a batch never ends with the lock held.
	tx    *fastpath.Sending
	inRx  *live.Receiver
	outRx *live.Receiver
	// Senders: toOut and toIn for the worker, sealOut and openIn for the callbacks; aggOut
	// and aggIn for the TCP aggregates the worker bridges (the kernel cuts them).
	toOut, toIn, sealOut, openIn *live.Sender
	aggOut, aggIn                *live.AggregateSender
	efd                          int

	frames  []live.Frame
	toOutB  [][]byte // frames to send out of the outside (bridged)
	toInB   [][]byte // frames to send out of the inside (bridged, ICMP errors)
	arena   []byte   // frames the worker builds (ICMP errors, re-tagged copies) until sent
	scratch []byte   // one fragment or one re-tagged frame being handed to the fast path
	in, out batchCounts

	cbOut, cbIn [][]byte // the callbacks' batches

	// gso and gsoSize are the frame being handled's virtio-net GSO type and size
	// (live.Frame.GSO): how an aggregate is to be cut.
	gso     uint8
	gsoSize int

	merge merger // the aggregate the decrypt callback builds (coalesce.go)
}

func newLane(g *Gateway, i int) *lane {
	return &lane{g: g, idx: i, efd: -1,
		frames: make([]live.Frame, framesPerRecv),
		toOutB: make([][]byte, 0, framesPerRecv), toInB: make([][]byte, 0, framesPerRecv),
		arena: make([]byte, 0, arenaSize), scratch: make([]byte, packet.LargeSize),
		cbOut: make([][]byte, 0, 256), cbIn: make([][]byte, 0, 256),
		merge: merger{buf: make([]byte, 0, packet.LargeSize)}}
}

// wake makes the worker look at the stop flag now.
func (l *lane) wake() {
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	unix.Write(l.efd, one[:])
}

func (l *lane) run() {
	pfd := []unix.PollFd{
		{Fd: int32(l.inRx.Fd()), Events: unix.POLLIN},
		{Fd: int32(l.outRx.Fd()), Events: unix.POLLIN},
		{Fd: int32(l.efd), Events: unix.POLLIN},
	}
	var drain [8]byte
	for !l.g.stopping.Load() {
		busy := false
		if n, err := l.inRx.Recv(l.frames, 0); err == nil && n > 0 {
			busy = true
			l.fromInside(l.frames[:n])
			l.q.Turn()
		}
		if n, err := l.outRx.Recv(l.frames, 0); err == nil && n > 0 {
			busy = true
			l.fromOutside(l.frames[:n])
			l.q.Turn()
		}
		if !busy && !l.spin() {
			unix.Poll(pfd, pollMs)
			if pfd[2].Revents != 0 {
				unix.Read(l.efd, drain[:])
			}
			// A socket error (the interface went down or away) is reported by every
			// poll until it is read: read it, and let the link watcher see what happened.
			for i, rx := range [2]*live.Receiver{l.inRx, l.outRx} {
				if pfd[i].Revents&unix.POLLERR != 0 {
					rx.ClearError()
					l.g.kickLinks()
				}
			}
		}
	}
}

// spinFor is how long an idle worker keeps looking at its rings before it sleeps in
// poll(2).
const spinFor = 50 * time.Microsecond

// spin looks at both rings, without a system call, until a frame is there (true) or
// spinFor has passed (false).
func (l *lane) spin() bool {
	start := time.Now()
	for i := 1; ; i++ {
		if l.inRx.Ready() || l.outRx.Ready() {
			return true
		}
		if i%64 == 0 && time.Since(start) > spinFor {
			return false
		}
	}
}

// fromInside handles a batch of frames from the inside ring.
func (l *lane) fromInside(frames []live.Frame) {
	c := &l.in
	for i := range frames {
		fr := &frames[i]
		inc(&c.received, fr.Len)
		data, ok := l.whole(fr, c)
		if !ok {
			continue
		}
		l.gso, l.gsoSize = fr.GSO, int(fr.GSOSize)
		f := ParseFrame(data)
		if f.Kind == KindOther {
			l.bridge(&l.toOutB, data, f, int(l.g.outMTU.Load()), c, false)
			continue
		}
		frame := data[:f.LinkLen+f.IPLen]
		if f.IPLen > int(l.g.inMTU.Load()) {
			// Longer than the interface's MTU: an aggregated frame (GSO/GRO) from a host
			// with segmentation offloads on. For an SA the NIC cuts a TCP one (LSO +
			// IPsec) and the lane a UDP one; for none a bridge passes it for the kernel
			// to cut.
			if out, match := l.q.Match(frame[f.LinkLen:]); match {
				if l.gso == live.GSOUDPL4 && f.Proto == inet.ProtoUDP {
					l.splitUDP(frame, f, out, c)
				} else {
					l.largeSend(frame, f, out, c)
				}
				continue
			}
			if fr.Status&unix.TP_STATUS_CSUMNOTREADY != 0 && f.IPLen <= int(l.g.outMTU.Load()) {
				completeChecksum(data[f.LinkLen:], f) // an aggregate gets its sum where it is cut
			}
			l.bridge(&l.toOutB, data, f, int(l.g.outMTU.Load()), c, true)
			continue
		}
		if fr.Status&unix.TP_STATUS_CSUMNOTREADY != 0 {
			completeChecksum(data[f.LinkLen:], f)
		}
		if fragment(frame[f.LinkLen:], f) {
			// A fragment: transport mode would copy its fragment fields into the ESP
			// packet's header, which the far side would take for a fragment of ESP.
			if out, match := l.q.Match(frame[f.LinkLen:]); match && !out.Tunnel {
				c.drops[DropFragment]++
				continue
			}
		}
		out, err := l.tx.Protect(frame, f.LinkLen, 0)
		switch {
		case err == nil:
			inc(&c.toNIC, f.IPLen)
		case err == fastpath.ErrNoSA:
			l.bridge(&l.toOutB, data, f, int(l.g.outMTU.Load()), c, true)
		case err == fastpath.ErrMTU:
			l.tooBig(frame, f, out)
		default:
			c.drops[dropReason(err)]++
		}
	}
	l.flushSide(c, &l.g.in)
}

// largeSend hands a TCP packet longer than the inside MTU for an SA (an aggregate: GSO from
// a host with segmentation offloads on, or GRO on the way) to the NIC as one LSO + IPsec
// large send (R-TX-6), which cuts it into segments and seals each: segments of what fits
// the inside MTU as a plain packet (what the sender would have sent without offloads) and
// the outside MTU once sealed, so that none needs an ICMP error. Its checksum need not be
// complete: the segmenter computes every segment's. A packet that cannot be cut (not TCP,
// IPv6 extension headers, headers that do not add up) is dropped and counted.
func (l *lane) largeSend(frame []byte, f Frame, out fastpath.Outcome, c *batchCounts) {
	ip := frame[f.LinkLen:]
	if f.Proto != inet.ProtoTCP || len(ip) < f.HdrLen+20 || fragment(ip, f) {
		c.drops[DropGSO]++
		return
	}
	hdrs := f.HdrLen + int(ip[f.HdrLen+12]>>4)*4 // IP and TCP headers, options included
	mss := int(l.g.inMTU.Load()) - hdrs
	if out.Fits > 0 {
		mss = min(mss, out.Fits-hdrs)
	}
	if l.gsoSize > 0 {
		mss = min(mss, l.gsoSize) // the sender's own segment size, if smaller
	}
	if mss < 1 {
		c.drops[DropGSO]++
		return
	}
	if _, err := l.tx.ProtectLarge(frame, f.LinkLen, mss, 0); err != nil {
		c.drops[dropReason(err)]++
		return
	}
	inc(&c.toNIC, f.IPLen)
	inc(&c.segmented, f.IPLen)
}

// splitUDP cuts a UDP aggregate for an SA (UDP_SEGMENT: datagrams of l.gsoSize bytes of
// payload each, the last maybe shorter) into its datagrams, as the kernel would have sent
// them without GSO, and hands each to the NIC. Datagrams too big once sealed get the
// aggregate an ICMP error with the size that fits (the sender lowers its datagram size),
// as one packet would.
func (l *lane) splitUDP(frame []byte, f Frame, out fastpath.Outcome, c *batchCounts) {
	ip := frame[f.LinkLen:]
	size, hdrs := l.gsoSize, f.LinkLen+f.HdrLen+8
	if len(ip) < f.HdrLen+8 || size < 1 || fragment(ip, f) || (f.Kind == KindIPv6 && f.HdrLen != 40) {
		c.drops[DropGSO]++
		return
	}
	if out.Fits > 0 && f.HdrLen+8+size > out.Fits {
		l.tooBig(frame, f, out)
		return
	}
	inc(&c.udpSplit, f.IPLen)
	for off := hdrs; off < len(frame); off += size {
		n := min(size, len(frame)-off)
		p := l.scratch[:hdrs+n]
		copy(p, frame[:hdrs])
		copy(p[hdrs:], frame[off:off+n])
		datagram(p[f.LinkLen:], f, (off-hdrs)/size)
		if _, err := l.tx.Protect(p, f.LinkLen, 0); err != nil {
			c.drops[dropReason(err)]++
			c.datagramErrs++
			continue
		}
		c.datagrams++
	}
}

// datagram fixes the lengths and checksums of datagram k cut from a UDP aggregate (the
// aggregate's IP and UDP headers in front of its share of the payload): IPv4 total length,
// identification (the aggregate's plus k, as the kernel's GSO numbers them) and header
// checksum, or IPv6 payload length; UDP length and checksum.
func datagram(ip []byte, f Frame, k int) {
	udp := ip[f.HdrLen:]
	if f.Kind == KindIPv4 {
		binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)))
		binary.BigEndian.PutUint16(ip[4:], binary.BigEndian.Uint16(ip[4:])+uint16(k))
		inet.IPv4(ip[:f.HdrLen]).SetChecksum()
	} else {
		binary.BigEndian.PutUint16(ip[4:], uint16(len(udp)))
	}
	binary.BigEndian.PutUint16(udp[4:], uint16(len(udp)))
	f.IPLen = len(ip)
	completeChecksum(ip, f)
}

// fragment reports whether ip is an IPv4 fragment (more fragments, or an offset): never an
// aggregate to cut, whatever its length says.
func fragment(ip []byte, f Frame) bool {
	return f.Kind == KindIPv4 && binary.BigEndian.Uint16(ip[6:])&0x3fff != 0
}

// fromOutside handles a batch of frames from the outside ring.
func (l *lane) fromOutside(frames []live.Frame) {
	c := &l.out
	for i := range frames {
		fr := &frames[i]
		inc(&c.received, fr.Len)
		data, ok := l.whole(fr, c)
		if !ok {
			continue
		}
		l.gso, l.gsoSize = fr.GSO, int(fr.GSOSize)
		f := ParseFrame(data)
		if f.Kind == KindOther {
			l.bridge(&l.toInB, data, f, int(l.g.inMTU.Load()), c, false)
			continue
		}
		if fr.Status&unix.TP_STATUS_CSUMNOTREADY != 0 {
			completeChecksum(data[f.LinkLen:], f)
		}
		err := l.q.Unprotect(data[:f.LinkLen+f.IPLen], f.LinkLen, 0)
		switch {
		case err == nil:
			inc(&c.toNIC, f.IPLen)
		case err == fastpath.ErrNoSA:
			l.bridge(&l.toInB, data, f, int(l.g.inMTU.Load()), c, true)
		default:
			c.drops[dropReason(err)]++
		}
	}
	l.flushSide(c, &l.g.out)
}

// whole returns the frame's bytes, with the VLAN tag the device took off put back (in the
// arena), or false (counted) when the ring could not hold all of it.
//
// It also makes sure that the arena has room for what the frame may need (its re-tagged
// copy, an ICMP error), sending what is pending first if not, so that nothing handling the
// frame has to empty the arena while the frame may still be in it.
func (l *lane) whole(fr *live.Frame, c *batchCounts) ([]byte, bool) {
	need := maxICMPFrame // an ICMP error about the frame
	if fr.Status&unix.TP_STATUS_VLAN_VALID != 0 {
		need += len(fr.Data) + vlanTagLen // its re-tagged copy
	}
	if len(l.arena)+need > cap(l.arena) {
		l.sendBatches()
		if need > cap(l.arena) {
			l.arena = make([]byte, 0, need) // a frame larger than the arena: rare
		}
	}
	if fr.Len > len(fr.Data) || len(fr.Data) < ethHdrLen {
		c.drops[DropTruncated]++
		return nil, false
	}
	if fr.Status&unix.TP_STATUS_VLAN_VALID == 0 || len(fr.Data) < ethHdrLen {
		return fr.Data, true
	}
	tpid := uint16(etherVLAN)
	if fr.Status&unix.TP_STATUS_VLAN_TPID_VALID != 0 && fr.VLANTPID != 0 {
		tpid = fr.VLANTPID
	}
	start := len(l.arena)
	l.arena = append(l.arena, fr.Data[:12]...)
	l.arena = binary.BigEndian.AppendUint16(l.arena, tpid)
	l.arena = binary.BigEndian.AppendUint16(l.arena, fr.VLANTCI)
	l.arena = append(l.arena, fr.Data[12:]...)
	return l.arena[start:len(l.arena):len(l.arena)], true
}

// bridge queues a frame to be sent out of the other interface as it is, unless it is
// longer than that interface takes: then a TCP aggregate goes out for the kernel to cut,
// and anything else is dropped and counted.
func (l *lane) bridge(batch *[][]byte, data []byte, f Frame, mtu int, c *batchCounts, ip bool) {
	link := max(f.LinkLen, ethHdrLen)
	if len(data)-link > mtu && (f.Kind == KindOther || f.IPLen > mtu) {
		if f.Kind != KindOther && (f.Proto == inet.ProtoTCP || f.Proto == inet.ProtoUDP && l.gso == live.GSOUDPL4) {
			l.bridgeAggregate(batch == &l.toOutB, data, f, c)
			return
		}
		c.drops[DropTooBig]++
		return
	}
	inc(&c.bridged, len(data))
	if ip {
		inc(&c.bridgedIP, len(data))
	}
	*batch = append(*batch, data)
	if len(*batch) == cap(*batch) {
		l.sendBatches()
	}
}

// bridgeAggregate passes on a TCP aggregate for no SA (a GSO or GRO frame longer than the
// MTU, from a host with segmentation offloads on) as it is, for the kernel to cut into
// segments that fit both interfaces' MTUs on the way out (live.AggregateSender). What was
// queued to go out before it goes first, so a flow keeps its order.
func (l *lane) bridgeAggregate(toOutside bool, data []byte, f Frame, c *batchCounts) {
	ip := data[f.LinkLen:]
	if len(ip) < f.HdrLen+20 || fragment(ip, f) || (f.Kind == KindIPv6 && f.HdrLen != 40) {
		c.drops[DropTooBig]++
		return
	}
	mtu := int(min(l.g.inMTU.Load(), l.g.outMTU.Load()))
	udp := f.Proto == inet.ProtoUDP
	var size int
	if udp {
		// Datagrams keep their size: GSO's, if each fits.
		if size = l.gsoSize; size < 1 || f.HdrLen+8+size > mtu {
			c.drops[DropTooBig]++
			return
		}
	} else {
		size = mtu - f.HdrLen - int(ip[f.HdrLen+12]>>4)*4
		if l.gsoSize > 0 {
			size = min(size, l.gsoSize)
		}
		if size < 1 {
			c.drops[DropTooBig]++
			return
		}
	}
	inc(&c.bridged, len(data))
	inc(&c.bridgedIP, len(data))
	inc(&c.aggregates, len(data))
	l.sendBatches()
	agg, refused := l.aggIn, &l.g.out.sentErr
	if toOutside {
		agg, refused = l.aggOut, &l.g.in.sentErr
	}
	send := agg.SendTCP
	if udp {
		send = agg.SendUDP
	}
	if err := send(data[:f.LinkLen+f.IPLen], f.LinkLen, f.HdrLen, size); err != nil {
		var lost *live.LinkLostError
		if !errors.As(err, &lost) {
			refused.Add(1)
		}
	}
}

// tooBig answers a packet that would not fit the outside MTU once sealed: for a tunnel
// SA, an IPv4 packet without DF is fragmented and each fragment sealed on its own (the
// destination reassembles them); otherwise the sender gets an ICMP error with the MTU that
// fits, and sends smaller packets (a transport SA cannot carry fragments: see DropFragment).
func (l *lane) tooBig(frame []byte, f Frame, out fastpath.Outcome) {
	c := &l.in
	ip := frame[f.LinkLen:]
	if out.Tunnel && f.Kind == KindIPv4 && binary.BigEndian.Uint16(ip[6:])&0x4000 == 0 {
		if !fragmentable4(ip, f) {
			c.drops[DropMalformed]++ // offset and length past 65,535 bytes: no fragment can say where it goes
			return
		}
		inc(&c.fragmented, f.IPLen)
		for k := 0; ; k++ {
			n := fragment4(l.scratch, frame, f, out.Fits, k)
			if n == 0 {
				break
			}
			if _, err := l.tx.Protect(l.scratch[:n], f.LinkLen, 0); err != nil {
				c.drops[dropReason(err)]++
				c.fragErrs++
				continue
			}
			c.fragments++
		}
		return
	}
	mtu := out.Fits
	if f.Kind == KindIPv6 && mtu < minMTU6 {
		c.drops[DropBelowMinMTU]++
		return
	}
	start := len(l.arena) // whole made room
	buf := l.arena[start : start+maxICMPFrame]
	n := tooBigError(buf, frame, f, mtu)
	if n == 0 {
		c.drops[DropNoICMP]++
		return
	}
	l.arena = l.arena[:start+n]
	inc(&c.icmp, f.IPLen)
	l.toInB = append(l.toInB, l.arena[start:start+n:start+n])
	if len(l.toInB) == cap(l.toInB) {
		l.sendBatches()
	}
}

// flushSide sends what the batch gathered, hands the fast path its partial bursts, and
// adds the batch's counts to the side's.
func (l *lane) flushSide(c *batchCounts, s *sideStats) {
	l.sendBatches()
	l.q.Flush()
	c.flush(s)
}

// sendBatches sends the bridged frames and the ICMP errors gathered so far.
func (l *lane) sendBatches() {
	l.tx.Release()
	sendAll(l.toOut, l.toOutB, &l.g.in.sentErr)
	sendAll(l.toIn, l.toInB, &l.g.out.sentErr)
	clear(l.toOutB)
	clear(l.toInB)
	l.toOutB, l.toInB, l.arena = l.toOutB[:0], l.toInB[:0], l.arena[:0]
}

// dropReason maps an error of the fast path's entry points to a drop reason.
func dropReason(err error) Reason {
	switch {
	case errors.Is(err, fastpath.ErrPolicy):
		return DropPolicy
	case errors.Is(err, fastpath.ErrWrongQueue):
		return DropWrongLane
	case errors.Is(err, fastpath.ErrClosed):
		return DropStopping
	case errors.Is(err, host.ErrSeqExhausted):
		return DropSeqExhausted
	case errors.Is(err, host.ErrOffloadDisabled):
		return DropOffloadOff
	case errors.Is(err, host.ErrTooBig), errors.Is(err, packet.ErrTooBig):
		return DropNoBuffer
	case errors.Is(err, host.ErrUnsupported):
		return DropUnsupported
	}
	return DropMalformed
}
