package main

import (
	"fmt"
)

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
