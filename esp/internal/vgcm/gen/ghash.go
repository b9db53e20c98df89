package main

import (
	"fmt"
)

// ops collects instructions instead of printing them, so that GHASH work can be spread
// between AES rounds.
type ops []string

func (o *ops) op(format string, args ...any) { *o = append(*o, fmt.Sprintf(format, args...)) }

// mulAcc appends the four carry-less products of d (byte-reflected blocks, one per lane)
// with p (the matching powers of H, register or memory operand) to the accumulators:
// LO ^= d.lo·p.lo, MI ^= d.lo·p.hi ^ d.hi·p.lo, HI ^= d.hi·p.hi. With first set it assigns
// instead of accumulating. r is the register-name function (X, Y or Z) for the width.
func mulAcc(o *ops, r func(int) string, d, p string, first bool) {
	// Go's operand order is reversed from Intel's: VPCLMULQDQ $imm, B, A, dst computes
	// A[imm bit 0] · B[imm bit 4] (quadword 0 or 1 of each 128-bit lane).
	if first {
		o.op("VPCLMULQDQ $0x00, %s, %s, %s", p, d, r(regLO))
		o.op("VPCLMULQDQ $0x01, %s, %s, %s", p, d, r(regMI))
		o.op("VPCLMULQDQ $0x10, %s, %s, %s", p, d, r(regT[0]))
		o.op("VPCLMULQDQ $0x11, %s, %s, %s", p, d, r(regHI))
		o.op("VPXORD %s, %s, %s", r(regT[0]), r(regMI), r(regMI))
		return
	}
	o.op("VPCLMULQDQ $0x00, %s, %s, %s", p, d, r(regT[0]))
	o.op("VPCLMULQDQ $0x01, %s, %s, %s", p, d, r(regT[1]))
	o.op("VPCLMULQDQ $0x10, %s, %s, %s", p, d, r(regT[2]))
	o.op("VPCLMULQDQ $0x11, %s, %s, %s", p, d, r(regT[3]))
	o.op("VPXORD %s, %s, %s", r(regT[0]), r(regLO), r(regLO))
	o.op("VPTERNLOGD $0x96, %s, %s, %s", r(regT[1]), r(regT[2]), r(regMI)) // MI ^= T1 ^ T2
	o.op("VPXORD %s, %s, %s", r(regT[3]), r(regHI), r(regHI))
}

// reduce appends the Montgomery-style reduction of the 256-bit sums LO + MI·t^64 +
// HI·t^128 in every lane; the reduced value (the product times t^-128 modulo the
// reflected polynomial) is left in HI.
//
// Step 1 cancels the low quadword c0 of LO by adding c0·Q, Q = 1 + t^121 + t^126 + t^127 +
// t^128: c0·(t^121 + t^126 + t^127) = t^64·clmul(c0, 0xc200000000000000) lands on MI, c0·t^128
// lands on MI's high quadword and LO's high quadword moves to MI's low one, so
// MI ^= clmul(LO.lo, G) ^ swap(LO). Step 2 does the same one quadword higher: HI ^=
// clmul(MI.lo, G) ^ swap(MI).
func reduce(o *ops, r func(int) string) {
	o.op("VPCLMULQDQ $0x00, %s, %s, %s", r(regG), r(regLO), r(regT[0]))
	o.op("VPSHUFD $0x4e, %s, %s", r(regLO), r(regLO))
	o.op("VPTERNLOGD $0x96, %s, %s, %s", r(regT[0]), r(regLO), r(regMI))
	o.op("VPCLMULQDQ $0x00, %s, %s, %s", r(regG), r(regMI), r(regT[0]))
	o.op("VPSHUFD $0x4e, %s, %s", r(regMI), r(regMI))
	o.op("VPTERNLOGD $0x96, %s, %s, %s", r(regT[0]), r(regMI), r(regHI))
}

// fold appends the XOR of HI's four lanes into X(dst) (upper lanes zero).
func fold(o *ops, dst int) {
	o.op("VEXTRACTI64X4 $1, %s, %s", Z(regHI), Y(regT[0]))
	o.op("VPXORD %s, %s, %s", Y(regT[0]), Y(regHI), Y(regHI))
	o.op("VEXTRACTI32X4 $1, %s, %s", Y(regHI), X(regT[0]))
	o.op("VPXORD %s, %s, %s", X(regT[0]), X(regHI), X(dst))
}

