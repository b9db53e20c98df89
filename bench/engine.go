package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/internal/hdr"
	"github.com/ov2dev/ov2/internal/inet"
	"github.com/ov2dev/ov2/ndis"
	"github.com/ov2dev/ov2/nic"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/ring"
	"github.com/ov2dev/ov2/stage"
)

// rowSpec is one row to measure.
type rowSpec struct {
	size  Size
	mode  Mode
	algo  Algo
	lanes int
	pl    stage.Placement
}

func (s rowSpec) String() string {
	l := "lanes"
	if s.lanes == 1 {
		l = "lane"
	}
	return fmt.Sprintf("%s %s %s %d %s %s", s.mode, s.algo, s.size.Label(), s.lanes, l, s.pl)
}

// Cookie layout: the low 16 bits index the packet's template (which SA, which size); in a
// round trip the send side's entry time rides above them from the send path's completion to
// the receive path's, because the receive path stamps the packet again when it enters.
const (
	cookieIndexBits = 16
	cookieIndexMask = 1<<cookieIndexBits - 1
)

// template is what the host needs to send a unit again: for decrypt the sealed bytes the
// completion goroutine restores (the NIC decrypted them in place), for a large send the
// framed bytes and OOB (the NIC releases a large send's buffer once it has cut it).
type template struct {
	frame []byte
	tx    packet.TxInfo
}

// window is what one measured phase saw.
type window struct {
	packets, bytes, units uint64
	seconds               float64
	mallocs               uint64
	hist                  *hdr.Histogram
	late                  uint64 // paced: units of the window submitted an interval or more behind schedule
	burst                 int    // paced: units per scheduled burst
	gcs                   uint32 // garbage collections during the window
}

// Phases the completion side records in.
const (
	phaseIdle    int32 = iota // count nothing: warm-up, settling, draining
	phaseMeasure              // count packets and record latencies
)

// engine is one row's NIC, paths and loop. The submitting goroutine is the one that calls
// closedLoop (or closedN, or pacedLoop); completion goroutines take packets out of the
// paths and hand them back through the back ring, or, in an inline engine, the submitter
// takes them itself. The counters the completion side writes are read by the submitter
// only once every unit in flight has come back (through back, whose atomics order the
// writes before the reads), so they need no atomics of their own.
type engine struct {
	spec  rowSpec
	o     Options
	n     *nic.NIC
	send  *stage.SendPath
	recv  *stage.RecvPath
	segs  *packet.Pool // LSO segments (stage.Env.Segments)
	large *packet.Pool // LSO large sends
	sas   []benchSA
	tmpl  []template
	impl  string

	lso         bool
	inline      bool // no completion goroutines: the pacer takes the completions (pacedLoop)
	units       int  // units in flight: packets, or large sends for lso64k
	segsPerUnit int

	free *ring.Ring[*packet.Buffer] // the submitter's FIFO of units ready to go
	back *ring.Ring[*packet.Buffer] // completed units, from the completion side
	wg   sync.WaitGroup

	phase atomic.Int32
	// Written by the completion side (see engine):
	hist                            *hdr.Histogram
	measPackets, measBytes, measUni uint64
	failed                          uint64 // packets that did not seal or verify
	midFailed                       uint64 // round trip: send-side failures
}

