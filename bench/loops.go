package bench

import (
	"context"
	"errors"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ov2dev/ov2/internal/hdr"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/stage"
)

// settle is how long a phase runs after reading the allocation counter, which stops the
// world, before it starts counting: the packets that were in flight during the stop are
// left out of the latency figures.
const settle = 5 * time.Millisecond

// meter runs a phase's clock: warm-up, settle, measure. Its methods run on the submitting
// goroutine.
type meter struct {
	e                    *engine
	state                int // 0 warm-up, 1 settling, 2 measuring, 3 done
	warmEnd, measureFrom int64
	t0, t1               int64
	cpu0, cpu1           int64 // processCPU at t0 and t1
	dur                  int64
	m0, m1               runtime.MemStats
}

func newMeter(e *engine, start int64, warm, dur time.Duration) *meter {
	return &meter{e: e, warmEnd: start + int64(warm), dur: int64(dur)}
}

// tick moves the phase along at time now and reports whether it is over.
func (m *meter) tick(now int64) bool {
	switch m.state {
	case 0:
		if now >= m.warmEnd {
			readMemStats(&m.m0)
			m.measureFrom = packet.Now() + int64(settle)
			m.state = 1
		}
	case 1:
		if now >= m.measureFrom {
			m.cpu0 = processCPU()
			m.t0 = packet.Now()
			m.e.phase.Store(phaseMeasure)
			m.state = 2
		}
	case 2:
		if now >= m.t0+m.dur {
			m.e.phase.Store(phaseIdle)
			m.t1 = packet.Now()
			m.cpu1 = processCPU()
			runtime.ReadMemStats(&m.m1)
			m.state = 3
		}
	}
	return m.state == 3
}

// result reads the window; after drain.
func (m *meter) result() window {
	e := m.e
	h := hdr.New()
	h.Merge(e.hist)
	return window{
		packets: e.measPackets, bytes: e.measBytes, units: e.measUni,
		seconds: float64(m.t1-m.t0) / 1e9,
		mallocs: m.m1.Mallocs - m.m0.Mallocs,
		gcs:     m.m1.NumGC - m.m0.NumGC,
		hist:    h,
		cpu:     cpuCores(m.cpu0, m.cpu1, m.t1-m.t0),
	}
}

// cpuCores is the process's CPU time between two readings over the wall time between them:
// how many cores' worth the whole process (lanes, harness and runtime) used; 0 when the CPU
// time cannot be read.
func cpuCores(cpu0, cpu1, wall int64) float64 {
	if cpu0 < 0 || cpu1 < cpu0 || wall <= 0 {
		return 0
	}
	return float64(cpu1-cpu0) / float64(wall)
}

// readMemStats reads the allocation counters at the start of a window. Restarting the
// world after the read may start an OS thread, which allocates (the runtime's own M and g
// records) after the counters were read; a second read puts that before the window.
func readMemStats(m *runtime.MemStats) {
	runtime.ReadMemStats(m)
	runtime.ReadMemStats(m)
}

// closedLoop runs the submitter at full speed: every unit is resubmitted as soon as it is
// back. It returns the measured window.
func (e *engine) closedLoop(ctx context.Context, warm, dur time.Duration) (window, error) {
	e.reset()
	var out [stage.MaxBurst]*packet.Buffer
	burst := out[:e.o.Burst]
	m := newMeter(e, packet.Now(), warm, dur)
	for i := 0; ; i++ {
		n := e.take(burst, true)
		e.submit(burst[:n])
		if m.tick(packet.Now()) {
			break
		}
		if i&255 == 0 && ctx.Err() != nil {
			e.phase.Store(phaseIdle)
			e.drain()
			return window{}, ctx.Err()
		}
	}
	e.drain()
	return m.result(), nil
}

// closedN runs the closed loop for exactly n units and waits for all of them: the Go
// benchmark suite's loop, the same code as closedLoop's without the clock.
func (e *engine) closedN(n int) {
	var out [stage.MaxBurst]*packet.Buffer
	for sent := 0; sent < n; {
		k := e.take(out[:min(e.o.Burst, n-sent)], true)
		e.submit(out[:k])
		sent += k
	}
	e.drain()
}

