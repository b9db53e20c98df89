package fastpath

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/ov2dev/ov2/host"
	"github.com/ov2dev/ov2/nic"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/sa"
	"github.com/ov2dev/ov2/stage"
	"github.com/ov2dev/ov2/xfrm"
)

// Path is an ESP fast path: a NIC with its SAs offloaded, and Queues queues of entry
// points. Make one with New; Stop it to let what is inside complete; Close it.
type Path struct {
	cfg    Config
	n      *nic.NIC
	queues []*Queue
	pol    atomic.Pointer[policy]
	mtu    atomic.Int32 // Config.MTU, or what SetMTU set since

	reloadMu sync.Mutex // one Reload (or Close) at a time
	wg       sync.WaitGroup
	stopOnce sync.Once
	stopped  atomic.Bool
	closed   bool
}

// New makes the NIC from cfg.NIC, binds the host to it, offloads the SAs (each outbound
// SA through its queue's Sender, each inbound SA through its queue's Receiver, with
// ADD_SA), and starts the paths and the completion goroutines. An SA the NIC refuses
// fails New with an error naming the SA's file and line.
func New(cfg Config) (*Path, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	n, err := nic.New(*cfg.NIC)
	if err != nil {
		return nil, err
	}
	if _, _, err := n.Bind(nullProtocol{}); err != nil {
		n.Close()
		return nil, err
	}
	p := &Path{cfg: cfg, n: n}
	p.mtu.Store(int32(cfg.MTU))
	hw := n.QueryHardwareCapabilities()
	env := stage.Env{SAs: n.Controller(),
		ESPAllowed: func(v6 bool) bool { return n.CurrentConfig().ESPAllowed(v6) },
		AHAllowed:  func(v6 bool) bool { return n.CurrentConfig().AHAllowed(v6) },
		RxCaps: func() stage.RxCaps {
			return stage.RxCaps{IPv4Options: hw.IPv4Options, IPv6NonIPsecExtensionHeaders: hw.IPv6NonIPsecExtensionHeaders, UDPEsp: hw.UdpEsp}
		}}
	sc := stage.Config{Lanes: cfg.Lanes, Placement: cfg.Placement, Inline: cfg.Inline}
	fail := func(err error) (*Path, error) {
		for _, q := range p.queues {
			q.send.Close()
			q.recv.Close()
		}
		n.Close()
		return nil, err
	}
	for i := range cfg.Queues {
		q := &Queue{p: p, idx: i, small: packet.NewPool(packet.SmallSize), large: packet.NewPool(packet.LargeSize)}
		if q.send, err = stage.NewSendPath(env, sc); err != nil {
			return fail(err)
		}
		if q.recv, err = stage.NewRecvPath(env, sc); err != nil {
			q.send.Close()
			return fail(err)
		}
		q.snd = host.NewSender(n, q.send)
		if q.rcv, err = host.NewReceiver(n, cfg.ReplayWindow); err != nil {
			q.send.Close()
			q.recv.Close()
			return fail(err)
		}
		if cfg.Reserve > 0 {
			q.snd.Reserve(cfg.Reserve)
			q.small.Reserve(cfg.Reserve)
		}
		q.rxBatch = make([]*packet.Buffer, 0, rxBurst)
		if cfg.Inline {
			q.inl = newCompleter(256)
			q.snd.SetDrainer(func() { q.turn() })
		}
		q.lanes = make([]laneStat, q.send.Lanes())
		p.queues = append(p.queues, q)
	}
	pol, err := p.build(cfg.SAs, cfg.Bundles, &policy{in: map[inKey]*inRule{}})
	if err != nil {
		return fail(err)
	}
	p.pol.Store(pol)
	for _, q := range p.queues {
		q.recvDone = make(chan struct{})
		if cfg.Inline {
			close(q.recvDone) // no goroutines: Stop turns the queues itself
			continue
		}
		for lane := range q.send.Lanes() {
			p.wg.Add(1)
			go func() { defer p.wg.Done(); q.sendCompletions(lane) }()
		}
		go func() { defer close(q.recvDone); q.recvCompletions() }()
	}
	return p, nil
}

type nullProtocol struct{}

func (nullProtocol) Status(nic.StatusIndication) {}

