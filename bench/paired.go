package bench

import (
	"context"
	"time"

	"github.com/ov2dev/ov2/esp"
)

// Paired raw limits. On a shared or virtual machine the speed a core gives one goroutine
// drifts by tens of percent over a run, so a raw limit measured at the start and a row
// measured a minute later can disagree by that much for no reason of the engine's. Each row
// therefore gets its raw limits measured beside it: half of RawDuration just before its
// full-speed window (after the engine is built, before its warm-up) and half just after it
// (before the paced window, if any), the loops in mirrored order (A B, row, B A), so that a
// drift that is about linear over the few seconds cancels. The row's ratio is its Mpps over
// the Mpps of that pair (its packets over its seconds), and Row says what each half gave.
// The raw table then gives each loop's mean over every row that used it (packets over
// seconds, all measurements together), with the lowest and highest pair.

// rawKey names one raw loop: size, algorithm, operation, and whether it is the standard
// library's loop or the dispatched implementation's (impl).
type rawKey struct {
	size string
	algo Algo
	op   RawOp
	impl esp.Impl // 0 (ImplAuto): the standard library's loop (raw.go, rawetm.go)
}

// rawAcc is one loop and what all its measurements added up to.
type rawAcc struct {
	size     Size
	loop     *rawLoop
	wire     float64
	name     string // what the loop runs
	total    rawSlice
	pairs    int
	min, max float64 // Mpps of the lowest and highest pair
}

// rawSet is the run's raw loops, made on first use and kept for the rows after.
type rawSet struct {
	ctx  context.Context
	half time.Duration // each measurement: half of Options.RawDuration
	accs map[rawKey]*rawAcc
}

func newRawSet(ctx context.Context, rawDuration time.Duration) *rawSet {
	return &rawSet{ctx: ctx, half: max(rawDuration/2, time.Millisecond), accs: map[rawKey]*rawAcc{}}
}

// acc returns the loop of k, making it the first time.
func (rs *rawSet) acc(size Size, k rawKey) (*rawAcc, error) {
	if a, ok := rs.accs[k]; ok {
		return a, nil
	}
	a := &rawAcc{size: size, wire: k.algo.meanWire(size), name: k.algo.rawName()}
	var err error
	if k.impl == esp.ImplAuto {
		a.loop, err = newRawLoop(size, k.algo, k.op)
	} else {
		a.loop, err = newImplRawLoop(size, k.algo, k.op, k.impl)
		if err == nil {
			a.name = a.loop.impl.name()
		}
	}
	if err != nil {
		return nil, err
	}
	rs.accs[k] = a
	return a, nil
}

// pairMeasure is one row's measurements of its raw loops: the keys, in the order measured
// before the row, and each one's half before and half after.
type pairMeasure struct {
	rs            *rawSet
	size          Size
	keys          []rawKey
	before, after []rawSlice
}

// rawKeys lists the loops a row needs: its operation's (seal and open for a round trip),
// from the standard library and, where the engine dispatched elsewhere, from the
// dispatched implementation.
func rawKeys(sp rowSpec, dispatched esp.Impl) []rawKey {
	var ops []RawOp
	switch sp.mode {
	case Encrypt:
		ops = []RawOp{RawSeal}
	case Decrypt:
		ops = []RawOp{RawOpen}
	default:
		ops = []RawOp{RawSeal, RawOpen}
	}
	var keys []rawKey
	for _, op := range ops {
		keys = append(keys, rawKey{size: sp.size.String(), algo: sp.algo, op: op})
	}
	if implDiffers(sp.algo, dispatched) {
		for _, op := range ops {
			keys = append(keys, rawKey{size: sp.size.String(), algo: sp.algo, op: op, impl: dispatched})
		}
	}
	return keys
}

// implDiffers says the engine's crypto for algorithm a is not the standard library loop's:
// AES-GCM and GMAC dispatched to another implementation, and the other suites where some
// part runs ov2's own code (ImplVAES: AES-CBC, decryption eight blocks at a time,
// HMAC-SHA-256 on the SHA extensions); their impl loops run the esp.Transform or esp.Auth
// the lanes call.
func implDiffers(a Algo, dispatched esp.Impl) bool {
	return dispatched != esp.ImplStdlib && dispatched != esp.ImplAuto
}

// measureBefore takes the first half of every loop the row needs.
func (rs *rawSet) measureBefore(sp rowSpec, dispatched esp.Impl) (*pairMeasure, error) {
	pm := &pairMeasure{rs: rs, size: sp.size, keys: rawKeys(sp, dispatched)}
	for _, k := range pm.keys {
		a, err := rs.acc(sp.size, k)
		if err != nil {
			return nil, err
		}
		s, err := measureSlice(rs.ctx, a.loop, rs.half)
		if err != nil {
			return nil, err
		}
		pm.before = append(pm.before, s)
	}
	return pm, nil
}

