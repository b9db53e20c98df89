package stage

import (
	"sync/atomic"

	"github.com/ov2dev/ov2/sa"
)

// rxComplete is the OOB annotator's last part: the SaDeleteReq policy (R-RX-7) and the
// counters. Every packet leaves it to be indicated to the host (R-RX-5), processed or not.
type rxComplete struct {
	policy DeletePolicy
	stats  *rxLaneStats
}

// usesSAs: the stage looks SAs up only for a SaDeleteReq policy.
func (c *rxComplete) usesSAs() bool { return c.policy != (DeletePolicy{}) }

func (c *rxComplete) process(b *Burst, tb *sa.Table) {
	st := c.stats
	if !c.usesSAs() {
		tb = nil
	}
	// Count the burst locally and publish once: an atomic add per counter per packet
	// costs more than the counting.
	var bytes, next, delReq uint64
	var skipped [NumSkips]uint64
	var status [len(st.status)]uint64
	for i, p := range b.Slice() {
		bytes += uint64(p.Len())
		if !p.Rx.CryptoDone {
			skipped[skipOf(p)]++
			continue
		}
		status[p.Rx.CryptoStatus]++
		if p.Rx.NextCryptoDone {
			next++
		}
		if tb != nil {
			a, ok := b.carried(i, tb)
			if !ok {
				a = tb.Lookup(sa.Handle(p.Rx.Handle))
			}
			if a != nil && c.policy.asks(a) {
				p.Rx.SaDeleteReq = true
				delReq++
			}
		}
	}
	st.indicated.Add(uint64(b.N))
	st.bytes.Add(bytes)
	addNonZero(&st.next, next)
	addNonZero(&st.delReq, delReq)
	for i, n := range skipped {
		addNonZero(&st.skipped[i], n)
	}
	for i, n := range status {
		addNonZero(&st.status[i], n)
	}
}

func addNonZero(c *atomic.Uint64, n uint64) {
	if n != 0 {
		c.Add(n)
	}
}

// asks reports whether the policy wants the host to delete the SA: any part of the bundle
// (ESP, AH) that reaches a limit of its own.
func (d *DeletePolicy) asks(a *sa.SA) bool {
	if d.partAsks(a.State, a.ESN) {
		return true
	}
	return a.AH != nil && a.AH.State != a.State && d.partAsks(a.AH.State, a.AH.ESN)
}

// partAsks is asks for one part's state.
func (d *DeletePolicy) partAsks(s *sa.State, esn bool) bool {
	left := uint64(1<<32-1) - s.RxTop()
	if esn {
		left = ^uint64(0) - s.RxTop()
	}
	return (d.SeqRemaining != 0 && left < d.SeqRemaining) ||
		(d.MaxPackets != 0 && s.Packets.Load() >= d.MaxPackets) ||
		(d.MaxBytes != 0 && s.Bytes.Load() >= d.MaxBytes) ||
		(d.MaxAuthFailures != 0 && s.AuthFailures.Load() >= d.MaxAuthFailures)
}
