package replay

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/ov2dev/ov2/packet"
)

// The pacer's schedule is exact arithmetic on 64-bit totals from the first packet's
// start: packet i of a --pps run is due i/rate seconds after the first, whatever happened
// before (no drift), and a wait never moves the schedule.
func TestPacerSchedulePPS(t *testing.T) {
	pc := &pacer{p: Pacing{Mode: PPS, Rate: 3}}
	var start int64
	for i := int64(0); i < 10; i++ {
		at := pc.due(0, 100)
		if i == 0 {
			start = at // the first packet is due at once
			if at != pc.start {
				t.Fatalf("packet 0 due at %d, want the start %d", at, pc.start)
			}
		}
		// i/3 s in whole nanoseconds, truncated: 0, 333333333, 666666666, 1000000000, ...
		want := start + i*1e9/3
		if at != want {
			t.Fatalf("packet %d due at +%d ns, want +%d ns", i, at-start, want-start)
		}
	}
	// 2^32 + 5 packets later the schedule is still exact (64-bit totals, no float drift
	// beyond the truncation of one division).
	pc.n = 1<<32 + 5
	if got, want := pc.due(0, 100)-start, int64(float64(1<<32+5)*1e9/3); got != want {
		t.Fatalf("packet 2^32+5 due at +%d ns, want +%d", got, want)
	}
}

// --mbps spaces packets by their size: a 1250-byte frame at 1 Mbit/s takes 10 ms.
func TestPacerScheduleMbps(t *testing.T) {
	pc := &pacer{p: Pacing{Mode: Mbps, Rate: 1}}
	sizes := []int{1250, 125, 1250, 60}
	wantOff := []int64{0, 10_000_000, 11_000_000, 21_000_000}
	var start int64
	for i, n := range sizes {
		at := pc.due(0, n)
		if i == 0 {
			start = at
		}
		if at-start != wantOff[i] {
			t.Fatalf("frame %d (%d bytes) due at +%d ns, want +%d", i, n, at-start, wantOff[i])
		}
	}
}

// The capture's own timing, twice as fast, over two loops: the second loop's first packet
// is due when the first loop's last one was (the gap between loops is not the capture's).
func TestPacerScheduleMultiplierLoops(t *testing.T) {
	pc := &pacer{p: Pacing{Mode: Multiplier, Rate: 2}}
	ts := []int64{1_000_000_000, 1_000_400_000, 1_002_000_000} // +0, +0.4 ms, +2 ms
	var got []int64
	var start int64
	for loop := 0; loop < 2; loop++ {
		for i, x := range ts {
			if i == 0 {
				pc.nextLoop(x)
			}
			at := pc.due(x, 100)
			if loop == 0 && i == 0 {
				start = at
			}
			got = append(got, at-start)
		}
	}
	want := []int64{0, 200_000, 1_000_000, 1_000_000, 1_200_000, 2_000_000}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("due offsets %v, want %v", got, want)
		}
	}
}

// waitUntil returns true once the time has come and never before it, and false at once
// when stopped.
func TestWaitUntil(t *testing.T) {
	var stop atomic.Bool
	at := packet.Now() + int64(3*time.Millisecond)
	if !waitUntil(at, &stop) {
		t.Fatal("waitUntil returned false without a stop")
	}
	if now := packet.Now(); now < at {
		t.Fatalf("waitUntil returned %d ns early", at-now)
	}
	stop.Store(true)
	if waitUntil(packet.Now()+int64(time.Hour), &stop) {
		t.Fatal("waitUntil returned true after a stop")
	}
}
