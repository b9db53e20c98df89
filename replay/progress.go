package replay

import (
	"fmt"
	"time"
)

// startProgress rewrites one status line on cfg.Progress until the returned function is
// called, which clears it.
func (r *run) startProgress() func() {
	w := r.cfg.Progress
	if w == nil {
		return func() {}
	}
	stop, done := make(chan struct{}), make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		t := time.NewTicker(r.cfg.ProgressEvery)
		defer t.Stop()
		var lastOut uint64
		last := start
		for {
			select {
			case <-stop:
				fmt.Fprintf(w, "\r%80s\r", "")
				return
			case now := <-t.C:
				out := r.outPkts.Load()
				rate := float64(out-lastOut) / now.Sub(last).Seconds()
				lastOut, last = out, now
				fmt.Fprintf(w, "\r  %12d read  %12d out  %9.3f Mpps  %8.3f Gbit/s total  %7.1fs ",
					r.readPkts.Load(), out, rate/1e6,
					float64(r.outBytes.Load())*8/now.Sub(start).Seconds()/1e9, now.Sub(start).Seconds())
			}
		}
	}()
	return func() { close(stop); <-done }
}
