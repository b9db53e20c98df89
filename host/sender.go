package host

import (
	"errors"
	"fmt"
	"github.com/ov2dev/ov2/internal/inet"
	"net/netip"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/ov2dev/ov2/ndis"
	"github.com/ov2dev/ov2/nic"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/sa"
	"github.com/ov2dev/ov2/stage"
)

// Errors of the send side. Each is wrapped with the details.
var (
	ErrNotIP           = errors.New("host: not an IPv4 or IPv6 packet")
	ErrUnsupported     = errors.New("host: packet shape not supported by the host model")
	ErrSeqExhausted    = errors.New("host: SA sequence space exhausted (rekey needed)")
	ErrOffloadDisabled = errors.New("host: ESP offload is disabled for this IP version")
	ErrTooBig          = errors.New("host: packet too big for a buffer")
)

// Sender is the host's send half bound to one NIC send path.
type Sender struct {
	nic   *nic.NIC
	path  *stage.SendPath
	small *packet.Pool
	large *packet.Pool
	sas   []*outSA
	byH   map[sa.Handle]*outSA
	batch []*packet.Buffer
	burst int
	ipID  uint16
	// stash holds buffers of small taken from it a burst at a time (packet.Pool.GetBurst):
	// getSmall hands them out without the pool's lock and counters per packet. Close gives
	// back what is left.
	stash []*packet.Buffer

	drainer func() // SetDrainer's

	inflight  atomic.Int64  // packets submitted whose completion has not come back
	submitted atomic.Uint64 // packets handed to the NIC (a large send counts once)
	updates   atomic.Uint64
	clear     atomic.Uint64
}

type outSA struct {
	cfg    SAConfig
	handle sa.Handle
	next   uint64 // next sequence number to use
	nicHi  uint32 // the high half the NIC holds for this SA
	ah     *outAH // an ESP+AH bundle's AH part (sendsuites.go); nil otherwise
}

// NewSender makes a sender that submits to path, which must belong to n.
func NewSender(n *nic.NIC, path *stage.SendPath) *Sender {
	return &Sender{
		nic:   n,
		path:  path,
		small: packet.NewPool(packet.SmallSize),
		large: packet.NewPool(packet.LargeSize),
		burst: 32,
		byH:   map[sa.Handle]*outSA{},
	}
}

// AddSA offloads an outbound SA to the NIC (ADD_SA) and puts it in the policy after the
// ones added before: the first SA whose selector matches a packet carries it.
func (s *Sender) AddSA(cfg SAConfig) (sa.Handle, error) {
	if err := cfg.normalize(); err != nil {
		return 0, err
	}
	req := &nic.AddSA{Bundle: bundleOf(&cfg, false)}
	if st, err := s.nic.OIDAddSA(req); st != ndis.StatusSuccess {
		return 0, fmt.Errorf("host: ADD_SA for SPI 0x%08x: %v: %w", cfg.SPI, st, err)
	}
	o := &outSA{cfg: cfg, handle: req.OffloadHandle, next: cfg.StartSeq, nicHi: uint32(cfg.StartSeq >> 32)}
	o.initParts()
	s.sas = append(s.sas, o)
	s.byH[o.handle] = o
	return req.OffloadHandle, nil
}

// policy returns the SA for a packet, or nil to send it in clear.
func (s *Sender) policy(src, dst netip.Addr) *outSA {
	for _, o := range s.sas {
		if o.cfg.Matches(src, dst) {
			return o
		}
	}
	return nil
}

// Send frames one plain IP packet for its SA (or none) and queues it for the NIC. Queued
// packets go to the NIC in bursts; Flush sends a partial burst. The packet bytes are
// copied: ip may be reused when Send returns.
func (s *Sender) Send(ip []byte) error { return s.send(ip, nil, 0, 0) }

// SendCookie is Send with the host's own per-packet value, which the packet carries
// through the NIC in Buffer.Cookie (the NIC never reads it), for a completion goroutine
// that needs to know more about the packet than its bytes.
func (s *Sender) SendCookie(ip []byte, cookie uint64) error { return s.send(ip, nil, 0, cookie) }

// SendLarge frames a TCP packet whose payload is larger than mss as one large send with
// LSO + IPsec (R-TX-6): no trailer, no ICV room, MSS in the OOB, and one sequence number
// reserved per segment (R-TX-7).
func (s *Sender) SendLarge(ip []byte, mss int) error {
	if mss < 1 || mss > packet.MaxMSS {
		return fmt.Errorf("%w: MSS %d", ErrUnsupported, mss)
	}
	return s.send(ip, nil, mss, 0)
}

