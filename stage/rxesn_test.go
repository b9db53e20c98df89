package stage

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// sq is the 64-bit sequence number hi:lo.
func sq(hi, lo uint32) uint64 { return uint64(hi)<<32 | uint64(lo) }

const maxHi = math.MaxUint32

// R-RX-8, issue 12: the inference of the high half, exact 64-bit results. Before the NIC
// has verified a packet on the SA (rxTop 0) it has the host's high half H only, the high
// half of the host's replay top T; it tries the candidate in [H:1, H+1:0] first and the
// one on the other side of the nearer wrap second. After a packet verified, RFC 4303
// Appendix A from max(rxTop, H:0), W = 2^31, and no second try.
func TestESNInfer(t *testing.T) {
	type tc struct {
		name        string
		hi          uint32
		rxTop       uint64
		lo          uint32
		seq, second uint64
	}
	var cases []tc
	for _, h := range []uint32{0, 1, 1 << 31, maxHi - 1, maxHi} {
		prev, next := h-1, h+1
		noPrev, noNext := h == 0, h == maxHi
		prevOr0 := func(lo uint32) uint64 {
			if noPrev {
				return 0
			}
			return sq(prev, lo)
		}
		nextOr0 := func(lo uint32) uint64 {
			if noNext {
				return 0
			}
			return sq(next, lo)
		}
		at := sq(next, 0) // the first number after the wrap, (H+1):0
		atSecond := sq(h, 0)
		if noNext { // there is no H+1: H:0 is the only candidate
			at, atSecond = sq(h, 0), 0
		}
		if noPrev { // 0:0 is the 64-bit 0, never sent
			atSecond = 0
		}
		cases = append(cases,
			// First packet of a stream (rxTop 0), the host's T anywhere in subspace H.
			tc{"first/below-wrap", h, 0, 0xffffffe9, sq(h, 0xffffffe9), prevOr0(0xffffffe9)},
			tc{"first/last-before-wrap", h, 0, 0xffffffff, sq(h, 0xffffffff), prevOr0(0xffffffff)},
			tc{"first/at-wrap", h, 0, 0, at, atSecond},
			tc{"first/above-wrap", h, 0, 5, sq(h, 5), nextOr0(5)},
			tc{"first/below-middle", h, 0, 1<<31 - 1, sq(h, 1<<31-1), nextOr0(1<<31 - 1)},
			tc{"first/middle", h, 0, 1 << 31, sq(h, 1<<31), prevOr0(1 << 31)},
		)
	}
	cases = append(cases,
		// After the first verified packet: Appendix A around rxTop, one candidate only.
		tc{"verified/hi0-below", 0, sq(0, 0xffffffe9), 0xfffffff0, sq(0, 0xfffffff0), 0},
		tc{"verified/hi0-across", 0, sq(0, 0xffffffe9), 0, sq(1, 0), 0},
		tc{"verified/hi0-small-top", 0, sq(0, 5), 0xfffffff0, sq(0, 0xfffffff0), 0}, // no subspace -1
		tc{"verified/hi4-below", 4, sq(4, 0xffffffe9), 0xfffffff0, sq(4, 0xfffffff0), 0},
		tc{"verified/hi4-at", 4, sq(4, 0xffffffe9), 0, sq(5, 0), 0},
		tc{"verified/hi4-above", 4, sq(4, 0xffffffe9), 5, sq(5, 5), 0},
		tc{"verified/hi4-old", 4, sq(4, 0xffffffe9), 0xffffff00, sq(4, 0xffffff00), 0},
		tc{"verified/hi2^31-across", 1 << 31, sq(1<<31, 0xffffffff), 3, sq(1<<31+1, 3), 0},
		tc{"verified/hi2^32-2-across", maxHi - 1, sq(maxHi-1, 0xfffffff0), 2, sq(maxHi, 2), 0},
		tc{"verified/hi2^32-1-no-wrap-to-0", maxHi, sq(maxHi, 0xfffffff0), 5, sq(maxHi, 5), 0},
		tc{"verified/hi2^32-1-before", maxHi, sq(maxHi, 3), 0xfffffff0, sq(maxHi-1, 0xfffffff0), 0},
		// After the host's UPDATE_SA, a packet from before the wrap arrives late.
		tc{"update/hi1-reordered-before-wrap", 1, sq(1, 7), 0xffffffe9, sq(0, 0xffffffe9), 0},
		tc{"update/hi5-reordered-before-wrap", 5, sq(5, 7), 0xffffffe9, sq(4, 0xffffffe9), 0},
		tc{"update/hi5-next", 5, sq(5, 7), 8, sq(5, 8), 0},
		tc{"update/hi2^31-reordered", 1 << 31, sq(1<<31, 0), 0xfffffffe, sq(1<<31-1, 0xfffffffe), 0},
		tc{"update/hi2^32-1-reordered", maxHi, sq(maxHi, 1), 0xffffffff, sq(maxHi-1, 0xffffffff), 0},
		// An UPDATE_SA ahead of what verified: the reference is H:0.
		tc{"update/ahead-before-wrap", 5, sq(4, 0xfffffff0), 0xfffffff5, sq(4, 0xfffffff5), 0},
		tc{"update/ahead-after-wrap", 5, sq(4, 0xfffffff0), 2, sq(5, 2), 0},
	)
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/hi=%#x", c.name, c.hi), func(t *testing.T) {
			seq, second := esnInfer(c.hi, c.rxTop, c.lo)
			if seq != c.seq || second != c.second {
				t.Errorf("esnInfer(hi %#x, rxTop %#x, lo %#x) = %#x, %#x; want %#x, %#x",
					c.hi, c.rxTop, c.lo, seq, second, c.seq, c.second)
			}
		})
	}
}

