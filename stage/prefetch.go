package stage

import (
	"github.com/ov2dev/ov2/internal/prefetch"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/sa"
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

// prefetchOpen is prefetchPacket for the open stage: a packet whose SA decrypts in place
// (AES-GCM, AES-CBC; or whose SA the lookup did not carry) is fetched for writing, one that
// is only verified (ESP-NULL, AES-GMAC, AH) for reading, so that its lines stay shared with
// a core that reads them too (the host comparing or forwarding it) instead of being taken
// from it.
func prefetchOpen(b *Burst, tb *sa.Table, pkts []*packet.Buffer, j int) {
	f := pkts[j].Bytes()
	if a, ok := b.carried(j, tb); ok && a != nil && (a.Transform == nil || !a.Transform.Alg().Encrypts()) {
		prefetch.Read(f)
		return
	}
	prefetch.Write(f)
}

// prefetchPacket starts the fetch of p's bytes if it is big enough to be worth it.
func prefetchPacket(p *packet.Buffer) {
	if f := p.Bytes(); len(f) >= prefetchMin {
		prefetch.Write(f)
	}
}
