package replay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ov2dev/ov2/fastpath"
	"github.com/ov2dev/ov2/host"
	"github.com/ov2dev/ov2/internal/hdr"
	"github.com/ov2dev/ov2/nic"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/pcap"
	"github.com/ov2dev/ov2/stage"
	"github.com/ov2dev/ov2/xfrm"
)

// Reader is a capture being read: pcap.Reader, or anything that yields records the same
// way (Data valid until the next call).
type Reader interface {
	Next() (pcap.Record, error)
	// LinkType is the link type of the capture's first interface (the file's own for a
	// pcap file), known before any packet is read.
	LinkType() pcap.LinkType
	Close() error
}

// Input opens the capture, once per loop.
type Input struct {
	Name string
	Open func() (Reader, error)
}

// FileInput is the Input for a capture file.
func FileInput(path string) Input {
	return Input{Name: path, Open: func() (Reader, error) { return pcap.Open(path) }}
}

// BytesInput is the Input for a capture held in memory.
func BytesInput(name string, capture []byte) Input {
	return Input{Name: name, Open: func() (Reader, error) { return pcap.NewReader(name, bytes.NewReader(capture)) }}
}

// Config is what a run needs besides its input.
type Config struct {
	SAs       []xfrm.State
	Bundles   []xfrm.Bundle // ESP+AH bundles of SAs (xfrm.Config.Bundles): one SA each
	NIC       nic.Config
	Lanes     int             // lanes per path (0: 1)
	Placement stage.Placement // stage placement of each lane
	Pace      Pacing
	Loops     int // passes over the input (0: 1)
	// RoundTrip sends what the send path seals back into the receive path and checks that
	// the host delivers each packet as it was read; Output then gets the sealed packets.
	// The input is held in memory for the comparison. An SA without a direction then
	// receives from where it sends (roundTripStates), not from its listing's last number
	// received.
	RoundTrip bool
	// RawLimit, with RoundTrip, measures after the run the crypto alone on one core over
	// one pass's sealed packets and gives the run's rate as a share of it (rawlimit.go,
	// Report.RawLimit).
	RawLimit bool
	Output   Output // nil: Discard
	// MSS is the TCP payload per segment of a large send: a plain TCP packet too big for a
	// packet buffer (a capture taken with GSO/TSO on the sending host) goes to the NIC as
	// one LSO + IPsec large send, cut into segments of MSS bytes of payload. 0: 1400.
	MSS int
	// OneLink says the output takes frames of one link type (a pcap file): a record whose
	// link type differs from the first record's stops the run with an error naming the
	// record, before anything is written under the wrong link type. A pcapng file and a
	// live interface take every link type.
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
	lt  pcap.LinkType
	hdr []byte
	// byVersion is hdr set for an IPv4 packet ([0]) and an IPv6 one ([1]) (pcap.SetIPVersion),
	// made once when the header is interned rather than for every packet.
	byVersion [2][]byte
}

// forIP returns the header to put in front of ip: hdr set for ip's version.
func (h *linkHdr) forIP(ip []byte) []byte {
	if len(ip) > 0 && ip[0]>>4 == 6 {
		return h.byVersion[1]
	}
	return h.byVersion[0]
}

// run is one replay: the fast path (package fastpath: the NIC, its paths and the host,
// one queue) and what the run keeps around it.
type run struct {
	cfg Config
	in  Input
	fp  *fastpath.Path
	q   *fastpath.Queue
	out Output

	outCount int
	inCount  int

	// links interns link headers; the producer appends within the capacity (never
	// reallocating), the completion goroutines read entries whose id came to them in a
	// packet's Cookie, after the ring that carried it.
	links   [maxLinks / linkChunk]*[linkChunk]linkHdr
	nLinks  uint32
	linkIDs map[pcap.LinkType]map[string]uint32
	// last is the header intern returned last: a capture's records mostly share one, and
	// comparing a few bytes costs less than hashing them for the map.
	last struct {
		ok  bool
		lt  pcap.LinkType
		hdr []byte // the interned copy
		id  uint32
	}

	originals [][]byte     // RoundTrip: the IP packet of each record position
	raw       []rawSamples // RawLimit: one per send lane (rawlimit.go)
	held      heldCapture  // the capture, read once and replayed from memory (memcapture.go)

	sinks   []*sink // one per send lane; sinks[0] also takes pass-through and decrypted packets
	scratch []laneScratch
	// recvFrames is the receive goroutine's reused slice of output frames.
	recvFrames []Frame
	failMu     sync.Mutex
	failErr    error
	cancel     context.CancelFunc
	// stop is set when the run's context is done (an interrupt, or a failure that cancels
	// it): the producer checks it for every packet and in every pacing wait.
	stop atomic.Bool

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
	mu  *outLock
}

