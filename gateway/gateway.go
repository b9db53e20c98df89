package gateway

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ov2dev/ov2/fastpath"
	"github.com/ov2dev/ov2/live"
	"github.com/ov2dev/ov2/nic"
	"github.com/ov2dev/ov2/xfrm"
)

// Config is what New needs.
type Config struct {
	// SAs, as `ov2 replay --sa` takes them (xfrm.ParseConfigFile: every suite). A state
	// without `dir` is offloaded both ways.
	SAs []xfrm.State
	// Bundles are the ESP+AH bundles the policies of the SA file make of SAs
	// (xfrm.Config.Bundles).
	Bundles []xfrm.Bundle
	// Inside and Outside are the interfaces: plain traffic on the inside, ESP on the
	// outside. They need no IP address; they are put in promiscuous mode while the
	// gateway runs.
	Inside, Outside string
	// Lanes is the number of lanes: fast-path queues, each with a receive socket on each
	// interface (in one PACKET_FANOUT group per interface) and a worker; 0 means 1.
	Lanes int
	// NIC is the NIC's configuration; nil means nic.DefaultConfig().
	NIC *nic.Config
	// Recv shapes the receive rings (Promisc and IgnoreOutgoing are always set).
	Recv live.RecvOptions
	// QdiscBypass sends past the interfaces' queueing disciplines (PACKET_QDISC_BYPASS).
	QdiscBypass bool
	// Notice, if set, is told in one line when an interface goes down (or loses carrier),
	// when it is up again, and when its MTU changes (which the gateway follows). It is
	// called from a goroutine of Run's. An interface that is removed ends Run with an
	// error instead.
	Notice func(msg string)
}

// Gateway is a running bump in the wire between two interfaces: see the package
// documentation. New opens it, Run forwards until its context ends, Close releases it.
type Gateway struct {
	cfg        Config
	fp         *fastpath.Path
	lanes      []*lane
	inRx       []*live.Receiver
	outRx      []*live.Receiver
	inMTU      atomic.Int32 // the interfaces' MTUs, followed by the link watcher
	outMTU     atomic.Int32
	in, out    sideStats    // what came in on each interface
	started    atomic.Int64 // Unix ns when Run began (Report may run on another goroutine)
	elapsed    atomic.Int64 // ns, set when Run returns
	stopping   atomic.Bool
	ran        atomic.Bool
	reloadMu   sync.Mutex
	reloads    atomic.Uint64
	reloadErrs atomic.Uint64
	lastReload atomic.Pointer[ReloadInfo]
	closeOnce  sync.Once
	// linkKick wakes the link watcher when a worker's poll saw a socket error.
	linkKick chan struct{}
	linkDown [2]atomic.Bool // inside, outside: down or without carrier, as the watcher saw
	failOnce sync.Once
	failed   chan struct{} // closed by fail
	failErr  error         // why, once failed is closed
}

// ReloadInfo describes the last Reload.
type ReloadInfo struct {
	At     time.Time
	Result fastpath.ReloadResult
	Err    string
}

// reserve is how many packet buffers each lane makes for each direction at the start: what
// a lane's rings hold at most (2 x 1024, a fast path lane's in- and out-ring) and some
// bursts, so that the data path allocates nothing from its first packet (about 6 MB per
// lane and direction).
const reserve = 2*1024 + 512

// ErrConfig is wrapped by the errors of a Config that cannot work.
var ErrConfig = errors.New("gateway: bad configuration")

