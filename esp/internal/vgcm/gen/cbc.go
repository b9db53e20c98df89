package main

import "fmt"

// cbc prints the AES-CBC of package vgcm (cbc.go): invMixColumns, which turns the
// encryption round keys into the equivalent inverse cipher's (FIPS-197 §5.3.5), cbcDecAsm,
// which decrypts eight blocks at a time with AES-NI on X registers, and cbcEncAsm, which
// encrypts one block at a time with every round key held in a register.
//
// CBC decryption, unlike encryption, has no chain through the cipher: P_i = D_K(C_i) ⊕
// C_{i-1} (NIST SP 800-38A §6.2), so eight blocks go through the rounds side by side and
// the AESDEC pipeline stays full, where a block at a time (crypto/cipher's CBC decrypter
// on amd64) waits for each round's result. Facts used: FIPS-197 (the equivalent inverse
// cipher and its key schedule), SP 800-38A, and Intel's reference for AESDEC, AESDECLAST
// and AESIMC. No code was taken from anywhere.
//
// Registers of cbcDecAsm: X0..X7 the eight blocks, X8 the round key, X9 a ciphertext block
// being XORed in, X15 the chaining value (the IV, then the last ciphertext block of the
// previous step). R8 the key schedule, R13 the rounds, R14 the last round key's address,
// AX the IV, SI the source, DI the destination, DX the blocks left.
func (g *gen) cbc() {
	g.b.WriteString(`
// func invMixColumns(dst, src *byte)
// InvMixColumns of one round key (AESIMC): constant time, no table.
TEXT ·invMixColumns(SB), NOSPLIT, $0-16
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVOU (SI), X0
	AESIMC X0, X0
	MOVOU X0, (DI)
	PXOR X0, X0
	RET
`)
	g.b.WriteString(`
// func cbcDecAsm(dk *byte, nr int, iv *byte, dst, src *byte, n int)
// Decrypts n blocks from src to dst (the same address, or not overlapping), chained from iv.
` + cbcEntry("cbcDecAsm", "dk") + `	MOVQ R13, R14
	SHLQ $4, R14
	ADDQ R8, R14
	MOVOU (AX), X15
`)
	blocks := func(n int) {
		g.op("MOVOU (R8), X8")
		for i := 0; i < n; i++ {
			g.op("MOVOU %d(SI), X%d", 16*i, i)
			g.op("PXOR X8, X%d", i)
		}
		dec := func(key string) {
			g.op("MOVOU %s, X8", key)
			for i := 0; i < n; i++ {
				g.op("AESDEC X8, X%d", i)
			}
		}
		for r := 1; r <= 9; r++ {
			dec(fmt.Sprintf("%d(R8)", 16*r))
		}
		last := g.newLabel("cbclast")
		g.op("CMPQ R13, $12")
		g.op("JB %s", last)
		dec("160(R8)")
		dec("176(R8)")
		g.op("JE %s", last)
		dec("192(R8)")
		dec("208(R8)")
		g.label(last)
		g.op("MOVOU (R14), X8")
		for i := 0; i < n; i++ {
			g.op("AESDECLAST X8, X%d", i)
		}
		// XOR in the ciphertext block in front of each (read before any store, so that
		// in place works), keep the last ciphertext block as the next chaining value, store.
		g.op("PXOR X15, X0")
		for i := 1; i < n; i++ {
			g.op("MOVOU %d(SI), X9", 16*(i-1))
			g.op("PXOR X9, X%d", i)
		}
		g.op("MOVOU %d(SI), X15", 16*(n-1))
		for i := 0; i < n; i++ {
			g.op("MOVOU X%d, %d(DI)", i, 16*i)
		}
		g.op("ADDQ $%d, SI", 16*n)
		g.op("ADDQ $%d, DI", 16*n)
		g.op("SUBQ $%d, DX", n)
	}
	g.label("cbc8")
	g.op("CMPQ DX, $8")
	g.op("JB cbc1")
	blocks(8)
	g.op("JMP cbc8")
	g.label("cbc1")
	g.op("TESTQ DX, DX")
	g.op("JZ cbcdone")
	blocks(1)
	g.op("JMP cbc1")
	g.label("cbcdone")
	// Leave no plaintext or key material in the registers.
	for i := 0; i <= 9; i++ {
		g.op("PXOR X%d, X%d", i, i)
	}
	g.op("PXOR X15, X15")
	g.op("RET")
	g.cbcEnc()
}

