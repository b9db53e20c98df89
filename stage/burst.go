package stage

import (
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/sa"
)

// MaxBurst is the most packets a stage handles in one call. Moving bursts is what makes
// the hand-offs cheap: ~4-12 ns per packet in bursts of 32 against ~50 ns one at a time.
const MaxBurst = 64

// Burst is up to MaxBurst packets that travel through a stage together.
type Burst struct {
	N    int
	Pkts [MaxBurst]*packet.Buffer

	// sas carries the SA the lookup stage found for each packet (nil for none) to the
	// stages after it in the same goroutine, valid while table is the table those stages
	// look SAs up in: a Table never changes, so the same table gives the same SAs, and the
	// read section that holds it keeps them alive. Burst.Reset forgets them, and a burst
	// that crosses a ring or an expander leaves them behind: a later goroutine looks up.
	sas   [MaxBurst]*sa.SA
	table *sa.Table
}

// carried returns the SA the lookup stage found for packet i when it looked in tb, or
// false if it did not (another goroutine, another table, another burst).
func (b *Burst) carried(i int, tb *sa.Table) (*sa.SA, bool) {
	if b.table != tb || tb == nil {
		return nil, false
	}
	return b.sas[i], true
}

// startCarry readies the burst to carry what a lookup in tb finds: no SA for any packet
// until carry records one.
func (b *Burst) startCarry(tb *sa.Table) {
	clear(b.sas[:b.N])
	b.table = tb
}

// carry records the SA found for packet i (after startCarry).
func (b *Burst) carry(i int, a *sa.SA) { b.sas[i] = a }

// Slice returns the packets of the burst.
func (b *Burst) Slice() []*packet.Buffer { return b.Pkts[:b.N] }

// Full reports whether no packet can be added.
func (b *Burst) Full() bool { return b.N == MaxBurst }

// Add appends a packet; the caller checks Full first.
func (b *Burst) Add(p *packet.Buffer) {
	b.Pkts[b.N] = p
	b.N++
}

// Reset empties the burst and clears its pointers, so that a burst kept for reuse does not
// keep released buffers reachable.
func (b *Burst) Reset() {
	clear(b.Pkts[:b.N])
	if b.table != nil {
		clear(b.sas[:b.N])
		b.table = nil
	}
	b.N = 0
}