// pacedLoop offers rate units per second in an open loop: burst k of the schedule is due
// at start + k*interval, whenever the ones before it actually left, so a late burst does
// not push the rest back (no drift) and the offered rate is the rate asked for. A burst
// that finds too few units free waits for them; the achieved rate then falls short of the
// offered one, and the row says so.
//
// It runs on an inline engine: the pacer is the only harness goroutine and takes the
// completions itself while it waits for the next burst, and busyPoll keeps every P busy.
// With separate completion goroutines and idle Ps, on a machine with few cores, the pacer,
// the lanes and the completion side wake each other up onto the same P (a goroutine made
// ready runs next on the P of the goroutine that readied it) and take turns on one core
// while the other sleeps; the latency then measured that, not the NIC.
func (e *engine) pacedLoop(ctx context.Context, rate float64, warm, dur time.Duration) (window, error) {
	if !e.inline {
		return window{}, errors.New("bench: the paced loop needs an inline engine")
	}
	e.reset()
	// Bursts about 20 µs apart, of 1 to Burst units.
	burst := int(math.Ceil(rate * 20e-6))
	burst = min(max(burst, 1), e.o.Burst)
	interval := float64(burst) / rate * 1e9
	var out [stage.MaxBurst]*packet.Buffer
	if e.o.Poll == 0 { // the lanes park when idle: keep the cores from going idle instead
		stopPolling := busyPoll(runtime.GOMAXPROCS(0))
		defer stopPolling()
	}
	start := packet.Now() + int64(100*time.Microsecond)
	m := newMeter(e, start, warm, dur)
	var late uint64
	for k := 0; ; k++ {
		due := start + int64(float64(k)*interval)
		e.waitUntil(due)
		for sent := 0; sent < burst; {
			n := e.take(out[:burst-sent], true)
			if m.state == 2 && float64(packet.Now()-due) >= interval {
				late += uint64(n)
			}
			e.submit(out[:n])
			sent += n
		}
		if m.tick(packet.Now()) {
			break
		}
		if k&255 == 0 && ctx.Err() != nil {
			e.phase.Store(phaseIdle)
			e.drain()
			return window{}, ctx.Err()
		}
	}
	e.drain()
	w := m.result()
	w.late, w.burst = late, burst
	return w, nil
}

// busyPoll starts n goroutines that only yield, so that no P (and no CPU) goes idle while
// the paced phase runs, and returns the function that stops them. A lane that ran out of
// packets parks; the next burst wakes it, and it runs on the P of the goroutine that woke
// it or on an idle one. An idle P's thread sleeps, and on a virtual machine waking a
// sleeping virtual CPU takes tens of microseconds (about 80 µs on the machine this was
// written on): the latency would measure that, not the NIC. With every P busy, the woken
// lane gets a P as soon as one of these yields, which is what a poll-mode driver gives a
// real NIC's queues. It costs the cores' idle time, which a latency test at part load can
// spare.
func busyPoll(n int) func() {
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(n)
	for range n {
		go func() {
			defer wg.Done()
			for !stop.Load() {
				runtime.Gosched()
			}
		}()
	}
	return func() {
		stop.Store(true)
		wg.Wait()
	}
}

// waitUntil waits for the NIC clock to reach due, taking completions meanwhile: a sleep
// for most of a long wait (a timer's wake-up can be a millisecond late), then polling and
// yielding, so that a wait of microseconds is met within about a microsecond and a lane
// made ready by the last burst gets the core at once.
func (e *engine) waitUntil(due int64) {
	for {
		d := due - packet.Now()
		if d <= 0 {
			return
		}
		if d > int64(2*time.Millisecond) {
			time.Sleep(time.Duration(d) - time.Millisecond)
			continue
		}
		if !e.poll() {
			runtime.Gosched()
		}
	}
}
