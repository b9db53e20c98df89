package stage

import (
	"math"

	"github.com/ov2dev/ov2/sa"
)

// The NIC's rule for the high half of a received ESN packet (R-RX-8). The wire carries the
// low 32 bits L; the NIC keeps, per inbound SA, the high half H the host set (ADD_SA,
// UPDATE_SA) and RxTop, the highest number it has verified itself on the SA (0 before any).
// The host names, in H, the high half of its replay top T, the last number it accepted
// (ADD_SA for an SA that has carried traffic: `replay-seq-hi` of its xfrm state, not the
// high half of T+1). ADD_SA carries no low half, so until a packet verifies, the NIC knows
// only that T lies somewhere in subspace H.
//
// After the first verified packet (RxTop > 0) the reference is R = max(RxTop, H<<32), and
// the rule is RFC 4303 Appendix A's inference with a window of half the 32-bit space,
// W = 2^31:
//
//	if Rl >= W-1:  high = Rh     if L >= Rl-W+1, else Rh+1   (a small L has wrapped past R)
//	else:          high = Rh-1   if L >= Rl-W+1 mod 2^32,    else Rh (a large L is from before the wrap)
//
// so every number in [R-2^31+1, R+2^31] gets its own high half: a packet up to 2^31 after
// the highest verified one, or up to 2^31 before it, in either order, and a packet from
// just before a wrap that arrives after the host's UPDATE_SA. UPDATE_SA only moves R
// forward (the host's T never passes RxTop: it accepts only what the NIC verified).
//
// Before the first verified packet (RxTop = 0) RxTop says nothing, and a single guess from
// H cannot serve both ends of subspace H: the stream may start at H:0xffffffe9 (just below
// a wrap) or at H+1:0 (T = H:0xffffffff), and it may already be past the wrap when its
// first packet reaches the NIC. So the NIC takes the 2^33 numbers
// [H<<32 - 2^31, (H+1)<<32 + 2^31), subspace H widened by 2^31 on each side, which hold
// T-2^31..T+2^31 wherever T lies in H, and where every L has exactly two candidates:
//
//	first try:   the candidate in [H<<32+1, (H+1)<<32]: H:L, or H+1:0 for L = 0
//	             (Appendix A from R = H:2^31, the middle of H)
//	second try:  the other candidate: H+1:L for 0 < L < 2^31, H:0 for L = 0, H-1:L for L >= 2^31
//
// and the second is tried only when the first fails authentication. The ICV decides, as
// Appendix A says: a wrong high half fails, the right one verifies, and the first packet
// that verifies sets RxTop, after which the first rule alone applies. So from the first
// packet, any number within 2^31 of T verifies, as it does later within 2^31 of RxTop,
// even when the packets right after T are lost or reordered. The price is a second
// AES-GCM pass for a packet that fails while the SA has verified nothing, bounded to that
// state: a forgery against an SA already in use costs one pass, as before, and the chance
// of a forgery passing grows from 2^-t to 2*2^-t for a t-bit ICV. (RFC 4303 Appendix A3
// suggests the same second try, of Seqh+1, to regain synchronisation.)
//
// Subspaces that do not exist are not tried: no H-1 below 0, no H+1 above 2^32-1 (L = 0
// with H = 2^32-1 is tried as H:0 first), and never the 64-bit number 0, which is not sent.
// After synchronisation Rh+1 is likewise not taken above 2^32-1, nor Rh-1 below 0.
//
// inferSeq returns the number to try first and the one to try if that fails, 0 for none.
// It runs per packet: two atomic loads and a few compares, no allocation.
func inferSeq(a *sa.SA, lo uint32) (seq, retry uint64) {
	return esnInfer(a.State.SeqHi(), a.State.RxTop(), lo)
}

// esnW is W, the inference window of the rule above: half the 32-bit space.
const esnW = 1 << 31

// esnInfer is inferSeq on the SA's high half hi and verified top rxTop.
func esnInfer(hi uint32, rxTop uint64, lo uint32) (seq, retry uint64) {
	if rxTop != 0 {
		return appendixA(max(rxTop, uint64(hi)<<32), lo), 0
	}
	return esnFirst(hi, lo)
}

// esnFirst is the rule before the first verified packet: the candidate in [H:1, H+1:0],
// then the other one.
func esnFirst(hi uint32, lo uint32) (seq, retry uint64) {
	h := uint64(hi)
	switch {
	case lo == 0 && hi == math.MaxUint32:
		return h << 32, 0
	case lo == 0:
		return (h + 1) << 32, h << 32 // h<<32 is 0, "none", when hi is 0
	case lo < esnW && hi < math.MaxUint32:
		return h<<32 | uint64(lo), (h+1)<<32 | uint64(lo)
	case lo >= esnW && hi > 0:
		return h<<32 | uint64(lo), (h-1)<<32 | uint64(lo)
	}
	return h<<32 | uint64(lo), 0
}

// appendixA is RFC 4303 Appendix A's inference of L's high half from the reference ref,
// with W = 2^31, without leaving the 64-bit space.
func appendixA(ref uint64, lo uint32) uint64 {
	rh, rl := uint32(ref>>32), uint32(ref)
	if rl >= esnW-1 {
		if lo >= rl-esnW+1 || rh == math.MaxUint32 {
			return uint64(rh)<<32 | uint64(lo)
		}
		return uint64(rh+1)<<32 | uint64(lo)
	}
	if lo >= rl-esnW+1 && rh > 0 { // rl-W+1 wraps to rl+2^31+1: L lies in the previous half
		return uint64(rh-1)<<32 | uint64(lo)
	}
	return uint64(rh)<<32 | uint64(lo)
}
