// Command gen writes vgcm_amd64.s, the assembly of package vgcm: AES-GCM on VAES,
// VPCLMULQDQ and AVX-512 (Z registers, opmask registers for every tail).
//
//	go run ./gen -o vgcm_amd64.s   (what `go generate` runs in package vgcm)
//
// It is a plain Go program with no dependency: each method of gen prints a few
// instructions, and the functions at the bottom put them together into the TEXT
// symbols that vgcm_amd64.go declares. The design is described in package vgcm's doc
// (doc.go); the comments here say what each piece of code does and where its facts
// come from.
//
// Sources of the facts used (no code was taken from any of them):
//   - NIST SP 800-38D (GCM: GCTR, GHASH, J0 = IV || 0^31 || 1 for a 96-bit IV, inc32, the
//     length block) and FIPS-197 (AES rounds and key schedule).
//   - Intel's instruction set reference for AESENC/AESENCLAST/AESKEYGENASSIST, PCLMULQDQ
//     (the immediate selects a quadword of each source), VPTERNLOGD (immediate 0x96 is the
//     truth table of a three-way XOR), masked AVX-512 loads and stores (masked-off elements
//     neither fault nor are written).
//   - S. Gueron, M. Kounavis, "Intel Carry-Less Multiplication Instruction and its Usage for
//     Computing the GCM Mode" (Intel white paper, 2010) and the published structure of
//     Linux's aes-gcm-avx10 (E. Biggers, 2024): byte-reflected GHASH operands, the bit-
//     reflected polynomial 1 + t^121 + t^126 + t^127 + t^128 (the constant 0xc2...01),
//     a two-step reduction by multiplication with 0xc200000000000000, H·t precomputed so
//     the reflected product needs no shift, 16 blocks in flight in four Z registers with
//     GHASH of 16 blocks interleaved with the AES rounds and one reduction per 16 blocks.
//     The derivation used here is written out in doc.go.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
)

// Vector registers. Z0..Z15 are the ones VEX-only instructions (VPTEST, VPINSRQ, VPINSRD
// without AVX512DQ) can name, so the scratch register used with them is among those.
var (
	regA  = [4]int{0, 1, 2, 3}     // AES states: counter blocks, then keystream
	regD  = [4]int{4, 5, 6, 7}     // GHASH operands: byte-reflected ciphertext blocks
	regLO = 8                      // GHASH accumulators: low, middle and high
	regMI = 9                      // partial products of the 256-bit carry-less
	regHI = 10                     // products (schoolbook, four per block)
	regT  = [4]int{11, 12, 16, 17} // temporaries of the multiplication
	regRK = 13                     // the current round key, broadcast to four lanes
	regCT = 14                     // counter blocks of the next chunk, big-endian
	regS  = 15                     // scratch for VEX-only instructions (length block, tag)
	regG  = 18                     // 0xc200000000000000 in every lane: the reduction constant
	regY  = 19                     // GHASH state, reduced, in lane 0 (lanes 1-3 zero)
	regEJ = 20                     // E(K, J0), the tag mask, byte-reflected
	regTG = 21                     // the received tag (Open)
	regHB = 22                     // the nonce in every lane, counter field zero
	regBS = 23                     // VPSHUFB mask reversing the bytes of each lane
	regP  = [4]int{24, 25, 26, 27} // H^16..H^1 for the 16-block loop
	regIN = [4]int{28, 29, 30, 31} // loaded plaintext (Seal) or ciphertext (Open), then
	// XORed with the last round key
)

// Mask registers: K1..K4 the bytes of the four lane groups of a partial chunk, K5 the
// tag's bytes, K6 the AAD piece's bytes (and a broadcast mask at entry), K7 the last lane
// group's bytes after byte reversal (and a broadcast mask at entry).

// General-purpose registers, fixed for Seal and Open:
//
//	R8  *Key            DI  destination   SI  source      DX  bytes left (message)
//	R9  AAD pointer     R10 AAD bytes left R11 tag length
//	R12 the received tag's address (Open) at entry, then the counter of the next chunk's
//	    first block (its low byte decides the counter fast path)
//	R13 rounds (10/12/14) R14 address of the last round key
//	AX, BX, CX temporaries; BX also points into the table of H powers.

