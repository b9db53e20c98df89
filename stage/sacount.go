package stage

import (
	"math/bits"
	"unsafe"

	"github.com/ov2dev/ov2/sa"
)

// saCounts adds up the packets and bytes a stage counts for each SA part (ESP or AH: each
// has its own sa.State) during a burst, and publishes them with one atomic add per counter
// per part when the stage has finished the burst, rather than two per packet. The stage
// flushes before it returns, so by the time a packet leaves the stage its SA's counters
// include it, as when they were counted one by one: they stay exact at completion, and the
// receive completion stage's SaDeleteReq policy reads them.
//
// It is a small open-addressing table keyed by the State's address; when a burst has more
// parts than it holds, it publishes what it has and starts again, so any number of SAs in a
// burst counts right.
type saCounts struct {
	n     int    // slots in use
	used  uint32 // bit i: slot i is in use
	st    [saSlots]*sa.State
	pkts  [saSlots]uint64
	bytes [saSlots]uint64
}

const saSlots = 16

func saSlot(st *sa.State) uint32 {
	return uint32(uint64(uintptr(unsafe.Pointer(st))) * 0x9E3779B97F4A7C15 >> 60)
}

// add counts one packet of n bytes for st.
func (c *saCounts) add(st *sa.State, n int) {
	i := saSlot(st)
	if c.st[i] != st {
		i = c.find(st)
	}
	c.pkts[i]++
	c.bytes[i] += uint64(n)
}

// find returns st's slot, probing on from its home slot, and takes a free one if st has
// none (publishing everything first if no slot is free).
func (c *saCounts) find(st *sa.State) uint32 {
	if c.n == saSlots {
		c.flush()
	}
	for i := saSlot(st); ; i = (i + 1) & (saSlots - 1) {
		switch c.st[i] {
		case st:
			return i
		case nil:
			c.st[i], c.pkts[i], c.bytes[i] = st, 0, 0
			c.used |= 1 << i
			c.n++
			return i
		}
	}
}

// flush publishes what was added up and empties the table.
func (c *saCounts) flush() {
	for u := c.used; u != 0; u &= u - 1 {
		i := bits.TrailingZeros32(u)
		c.st[i].Packets.Add(c.pkts[i])
		c.st[i].Bytes.Add(c.bytes[i])
		c.st[i] = nil
	}
	c.used, c.n = 0, 0
}
