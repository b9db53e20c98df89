package stage

import (
	"github.com/ov2dev/ov2/ah"
	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/sa"
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
		front := &txFront{classify: classify, lookup: lookup}
		back := &txBack{seal: seal, complete: complete}
		if cfg.Placement == Fused {
			return []group{{pre: []step{front}, exp: lso, post: []step{back}}}
		}
		return []group{
			{pre: []step{front}},
			{exp: lso},
			{pre: []step{back}},
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

// txFront runs the classify and lookup stages, which every placement puts in one group, in
// one pass over the burst: each packet is classified and, if it has IPsec work, looked up,
// while its lines are in the cache.
type txFront struct {
	classify *txClassify
	lookup   *txLookup
}

func (f *txFront) process(b *Burst, tb *sa.Table) {
	espOn, ahOn := f.classify.allowed()
	b.startCarry(tb)
	pkts := b.Slice()
	prefetchHeads(pkts, false) // the request, Meta and the IP header
	for i, p := range pkts {
		f.classify.one(p, &espOn, &ahOn)
		if !p.Tx.Failed() && hasIPsec(p) {
			f.lookup.one(b, i, p, tb)
		}
	}
}

// txBack runs the seal and completion stages, which every placement puts in one group, in
// one pass over the burst, and publishes the SAs' and the lane's counters once at its end.
type txBack struct {
	seal     *txSeal
	complete *txComplete
}

func (k *txBack) process(b *Burst, tb *sa.Table) {
	var t txTally
	pkts := b.Slice()
	prefetchStart(b, tb, pkts)
	for i, p := range pkts {
		if j := i + prefetchDistance; prefetchable(pkts, j) {
			prefetchFor(b, tb, pkts[j], j) // prefetch.go
		}
		if !p.Tx.Failed() && hasIPsec(p) {
			k.seal.one(b, i, p, tb)
		}
		k.complete.one(p, &t)
	}
	k.seal.counts.flush()
	k.complete.publish(&t)
}
