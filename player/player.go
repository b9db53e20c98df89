package player

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ov2dev/ov2/host"
	"github.com/ov2dev/ov2/internal/hdr"
	"github.com/ov2dev/ov2/internal/rxparse"
	"github.com/ov2dev/ov2/nic"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/pcapio"
	"github.com/ov2dev/ov2/sa"
	"github.com/ov2dev/ov2/stage"
	"github.com/ov2dev/ov2/xfrm"
)

// Reader is a capture being read: pcapio.Reader, or anything that yields records the same
// way (Data valid until the next call).
type Reader interface {
	Next() (pcapio.Record, error)
	Close() error
}

// Input opens the capture, once per loop.
type Input struct {
	Name string
	Open func() (Reader, error)
}

// FileInput is the Input for a capture file.
func FileInput(path string) Input {
	return Input{Name: path, Open: func() (Reader, error) { return pcapio.Open(path) }}
}

// BytesInput is the Input for a capture held in memory.
func BytesInput(name string, capture []byte) Input {
	return Input{Name: name, Open: func() (Reader, error) { return pcapio.NewReader(name, bytes.NewReader(capture)) }}
}

// Config is what a run needs besides its input.
type Config struct {
	SAs       []xfrm.State
	NIC       nic.Config
	Lanes     int             // lanes per path (0: 1)
	Placement stage.Placement // stage placement of each lane
	Pace      Pacing
	Loops     int // passes over the input (0: 1)
	// RoundTrip sends what the send path seals back into the receive path and checks that
	// the host delivers each packet as it was read; Output then gets the sealed packets.
	// The input is held in memory for the comparison.
	RoundTrip bool
	Output    Output // nil: Discard
	// MSS is the TCP payload per segment of a large send: a plain TCP packet too big for a
	// packet buffer (a capture taken with GSO/TSO on the sending host) goes to the NIC as
	// one LSO + IPsec large send, cut into segments of MSS bytes of payload. 0: 1400.
	MSS int
	// OneLink says the output takes frames of one link type (a pcap file, an Ethernet
	// interface): a record whose link type differs from the first record's stops the run
	// with an error, rather than being written under the wrong link type.
	OneLink bool
	// Progress, when set, gets a one-line display rewritten in place (a terminal).
	Progress      io.Writer
	ProgressEvery time.Duration // 0: 250 ms
}