func Z(n int) string { return fmt.Sprintf("Z%d", n) }
func Y(n int) string { return fmt.Sprintf("Y%d", n) }
func X(n int) string { return fmt.Sprintf("X%d", n) }

type gen struct {
	b      bytes.Buffer
	labels int
}

func (g *gen) op(format string, args ...any) {
	fmt.Fprintf(&g.b, "\t"+format+"\n", args...)
}

func (g *gen) label(l string) { fmt.Fprintf(&g.b, "%s:\n", l) }

func (g *gen) comment(format string, args ...any) {
	fmt.Fprintf(&g.b, "\t// "+format+"\n", args...)
}

func (g *gen) newLabel(what string) string {
	g.labels++
	return fmt.Sprintf("%s_%d", what, g.labels)
}

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

// rounds prints AES rounds 1..Nr for the Z registers in regs, which already hold the
// counter blocks XORed with round key 0, spreading the instructions of gh between rounds
// 1..9. The extra rounds of AES-192/256 follow a branch on R13; the last round key is at
// (R14). The last round's key is XORed with in[i] first, so that regs[i] comes out as
// keystream XOR in[i] (AESENCLAST adds its key last); in[i] is clobbered.
func (g *gen) rounds(regs []int, gh ops, in []int) {
	bc := func(off string) {
		g.op("VBROADCASTI32X4 %s, %s", off, Z(regRK))
	}
	enc := func() {
		for _, r := range regs {
			g.op("VAESENC %s, %s, %s", Z(regRK), Z(r), Z(r))
		}
	}
	for r := 1; r <= 9; r++ {
		bc(fmt.Sprintf("Key_rk+%d(R8)", 16*r))
		enc()
		g.emit(gh[(r-1)*len(gh)/9 : r*len(gh)/9])
	}
	last := g.newLabel("lastround")
	g.op("CMPQ R13, $12")
	g.op("JB %s", last)
	bc("Key_rk+160(R8)")
	enc()
	bc("Key_rk+176(R8)")
	enc()
	g.op("JE %s", last)
	bc("Key_rk+192(R8)")
	enc()
	bc("Key_rk+208(R8)")
	enc()
	g.label(last)
	bc("(R14)")
	for i, r := range regs {
		g.op("VPXORD %s, %s, %s", Z(regRK), Z(in[i]), Z(in[i]))
		g.op("VAESENCLAST %s, %s, %s", Z(in[i]), Z(r), Z(r))
	}
}

// counters prints the counter blocks of the next nb (1..4) lane groups into the AES
// registers, XORed with round key 0 (which it leaves in regRK), and steps the counter
// register and R12 by 16 blocks when advance is set.
//
// regCT holds big-endian counter blocks, so that a chunk's blocks are regCT plus 0..15 in
// the last byte and need no byte shuffle (SP 800-38D's inc32 is a 32-bit big-endian
// increment). That holds while the low byte of the chunk's first counter (R12) is at most
// 240; otherwise (once every 16 chunks) the blocks are computed in 32-bit arithmetic on
// byte-reflected copies and regCT is rebuilt the same way.
func (g *gen) counters(nb int, advance bool) {
	slow, done := g.newLabel("ctrslow"), g.newLabel("ctrdone")
	g.op("VBROADCASTI32X4 Key_rk(R8), %s", Z(regRK))
	g.op("CMPB R12B, $240")
	g.op("JA %s", slow)
	for k := 1; k < nb; k++ {
		g.op("VPADDD ctrbeinc%d<>(SB), %s, %s", 4*k, Z(regCT), Z(regA[k]))
	}
	g.op("VPXORD %s, %s, %s", Z(regRK), Z(regCT), Z(regA[0]))
	for k := 1; k < nb; k++ {
		g.op("VPXORD %s, %s, %s", Z(regRK), Z(regA[k]), Z(regA[k]))
	}
	if advance {
		g.op("VPADDD ctrbeinc16<>(SB), %s, %s", Z(regCT), Z(regCT))
	}
	g.op("JMP %s", done)
	g.label(slow)
	le := Z(regT[0]) // free: GHASH temporaries are not live between chunks
	g.op("VPSHUFB %s, %s, %s", Z(regBS), Z(regCT), le)
	for k := 0; k < nb; k++ {
		if k == 0 {
			g.op("VPXORD %s, %s, %s", Z(regRK), Z(regCT), Z(regA[0]))
			continue
		}
		g.op("VPADDD inc%d<>(SB), %s, %s", 4*k, le, Z(regA[k]))
		g.op("VPSHUFB %s, %s, %s", Z(regBS), Z(regA[k]), Z(regA[k]))
		g.op("VPXORD %s, %s, %s", Z(regRK), Z(regA[k]), Z(regA[k]))
	}
	if advance {
		g.op("VPADDD inc16<>(SB), %s, %s", le, le)
		g.op("VPSHUFB %s, %s, %s", Z(regBS), le, Z(regCT))
	}
	g.label(done)
	if advance {
		g.op("ADDL $16, R12")
	}
}

