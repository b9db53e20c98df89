package antireplay

import (
	"math/rand/v2"
	"testing"
)

// windowAt returns a window of the given size and ESN setting whose Top is top.
func windowAt(t testing.TB, size int, esn bool, top uint64) *Window {
	t.Helper()
	w, err := New(size, esn)
	if err != nil {
		t.Fatal(err)
	}
	w.Start(top + 1)
	if top == ^uint64(0) {
		w.top = top // Start cannot say "begin after the last number"; set it directly
	}
	if w.Top() != top {
		t.Fatalf("Start(%#x): Top = %#x", top+1, w.Top())
	}
	return w
}

// TestInferCases works RFC 4303 Appendix A2.2's rule through both cases, at and either
// side of Bl = Tl-W+1, for W = 1024 and 4096 (R-RX-8: the wire carries only Seql).
func TestInferCases(t *testing.T) {
	for _, tc := range []struct {
		name  string
		size  int
		top   uint64
		seqLo uint32
		want  uint64
	}{
		// Case A, Tl >= W-1: Bl = 0xFFFFFF00-1023 = 0xFFFFFB01.
		{"A W=1024 wrapped into Th+1", 1024, 0x0_FFFFFF00, 0x00000005, 0x1_00000005},
		{"A W=1024 at Bl", 1024, 0x0_FFFFFF00, 0xFFFFFB01, 0x0_FFFFFB01},
		{"A W=1024 below Bl", 1024, 0x0_FFFFFF00, 0xFFFFFB00, 0x1_FFFFFB00},
		{"A W=1024 ahead in Th", 1024, 0x0_FFFFFF00, 0xFFFFFFFF, 0x0_FFFFFFFF},
		{"A W=1024 at the top", 1024, 0x0_FFFFFF00, 0xFFFFFF00, 0x0_FFFFFF00},
		{"A W=1024 Tl = W-1, Bl = 0", 1024, 0x5_000003FF, 0x00000000, 0x5_00000000},
		{"A W=1024 Tl = W-1, far ahead", 1024, 0x5_000003FF, 0xFFFFFFFF, 0x5_FFFFFFFF},
		{"A W=1024 mid-subspace at Bl", 1024, 0x2_00001000, 0x00000C01, 0x2_00000C01},
		{"A W=1024 mid-subspace below Bl", 1024, 0x2_00001000, 0x00000C00, 0x3_00000C00},
		{"A W=1024 Th+1 wraps at the end of the space", 1024, 0xFFFFFFFF_FFFFFF00, 0x00000005, 0x00000000_00000005},
		// Case A, W=4096: Bl = 0xFFFFFF00-4095 = 0xFFFFEF01.
		{"A W=4096 wrapped into Th+1", 4096, 0x0_FFFFFF00, 0x00000005, 0x1_00000005},
		{"A W=4096 at Bl", 4096, 0x0_FFFFFF00, 0xFFFFEF01, 0x0_FFFFEF01},
		{"A W=4096 below Bl", 4096, 0x0_FFFFFF00, 0xFFFFEF00, 0x1_FFFFEF00},
		{"A W=4096 Tl = W-1", 4096, 0x7_00000FFF, 0xFFFFFFFF, 0x7_FFFFFFFF},
		// Case B, Tl < W-1: Bl = 5-1023 mod 2^32 = 0xFFFFFC06.
		{"B W=1024 late packet from Th-1", 1024, 0x1_00000005, 0xFFFFFFF0, 0x0_FFFFFFF0},
		{"B W=1024 at Bl", 1024, 0x1_00000005, 0xFFFFFC06, 0x0_FFFFFC06},
		{"B W=1024 below Bl: Th, far ahead", 1024, 0x1_00000005, 0xFFFFFC05, 0x1_FFFFFC05},
		{"B W=1024 too far back reads as ahead", 1024, 0x1_00000005, 0xFFFFF000, 0x1_FFFFF000},
		{"B W=1024 inside Th", 1024, 0x1_00000005, 0x00000003, 0x1_00000003},
		{"B W=1024 ahead in Th", 1024, 0x1_00000005, 0x00000006, 0x1_00000006},
		{"B W=1024 Tl = W-2, Bl = 0xFFFFFFFF", 1024, 0x5_000003FE, 0xFFFFFFFF, 0x4_FFFFFFFF},
		{"B W=1024 Tl = W-2, below Bl", 1024, 0x5_000003FE, 0xFFFFFFFE, 0x5_FFFFFFFE},
		{"B W=1024 Tl = W-2, zero", 1024, 0x5_000003FE, 0x00000000, 0x5_00000000},
		// Case B, W=4096: Bl = 5-4095 mod 2^32 = 0xFFFFF006.
		{"B W=4096 late packet from Th-1", 4096, 0x1_00000005, 0xFFFFF010, 0x0_FFFFF010},
		{"B W=4096 at Bl", 4096, 0x1_00000005, 0xFFFFF006, 0x0_FFFFF006},
		{"B W=4096 below Bl", 4096, 0x1_00000005, 0xFFFFF005, 0x1_FFFFF005},
		{"B W=4096 Tl = W-2", 4096, 0x7_00000FFE, 0xFFFFFFFF, 0x6_FFFFFFFF},
		// The same Seql on either side of the boundary depending on W.
		{"B W=1024 0xFFFFF010 reads as ahead", 1024, 0x1_00000005, 0xFFFFF010, 0x1_FFFFF010},
		// Case B while Th = 0: there is no Th-1, so the packet stays in subspace 0.
		{"B Th=0 before the first packet", 1024, 0, 0x00000001, 0x00000001},
		{"B Th=0 no previous subspace", 1024, 0x5, 0xFFFFFFF0, 0xFFFFFFF0},
		{"B Th=0 no previous subspace, top of it", 1024, 0x0, 0xFFFFFFFF, 0xFFFFFFFF},
	} {
		w := windowAt(t, tc.size, true, tc.top)
		if got := w.Infer(tc.seqLo); got != tc.want {
			t.Errorf("R-RX-8 %s: Infer(%#x) with top %#x = %#x, want %#x", tc.name, tc.seqLo, tc.top, got, tc.want)
		}
		if w.Top() != tc.top {
			t.Errorf("%s: Infer moved Top to %#x", tc.name, w.Top())
		}
	}
}

