package main

import (
	"fmt"
	"math"
	"math/big"
)

// sha prints sha256Blocks and sha256BlocksVL, the SHA-256 compression function (FIPS 180-4
// §6.2.2) on n 64-byte blocks with the SHA extensions (SHA256RNDS2, and SHA256MSG1 and
// SHA256MSG2 or AVX-512 VL for the message schedule: see shaBlocks), for the HMAC-SHA-256
// of package vgcm (sha.go). Facts used: FIPS 180-4 (the compression function,
// the message schedule, the constants K: the first 32 bits of the fractional parts of the
// cube roots of the first 64 primes, computed here) and Intel's instruction set reference
// for the SHA extensions, whose state registers hold (A,B,E,F) and (C,D,G,H), highest dword
// first. No code was taken from anywhere.
//
// Registers: X1 the (A,B,E,F) state, X2 the (C,D,G,H) state, X0 message words plus
// constants (SHA256RNDS2 reads it implicitly), X3..X6 the message schedule, four words
// each, X7 and X11..X14 temporaries, X8 the byte order mask, X9 and X10 the state at the start
// of the block. DI the state array, SI the data, DX the blocks left.
func (g *gen) sha() {
	var k [64]uint32
	p := 2
	for i := range k {
		for !isPrime(p) {
			p++
		}
		k[i] = cubeRootFraction(p)
		p++
	}
	for i, v := range k {
		g.b.WriteString(fmt.Sprintf("DATA sha256k<>+%d(SB)/4, $0x%08x\n", 4*i, v))
	}
	g.b.WriteString("GLOBL sha256k<>(SB), RODATA|NOPTR, $256\n")
	// PSHUFB mask: reverse the bytes of each dword (the message is big-endian).
	g.b.WriteString("DATA sha256bswap<>+0(SB)/8, $0x0405060700010203\n")
	g.b.WriteString("DATA sha256bswap<>+8(SB)/8, $0x0c0d0e0f08090a0b\n")
	g.b.WriteString("GLOBL sha256bswap<>(SB), RODATA|NOPTR, $16\n")
	g.shaBlocks("sha256Blocks", false)
	g.shaBlocks("sha256BlocksVL", true)
}

// shaBlocks prints one compression function. The rounds are the same in both: 32
// SHA256RNDS2, two rounds each, in one dependency chain through the state, which is what
// bounds a block. They differ in the message schedule (W16..W63, four words a group):
//
//   - sha256Blocks (vl false) computes it with SHA256MSG1 and SHA256MSG2, which run on the
//     same unit as SHA256RNDS2. Measured on an Ice Lake Xeon, each took about 0.7 ns of that
//     unit beside SHA256RNDS2's 0.9, so the 24 of them per block made the block 52-54 ns
//     against 39-41 ns for the rounds alone.
//   - sha256BlocksVL (vl true, AVX-512 F and VL) computes it on the vector ALUs instead:
//     σ0 and σ1 (FIPS 180-4 §4.1.2) as two VPRORD and a VPSRLD joined by one VPTERNLOGD
//     (three-way XOR), so only the rounds are left on the SHA unit: 45-47 ns per block on
//     the same CPU. The schedule of group t is issued three groups ahead of its use, which
//     measured better than one, two or four: σ1 makes the groups a chain of about eight
//     cycles each, about as long as a group's rounds.
func (g *gen) shaBlocks(name string, vl bool) {
	g.b.WriteString(fmt.Sprintf(`
// func %s(h *[8]uint32, p *byte, n int)
// Absorbs n (at least 1) 64-byte blocks at p into the state h (H0..H7 in order).
TEXT ·%s(SB), NOSPLIT, $0-24
`, name, name))
	if vl {
		// The rest of the function is legacy SSE beside VEX/EVEX on X registers: with the
		// upper halves of the vector registers clean, the two mix without a penalty.
		g.op("VZEROUPPER")
	}
	g.b.WriteString(`	MOVQ h+0(FP), DI
	MOVQ p+8(FP), SI
	MOVQ n+16(FP), DX
	MOVOU sha256bswap<>(SB), X8
	// (A,B,C,D), (E,F,G,H) -> (A,B,E,F), (C,D,G,H), highest dword first.
	MOVOU (DI), X1
	MOVOU 16(DI), X2
	PSHUFD $0xb1, X1, X1
	PSHUFD $0x1b, X2, X2
	MOVO X1, X7
	PALIGNR $8, X2, X1
	PBLENDW $0xf0, X7, X2
`)
	loop := name + "_loop"
	g.label(loop)
	g.op("MOVO X1, X9")
	g.op("MOVO X2, X10")
	m := [4]int{3, 4, 5, 6}
	for i := 0; i < 4; i++ {
		g.op("MOVOU %d(SI), X%d", 16*i, m[i])
		g.op("PSHUFB X8, X%d", m[i])
	}
	// w(t) is the register of group t (and of groups t-4, t-8, ...).
	w := func(t int) int { return m[t%4] }
	for grp := 0; grp < 16; grp++ {
		if vl {
			g.op("VPADDD sha256k<>+%d(SB), X%d, X0", 16*grp, w(grp))
		} else {
			g.op("MOVOU sha256k<>+%d(SB), X11", 16*grp)
			g.op("MOVO X%d, X0", w(grp))
			g.op("PADDD X11, X0")
		}
		g.op("SHA256RNDS2 X0, X1, X2")
		if vl {
			// Group t of the schedule, issued vlLead groups before the rounds use it.
			if t := grp + vlLead; t >= 4 && t <= 15 {
				g.shaScheduleVL(t, w)
			}
		} else if t := grp + 1; t >= 4 && t <= 15 {
			// Group t >= 4 is MSG2(MSG1(W_t-4, W_t-3) + PALIGNR(W_t-1, W_t-2, 4),
			// W_t-1), four words each, in the register W_t-4 had. Its MSG1 half is
			// issued at group t-3 and the rest at group t-1, each between the two
			// SHA256RNDS2 of a group, so that the schedule runs beside the rounds.
			g.op("MOVO X%d, X7", w(grp))
			g.op("PALIGNR $4, X%d, X7", w(grp+3))
			g.op("PADDD X7, X%d", w(t))
			g.op("SHA256MSG2 X%d, X%d", w(grp), w(t))
		}
		g.op("PSHUFD $0x0e, X0, X0")
		g.op("SHA256RNDS2 X0, X2, X1")
		if t := grp + 3; !vl && grp >= 1 && t <= 15 {
			g.op("SHA256MSG1 X%d, X%d", w(grp), w(t))
		}
	}
	g.op("PADDD X9, X1")
	g.op("PADDD X10, X2")
	g.op("ADDQ $64, SI")
	g.op("DECQ DX")
	g.op("JNZ %s", loop)
	g.b.WriteString(`	// Back to (A,B,C,D), (E,F,G,H).
	PSHUFD $0x1b, X1, X1
	PSHUFD $0xb1, X2, X2
	MOVO X1, X7
	PBLENDW $0xf0, X2, X1
	PALIGNR $8, X7, X2
	MOVOU X1, (DI)
	MOVOU X2, 16(DI)
	RET
`)
}