const (
	ghNone = iota // no GHASH in this chunk
	ghFull        // 16 blocks in regD with the powers in regP, reduced into regY
	ghLast        // up to 16 blocks in regD (zero past the end) with the powers at (BX),
	// plus the length block, reduced and folded into X(regY): the final GHASH value
	ghHigh // the last full chunk before a final partial one of m blocks: 16 blocks in
	// regD, the state folded in, times H^(m+17)..H^(m+2) (at -256(BX)), not reduced
	ghLastAcc // ghLast added to what ghHigh left in LO/MI/HI
	ghPairA   // first chunk of a pair: state folded in, times H^32..H^17, not reduced
	ghPairB   // second chunk of a pair: times H^16..H^1, added to ghPairA's, reduced
)

// ghashOps returns the GHASH work of one chunk: fold the state into the first block,
// multiply, reduce, fold the lanes into the new state. For ghLast, nb (1..4) registers of
// regD are used. The first block's products are added last: the other blocks do not
// depend on the previous state, so this keeps the chain from one state to the next short.
func ghashOps(kind, nb int) ops {
	var o ops
	switch kind {
	case ghFull:
		o.op("VPXORD %s, %s, %s", Z(regY), Z(regD[0]), Z(regD[0]))
		for k := 1; k < 4; k++ {
			mulAcc(&o, Z, Z(regD[k]), Z(regP[k]), k == 1)
		}
		mulAcc(&o, Z, Z(regD[0]), Z(regP[0]), false)
	case ghPairA:
		o.op("VPXORD %s, %s, %s", Z(regY), Z(regD[0]), Z(regD[0]))
		for k := 1; k < 4; k++ {
			mulAcc(&o, Z, Z(regD[k]), fmt.Sprintf("Key_htab+%d(R8)", 16+64*k), k == 1)
		}
		mulAcc(&o, Z, Z(regD[0]), "Key_htab+16(R8)", false)
		return o
	case ghPairB:
		for k := 0; k < 4; k++ {
			mulAcc(&o, Z, Z(regD[k]), Z(regP[k]), false)
		}
	case ghLast, ghLastAcc:
		lenBlockAcc(&o, kind == ghLastAcc)
		if kind == ghLast {
			o.op("VPXORD %s, %s, %s", Z(regY), Z(regD[0]), Z(regD[0]))
		}
		for k := 1; k < nb; k++ {
			mulAcc(&o, Z, Z(regD[k]), fmt.Sprintf("%d(BX)", 64*k), false)
		}
		mulAcc(&o, Z, Z(regD[0]), "(BX)", false)
	case ghHigh:
		o.op("VPXORD %s, %s, %s", Z(regY), Z(regD[0]), Z(regD[0]))
		for k := 1; k < 4; k++ {
			mulAcc(&o, Z, Z(regD[k]), fmt.Sprintf("%d(BX)", 64*k-256), k == 1)
		}
		mulAcc(&o, Z, Z(regD[0]), "-256(BX)", false)
		return o
	default:
		return nil
	}
	reduce(&o, Z)
	if kind == ghLast || kind == ghLastAcc {
		foldTag(&o)
	} else {
		fold(&o, regY)
	}
	return o
}