// Counter is packets and bytes.
type Counter struct {
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

func (c *Counter) add(n int) { c.Packets++; c.Bytes += uint64(n) }

// maxLinks bounds the distinct link-layer headers a run keeps (see links); they are kept
// in chunks allocated as needed.
const (
	maxLinks  = 1 << 16
	linkChunk = 256
)

// linkHdr is an interned link-layer header.
type linkHdr struct {
	lt  pcapio.LinkType
	hdr []byte
}

// inKey is the receive-side lookup key of an inbound SA: SPI and destination.
type inKey struct {
	spi uint32
	dst netip.Addr
}

// run is one replay.
type run struct {
	cfg  Config
	in   Input
	n    *nic.NIC
	send *stage.SendPath
	recv *stage.RecvPath
	snd  *host.Sender
	rcv  *host.Receiver
	out  Output

	inbound  map[inKey]bool
	handles  []sa.Handle
	outCount int
	inCount  int

	// links interns link headers; the producer appends within the capacity (never
	// reallocating), the completion goroutines read entries whose id came to them in a
	// packet's Cookie, after the ring that carried it.
	links   [maxLinks / linkChunk]*[linkChunk]linkHdr
	nLinks  uint32
	linkIDs map[pcapio.LinkType]map[string]uint32

	originals [][]byte // RoundTrip: the IP packet of each record position

	sinks   []*sink    // one per send lane; sinks[0] also takes pass-through and decrypted packets
	recvMu  sync.Mutex // serializes recv.Submit (producer, and in RoundTrip the send completions)
	failMu  sync.Mutex
	failErr error
	cancel  context.CancelFunc

	// Live counters for the progress display.
	readPkts, outPkts, outBytes atomic.Uint64

	rep *Report
	// Per-goroutine parts of the report, merged at the end.
	prod prodCounts
	sc   []compCounts // per send lane
	rc   compCounts
}

// sink is an output and the lock that serializes it.
type sink struct {
	out Output
	mu  *sync.Mutex
}

type prodCounts struct {
	read, encIn, clearIn, decIn, pass Counter
	large                             uint64 // of encIn and clearIn, packets sent as large sends
	passReasons                       map[string]uint64
	drops                             map[string]uint64
}

type compCounts struct {
	out, clear Counter
	sendFail   [packet.NumReasons]uint64 // send lanes: packets the NIC failed, by reason
	lat        *hdr.Histogram
	verdicts   [host.NumVerdicts]uint64
	checked    uint64
	equal      uint64
	differ     uint64
	segments   uint64  // send lanes: large-send segments completed; receive: delivered (not compared)
	wire       Counter // RoundTrip: sealed packets handed to the receive path
}

func (r *run) fail(err error) {
	r.failMu.Lock()
	if r.failErr == nil {
		r.failErr = err
	}
	r.failMu.Unlock()
	r.cancel()
}

// Run replays the input through a NIC made from cfg.NIC: it offloads the SAs, sends each
// packet the way its type asks (see the package documentation), and returns the report.
// An error means the run could not complete (input unreadable, an SA refused, an output
// failure); the report is then nil.
func Run(ctx context.Context, in Input, cfg Config) (*Report, error) {
	if err := cfg.Pace.Check(); err != nil {
		return nil, err
	}
	cfg.Lanes = max(cfg.Lanes, 1)
	if cfg.MSS == 0 {
		cfg.MSS = 1400
	}
	cfg.Loops = max(cfg.Loops, 1)
	if cfg.ProgressEvery <= 0 {
		cfg.ProgressEvery = 250 * time.Millisecond
	}
	r := &run{cfg: cfg, in: in, out: cfg.Output, inbound: map[inKey]bool{},
		linkIDs: map[pcapio.LinkType]map[string]uint32{}}
	if r.out == nil {
		r.out = Discard{}
	}
	r.prod.passReasons, r.prod.drops = map[string]uint64{}, map[string]uint64{}
	r.rc = compCounts{lat: hdr.New()}
	ctx, r.cancel = context.WithCancel(ctx)
	defer r.cancel()

	if cfg.RoundTrip {
		if err := r.loadOriginals(); err != nil {
			return nil, err
		}
	}
	if err := r.setup(); err != nil {
		return nil, err
	}
	defer r.n.Close()
	lanes := r.send.Lanes()
	r.sc = make([]compCounts, lanes)
	for i := range r.sc {
		r.sc[i] = compCounts{lat: hdr.New()}
	}
	outs := []Output{r.out}
	if sp, ok := r.out.(LaneSplitter); ok && lanes > 1 {
		var err error
		if outs, err = sp.Split(lanes); err != nil {
			return nil, err
		}
	}
	shared := new(sync.Mutex)
	for i := 0; i < lanes; i++ {
		if len(outs) == lanes {
			r.sinks = append(r.sinks, &sink{out: outs[i], mu: new(sync.Mutex)})
		} else {
			r.sinks = append(r.sinks, &sink{out: r.out, mu: shared})
		}
	}
	return r.play(ctx)
}

// setup makes the NIC, its two paths and the host, and offloads the SAs.
func (r *run) setup() error {
	n, err := nic.New(r.cfg.NIC)
	if err != nil {
		return err
	}
	r.n = n
	if _, _, err := n.Bind(nullProtocol{}); err != nil {
		n.Close()
		return err
	}
	hw := n.QueryHardwareCapabilities()
	env := stage.Env{SAs: n.Controller(),
		ESPAllowed: func(v6 bool) bool { return n.CurrentConfig().ESPAllowed(v6) },
		RxCaps: func() stage.RxCaps {
			return stage.RxCaps{IPv4Options: hw.IPv4Options, IPv6NonIPsecExtensionHeaders: hw.IPv6NonIPsecExtensionHeaders, UDPEsp: hw.UdpEsp}
		}}
	sc := stage.Config{Lanes: r.cfg.Lanes, Placement: r.cfg.Placement}
	if r.send, err = stage.NewSendPath(env, sc); err != nil {
		n.Close()
		return err
	}
	if r.recv, err = stage.NewRecvPath(env, sc); err != nil {
		n.Close()
		return err
	}
	r.snd = host.NewSender(n, r.send)
	if r.rcv, err = host.NewReceiver(n, 0); err != nil {
		n.Close()
		return err
	}
	for i := range r.cfg.SAs {
		s := &r.cfg.SAs[i]
		var out sa.Handle
		if s.Dir != xfrm.In {
			if out, err = r.snd.AddSA(s.Outbound()); err != nil {
				n.Close()
				return fmt.Errorf("%s:%d: SA 0x%08x (outbound): %w", s.File, s.Line, s.SPI, err)
			}
			r.handles = append(r.handles, out)
			r.outCount++
		}
		if s.Dir != xfrm.Out {
			h, err := r.rcv.AddSA(s.Inbound(), out)
			if err != nil {
				n.Close()
				return fmt.Errorf("%s:%d: SA 0x%08x (inbound): %w", s.File, s.Line, s.SPI, err)
			}
			r.handles = append(r.handles, h)
			r.inbound[inKey{s.SPI, s.Dst}] = true
			r.inCount++
		}
	}
	return nil
}

type nullProtocol struct{}

func (nullProtocol) Status(nic.StatusIndication) {}

// loadOriginals reads the input once and keeps each record's IP packet for the round-trip
// comparison.
func (r *run) loadOriginals() error {
	rd, err := r.in.Open()
	if err != nil {
		return err
	}
	defer rd.Close()
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		_, ip, err := pcapio.Network(rec.Link, rec.Data)
		if err != nil && !errors.Is(err, pcapio.ErrNotIP) && !errors.Is(err, pcapio.ErrShort) {
			return fmt.Errorf("%s: packet %d: %w", r.in.Name, rec.Index, err)
		}
		r.originals = append(r.originals, bytes.Clone(ip))
	}
}

