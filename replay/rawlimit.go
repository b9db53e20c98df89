package replay

import (
	"fmt"
	"time"

	"github.com/ov2dev/ov2/ah"
	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/internal/rxparse"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/sa"
)

// The raw limit of a round trip (Config.RawLimit): how fast one core runs the crypto alone
// over the same packets, against which the run's rate is a share. It is the replay's
// counterpart of `ov2 bench`'s raw columns, for a real capture with its mix of sizes and
// suites.
//
// While the run goes, each send lane keeps a copy of the first sealed packet of every
// record position it completes (one pass over the capture), with its SA. After the run,
// before the SAs are deleted, measureRaw takes those packets through the SAs' own
// transforms on the calling goroutine: ESP Open and Seal, AH Verify and Insert (an ESP+AH
// bundle both, in the receive and the send order), over and over for RawLimitTime, each
// packet in its own buffer, opened and sealed in place. Every open must verify: a packet
// that does not is an error, not a figure. No rings, no lookups, no framing, no copies:
// only what a NIC with no overhead at all would still have to compute.
//
// Large-send segments and combined transport+tunnel packets are left out of the sample
// (counted in RawLimit.Excluded): a segment is not a packet of the capture, and a combined
// packet's inner part would need the outer part opened to be found.

// RawLimitTime is how long measureRaw runs the sample.
const RawLimitTime = 500 * time.Millisecond

// shortRun is the run time under which the report says the run's rate is mostly its
// start-up (the lanes, pools and caches warming), not a figure to set against the limit.
const shortRun = 200 * time.Millisecond

// RawLimit is the round trip's raw limit and the run's share of it.
type RawLimit struct {
	// Packets is how many sealed packets of one pass the sample has; Excluded how many
	// record positions sealed as large sends or combined packets are not in it.
	Packets  int `json:"packets"`
	Excluded int `json:"excluded"`
	// PerSecond is the raw limit: packets sealed and opened (one round trip each) per
	// second on one core. RunPerSecond is the run's own: packets the send path sealed and
	// the receive path opened, per second of the run. Ratio is RunPerSecond / PerSecond.
	PerSecond    float64 `json:"round_trips_per_s"`
	RunPerSecond float64 `json:"run_round_trips_per_s"`
	Ratio        float64 `json:"ratio"`
	Seconds      float64 `json:"seconds"` // how long the sample ran
}

// rawSample is one sealed packet of the first pass and its (outbound) SA.
type rawSample struct {
	ip     []byte
	handle sa.Handle
}

// rawSamples is one send lane's collection; only that lane's goroutine writes it.
type rawSamples struct {
	seen     []bool // by record position
	got      []rawSample
	excluded int
}

// note keeps p (a sealed IP packet, no link header yet) if its record position has none.
func (c *rawSamples) note(p *packet.Buffer) {
	pos := cookiePos(p.Cookie)
	if pos >= uint64(len(c.seen)) || c.seen[pos] {
		return
	}
	c.seen[pos] = true
	if p.Tx.LSOCount > 0 || p.Tx.TunnelHandle != 0 {
		c.excluded++
		return
	}
	c.got = append(c.got, rawSample{ip: append([]byte(nil), p.Bytes()...), handle: sa.Handle(p.Tx.OffloadHandle)})
}

// rawStep is a sample made ready: its buffer, where its parts are, the high halves that
// verify.
type rawStep struct {
	buf          []byte
	a            *sa.SA
	esp, ah, end int // ESP and AH header offsets (-1: none), end of the IP packet
	espHi, ahHi  uint32
	espICV       int
	espScratch   *esp.Scratch
	ahScratch    *ah.Scratch
}

// rawLimitHook, set by tests, sees the run when rawLimit starts (the SAs still offloaded).
var rawLimitHook func(*run)

// rawLimit measures the raw limit for the run's samples and fills in the run's share.
func (r *run) rawLimit(rep *Report) (*RawLimit, error) {
	if rawLimitHook != nil {
		rawLimitHook(r)
	}
	var samples []rawSample
	rl := &RawLimit{}
	for i := range r.raw {
		samples = append(samples, r.raw[i].got...)
		rl.Excluded += r.raw[i].excluded
	}
	rl.Packets = len(samples)
	if len(samples) == 0 || rep.Elapsed <= 0 {
		return rl, nil
	}
	perSec, secs, err := measureRaw(r.fp.NIC().Controller().Snapshot(), samples, RawLimitTime)
	if err != nil {
		return nil, err
	}
	rl.PerSecond, rl.Seconds = perSec, secs
	if rt := rep.RoundTrip; rt != nil {
		rl.RunPerSecond = float64(rt.Sent-rt.Segments) / rep.Elapsed
	}
	rl.Ratio = rl.RunPerSecond / rl.PerSecond
	return rl, nil
}

