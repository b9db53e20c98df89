package stage

import "github.com/ov2dev/ov2/sa"

// The NIC's rule for the high half of a received ESN packet (R-RX-8). The wire carries the
// low 32 bits; the NIC keeps, per inbound SA, the high half the host set (ADD_SA,
// UPDATE_SA) and the highest number it has verified itself. Its reference point R is the
// larger of the two (as 64-bit numbers: R = max(RxTop, SeqHi<<32)), and it applies RFC 4303
// Appendix A's inference with a window of half the 32-bit space, W = 2^31:
//
//	if Rl >= W-1:  high = Rh     if L >= Rl-W+1, else Rh+1   (a small L has wrapped past R)
//	else:          high = Rh-1   if L >= Rl-W+1 mod 2^32,    else Rh (a large L is from before the wrap)
//
// (Rh-1 is not taken below 0.) So a packet up to 2^31 numbers after R, or up to 2^31 before
// it, gets the right high half without the host's help across the wrap, in either order;
// the host's UPDATE_SA only moves R forward. The ICV decides: a wrong guess fails
// authentication, as Appendix A says, and is reported as an ICV failure.
func inferSeq(a *sa.SA, lo uint32) uint64 {
	ref := max(a.State.RxTop(), uint64(a.State.SeqHi())<<32)
	rh, rl := uint32(ref>>32), uint32(ref)
	const w = 1 << 31
	if rl >= w-1 {
		if lo >= rl-w+1 {
			return uint64(rh)<<32 | uint64(lo)
		}
		return uint64(rh+1)<<32 | uint64(lo)
	}
	if lo >= rl-w+1 && rh > 0 { // rl-w+1 wraps to rl+2^31+1: L lies in the previous half
		return uint64(rh-1)<<32 | uint64(lo)
	}
	return uint64(rh)<<32 | uint64(lo)
}
