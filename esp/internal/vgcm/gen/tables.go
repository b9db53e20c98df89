package main

import (
	"fmt"
)

// helpers prints the small functions NewKey uses.
func (g *gen) helpers() {
	g.b.WriteString(`
// func subWord(w uint32) uint32
// FIPS-197 SubWord (the S-box on each byte) by AESKEYGENASSIST, whose dword 0 is
// SubWord of the source's dword 1: constant time, no table.
TEXT ·subWord(SB), NOSPLIT, $0-12
	MOVL w+0(FP), AX
	MOVQ AX, X0
	PSHUFD $0, X0, X0
	AESKEYGENASSIST $0, X0, X1
	MOVQ X1, AX
	MOVL AX, ret+8(FP)
	RET

// func encryptBlock(rk *byte, nr int, dst, src *byte)
TEXT ·encryptBlock(SB), NOSPLIT, $0-32
	MOVQ rk+0(FP), AX
	MOVQ nr+8(FP), CX
	MOVQ dst+16(FP), DI
	MOVQ src+24(FP), SI
	MOVOU (SI), X0
	MOVOU (AX), X1
	PXOR X1, X0
	DECQ CX
encloop:
	ADDQ $16, AX
	MOVOU (AX), X1
	AESENC X1, X0
	DECQ CX
	JNZ encloop
	MOVOU 16(AX), X1
	AESENCLAST X1, X0
	MOVOU X0, (DI)
	RET
`)
	g.b.WriteString(`
// func gfMul(dst, a, b *[16]byte)
// dst = a·b·t^-128 mod the reflected GHASH polynomial, operands as 128-bit little-endian
// integers: the multiplication the tables and the GHASH code use.
TEXT ·gfMul(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	VMOVDQU (SI), X4
	VMOVDQU64 (DX), X24
	VBROADCASTI32X4 gfpoly<>(SB), Z18
`)
	var o ops
	mulAcc(&o, X, X(regD[0]), X(regP[0]), true)
	reduce(&o, X)
	g.emit(o)
	g.op("VMOVDQU64 %s, (DI)", X(regHI))
	g.op("VZEROUPPER")
	g.op("RET")
}

func (g *gen) data() {
	g.b.WriteString(`
// Byte reversal within each 128-bit lane (VPSHUFB indices 15..0).
DATA bswap<>+0(SB)/8, $0x08090a0b0c0d0e0f
DATA bswap<>+8(SB)/8, $0x0001020304050607
GLOBL bswap<>(SB), RODATA|NOPTR, $16

// Low quadword: t^57 + t^62 + t^63 (bits 57, 62, 63), i.e. (Q - 1 - t^128)/t^64 for the
// reflected polynomial Q = 1 + t^121 + t^126 + t^127 + t^128.
DATA gfpoly<>+0(SB)/8, $0xc200000000000000
DATA gfpoly<>+8(SB)/8, $0
GLOBL gfpoly<>(SB), RODATA|NOPTR, $16

DATA k55<>+0(SB)/2, $0x55
GLOBL k55<>(SB), RODATA|NOPTR, $2
DATA k4444<>+0(SB)/2, $0x4444
GLOBL k4444<>(SB), RODATA|NOPTR, $2

DATA zero8<>+0(SB)/8, $0
GLOBL zero8<>(SB), RODATA|NOPTR, $8
DATA c64<>+0(SB)/8, $64
GLOBL c64<>(SB), RODATA|NOPTR, $8
`)
	lanes := func(name string, v [4]int) {
		for i, x := range v {
			fmt.Fprintf(&g.b, "DATA %s<>+%d(SB)/8, $%d\n", name, 16*i, x)
			fmt.Fprintf(&g.b, "DATA %s<>+%d(SB)/8, $0\n", name, 16*i+8)
		}
		fmt.Fprintf(&g.b, "GLOBL %s<>(SB), RODATA|NOPTR, $64\n", name)
	}
	g.b.WriteString("\n// Counter increments in dword 0 of each lane (the byte-reflected inc32 field).\n")
	g.b.WriteString("\n// masktab[r] = (1 << r) - 1 for r = 0..64: the byte mask of r bytes.\n")
	for r := 0; r <= 64; r++ {
		v := uint64(1)<<uint(r) - 1
		if r == 64 {
			v = ^uint64(0)
		}
		fmt.Fprintf(&g.b, "DATA masktab<>+%d(SB)/8, $0x%016x\n", 8*r, v)
	}
	g.b.WriteString("GLOBL masktab<>(SB), RODATA|NOPTR, $520\n")
	g.b.WriteString("\n// masktabrev[r]: the same bytes after reversing each 16-byte lane: bit 16L+j is set\n// when byte 16L+15-j is among the first r.\n")
	for r := 0; r <= 64; r++ {
		var v uint64
		for b := 0; b < 64; b++ {
			if src := b/16*16 + 15 - b%16; src < r {
				v |= 1 << uint(b)
			}
		}
		fmt.Fprintf(&g.b, "DATA masktabrev<>+%d(SB)/8, $0x%016x\n", 8*r, v)
	}
	g.b.WriteString("GLOBL masktabrev<>(SB), RODATA|NOPTR, $520\n")
	g.b.WriteString("\n// Big-endian counter fields (dword 3 of each lane) 2..17, and 1 for J0.\n")
	for k := 0; k < 4; k++ {
		name := fmt.Sprintf("ctrbe%d", k)
		for l := 0; l < 4; l++ {
			fmt.Fprintf(&g.b, "DATA %s<>+%d(SB)/8, $0\n", name, 16*l)
			fmt.Fprintf(&g.b, "DATA %s<>+%d(SB)/8, $0x%08x00000000\n", name, 16*l+8, (2+4*k+l)<<24)
		}
		fmt.Fprintf(&g.b, "GLOBL %s<>(SB), RODATA|NOPTR, $64\n", name)
	}
	for _, n := range []int{4, 8, 12, 16} {
		name := fmt.Sprintf("ctrbeinc%d", n)
		for l := 0; l < 4; l++ {
			fmt.Fprintf(&g.b, "DATA %s<>+%d(SB)/8, $0\n", name, 16*l)
			fmt.Fprintf(&g.b, "DATA %s<>+%d(SB)/8, $0x%08x00000000\n", name, 16*l+8, n<<24)
		}
		fmt.Fprintf(&g.b, "GLOBL %s<>(SB), RODATA|NOPTR, $64\n", name)
	}
	g.b.WriteString("DATA j0<>+0(SB)/8, $0\nDATA j0<>+8(SB)/8, $0x0100000000000000\nGLOBL j0<>(SB), RODATA|NOPTR, $16\n")
	for _, n := range []int{4, 8, 12, 16} {
		lanes(fmt.Sprintf("inc%d", n), [4]int{n, n, n, n})
	}
}