// TestInferWithoutESN: without ESN the wire carries the whole number, so Infer returns
// it as it is, whatever the window's top (even a top above 2^32-1, which cannot occur).
func TestInferWithoutESN(t *testing.T) {
	for _, top := range []uint64{0, 0xFFFFFF00, 0x1_00000005} {
		w := windowAt(t, 1024, false, top)
		for _, lo := range []uint32{1, 5, 0xFFFFFFF0, 0xFFFFFFFF} {
			if got := w.Infer(lo); got != uint64(lo) {
				t.Errorf("R-RX-8 no ESN: Infer(%#x) with top %#x = %#x, want %#x", lo, top, got, lo)
			}
		}
	}
}

// TestESNAcrossTheWrap plays R-RX-8 and R-RX-9 together: a stream crossing 2^32 with a
// late packet from before the crossing, for W = 1024 and 4096.
func TestESNAcrossTheWrap(t *testing.T) {
	type pkt struct {
		lo    uint32
		infer uint64
		want  error
		top   uint64 // Top after Accept
	}
	for _, tc := range []struct {
		size int
		pkts []pkt
	}{
		{1024, []pkt{
			{0xFFFFFF00, 0x0_FFFFFF00, nil, 0x0_FFFFFF00},
			{0x00000005, 0x1_00000005, nil, 0x1_00000005},
			{0xFFFFFFF0, 0x0_FFFFFFF0, nil, 0x1_00000005},
			{0xFFFFFFF0, 0x0_FFFFFFF0, ErrReplay, 0x1_00000005},
			{0xFFFFFF00, 0x0_FFFFFF00, ErrReplay, 0x1_00000005},
			{0xFFFFFC06, 0x0_FFFFFC06, nil, 0x1_00000005}, // the window's bottom
			{0x00000001, 0x1_00000001, nil, 0x1_00000005},
			{0x00000006, 0x1_00000006, nil, 0x1_00000006},
		}},
		{4096, []pkt{
			{0xFFFFFF00, 0x0_FFFFFF00, nil, 0x0_FFFFFF00},
			{0x00000005, 0x1_00000005, nil, 0x1_00000005},
			{0xFFFFFFF0, 0x0_FFFFFFF0, nil, 0x1_00000005},
			{0xFFFFF010, 0x0_FFFFF010, nil, 0x1_00000005},
			{0xFFFFF010, 0x0_FFFFF010, ErrReplay, 0x1_00000005},
			{0xFFFFFF00, 0x0_FFFFFF00, ErrReplay, 0x1_00000005},
			{0xFFFFF006, 0x0_FFFFF006, nil, 0x1_00000005}, // the window's bottom
		}},
	} {
		w := windowAt(t, tc.size, true, 0x0_FFFFFEFF)
		for i, p := range tc.pkts {
			seq := w.Infer(p.lo)
			if seq != p.infer {
				t.Fatalf("R-RX-8 W=%d packet %d: Infer(%#x) = %#x, want %#x", tc.size, i, p.lo, seq, p.infer)
			}
			if err := w.Accept(seq); err != p.want || w.Top() != p.top {
				t.Fatalf("R-RX-9 W=%d packet %d: Accept(%#x) = %v, Top %#x; want %v, %#x",
					tc.size, i, seq, err, w.Top(), p.want, p.top)
			}
		}
	}
	// Too far back: with W=1024, 0xFFFFF000 is below Bl = 0xFFFFFC06, so Appendix A puts
	// it in subspace 1, far ahead; Check lets it through to the ICV, which (computed with
	// the wrong high half) must fail, and the window must then not move.
	w := windowAt(t, 1024, true, 0x1_00000005)
	if seq := w.Infer(0xFFFFF000); seq != 0x1_FFFFF000 || w.Check(seq) != nil {
		t.Errorf("R-RX-8 W=1024: Infer(0xFFFFF000) = %#x, Check %v; want 0x1fffff000, nil", seq, w.Check(seq))
	}
	// At the very end of the 64-bit space Case A's Th+1 wraps; the result lies below
	// the window and is rejected.
	w = windowAt(t, 1024, true, 0xFFFFFFFF_FFFFFF00)
	if seq := w.Infer(5); seq != 5 || w.Check(seq) != ErrTooOld {
		t.Errorf("R-RX-8 end of space: Infer(5) = %#x, Check %v; want 0x5, ErrTooOld", seq, w.Check(seq))
	}
}