// intern returns the id of a link header, adding it if new.
func (r *run) intern(lt pcapio.LinkType, link []byte) (uint32, error) {
	m := r.linkIDs[lt]
	if m == nil {
		m = map[string]uint32{}
		r.linkIDs[lt] = m
	}
	if id, ok := m[string(link)]; ok {
		return id, nil
	}
	id := r.nLinks
	if id == maxLinks {
		return 0, fmt.Errorf("more than %d distinct link-layer headers in the capture", maxLinks)
	}
	c := &r.links[id/linkChunk]
	if *c == nil {
		*c = new([linkChunk]linkHdr)
	}
	(*c)[id%linkChunk] = linkHdr{lt: lt, hdr: bytes.Clone(link)}
	r.nLinks++
	m[string(link)] = id
	return id, nil
}

// link returns an interned header. The completion goroutines call it for ids that reached
// them in a packet, through the rings, after intern wrote the entry.
func (r *run) link(id uint32) *linkHdr { return &r.links[id/linkChunk][id%linkChunk] }

// A cookie carries the record's position in the capture (for the round-trip check) and
// its link header's id through the NIC.
// The top bit marks a large send's segments.
const (
	linkBits   = 16
	cookieLSO  = 1 << 63
	cookiePosM = 1<<(63-linkBits) - 1
)

func cookieOf(pos uint64, link uint32) uint64 { return (pos&cookiePosM)<<linkBits | uint64(link) }
func cookiePos(c uint64) uint64               { return c >> linkBits & cookiePosM }
func cookieLink(c uint64) uint32              { return uint32(c & (1<<linkBits - 1)) }

