package replay

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/ov2dev/ov2/packet"
)

// PaceMode is how the replay engine spaces packets.
type PaceMode uint8

// Pacing modes.
const (
	TopSpeed   PaceMode = iota // as fast as the engine and the output take them
	PPS                        // Rate packets per second
	Mbps                       // Rate megabits per second of input frames (link header included)
	Multiplier                 // the capture's own timing, Rate times faster (1: as captured)
)

// Pacing is the schedule the replay engine offers packets on.
type Pacing struct {
	Mode PaceMode
	Rate float64
}

func (p Pacing) String() string {
	switch p.Mode {
	case PPS:
		return fmt.Sprintf("%g packets/s", p.Rate)
	case Mbps:
		return fmt.Sprintf("%g Mbit/s", p.Rate)
	case Multiplier:
		if p.Rate == 1 {
			return "capture timing"
		}
		return fmt.Sprintf("capture timing x%g", p.Rate)
	}
	return "top speed"
}

// MaxRate is the highest Pacing.Rate: a trillion packets or megabits a second, or the
// capture's timing a trillion times faster, is beyond any run (and the due times, in
// nanoseconds, would all be the start).
const MaxRate = 1e12

// Check reports a rate the pacer cannot follow.
func (p Pacing) Check() error {
	if p.Mode != TopSpeed && !(p.Rate > 0 && p.Rate <= MaxRate) {
		return fmt.Errorf("pacing %v: the rate must be a positive number, at most %g", p, float64(MaxRate))
	}
	return nil
}

// pacer computes when each packet is due. Every due time is an absolute offset from the
// start, computed from 64-bit totals (packets, bits, capture time), never from the
// previous packet's time, so waiting late for one packet does not delay the ones after:
// the rate holds over any run length (no drift).
type pacer struct {
	p      Pacing
	start  int64  // packet.Now at the first packet
	n      uint64 // packets scheduled so far
	bits   uint64 // bits scheduled so far
	first  int64  // capture time of the first packet of the run (ns)
	offset int64  // capture time added for each completed loop
	last   int64  // capture time of the latest packet
	begun  bool
}

// due returns when a packet of size bytes with capture time ts (Unix ns) may go, on the
// packet.Now clock, and counts it as scheduled.
func (pc *pacer) due(ts int64, size int) int64 {
	if !pc.begun {
		pc.begun, pc.start, pc.first, pc.last = true, packet.Now(), ts, ts
	}
	var at int64
	switch pc.p.Mode {
	case PPS:
		at = pc.start + int64(float64(pc.n)*1e9/pc.p.Rate)
	case Mbps:
		at = pc.start + int64(float64(pc.bits)*1e3/pc.p.Rate)
	case Multiplier:
		at = pc.start + int64(float64(ts+pc.offset-pc.first)/pc.p.Rate)
		pc.last = ts
	default:
		at = 0
	}
	pc.n++
	pc.bits += uint64(size) * 8
	return at
}

// nextLoop starts another pass over the capture: its first packet is due when the last
// packet of the pass before was (capture timing only; the rate modes just go on).
func (pc *pacer) nextLoop(firstTS int64) {
	if pc.begun && pc.p.Mode == Multiplier {
		pc.offset += pc.last - firstTS
		pc.last = firstTS
	}
}

// waitUntil blocks until packet.Now() >= at or stop is set: sleeping while the wait is
// long (a sleep wakes up late by tens of microseconds; at most maxSleep at a time, so that
// an interrupt ends even an hours-long gap of a capture's own timing at once), then
// yielding, so that the NIC's goroutines keep the processor while the pacer waits. It
// reports whether the time came (false: stopped).
func waitUntil(at int64, stop *atomic.Bool) bool {
	const yieldEvery = 16
	const maxSleep = 50 * time.Millisecond
	for i := 0; ; i++ {
		if stop.Load() {
			return false
		}
		d := at - packet.Now()
		switch {
		case d <= 0:
			return true
		case d > 2*int64(time.Millisecond):
			time.Sleep(min(time.Duration(d)-time.Millisecond, maxSleep))
		case i%yieldEvery == yieldEvery-1:
			runtime.Gosched()
		}
	}
}
