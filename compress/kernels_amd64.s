//go:build amd64 && !purego

#include "textflag.h"

// func efKeysAVX2(e, d []float32, beta, alpha float32, keys []uint32)
//
// e[i] = beta*e[i] + alpha*d[i]; keys[i] = bits(e[i]) &^ sign, for the
// first len(e) &^ 7 elements. Unfused multiply and add, as the Go loop
// rounds each product (also where Go could fuse them, GOAMD64=v3), so the
// results are bit-identical.
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
// the outputs' largest magnitude bits (bits << 1, as finishLocal). Row i of o starts stride elements after row
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
	VPSLLD $1, Y1, Y2
	VPMAXUD Y2, Y7, Y7
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
	VPMAXUD X1, X7, X7
	VPSHUFD $0x4e, X7, X1
	VPMAXUD X1, X7, X7
	VPSHUFD $0xb1, X7, X1
	VPMAXUD X1, X7, X7
	VMOVD X7, AX
	MOVL AX, ret+48(FP)
	VZEROUPPER
	RET

// Byte pairs holding 12-bit indices 0..7 of 12 bytes (lane 0), and of
// bytes 4..15 (lane 1, which add12x2PeersKernel loads from 8 bytes on).
DATA idx12shuf<>+0x00(SB)/8, $0x0504040302010100
DATA idx12shuf<>+0x08(SB)/8, $0x0b0a0a0908070706
DATA idx12shuf<>+0x10(SB)/8, $0x0908080706050504
DATA idx12shuf<>+0x18(SB)/8, $0x0f0e0e0d0c0b0b0a
GLOBL idx12shuf<>(SB), RODATA|NOPTR, $32

// Shifts that bring 2-bit codes 0..7, then 8..15, of a 32-bit word down.
DATA code2shift<>+0x00(SB)/8, $0x0000000200000000
DATA code2shift<>+0x08(SB)/8, $0x0000000600000004
DATA code2shift<>+0x10(SB)/8, $0x0000000a00000008
DATA code2shift<>+0x18(SB)/8, $0x0000000e0000000c
DATA code2shift<>+0x20(SB)/8, $0x0000001200000010
DATA code2shift<>+0x28(SB)/8, $0x0000001600000014
DATA code2shift<>+0x30(SB)/8, $0x0000001a00000018
DATA code2shift<>+0x38(SB)/8, $0x0000001e0000001c
GLOBL code2shift<>(SB), RODATA|NOPTR, $64

// func add12x2PeersKernel(sum *float32, cnt *uint16, peers *peerSrc, npeers, idxOff, codeOff, k, n int, pfIdx, pfCodes int, pfOut *float32, pfRows, pfStride, pfLines int) int
//
// add12x2 for one chunk of every peer in turn: peer r's k (a multiple of
// 16) 12-bit indices start idxOff bytes into peers[r].idx, its 2-bit codes
// codeOff bytes into peers[r].codes (a peerSrc is 64 bytes: idx, codes,
// lut at 0, 24, 48). The indices are decoded 16 at a time (shuffle byte
// pairs, mask or shift), checked (they ascend and stay below n) before any
// of the 16 is added, and the codes looked up in the peer's table
// (VPERMPS); the adds are scalar, as in add12x2Kernel. It returns the first
// peer whose indices fail, having added some of its values (at indices
// below n), or −1. Before each peer it asks the cache for the index and
// code bytes of the peer three after it (past the last peer: of the next
// chunk, pfIdx and pfCodes bytes further on): the peers' streams are too
// many for the hardware prefetcher to follow. Peer r < pfRows also asks
// for ownership of the pfLines lines from pfOut + r·pfStride bytes on
// (the rows the caller writes next, which are rarely cached: their misses
// overlap the adds instead of stalling the stores).
TEXT ·add12x2PeersKernel(SB), NOSPLIT, $8-120
	MOVQ sum+0(FP), DI
	MOVQ cnt+8(FP), R8
	MOVQ peers+16(FP), R9
	MOVQ npeers+24(FP), R10
	MOVQ idxOff+32(FP), R11
	MOVQ codeOff+40(FP), R12
	MOVQ k+48(FP), R13
	MOVQ n+56(FP), AX
	MOVQ AX, X14
	VPBROADCASTW X14, Y14
	VMOVDQU idx12shuf<>(SB), Y15
	MOVL $0x0fff, AX
	MOVL AX, X13
	VPBROADCASTW X13, Y13
	VMOVDQU code2shift<>(SB), Y12
	VMOVDQU code2shift<>+32(SB), Y11
	MOVL $3, AX
	MOVL AX, X10
	VPBROADCASTD X10, Y10
	XORQ BX, BX
	TESTQ R10, R10
	JZ pdone