// New opens the gateway: the fast path with the SAs offloaded, the interfaces' fanout
// groups of receive sockets and the send sockets. It must run in the network namespace of
// the interfaces. Errors name the interface or the SA.
func New(cfg Config) (*Gateway, error) {
	if cfg.Lanes == 0 {
		cfg.Lanes = 1
	}
	switch {
	case cfg.Inside == "" || cfg.Outside == "":
		return nil, fmt.Errorf("%w: both an inside and an outside interface are needed", ErrConfig)
	case cfg.Inside == cfg.Outside:
		return nil, fmt.Errorf("%w: the inside and the outside are the same interface %q", ErrConfig, cfg.Inside)
	case cfg.Lanes < 1 || cfg.Lanes > 64:
		return nil, fmt.Errorf("%w: %d lanes: want 1 to 64", ErrConfig, cfg.Lanes)
	}
	g := &Gateway{cfg: cfg, linkKick: make(chan struct{}, 1), failed: make(chan struct{})}
	ok := false
	defer func() {
		if !ok {
			g.closeSockets()
			if g.fp != nil {
				g.fp.Close()
			}
		}
	}()
	// Send sockets first: they check that the interfaces exist, are up and have carrier,
	// and the fast path's callbacks use them.
	for i := range cfg.Lanes {
		l := newLane(g, i)
		g.lanes = append(g.lanes, l)
		var err error
		// A link that is down at the start is waited for, as one that goes down later
		// (watchLinks): a gateway started with its interfaces, or before their carrier
		// comes up, runs.
		opts := live.Options{QdiscBypass: cfg.QdiscBypass, AllowDown: true}
		for _, s := range []struct {
			iface string
			to    **live.Sender
		}{{cfg.Outside, &l.toOut}, {cfg.Inside, &l.toIn}, {cfg.Outside, &l.sealOut}, {cfg.Inside, &l.openIn}} {
			if *s.to, err = live.Open(s.iface, opts); err != nil {
				return nil, err
			}
		}
		if l.aggOut, err = live.OpenAggregate(cfg.Outside, opts); err != nil {
			return nil, err
		}
		if l.aggIn, err = live.OpenAggregate(cfg.Inside, opts); err != nil {
			return nil, err
		}
		if l.efd, err = unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC); err != nil {
			return nil, fmt.Errorf("gateway: eventfd: %w", err)
		}
	}
	g.inMTU.Store(int32(g.lanes[0].toIn.MTU()))
	g.outMTU.Store(int32(g.lanes[0].toOut.MTU()))

	var err error
	g.fp, err = fastpath.New(fastpath.Config{SAs: cfg.SAs, Bundles: cfg.Bundles, NIC: cfg.NIC, Queues: cfg.Lanes, Inline: true, Bridge: true, LinkHeaders: true,
		MTU: int(g.outMTU.Load()), Reserve: reserve, Protected: g.protected, Unprotected: g.unprotected})
	if err != nil {
		return nil, err
	}
	for i, l := range g.lanes {
		l.q = g.fp.Queue(i)
		l.tx = l.q.Sending()
	}
	rules := g.fp.Rules()
	inProg, err := insideProgram(rules)
	if err != nil {
		return nil, err
	}
	outProg, err := outsideProgram(rules)
	if err != nil {
		return nil, err
	}
	ro := cfg.Recv
	ro.Promisc, ro.IgnoreOutgoing, ro.AllowDown, ro.VNetHdr = true, true, true, true
	if g.inRx, err = live.OpenFanout(cfg.Inside, cfg.Lanes, live.FanoutOptions{Mode: live.FanoutProgram, Program: inProg}, ro); err != nil {
		return nil, err
	}
	if g.outRx, err = live.OpenFanout(cfg.Outside, cfg.Lanes, live.FanoutOptions{Mode: live.FanoutProgram, Program: outProg}, ro); err != nil {
		return nil, err
	}
	for i, l := range g.lanes {
		l.inRx, l.outRx = g.inRx[i], g.outRx[i]
	}
	ok = true
	return g, nil
}

// Run forwards frames until ctx is done, then stops: the workers stop taking frames (within
// their poll interval, 100 ms), what is inside the NIC completes and is sent, and Run
// returns nil. If an interface is removed, Run stops the same way and returns an error
// saying which. An interface that goes down is waited for (Config.Notice hears of it).
// Call it once.
func (g *Gateway) Run(ctx context.Context) error {
	if g.ran.Swap(true) {
		return errors.New("gateway: Run called twice")
	}
	start := time.Now()
	g.started.Store(start.UnixNano())
	var wg sync.WaitGroup
	for _, l := range g.lanes {
		wg.Add(1)
		go func() { defer wg.Done(); l.run() }()
	}
	watchDone, watched := make(chan struct{}), make(chan struct{})
	go func() { defer close(watched); g.watchLinks(watchDone) }()
	select {
	case <-ctx.Done():
	case <-g.failed:
	}
	g.stopping.Store(true)
	for _, l := range g.lanes {
		l.wake()
	}
	wg.Wait()
	close(watchDone)
	<-watched
	g.fp.Stop() // the packets inside the NIC complete and go out
	g.elapsed.Store(int64(max(time.Since(start), 1)))
	select {
	case <-g.failed:
		return g.failErr
	default:
		return nil
	}
}

// linkEvery is how often the link watcher looks at the interfaces when no worker has
// woken it.
const linkEvery = 250 * time.Millisecond

