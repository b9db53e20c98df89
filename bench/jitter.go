package bench

import (
	"context"
	"runtime"
	"sync"
	"time"
)

// Jitter is how often the machine takes the CPU away from a thread that never blocks: the
// floor under any latency percentile. One goroutine per P, each locked to its thread, reads
// the clock in a tight loop for the window; a gap between two reads longer than
// JitterThreshold is a stall (the thread was descheduled: another thread, an interrupt, the
// hypervisor).
type Jitter struct {
	Seconds        float64 `json:"seconds"`
	Threads        int     `json:"threads"`
	ThresholdUS    float64 `json:"threshold_us"`
	StallsPerSec   float64 `json:"stalls_per_s"`    // per thread
	StalledPercent float64 `json:"stalled_percent"` // of each thread's time, mean
	MaxStallUS     float64 `json:"max_stall_us"`
}

// JitterThreshold is the gap that counts as a stall: the latency target.
const JitterThreshold = 50 * time.Microsecond

// measureJitter runs the spinning threads for d.
func measureJitter(ctx context.Context, d time.Duration) Jitter {
	n := runtime.GOMAXPROCS(0)
	type res struct {
		stalls  int
		stalled time.Duration
		max     time.Duration
		ran     time.Duration // from the thread's first clock read to its last
	}
	out := make([]res, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			start := time.Now()
			last := start
			r := &out[i]
			for k := 0; ; k++ {
				now := time.Now()
				if gap := now.Sub(last); gap > JitterThreshold {
					r.stalls++
					r.stalled += gap
					r.max = max(r.max, gap)
				}
				last = now
				if now.Sub(start) >= d || (k&4095 == 0 && ctx.Err() != nil) {
					r.ran = now.Sub(start)
					return
				}
			}
		}()
	}
	wg.Wait()
	j := Jitter{Seconds: d.Seconds(), Threads: n, ThresholdUS: float64(JitterThreshold) / 1e3}
	// Each thread's figures are over the time it actually ran, not d: a stall that begins
	// before the window's end lasts past it (the thread notices the end only when it runs
	// again), and over d alone it could make a thread stalled more than 100% of the time.
	for _, r := range out {
		if r.ran <= 0 {
			continue
		}
		j.StallsPerSec += float64(r.stalls) / r.ran.Seconds() / float64(n)
		j.StalledPercent += float64(r.stalled) / float64(r.ran) * 100 / float64(n)
		j.MaxStallUS = max(j.MaxStallUS, float64(r.max)/1e3)
	}
	j.StalledPercent = min(j.StalledPercent, 100) // a sum of thirds may round above
	return j
}