ppeer:
	// Prefetch for peer r+3, or past the last, the next chunk's.
	LEAQ 3(BX), AX
	MOVQ R11, CX
	MOVQ R12, DX
	CMPQ AX, R10
	JLT ppfsame
	SUBQ R10, AX
	ADDQ pfIdx+64(FP), CX
	ADDQ pfCodes+72(FP), DX
	CMPQ AX, R10
	JGE ppfdone

ppfsame:
	SHLQ $6, AX
	ADDQ peers+16(FP), AX
	MOVQ 24(AX), SI
	PREFETCHT0 (SI)(DX*1)
	MOVQ (AX), SI
	ADDQ CX, SI
	LEAQ (R13)(R13*2), CX
	SHRQ $1, CX
	LEAQ -1(SI)(CX*1), DX

ppfloop:
	PREFETCHT0 (SI)
	ADDQ $64, SI
	CMPQ SI, DX
	JLT ppfloop
	PREFETCHT0 (DX)

ppfdone:
	CMPQ BX, pfRows+88(FP)
	JGE ppwdone
	MOVQ pfStride+96(FP), AX
	IMULQ BX, AX
	ADDQ pfOut+80(FP), AX
	MOVQ pfLines+104(FP), CX

ppwloop:
	// PREFETCHW (AX)
	BYTE $0x0f; BYTE $0x0d; BYTE $0x08
	ADDQ $64, AX
	DECQ CX
	JNZ ppwloop

ppwdone:
	// 16 at a time: decode the indices, check that they ascend (from −1)
	// and stay below n, look up the values, add them.
	MOVQ BX, r-8(SP)
	MOVQ (R9), SI
	ADDQ R11, SI
	MOVQ 24(R9), DX
	ADDQ R12, DX
	VBROADCASTF128 48(R9), Y9
	VPCMPEQW Y8, Y8, Y8
	MOVQ R13, R14
	SHRQ $4, R14