// outLock serializes the writers of one output, and keeps the output's timestamps in the
// order of the file: a frame stamped before the one written ahead of it (by another
// goroutine) takes that one's time.
type outLock struct {
	sync.Mutex
	last time.Time
}

type prodCounts struct {
	read, encIn, clearIn, decIn, pass Counter
	large                             uint64 // of encIn and clearIn, packets sent as large sends
	passReasons                       map[string]uint64
	linkReasons                       map[pcap.LinkType]string // see linkReason
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

// ErrInterrupted is what Run returns, with the report of what was done, when its context
// was cancelled before the input was all read.
var ErrInterrupted = errors.New("interrupted")

// Run replays the input through a NIC made from cfg.NIC: it offloads the SAs, sends each
// packet the way its type asks (see the package documentation), and returns the report.
//
// Cancelling ctx (Ctrl-C) stops the run at once: no further packet is read, a pacing wait
// ends, the packets already inside the NIC complete and reach the output, and Run returns
// the report of all that, marked Interrupted, with ErrInterrupted. Any other error means
// the run could not complete (input unreadable, an SA refused, an output failure); the
// report is then nil.
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
	r := &run{cfg: cfg, in: in, out: cfg.Output, linkIDs: map[pcap.LinkType]map[string]uint32{}}
	if r.out == nil {
		r.out = Discard{}
	}
	r.prod.passReasons, r.prod.drops = map[string]uint64{}, map[string]uint64{}
	r.rc = compCounts{lat: hdr.New()}
	ctx, r.cancel = context.WithCancel(ctx)
	defer r.cancel()
	defer context.AfterFunc(ctx, func() { r.stop.Store(true) })()

	if cfg.RoundTrip {
		if err := r.loadOriginals(); err != nil {
			return nil, err
		}
	}
	lanes := cfg.Lanes
	if cfg.RoundTrip && cfg.RawLimit {
		r.raw = make([]rawSamples, lanes)
		for i := range r.raw {
			r.raw[i].seen = make([]bool, len(r.originals))
		}
	}
	r.sc = make([]compCounts, lanes)
	r.scratch = make([]laneScratch, lanes)
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
	shared := new(outLock)
	for i := 0; i < lanes; i++ {
		if len(outs) == lanes {
			r.sinks = append(r.sinks, &sink{out: outs[i], mu: new(outLock)})
		} else {
			r.sinks = append(r.sinks, &sink{out: r.out, mu: shared})
		}
	}
	if err := r.setup(); err != nil {
		return nil, err
	}
	defer r.fp.Close()
	return r.play(ctx)
}

// setup makes the fast path (the NIC, its two paths and the host, one queue of cfg.Lanes
// lanes), which offloads the SAs: an SA without a direction both ways, as on Linux.
func (r *run) setup() error {
	nc := r.cfg.NIC
	sas := r.cfg.SAs
	if r.cfg.RoundTrip {
		sas = roundTripStates(sas)
	}
	fp, err := fastpath.New(fastpath.Config{SAs: sas, Bundles: r.cfg.Bundles, NIC: &nc, Lanes: r.cfg.Lanes, Placement: r.cfg.Placement,
		Protected: r.sendCompletions, Unprotected: r.recvCompletions})
	if err != nil {
		return err
	}
	r.fp, r.q = fp, fp.Queue(0)
	rules := fp.Rules()
	r.outCount, r.inCount = len(rules.Out), len(rules.In)
	return nil
}

// roundTripStates gives the states a round trip offloads. A state usable both ways (no
// `dir`) is, in a round trip, both ends of one stream: its receive side opens what its send
// side sealed, so it expects the numbers that side sends, after the last one sent (OSeq),
// not after the last one the listing's host received (Seq). A listing of a long-lived SA has
// one of the two far ahead of the other (an inbound state's seq, an outbound state's oseq),
// and the round trip would otherwise drop every packet as too old, or with ESN fail every
// ICV for the wrong high half. The states are copied; the caller's are left as they are.
// Bundles name states by index, which the copy keeps.
func roundTripStates(in []xfrm.State) []xfrm.State {
	out := slices.Clone(in)
	for i := range out {
		if out[i].Dir == xfrm.Both {
			out[i].Seq = out[i].OSeq
		}
	}
	return out
}