// chunk prints the processing of up to 256 bytes at SI into DI (DX bytes left, more than
// 256 unless masked): counters, AES, XOR, store, and the GHASH given by kind. For Seal the
// GHASH is of the previous chunk's ciphertext (regD on entry), and regD receives this
// chunk's; for Open it is of this chunk's ciphertext, loaded first. A masked chunk uses
// only the nb lane groups (64 bytes each) that hold data: nb = ceil(DX/64).
func (g *gen) chunk(open bool, kind int, masked bool, nb int) {
	if !masked {
		nb = 4
	}
	if masked {
		for k := 0; k < nb; k++ {
			g.mask("DX", k, k+1)
		}
	}
	for k := 0; k < nb; k++ {
		if masked {
			g.op("VMOVDQU8.Z %d(SI), K%d, %s", 64*k, k+1, Z(regIN[k]))
		} else {
			g.op("VMOVDQU64 %d(SI), %s", 64*k, Z(regIN[k]))
		}
		if open {
			g.op("VPSHUFB %s, %s, %s", Z(regBS), Z(regIN[k]), Z(regD[k]))
		}
	}
	if masked && !open {
		g.maskRev(nb)
	}
	g.counters(nb, !masked)
	g.rounds(regA[:nb], ghashOps(kind, nb), regIN[:nb])
	for k := 0; k < nb; k++ {
		if masked {
			g.op("VMOVDQU8 %s, K%d, %d(DI)", Z(regA[k]), k+1, 64*k)
		} else {
			g.op("VMOVDQU64 %s, %d(DI)", Z(regA[k]), 64*k)
		}
		if !open {
			g.shuffleCT(k, masked && k == nb-1)
		}
	}
}

// dispatch jumps to labels[nb] for nb = ceil(DX/64), DX in 1..256.
func (g *gen) dispatch(labels [5]string) {
	g.op("CMPQ DX, $64")
	g.op("JBE %s", labels[1])
	g.op("CMPQ DX, $128")
	g.op("JBE %s", labels[2])
	g.op("CMPQ DX, $192")
	g.op("JBE %s", labels[3])
	g.op("JMP %s", labels[4])
}

func (g *gen) nbLabels(what string) (l [5]string) {
	for nb := 1; nb <= 4; nb++ {
		l[nb] = g.newLabel(fmt.Sprintf("%s%d", what, nb))
	}
	return l
}

func (g *gen) advance() {
	g.op("ADDQ $256, SI")
	g.op("ADDQ $256, DI")
	g.op("SUBQ $256, DX")
}

// pieces prints a loop that GHASHes R10 (> 0) bytes at R9, zero-padded to whole blocks,
// 64 bytes per pass with the powers at (BX), adding the products to LO/MI/HI. With foldY
// the state in regY is XORed into the first block (and regY cleared).
func (g *gen) pieces(foldY bool) {
	loop := g.newLabel("pieces")
	g.label(loop)
	g.mask("R10", 0, 6)
	g.op("VMOVDQU8.Z (R9), K6, %s", Z(regD[0]))
	g.op("VPSHUFB %s, %s, %s", Z(regBS), Z(regD[0]), Z(regD[0]))
	if foldY {
		g.op("VPXORD %s, %s, %s", Z(regY), Z(regD[0]), Z(regD[0]))
		g.op("VPXORD %s, %s, %s", Z(regY), Z(regY), Z(regY))
	}
	var o ops
	mulAcc(&o, Z, Z(regD[0]), "(BX)", false)
	g.emit(o)
	g.op("ADDQ $64, R9")
	g.op("ADDQ $64, BX")
	g.op("SUBQ $64, R10")
	g.op("JG %s", loop)
}

func (g *gen) zeroAcc() {
	for _, r := range []int{regLO, regMI, regHI} {
		g.op("VPXORD %s, %s, %s", Z(r), Z(r), Z(r))
	}
}

