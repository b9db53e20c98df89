// Package antireplay is the host's anti-replay window for one inbound security association:
// RFC 4303 §3.4.3 (sequence number verification), with extended sequence numbers (ESN)
// per RFC 4303 Appendix A, kept as a ring of 64-bit blocks in the manner of RFC 6479.
// It is the check of requirement R-RX-9 (the host checks the sequence number after the
// NIC has verified the ICV) and the receive half of R-RX-8 (only the low 32 bits of an
// ESN travel on the wire).
//
// # The window
//
// The window remembers T, the highest sequence number accepted so far (Top), and which of
// the W numbers T-W+1 .. T have been seen. A packet is
//
//   - new, if its number is above T: it is accepted and T moves up to it;
//   - inside the window, if T-W+1 <= number <= T: accepted once, a duplicate after that
//     (ErrReplay);
//   - below the window, if number <= T-W: rejected (ErrTooOld), because the receiver no
//     longer knows whether it was seen.
//
// Sequence number 0 is never sent (the sender's counter starts at 1, RFC 4303 §3.3.3),
// so it is always rejected as ErrTooOld. W is at least 64 and is rounded up to a multiple
// of 64; the default is 1024 (R-RX-9 asks for at least 1024, configurable to 4096 and more).
//
// # Bitmap layout (RFC 6479)
//
// Sequence number s lives in block s>>6, bit s&63, and block b sits in ring slot
// b & (R-1). R, the number of slots, is a power of two of at least W/64+1, because the
// W numbers T-W+1..T span at most W/64+1 blocks and no two of them may share a slot.
// For W = 128 (R = 4) and T = 300 the window is 173..300, in blocks 2, 3 and 4:
//
//	 slot 0         slot 1         slot 2         slot 3
//	+--------------+--------------+--------------+--------------+
//	| block 4      | block 1      | block 2      | block 3      |
//	| 256..319     | 64..127      | 128..191     | 192..255     |
//	| T=300 in it  | stale, below | 173..191 in  | all in       |
//	|              | the window   | the window   | the window   |
//	+--------------+--------------+--------------+--------------+
//
// When T moves to 330 (block 5), slot 1 is zeroed and holds block 5 from then on.
//
// The extra block is what makes this cheap: when T moves up into a new block, the slots
// of the blocks passed over are zeroed whole (a jump of R blocks or more zeroes them all)
// and no bit is ever shifted. Slots that hold none of the window's blocks may keep bits
// of numbers below the window; those are never consulted, because the below-window test
// comes first. R is a power of two so that finding the slot is a mask, not a division,
// on every packet; for the default W = 1024 that costs 32 slots (256 bytes) instead of 17.
//
// # ESN: which 32-bit subspace a packet is in (RFC 4303 Appendix A2.1, A2.2)
//
// With ESN the wire carries only Seql, the low half; Infer restores the high half Seqh
// from T = Th:Tl and W. Case A, Tl >= W-1: the window lies inside one subspace, so a
// Seql at or above the window's bottom Bl = Tl-W+1 is in subspace Th (inside the window
// or ahead of it), and a smaller one has wrapped into subspace Th+1. Case B, Tl < W-1:
// the window reaches back into subspace Th-1; Bl, computed modulo 2^32, falls in that
// previous subspace, so a Seql at or above Bl is in Th-1 and a smaller one is in Th.
// Put another way, the packet is placed in the 2^32 numbers that begin at the window's
// bottom T-W+1; the tests check the case analysis against that form.
//
// Two corners that Appendix A does not spell out: while Th is 0 there is no subspace
// Th-1, so Case B keeps Seqh = 0 (the packet is taken as far ahead, as it would be
// without ESN); and at Th = 2^32-1 the Th+1 of Case A wraps to 0, which puts the packet
// below the window, where it is rejected (a sender must not cycle its counter, §3.3.3).
//
// Without ESN, Infer returns Seql as it is. Check and Accept work on 64-bit numbers
// either way and do not look at the ESN flag: without ESN a number above 2^32-1 never
// comes from Infer, and one handed in anyway is simply a larger number.
//
// # Update only after the ICV verified
//
// RFC 4303 §3.4.3 has the receiver check the number before the ICV (to drop replays
// cheaply) and update the window only after the ICV verified, so that a forged packet
// cannot move the window and make the genuine ones look old. R-RX-9 says the same for
// ov2: the NIC verifies the ICV and indicates the packet, and the host calls Accept only
// for packets whose ICV verified. Check (and Infer) never change the window, so the host
// may call them for any packet, failed or not. Accept repeats the check, because packets
// checked together in a burst may duplicate each other.
//
// A Window is not safe for concurrent use: one SA's inbound packets are handled, in
// order, by one goroutine (one lane), which is also why it needs no atomics.
package antireplay