// newEngine builds the NIC, offloads the SAs, frames the packets in flight, checks that the
// NIC's output verifies, and starts the completion goroutines, unless inline is set: then
// the submitting goroutine takes the completions itself (pacedLoop).
func newEngine(spec rowSpec, o Options, inline bool) (_ *engine, err error) {
	e := &engine{spec: spec, o: o, lso: spec.size.Kind == LSO64K, segsPerUnit: 1, hist: hdr.New(), inline: inline}
	if e.lso && spec.mode == Decrypt {
		return nil, errLSODecrypt
	}
	cfg := nic.DefaultConfig()
	cfg.Hardware.SaOffloadCapacity = 1 << 12
	if e.n, err = nic.New(cfg); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	if e.sas, err = pickSAs(e.n, spec.algo, spec.mode, spec.lanes, o.SAsPerLane); err != nil {
		return nil, err
	}
	e.plan()
	env := stage.Env{SAs: e.n.Controller(), ESPAllowed: func(v6 bool) bool { return e.n.CurrentConfig().ESPAllowed(v6) }}
	pcfg := stage.Config{Lanes: spec.lanes, Placement: spec.pl}
	if inline {
		pcfg.Poll = o.Poll
		// The pacer both submits and takes completions, so a Submit that waited for room
		// in a full ring would wait for itself: rings that hold every packet in flight
		// never fill.
		pcfg.RingSize = 1024
		for pcfg.RingSize < e.units*e.segsPerUnit+stage.MaxBurst && pcfg.RingSize < ring.MaxSize {
			pcfg.RingSize <<= 1
		}
	}
	if spec.mode != Decrypt {
		e.segs = packet.NewPool(packet.SmallSize)
		// Every segment that can be in flight at once, made now: the measured window must
		// not be where the pool first meets its peak.
		e.segs.Reserve(e.units * e.segsPerUnit)
		env.Segments = e.segs
		if e.send, err = stage.NewSendPath(env, pcfg); err != nil {
			return nil, err
		}
	}
	if spec.mode != Encrypt {
		if e.recv, err = stage.NewRecvPath(env, pcfg); err != nil {
			return nil, err
		}
	}
	tb := e.n.Controller().Snapshot()
	h := e.sas[0].out
	if spec.mode == Decrypt {
		h = e.sas[0].in
	}
	e.impl = tb.Lookup(h).Transform.Impl()

	if err := e.frame(); err != nil {
		return nil, err
	}
	if spec.mode != Decrypt {
		if err := e.preflight(); err != nil {
			return nil, err
		}
	}
	ringSize := 1
	for ringSize < e.units+1 {
		ringSize <<= 1
	}
	e.free, _ = ring.New[*packet.Buffer](ringSize)
	e.back, _ = ring.New[*packet.Buffer](ringSize)
	if err := e.fill(); err != nil {
		return nil, err
	}
	// Collect the set-up's garbage now, so that no collection runs in a measured window:
	// a collection also empties the runtime's central cache of sudogs (the records of
	// goroutines parked on channels, which the rings and paths park on when idle), and
	// refilling it would show as allocations in the window.
	runtime.GC()
	primeSudogs()
	primeThreads()
	if inline {
		return e, nil
	}
	switch spec.mode {
	case Encrypt:
		e.wg.Add(1)
		go e.completeSend()
	case Decrypt:
		e.wg.Add(1)
		go e.completeRecv()
	case Roundtrip:
		e.wg.Add(2)
		go e.wire()
		go e.completeRecv()
	}
	return e, nil
}

// plan sets the budget in flight: for every SA whole cycles of the size pattern (or
// large sends), at least InFlight packets (segments) in all.
func (e *engine) plan() {
	nSA := len(e.sas)
	if e.lso {
		e.segsPerUnit = LSOSegments
		e.units = max(1, (e.o.InFlight/LSOSegments+nSA-1)/nSA) * nSA
		return
	}
	n := len(e.spec.size.Pattern())
	perSA := (e.o.InFlight + nSA - 1) / nSA
	e.units = (perSA + n - 1) / n * n * nSA
}