// play runs the goroutines: this one reads, paces and submits; one takes the send path's
// completions; one takes the receive path's.
func (r *run) play(ctx context.Context) (*Report, error) {
	var sendWG, recvWG sync.WaitGroup
	for i := range r.sc {
		sendWG.Add(1)
		go func() { defer sendWG.Done(); r.sendCompletions(i) }()
	}
	recvWG.Add(1)
	go func() { defer recvWG.Done(); r.recvCompletions() }()
	stopProgress := r.startProgress()

	start := time.Now()
	err := r.produce(ctx)
	r.snd.Close()
	sendWG.Wait() // in RoundTrip, the send completions are the receive path's other submitters
	r.recvMu.Lock()
	r.recv.Close()
	r.recvMu.Unlock()
	recvWG.Wait()
	elapsed := time.Since(start)
	r.send.Wait()
	r.recv.Wait()
	stopProgress()

	if err == nil {
		r.failMu.Lock()
		err = r.failErr
		r.failMu.Unlock()
	}
	if err != nil {
		return nil, err
	}
	rep := r.report(elapsed) // before DELETE_SA: it names the SAs' crypto implementations
	var del *nic.DeleteSA
	for _, h := range r.handles {
		del = &nic.DeleteSA{OffloadHandle: h, Next: del}
	}
	if del != nil {
		if _, err := r.n.OIDDeleteSA(del); err != nil {
			return nil, fmt.Errorf("DELETE_SA: %w", err)
		}
	}
	return rep, nil
}

// produce reads the input Loops times and hands every packet to its path.
func (r *run) produce(ctx context.Context) error {
	pc := &pacer{p: r.cfg.Pace}
	small, large := packet.NewPool(packet.SmallSize), packet.NewPool(packet.LargeSize)
	batch := make([]*packet.Buffer, 0, 32)
	submitRecv := func() {
		if len(batch) > 0 {
			r.recvMu.Lock()
			r.recv.Submit(batch)
			r.recvMu.Unlock()
			clear(batch)
			batch = batch[:0]
		}
	}
	defer submitRecv()
	pass := make([]Frame, 0, 1)
	var firstLink pcapio.LinkType
	haveLink := false
	for loop := 0; loop < r.cfg.Loops; loop++ {
		rd, err := r.in.Open()
		if err != nil {
			return err
		}
		first := true
		for {
			rec, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				rd.Close()
				return err
			}
			if rec.Index&1023 == 0 && ctx.Err() != nil {
				rd.Close()
				return ctx.Err()
			}
			if r.cfg.OneLink {
				if !haveLink {
					firstLink, haveLink = rec.Link, true
				} else if rec.Link != firstLink {
					rd.Close()
					return fmt.Errorf("%s: packet %d: link type %v differs from the first packet's %v, and the output takes one link type",
						r.in.Name, rec.Index, rec.Link, firstLink)
				}
			}
			r.prod.read.add(len(rec.Data))
			r.readPkts.Add(1)
			if r.cfg.Pace.Mode != TopSpeed {
				ts := rec.Time.UnixNano()
				if first {
					pc.nextLoop(ts)
				}
				if at := pc.due(ts, len(rec.Data)); at > packet.Now() {
					// Nothing waits in a host batch while the pacer sleeps.
					r.snd.Flush()
					submitRecv()
					waitUntil(at)
				}
			}
			first = false

			link, ip, err := pcapio.Network(rec.Link, rec.Data)
			if err != nil {
				if errors.Is(err, pcapio.ErrLinkType) {
					rd.Close()
					return fmt.Errorf("%s: packet %d: %w", r.in.Name, rec.Index, err)
				}
				reason := "not IP"
				if errors.Is(err, pcapio.ErrShort) {
					reason = "too short for its link or IP header"
				}
				r.passThrough(&pass, rec.Data, reason)
				continue
			}
			id, err := r.intern(rec.Link, link)
			if err != nil {
				rd.Close()
				return fmt.Errorf("%s: packet %d: %w", r.in.Name, rec.Index, err)
			}
			cookie := cookieOf(rec.Index-1, id)

			l := rxparse.Parse(ip)
			if (l.Kind == rxparse.KindESP || l.Kind == rxparse.KindUDPESP) && l.DstLen > 0 {
				dst, _ := netip.AddrFromSlice(ip[l.DstOff : l.DstOff+l.DstLen])
				if !r.inbound[inKey{l.SPI, dst}] {
					r.passThrough(&pass, rec.Data, "ESP for no inbound SA")
					continue
				}
				pool := small
				if len(ip) > packet.SmallSize {
					pool = large
				}
				b := pool.Get()
				if err := b.SetData(ip); err != nil {
					b.Release()
					r.prod.drops["too big for a buffer"]++
					continue
				}
				b.Cookie = cookie
				r.prod.decIn.add(len(ip))
				batch = append(batch, b)
				if len(batch) == cap(batch) {
					submitRecv()
				}
				continue
			}
			clearBefore := r.snd.Clear()
			err = r.snd.SendCookie(ip, cookie)
			large := false
			if errors.Is(err, host.ErrTooBig) && isTCP(ip) && len(ip) <= packet.LargeSize {
				// A GSO/TSO-sized TCP packet: one LSO + IPsec large send.
				large = true
				err = r.snd.SendLargeCookie(ip, r.cfg.MSS, cookie|cookieLSO)
			}
			switch {
			case err == nil:
				if large {
					r.prod.large++
				}
				if r.snd.Clear() != clearBefore {
					r.prod.clearIn.add(len(ip))
				} else {
					r.prod.encIn.add(len(ip))
				}
			case errors.Is(err, host.ErrNotIP):
				r.passThrough(&pass, rec.Data, "malformed IP header")
			case errors.Is(err, host.ErrTooBig) && large:
				// Only a packet for no SA gets here from a large send: it is clear traffic.
				r.passThrough(&pass, rec.Data, "too big for a packet buffer, for no SA")
			case errors.Is(err, host.ErrTooBig):
				r.prod.drops["too big for a packet buffer (not TCP: no large send)"]++
			case errors.Is(err, host.ErrSeqExhausted):
				r.prod.drops["sequence numbers exhausted (rekey needed)"]++
			case errors.Is(err, host.ErrOffloadDisabled):
				r.prod.drops["ESP offload disabled for the IP version"]++
			case errors.Is(err, host.ErrUnsupported):
				r.prod.drops["packet shape not supported by the host"]++
			default:
				rd.Close()
				return fmt.Errorf("%s: packet %d: %w", r.in.Name, rec.Index, err)
			}
		}
		rd.Close()
	}
	return nil
}

