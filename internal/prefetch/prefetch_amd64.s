#include "textflag.h"

// func Write(b []byte)
TEXT ·Write(SB), NOSPLIT|NOFRAME, $0-24
	MOVQ b_base+0(FP), AX
	MOVQ b_len+8(FP), CX
	TESTQ CX, CX
	JZ   done
	LEAQ (AX)(CX*1), CX // end
	ANDQ $~63, AX       // the line of the first byte

loop:
	// PREFETCHW (AX): 0F 0D /1, which Go's assembler does not name.
	BYTE $0x0F; BYTE $0x0D; BYTE $0x08
	ADDQ $64, AX
	CMPQ AX, CX
	JB   loop

done:
	RET

// func Read(b []byte)
TEXT ·Read(SB), NOSPLIT|NOFRAME, $0-24
	MOVQ b_base+0(FP), AX
	MOVQ b_len+8(FP), CX
	TESTQ CX, CX
	JZ   rdone
	LEAQ (AX)(CX*1), CX // end
	ANDQ $~63, AX       // the line of the first byte

rloop:
	PREFETCHT0 (AX)
	ADDQ $64, AX
	CMPQ AX, CX
	JB   rloop

rdone:
	RET

// func Head(r, w1, w2, w3 unsafe.Pointer)
TEXT ·Head(SB), NOSPLIT|NOFRAME, $0-32
	MOVQ r+0(FP), AX
	MOVQ w1+8(FP), BX
	MOVQ w2+16(FP), CX
	MOVQ w3+24(FP), DX
	PREFETCHT0 (AX)
	// PREFETCHW (BX), (CX), (DX): 0F 0D /1 (Go's assembler does not name it).
	BYTE $0x0F; BYTE $0x0D; BYTE $0x0B
	BYTE $0x0F; BYTE $0x0D; BYTE $0x09
	BYTE $0x0F; BYTE $0x0D; BYTE $0x0A
	RET