// build offloads the SAs of states that old does not have (matched by stateKey) and
// returns the policy of states: the old rules for the SAs in both, new ones for the rest,
// in the order of states. Each bundle makes its two states one SA (ESP, then AH over it),
// in the place of its ESP state. On an error the SAs it added are deleted again.
func (p *Path) build(states []xfrm.State, bundles []xfrm.Bundle, old *policy) (*policy, error) {
	ahOf, err := bundleMap(states, bundles)
	if err != nil {
		return nil, err
	}
	oldOut := map[string]*outRule{}
	for _, o := range old.out {
		oldOut[o.key] = o
	}
	oldIn := map[string]*inRule{}
	for _, in := range old.inList {
		oldIn[in.key] = in
	}
	pol := &policy{in: map[inKey]*inRule{}}
	var added []func()
	undo := func() {
		for _, u := range slices.Backward(added) {
			u()
		}
	}
	seen := map[string]int{}
	for i := range states {
		st := &states[i]
		ahIdx, bundled := ahOf[i]
		if bundled && ahIdx < 0 {
			continue // the AH state of a bundle: offloaded with its ESP state
		}
		var ahSt *xfrm.State
		key := stateKey(st)
		what := fmt.Sprintf("SA 0x%08x", st.SPI)
		if bundled {
			ahSt = &states[ahIdx]
			key += "&" + stateKey(ahSt)
			what = fmt.Sprintf("bundle of ESP SA 0x%08x and AH SA 0x%08x (line %d)", st.SPI, ahSt.SPI, ahSt.Line)
		}
		if prev, ok := seen[key]; ok {
			undo()
			return nil, fmt.Errorf("%s:%d: %s: the same SA as on line %d", st.File, st.Line, what, prev)
		}
		seen[key] = st.Line
		var out *outRule
		if st.Dir != xfrm.In {
			if out = oldOut[key]; out == nil {
				if out, err = newOutRule(key, st, ahSt, len(p.queues)); err != nil {
					undo()
					return nil, fmt.Errorf("%s:%d: %s (outbound): %w", st.File, st.Line, what, err)
				}
				q := p.queues[out.queue]
				q.txMu.Lock()
				h, err := q.snd.AddSA(out.cfg)
				q.txMu.Unlock()
				if err != nil {
					undo()
					return nil, fmt.Errorf("%s:%d: %s (outbound): %w", st.File, st.Line, what, err)
				}
				out.handle = h
				added = append(added, func() { q.txMu.Lock(); q.snd.DeleteSA(h); q.txMu.Unlock() })
			}
			pol.out = append(pol.out, out)
		}
		if st.Dir != xfrm.Out {
			// On the wire the outermost header names the SA: AH's SPI for a bundle.
			k := inKey{st.SPI, st.Dst}
			if ahSt != nil {
				k.spi = ahSt.SPI
			}
			if prev := pol.in[k]; prev != nil {
				undo()
				return nil, fmt.Errorf("%s:%d: %s (inbound): SPI and destination %v already used on line %d", st.File, st.Line, what, st.Dst, prev.st.Line)
			}
			in := oldIn[key]
			if in == nil {
				in = &inRule{key: key, st: *st, cfg: st.Inbound()}
				if ahSt != nil {
					a := ahSt.Inbound()
					in.cfg.AH = &a
				}
				in.queue = QueueOf(in.cfg.Src, in.cfg.Dst, len(p.queues))
				if out != nil {
					in.paired = out.handle
				}
				q := p.queues[in.queue]
				q.hostMu.Lock()
				h, err := q.rcv.AddSA(in.cfg, in.paired)
				q.hostMu.Unlock()
				if err != nil {
					undo()
					return nil, fmt.Errorf("%s:%d: %s (inbound): %w", st.File, st.Line, what, err)
				}
				in.handle = h
				added = append(added, func() { q.hostMu.Lock(); q.rcv.DeleteSA(h); q.hostMu.Unlock() })
			}
			pol.in[k] = in
			pol.inList = append(pol.inList, in)
		}
	}
	return pol, nil
}

// bundleMap checks bundles against states and maps each bundled state's index to its AH
// state's index (an ESP state) or -1 (an AH state).
func bundleMap(states []xfrm.State, bundles []xfrm.Bundle) (map[int]int, error) {
	m := map[int]int{}
	for i, b := range bundles {
		if b.ESP < 0 || b.ESP >= len(states) || b.AH < 0 || b.AH >= len(states) {
			return nil, fmt.Errorf("fastpath: bundle %d names states %d and %d of %d", i, b.ESP, b.AH, len(states))
		}
		e, a := &states[b.ESP], &states[b.AH]
		if e.Proto != xfrm.ESP || a.Proto != xfrm.AH {
			return nil, fmt.Errorf("%s:%d: bundle of SA 0x%08x (%v) and SA 0x%08x (%v, line %d): want ESP, then AH", e.File, e.Line, e.SPI, e.Proto, a.SPI, a.Proto, a.Line)
		}
		if _, dup := m[b.ESP]; dup {
			return nil, fmt.Errorf("%s:%d: SA 0x%08x is in two bundles", e.File, e.Line, e.SPI)
		}
		if _, dup := m[b.AH]; dup {
			return nil, fmt.Errorf("%s:%d: SA 0x%08x is in two bundles", a.File, a.Line, a.SPI)
		}
		if e.Dir != a.Dir {
			return nil, fmt.Errorf("%s:%d: bundle of SA 0x%08x (dir %v) and SA 0x%08x (dir %v, line %d): different directions", e.File, e.Line, e.SPI, e.Dir, a.SPI, a.Dir, a.Line)
		}
		m[b.ESP], m[b.AH] = b.AH, -1
	}
	return m, nil
}