// cbcEnc prints cbcEncAsm. CBC encryption is a chain: C_i = E_K(P_i ⊕ C_{i-1}), each block
// waiting for the one before it (SP 800-38A §6.2), so the time per block is the latency of
// the rounds and nothing can run beside it. What crypto/cipher adds on top, per block a call
// into the block function, the round keys loaded again, and a separate XOR through memory,
// is what this removes: the Nr+1 round keys are loaded once into X1..X(Nr+1) (at most 15:
// X1..X15 for AES-256), X0 carries the chain, and a block costs one unaligned load XORed
// with round key 0 into X16 (EVEX VPXORD: AVX-512 VL, which the package requires; it takes
// an unaligned memory operand), which does not wait for the chain, then one XOR into the
// chain, the rounds, and one store. The rest is VEX (VAESENC on X registers), ending in
// VZEROUPPER like the package's other AVX code. One loop per key
// size, chosen once, keeps the rounds free of branches.
//
// Registers of cbcEncAsm: X0 the chaining value and the block, X1.. the round keys, X16 the
// next plaintext block with round key 0. R8 the
// key schedule, R13 the rounds, AX the IV, SI the source, DI the destination, DX the blocks
// left.
func (g *gen) cbcEnc() {
	g.b.WriteString(`
// func cbcEncAsm(ek *byte, nr int, iv *byte, dst, src *byte, n int)
// Encrypts n >= 1 blocks from src to dst (the same address, or not overlapping), chained
// from iv.
` + cbcEntry("cbcEncAsm", "ek") + `	VMOVDQU (AX), X0
`)
	for _, nr := range []int{10, 12, 14} {
		loop, next := fmt.Sprintf("cbcenc%d", nr), fmt.Sprintf("cbcenc%dno", nr)
		g.op("CMPQ R13, $%d", nr)
		g.op("JNE %s", next)
		for k := 0; k <= nr; k++ {
			g.op("VMOVDQU %d(R8), X%d", 16*k, k+1)
		}
		g.label(loop)
		g.op("VPXORD (SI), X1, X16") // P_i ⊕ round key 0, off the chain
		g.op("VPXORD X16, X0, X0")
		for k := 1; k < nr; k++ {
			g.op("VAESENC X%d, X0, X0", k+1)
		}
		g.op("VAESENCLAST X%d, X0, X0", nr+1)
		g.op("VMOVDQU X0, (DI)")
		g.op("ADDQ $16, SI")
		g.op("ADDQ $16, DI")
		g.op("DECQ DX")
		g.op("JNZ %s", loop)
		g.op("JMP cbcencdone")
		g.label(next)
	}
	g.label("cbcencdone")
	// Leave no key material in the registers (the last ciphertext block is public).
	for i := 0; i <= 15; i++ {
		g.op("VPXOR X%d, X%d, X%d", i, i, i)
	}
	g.op("VPXORD X16, X16, X16")
	g.op("VZEROUPPER")
	g.op("RET")
}

// cbcEntry is the TEXT line of cbcDecAsm or cbcEncAsm (name), whose first argument, the key
// schedule, is called key, and the loads of their six arguments: R8 the key schedule, R13
// the rounds, AX the IV, DI the destination, SI the source, DX the blocks.
func cbcEntry(name, key string) string {
	return "TEXT ·" + name + "(SB), NOSPLIT, $0-48\n" +
		"\tMOVQ " + key + "+0(FP), R8\n" +
		"\tMOVQ nr+8(FP), R13\n" +
		"\tMOVQ iv+16(FP), AX\n" +
		"\tMOVQ dst+24(FP), DI\n" +
		"\tMOVQ src+32(FP), SI\n" +
		"\tMOVQ n+40(FP), DX\n"
}