// finish byte-reflects the tag that foldTag left in X(regHI) and stores tagLen bytes of
// it at DI+DX (Seal) or compares them with the received tag in constant time (Open).
func (g *gen) finish(open bool) {
	g.op("VPSHUFB %s, %s, %s", X(regBS), X(regHI), X(regS))
	if !open {
		g.op("VMOVDQU8 %s, K5, (DI)(DX*1)", X(regS))
		g.op("VZEROUPPER")
		g.op("RET")
		return
	}
	g.op("VMOVDQU8.Z %s, K5, %s", X(regS), X(regS))
	g.op("VPXORD %s, %s, %s", X(regTG), X(regS), X(regS))
	g.op("VPTEST %s, %s", X(regS), X(regS))
	g.op("SETEQ AX")
	g.op("MOVB AX, ret+72(FP)")
	g.op("VZEROUPPER")
	g.op("RET")
}

// gcm prints sealAsm or openAsm.
func (g *gen) gcm(open bool) {
	name := "sealAsm"
	frame := "$0-64"
	if open {
		name, frame = "openAsm", "$0-73"
	}
	fmt.Fprintf(&g.b, "\n// func %s", name)
	if open {
		fmt.Fprintf(&g.b, "(k *Key, dst, src *byte, n int, nonce, aad *byte, aadLen int, tag *byte, tagLen int) bool\n")
	} else {
		fmt.Fprintf(&g.b, "(k *Key, dst, src *byte, n int, nonce, aad *byte, aadLen, tagLen int)\n")
	}
	fmt.Fprintf(&g.b, "TEXT ·%s(SB), NOSPLIT, %s\n", name, frame)
	g.op("MOVQ k+0(FP), R8")
	g.op("MOVQ dst+8(FP), DI")
	g.op("MOVQ src+16(FP), SI")
	g.op("MOVQ n+24(FP), DX")
	g.op("MOVQ nonce+32(FP), AX")
	g.op("MOVQ aad+40(FP), R9")
	g.op("MOVQ aadLen+48(FP), R10")
	if open {
		g.op("MOVQ tag+56(FP), R12")
		g.op("MOVQ tagLen+64(FP), R11")
	} else {
		g.op("MOVQ tagLen+56(FP), R11")
	}
	g.op("MOVQ Key_nr(R8), R13")
	g.op("MOVQ R13, R14")
	g.op("SHLQ $4, R14")
	g.op("LEAQ Key_rk(R8)(R14*1), R14")
	g.op("VBROADCASTI32X4 bswap<>(SB), %s", Z(regBS))
	g.op("VBROADCASTI32X4 gfpoly<>(SB), %s", Z(regG))

	g.comment("the nonce in every lane, counter field zero: qword 0 and dword 2 of each lane")
	g.op("KMOVW k55<>(SB), K6")
	g.op("KMOVW k4444<>(SB), K7")
	g.op("VPBROADCASTQ.Z (AX), K6, %s", Z(regHB))
	g.op("VPBROADCASTD 8(AX), K7, %s", Z(regHB))
	g.comment("E(K, J0), J0 = nonce || 00000001 (SP 800-38D 7.1): an independent chain the")
	g.comment("core overlaps with what follows")
	g.op("VPXORD Key_rk(R8), %s, %s", X(regHB), X(regEJ))
	g.op("VPXORD j0<>(SB), %s, %s", X(regEJ), X(regEJ))
	for r := 1; r <= 9; r++ {
		g.op("VAESENC Key_rk+%d(R8), %s, %s", 16*r, X(regEJ), X(regEJ))
	}
	ej := g.newLabel("ej")
	g.op("CMPQ R13, $12")
	g.op("JB %s", ej)
	g.op("VAESENC Key_rk+160(R8), %s, %s", X(regEJ), X(regEJ))
	g.op("VAESENC Key_rk+176(R8), %s, %s", X(regEJ), X(regEJ))
	g.op("JE %s", ej)
	g.op("VAESENC Key_rk+192(R8), %s, %s", X(regEJ), X(regEJ))
	g.op("VAESENC Key_rk+208(R8), %s, %s", X(regEJ), X(regEJ))
	g.label(ej)
	g.op("VAESENCLAST (R14), %s, %s", X(regEJ), X(regEJ))
	g.op("VPSHUFB %s, %s, %s", X(regBS), X(regEJ), X(regEJ))
	g.comment("K5: the tag's bytes")
	g.op("LEAQ masktab<>(SB), AX")
	g.op("KMOVQ (AX)(R11*8), K5")
	if open {
		g.op("VMOVDQU8.Z (R12), K5, %s", X(regTG))
	}

	g.comment("Short messages: AAD, text and length block together are at most 16 blocks,")
	g.comment("multiplied by H^N..H^1 and reduced once.")
	g.op("LEAQ 15(R10), AX")
	g.op("SHRQ $4, AX")
	g.op("LEAQ 15(DX), BX")
	g.op("SHRQ $4, BX")
	g.op("ADDQ BX, AX")
	g.op("CMPQ AX, $15")
	large := g.newLabel("large")
	g.op("JA %s", large)
	g.small(open)

	g.label(large)
	g.large(open)
}

