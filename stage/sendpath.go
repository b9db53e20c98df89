package stage

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/ring"
)

// SendConfig shapes a send path.
type SendConfig struct {
	Lanes     int       // lanes (goroutine groups); default 1
	Placement Placement // Fused or Split
	Burst     int       // packets a stage takes at a time, 1..MaxBurst; default 32
	RingSize  int       // slots of every ring, a power of two; default 1024
}

// ErrClosed is returned by Completions once the send path is closed and drained.
var ErrClosed = errors.New("stage: send path closed")

// SendPath is the NIC's send side: lanes of stages behind SPSC rings. One goroutine (the
// host's sender) calls Submit and Close; one goroutine calls Poll or Completions. They must
// be different goroutines, or Poll must be interleaved with Submit in bursts smaller than
// the rings: Submit waits while a lane is full, and a lane waits while its out-ring is full,
// so a host that submits without ever taking completions stops both (backpressure, never a
// drop).
type SendPath struct {
	env   Env
	cfg   SendConfig
	lanes []*sendLane
	stage []Burst // Submit's per-lane staging bursts
	wg    sync.WaitGroup

	// Completion wake-up: the consumer sets sleeping before its last check; a lane that
	// produced after that sees it and leaves a token.
	sleeping atomic.Bool
	wake     chan struct{}
	next     int // Completions' round-robin start
	closed   bool
}

type sendLane struct {
	in, out *ring.Ring[*packet.Buffer]
	ab, bc  *ring.Ring[*packet.Buffer] // split placement only
	done    atomic.Bool                // out is closed
	stats   laneStats

	classify txClassify
	lookup   txLookup
	lso      txLSO
	seal     txSeal
	complete txComplete
}

// NewSendPath starts the lanes. Close stops them.
func NewSendPath(env Env, cfg SendConfig) (*SendPath, error) {
	if cfg.Lanes == 0 {
		cfg.Lanes = 1
	}
	if cfg.Burst == 0 {
		cfg.Burst = 32
	}
	if cfg.RingSize == 0 {
		cfg.RingSize = 1024
	}
	switch {
	case cfg.Lanes < 1 || cfg.Lanes > 256:
		return nil, fmt.Errorf("stage: %d lanes: want 1 to 256", cfg.Lanes)
	case cfg.Burst < 1 || cfg.Burst > MaxBurst:
		return nil, fmt.Errorf("stage: burst %d: want 1 to %d", cfg.Burst, MaxBurst)
	case cfg.Placement != Fused && cfg.Placement != Split:
		return nil, fmt.Errorf("stage: unknown placement %v", cfg.Placement)
	case env.SAs == nil:
		return nil, errors.New("stage: Env.SAs is nil")
	}
	if env.Segments == nil {
		env.Segments = packet.NewPool(packet.SmallSize)
	}
	s := &SendPath{env: env, cfg: cfg, stage: make([]Burst, cfg.Lanes), wake: make(chan struct{}, 1)}
	for range cfg.Lanes {
		l, err := s.newLane()
		if err != nil {
			return nil, err
		}
		s.lanes = append(s.lanes, l)
	}
	for _, l := range s.lanes {
		s.start(l)
	}
	return s, nil
}

func (s *SendPath) newLane() (*sendLane, error) {
	l := &sendLane{}
	var err error
	rings := []**ring.Ring[*packet.Buffer]{&l.in, &l.out}
	if s.cfg.Placement == Split {
		rings = append(rings, &l.ab, &l.bc)
	}
	for _, r := range rings {
		if *r, err = ring.New[*packet.Buffer](s.cfg.RingSize); err != nil {
			return nil, err
		}
	}
	l.classify = txClassify{env: &s.env}
	l.lso = txLSO{pool: s.env.Segments, stats: &l.stats}
	l.seal = txSeal{scratch: new(esp.Scratch)}
	l.complete = txComplete{stats: &l.stats}
	return l, nil
}

func (s *SendPath) start(l *sendLane) {
	if s.cfg.Placement == Fused {
		s.wg.Add(1)
		go s.runFused(l)
		return
	}
	s.wg.Add(3)
	go s.runSplitFront(l)
	go s.runSplitLSO(l)
	go s.runSplitBack(l)
}

// runFused is one lane on one goroutine: classify, lookup, LSO, seal, complete, burst by
// burst.
func (s *SendPath) runFused(l *sendLane) {
	defer s.wg.Done()
	r := s.env.SAs.NewReader()
	defer r.Close()
	l.lookup.r, l.lso.r, l.seal.r = r, r, r
	var in, work Burst
	flush := func() {
		l.seal.process(&work)
		l.complete.process(&work)
		s.put(l.out, &work)
	}
	for {
		n, err := l.in.DequeueWait(in.Pkts[:s.cfg.Burst])
		if err != nil {
			break
		}
		in.N = n
		l.classify.process(&in)
		l.lookup.process(&in)
		l.lso.expand(&in, &work, flush)
		if work.N > 0 {
			flush()
		}
		in.Reset()
	}
	s.finish(l)
}

// runSplitFront is the first goroutine of a split lane: classify and SA lookup.
func (s *SendPath) runSplitFront(l *sendLane) {
	defer s.wg.Done()
	r := s.env.SAs.NewReader()
	defer r.Close()
	l.lookup.r = r
	var b Burst
	for {
		n, err := l.in.DequeueWait(b.Pkts[:s.cfg.Burst])
		if err != nil {
			break
		}
		b.N = n
		l.classify.process(&b)
		l.lookup.process(&b)
		s.put(l.ab, &b)
	}
	l.ab.Close()
}