// vlLead is how many groups ahead of its use sha256BlocksVL computes a group of the
// schedule (see shaBlocks).
const vlLead = 3

// shaScheduleVL prints group t (4..15) of the message schedule on the vector ALUs, into
// the register that held group t-4 (X11..X14 are scratch). FIPS 180-4 §6.2.2:
// W_i = σ1(W_i-2) + W_i-7 + σ0(W_i-15) + W_i-16. Lowest dword first, a group's register is
// (W_4t, W_4t+1, W_4t+2, W_4t+3). The σ0 and W_i-7 terms come from earlier groups
// whole; σ1 reaches into the group itself for its upper two words, so it is applied twice:
// to (W_4t-2, W_4t-1, 0, 0), which completes the lower two words, then to
// (0, 0, W_4t, W_4t+1). σ1(0) = 0, so the zero halves add nothing.
func (g *gen) shaScheduleVL(t int, w func(int) int) {
	d := w(t)                                          // holds group t-4 until it becomes group t
	g.op("VPALIGNR $4, X%d, X%d, X12", w(t-4), w(t-3)) // W_4t-15 .. W_4t-12
	g.sigma("X12", 7, 18, 3)
	g.op("VPADDD X12, X%d, X%d", d, d)
	g.op("VPALIGNR $4, X%d, X%d, X12", w(t-2), w(t-1)) // W_4t-7 .. W_4t-4
	g.op("VPADDD X12, X%d, X%d", d, d)
	g.op("VPSRLDQ $8, X%d, X12", w(t-1))
	g.sigma("X12", 17, 19, 10)
	g.op("VPADDD X12, X%d, X%d", d, d)
	g.op("VPSLLDQ $8, X%d, X12", d)
	g.sigma("X12", 17, 19, 10)
	g.op("VPADDD X12, X%d, X%d", d, d)
}

// sigma replaces x (a dword vector) with ROTR^r1(x) ^ ROTR^r2(x) ^ SHR^s(x), using X13 and
// X14: σ0 is (7, 18, 3) and σ1 (17, 19, 10).
func (g *gen) sigma(x string, r1, r2, s int) {
	g.op("VPRORD $%d, %s, X13", r1, x)
	g.op("VPRORD $%d, %s, X14", r2, x)
	g.op("VPSRLD $%d, %s, %s", s, x, x)
	g.op("VPTERNLOGD $0x96, X14, X13, %s", x)
}

func isPrime(n int) bool {
	for d := 2; d*d <= n; d++ {
		if n%d == 0 {
			return false
		}
	}
	return n >= 2
}

// cubeRootFraction is the first 32 bits of the fractional part of p's cube root, exactly:
// Newton's method in 256-bit floating point from float64's estimate.
func cubeRootFraction(p int) uint32 {
	const prec = 256
	x := new(big.Float).SetPrec(prec).SetFloat64(math.Cbrt(float64(p)))
	bp := new(big.Float).SetPrec(prec).SetInt64(int64(p))
	three := new(big.Float).SetPrec(prec).SetInt64(3)
	for range 8 {
		x2 := new(big.Float).SetPrec(prec).Mul(x, x)
		num := new(big.Float).SetPrec(prec).Mul(x2, x)
		num.Sub(num, bp)
		den := new(big.Float).SetPrec(prec).Mul(three, x2)
		x.Sub(x, num.Quo(num, den))
	}
	ip, _ := x.Int(nil)
	frac := new(big.Float).SetPrec(prec).Sub(x, new(big.Float).SetPrec(prec).SetInt(ip))
	frac.Mul(frac, new(big.Float).SetPrec(prec).SetInt64(1<<32))
	v, _ := frac.Int(nil)
	return uint32(v.Uint64())
}
