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

// TurnLanes runs the lanes of an Inline path on what they hold, on the caller's
// goroutine, until they hold nothing but completions.
func (p *path) TurnLanes() {
	for p.Turn() > 0 {
	}
}
