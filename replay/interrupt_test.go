package replay

import (
	"context"
	"errors"
	"testing"
	"time"
)

// hangGuard bounds how long an interrupted run may take to return in these tests. It is
// a guard against a run that never stops, not a measurement: on a busy machine the drain
// can take a while, so the figure is logged, and the one-second promise is checked by hand
// (see the README).
const hangGuard = 30 * time.Second

// runInterrupted starts Run, cancels its context once the output has received at least
// one frame (so that the run is under way however slowly a busy machine starts it), and
// returns what Run returned and how long it took to return after the cancel.
func runInterrupted(t *testing.T, in Input, cfg Config, rec *recorder) (*Report, error, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		rep *Report
		err error
		at  time.Time
	}
	done := make(chan result, 1)
	go func() {
		rep, err := Run(ctx, in, cfg)
		done <- result{rep, err, time.Now()}
	}()
	for end := time.Now().Add(hangGuard); ; time.Sleep(time.Millisecond) {
		rec.mu.Lock()
		n := len(rec.frames)
		rec.mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("no frame reached the output within %v", hangGuard)
		}
	}
	cancelled := time.Now()
	cancel()
	select {
	case res := <-done:
		took := res.at.Sub(cancelled)
		t.Logf("Run returned %v after the cancel", took.Round(time.Microsecond))
		return res.rep, res.err, took
	case <-time.After(hangGuard):
		t.Fatalf("Run did not return within %v of the cancel", hangGuard)
	}
	return nil, nil, 0
}

// An interrupt stops a top-speed run whose input has far fewer than 1024 packets a loop
// (the sample has 500): the run returns ErrInterrupted with a balanced report of what it
// did, and the output got exactly the frames the report counts.
func TestInterruptTopSpeed(t *testing.T) {
	in, cfg := demoConfig(t)
	cfg.Loops, cfg.RoundTrip = 1_000_000_000, true
	rec := &recorder{}
	cfg.Output = rec
	rep, err, _ := runInterrupted(t, in, cfg, rec)
	if !errors.Is(err, ErrInterrupted) || rep == nil {
		t.Fatalf("Run: report %v, error %v; want a report and ErrInterrupted", rep != nil, err)
	}
	if !rep.Interrupted || !rep.Balanced {
		t.Fatalf("interrupted %v, balanced %v; want both", rep.Interrupted, rep.Balanced)
	}
	if rep.Read.Packets == 0 || rep.Read.Packets >= uint64(cfg.Loops)*sampleTotal {
		t.Fatalf("read %d packets: want some, and fewer than the whole run", rep.Read.Packets)
	}
	if got := uint64(len(rec.frames)); got != rep.Out.Packets {
		t.Fatalf("output got %d frames, the report counts %d", got, rep.Out.Packets)
	}
	if rt := rep.RoundTrip; rt == nil || !rt.OK || rt.Equal != rep.Encrypt.In.Packets {
		t.Fatalf("round trip %+v, encrypted %d: every packet sent before the interrupt must come back equal", rt, rep.Encrypt.In.Packets)
	}
}

// An interrupt ends a pacing wait: at 0.05 packets/s the second packet is due 20 seconds
// after the first, and the run returns before that (within a second on an idle machine:
// the wait sleeps at most 50 ms at a time).
func TestInterruptPacingWait(t *testing.T) {
	in, cfg := demoConfig(t)
	cfg.Pace = Pacing{Mode: PPS, Rate: 0.05}
	rec := &recorder{}
	cfg.Output = rec
	rep, err, took := runInterrupted(t, in, cfg, rec)
	if !errors.Is(err, ErrInterrupted) || rep == nil || !rep.Interrupted || !rep.Balanced {
		t.Fatalf("Run: report %+v, error %v; want an interrupted, balanced report", rep, err)
	}
	if rep.Read.Packets != 1 || len(rec.frames) != 1 {
		t.Fatalf("read %d packets, wrote %d; want 1 and 1 (the second was not due yet)", rep.Read.Packets, len(rec.frames))
	}
	if took >= 20*time.Second {
		t.Fatalf("Run returned %v after the cancel: it waited for the next packet's due time", took)
	}
}

// A run that is not interrupted says so.
func TestNotInterrupted(t *testing.T) {
	in, cfg := demoConfig(t)
	rep, err := Run(context.Background(), in, cfg)
	if err != nil || rep.Interrupted {
		t.Fatalf("error %v, interrupted %v; want nil and false", err, rep.Interrupted)
	}
}
