package bench

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/internal/hdr"
	"github.com/ov2dev/ov2/internal/inet"
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

// template is what the host needs to send a unit again: for decrypt the sealed bytes (and,
// for AES-GCM, the twin's ICV, twin.go) the completion side readies the packet with (the NIC
// decrypted it in place), for a large send the
// framed bytes and OOB (the NIC releases a large send's buffer once it has cut it).
type template struct {
	frame []byte
	tx    packet.TxInfo
	twin  []byte // AES-GCM decrypt rows: the ICV of frame's twin (twin.go)
}

// window is what one measured phase saw.
type window struct {
	packets, bytes, units uint64
	seconds               float64
	mallocs               uint64
	hist                  *hdr.Histogram
	late                  uint64  // paced: units of the window submitted an interval or more behind schedule
	burst                 int     // paced: units per scheduled burst
	gcs                   uint32  // garbage collections during the window
	cpu                   float64 // the process's CPU time over the window's wall time (cores)
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
	// implKind is the AES-GCM implementation the SA's transform dispatched to (ImplStdlib for
	// the suites without AES-GCM and for AH, whose crypto is the standard library's).
	implKind esp.Impl

	lso         bool
	inline      bool // no completion goroutines: the pacer takes the completions (pacedLoop)
	units       int  // units in flight: packets, or large sends for lso64k
	segsPerUnit int

	free *ring.Ring[*packet.Buffer] // the submitter's FIFO of units ready to go
	// The completion goroutines' bursts, made with the engine, so that a goroutine's first
	// run allocates nothing: it may fall into the raw loop measured just before the row.
	sendBuf, wireBuf, recvBuf []*packet.Buffer
	back                      *ring.Ring[*packet.Buffer] // completed units, from the completion side
	wg                        sync.WaitGroup

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
	env := stage.Env{SAs: e.n.Controller(), ESPAllowed: func(v6 bool) bool { return e.n.CurrentConfig().ESPAllowed(v6) },
		AHAllowed: func(v6 bool) bool { return e.n.CurrentConfig().AHAllowed(v6) }}
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
	if a := tb.Lookup(h); a.Transform != nil {
		e.impl = a.Transform.Impl()
		e.implKind = a.Transform.ImplKind()
	} else {
		e.impl = a.AH.Transform.Impl()
		e.implKind = a.AH.Transform.ImplKind()
	}

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
	e.sendBuf = make([]*packet.Buffer, 64)
	e.wireBuf = make([]*packet.Buffer, 64)
	e.recvBuf = make([]*packet.Buffer, 64)
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
			frameLarge(b, e.spec.algo, s.spi, uint32(1+(i/nSA)*LSOSegments), s.out)
			e.tmpl = append(e.tmpl, template{frame: append([]byte(nil), b.Bytes()...), tx: b.Tx})
		}
		return nil
	}
	if e.units > cookieIndexMask+1 {
		return fmt.Errorf("bench: %d packets in flight: at most %d", e.units, cookieIndexMask+1)
	}
	peers := make(map[uint32]peer)
	ivs := make(map[twinKey]uint64)
	for i := range e.units {
		s := e.sas[i%nSA]
		k := i / nSA // the SA's k-th packet
		wire := pattern[k%len(pattern)]
		seq := uint32(1 + k)
		b := packet.NewBuffer(packet.SmallSize)
		frameSmall(b, e.spec.algo, wire, s.spi, seq, s.out)
		t := template{tx: b.Tx}
		if e.spec.mode == Decrypt {
			pr, ok := peers[s.spi]
			if !ok {
				var err error
				if pr, err = peerFor(s.spi, e.spec.algo); err != nil {
					return err
				}
				peers[s.spi] = pr
			}
			if e.spec.algo.twinnable() {
				tw, err := pr.sealTwin(b.Bytes(), s.spi, keyMat(s.spi, e.spec.algo.keyLen()), ivs)
				if err != nil {
					return err
				}
				t.twin = tw
			} else if err := pr.sealAs(b.Bytes(), seq); err != nil {
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
		frameSmall(b, e.spec.algo, e.spec.size.Pattern()[(i/len(e.sas))%len(e.spec.size.Pattern())], s.spi, uint32(1+i/len(e.sas)), s.out)
	}
	b.Cookie = uint64(i)
}

// preflight sends one unit per SA through the send path before the loop starts and checks
// every packet that comes out with the peer's transform: a benchmark of wrong output would
// be worthless.
func (e *engine) preflight() error {
	trs := make(map[uint32]peer)
	var pkts []*packet.Buffer
	for i, s := range e.sas {
		pr, err := peerFor(s.spi, e.spec.algo)
		if err != nil {
			return err
		}
		trs[s.spi] = pr
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
			if err := trs[spiOf(e.spec.algo, f)].check(f, nh); err != nil {
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