// watchLinks follows the two interfaces until done is closed: it tells Config.Notice when
// one goes down or comes back, and fails the gateway when one is removed. The workers
// wake it when their poll(2) reports a socket error (the kernel's sign of a link going
// down or away); otherwise it looks every linkEvery.
func (g *Gateway) watchLinks(done <-chan struct{}) {
	t := time.NewTicker(linkEvery)
	defer t.Stop()
	sides := [2]struct {
		name string
		rx   *live.Receiver
		mtu  *atomic.Int32
	}{{"inside", g.inRx[0], &g.inMTU}, {"outside", g.outRx[0], &g.outMTU}}
	state := [2]live.LinkState{live.LinkUp, live.LinkUp}
	for i, sd := range sides {
		if s, _ := sd.rx.Link(); s == live.LinkDown {
			state[i] = s
			g.linkDown[i].Store(true)
			g.notice(fmt.Sprintf("the %s interface %q is down or has no carrier: waiting for it (nothing arrives on it, and frames for it are refused and counted until it is up)", sd.name, sd.rx.Name()))
		}
	}
	for {
		select {
		case <-done:
			return
		case <-t.C:
		case <-g.linkKick:
		}
		for i, sd := range sides {
			s, mtu := sd.rx.Link()
			if old := int(sd.mtu.Load()); s != live.LinkGone && mtu != old {
				g.setMTU(i == 1, mtu)
				msg := fmt.Sprintf("the %s interface %q has MTU %d now (it had %d)", sd.name, sd.rx.Name(), mtu, old)
				if m := sd.rx.MaxMTU(); mtu > m {
					msg += fmt.Sprintf("; its receive rings hold frames of MTU %d whole and cut longer ones (counted): restart the gateway to take them", m)
				}
				g.notice(msg)
			}
			if s == state[i] {
				continue
			}
			state[i] = s
			g.linkDown[i].Store(s != live.LinkUp)
			switch s {
			case live.LinkGone:
				g.fail(fmt.Errorf("gateway: the %s interface %q was removed", sd.name, sd.rx.Name()))
			case live.LinkDown:
				g.notice(fmt.Sprintf("the %s interface %q is down or has no carrier: nothing arrives on it, and frames for it are refused (and counted) until it is up", sd.name, sd.rx.Name()))
			case live.LinkUp:
				g.notice(fmt.Sprintf("the %s interface %q is up again", sd.name, sd.rx.Name()))
			}
		}
	}
}

// setMTU follows an interface's new MTU: what the workers bridge and answer with ICMP
// errors, what the senders take, and (outside) what the fast path measures sealed packets
// against.
func (g *Gateway) setMTU(outside bool, mtu int) {
	if outside {
		g.outMTU.Store(int32(mtu))
		g.fp.SetMTU(mtu)
	} else {
		g.inMTU.Store(int32(mtu))
	}
	for _, l := range g.lanes {
		if outside {
			l.toOut.SetMTU(mtu)
			l.sealOut.SetMTU(mtu)
		} else {
			l.toIn.SetMTU(mtu)
			l.openIn.SetMTU(mtu)
		}
	}
}

// kickLinks wakes the link watcher (a worker saw a socket error).
func (g *Gateway) kickLinks() {
	select {
	case g.linkKick <- struct{}{}:
	default:
	}
}

func (g *Gateway) notice(msg string) {
	if g.cfg.Notice != nil {
		g.cfg.Notice(msg)
	}
}

// fail stops Run with err (the first one).
func (g *Gateway) fail(err error) {
	g.failOnce.Do(func() {
		g.failErr = err
		close(g.failed)
	})
}

// Reload makes states the SAs in force while traffic flows (fastpath.Path.Reload: added SAs
// are offloaded with ADD_SA, removed ones deleted with DELETE_SA once their packets inside
// the NIC have completed), then gives the interfaces' fanout groups the programs for the new
// SAs. On an error before the switch nothing changes. bundles are the ESP+AH bundles of
// states (Config.Bundles).
func (g *Gateway) Reload(states []xfrm.State, bundles []xfrm.Bundle) (fastpath.ReloadResult, error) {
	g.reloadMu.Lock()
	defer g.reloadMu.Unlock()
	res, err := g.fp.ReloadBundles(states, bundles)
	info := &ReloadInfo{At: time.Now(), Result: res}
	if err == nil {
		rules := g.fp.Rules()
		var inProg, outProg []unix.SockFilter
		if inProg, err = insideProgram(rules); err == nil {
			if outProg, err = outsideProgram(rules); err == nil {
				if err = g.inRx[0].SetFanoutProgram(inProg); err == nil {
					err = g.outRx[0].SetFanoutProgram(outProg)
				}
			}
		}
	}
	if err != nil {
		info.Err = err.Error()
		g.reloadErrs.Add(1)
	} else {
		g.reloads.Add(1)
	}
	g.lastReload.Store(info)
	return res, err
}

// Close releases the sockets and the fast path (deleting the SAs from the NIC).
func (g *Gateway) Close() error {
	var err error
	g.closeOnce.Do(func() {
		g.closeSockets()
		if g.fp != nil {
			err = g.fp.Close()
		}
	})
	return err
}

func (g *Gateway) closeSockets() {
	for _, r := range append(append([]*live.Receiver(nil), g.inRx...), g.outRx...) {
		r.Stats() // keep the kernel's last counts
		r.Close()
	}
	for _, l := range g.lanes {
		for _, s := range []*live.Sender{l.toOut, l.toIn, l.sealOut, l.openIn} {
			if s != nil {
				s.Close()
			}
		}
		for _, a := range []*live.AggregateSender{l.aggOut, l.aggIn} {
			if a != nil {
				a.Close()
			}
		}
		if l.efd > 0 {
			unix.Close(l.efd)
		}
	}
}

// Path is the fast path under the gateway, for its statistics.
func (g *Gateway) Path() *fastpath.Path { return g.fp }
