package stage

import (
	"unsafe"

	"github.com/ov2dev/ov2/internal/prefetch"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/sa"
)

// The crypto stages (seal, open) prefetch the bytes of the packet prefetchDistance places
// ahead of the one they are working on, so that its lines, usually written last by another
// core, travel while this one is encrypted (internal/prefetch says why and what it gained).
// Two places ahead: one 1400-byte packet's crypto (about 150-200 ns) is shorter than a
// cross-core fetch of its 22 lines. Both stages run the same loop:
//
//	prefetchStart(b, tb, pkts)
//	for i, p := range pkts {
//		if j := i + prefetchDistance; prefetchable(pkts, j) {
//			prefetchFor(b, tb, pkts[j], j)
//		}
//		...
//
// with the length test inlined, so that small packets pay no call.
const prefetchDistance = 2

// prefetchMin is the smallest packet worth a prefetch: a packet of a few lines is fetched
// about as soon by the out-of-order core and the hardware prefetcher, and the call would
// cost more than it hides.
const prefetchMin = 256

// prefetchable says packet j of the burst exists and is big enough to prefetch.
func prefetchable(pkts []*packet.Buffer, j int) bool {
	return j < len(pkts) && pkts[j].Len() >= prefetchMin
}

// prefetchStart prefetches the burst's first packets, which the loop's look-ahead starts
// past.
func prefetchStart(b *Burst, tb *sa.Table, pkts []*packet.Buffer) {
	for j := 0; j < prefetchDistance; j++ {
		if prefetchable(pkts, j) {
			prefetchFor(b, tb, pkts[j], j)
		}
	}
}

// prefetchFor prefetches packet p (index j of the burst): for writing when its SA encrypts
// in place (AES-GCM, AES-CBC) or the lookup did not carry its SA; for reading when the SA only
// authenticates it (ESP-NULL, AES-GMAC, AH), so that its lines stay shared with a core that
// reads them too (the host comparing or forwarding it) instead of being taken from it.
func prefetchFor(b *Burst, tb *sa.Table, p *packet.Buffer, j int) {
	f := p.Bytes()
	if a, ok := b.carried(j, tb); ok && a != nil && (a.Transform == nil || !a.Transform.Alg().Encrypts()) {
		prefetch.Read(f)
		return
	}
	prefetch.Write(f)
}

// prefetchHeads asks, at the start of a burst, for what its first stage reads and writes
// of every packet in it: the host's request (line 0 of the packet.Buffer) for reading,
// the NIC's scratch (Meta, line 2) for writing, on receive the indication (Rx, line 1) for
// writing too, and the first line of the frame (the IP header) for writing. The host's
// core wrote or read those lines when it submitted the packet or took its completion, or
// they left this core's L1 while the other packets in flight went round, so each is a
// miss here. Met one at a time, each would stall the stage at its first store there and,
// because stores leave a core in order, every store after it; asked for together, the
// burst's misses overlap. Asking for packet i+4 while taking packet i instead, or for the
// next burst while it still waits in the ring, measured worse: 64 B AES-GCM on 2 vCPUs
// (AMD EPYC, one lane, four alternating runs each, medians of the ratio to the standard
// library) encrypt 0.86 against 0.73 (the next burst), decrypt 0.57 against 0.55.
func prefetchHeads(pkts []*packet.Buffer, rx bool) {
	for _, p := range pkts {
		meta := unsafe.Pointer(&p.Meta)
		verdict := meta // on send the lane leaves line 1 alone: ask for Meta twice
		if rx {
			verdict = unsafe.Pointer(&p.Rx)
		}
		// The frame's first byte: the backing array is never empty (it has the headroom),
		// and head stays inside it, so this is a byte of the buffer even for an empty frame.
		prefetch.Head(unsafe.Pointer(p), verdict, meta, unsafe.Pointer(unsafe.SliceData(p.Bytes())))
	}
}