// inferRef is Appendix A's rule said another way: the packet is the one number with
// this low half among the 2^32 numbers that begin at the window's bottom B = T-W+1.
// While B would be negative (T < W-1 in subspace 0) there is no subspace -1, and the
// number is taken 2^32 higher, in subspace 0.
func inferRef(top, size uint64, lo uint32) uint64 {
	b := top - (size - 1) // wraps below zero while top < size-1
	seq := b + uint64(lo-uint32(b))
	if b > top && seq >= b {
		seq += 1 << 32
	}
	return seq
}

// TestInferMatchesReference checks Infer against inferRef for random tops (many near
// subspace boundaries, zero and the end of the 64-bit space) and random low halves
// (many near Bl and Tl), and that a true number anywhere from the window's bottom to
// 2^32-W above the top is restored exactly (R-RX-8).
func TestInferMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 4303))
	for _, size := range []int{64, 1024, 4096, 8192} {
		for range 20000 {
			var top uint64
			switch r.IntN(4) {
			case 0:
				top = r.Uint64()
			case 1:
				top = uint64(r.IntN(3 * size)) // subspace 0, both cases
			case 2:
				top = uint64(r.Uint32())<<32 + uint64(r.IntN(2*size)) - uint64(size) // around a boundary
			default:
				top = ^uint64(0) - uint64(r.IntN(1<<33))
			}
			w := windowAt(t, size, true, top)
			lo := r.Uint32()
			if r.IntN(2) == 0 {
				lo = uint32(top) - uint32(size) + uint32(r.IntN(2*size)) // near Bl and Tl
			}
			if got, want := w.Infer(lo), inferRef(top, uint64(size), lo); got != want {
				t.Fatalf("R-RX-8 W=%d top %#x: Infer(%#x) = %#x, reference %#x", size, top, lo, got, want)
			}
			// A genuine packet: at most W-1 behind the top or 2^32-W ahead of it.
			delta := int64(r.Uint32()) - int64(size-1)
			seq := top + uint64(delta)
			if delta < 0 && uint64(-delta) > top || delta > 0 && seq < top || seq == 0 {
				continue // not a number that exists
			}
			if got := w.Infer(uint32(seq)); got != seq {
				t.Fatalf("R-RX-8 W=%d top %#x: Infer(%#x) = %#x, want %#x", size, top, uint32(seq), got, seq)
			}
		}
	}
}
