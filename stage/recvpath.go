package stage

import (
	"github.com/ov2dev/ov2/ah"
	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/packet"
)

// RecvPath is the NIC's receive side:
//
//	wire ─Submit─► (picks the lane by SPI) ─► [lane in-ring] ─► classify ─► SA lookup
//	     ─► AH verify, ESP open ─► OOB annotate ─► [lane out-ring] ─Completions─► indicate to the host
//
// One goroutine (the wire side) calls Submit and Close; another calls Poll or Completions,
// which return every packet, processed or not, with its receive OOB (R-RX-5). Fused runs a
// lane's stages on one goroutine; Split runs classify and lookup (one pass), open, and
// annotate on three.
type RecvPath struct {
	*path
	stats []*rxLaneStats
}

// NewRecvPath starts the lanes. Close stops them.
func NewRecvPath(env Env, cfg Config) (*RecvPath, error) {
	if err := check(&env, &cfg); err != nil {
		return nil, err
	}
	r := &RecvPath{}
	build := func(int) []group {
		st := new(rxLaneStats)
		r.stats = append(r.stats, st)
		lookup := &rxLookup{env: &env} // classifies each packet, then looks it up
		open := &rxOpen{scratch: new(esp.Scratch), ah: new(ah.Scratch)}
		complete := &rxComplete{policy: env.DeleteReq, stats: st}
		if cfg.Placement == Fused {
			return []group{{pre: []step{lookup, open, complete}}}
		}
		return []group{{pre: []step{lookup}}, {pre: []step{open}}, {pre: []step{complete}}}
	}
	r.path = newPath(env.SAs, cfg, rxLaneKey, build)
	return r, nil
}

// Submit hands received frames (each starting at its IP header) to the NIC. It returns when
// every frame is in a lane's ring. Wire goroutine only.
func (r *RecvPath) Submit(pkts []*packet.Buffer) {
	r.submit(pkts, r.count)
}

func (r *RecvPath) count(lane, n int) { r.stats[lane].received.Add(uint64(n)) }

// Stats sums the lanes' counters (exact when the path is idle).
func (r *RecvPath) Stats() RecvStats {
	var st RecvStats
	for _, l := range r.stats {
		l.addTo(&st)
	}
	return st
}