// stateKey identifies an SA across reloads: everything that makes it what it is (every
// field of the state, whatever the parser grows), not where it was written.
func stateKey(st *xfrm.State) string {
	c := *st
	c.File, c.Line = "", 0
	encap := ""
	if c.Encap != nil {
		encap = fmt.Sprintf("%+v", *c.Encap)
		c.Encap = nil
	}
	return fmt.Sprintf("%+v|%s", c, encap)
}

// Queues returns the number of queues.
func (p *Path) Queues() int { return len(p.queues) }

// Queue returns queue i.
func (p *Path) Queue(i int) *Queue { return p.queues[i] }

// Protect is Queue(0).Protect, for a Path of one queue.
func (p *Path) Protect(frame []byte, linkLen int, cookie uint64) (Outcome, error) {
	return p.queues[0].Protect(frame, linkLen, cookie)
}

// Unprotect is Queue(0).Unprotect.
func (p *Path) Unprotect(frame []byte, linkLen int, cookie uint64) error {
	return p.queues[0].Unprotect(frame, linkLen, cookie)
}

// Flush flushes every queue (Queue.Flush).
func (p *Path) Flush() {
	for _, q := range p.queues {
		q.Flush()
	}
}

// SetMTU changes Config.MTU while packets flow (the interface behind the sealed side
// changed its MTU): Protect measures packets against mtu from then on. 0 turns the check
// off; otherwise mtu must be 68 to 65535.
func (p *Path) SetMTU(mtu int) error {
	if mtu != 0 && (mtu < 68 || mtu > 65535) {
		return fmt.Errorf("fastpath: MTU %d: want 68 to 65535", mtu)
	}
	p.mtu.Store(int32(mtu))
	return nil
}

// MTU returns the MTU Protect measures sealed packets against (0: none).
func (p *Path) MTU() int { return int(p.mtu.Load()) }

// NIC returns the NIC, for queries (capabilities, configuration, the SA table).
func (p *Path) NIC() *nic.NIC { return p.n }

// Stop ends the entry points (they return ErrClosed afterwards) and waits until every
// packet inside the NIC has completed and reached the callbacks: first the send side
// (whose callbacks may still give buffers to UnprotectBuffer), then the receive side.
// Stats are final after it. It is safe to call more than once.
func (p *Path) Stop() {
	p.stopOnce.Do(func() {
		p.stopped.Store(true)
		for _, q := range p.queues {
			q.txMu.Lock()
			q.snd.Close()
			q.txMu.Unlock()
		}
		p.wg.Wait() // send completions; they may feed the receive paths
		p.turnAll()
		for _, q := range p.queues {
			q.rxMu.Lock()
			q.flushRx()
			q.recv.Close()
			q.rxClosed = true
			q.rxMu.Unlock()
		}
		p.turnAll()
		for _, q := range p.queues {
			<-q.recvDone
			q.send.Wait()
			q.recv.Wait()
		}
	})
}

// turnAll runs the queues of an inline path until nothing is left in them, for Stop, once
// their owners have stopped calling them.
func (p *Path) turnAll() {
	if p.cfg.Inline {
		for _, q := range p.queues {
			q.turn()
		}
	}
}

// Close stops the path (Stop), deletes every SA from the NIC (DELETE_SA) and closes the
// NIC.
func (p *Path) Close() error {
	p.Stop()
	p.reloadMu.Lock()
	defer p.reloadMu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	defer p.n.Close()
	var del *nic.DeleteSA
	for _, h := range p.handles() {
		del = &nic.DeleteSA{OffloadHandle: h, Next: del}
	}
	if del != nil {
		if _, err := p.n.OIDDeleteSA(del); err != nil && !errors.Is(err, sa.ErrStaleHandle) {
			return fmt.Errorf("fastpath: DELETE_SA: %w", err)
		}
	}
	return nil
}

// handles lists the handles of the SAs in force, outbound then inbound.
func (p *Path) handles() []sa.Handle {
	pol := p.pol.Load()
	var hs []sa.Handle
	for _, o := range pol.out {
		hs = append(hs, o.handle)
	}
	for _, in := range pol.inList {
		hs = append(hs, in.handle)
	}
	return hs
}

// CryptoImpls names the implementations the NIC chose for the SAs in force
// (esp.Transform.Impl, ah.Transform.Impl), sorted, each once.
func (p *Path) CryptoImpls() []string {
	t := p.n.Controller().Snapshot()
	seen := map[string]bool{}
	for _, h := range p.handles() {
		s := t.Lookup(h)
		if s != nil && s.Transform != nil {
			seen[s.Transform.Impl()] = true
		}
		if s != nil && s.AH != nil && s.AH.Transform != nil {
			seen[s.AH.Transform.Impl()] = true
		}
	}
	return slices.Sorted(maps.Keys(seen))
}
