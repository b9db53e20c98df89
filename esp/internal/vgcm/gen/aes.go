package main

import (
	"fmt"
)

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