// isTCP says whether an IP packet's protocol is TCP (no IPv6 extension headers).
func isTCP(ip []byte) bool {
	switch {
	case len(ip) >= 20 && ip[0]>>4 == 4:
		return ip[9] == 6
	case len(ip) >= 40 && ip[0]>>4 == 6:
		return ip[6] == 6
	}
	return false
}

// passThrough sends a frame to the output unchanged.
func (r *run) passThrough(pass *[]Frame, data []byte, reason string) {
	r.prod.pass.add(len(data))
	r.prod.passReasons[reason]++
	*pass = append((*pass)[:0], Frame{Time: time.Now(), Data: data})
	r.write(r.sinks[0], *pass)
}

// write hands frames to an output.
func (r *run) write(s *sink, fs []Frame) {
	if len(fs) == 0 {
		return
	}
	s.mu.Lock()
	err := s.out.WriteFrames(fs)
	s.mu.Unlock()
	if err != nil {
		r.fail(fmt.Errorf("output: %w", err))
		return
	}
	var n uint64
	for i := range fs {
		n += uint64(len(fs[i].Data))
	}
	r.outPkts.Add(uint64(len(fs)))
	r.outBytes.Add(n)
}

// withLink puts the packet's link header in front of it, in the buffer's headroom, set for
// the packet's IP version. It returns the header length (0 if it did not fit).
func (r *run) withLink(p *packet.Buffer) int {
	h := r.link(cookieLink(p.Cookie))
	if len(h.hdr) == 0 || p.Headroom() < len(h.hdr) {
		return 0
	}
	v6 := p.Len() > 0 && p.Bytes()[0]>>4 == 6
	dst := p.Prepend(len(h.hdr))
	copy(dst, h.hdr)
	pcapio.SetIPVersion(h.lt, dst, v6)
	return len(h.hdr)
}