// measureAfter takes the second half, in the opposite order, and adds the pair to the
// loops' totals.
func (pm *pairMeasure) measureAfter() error {
	pm.after = make([]rawSlice, len(pm.keys))
	for i := len(pm.keys) - 1; i >= 0; i-- {
		a := pm.rs.accs[pm.keys[i]]
		s, err := measureSlice(pm.rs.ctx, a.loop, pm.rs.half)
		if err != nil {
			return err
		}
		pm.after[i] = s
	}
	for i, k := range pm.keys {
		a := pm.rs.accs[k]
		b, f := pm.before[i], pm.after[i]
		a.total.packets += b.packets + f.packets
		a.total.seconds += b.seconds + f.seconds
		a.total.mallocs += b.mallocs + f.mallocs
		m := mppsOf(addSlices(b, f))
		if a.pairs == 0 || m < a.min {
			a.min = m
		}
		if a.pairs == 0 || m > a.max {
			a.max = m
		}
		a.pairs++
	}
	return nil
}

func addSlices(a, b rawSlice) rawSlice {
	return rawSlice{packets: a.packets + b.packets, seconds: a.seconds + b.seconds, mallocs: a.mallocs + b.mallocs}
}

func mppsOf(s rawSlice) float64 {
	if s.seconds <= 0 {
		return 0
	}
	return float64(s.packets) / s.seconds / 1e6
}

// limit is the row's limit from the loops of one kind (impl false: the standard
// library's; true: the dispatched implementation's) over the halves pick chooses: one
// operation's Mpps, or for a round trip 1/(1/seal + 1/open). ok is false when the row has
// no such loops.
func (pm *pairMeasure) limit(impl bool, pick func(i int) rawSlice) (mpps float64, ok bool) {
	inv := 0.0
	for i, k := range pm.keys {
		if (k.impl != esp.ImplAuto) != impl {
			continue
		}
		m := mppsOf(pick(i))
		if m <= 0 {
			return 0, false
		}
		inv += 1 / m
		ok = true
	}
	if !ok {
		return 0, false
	}
	return 1 / inv, true
}

// fill puts the pair's figures into the row: the standard library's limit, its halves and
// the ratio, and the dispatched implementation's limit and ratio, which are the same
// figures when the engine's crypto is the standard library loop's own.
func (pm *pairMeasure) fill(r *Row) {
	both := func(i int) rawSlice { return addSlices(pm.before[i], pm.after[i]) }
	r.RawMpps, _ = pm.limit(false, both)
	r.RawBeforeMpps, _ = pm.limit(false, func(i int) rawSlice { return pm.before[i] })
	r.RawAfterMpps, _ = pm.limit(false, func(i int) rawSlice { return pm.after[i] })
	if r.RawMpps > 0 {
		r.Ratio = r.Mpps / r.RawMpps
	}
	r.ImplSame = true
	for _, k := range pm.keys {
		r.ImplSame = r.ImplSame && k.impl == esp.ImplAuto
	}
	if r.ImplSame {
		r.ImplRawMpps = r.RawMpps
	} else {
		r.ImplRawMpps, _ = pm.limit(true, both)
	}
	if r.ImplRawMpps > 0 {
		r.ImplRatio = r.Mpps / r.ImplRawMpps
	}
}

// rows returns the loops' rows in the order of the options (algorithm, size, seal before
// open, the computed round-trip row after them): the standard library's and the
// dispatched implementations'.
func (rs *rawSet) rows(o Options) (std, impl []RawRow) {
	impls := []esp.Impl{esp.ImplStdlib, esp.ImplPortable, esp.ImplVAES}
	for _, a := range o.Algos {
		for _, s := range o.Sizes {
			for _, kind := range append([]esp.Impl{esp.ImplAuto}, impls...) {
				var got []RawRow
				for _, op := range []RawOp{RawSeal, RawOpen} {
					acc, ok := rs.accs[rawKey{size: s.String(), algo: a, op: op, impl: kind}]
					if !ok || acc.pairs == 0 {
						continue
					}
					r := rawRowOf(s, a, op, acc.wire, acc.total)
					r.Impl, r.Measurements, r.MinMpps, r.MaxMpps = acc.name, 2*acc.pairs, acc.min, acc.max
					got = append(got, r)
				}
				if len(got) == 2 && hasMode(o.Modes, Roundtrip) {
					c := combineRaw(got[0], got[1])
					c.Impl = got[0].Impl
					got = append(got, c)
				}
				if kind == esp.ImplAuto {
					std = append(std, got...)
				} else {
					impl = append(impl, got...)
				}
			}
		}
	}
	return std, impl
}