// foldTag is fold for the final GHASH value, with E(K, J0) (byte-reflected) added in the
// same instruction: X(regHI) receives the tag, byte-reflected.
func foldTag(o *ops) {
	o.op("VEXTRACTI64X4 $1, %s, %s", Z(regHI), Y(regT[0]))
	o.op("VPXORD %s, %s, %s", Y(regT[0]), Y(regHI), Y(regHI))
	o.op("VEXTRACTI32X4 $1, %s, %s", Y(regHI), X(regT[0]))
	o.op("VPTERNLOGD $0x96, %s, %s, %s", X(regEJ), X(regT[0]), X(regHI))
}

func (g *gen) emit(o ops) {
	for _, s := range o {
		g.op("%s", s)
	}
}

// lenBlock appends the product of the length block with H^1, assigning LO/MI/HI. The
// block is [bitlen(A)]64 || [bitlen(C)]64 big-endian; byte-reflected that is the 128-bit
// integer bitlen(C) + bitlen(A)·2^64. The lengths are reloaded from the frame.
func lenBlock(o *ops) { lenBlockAcc(o, false) }

// lenBlockAcc is lenBlock; with acc set it adds to LO/MI/HI (all lanes kept).
func lenBlockAcc(o *ops, acc bool) {
	o.op("MOVQ n+24(FP), CX")
	o.op("SHLQ $3, CX")
	o.op("VMOVQ CX, %s", X(regS))
	o.op("MOVQ aadLen+48(FP), CX")
	o.op("SHLQ $3, CX")
	o.op("VPINSRQ $1, CX, %s, %s", X(regS), X(regS))
	// Table entry 32 is H^1. The products are 128-bit operations, which clear the upper
	// lanes of their destinations: without acc this comes first.
	if !acc {
		mulAcc(o, X, X(regS), "Key_htab+512(R8)", true)
		return
	}
	for i, imm := range []string{"0x00", "0x01", "0x10", "0x11"} {
		o.op("VPCLMULQDQ $%s, Key_htab+512(R8), %s, %s", imm, X(regS), X(regT[i]))
	}
	o.op("VPXORD %s, %s, %s", Z(regT[0]), Z(regLO), Z(regLO))
	o.op("VPTERNLOGD $0x96, %s, %s, %s", Z(regT[1]), Z(regT[2]), Z(regMI))
	o.op("VPXORD %s, %s, %s", Z(regT[3]), Z(regHI), Z(regHI))
}

// mask sets K(kreg) to the byte mask of lane group k (bytes 64k..64k+63) of a chunk whose
// remaining length is in rem: clamp(rem-64k, 0, 64) low bits set, loaded from masktab
// (a load, where a GP-to-mask move would take a vector port).
func (g *gen) mask(rem string, k, kreg int) { g.maskFrom("masktab", rem, k, kreg) }

// maskRev sets K7 to the mask of the valid bytes of lane group nb-1 (DX bytes in all)
// after each 16-byte lane has been byte-reversed: for VPSHUFB with zeroing.
func (g *gen) maskRev(nb int) { g.maskFrom("masktabrev", "DX", nb-1, 7) }

// shuffleCT byte-reflects the ciphertext in regA[k] into regD[k] for GHASH; for the
// partial last lane group, bytes past the end (keystream there) become zero.
func (g *gen) shuffleCT(k int, partial bool) {
	if partial {
		g.op("VPSHUFB.Z %s, %s, K7, %s", Z(regBS), Z(regA[k]), Z(regD[k]))
		return
	}
	g.op("VPSHUFB %s, %s, %s", Z(regBS), Z(regA[k]), Z(regD[k]))
}

func (g *gen) maskFrom(table, rem string, k, kreg int) {
	g.op("MOVQ %s, CX", rem)
	if k > 0 {
		g.op("SUBQ $%d, CX", 64*k)
		g.op("CMOVQLT zero8<>(SB), CX")
	}
	g.op("CMPQ CX, $64")
	g.op("CMOVQGT c64<>(SB), CX")
	g.op("LEAQ %s<>(SB), AX", table)
	g.op("KMOVQ (AX)(CX*8), K%d", kreg)
}

// powerPtr sets BX to the address of table entry 32-m (extra = 0) or 33-m (extra = 1),
// m = ceil(len/16) blocks for the byte count in reg: the entry that multiplies the first of
// m blocks followed by the length block (extra 0) or by nothing (extra 1).
func (g *gen) powerPtr(reg string, extra int) {
	g.op("LEAQ 15(%s), CX", reg)
	g.op("SHRQ $4, CX")
	g.op("SHLQ $4, CX")
	g.op("LEAQ Key_htab+%d(R8), BX", 512+16*extra)
	g.op("SUBQ CX, BX")
}