// The guarantee the rule documents: before the first verified packet every number S within
// 2^31 of the host's top T (T in subspace H, S a number a sender can send: 1..2^64-1) is
// one of the two candidates; after it, every S in [R-2^31+1, R+2^31] around the reference
// R is the one candidate. Edges and random points.
func TestESNInferCovers(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 1))
	los := []uint32{0, 1, 2, 1<<31 - 2, 1<<31 - 1, 1 << 31, 1<<31 + 1, 0xffffffe8, 0xfffffffe, 0xffffffff}
	his := []uint32{0, 1, 2, 1<<31 - 1, 1 << 31, maxHi - 1, maxHi}
	ds := []int64{-1 << 31, -1<<31 + 1, -1000, -1, 0, 1, 2, 1000, 1<<31 - 1, 1 << 31}
	for range 8 {
		los = append(los, rng.Uint32())
		his = append(his, rng.Uint32())
		ds = append(ds, rng.Int64N(1<<32+1)-1<<31)
	}
	add := func(x uint64, d int64) (uint64, bool) { // x+d inside 1..2^64-1
		if d < 0 {
			return x - uint64(-d), uint64(-d) < x
		}
		return x + uint64(d), x+uint64(d) >= x && x+uint64(d) != 0
	}
	for _, h := range his {
		for _, tl := range los {
			top := sq(h, tl)
			for _, d := range ds {
				s, ok := add(top, d)
				if !ok {
					continue
				}
				if seq, second := esnInfer(h, 0, uint32(s)); seq != s && second != s {
					t.Fatalf("first packet: T %#x, S = T%+d = %#x: candidates %#x, %#x", top, d, s, seq, second)
				}
				if d == -1<<31 || top == 0 { // after: [R-2^31+1, R+2^31]; a verified top is never 0
					continue
				}
				if seq, second := esnInfer(h, top, uint32(s)); seq != s || second != 0 {
					t.Fatalf("after a verified %#x: S = %+d = %#x inferred %#x, %#x", top, d, s, seq, second)
				}
			}
		}
	}
}

// The inference runs per packet: no allocation.
func TestESNInferAllocs(t *testing.T) {
	var sink uint64
	lo := uint32(0)
	if n := testing.AllocsPerRun(1000, func() {
		lo += 0x10000001
		a, b := esnInfer(4, 0, lo)
		c, _ := esnInfer(4, sq(4, 0xffffffe9), lo)
		sink += a + b + c
	}); n != 0 {
		t.Errorf("%v allocations per call", n)
	}
	_ = sink
}
