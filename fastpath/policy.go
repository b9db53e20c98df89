package fastpath

import (
	"encoding/binary"
	"net/netip"
	"sync/atomic"

	"github.com/ov2dev/ov2/host"
	"github.com/ov2dev/ov2/sa"
	"github.com/ov2dev/ov2/xfrm"
)

// QueueOf is the queue, of queues, of packets between addresses a and b, in either
// direction: the 32-bit big-endian words of both addresses XORed together, multiplied by
// 0x9E3779B1 (mod 2^32), shifted right 16 bits, modulo queues. It is symmetric, so both
// directions between two hosts meet on one queue, and it is simple enough for a classic
// BPF fanout program to compute the same (package gateway does). An SA's queue is QueueOf
// its addresses (outer, in tunnel mode), or of its selector's network addresses when it has
// a selector; an address that is not valid counts as all zeros.
func QueueOf(a, b netip.Addr, queues int) int {
	if queues <= 1 {
		return 0
	}
	return int(Mix(xorWords(a)^xorWords(b)) % uint32(queues))
}

// Mix is QueueOf's mixing step: x * 0x9E3779B1 >> 16, in 32-bit arithmetic.
func Mix(x uint32) uint32 { return x * 0x9E3779B1 >> 16 }

func xorWords(a netip.Addr) uint32 {
	switch {
	case a.Is4():
		b := a.As4()
		return binary.BigEndian.Uint32(b[:])
	case a.Is6():
		b := a.As16()
		return binary.BigEndian.Uint32(b[0:]) ^ binary.BigEndian.Uint32(b[4:]) ^
			binary.BigEndian.Uint32(b[8:]) ^ binary.BigEndian.Uint32(b[12:])
	}
	return 0
}

// counters are one SA's packet counts, kept by the goroutines of its queue.
type counters struct {
	packets, bytes atomic.Uint64
}

// outRule is one outbound SA in the policy.
type outRule struct {
	key    string // identity across reloads (stateKey)
	st     xfrm.State
	cfg    host.SAConfig
	queue  int
	handle sa.Handle
	// in counts the packets given to Protect and sealed with it (plain lengths). Written
	// and read under the txMu of the rule's queue (Protect already holds it), so plain
	// fields: no atomic per packet.
	in Counter

	tunnel bool
	size   host.SealedSize // sealed lengths, for the MTU check
}

// inKey is the receive-side lookup key of an inbound SA: SPI and destination.
type inKey struct {
	spi uint32
	dst netip.Addr
}

// inRule is one inbound SA.
type inRule struct {
	key    string
	st     xfrm.State
	cfg    host.SAConfig
	queue  int
	handle sa.Handle
	paired sa.Handle // the outbound SA of the same state, deleted with it on SaDeleteReq
}

// policy is the SAs in force: an immutable value, replaced whole by Reload.
type policy struct {
	out []*outRule
	in  map[inKey]*inRule
	// inList keeps the inbound SAs in the order of the configuration.
	inList []*inRule
}

// match returns the first outbound SA that carries a packet from src to dst, or nil.
func (p *policy) match(src, dst netip.Addr) *outRule {
	for _, o := range p.out {
		if o.cfg.Matches(src, dst) {
			return o
		}
	}
	return nil
}

func newOutRule(key string, st, ahSt *xfrm.State, queues int) (*outRule, error) {
	cfg := st.Outbound()
	if ahSt != nil {
		a := ahSt.Outbound()
		cfg.AH = &a
	}
	size, err := host.NewSealedSize(cfg)
	if err != nil {
		return nil, err
	}
	o := &outRule{key: key, st: *st, cfg: cfg, tunnel: cfg.Mode == host.Tunnel, size: size}
	o.queue = outQueue(&cfg, queues)
	return o, nil
}

// outQueue is the queue of an outbound SA: QueueOf its selector's addresses, or in
// transport mode without a selector its own.
func outQueue(c *host.SAConfig, queues int) int {
	if c.Selector.Src.IsValid() || c.Selector.Dst.IsValid() || c.Mode == host.Tunnel {
		return QueueOf(c.Selector.Src.Addr(), c.Selector.Dst.Addr(), queues)
	}
	return QueueOf(c.Src, c.Dst, queues)
}

// sealed is the length of an IP packet of n bytes, whose IP header is hdr bytes, once
// sealed with o.
func (o *outRule) sealed(n, hdr int) int { return o.size.Len(n, hdr) }

// fits is the length of the longest IP packet with an IP header of hdr bytes that o seals
// into at most mtu bytes (0 if none does).
func (o *outRule) fits(mtu, hdr int) int { return o.size.Fits(mtu, hdr) }

// addrs reads the version, source, destination and header length of an IP packet, as far
// as the policy needs them; the host checks the rest. ok is false when it is not one.
func addrs(ip []byte) (src, dst netip.Addr, hdr int, ok bool) {
	if len(ip) < 20 {
		return
	}
	switch ip[0] >> 4 {
	case 4:
		hdr = int(ip[0]&0xf) * 4
		if hdr < 20 || hdr > len(ip) {
			return
		}
		return netip.AddrFrom4([4]byte(ip[12:16])), netip.AddrFrom4([4]byte(ip[16:20])), hdr, true
	case 6:
		if len(ip) < 40 {
			return
		}
		return netip.AddrFrom16([16]byte(ip[8:24])), netip.AddrFrom16([16]byte(ip[24:40])), 40, true
	}
	return
}