// measureRaw runs the samples' crypto for at least d (whole passes over the samples) and
// returns round trips per second and the seconds it ran.
func measureRaw(tb *sa.Table, samples []rawSample, d time.Duration) (float64, float64, error) {
	steps := make([]rawStep, len(samples))
	es, as := new(esp.Scratch), new(ah.Scratch)
	for i, s := range samples {
		st := &steps[i]
		// Seal wants room for the longest ICV after the trailer, whatever the SA's is.
		st.buf, st.espScratch, st.ahScratch = append(make([]byte, 0, len(s.ip)+esp.MaxICVLen), s.ip...), es, as
		if err := st.prepare(tb, s.handle); err != nil {
			return 0, 0, fmt.Errorf("raw limit: sample %d (SA handle %d): %w", i, s.handle, err)
		}
	}
	start := time.Now()
	var n uint64
	for time.Since(start) < d || n == 0 {
		for i := range steps {
			if err := steps[i].roundTrip(); err != nil {
				return 0, 0, fmt.Errorf("raw limit: sample %d: %w", i, err)
			}
		}
		n += uint64(len(steps))
	}
	secs := time.Since(start).Seconds()
	return float64(n) / secs, secs, nil
}

// prepare finds the sample's parts and opens it (receive order) with the high halves that
// verify, so that the buffer holds what the send side seals: the first round trip starts
// there.
func (st *rawStep) prepare(tb *sa.Table, h sa.Handle) error {
	a := tb.Lookup(h)
	if a == nil {
		return fmt.Errorf("no such SA")
	}
	st.a, st.esp, st.ah = a, -1, -1
	l := rxparse.Parse(st.buf)
	st.end = l.End
	switch l.Kind {
	case rxparse.KindESP, rxparse.KindUDPESP:
		st.esp = l.ESP
	case rxparse.KindAH:
		x := rxparse.ParseAH(st.buf, l)
		if x.Invalid {
			return fmt.Errorf("AH header: %s", x.Reason)
		}
		st.ah = x.Off
		if a.HasESP() {
			st.esp = x.Payload
		}
	default:
		return fmt.Errorf("not ESP or AH: %v", l.Kind)
	}
	if (st.ah >= 0) != (a.AH != nil) || (st.esp >= 0) != a.HasESP() {
		return fmt.Errorf("headers do not match the SA")
	}
	if a.HasESP() {
		st.espICV = a.Transform.ICVLen()
	}
	// The high halves: the SA's current one, or (a pass taken before an UPDATE_SA) the one
	// before it.
	if a.AH != nil {
		var err error
		if st.ahHi, err = pickHi(a.AH.ESN, a.AH.State, func(hi uint32) error {
			_, err := a.AH.Transform.Verify(st.ahScratch, st.buf[:st.end], hi)
			return err
		}); err != nil {
			return fmt.Errorf("AH does not verify: %w", err)
		}
	}
	if a.HasESP() {
		var err error
		if st.espHi, err = pickHi(a.ESN, a.State, func(hi uint32) error {
			_, err := a.Transform.Open(st.espScratch, st.buf[st.esp:st.end], hi)
			return err
		}); err != nil {
			return fmt.Errorf("ESP does not open: %w", err)
		}
	}
	return nil
}

// pickHi returns the first high half of the candidates for which try succeeds: 0 without
// ESN, else the state's current one and the one before it.
func pickHi(esn bool, s *sa.State, try func(uint32) error) (uint32, error) {
	if !esn {
		return 0, try(0)
	}
	hi := s.SeqHi()
	err := try(hi)
	if err == nil {
		return hi, nil
	}
	if try(hi-1) == nil {
		return hi - 1, nil
	}
	return 0, err
}

// roundTrip seals the step's packet as the send path does (ESP, then AH over the result)
// and opens it as the receive path does (AH, then ESP), in place.
func (st *rawStep) roundTrip() error {
	a := st.a
	if st.esp >= 0 {
		if _, err := a.Transform.Seal(st.espScratch, st.buf[st.esp:st.end-st.espICV], st.espHi); err != nil {
			return fmt.Errorf("ESP seal: %w", err)
		}
	}
	if st.ah >= 0 {
		if _, err := a.AH.Transform.Insert(st.ahScratch, st.buf[:st.end], st.ahHi); err != nil {
			return fmt.Errorf("AH insert: %w", err)
		}
		if _, err := a.AH.Transform.Verify(st.ahScratch, st.buf[:st.end], st.ahHi); err != nil {
			return fmt.Errorf("AH verify: %w", err)
		}
	}
	if st.esp >= 0 {
		if _, err := a.Transform.Open(st.espScratch, st.buf[st.esp:st.end], st.espHi); err != nil {
			return fmt.Errorf("ESP open: %w", err)
		}
	}
	return nil
}