// SendLargeCookie is SendLarge with the host's own per-packet value (see SendCookie); the
// NIC copies it to every segment.
func (s *Sender) SendLargeCookie(ip []byte, mss int, cookie uint64) error {
	if mss < 1 || mss > packet.MaxMSS {
		return fmt.Errorf("%w: MSS %d", ErrUnsupported, mss)
	}
	return s.send(ip, nil, mss, cookie)
}

// ErrNoSA is wrapped by SendVia's error for a handle that is not one of the sender's SAs.
var ErrNoSA = errors.New("host: no such outbound SA")

// SendVia frames ip for the outbound SA h, chosen by the caller's own policy (0: in clear),
// instead of the sender's (the order of AddSA). mss > 0 makes it a large send (see
// SendLarge). link, if not empty, is kept in the buffer's headroom in front of the packet
// (see StashLink), so that whoever takes the completion gets it back with UnstashLink; each
// segment of a large send carries it as well. Otherwise it is SendCookie.
func (s *Sender) SendVia(h sa.Handle, ip, link []byte, mss int, cookie uint64) error {
	if mss < 0 || mss > packet.MaxMSS {
		return fmt.Errorf("%w: MSS %d", ErrUnsupported, mss)
	}
	var o *outSA
	if h != 0 {
		if o = s.byH[h]; o == nil {
			return fmt.Errorf("%w: handle %v", ErrNoSA, h)
		}
	}
	in, err := parseInner(ip)
	if err != nil {
		return err
	}
	return s.sendOn(o, &in, ip, link, mss, cookie)
}

func (s *Sender) send(ip, link []byte, mss int, cookie uint64) error {
	in, err := parseInner(ip)
	if err != nil {
		return err
	}
	return s.sendOn(s.policy(in.src, in.dst), &in, ip, link, mss, cookie)
}

// sendOn frames and queues a parsed packet for o (nil: in clear).
func (s *Sender) sendOn(o *outSA, inp *inner, ip, link []byte, mss int, cookie uint64) error {
	in := *inp
	if o == nil {
		return s.queueClear(ip, link, cookie)
	}
	if err := s.allowed(o); err != nil {
		return err
	}
	units := uint64(1) // sequence numbers this packet uses
	if mss > 0 {
		if in.proto != inet.ProtoTCP {
			return fmt.Errorf("%w: a large send must be TCP, protocol is %d", ErrUnsupported, in.proto)
		}
		units = uint64((in.tcpPayload + mss - 1) / mss)
		if units == 0 {
			return fmt.Errorf("%w: a large send with no TCP payload", ErrUnsupported)
		}
	}
	seq, ahSeq, err := s.reserve(o, units)
	if err != nil {
		return err
	}
	var b *packet.Buffer
	if mss > 0 {
		b = s.large.Get()
	} else {
		b = s.getSmall()
	}
	if err := s.frame(b, ip, &in, o, seq, ahSeq, mss); err != nil {
		b.Release()
		return err
	}
	s.commit(o, units)
	b.Cookie = cookie
	if link != nil {
		StashLink(b, link)
	}
	s.queue(b)
	return nil
}

// stashSize is how many buffers getSmall takes from the pool at a time.
const stashSize = 16

// getSmall returns a buffer of the small pool, from the stash.
func (s *Sender) getSmall() *packet.Buffer {
	if len(s.stash) == 0 {
		if s.stash == nil {
			s.stash = make([]*packet.Buffer, 0, stashSize)
		}
		s.stash = s.stash[:stashSize]
		s.small.GetBurst(s.stash)
	}
	n := len(s.stash) - 1
	b := s.stash[n]
	s.stash[n] = nil
	s.stash = s.stash[:n]
	return b
}

func (s *Sender) queueClear(ip, link []byte, cookie uint64) error {
	b := s.getSmall()
	if err := b.SetData(ip); err != nil {
		b.Release()
		return fmt.Errorf("%w: %d bytes", ErrTooBig, len(ip))
	}
	b.Cookie = cookie
	if link != nil {
		StashLink(b, link)
	}
	s.clear.Add(1)
	s.queue(b)
	return nil
}

func (s *Sender) queue(b *packet.Buffer) {
	s.batch = append(s.batch, b)
	if len(s.batch) >= s.burst {
		s.Flush()
	}
}

// Flush hands the queued packets to the NIC.
func (s *Sender) Flush() {
	if len(s.batch) > 0 {
		// One atomic add per burst: the completion goroutines subtract from the same
		// counter, and a per-packet add would bounce its cache line between cores.
		s.inflight.Add(int64(len(s.batch)))
		s.submitted.Add(uint64(len(s.batch)))
		s.path.Submit(s.batch)
		clear(s.batch)
		s.batch = s.batch[:0]
	}
}

// SetDrainer makes the sender's drains (before an UPDATE_SA, when an SA's sequence numbers
// move into a new high half) call f while they wait for the NIC, instead of yielding: for a
// send path whose lanes run only when their owner turns them (stage Config.Inline), f runs
// them and takes the completions (CompletedBurst), which the drain would otherwise wait
// for in vain. Set it before the first packet.
func (s *Sender) SetDrainer(f func()) { s.drainer = f }