// runSplitLSO is the second goroutine of a split lane: the LSO segmenter.
func (s *SendPath) runSplitLSO(l *sendLane) {
	defer s.wg.Done()
	r := s.env.SAs.NewReader()
	defer r.Close()
	l.lso.r = r
	var in, out Burst
	flush := func() { s.put(l.bc, &out) }
	for {
		n, err := l.ab.DequeueWait(in.Pkts[:s.cfg.Burst])
		if err != nil {
			break
		}
		in.N = n
		l.lso.expand(&in, &out, flush)
		if out.N > 0 {
			flush()
		}
		in.Reset()
	}
	l.bc.Close()
}

// runSplitBack is the third goroutine of a split lane: seal and complete.
func (s *SendPath) runSplitBack(l *sendLane) {
	defer s.wg.Done()
	r := s.env.SAs.NewReader()
	defer r.Close()
	l.seal.r = r
	var b Burst
	for {
		n, err := l.bc.DequeueWait(b.Pkts[:s.cfg.Burst])
		if err != nil {
			break
		}
		b.N = n
		l.seal.process(&b)
		l.complete.process(&b)
		s.put(l.out, &b)
	}
	s.finish(l)
}

// put moves a burst into a ring, waiting for room (backpressure, never a drop), and empties
// the burst. The ring is never closed while its producer runs, so EnqueueWait cannot fail.
func (s *SendPath) put(r *ring.Ring[*packet.Buffer], b *Burst) {
	r.EnqueueWait(b.Slice())
	b.Reset()
	if s.sleeping.Load() { // pairs with the Store in Completions
		s.signal()
	}
}

func (s *SendPath) finish(l *sendLane) {
	l.out.Close()
	l.done.Store(true)
	s.signal()
}

func (s *SendPath) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// laneOf picks the lane of a packet from its SA handle, so that one SA's packets stay on
// one lane and in order. Packets without IPsec (handle 0) all go to lane 0.
func (s *SendPath) laneOf(p *packet.Buffer) int {
	if len(s.lanes) == 1 {
		return 0
	}
	h := p.Tx.OffloadHandle
	x := uint32(h) ^ uint32(h>>32)*0x85EBCA6B
	return int(((x * 0x9E3779B1) >> 8) % uint32(len(s.lanes)))
}

// Submit hands packets to the NIC. It returns when every packet is in a lane's ring,
// waiting for room if a lane is behind. The NIC owns the buffers from here until they come
// back from Completions (an LSO packet comes back as its segments; its own buffer is
// released by the NIC). Host goroutine only.
func (s *SendPath) Submit(pkts []*packet.Buffer) {
	for _, p := range pkts {
		i := s.laneOf(p)
		b := &s.stage[i]
		b.Add(p)
		if b.N == s.cfg.Burst {
			s.lanes[i].stats.submitted.Add(uint64(b.N))
			s.lanes[i].in.EnqueueWait(b.Slice())
			b.Reset()
		}
	}
	for i := range s.stage {
		if b := &s.stage[i]; b.N > 0 {
			s.lanes[i].stats.submitted.Add(uint64(b.N))
			s.lanes[i].in.EnqueueWait(b.Slice())
			b.Reset()
		}
	}
}

// Close tells the lanes no more packets come; they finish what they have. Completions
// then returns the rest and finally ErrClosed. Host goroutine only.
func (s *SendPath) Close() {
	if s.closed {
		return
	}
	s.closed = true
	for _, l := range s.lanes {
		l.in.Close()
	}
}

// Wait blocks until every lane goroutine has exited (after Close, once Completions has
// taken everything).
func (s *SendPath) Wait() { s.wg.Wait() }

// Poll moves completed packets into dst without waiting and returns how many.
func (s *SendPath) Poll(dst []*packet.Buffer) int {
	n := 0
	for k := 0; k < len(s.lanes) && n < len(dst); k++ {
		i := (s.next + k) % len(s.lanes)
		n += s.lanes[i].out.DequeueBurst(dst[n:])
	}
	s.next = (s.next + 1) % len(s.lanes)
	return n
}

// Completions waits for completed packets (sealed, sent in clear, or failed with a status)
// and moves up to len(dst) of them into dst. It returns ErrClosed once the path is closed
// and every packet has been returned. Each completed packet is the caller's to release.
func (s *SendPath) Completions(dst []*packet.Buffer) (int, error) {
	for spin := 0; ; spin++ {
		if n := s.Poll(dst); n > 0 {
			return n, nil
		}
		if s.drained() {
			return 0, ErrClosed
		}
		switch {
		case spin < 64:
		case spin < 64+16:
			runtime.Gosched()
		default:
			s.sleeping.Store(true) // pairs with the Load in put and the token in signal
			if n := s.Poll(dst); n > 0 || s.drained() {
				s.sleeping.Store(false)
				if n > 0 {
					return n, nil
				}
				return 0, ErrClosed
			}
			<-s.wake
			s.sleeping.Store(false)
		}
	}
}

func (s *SendPath) drained() bool {
	for _, l := range s.lanes {
		if !l.done.Load() || l.out.Len() != 0 {
			return false
		}
	}
	return true
}

// Stats sums the lanes' counters. Counters are read one by one while packets move, so the
// invariant holds exactly only when the path is idle.
func (s *SendPath) Stats() SendStats {
	var st SendStats
	for _, l := range s.lanes {
		l.stats.addTo(&st)
	}
	return st
}

// Lanes is the number of lanes.
func (s *SendPath) Lanes() int { return len(s.lanes) }
