//go:build amd64 && !amd64.v3 && !purego

#include "textflag.h"

// func efKeysAVX2(e, d []float32, beta, alpha float32, keys []uint32)
//
// e[i] = beta*e[i] + alpha*d[i]; keys[i] = bits(e[i]) &^ sign, for the
// first len(e) &^ 7 elements. Unfused multiply and add, as Go compiles the
// same expression below GOAMD64=v3, so the results are bit-identical.
TEXT ·efKeysAVX2(SB), NOSPLIT, $0-80
	MOVQ e_base+0(FP), DI
	MOVQ e_len+8(FP), CX
	MOVQ d_base+24(FP), SI
	MOVQ keys_base+56(FP), DX
	VBROADCASTSS beta+48(FP), Y0
	VBROADCASTSS alpha+52(FP), Y1
	VPCMPEQD Y3, Y3, Y3
	VPSRLD $1, Y3, Y3
	SHRQ $3, CX
	JZ done

loop:
	VMULPS (DI), Y0, Y4
	VMULPS (SI), Y1, Y5
	VADDPS Y5, Y4, Y4
	VMOVUPS Y4, (DI)
	VANDPS Y3, Y4, Y4
	VMOVUPS Y4, (DX)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, DX
	DECQ CX
	JNZ loop

done:
	VZEROUPPER
	RET

// func orBitsAVX2(x []float32) uint32
//
// The bitwise or of the first len(x) &^ 31 elements' bit patterns.
TEXT ·orBitsAVX2(SB), NOSPLIT, $0-28
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	SHRQ $5, CX
	JZ reduce

orloop:
	VPOR (SI), Y0, Y0
	VPOR 32(SI), Y1, Y1
	VPOR 64(SI), Y2, Y2
	VPOR 96(SI), Y3, Y3
	ADDQ $128, SI
	DECQ CX
	JNZ orloop

reduce:
	VPOR Y1, Y0, Y0
	VPOR Y3, Y2, Y2
	VPOR Y2, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPOR X1, X0, X0
	VPSHUFD $0x4e, X0, X1
	VPOR X1, X0, X0
	VPSHUFD $0xb1, X0, X1
	VPOR X1, X0, X0
	VMOVD X0, AX
	MOVL AX, ret+24(FP)
	VZEROUPPER
	RET

// func geMaskAVX2(keys []uint32, t uint32, mask []uint64)
//
// Bit b of mask[w] is set iff keys[64w+b] >= t, for the first
// len(keys) &^ 63 keys (keys and t below 2^31: a signed compare with t−1).
TEXT ·geMaskAVX2(SB), NOSPLIT, $0-56
	MOVQ keys_base+0(FP), SI
	MOVQ keys_len+8(FP), CX
	MOVL t+24(FP), AX
	MOVQ mask_base+32(FP), DI
	DECL AX
	MOVL AX, X0
	VPBROADCASTD X0, Y0
	SHRQ $6, CX
	JZ gedone

geloop:
	VMOVDQU 0(SI), Y1
	VPCMPGTD Y0, Y1, Y1
	VMOVMSKPS Y1, AX
	VMOVDQU 32(SI), Y2
	VPCMPGTD Y0, Y2, Y2
	VMOVMSKPS Y2, BX
	SHLQ $8, BX
	ORQ BX, AX
	VMOVDQU 64(SI), Y1
	VPCMPGTD Y0, Y1, Y1
	VMOVMSKPS Y1, BX
	SHLQ $16, BX
	ORQ BX, AX
	VMOVDQU 96(SI), Y2
	VPCMPGTD Y0, Y2, Y2
	VMOVMSKPS Y2, BX
	SHLQ $24, BX
	ORQ BX, AX
	VMOVDQU 128(SI), Y1
	VPCMPGTD Y0, Y1, Y1
	VMOVMSKPS Y1, BX
	SHLQ $32, BX
	ORQ BX, AX
	VMOVDQU 160(SI), Y2
	VPCMPGTD Y0, Y2, Y2
	VMOVMSKPS Y2, BX
	SHLQ $40, BX
	ORQ BX, AX
	VMOVDQU 192(SI), Y1
	VPCMPGTD Y0, Y1, Y1
	VMOVMSKPS Y1, BX
	SHLQ $48, BX
	ORQ BX, AX
	VMOVDQU 224(SI), Y2
	VPCMPGTD Y0, Y2, Y2
	VMOVMSKPS Y2, BX
	SHLQ $56, BX
	ORQ BX, AX
	MOVQ AX, (DI)
	ADDQ $256, SI
	ADDQ $8, DI
	DECQ CX
	JNZ geloop

gedone:
	VZEROUPPER
	RET

// func add12x2Kernel(sum *float32, cnt *uint16, src, codes *byte, groups, n int, lut *float32, pf1, pf2 *byte) bool
//
// add12x2 for groups groups of four: scalar code, but with every value in
// a register (the Go loop spills). Adds as sum[l] = v + sum[l], which is
// the same IEEE sum as sum[l] + v. First it asks the cache for pf1 (three
// lines: another peer's next index section) and pf2 (its codes), which the
// caller reads a little later: the peers' streams are too many for the
// hardware prefetcher to follow.
TEXT ·add12x2Kernel(SB), NOSPLIT, $0-73
	MOVQ pf1+56(FP), AX
	PREFETCHT0 (AX)
	PREFETCHT0 64(AX)
	PREFETCHT0 128(AX)
	MOVQ pf2+64(FP), AX
	PREFETCHT0 (AX)
	MOVQ sum+0(FP), DI
	MOVQ cnt+8(FP), R8
	MOVQ src+16(FP), SI
	MOVQ codes+24(FP), R9
	MOVQ groups+32(FP), CX
	MOVQ n+40(FP), R10
	MOVQ lut+48(FP), R11
	MOVQ $-1, R12
	TESTQ CX, CX
	JZ addok