// drain hands the queued packets to the NIC and waits until every packet submitted has
// completed.
func (s *Sender) drain() {
	s.Flush()
	for spin := 0; s.inflight.Load() != 0; spin++ { // pairs with the Add in Done
		switch {
		case s.drainer != nil:
			s.drainer()
		case spin < 100:
			runtime.Gosched()
		default:
			time.Sleep(10 * time.Microsecond)
		}
	}
}

// updateHigh moves the NIC's ESN high half for an SA to hi: drain, then UPDATE_SA.
func (s *Sender) updateHigh(o *outSA, hi uint32) error {
	s.drain()
	u := &sa.Update{OffloadHandle: o.handle, Operation: o.cfg.op(), Spi: o.cfg.SPI, SequenceNumberHighOrder: hi}
	if st, err := s.nic.OIDUpdateSA(u); st != ndis.StatusSuccess {
		return fmt.Errorf("host: UPDATE_SA for SPI 0x%08x: %v: %w", o.cfg.SPI, st, err)
	}
	o.nicHi = hi
	s.updates.Add(1)
	return nil
}

// Done gives a completed packet back and releases it. A packet completes its send when it
// is not a segment, or is the last segment of a large send (the NIC completes a large send
// once, with its last segment, whatever became of the others). The completion goroutine
// calls it for every packet Completions returned.
func (s *Sender) Done(p *packet.Buffer) {
	s.Completed(p)
	p.Release()
}

// Completed accounts for a completed packet without releasing it, for a caller that passes
// the buffer on (to a wire, or to a receive path) and releases it later.
func (s *Sender) Completed(p *packet.Buffer) {
	if p.Tx.LSOSegment == p.Tx.LSOCount {
		s.inflight.Add(-1) // pairs with the Load in updateHigh
	}
}

// CompletedBurst is Completed for a burst of completions, with one atomic operation.
func (s *Sender) CompletedBurst(ps []*packet.Buffer) {
	n := int64(0)
	for _, p := range ps {
		if p.Tx.LSOSegment == p.Tx.LSOCount {
			n++
		}
	}
	if n != 0 {
		s.inflight.Add(-n) // pairs with the Load in updateHigh
	}
}

// Close flushes and closes the send path; the completion goroutine then drains it.
func (s *Sender) Close() {
	s.Flush()
	s.path.Close()
	packet.ReleaseBurst(s.stash)
	clear(s.stash)
	s.stash = s.stash[:0]
}

// DeleteSA takes the outbound SA h out of the sender (no packet is framed for it
// afterwards) and deletes it from the NIC (DELETE_SA): packets of it still inside the NIC
// then fail with the reason unknown-handle, counted. A caller that wants none to fail
// waits first until Progress shows that what it submitted before has completed.
func (s *Sender) DeleteSA(h sa.Handle) error {
	o := s.byH[h]
	if o == nil {
		return fmt.Errorf("%w: handle %v", ErrNoSA, h)
	}
	delete(s.byH, h)
	for i, x := range s.sas {
		if x == o {
			s.sas = append(s.sas[:i], s.sas[i+1:]...)
			break
		}
	}
	if st, err := s.nic.OIDDeleteSA(&nic.DeleteSA{OffloadHandle: h}); st != ndis.StatusSuccess {
		return fmt.Errorf("host: DELETE_SA for SPI 0x%08x: %v: %w", o.cfg.SPI, st, err)
	}
	return nil
}

// Progress returns how many packets the sender has handed to the NIC (Flush; a large send
// counts once) and how many of them have completed (Done, Completed, CompletedBurst). It
// may be called from any goroutine.
func (s *Sender) Progress() (submitted, completed uint64) {
	sub := s.submitted.Load()
	in := s.inflight.Load()
	return sub, sub - uint64(max(in, 0))
}

// Reserve makes the sender's pool of packet buffers (those of Send, not of SendLarge) hold
// n free buffers now, so that a run with no more than n packets in flight allocates none
// from its start (packet.Pool.Reserve).
func (s *Sender) Reserve(n int) { s.small.Reserve(n) }

// Updates is how many UPDATE_SA requests the sender issued.
func (s *Sender) Updates() uint64 { return s.updates.Load() }

// Clear is how many packets matched no SA and went out in clear.
func (s *Sender) Clear() uint64 { return s.clear.Load() }

// NextSeq is the next sequence number of the SA with this SPI (0 if none).
func (s *Sender) NextSeq(spi uint32) uint64 {
	for _, o := range s.sas {
		if o.cfg.SPI == spi {
			return o.next
		}
	}
	return 0
}