// loadOriginals reads the input and keeps each record's IP packet for the round-trip
// comparison. It keeps the records in r.held, so that produce replays every loop, the first
// included, from the same memory instead of reading the input again; the originals point
// into it. A capture too large to hold (maxHeld) has its IP packets copied, and produce
// reads the input as it would without a round trip.
func (r *run) loadOriginals() error {
	rd, err := r.in.Open()
	if err != nil {
		return err
	}
	defer rd.Close()
	r.held.link = rd.LinkType()
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			r.held.complete = true
			return nil
		}
		if err != nil {
			return err
		}
		if r.held.keep(rec); !r.held.full {
			rec = r.held.recs[len(r.held.recs)-1] // the held copy
		}
		_, ip, err := pcap.Network(rec.Link, rec.Data)
		if err != nil && !errors.Is(err, pcap.ErrNotIP) && !errors.Is(err, pcap.ErrShort) {
			return fmt.Errorf("%s: packet %d: %w", r.in.Name, rec.Index, err)
		}
		if r.held.full {
			ip = bytes.Clone(ip)
		}
		r.originals = append(r.originals, ip)
	}
}

// intern returns the id of a link header, adding it if new.
func (r *run) intern(lt pcap.LinkType, link []byte) (uint32, error) {
	if r.last.ok && r.last.lt == lt && bytes.Equal(r.last.hdr, link) {
		return r.last.id, nil
	}
	id, err := r.internNew(lt, link)
	if err == nil {
		r.last.ok, r.last.lt, r.last.hdr, r.last.id = true, lt, r.link(id).hdr, id
	}
	return id, err
}

// internNew is intern for a header other than the last one.
func (r *run) internNew(lt pcap.LinkType, link []byte) (uint32, error) {
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
	h := linkHdr{lt: lt, hdr: bytes.Clone(link)}
	for i := range h.byVersion {
		h.byVersion[i] = bytes.Clone(link)
		pcap.SetIPVersion(lt, h.byVersion[i], i == 1)
	}
	(*c)[id%linkChunk] = h
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

// play runs the producer on this goroutine (it reads, paces and submits); the fast path's
// goroutines take the send lanes' and the receive path's completions (sendCompletions,
// recvCompletions).
func (r *run) play(ctx context.Context) (*Report, error) {
	stopProgress := r.startProgress()
	stopFlush := r.startFlush()

	start := time.Now()
	err := r.produce(ctx)
	// Everything inside the NIC completes: the send side first (in RoundTrip its
	// completions feed the receive path), then the receive side.
	r.fp.Stop()
	elapsed := time.Since(start)
	stopProgress()
	stopFlush()

	r.failMu.Lock()
	if r.failErr != nil {
		err = r.failErr // the first failure, not the cancellation it caused
	}
	r.failMu.Unlock()
	interrupted := false
	if err != nil && r.failErr == nil && errors.Is(err, context.Canceled) {
		err, interrupted = nil, true
	}
	if err != nil {
		return nil, err
	}
	rep := r.report(elapsed) // before DELETE_SA: it names the SAs' crypto implementations
	rep.Interrupted = interrupted
	if r.raw != nil && !interrupted {
		if rep.RawLimit, err = r.rawLimit(rep); err != nil { // the SAs are still there
			return nil, err
		}
	}
	if err := r.fp.Close(); err != nil { // DELETE_SA
		return nil, err
	}
	if interrupted {
		return rep, ErrInterrupted
	}
	return rep, nil
}

// startFlush flushes every output that buffers (a Flusher) each FlushEvery until the
// returned function is called, so that a write error stops the run within that time
// whatever the packet rate. A flush error fails the run as a write error does.
func (r *run) startFlush() func() {
	var sinks []*sink
	seen := map[*outLock]bool{}
	for _, s := range r.sinks {
		if _, ok := s.out.(Flusher); ok && !seen[s.mu] {
			seen[s.mu] = true
			sinks = append(sinks, s)
		}
	}
	if len(sinks) == 0 {
		return func() {}
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(FlushEvery)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				for _, s := range sinks {
					s.mu.Lock()
					err := s.out.(Flusher).Flush()
					s.mu.Unlock()
					if err != nil {
						r.fail(fmt.Errorf("output: %w", err))
						return
					}
				}
			}
		}
	}()
	return func() { close(stop); <-done }
}
