package stage

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/ring"
	"github.com/ov2dev/ov2/sa"
)

// step is a stage that maps a burst to itself: it marks packets, never drops them.
type step interface{ process(b *Burst) }

// expander is a stage that may turn one packet into several (the LSO segmenter): it
// writes into out and calls flush whenever out is full.
type expander interface {
	expand(in, out *Burst, flush func())
}

// readerUser is a stage that looks SAs up; its group gives it the group goroutine's Reader.
type readerUser interface{ useReader(r *sa.Reader) }

// group is what one goroutine of a lane runs: pre steps, then an optional expander, then
// post steps on what the expander emits.
type group struct {
	pre  []step
	exp  expander
	post []step
}

// Config shapes a path: its lanes and placement.
type Config struct {
	Lanes     int       // lanes (goroutine groups); default 1
	Placement Placement // Fused or Split
	Burst     int       // packets a stage takes at a time, 1..MaxBurst; default 32
	RingSize  int       // slots of every ring, a power of two; default 1024
	// Poll keeps each lane goroutine polling its input for up to this long before it parks
	// (poll mode): lower latency at part load, paid for in CPU time. 0 parks after a short
	// spin, which costs nothing while idle.
	Poll time.Duration
}

func (c *Config) normalize() error {
	if c.Lanes == 0 {
		c.Lanes = 1
	}
	if c.Burst == 0 {
		c.Burst = 32
	}
	if c.RingSize == 0 {
		c.RingSize = 1024
	}
	switch {
	case c.Lanes < 1 || c.Lanes > 256:
		return fmt.Errorf("stage: %d lanes: want 1 to 256", c.Lanes)
	case c.Burst < 1 || c.Burst > MaxBurst:
		return fmt.Errorf("stage: burst %d: want 1 to %d", c.Burst, MaxBurst)
	case c.Placement != Fused && c.Placement != Split:
		return fmt.Errorf("stage: unknown placement %v", c.Placement)
	case c.Poll < 0 || c.Poll > time.Second:
		return fmt.Errorf("stage: poll time %v: want 0 to 1s", c.Poll)
	case c.RingSize < 2 || c.RingSize > ring.MaxSize || c.RingSize&(c.RingSize-1) != 0:
		return fmt.Errorf("stage: ring size %d: want a power of two from 2 to %d", c.RingSize, ring.MaxSize)
	}
	return nil
}

// check validates what both paths need before they start: the shape of cfg, and an SA store.
func check(env *Env, cfg *Config) error {
	if err := cfg.normalize(); err != nil {
		return err
	}
	if env.SAs == nil {
		return errors.New("stage: Env.SAs is nil")
	}
	return nil
}

// ErrClosed is returned by Completions once a path is closed and drained.
var ErrClosed = errors.New("stage: path closed")

// path is the machinery shared by the send and receive paths: lanes of stage groups joined
// by SPSC rings, a submitting goroutine at the front and a completing goroutine at the end.
type path struct {
	cfg   Config
	lanes []*lane
	stage []Burst // Submit's per-lane staging bursts
	key   func(p *packet.Buffer) uint64
	wg    sync.WaitGroup

	// Completion wake-up: the consumer sets sleeping before its last check; a lane that
	// produced after that sees it and leaves a token.
	sleeping atomic.Bool
	wake     chan struct{}
	next     int // Poll's round-robin start
	closed   bool
}

type lane struct {
	rings  []*ring.Ring[*packet.Buffer] // rings[0] is the lane's in-ring, rings[len-1] its out-ring
	groups []group
	done   atomic.Bool // the out-ring is closed
}

// newPath builds and starts the lanes; build makes one lane's groups (fused: one group,
// split: several). cfg has been normalized, so ring creation cannot fail.
func newPath(ctl *sa.Controller, cfg Config, key func(*packet.Buffer) uint64, build func(i int) []group) *path {
	p := &path{cfg: cfg, key: key, stage: make([]Burst, cfg.Lanes), wake: make(chan struct{}, 1)}
	for i := range cfg.Lanes {
		l := &lane{groups: build(i)}
		for range len(l.groups) + 1 {
			r, _ := ring.New[*packet.Buffer](cfg.RingSize)
			r.SetConsumerPoll(cfg.Poll)
			l.rings = append(l.rings, r)
		}
		p.lanes = append(p.lanes, l)
	}
	for _, l := range p.lanes {
		for gi := range l.groups {
			r := ctl.NewReader()
			g := &l.groups[gi]
			for _, s := range append(append([]step(nil), g.pre...), g.post...) {
				if u, ok := s.(readerUser); ok {
					u.useReader(r)
				}
			}
			if u, ok := g.exp.(readerUser); ok {
				u.useReader(r)
			}
			p.wg.Add(1)
			go p.run(l, gi, r)
		}
	}
	return p
}

// run is one goroutine of a lane: group gi between rings gi and gi+1.
func (p *path) run(l *lane, gi int, r *sa.Reader) {
	defer p.wg.Done()
	defer r.Close()
	g := &l.groups[gi]
	in, out := l.rings[gi], l.rings[gi+1]
	var b, emitted Burst
	flush := func() {
		for _, s := range g.post {
			s.process(&emitted)
		}
		p.put(out, &emitted)
	}
	for {
		n, err := in.DequeueWait(b.Pkts[:p.cfg.Burst])
		if err != nil {
			break
		}
		b.N = n
		for _, s := range g.pre {
			s.process(&b)
		}
		if g.exp == nil {
			for _, s := range g.post {
				s.process(&b)
			}
			p.put(out, &b)
			continue
		}
		g.exp.expand(&b, &emitted, flush)
		if emitted.N > 0 {
			flush()
		}
		b.Reset()
	}
	out.Close()
	if gi == len(l.groups)-1 {
		l.done.Store(true)
		p.signal()
	}
}

