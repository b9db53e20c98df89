package stage

import (
	"github.com/ov2dev/ov2/ah"
	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/packet"
)

// SendConfig shapes a send path.
type SendConfig = Config

// SendPath is the NIC's send side: lanes of stages behind SPSC rings. One goroutine (the
// host's sender) calls Submit and Close; one goroutine calls Poll or Completions. They must
// be different goroutines, or Poll must be interleaved with Submit in bursts smaller than
// the rings: Submit waits while a lane is full, and a lane waits while its out-ring is full,
// so a host that submits without ever taking completions stops both (backpressure, never a
// drop).
type SendPath struct {
	*path
	stats []*laneStats
}

// NewSendPath starts the lanes. Close stops them.
func NewSendPath(env Env, cfg SendConfig) (*SendPath, error) {
	if err := check(&env, &cfg); err != nil {
		return nil, err
	}
	if env.Segments == nil {
		env.Segments = packet.NewPool(packet.SmallSize)
	}
	s := &SendPath{}
	build := func(int) []group {
		st := new(laneStats)
		s.stats = append(s.stats, st)
		classify := &txClassify{env: &env}
		lookup := &txLookup{}
		lso := &txLSO{pool: env.Segments, stats: st}
		seal := &txSeal{scratch: new(esp.Scratch), ah: new(ah.Scratch)}
		complete := &txComplete{stats: st}
		if cfg.Placement == Fused {
			return []group{{pre: []step{classify, lookup}, exp: lso, post: []step{seal, complete}}}
		}
		return []group{
			{pre: []step{classify, lookup}},
			{exp: lso},
			{pre: []step{seal, complete}},
		}
	}
	// A packet's lane follows its SA handle; packets without IPsec (handle 0) go to lane 0.
	s.path = newPath(env.SAs, cfg, func(b *packet.Buffer) uint64 { return b.Tx.OffloadHandle }, build)
	return s, nil
}

// Submit hands packets to the NIC. It returns when every packet is in a lane's ring,
// waiting for room if a lane is behind. The NIC owns the buffers from here until they come
// back from Completions (an LSO packet comes back as its segments; its own buffer is
// released by the NIC). Sender goroutine only.
func (s *SendPath) Submit(pkts []*packet.Buffer) {
	s.submit(pkts, s.count)
}

func (s *SendPath) count(lane, n int) { s.stats[lane].submitted.Add(uint64(n)) }

// Stats sums the lanes' counters. Counters are read one by one while packets move, so the
// invariant holds exactly only when the path is idle.
func (s *SendPath) Stats() SendStats {
	var st SendStats
	for _, l := range s.stats {
		l.addTo(&st)
	}
	return st
}
