package stage

import "github.com/ov2dev/ov2/packet"

// txComplete is the last send stage: every packet leaves with a send completion status
// (R-TX-3) and is counted, success or failure, so nothing is lost without a counted reason.
type txComplete struct{ stats *laneStats }

// txTally is what txComplete counts during a burst; publish adds it to the lane's
// counters, one atomic add per counter per burst, not per packet.
type txTally struct {
	completed, clear, sealed, bytes uint64
	failed                          [packet.NumReasons]uint64
}

// one completes a packet.
func (c *txComplete) one(p *packet.Buffer, t *txTally) {
	if p.Tx.Failed() {
		t.failed[p.Tx.Reason]++
		return
	}
	// Status is already StatusSuccess (not Failed): no store, which would take the host's
	// line back (see packet.Buffer).
	t.completed++
	t.bytes += uint64(p.Len())
	if !hasIPsec(p) {
		t.clear++
	} else {
		t.sealed++
	}
}

func (c *txComplete) publish(t *txTally) {
	st := c.stats
	addNonZero(&st.completed, t.completed)
	addNonZero(&st.clear, t.clear)
	addNonZero(&st.sealed, t.sealed)
	addNonZero(&st.bytes, t.bytes)
	for i, n := range t.failed {
		addNonZero(&st.failed[i], n)
	}
}
