package lso

import (
	"fmt"
	"math"
)

// setSeq applies the sequence-number rule of R-TX-7 and R-TX-8 to a send of pl.count segments
// starting at s, and records s. The AH part of an SA follows the same rule in its own
// sequence space (checkSeq).
//
// Segment i gets s+i, computed in 64 bits: with ESN the low half wraps to 0 and the high half
// moves on by one when s+i crosses 2^32, which is what the receiver's ESN window expects (RFC
// 4303 Appendix A). Deriving the high half once for the whole send and adding i to the low half
// alone reuses numbers after the crossing, the kind of bug Linux's IPsec GSO code once had.
//
// Refused (ErrSeqExhausted): s = 0, because the counter starts at 0 and the first packet sent
// is 1, so 0 only reappears after a wrap; without ESN any number past 2^32-1, since the counter
// must not cycle (RFC 4303 §3.3.3); with ESN a send whose last number would pass 2^64-1.
func (pl *Plan) setSeq(s uint64, esn bool) error {
	if err := pl.checkSeq("", s, esn); err != nil {
		return err
	}
	pl.seq = s
	return nil
}

// checkSeq is setSeq's rule without the recording; what names the part in the error, with
// a trailing space ("AH "), "" for ESP. It must be a constant: the check runs per large
// send and allocates nothing unless it fails.
func (pl *Plan) checkSeq(what string, s uint64, esn bool) error {
	last := uint64(pl.count - 1)
	switch {
	case s == 0:
		return fmt.Errorf("%w: first %ssequence number 0: the counter starts sending at 1 and 0 is never used", ErrSeqExhausted, what)
	case !esn && (s > math.MaxUint32 || last > math.MaxUint32-s):
		return fmt.Errorf("%w: %d segments from %ssequence number %d would end at %d, past 2^32-1 (SA without ESN)",
			ErrSeqExhausted, pl.count, what, s, s+last)
	case esn && last > math.MaxUint64-s:
		return fmt.Errorf("%w: %d segments from %ssequence number %#x would pass 2^64-1 (ESN)", ErrSeqExhausted, pl.count, what, s)
	}
	return nil
}
