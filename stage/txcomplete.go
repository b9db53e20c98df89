package stage

import "github.com/ov2dev/ov2/ndis"

// txComplete is the last send stage: every packet leaves with a send completion status
// (R-TX-3) and is counted, success or failure, so nothing is lost without a counted reason.
type txComplete struct{ stats *laneStats }

func (c *txComplete) process(b *Burst) {
	st := c.stats
	var completed, clear, sealed, bytes uint64
	var failed [len(st.failed)]uint64
	for _, p := range b.Slice() {
		if p.Tx.Failed() {
			failed[p.Tx.Reason]++
			continue
		}
		p.Tx.Status = ndis.StatusSuccess
		completed++
		bytes += uint64(p.Len())
		if !hasIPsec(p) {
			clear++
		} else {
			sealed++
		}
	}
	// One atomic add per counter per burst, not per packet.
	addNonZero(&st.completed, completed)
	addNonZero(&st.clear, clear)
	addNonZero(&st.sealed, sealed)
	addNonZero(&st.bytes, bytes)
	for i, n := range failed {
		addNonZero(&st.failed[i], n)
	}
}