// small prints the path for a + c <= 15 (AX = a + c, a and c the AAD and text blocks).
func (g *gen) small(open bool) {
	var o ops
	lenBlock(&o)
	g.emit(o)
	ct := g.newLabel("smallct")
	g.op("TESTQ R10, R10")
	g.op("JE %s", ct)
	g.comment("AAD block i takes H^(a+c+1-i): table entry 32-a-c+i")
	g.op("MOVQ AX, CX")
	g.op("SHLQ $4, CX")
	g.op("LEAQ Key_htab+512(R8), BX")
	g.op("SUBQ CX, BX")
	wide := g.newLabel("smallaad")
	g.op("CMPQ R10, $16")
	g.op("JA %s", wide)
	g.comment("one AAD block (ESP's SPI and sequence number): 128-bit products, which are")
	g.comment("half the cost of 512-bit ones here")
	g.mask("R10", 0, 6)
	g.op("VMOVDQU8.Z (R9), K6, %s", X(regD[0]))
	g.op("VPSHUFB %s, %s, %s", X(regBS), X(regD[0]), X(regD[0]))
	o = nil
	mulAcc(&o, X, X(regD[0]), "(BX)", false)
	g.emit(o)
	g.op("JMP %s", ct)
	g.label(wide)
	g.pieces(false)
	g.label(ct)
	g.comment("text block i takes H^(c+1-i): table entry 32-c+i")
	g.powerPtr("DX", 0)
	fin := g.newLabel("smallfin")
	var nbl [5]string
	for nb := 1; nb <= 4; nb++ {
		nbl[nb] = g.newLabel(fmt.Sprintf("small%d", nb))
	}
	g.op("TESTQ DX, DX")
	g.op("JE %s", fin)
	g.op("CMPQ DX, $64")
	g.op("JBE %s", nbl[1])
	g.op("CMPQ DX, $128")
	g.op("JBE %s", nbl[2])
	g.op("CMPQ DX, $192")
	g.op("JBE %s", nbl[3])
	g.op("JMP %s", nbl[4])
	for nb := 1; nb <= 4; nb++ {
		g.label(nbl[nb])
		for k := 0; k < nb; k++ {
			g.mask("DX", k, k+1)
		}
		var gh ops
		for k := 0; k < nb; k++ {
			g.op("VMOVDQU8.Z %d(SI), K%d, %s", 64*k, k+1, Z(regIN[k]))
			if open {
				g.op("VPSHUFB %s, %s, %s", Z(regBS), Z(regIN[k]), Z(regD[k]))
				mulAcc(&gh, Z, Z(regD[k]), fmt.Sprintf("%d(BX)", 64*k), false)
			}
		}
		// Big-endian counters straight from the nonce: blocks 2..17 never carry out of
		// the counter's low byte.
		g.op("VBROADCASTI32X4 Key_rk(R8), %s", Z(regRK))
		for k := 0; k < nb; k++ {
			g.op("VPXORD ctrbe%d<>(SB), %s, %s", k, Z(regRK), Z(regA[k]))
		}
		for k := 0; k < nb; k++ {
			g.op("VPXORD %s, %s, %s", Z(regHB), Z(regA[k]), Z(regA[k]))
		}
		if !open {
			g.maskRev(nb)
		}
		g.rounds(regA[:nb], gh, regIN[:nb])
		for k := 0; k < nb; k++ {
			g.op("VMOVDQU8 %s, K%d, %d(DI)", Z(regA[k]), k+1, 64*k)
		}
		if !open {
			var o ops
			for k := 0; k < nb; k++ {
				g.shuffleCT(k, k == nb-1)
				mulAcc(&o, Z, Z(regD[k]), fmt.Sprintf("%d(BX)", 64*k), false)
			}
			g.emit(o)
		}
		if nb < 4 {
			g.op("JMP %s", fin)
		}
	}
	g.label(fin)
	o = nil
	reduce(&o, Z)
	foldTag(&o)
	g.emit(o)
	g.finish(open)
}

