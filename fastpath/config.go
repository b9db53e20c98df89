package fastpath

import (
	"errors"
	"fmt"

	"github.com/ov2dev/ov2/antireplay"
	"github.com/ov2dev/ov2/nic"
	"github.com/ov2dev/ov2/stage"
	"github.com/ov2dev/ov2/xfrm"
)

// Config is what New needs.
type Config struct {
	// SAs are offloaded in both directions as `ip xfrm state` means them: a state with
	// `dir out` is an outbound SA, `dir in` an inbound one, and one without `dir` both. The
	// outbound SAs form the policy in this order: the first whose selector (or, in transport
	// mode without a selector, src/dst) matches a packet carries it.
	SAs []xfrm.State
	// Bundles are ESP+AH bundles of SAs, as xfrm.ParseConfig makes them of `ip xfrm
	// policy` lines (indexes in SAs): each is one SA, in the place of its ESP state, that
	// seals with ESP and then AH over the result, and on receive checks AH, then opens ESP.
	Bundles []xfrm.Bundle
	// NIC is the NIC's configuration; nil means nic.DefaultConfig().
	NIC *nic.Config
	// Queues is the number of queues (see the package documentation); 0 means 1.
	Queues int
	// Lanes is the number of lanes of each path of each queue; 0 means 1.
	Lanes int
	// Placement is the stage placement of each lane (stage.Fused or stage.Split).
	Placement stage.Placement
	// ReplayWindow is the anti-replay window of inbound SAs that do not set one
	// (replay-window); 0 means antireplay.DefaultSize (1024).
	ReplayWindow int
	// MTU, if not 0, is the largest IP packet the network behind the sealed side takes:
	// Protect refuses a packet that would be longer once sealed, with ErrMTU and the
	// length that fits (Outcome.Fits), so that the caller can answer as a router does
	// (ICMP "fragmentation needed", ICMPv6 "packet too big") or fragment it first.
	// Path.SetMTU changes it while packets flow.
	MTU int
	// LinkHeaders says packets may be given with a link-layer header in front (linkLen > 0:
	// see the package documentation). Without it, linkLen must be 0, and the path skips the
	// header's keeping (a byte in each buffer's headroom, a cache line the packet's own data
	// does not touch).
	LinkHeaders bool
	// Reserve is how many packet buffers each queue makes for each direction when the path
	// starts (packet.Pool.Reserve), so that as long as no more are in flight at once no
	// packet allocates one, from the first on; more are made when needed. 0: none. The most
	// that can be in flight is about Lanes * 2 * 1024 (the rings) plus a few bursts; each
	// buffer takes about 2.4 KB.
	Reserve int
	// Bridge says the caller forwards what no SA covers itself, as a bump in the wire
	// does: Protect returns ErrNoSA for a packet that no outbound SA matches (instead of
	// passing it through the NIC in clear), and Unprotect returns ErrPolicy for a plain
	// (not ESP) packet that an inbound SA's selector (or, in transport mode, its src/dst)
	// covers: traffic that should have arrived protected, which the caller drops (Linux's
	// inbound policy check), where any other non-ESP packet gets ErrNoSA.
	Bridge bool
	// Inline runs each queue to completion on its owner's goroutine: no lane goroutines and
	// no completion goroutines; the owner calls Queue.Turn, which runs the stages and the
	// callbacks (see Turn for the rules). A packet then never waits for a parked goroutine
	// to be woken (on a virtual machine, tens to hundreds of microseconds each, and a packet
	// crossed three), which is what a forwarding box adds to every round trip. One lane per
	// path (Lanes 1); for more cores, more queues. ProtectLarge runs the queue itself (see
	// Queue.ProtectLarge).
	Inline bool
	// Protected takes each burst of completed Protect packets, on the goroutine of the send
	// lane that completed them (with Inline, the one calling Turn). nil: the packets are
	// released (and counted).
	Protected func(Burst)
	// Unprotected takes each burst of completed Unprotect packets, on the queue's receive
	// goroutine (with Inline, the one calling Turn). nil: released (and counted).
	Unprotected func(Burst)
}

// Errors of the entry points. Each is returned as it is (no allocation) or wrapped.
var (
	// ErrNoSA: Unprotect was given a packet that is not ESP (or ESP in UDP) for an inbound
	// SA (SPI and destination), or (Config.Bridge) Protect one that no outbound SA
	// matches. Nothing was queued; a bridge passes it on unchanged.
	ErrNoSA = errors.New("fastpath: not ESP for an inbound SA")
	// ErrPolicy: (Config.Bridge) Unprotect was given a plain packet that an inbound SA's
	// selector covers: it should have come protected. Drop it.
	ErrPolicy = errors.New("fastpath: plain packet that an inbound SA covers")
	// ErrWrongQueue: the packet's SA belongs to another queue (Rules, QueueOf).
	ErrWrongQueue = errors.New("fastpath: the packet's SA belongs to another queue")
	// ErrMTU: sealed, the packet would exceed Config.MTU (Outcome.Fits says what fits).
	ErrMTU = errors.New("fastpath: too big for the MTU once sealed")
	// ErrClosed: the path is stopping or stopped.
	ErrClosed = errors.New("fastpath: path closed")
)

func (c *Config) normalize() error {
	if c.Queues == 0 {
		c.Queues = 1
	}
	if c.Lanes == 0 {
		c.Lanes = 1
	}
	if c.NIC == nil {
		d := nic.DefaultConfig()
		c.NIC = &d
	}
	switch {
	case c.Queues < 1 || c.Queues > 256:
		return fmt.Errorf("fastpath: %d queues: want 1 to 256", c.Queues)
	case c.Lanes < 1 || c.Lanes > 256:
		return fmt.Errorf("fastpath: %d lanes: want 1 to 256", c.Lanes)
	case c.Inline && c.Lanes != 1:
		return fmt.Errorf("fastpath: %d lanes with Inline: an inline queue runs one lane on its owner's goroutine (use Queues for more)", c.Lanes)
	case c.ReplayWindow < 0 || c.ReplayWindow > antireplay.MaxSize:
		return fmt.Errorf("fastpath: replay window %d: want 0 to %d", c.ReplayWindow, antireplay.MaxSize)
	case c.Reserve < 0 || c.Reserve > 1<<20:
		return fmt.Errorf("fastpath: reserve %d buffers: want 0 to %d", c.Reserve, 1<<20)
	case c.MTU != 0 && (c.MTU < 68 || c.MTU > 65535):
		return fmt.Errorf("fastpath: MTU %d: want 68 to 65535", c.MTU)
	}
	return nil
}
