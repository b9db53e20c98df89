package stage

import "github.com/ov2dev/ov2/ndis"

// txComplete is the last send stage: every packet leaves with a send completion status
// (R-TX-3) and is counted, success or failure, so nothing is lost without a counted reason.
type txComplete struct{ stats *laneStats }

func (c *txComplete) process(b *Burst) {
	st := c.stats
	for _, p := range b.Slice() {
		if p.Tx.Failed() {
			st.failed[p.Tx.Reason].Add(1)
			continue
		}
		p.Tx.Status = ndis.StatusSuccess
		st.completed.Add(1)
		st.bytes.Add(uint64(p.Len()))
		if p.Meta.ESP == 0 {
			st.clear.Add(1)
		} else {
			st.sealed.Add(1)
		}
	}
}