// frame builds the templates: for every SA one cycle of the size pattern (or one large
// send), repeated until the budget in flight is met. Unit i belongs to SA i mod len(sas),
// so that consecutive units go to different lanes, and every SA carries whole IMIX cycles.
func (e *engine) frame() error {
	nSA := len(e.sas)
	pattern := e.spec.size.Pattern()
	if e.lso {
		e.large = packet.NewPool(packet.LargeSize)
		for i := range e.units {
			s := e.sas[i%nSA]
			b := packet.NewBuffer(packet.LargeSize)
			frameLarge(b, s.spi, uint32(1+(i/nSA)*LSOSegments), s.out)
			e.tmpl = append(e.tmpl, template{frame: append([]byte(nil), b.Bytes()...), tx: b.Tx})
		}
		return nil
	}
	if e.units > cookieIndexMask+1 {
		return fmt.Errorf("bench: %d packets in flight: at most %d", e.units, cookieIndexMask+1)
	}
	peers := make(map[uint32]*esp.Transform)
	for i := range e.units {
		s := e.sas[i%nSA]
		k := i / nSA // the SA's k-th packet
		wire := pattern[k%len(pattern)]
		seq := uint32(1 + k)
		b := packet.NewBuffer(packet.SmallSize)
		frameSmall(b, wire, s.spi, seq, s.out)
		t := template{tx: b.Tx}
		if e.spec.mode == Decrypt {
			tr := peers[s.spi]
			if tr == nil {
				var err error
				if tr, err = transformFor(s.spi, e.spec.algo); err != nil {
					return err
				}
				peers[s.spi] = tr
			}
			if err := seal(tr, b, seq); err != nil {
				return err
			}
			t.frame = append([]byte(nil), b.Bytes()...)
		}
		e.tmpl = append(e.tmpl, t)
	}
	return nil
}

// fill makes the units in flight and queues them on the free ring.
func (e *engine) fill() error {
	for i := range e.units {
		var b *packet.Buffer
		if e.lso {
			b = e.large.Get()
		} else {
			b = packet.NewBuffer(packet.SmallSize)
		}
		e.prepare(b, i)
		if e.free.EnqueueBurst([]*packet.Buffer{b}) != 1 {
			return fmt.Errorf("bench: free ring full at %d of %d", i, e.units)
		}
	}
	return nil
}

// prepare makes b unit i, ready to submit.
func (e *engine) prepare(b *packet.Buffer, i int) {
	t := &e.tmpl[i]
	switch {
	case e.lso:
		_ = b.SetData(t.frame) // a large buffer holds a 64 KB send
		b.Tx = t.tx
	case e.spec.mode == Decrypt:
		_ = b.SetData(t.frame)
	default:
		s := e.sas[i%len(e.sas)]
		frameSmall(b, e.spec.size.Pattern()[(i/len(e.sas))%len(e.spec.size.Pattern())], s.spi, uint32(1+i/len(e.sas)), s.out)
	}
	b.Cookie = uint64(i)
}

// preflight sends one unit per SA through the send path before the loop starts and checks
// every packet that comes out with the peer's transform: a benchmark of wrong output would
// be worthless.
func (e *engine) preflight() error {
	trs := make(map[uint32]*esp.Transform)
	var pkts []*packet.Buffer
	for i, s := range e.sas {
		tr, err := transformFor(s.spi, e.spec.algo)
		if err != nil {
			return err
		}
		trs[s.spi] = tr
		var b *packet.Buffer
		if e.lso {
			b = e.large.Get()
		} else {
			b = packet.NewBuffer(packet.SmallSize)
		}
		e.prepare(b, i)
		pkts = append(pkts, b)
	}
	want := len(pkts) * e.segsPerUnit
	e.send.Submit(pkts)
	buf := make([]*packet.Buffer, 64)
	nh := byte(inet.ProtoUDP)
	if e.lso {
		nh = inet.ProtoTCP
	}
	deadline := time.Now().Add(10 * time.Second)
	for got := 0; got < want; {
		n := e.send.Poll(buf)
		if n == 0 {
			if time.Now().After(deadline) {
				return fmt.Errorf("bench: preflight: %d of %d packets came back", got, want)
			}
			runtime.Gosched()
			continue
		}
		for _, p := range buf[:n] {
			if p.Tx.Failed() {
				return fmt.Errorf("%w: send failed: %v", errCheck, p.Tx.Reason)
			}
			f := p.Bytes()
			if err := checkSealed(trs[esp.SPI(f[20:])], f, nh); err != nil {
				return err
			}
			if e.lso {
				p.Release()
			}
		}
		got += n
	}
	return nil
}

