package stage

import "github.com/ov2dev/ov2/packet"

// MaxBurst is the most packets a stage handles in one call. Moving bursts is what makes
// the hand-offs cheap: ~4-12 ns per packet in bursts of 32 against ~50 ns one at a time.
const MaxBurst = 64

// Burst is up to MaxBurst packets that travel through a stage together.
type Burst struct {
	N    int
	Pkts [MaxBurst]*packet.Buffer
}

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
	b.N = 0
}
