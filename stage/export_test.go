package stage

// The benchmarks of one lane's own cost (lane_bench_test.go) run a path's lanes on the
// benchmark's goroutine.

// NewManualSendPath is NewSendPath with no goroutines: the lanes run in TurnLanes.
func NewManualSendPath(env Env, cfg SendConfig) (*SendPath, error) {
	cfg.Inline = true
	return NewSendPath(env, cfg)
}

// NewManualRecvPath is NewRecvPath with no goroutines: the lanes run in TurnLanes.
func NewManualRecvPath(env Env, cfg Config) (*RecvPath, error) {
	cfg.Inline = true
	return NewRecvPath(env, cfg)
}

// TurnLanes runs the lanes of an Inline path on what they hold.
func (p *path) TurnLanes() { p.turnLanes() }

// turnLanes runs every group of every lane of an Inline path on what its
// in-ring holds, without waiting, on the caller's goroutine.
func (p *path) turnLanes() {
	for _, l := range p.lanes {
		for gi, x := range l.runners {
			for {
				n := l.rings[gi].DequeueBurst(x.b.Pkts[:p.cfg.Burst])
				if n == 0 {
					break
				}
				x.burst(n)
			}
		}
	}
}
