package main

import (
	"fmt"
)

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
