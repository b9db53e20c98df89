package main

import (
	"fmt"
	"math"
	"math/big"
)

// sha prints sha256Blocks, the SHA-256 compression function (FIPS 180-4 §6.2.2) on n
// 64-byte blocks with the SHA extensions (SHA256RNDS2, SHA256MSG1, SHA256MSG2), for the
// HMAC-SHA-256 of package vgcm (sha.go). Facts used: FIPS 180-4 (the compression function,
// the message schedule, the constants K: the first 32 bits of the fractional parts of the
// cube roots of the first 64 primes, computed here) and Intel's instruction set reference
// for the SHA extensions, whose state registers hold (A,B,E,F) and (C,D,G,H), highest dword
// first. No code was taken from anywhere.
//
// Registers: X1 the (A,B,E,F) state, X2 the (C,D,G,H) state, X0 message words plus
// constants (SHA256RNDS2 reads it implicitly), X3..X6 the message schedule, four words
// each, X7 and X11 temporaries, X8 the byte order mask, X9 and X10 the state at the start
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
	g.b.WriteString(`
// func sha256Blocks(h *[8]uint32, p *byte, n int)
// Absorbs n (at least 1) 64-byte blocks at p into the state h (H0..H7 in order).
TEXT ·sha256Blocks(SB), NOSPLIT, $0-24
	MOVQ h+0(FP), DI
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
	g.label("shaloop")
	g.op("MOVO X1, X9")
	g.op("MOVO X2, X10")
	m := [4]int{3, 4, 5, 6}
	for i := 0; i < 4; i++ {
		g.op("MOVOU %d(SI), X%d", 16*i, m[i])
		g.op("PSHUFB X8, X%d", m[i])
	}
	// Group t >= 4 of the schedule is MSG2(MSG1(W_t-4, W_t-3) + PALIGNR(W_t-1, W_t-2, 4),
	// W_t-1), four words each, in the register W_t-4 had. Its MSG1 half is issued at group
	// t-3 and the rest at group t-1, each between the two SHA256RNDS2 of a group, so that
	// the schedule runs beside the rounds instead of in front of them.
	for grp := 0; grp < 16; grp++ {
		g.op("MOVOU sha256k<>+%d(SB), X11", 16*grp)
		g.op("MOVO X%d, X0", m[grp%4])
		g.op("PADDD X11, X0")
		g.op("SHA256RNDS2 X0, X1, X2")
		if t := grp + 1; t >= 4 && t <= 15 {
			g.op("MOVO X%d, X7", m[grp%4])
			g.op("PALIGNR $4, X%d, X7", m[(grp+3)%4])
			g.op("PADDD X7, X%d", m[t%4])
			g.op("SHA256MSG2 X%d, X%d", m[grp%4], m[t%4])
		}
		g.op("PSHUFD $0x0e, X0, X0")
		g.op("SHA256RNDS2 X0, X2, X1")
		if t := grp + 3; grp >= 1 && t <= 15 {
			g.op("SHA256MSG1 X%d, X%d", m[grp%4], m[t%4])
		}
	}
	g.op("PADDD X9, X1")
	g.op("PADDD X10, X2")
	g.op("ADDQ $64, SI")
	g.op("DECQ DX")
	g.op("JNZ shaloop")
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