// close stops the paths (if the loop has not) and the NIC. Closing twice is harmless.
func (e *engine) close() {
	if e.send != nil {
		e.send.Close()
	}
	if e.recv != nil {
		e.recv.Close()
	}
	if e.n != nil {
		e.n.Close()
	}
}

// primeSudogs fills the runtime's caches of sudogs after a collection emptied the central
// one. A goroutine that parks on a channel or a semaphore takes a sudog from its P's cache,
// or the central cache, or allocates one; it gives it back to the cache of the P it wakes
// up on. The paths' goroutines park whenever they are idle and often wake on another P,
// so until the caches have filled, parking allocates a few hundred bytes now and then. A
// long-running process that allocates nothing never collects and keeps its caches full;
// parking and waking a few hundred goroutines here gives the measured windows that steady
// state. Allocations that remain are counted, not hidden.
func primeSudogs() {
	const n = 512
	var started atomic.Int32
	gate := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(n)
	for range n {
		go func() {
			defer wg.Done()
			started.Add(1)
			<-gate
		}()
	}
	for started.Load() < n {
		runtime.Gosched()
	}
	time.Sleep(time.Millisecond) // let the last ones park
	close(gate)
	wg.Wait()
}

// primeThreads makes the runtime start the OS threads (Ms) the loops will want, before a
// window rather than in it: a new M allocates its records, and the first row of a process
// otherwise grows the thread pool while it is measured. Goroutines that lock their thread
// and park hold one M each, so the runtime must start more to run the rest; unlocked
// again, those Ms stay idle in the pool for the paths' goroutines.
func primeThreads() {
	n := 2*runtime.GOMAXPROCS(0) + 4
	var ready sync.WaitGroup
	ready.Add(n)
	release := make(chan struct{})
	var done sync.WaitGroup
	done.Add(n)
	for range n {
		go func() {
			defer done.Done()
			runtime.LockOSThread()
			ready.Done()
			<-release
			runtime.UnlockOSThread()
		}()
	}
	ready.Wait()
	close(release)
	done.Wait()
}

// The completion side. onSend, onWire and onRecv handle one burst of completions; the
// completion goroutines (closed loop) and the pacer itself (paced phase, see pacedLoop)
// call them. onSend and onRecv compact the units to hand back into the front of the burst
// and return how many there are.

// onSend handles completions of the send path in encrypt rows: every packet must have
// sealed; a segment that is not its large send's last goes back to its pool.
func (e *engine) onSend(buf []*packet.Buffer) int {
	now := packet.Now()
	measuring := e.phase.Load() == phaseMeasure
	var bytes uint64
	k := 0
	for _, p := range buf {
		if p.Tx.Failed() {
			e.failed++
		}
		if measuring {
			bytes += uint64(p.Len())
			e.hist.Record(now - p.Stamp)
		}
		if p.Tx.LSOSegment != p.Tx.LSOCount {
			p.Release()
			continue
		}
		buf[k] = p
		k++
	}
	if measuring {
		e.measured(len(buf), bytes, k)
	}
	return k
}

// measured adds a burst's completions to the window's counts: packets and their bytes, and
// units handed back (packets, or large sends whose last segment came).
func (e *engine) measured(packets int, bytes uint64, units int) {
	e.measPackets += uint64(packets)
	e.measBytes += bytes
	e.measUni += uint64(units)
}