// sendCompletions takes the send path's completions: sealed and clear packets go to the
// output (and in RoundTrip the sealed ones on to the receive path), failed ones are counted.
func (r *run) sendCompletions(lane int) {
	// Up to 256 at a time: when the output is behind, one system call takes more frames.
	const most = 256
	buf := make([]*packet.Buffer, most)
	frames := make([]Frame, 0, most)
	wire := make([]*packet.Buffer, 0, most)
	trims := make([]int, 0, most)
	done := make([]*packet.Buffer, 0, most)
	c, out := &r.sc[lane], r.sinks[lane]
	for {
		k, err := r.send.LaneCompletions(lane, buf)
		if err != nil {
			return
		}
		now, wall := packet.Now(), time.Now()
		frames, wire, trims, done = frames[:0], wire[:0], trims[:0], done[:0]
		r.snd.CompletedBurst(buf[:k])
		for _, p := range buf[:k] {
			c.lat.Record(now - p.Stamp)
			if p.Tx.Failed() {
				c.sendFail[p.Tx.Reason]++
				p.Release()
				continue
			}
			if p.Tx.LSOCount > 0 {
				c.segments++
			}
			sealed := p.Tx.OffloadHandle != 0
			if sealed {
				c.out.add(p.Len())
			} else {
				c.clear.add(p.Len())
			}
			n := r.withLink(p)
			frames = append(frames, Frame{Time: wall, Data: p.Bytes()})
			if r.cfg.RoundTrip && sealed {
				wire, trims = append(wire, p), append(trims, n)
			} else {
				done = append(done, p)
			}
		}
		r.write(out, frames)
		for _, p := range done {
			p.Release()
		}
		if len(wire) == 0 {
			continue
		}
		// The wire: what arrives carries its bytes (and the host's cookie), nothing else.
		for i, p := range wire {
			p.TrimFront(trims[i])
			p.Tx, p.Rx, p.Meta = packet.TxInfo{}, packet.RxInfo{}, packet.Meta{}
		}
		for _, p := range wire {
			c.wire.add(p.Len())
		}
		r.recvMu.Lock()
		r.recv.Submit(wire)
		r.recvMu.Unlock()
	}
}

// recvCompletions takes the receive path's indications and gives them to the host; what it
// delivers goes to the output (or, in RoundTrip, is compared with the input).
func (r *run) recvCompletions() {
	buf := make([]*packet.Buffer, 64)
	frames := make([]Frame, 0, 64)
	arena := make([]byte, 0, 64*(packet.SmallSize+64))
	c := &r.rc
	for {
		k, err := r.recv.Completions(buf)
		if err != nil {
			return
		}
		now, wall := packet.Now(), time.Now()
		frames, arena = frames[:0], arena[:0]
		for _, p := range buf[:k] {
			c.lat.Record(now - p.Stamp)
			h := r.link(cookieLink(p.Cookie))
			if len(arena)+len(h.hdr)+p.Len() > cap(arena) { // keep earlier frames valid
				r.write(r.sinks[0], frames)
				frames, arena = frames[:0], arena[:0]
				if need := len(h.hdr) + p.Len(); need > cap(arena) {
					arena = make([]byte, 0, need)
				}
			}
			start := len(arena)
			arena = append(arena, h.hdr...)
			got, v := r.rcv.Receive(p, arena)
			c.verdicts[v]++
			if v != host.Delivered { // counted in verdicts
				arena = arena[:start]
				p.Release()
				continue
			}
			pkt := got[start+len(h.hdr):]
			c.out.add(len(pkt))
			if r.cfg.RoundTrip && p.Cookie&cookieLSO != 0 {
				c.segments++ // a segment of a large send: not the packet read, so not compared
				arena = arena[:start]
				p.Release()
				continue
			}
			if r.cfg.RoundTrip {
				c.checked++
				if pos := cookiePos(p.Cookie); pos < uint64(len(r.originals)) && bytes.Equal(pkt, r.originals[pos]) {
					c.equal++
				} else {
					c.differ++
				}
				arena = arena[:start]
				p.Release()
				continue
			}
			p.Release()
			pcapio.SetIPVersion(h.lt, got[start:start+len(h.hdr)], len(pkt) > 0 && pkt[0]>>4 == 6)
			arena = got
			frames = append(frames, Frame{Time: wall, Data: got[start:]})
		}
		r.write(r.sinks[0], frames)
	}
}