// large prints the path for longer messages: AAD 256 bytes at a time, then the text in
// chunks of 16 blocks with GHASH interleaved with the AES rounds.
func (g *gen) large(open bool) {
	g.comment("counter blocks 2..5 (big-endian); R12 counts the first block of each chunk")
	g.op("VPXORD ctrbe0<>(SB), %s, %s", Z(regHB), Z(regCT))
	g.op("MOVL $2, R12")
	g.op("VPXORD %s, %s, %s", Z(regY), Z(regY), Z(regY))
	for k := 0; k < 4; k++ {
		g.op("VMOVDQU64 Key_htab+%d(R8), %s", 16*17+64*k, Z(regP[k]))
	}
	aadLoop, aadRem, aadAlone, ct := g.newLabel("aadloop"), g.newLabel("aadrem"), g.newLabel("aadalone"), g.newLabel("ct")
	aadOne := g.newLabel("aadone")
	loadAAD := func(off int) {
		for k := 0; k < 4; k++ {
			g.op("VMOVDQU64 %d(R9), %s", off+64*k, Z(regD[k]))
			g.op("VPSHUFB %s, %s, %s", Z(regBS), Z(regD[k]), Z(regD[k]))
		}
	}
	g.comment("AAD: 512 bytes per pass, reduced once, while more than 512 are left")
	g.label(aadLoop)
	g.op("CMPQ R10, $512")
	g.op("JBE %s", aadOne)
	loadAAD(0)
	g.emit(ghashOps(ghPairA, 4))
	loadAAD(256)
	g.emit(ghashOps(ghPairB, 4))
	g.op("ADDQ $512, R9")
	g.op("SUBQ $512, R10")
	g.op("JMP %s", aadLoop)
	g.label(aadOne)
	g.op("CMPQ R10, $256")
	g.op("JBE %s", aadRem)
	loadAAD(0)
	g.emit(ghashOps(ghFull, 4))
	g.op("ADDQ $256, R9")
	g.op("SUBQ $256, R10")

	g.label(aadRem)
	g.op("TESTQ R10, R10")
	g.op("JE %s", ct)
	g.op("TESTQ DX, DX")
	g.op("JNE %s", aadAlone)
	g.comment("no text (GMAC): the last AAD blocks and the length block make the tag")
	var o ops
	lenBlock(&o)
	g.emit(o)
	g.powerPtr("R10", 0)
	g.pieces(true)
	o = nil
	reduce(&o, Z)
	foldTag(&o)
	g.emit(o)
	g.finish(open)

	g.label(aadAlone)
	wide := g.newLabel("aadwide")
	g.op("CMPQ R10, $16")
	g.op("JA %s", wide)
	g.comment("one AAD block (ESP's SPI and sequence number): 128-bit operations only")
	g.mask("R10", 0, 6)
	g.op("VMOVDQU8.Z (R9), K6, %s", X(regD[0]))
	g.op("VPSHUFB %s, %s, %s", X(regBS), X(regD[0]), X(regD[0]))
	g.op("VPXORD %s, %s, %s", X(regY), X(regD[0]), X(regD[0]))
	o = nil
	mulAcc(&o, X, X(regD[0]), "Key_htab+512(R8)", true)
	reduce(&o, X)
	o.op("VMOVDQA64 %s, %s", X(regHI), X(regY))
	g.emit(o)
	g.op("JMP %s", ct)
	g.label(wide)
	g.powerPtr("R10", 1)
	g.zeroAcc()
	g.pieces(true)
	o = nil
	reduce(&o, Z)
	fold(&o, regY)
	g.emit(o)

	g.label(ct)
	loop := g.newLabel("ctloop")
	last := g.nbLabels("ctlast")
	if !open {
		single, fin := g.nbLabels("ctsingle"), g.nbLabels("ctfin")
		singleD, lastD := g.newLabel("ctsingle"), g.newLabel("ctlast")
		g.op("CMPQ DX, $256")
		g.op("JBE %s", singleD)
		g.comment("first chunk: AES only; its GHASH runs during the next chunk's rounds")
		g.chunk(false, ghNone, false, 4)
		g.advance()
		g.comment("two chunks per pass, GHASH reduced once per 32 blocks")
		g.label(loop)
		g.op("CMPQ DX, $512")
		g.op("JBE %s", loop+"one")
		g.chunk(false, ghPairA, false, 4)
		g.advance()
		g.chunk(false, ghPairB, false, 4)
		g.advance()
		g.op("JMP %s", loop)
		g.label(loop + "one")
		g.op("CMPQ DX, $256")
		g.op("JBE %s", lastD)
		g.chunk(false, ghFull, false, 4)
		g.advance()
		g.comment("last chunk, m = ceil(DX/16) blocks: the previous chunk, this one and the")
		g.comment("length block are multiplied by H^(m+17)..H^1 and reduced once")
		g.label(lastD)
		g.powerPtr("DX", 0)
		g.dispatch(last)
		g.label(singleD)
		g.powerPtr("DX", 0)
		g.dispatch(single)
		for nb := 1; nb <= 4; nb++ {
			g.label(last[nb])
			g.chunk(false, ghHigh, true, nb)
			g.emit(ghashOps(ghLastAcc, nb))
			g.finish(false)
			g.label(single[nb])
			g.chunk(false, ghNone, true, nb)
			g.label(fin[nb])
			g.emit(ghashOps(ghLast, nb))
			g.finish(false)
		}
		return
	}
	lastD, pairD := g.newLabel("ctlast"), g.newLabel("ctpair")
	lastP := g.nbLabels("ctlastpair")
	g.op("CMPQ DX, $256")
	g.op("JBE %s", lastD)
	g.comment("two chunks per pass, GHASH reduced once per 32 blocks")
	g.label(loop)
	g.op("CMPQ DX, $768")
	g.op("JBE %s", loop+"one")
	g.chunk(true, ghPairA, false, 4)
	g.advance()
	g.chunk(true, ghPairB, false, 4)
	g.advance()
	g.op("JMP %s", loop)
	g.label(loop + "one")
	g.op("CMPQ DX, $512")
	g.op("JBE %s", pairD)
	g.chunk(true, ghFull, false, 4)
	g.advance()
	g.comment("a full chunk and a last one of m = ceil((DX-256)/16) blocks: both and the")
	g.comment("length block are multiplied by H^(m+17)..H^1 and reduced once")
	g.label(pairD)
	g.op("LEAQ -256(DX), AX")
	g.powerPtr("AX", 0)
	g.chunk(true, ghHigh, false, 4)
	g.advance()
	g.dispatch(lastP)
	for nb := 1; nb <= 4; nb++ {
		g.label(lastP[nb])
		g.chunk(true, ghLastAcc, true, nb)
		g.finish(true)
	}
	g.label(lastD)
	g.powerPtr("DX", 0)
	g.dispatch(last)
	for nb := 1; nb <= 4; nb++ {
		g.label(last[nb])
		g.chunk(true, ghLast, true, nb)
		g.finish(true)
	}
}

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

func main() {
	out := flag.String("o", "", "output file (default standard output)")
	flag.Parse()
	var g gen
	g.b.WriteString("// Code generated by go run ./gen; DO NOT EDIT.\n\n")
	g.b.WriteString("//go:build amd64\n\n#include \"textflag.h\"\n#include \"go_asm.h\"\n")
	g.data()
	g.helpers()
	g.gcm(false)
	g.gcm(true)
	src := g.b.Bytes()
	if strings.Contains(string(src), "%!") {
		log.Fatal("format error in generated code")
	}
	if *out == "" {
		os.Stdout.Write(src)
		return
	}
	if err := os.WriteFile(*out, src, 0o644); err != nil {
		log.Fatal(err)
	}
}
