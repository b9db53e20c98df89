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

// step is a stage that maps a burst to itself: it marks packets, never drops them. tb is
// the SA table of the read section its goroutine holds around the steps of a burst (one
// section for all of them, so one Reader.Begin a burst, not one a stage): SAs found in it
// stay valid until the steps return, and never longer (an SA is never held across a ring).
type step interface{ process(b *Burst, tb *sa.Table) }

// saUser is a step that says whether it looks SAs up; a step that does not implement it is
// taken to. A group whose steps look none up takes no read section (its tb is nil).
type saUser interface{ usesSAs() bool }

// usesSAs reports whether any of the steps looks SAs up.
func usesSAs(steps []step) bool {
	for _, s := range steps {
		if u, ok := s.(saUser); !ok || u.usesSAs() {
			return true
		}
	}
	return false
}

// expander is a stage that may turn one packet into several (the LSO segmenter): it
// writes into out and calls flush whenever out is full. It runs outside the group's read
// section, because flush may wait for room in a ring.
type expander interface {
	// expands reports whether any packet of b is one it expands; if none is, the group
	// passes the burst on as it is, without running the expander.
	expands(b *Burst) bool
	expand(in, out *Burst, flush func())
}

// readerUser is a stage that takes read sections of its own (the expander, which runs
// outside the group's); its group gives it the group goroutine's Reader.
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

	// Inline starts no goroutines: the lanes run only when Turn is called, on the caller's
	// goroutine (run to completion: the goroutine that submits also runs the stages and
	// takes the completions with Poll, so a packet never waits for another goroutine to be
	// woken). Completions and LaneCompletions are not for an Inline path, and Poll must
	// keep up: see Turn.
	Inline bool
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
	rings   []*ring.Ring[*packet.Buffer] // rings[0] is the lane's in-ring, rings[len-1] its out-ring
	groups  []group
	runners []*groupRunner // Inline paths only
	done    atomic.Bool    // the out-ring is closed
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
			if u, ok := g.exp.(readerUser); ok {
				u.useReader(r)
			}
			if cfg.Inline {
				l.runners = append(l.runners, p.newGroupRunner(l, gi, r))
				continue
			}
			p.wg.Add(1)
			go p.run(l, gi, r)
		}
	}
	return p
}

// groupRunner runs one group of a lane, a burst at a time, between rings gi and gi+1. It
// holds one SA read section around the steps of each burst, and leaves it before anything
// that may wait (a full ring, the expander's flushes).
type groupRunner struct {
	p             *path
	g             *group
	r             *sa.Reader
	out           *ring.Ring[*packet.Buffer]
	b, emitted    Burst
	preSA, postSA bool
	flushEmitted  func()
}

func (p *path) newGroupRunner(l *lane, gi int, r *sa.Reader) *groupRunner {
	g := &l.groups[gi]
	x := &groupRunner{p: p, g: g, r: r, out: l.rings[gi+1], preSA: usesSAs(g.pre), postSA: usesSAs(g.post)}
	x.flushEmitted = x.flush
	return x
}

// flush runs the post steps on what the expander emitted and passes it on.
func (x *groupRunner) flush() {
	var tb *sa.Table
	if x.postSA {
		tb = x.r.Begin()
	}
	for _, s := range x.g.post {
		s.process(&x.emitted, tb)
	}
	if x.postSA {
		x.r.End()
	}
	x.p.put(x.out, &x.emitted)
}

// burst runs the group on the n packets in x.b.Pkts and passes them on.
func (x *groupRunner) burst(n int) {
	g, b := x.g, &x.b
	b.N = n
	held := x.preSA || (x.postSA && g.exp == nil)
	var tb *sa.Table
	if held {
		tb = x.r.Begin()
	}
	for _, s := range g.pre {
		s.process(b, tb)
	}
	if g.exp == nil || !g.exp.expands(b) {
		// Nothing to expand: the burst goes on as it is, in the same read section, so the
		// SAs its lookup found are carried to the post steps.
		if x.postSA && !held {
			tb, held = x.r.Begin(), true
		}
		for _, s := range g.post {
			s.process(b, tb)
		}
		if held {
			x.r.End()
		}
		x.p.put(x.out, b)
		return
	}
	if held {
		x.r.End()
	}
	g.exp.expand(b, &x.emitted, x.flushEmitted)
	if x.emitted.N > 0 {
		x.flush()
	}
	b.Reset()
}

// run is one goroutine of a lane: group gi between rings gi and gi+1.
func (p *path) run(l *lane, gi int, r *sa.Reader) {
	defer p.wg.Done()
	defer r.Close()
	x := p.newGroupRunner(l, gi, r)
	in := l.rings[gi]
	for {
		n, err := in.DequeueWait(x.b.Pkts[:p.cfg.Burst])
		if err != nil {
			break
		}
		x.burst(n)
	}
	x.out.Close()
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
// stay on one lane and in order. With one lane there is nothing to pick, and the key (on
// receive, a parse of the packet's headers on the submitting core) is not computed.
func (p *path) laneOf(b *packet.Buffer) int {
	if len(p.lanes) == 1 {
		return 0
	}
	return LaneOf(p.key(b), len(p.lanes))
}

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
	if len(p.lanes) == 1 {
		// One lane: no lane to pick, and no staging: the packets go into its ring in
		// bursts as they are.
		for _, b := range pkts {
			b.Stamp = now
		}
		for len(pkts) > 0 {
			n := min(len(pkts), p.cfg.Burst)
			counted(0, n)
			p.lanes[0].rings[0].EnqueueWait(pkts[:n])
			pkts = pkts[n:]
		}
		return
	}
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

// Turn runs each group of each lane of an Inline path on one burst of what its input ring
// holds, on the caller's goroutine, and returns how many packets the groups took (0: the
// path holds nothing but completions). Whatever a group outputs goes into its lane's
// out-ring, which only Poll empties and which a full burst would wait on for ever: so
// the caller takes the completions with Poll after each Turn, and submits no more than a
// ring's room (Config.RingSize, less a burst) between Turns. An LSO + IPsec large send
// that a send lane cuts into more segments than that room would wait for ever too: an
// Inline path is for packets that stay one packet each.
func (p *path) Turn() int {
	n := 0
	for _, l := range p.lanes {
		for gi, x := range l.runners {
			if k := l.rings[gi].DequeueBurst(x.b.Pkts[:p.cfg.Burst]); k > 0 {
				x.burst(k)
				n += k
			}
		}
	}
	return n
}

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

// The expander takes its own read sections and must receive its group's Reader: if it
// stopped implementing readerUser it would run with a nil Reader.
var _ readerUser = (*txLSO)(nil)