// onWire is the round trip's middle: what the send path completed goes on into the receive
// path, with its send-side entry time kept in the cookie (the receive path stamps it again).
func (e *engine) onWire(buf []*packet.Buffer) {
	for _, p := range buf {
		if p.Tx.Failed() {
			e.midFailed++
		}
		p.Cookie = uint64(p.Stamp)<<cookieIndexBits | p.Cookie&cookieIndexMask
	}
	e.recv.Submit(buf)
}

// onRecv handles completions of the receive path in decrypt and round-trip rows: every
// packet must have verified. For decrypt it restores the sealed bytes the NIC decrypted in
// place; in a round trip the decrypted packet is exactly what the send path seals next.
func (e *engine) onRecv(buf []*packet.Buffer) int {
	now := packet.Now()
	measuring := e.phase.Load() == phaseMeasure
	rt := e.spec.mode == Roundtrip
	var bytes uint64
	k := 0
	for _, p := range buf {
		if !p.Rx.CryptoDone || p.Rx.CryptoStatus != ndis.CryptoSuccess {
			e.failed++
		}
		stamp := p.Stamp
		if rt {
			stamp = int64(p.Cookie >> cookieIndexBits)
			p.Cookie &= cookieIndexMask
		}
		if measuring {
			bytes += uint64(p.Len())
			e.hist.Record(now - stamp)
		}
		if !rt {
			copy(p.Bytes(), e.tmpl[p.Cookie].frame)
		} else if p.Tx.LSOSegment != p.Tx.LSOCount {
			p.Release()
			continue
		}
		buf[k] = p
		k++
	}
	if measuring {
		e.measured(len(buf), bytes, k)
	}
	return k
}

// completeSend is the completion goroutine of encrypt rows.
func (e *engine) completeSend() {
	defer e.wg.Done()
	buf := make([]*packet.Buffer, 64)
	for {
		n, err := e.send.Completions(buf)
		if err != nil {
			e.back.Close()
			return
		}
		e.back.EnqueueWait(buf[:e.onSend(buf[:n])])
	}
}

// wire is the goroutine between the paths of a round trip: the receive path's wire side.
func (e *engine) wire() {
	defer e.wg.Done()
	buf := make([]*packet.Buffer, 64)
	for {
		n, err := e.send.Completions(buf)
		if err != nil {
			e.recv.Close()
			return
		}
		e.onWire(buf[:n])
	}
}

// completeRecv is the completion goroutine of decrypt and round-trip rows.
func (e *engine) completeRecv() {
	defer e.wg.Done()
	buf := make([]*packet.Buffer, 64)
	for {
		n, err := e.recv.Completions(buf)
		if err != nil {
			e.back.Close()
			return
		}
		e.back.EnqueueWait(buf[:e.onRecv(buf[:n])])
	}
}

// poll is the paced phase's completion side, run by the pacer between bursts: it takes
// what the paths have completed, without waiting, and puts the units on the free ring.
// It reports whether it found anything.
func (e *engine) poll() bool {
	var buf [64]*packet.Buffer
	found := false
	if e.spec.mode == Roundtrip {
		if n := e.send.Poll(buf[:]); n > 0 {
			e.onWire(buf[:n])
			found = true
		}
	}
	if e.spec.mode == Encrypt {
		if n := e.send.Poll(buf[:]); n > 0 {
			e.free.EnqueueBurst(buf[:e.onSend(buf[:n])])
			found = true
		}
	} else if n := e.recv.Poll(buf[:]); n > 0 {
		e.free.EnqueueBurst(buf[:e.onRecv(buf[:n])])
		found = true
	}
	return found
}

// submit hands units to the NIC; for lso64k a unit that came back is its large send's last
// segment, which is released and replaced by the large send framed again (the NIC released
// the large buffer when it cut it).
func (e *engine) submit(units []*packet.Buffer) {
	if e.lso {
		for i, b := range units {
			if b.Tx.MSS == 0 {
				idx := int(b.Cookie & cookieIndexMask)
				b.Release()
				b = e.large.Get()
				e.prepare(b, idx)
				units[i] = b
			}
		}
	}
	if e.spec.mode == Decrypt {
		e.recv.Submit(units)
	} else {
		e.send.Submit(units)
	}
}

