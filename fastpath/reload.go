package fastpath

import (
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"time"

	"github.com/ov2dev/ov2/host"
	"github.com/ov2dev/ov2/xfrm"
)

// ReloadResult says what a Reload changed.
type ReloadResult struct {
	Added, Removed, Kept int // SAs, each direction counted once
	// Unfinished counts the packets of removed outbound SAs that were still inside the NIC
	// after DrainTimeout; they fail with the reason unknown-handle (counted in Stats.Failed).
	Unfinished uint64
}

// DrainTimeout bounds how long Reload waits for the packets of a removed outbound SA that
// are inside the NIC to complete before it deletes the SA.
var DrainTimeout = time.Second

// Reload makes states the SAs in force, while packets flow:
//
//  1. SAs in states and not in force (matched by everything but file and line) are
//     offloaded through their queues' hosts (ADD_SA); on an error nothing changes.
//  2. With every queue's send side held, the new policy replaces the old one at once: a
//     packet is framed under one or the other, never a mix.
//  3. Packets already submitted with a removed outbound SA are given up to DrainTimeout to
//     complete and pass through the Protected callback; then the removed SAs are deleted
//     (DELETE_SA), outbound and inbound.
//
// SAs in both keep everything (sequence numbers, windows, counters). When Reload returns,
// no packet is sealed or opened with a removed SA. Reload(states) is
// ReloadBundles(states, nil).
func (p *Path) Reload(states []xfrm.State) (ReloadResult, error) {
	return p.ReloadBundles(states, nil)
}

// ReloadBundles is Reload for states and the ESP+AH bundles of them (Config.Bundles). A
// bundle is one SA, which stays in force when both its states and the pairing do.
func (p *Path) ReloadBundles(states []xfrm.State, bundles []xfrm.Bundle) (ReloadResult, error) {
	p.reloadMu.Lock()
	defer p.reloadMu.Unlock()
	if p.closed || p.stopped.Load() {
		return ReloadResult{}, ErrClosed
	}
	old := p.pol.Load()
	pol, err := p.build(states, bundles, old)
	if err != nil {
		return ReloadResult{}, err
	}
	var res ReloadResult
	keepOut := map[*outRule]bool{}
	for _, o := range pol.out {
		keepOut[o] = true
	}
	keepIn := map[*inRule]bool{}
	for _, in := range pol.inList {
		keepIn[in] = true
	}
	var goneOut []*outRule
	var goneIn []*inRule
	for _, o := range old.out {
		if !keepOut[o] {
			goneOut = append(goneOut, o)
		}
	}
	for _, in := range old.inList {
		if !keepIn[in] {
			goneIn = append(goneIn, in)
		}
	}
	oldKeys := map[string]bool{}
	for _, o := range old.out {
		oldKeys[o.key] = true
	}
	for _, in := range old.inList {
		oldKeys[in.key] = true
	}
	newKeys := map[string]bool{}
	for i := range states {
		k := stateKey(&states[i])
		newKeys[k] = true
		if oldKeys[k] {
			res.Kept++
		} else {
			res.Added++
		}
	}
	for k := range oldKeys {
		if !newKeys[k] {
			res.Removed++
		}
	}

	// The switch: with every send side held, no Protect is between its policy decision
	// and its framing. What each queue had submitted by then is what must drain.
	marks := make([]uint64, len(p.queues))
	for _, q := range p.queues {
		q.txMu.Lock()
	}
	p.pol.Store(pol)
	for i, q := range p.queues {
		q.snd.Flush()
		marks[i], _ = q.snd.Progress()
	}
	for _, q := range p.queues {
		q.txMu.Unlock()
	}

	var errs []error
	if len(goneOut) > 0 {
		res.Unfinished = p.drain(goneOut, marks)
		for _, o := range goneOut {
			q := p.queues[o.queue]
			q.txMu.Lock()
			if err := q.snd.DeleteSA(o.handle); err != nil {
				errs = append(errs, fmt.Errorf("%s:%d: SA 0x%08x (outbound): %w", o.st.File, o.st.Line, o.cfg.SPI, err))
			}
			q.txMu.Unlock()
		}
	}
	for _, in := range goneIn {
		q := p.queues[in.queue]
		q.hostMu.Lock()
		if err := q.rcv.DeleteSA(in.handle); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: SA 0x%08x (inbound): %w", in.st.File, in.st.Line, in.cfg.SPI, err))
		}
		q.hostMu.Unlock()
	}
	return res, errors.Join(errs...)
}

// drain waits until each queue that held a removed SA has completed what it had submitted
// at the switch (marks), and the Protected callback has returned for each of those packets
// (so a caller that sends them there has sent them), or DrainTimeout passes; it returns how
// many were left.
func (p *Path) drain(gone []*outRule, marks []uint64) uint64 {
	need := map[int]bool{}
	for _, o := range gone {
		need[o.queue] = true
	}
	deadline := time.Now().Add(DrainTimeout)
	var left uint64
	for spin := 0; ; spin++ {
		left = 0
		for i := range need {
			if done := p.queues[i].txDone.Load(); done < marks[i] {
				left += marks[i] - done
			}
		}
		if left == 0 || time.Now().After(deadline) {
			return left
		}
		if spin < 100 {
			runtime.Gosched()
		} else {
			time.Sleep(50 * time.Microsecond)
		}
	}
}

// Rules are the SAs in force as the queues divide them: what a steering program (a
// PACKET_FANOUT program, RSS) needs to send each packet to its SA's queue.
type Rules struct {
	// Out are the outbound SAs in policy order: a packet from an address in Src to one in
	// Dst belongs to Queue (the first that matches). A prefix that is not valid matches
	// any address.
	Out []OutRule
	// In are the inbound SAs: ESP (or ESP in UDP when UDP) with SPI to Dst belongs to Queue.
	In []InRule
}

// OutRule is one outbound SA's selector and queue.
type OutRule struct {
	Src, Dst netip.Prefix
	Queue    int
}

// InRule is one inbound SA's lookup key and queue.
type InRule struct {
	SPI   uint32
	Dst   netip.Addr
	UDP   bool
	Queue int
}

// Rules returns the SAs in force as the queues divide them.
func (p *Path) Rules() Rules {
	pol := p.pol.Load()
	var r Rules
	for _, o := range pol.out {
		c := &o.cfg
		rule := OutRule{Src: c.Selector.Src, Dst: c.Selector.Dst, Queue: o.queue}
		if !c.Selector.Src.IsValid() && !c.Selector.Dst.IsValid() && c.Mode != host.Tunnel {
			rule.Src, rule.Dst = netip.PrefixFrom(c.Src, c.Src.BitLen()), netip.PrefixFrom(c.Dst, c.Dst.BitLen())
		}
		r.Out = append(r.Out, rule)
	}
	for _, in := range pol.inList {
		r.In = append(r.In, InRule{SPI: in.cfg.SPI, Dst: in.cfg.Dst, UDP: in.cfg.NATT, Queue: in.queue})
	}
	return r
}
