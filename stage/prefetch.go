package stage

import (
	"github.com/ov2dev/ov2/internal/prefetch"
	"github.com/ov2dev/ov2/packet"
)

// The crypto stages (seal, open) prefetch the bytes of the packet prefetchDistance places
// ahead of the one they are working on, so that its lines, usually written last by another
// core, travel while this one is encrypted (internal/prefetch says why and what it gained).
// Two places ahead: one 1400-byte packet's crypto (about 150-200 ns) is shorter than a
// cross-core fetch of its 22 lines.
const prefetchDistance = 2

// prefetchMin is the smallest packet worth a prefetch: a packet of a few lines is fetched
// about as soon by the out-of-order core and the hardware prefetcher, and the call would
// cost more than it hides.
const prefetchMin = 256

// prefetchFirst starts the fetch of the burst's first packets; the loops then prefetch
// packet i+prefetchDistance as they reach packet i.
func prefetchFirst(pkts []*packet.Buffer) {
	for i := 0; i < prefetchDistance && i < len(pkts); i++ {
		prefetchPacket(pkts[i])
	}
}

// prefetchPacket starts the fetch of p's bytes if it is big enough to be worth it.
func prefetchPacket(p *packet.Buffer) {
	if f := p.Bytes(); len(f) >= prefetchMin {
		prefetch.Write(f)
	}
}