padd:
	VMOVDQU (SI), X0
	VINSERTI128 $1, 8(SI), Y0, Y0
	VPSHUFB Y15, Y0, Y0
	VPAND Y13, Y0, Y1
	VPSRLW $4, Y0, Y2
	VPBLENDW $0xaa, Y2, Y1, Y0
	VPERM2I128 $0x21, Y0, Y8, Y1
	VPALIGNR $14, Y1, Y0, Y1
	VPCMPGTW Y1, Y0, Y2
	VPCMPGTW Y0, Y14, Y7
	VPAND Y2, Y7, Y7
	VMOVDQA Y0, Y8
	VPMOVMSKB Y7, CX
	CMPL CX, $-1
	JNE pbad
	VPBROADCASTD (DX), Y3
	VPSRLVD Y12, Y3, Y4
	VPAND Y10, Y4, Y4
	VPERMPS Y9, Y4, Y4
	VPSRLVD Y11, Y3, Y5
	VPAND Y10, Y5, Y5
	VPERMPS Y9, Y5, Y5
	VMOVQ X0, AX
	VPEXTRQ $1, X0, BX
	VEXTRACTF128 $1, Y4, X7
	MOVWQZX AX, CX
	VADDSS (DI)(CX*4), X4, X6
	VMOVSS X6, (DI)(CX*4)
	INCW (R8)(CX*2)
	SHRQ $16, AX
	MOVWQZX AX, CX
	VPERMILPS $1, X4, X6
	VADDSS (DI)(CX*4), X6, X6
	VMOVSS X6, (DI)(CX*4)
	INCW (R8)(CX*2)
	SHRQ $16, AX
	MOVWQZX AX, CX
	VPERMILPS $2, X4, X6
	VADDSS (DI)(CX*4), X6, X6
	VMOVSS X6, (DI)(CX*4)
	INCW (R8)(CX*2)
	SHRQ $16, AX
	MOVWQZX AX, CX
	VPERMILPS $3, X4, X6
	VADDSS (DI)(CX*4), X6, X6
	VMOVSS X6, (DI)(CX*4)
	INCW (R8)(CX*2)
	MOVWQZX BX, CX
	VADDSS (DI)(CX*4), X7, X6
	VMOVSS X6, (DI)(CX*4)
	INCW (R8)(CX*2)
	SHRQ $16, BX
	MOVWQZX BX, CX
	VPERMILPS $1, X7, X6
	VADDSS (DI)(CX*4), X6, X6
	VMOVSS X6, (DI)(CX*4)
	INCW (R8)(CX*2)
	SHRQ $16, BX
	MOVWQZX BX, CX
	VPERMILPS $2, X7, X6
	VADDSS (DI)(CX*4), X6, X6
	VMOVSS X6, (DI)(CX*4)
	INCW (R8)(CX*2)
	SHRQ $16, BX
	MOVWQZX BX, CX
	VPERMILPS $3, X7, X6
	VADDSS (DI)(CX*4), X6, X6
	VMOVSS X6, (DI)(CX*4)
	INCW (R8)(CX*2)
	VEXTRACTI128 $1, Y0, X1
	VMOVQ X1, AX
	VPEXTRQ $1, X1, BX
	VEXTRACTF128 $1, Y5, X7
	MOVWQZX AX, CX
	VADDSS (DI)(CX*4), X5, X6
	VMOVSS X6, (DI)(CX*4)
	INCW (R8)(CX*2)
	SHRQ $16, AX
	MOVWQZX AX, CX
	VPERMILPS $1, X5, X6
	VADDSS (DI)(CX*4), X6, X6
	VMOVSS X6, (DI)(CX*4)
	INCW (R8)(CX*2)
	SHRQ $16, AX
	MOVWQZX AX, CX
	VPERMILPS $2, X5, X6
	VADDSS (DI)(CX*4), X6, X6
	VMOVSS X6, (DI)(CX*4)
	INCW (R8)(CX*2)
	SHRQ $16, AX
	MOVWQZX AX, CX
	VPERMILPS $3, X5, X6
	VADDSS (DI)(CX*4), X6, X6
	VMOVSS X6, (DI)(CX*4)
	INCW (R8)(CX*2)
	MOVWQZX BX, CX
	VADDSS (DI)(CX*4), X7, X6
	VMOVSS X6, (DI)(CX*4)
	INCW (R8)(CX*2)
	SHRQ $16, BX
	MOVWQZX BX, CX
	VPERMILPS $1, X7, X6
	VADDSS (DI)(CX*4), X6, X6
	VMOVSS X6, (DI)(CX*4)
	INCW (R8)(CX*2)
	SHRQ $16, BX
	MOVWQZX BX, CX
	VPERMILPS $2, X7, X6
	VADDSS (DI)(CX*4), X6, X6
	VMOVSS X6, (DI)(CX*4)
	INCW (R8)(CX*2)
	SHRQ $16, BX
	MOVWQZX BX, CX
	VPERMILPS $3, X7, X6
	VADDSS (DI)(CX*4), X6, X6
	VMOVSS X6, (DI)(CX*4)
	INCW (R8)(CX*2)
	ADDQ $24, SI
	ADDQ $4, DX
	DECQ R14
	JNZ padd

	MOVQ r-8(SP), BX
	ADDQ $64, R9
	INCQ BX
	CMPQ BX, R10
	JLT ppeer

pdone:
	MOVQ $-1, ret+112(FP)
	VZEROUPPER
	RET

pbad:
	MOVQ r-8(SP), BX
	MOVQ BX, ret+112(FP)
	VZEROUPPER
	RET

// func prefetch(p *byte)
//
// Asks the cache for the line holding p.
TEXT ·prefetch(SB), NOSPLIT, $0-8
	MOVQ p+0(FP), AX
	PREFETCHT0 (AX)
	RET

// func efKeysBlocksAVX2(e, d *float32, keys *uint32, rows, segs, w, n int, beta, alpha float32)
//
// efKeys over rows·segs·w contiguous elements seen as rows of segs
// segments of w (a multiple of 8): the element at (r·segs + b)·w + c gets
// its key at keys[b·n + r·w + c], so that each segment column (a block)
// has its keys together. Same arithmetic as efKeysAVX2.
TEXT ·efKeysBlocksAVX2(SB), NOSPLIT, $0-64
	MOVQ e+0(FP), DI
	MOVQ d+8(FP), SI
	MOVQ keys+16(FP), DX
	MOVQ rows+24(FP), R8
	MOVQ segs+32(FP), R9
	MOVQ w+40(FP), R10
	MOVQ n+48(FP), R11
	VBROADCASTSS beta+56(FP), Y0
	VBROADCASTSS alpha+60(FP), Y1
	VPCMPEQD Y3, Y3, Y3
	VPSRLD $1, Y3, Y3
	SHLQ $2, R11          // block stride in bytes
	MOVQ R10, R12
	SHLQ $2, R12          // segment length in bytes
	SUBQ R12, R11         // from a segment's end to the next block's row
	SHRQ $3, R10          // vectors per segment
	TESTQ R8, R8
	JZ ebdone
	TESTQ R9, R9
	JZ ebdone
	TESTQ R10, R10
	JZ ebdone