addloop:
	MOVL (SI), AX
	MOVWLZX 4(SI), BX
	SHLQ $32, BX
	ORQ BX, AX

	// All five differences negative iff the four ascend from prev below n.
	MOVQ AX, BX
	ANDQ $0xfff, BX
	MOVQ R12, DX
	SUBQ BX, DX
	MOVQ AX, R13
	SHRQ $12, R13
	ANDQ $0xfff, R13
	SUBQ R13, BX
	ANDQ BX, DX
	MOVQ AX, BX
	SHRQ $24, BX
	ANDQ $0xfff, BX
	SUBQ BX, R13
	ANDQ R13, DX
	MOVQ AX, R13
	SHRQ $36, R13
	ANDQ $0xfff, R13
	SUBQ R13, BX
	ANDQ BX, DX
	MOVQ R13, R12
	SUBQ R10, R13
	ANDQ R13, DX
	TESTQ DX, DX
	JGE addfail

	MOVBLZX (R9), DX

	MOVQ AX, BX
	ANDQ $0xfff, BX
	MOVQ DX, R13
	ANDQ $3, R13
	MOVSS (R11)(R13*4), X0
	ADDSS (DI)(BX*4), X0
	MOVSS X0, (DI)(BX*4)
	INCW (R8)(BX*2)

	MOVQ AX, BX
	SHRQ $12, BX
	ANDQ $0xfff, BX
	MOVQ DX, R13
	SHRQ $2, R13
	ANDQ $3, R13
	MOVSS (R11)(R13*4), X1
	ADDSS (DI)(BX*4), X1
	MOVSS X1, (DI)(BX*4)
	INCW (R8)(BX*2)

	MOVQ AX, BX
	SHRQ $24, BX
	ANDQ $0xfff, BX
	MOVQ DX, R13
	SHRQ $4, R13
	ANDQ $3, R13
	MOVSS (R11)(R13*4), X2
	ADDSS (DI)(BX*4), X2
	MOVSS X2, (DI)(BX*4)
	INCW (R8)(BX*2)

	MOVQ AX, BX
	SHRQ $36, BX
	ANDQ $0xfff, BX
	SHRQ $6, DX
	MOVSS (R11)(DX*4), X3
	ADDSS (DI)(BX*4), X3
	MOVSS X3, (DI)(BX*4)
	INCW (R8)(BX*2)

	ADDQ $6, SI
	INCQ R9
	DECQ CX
	JNZ addloop

addok:
	MOVB $1, ret+72(FP)
	RET

addfail:
	MOVB $0, ret+72(FP)
	RET

// func finishMeanRowsAVX2(o *float32, stride, rows, rowLen int, sum *float32, cnt *uint16) uint32
//
// o[i] = sum[i] * (1/float32(cnt[i])), or 0 where cnt[i] is 0, for rows
// rows of rowLen (a multiple of 8) elements, zeroing sum and cnt; returns
// the or of the outputs' bits. Row i of o starts stride elements after row
// i−1, of sum and cnt rowLen after. The division is IEEE, as Go's
// 1/float32(k), so the bits are those of the recip table.
TEXT ·finishMeanRowsAVX2(SB), NOSPLIT, $0-52
	MOVQ o+0(FP), DI
	MOVQ stride+8(FP), R8
	SHLQ $2, R8
	MOVQ rows+16(FP), R9
	MOVQ rowLen+24(FP), R10
	SHRQ $3, R10
	MOVQ sum+32(FP), SI
	MOVQ cnt+40(FP), DX
	MOVL $0x3f800000, AX
	MOVL AX, X5
	VPBROADCASTD X5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
	TESTQ R9, R9
	JZ frdone
	TESTQ R10, R10
	JZ frdone

frrow:
	MOVQ DI, AX
	MOVQ R10, CX

frloop:
	VPMOVZXWD (DX), Y1
	VPCMPEQD Y6, Y1, Y2
	VCVTDQ2PS Y1, Y1
	VDIVPS Y1, Y5, Y1
	VMULPS (SI), Y1, Y1
	VPANDN Y1, Y2, Y1
	VMOVUPS Y1, (AX)
	VPOR Y1, Y7, Y7
	VMOVUPS Y6, (SI)
	VMOVDQU X6, (DX)
	ADDQ $32, AX
	ADDQ $32, SI
	ADDQ $16, DX
	DECQ CX
	JNZ frloop

	ADDQ R8, DI
	DECQ R9
	JNZ frrow

frdone:
	VEXTRACTI128 $1, Y7, X1
	VPOR X1, X7, X7
	VPSHUFD $0x4e, X7, X1
	VPOR X1, X7, X7
	VPSHUFD $0xb1, X7, X1
	VPOR X1, X7, X7
	VMOVD X7, AX
	MOVL AX, ret+48(FP)
	VZEROUPPER
	RET