// put moves a burst into a ring, waiting for room (backpressure, never a drop), and empties
// the burst. A ring is closed only by its producer, so EnqueueWait cannot fail here.
func (p *path) put(r *ring.Ring[*packet.Buffer], b *Burst) {
	r.EnqueueWait(b.Slice())
	b.Reset()
	if p.sleeping.Load() { // pairs with the Store in Completions
		p.signal()
	}
}

func (p *path) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// laneOf picks a packet's lane from its key (an SA handle or SPI), so that one SA's packets
// stay on one lane and in order. The key function always runs: on receive it is the
// classifier.
func (p *path) laneOf(b *packet.Buffer) int { return LaneOf(p.key(b), len(p.lanes)) }

// LaneOf is the lane, of lanes, that a path gives a packet with this key: its SA handle on
// the send path, its SPI on the receive path. A host that wants its SAs spread evenly over
// the lanes can choose them with it.
func LaneOf(key uint64, lanes int) int {
	if lanes <= 1 {
		return 0
	}
	x := uint32(key) ^ uint32(key>>32)*0x85EBCA6B
	return int(((x * 0x9E3779B1) >> 8) % uint32(lanes))
}

// submit queues packets on their lanes, waiting for room if a lane is behind; counted is
// called with each lane's share.
func (p *path) submit(pkts []*packet.Buffer, counted func(lane, n int)) {
	now := packet.Now() // one clock read per burst: every packet of it enters the NIC now
	for _, b := range pkts {
		b.Stamp = now
		i := p.laneOf(b)
		s := &p.stage[i]
		s.Add(b)
		if s.N == p.cfg.Burst {
			p.flushStage(i, counted)
		}
	}
	for i := range p.stage {
		if p.stage[i].N > 0 {
			p.flushStage(i, counted)
		}
	}
}

func (p *path) flushStage(i int, counted func(lane, n int)) {
	s := &p.stage[i]
	counted(i, s.N)
	p.lanes[i].rings[0].EnqueueWait(s.Slice())
	s.Reset()
}

// Close tells the lanes no more packets come; they finish what they have. Completions
// then returns the rest and finally ErrClosed. Submitting goroutine only.
func (p *path) Close() {
	if p.closed {
		return
	}
	p.closed = true
	for _, l := range p.lanes {
		l.rings[0].Close()
	}
}

// Wait blocks until every lane goroutine has exited (after Close, once Completions has
// taken everything).
func (p *path) Wait() { p.wg.Wait() }

// Poll moves completed packets into dst without waiting and returns how many.
func (p *path) Poll(dst []*packet.Buffer) int {
	n := 0
	for k := 0; k < len(p.lanes) && n < len(dst); k++ {
		l := p.lanes[(p.next+k)%len(p.lanes)]
		n += l.rings[len(l.rings)-1].DequeueBurst(dst[n:])
	}
	p.next = (p.next + 1) % len(p.lanes)
	return n
}

// Completions waits for completed packets and moves up to len(dst) of them into dst. It
// returns ErrClosed once the path is closed and every packet has been returned. Each
// returned packet is the caller's to release.
func (p *path) Completions(dst []*packet.Buffer) (int, error) {
	for spin := 0; ; spin++ {
		if n := p.Poll(dst); n > 0 {
			return n, nil
		}
		if p.drained() {
			return 0, ErrClosed
		}
		switch {
		case spin < 64:
		case spin < 64+16:
			runtime.Gosched()
		default:
			p.sleeping.Store(true) // pairs with the Load in put and the token in signal
			if n := p.Poll(dst); n > 0 || p.drained() {
				p.sleeping.Store(false)
				if n > 0 {
					return n, nil
				}
				return 0, ErrClosed
			}
			<-p.wake
			p.sleeping.Store(false)
		}
	}
}

// LaneCompletions is Completions for lane i alone, for a host that takes each lane's
// completions on its own goroutine (one per lane, so the lanes' output work runs in
// parallel). A lane keeps its packets in order, and one SA's packets stay on one lane. It
// returns ErrClosed once the lane has finished and everything it completed was taken. A
// host uses either Completions (and Poll) or LaneCompletions, never both.
func (p *path) LaneCompletions(i int, dst []*packet.Buffer) (int, error) {
	l := p.lanes[i]
	n, err := l.rings[len(l.rings)-1].DequeueWait(dst)
	if err == ring.ErrClosed {
		return 0, ErrClosed
	}
	return n, err
}

func (p *path) drained() bool {
	for _, l := range p.lanes {
		if !l.done.Load() || l.rings[len(l.rings)-1].Len() != 0 {
			return false
		}
	}
	return true
}

// Lanes is the number of lanes.
func (p *path) Lanes() int { return len(p.lanes) }

// Every stage that looks SAs up must receive its group's Reader: a stage that stopped
// implementing readerUser would run with a nil Reader.
var (
	_ readerUser = (*txLookup)(nil)
	_ readerUser = (*txLSO)(nil)
	_ readerUser = (*txSeal)(nil)
	_ readerUser = (*rxLookup)(nil)
	_ readerUser = (*rxOpen)(nil)
	_ readerUser = (*rxComplete)(nil)
)