ebrow:
	MOVQ DX, BX
	MOVQ R9, R13

ebseg:
	MOVQ R10, CX

ebvec:
	VMULPS (DI), Y0, Y4
	VMULPS (SI), Y1, Y5
	VADDPS Y5, Y4, Y4
	VMOVUPS Y4, (DI)
	VANDPS Y3, Y4, Y4
	VMOVUPS Y4, (BX)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, BX
	DECQ CX
	JNZ ebvec
	ADDQ R11, BX
	DECQ R13
	JNZ ebseg
	ADDQ R12, DX
	DECQ R8
	JNZ ebrow

ebdone:
	VZEROUPPER
	RET

// func groupMax256AVX2(keys *uint32, rows int, m *uint32)
//
// m[j] = max over r < rows (≥ 1) of keys[256r + j], for j < 256.
TEXT ·groupMax256AVX2(SB), NOSPLIT, $0-24
	MOVQ keys+0(FP), SI
	MOVQ rows+8(FP), R8
	MOVQ m+16(FP), DI
	MOVQ $4, R9

gmpass:
	VMOVDQU 0(SI), Y0
	VMOVDQU 32(SI), Y1
	VMOVDQU 64(SI), Y2
	VMOVDQU 96(SI), Y3
	VMOVDQU 128(SI), Y4
	VMOVDQU 160(SI), Y5
	VMOVDQU 192(SI), Y6
	VMOVDQU 224(SI), Y7
	MOVQ SI, BX
	MOVQ R8, CX
	DECQ CX
	JZ gmstore

gmrow:
	ADDQ $1024, BX
	VPMAXUD 0(BX), Y0, Y0
	VPMAXUD 32(BX), Y1, Y1
	VPMAXUD 64(BX), Y2, Y2
	VPMAXUD 96(BX), Y3, Y3
	VPMAXUD 128(BX), Y4, Y4
	VPMAXUD 160(BX), Y5, Y5
	VPMAXUD 192(BX), Y6, Y6
	VPMAXUD 224(BX), Y7, Y7
	DECQ CX
	JNZ gmrow

gmstore:
	VMOVDQU Y0, 0(DI)
	VMOVDQU Y1, 32(DI)
	VMOVDQU Y2, 64(DI)
	VMOVDQU Y3, 96(DI)
	VMOVDQU Y4, 128(DI)
	VMOVDQU Y5, 160(DI)
	VMOVDQU Y6, 192(DI)
	VMOVDQU Y7, 224(DI)
	ADDQ $256, SI
	ADDQ $256, DI
	DECQ R9
	JNZ gmpass
	VZEROUPPER
	RET

// func countGEAVX2(x *uint32, nvec int, t uint32) int
//
// The number of x[i] >= t for i < 8·nvec (x and t below 2^31): 8·nvec
// less the number of x[i] < t, a signed compare.
TEXT ·countGEAVX2(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ nvec+8(FP), CX
	MOVQ CX, DX
	SHLQ $3, DX
	MOVL t+16(FP), AX
	MOVL AX, X0
	VPBROADCASTD X0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	CMPQ CX, $2
	JB cgone

cgpair:
	VPCMPGTD 0(SI), Y0, Y3
	VPCMPGTD 32(SI), Y0, Y4
	VPSUBD Y3, Y1, Y1
	VPSUBD Y4, Y2, Y2
	ADDQ $64, SI
	SUBQ $2, CX
	CMPQ CX, $2
	JAE cgpair

cgone:
	TESTQ CX, CX
	JZ cgreduce
	VPCMPGTD 0(SI), Y0, Y3
	VPSUBD Y3, Y1, Y1

cgreduce:
	VPADDD Y2, Y1, Y1
	VEXTRACTI128 $1, Y1, X2
	VPADDD X2, X1, X1
	VPSHUFD $0x4e, X1, X2
	VPADDD X2, X1, X1
	VPSHUFD $0xb1, X1, X2
	VPADDD X2, X1, X1
	VMOVD X1, AX
	SUBQ AX, DX
	MOVQ DX, ret+24(FP)
	VZEROUPPER
	RET
