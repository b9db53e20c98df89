package replay

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestRawLimitDemo: with RawLimit, the built-in sample's round trip measures the crypto
// alone over the 436 packets one pass seals (every suite of the demo, the ESP+AH bundle
// and the ESN SA across 2^32 included: each must open again after every seal, or the
// measurement fails) and reports the run's share of it.
func TestRawLimitDemo(t *testing.T) {
	in, cfg := demoConfig(t)
	cfg.Loops, cfg.RoundTrip, cfg.RawLimit = 3, true, true
	rep, err := Run(context.Background(), in, cfg)
	if err != nil {
		t.Fatal(err)
	}
	rl := rep.RawLimit
	if rl == nil || rl.Packets != sampleSA || rl.Excluded != 0 {
		t.Fatalf("raw limit %+v, want %d packets and none excluded", rl, sampleSA)
	}
	if rl.Seconds < RawLimitTime.Seconds() || rl.PerSecond <= 0 {
		t.Fatalf("raw limit ran %.3fs at %.0f/s", rl.Seconds, rl.PerSecond)
	}
	wantRun := float64(3*sampleSA) / rep.Elapsed
	if rl.RunPerSecond != wantRun || rl.Ratio != rl.RunPerSecond/rl.PerSecond {
		t.Fatalf("run %.0f/s (want %.0f), ratio %.3f", rl.RunPerSecond, wantRun, rl.Ratio)
	}
	var b strings.Builder
	rep.Print(&b)
	if !strings.Contains(b.String(), "raw limit: the crypto alone on 1 core, seal + open of the 436 packets one pass sealed: ") {
		t.Fatalf("report:\n%s", b.String())
	}
	// Three passes take a few milliseconds: the report says the rate is mostly start-up.
	if rep.Elapsed < shortRun.Seconds() && !strings.Contains(b.String(), "s: its rate includes its start-up; --loop more") {
		t.Fatalf("a %.3fs run without the short-run note:\n%s", rep.Elapsed, b.String())
	}

	// Without RawLimit, or without a round trip, there is none.
	cfg.RawLimit = false
	if rep, err := Run(context.Background(), in, cfg); err != nil || rep.RawLimit != nil {
		t.Fatalf("RawLimit off: %v, %+v", err, rep.RawLimit)
	}
}

// TestRawLimitExcludesLargeSends: a large send's segments are not packets of the capture;
// its record position is counted as excluded, the sealed packets of the same pass are
// measured.
func TestRawLimitExcludesLargeSends(t *testing.T) {
	payload := make([]byte, 20000)
	capture := pcapOf(t, [][]byte{
		tcpFrame(t, "192.0.2.1", "198.51.100.2", payload), // SA 0x1001, a large send
		tcpFrame(t, "192.0.2.1", "198.51.100.2", payload[:100]),
		tcpFrame(t, "192.0.2.1", "198.51.100.2", payload[:900]),
	})
	_, cfg := demoConfig(t)
	cfg.RoundTrip, cfg.RawLimit, cfg.Loops = true, true, 2
	rep, err := Run(context.Background(), BytesInput("gso", capture), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rl := rep.RawLimit; rl == nil || rl.Packets != 2 || rl.Excluded != 1 || rl.PerSecond <= 0 {
		t.Fatalf("raw limit %+v, want 2 packets, 1 excluded", rep.RawLimit)
	}
}

// TestRawLimitRefusesBadSample: a sample that does not verify with its SA is an error that
// names it, not a figure.
func TestRawLimitRefusesBadSample(t *testing.T) {
	in, cfg := demoConfig(t)
	cfg.RoundTrip, cfg.RawLimit = true, true
	var checked bool
	// Real sealed packets and the table they belong to, while the SAs are still offloaded.
	rep, err := runKeep(in, cfg, func(x *run) {
		tb := x.fp.NIC().Controller().Snapshot()
		var samples []rawSample
		for i := range x.raw {
			samples = append(samples, x.raw[i].got...)
		}
		if len(samples) != sampleSA {
			t.Errorf("%d samples, want %d", len(samples), sampleSA)
			return
		}
		if _, _, err := measureRaw(tb, samples, time.Millisecond); err != nil {
			t.Errorf("good samples: %v", err)
		}
		for _, i := range []int{0, 100, 435} {
			bad := append([]rawSample(nil), samples...)
			bad[i].ip = append([]byte(nil), bad[i].ip...)
			bad[i].ip[len(bad[i].ip)-1] ^= 0x40 // the last byte: ICV (ESP) or the AH-covered payload
			_, _, err := measureRaw(tb, bad, time.Millisecond)
			if want := fmt.Sprintf("raw limit: sample %d ", i); err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("sample %d tampered: %v", i, err)
			}
		}
		if _, _, err := measureRaw(tb, []rawSample{{ip: samples[0].ip, handle: 999999}}, time.Millisecond); err == nil ||
			!strings.Contains(err.Error(), "no such SA") {
			t.Errorf("unknown handle: %v", err)
		}
		checked = true
	})
	if err != nil || rep.RawLimit == nil || !checked {
		t.Fatalf("%v %+v, checked %v", err, rep, checked)
	}
}

// runKeep is Run with a look at the run just before its SAs are deleted.
func runKeep(in Input, cfg Config, look func(*run)) (*Report, error) {
	rawLimitHook = look
	defer func() { rawLimitHook = nil }()
	rep, err := Run(context.Background(), in, cfg)
	if err != nil && !errors.Is(err, ErrInterrupted) {
		return nil, err
	}
	return rep, err
}

// TestRawLimitNothingSealed: a capture with nothing for an SA has no raw limit to give, and
// says so instead of printing a rate of zero.
func TestRawLimitNothingSealed(t *testing.T) {
	capture := pcapOf(t, [][]byte{tcpFrame(t, "192.0.2.1", "203.0.113.50", make([]byte, 100))}) // no SA
	_, cfg := demoConfig(t)
	cfg.RoundTrip, cfg.RawLimit = true, true
	rep, err := Run(context.Background(), BytesInput("clear", capture), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rl := rep.RawLimit; rl == nil || rl.Packets != 0 || rl.PerSecond != 0 || rl.Ratio != 0 {
		t.Fatalf("raw limit %+v", rep.RawLimit)
	}
	var b strings.Builder
	rep.Print(&b)
	if !strings.Contains(b.String(), "raw limit: none: no packet of the run was sealed as a whole packet (0 large sends and combined packets left out)\n") {
		t.Fatalf("report:\n%s", b.String())
	}
	var j strings.Builder
	if err := rep.WriteJSON(&j); err != nil || !strings.Contains(j.String(), `"raw_limit": {`) {
		t.Fatalf("JSON: %v\n%s", err, j.String())
	}
}