// take moves what came back to the free ring and takes up to len(dst) units from it. If
// none is free and wait is set, it waits for the completion side.
func (e *engine) take(dst []*packet.Buffer, wait bool) int {
	if e.inline {
		for {
			if n := e.free.DequeueBurst(dst); n > 0 || !wait {
				return n
			}
			if !e.poll() {
				runtime.Gosched()
			}
		}
	}
	var tmp [64]*packet.Buffer
	for k := e.back.DequeueBurst(tmp[:]); k > 0; k = e.back.DequeueBurst(tmp[:]) {
		e.free.EnqueueBurst(tmp[:k])
	}
	if n := e.free.DequeueBurst(dst); n > 0 || !wait {
		return n
	}
	n, _ := e.back.DequeueWait(dst)
	return n
}

// drain waits until every unit is back on the free ring.
func (e *engine) drain() {
	var tmp [64]*packet.Buffer
	for e.free.Len() < e.units {
		if e.inline {
			if !e.poll() {
				runtime.Gosched()
			}
			continue
		}
		n, err := e.back.DequeueWait(tmp[:])
		if err != nil {
			return
		}
		e.free.EnqueueBurst(tmp[:n])
	}
}

// reset empties the completion side's counters; only while nothing is in flight.
func (e *engine) reset() {
	e.hist.Reset()
	e.measPackets, e.measBytes, e.measUni = 0, 0, 0
}

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
			m.t0 = packet.Now()
			m.e.phase.Store(phaseMeasure)
			m.state = 2
		}
	case 2:
		if now >= m.t0+m.dur {
			m.e.phase.Store(phaseIdle)
			m.t1 = packet.Now()
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
	}
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

// stop closes the path the submitter feeds and waits until the lanes have finished (and
// the completion goroutines, if any); then the stats are exact.
func (e *engine) stop() {
	if e.spec.mode == Decrypt {
		e.recv.Close()
	} else {
		e.send.Close()
	}
	if e.inline {
		var buf [64]*packet.Buffer
		if e.send != nil {
			for {
				n, err := e.send.Completions(buf[:])
				if err != nil {
					break
				}
				if e.spec.mode == Roundtrip {
					e.onWire(buf[:n])
				}
			}
			if e.spec.mode == Roundtrip {
				e.recv.Close()
			}
		}
		if e.recv != nil {
			for {
				if _, err := e.recv.Completions(buf[:]); err != nil {
					break
				}
			}
		}
	} else {
		for { // a closed path still completes what it has; the completion side hands it back
			var tmp [64]*packet.Buffer
			if _, err := e.back.DequeueWait(tmp[:]); err != nil {
				break
			}
		}
		e.wg.Wait()
	}
	if e.send != nil {
		e.send.Wait()
	}
	if e.recv != nil {
		e.recv.Wait()
	}
}

// accounting checks the paths' counters once idle: every packet accounted for, none failed.
func (e *engine) accounting() (failed uint64, balanced bool, err error) {
	failed = e.failed + e.midFailed // every failure also shows in the paths' own counters
	balanced = true
	if e.send != nil {
		st := e.send.Stats()
		balanced = balanced && st.Balanced()
		if !st.Balanced() {
			err = fmt.Errorf("bench: %s: send path counters do not balance: %+v", e.spec, st)
		}
	}
	if e.recv != nil {
		st := e.recv.Stats()
		balanced = balanced && st.Balanced()
		if !st.Balanced() && err == nil {
			err = fmt.Errorf("bench: %s: receive path counters do not balance: %+v", e.spec, st)
		}
	}
	if failed != 0 && err == nil {
		err = fmt.Errorf("bench: %s: %d packets failed to seal or verify", e.spec, failed)
	}
	return failed, balanced, err
}
