//go:build amd64 && !purego

#include "textflag.h"

// func packRowsFull(dst *float32, pstride uintptr, src *float32, ld uintptr, rows, np, nv int)
// For each row i < rows and panel q < np, copies nv vectors of 8 floats
// from src + i*ld + q*nv*32 to dst + q*pstride + i*nv*32 (all in bytes),
// row by row.
TEXT ·packRowsFull(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), DI
	MOVQ pstride+8(FP), DX
	MOVQ src+16(FP), SI
	MOVQ ld+24(FP), BX
	MOVQ rows+32(FP), R8
	MOVQ np+40(FP), R9
	MOVQ nv+48(FP), R10
	TESTQ R8, R8
	JLE  done
	TESTQ R9, R9
	JLE  done
	MOVQ R10, R11
	SHLQ $5, R11 // bytes per panel row
	CMPQ R10, $2
	JEQ  row2
row:
	MOVQ SI, AX
	MOVQ DI, CX
	MOVQ R9, R12
panel:
	MOVQ R10, R13
	XORQ R14, R14
vec:
	VMOVUPS (AX)(R14*1), Y0
	VMOVUPS Y0, (CX)(R14*1)
	ADDQ $32, R14
	DECQ R13
	JNZ  vec
	ADDQ R11, AX
	ADDQ DX, CX
	DECQ R12
	JNZ  panel
	ADDQ BX, SI
	ADDQ R11, DI
	DECQ R8
	JNZ  row
	JMP  done
row2:
	MOVQ SI, AX
	MOVQ DI, CX
	MOVQ R9, R12
panel2:
	VMOVUPS (AX), Y0
	VMOVUPS 32(AX), Y1
	VMOVUPS Y0, (CX)
	VMOVUPS Y1, 32(CX)
	ADDQ $64, AX
	ADDQ DX, CX
	DECQ R12
	JNZ  panel2
	ADDQ BX, SI
	ADDQ $64, DI
	DECQ R8
	JNZ  row2
done:
	VZEROUPPER
	RET
