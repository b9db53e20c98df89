package stage

import (
	"github.com/ov2dev/ov2/sa"
)

// rxComplete is the OOB annotator's last part: the SaDeleteReq policy (R-RX-7) and the
// counters. Every packet leaves it to be indicated to the host (R-RX-5), processed or not.
type rxComplete struct {
	r      *sa.Reader
	policy DeletePolicy
	stats  *rxLaneStats
}

func (c *rxComplete) useReader(r *sa.Reader) { c.r = r }

func (c *rxComplete) process(b *Burst) {
	st := c.stats
	var tb *sa.Table
	if c.policy != (DeletePolicy{}) {
		tb = c.r.Begin()
		defer c.r.End()
	}
	for _, p := range b.Slice() {
		st.indicated.Add(1)
		st.bytes.Add(uint64(p.Len()))
		if !p.Rx.CryptoDone {
			st.skipped[skipOf(p)].Add(1)
			continue
		}
		st.status[p.Rx.CryptoStatus].Add(1)
		if p.Rx.NextCryptoDone {
			st.next.Add(1)
		}
		if tb != nil {
			if a := tb.Lookup(sa.Handle(p.Rx.Handle)); a != nil && c.policy.asks(a) {
				p.Rx.SaDeleteReq = true
				st.delReq.Add(1)
			}
		}
	}
}

// asks reports whether the policy wants the host to delete the SA.
func (d *DeletePolicy) asks(a *sa.SA) bool {
	s := a.State
	left := uint64(1<<32-1) - s.RxTop()
	if a.ESN {
		left = ^uint64(0) - s.RxTop()
	}
	return (d.SeqRemaining != 0 && left < d.SeqRemaining) ||
		(d.MaxPackets != 0 && s.Packets.Load() >= d.MaxPackets) ||
		(d.MaxBytes != 0 && s.Bytes.Load() >= d.MaxBytes) ||
		(d.MaxAuthFailures != 0 && s.AuthFailures.Load() >= d.MaxAuthFailures)
}
