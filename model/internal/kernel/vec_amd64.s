//go:build !purego

#include "textflag.h"

// AVX2+FMA primitives. Every loop works on 8 floats at a time; a short tail
// (1..7 floats) uses masked loads and stores (VMASKMOVPS) with a mask taken
// from maskTab, so no function reads or writes outside its slices.

#define C8(name, v) DATA name<>+0(SB)/4, v; DATA name<>+4(SB)/4, v; DATA name<>+8(SB)/4, v; DATA name<>+12(SB)/4, v; DATA name<>+16(SB)/4, v; DATA name<>+20(SB)/4, v; DATA name<>+24(SB)/4, v; DATA name<>+28(SB)/4, v; GLOBL name<>(SB), RODATA|NOPTR, $32

C8(expHi, $0x42b00000)
C8(expLo, $0xc2ae0000)
C8(expLog2e, $0x3fb8aa3b)
C8(expC1, $0x3f318000)
C8(expC2, $0xb95e8083)
C8(expP0, $0x39506967)
C8(expP1, $0x3ab743ce)
C8(expP2, $0x3c088908)
C8(expP3, $0x3d2aa9c1)
C8(expP4, $0x3e2aaaaa)
C8(expP5, $0x3f000000)
C8(one, $0x3f800000)
C8(bias127, $0x0000007f)
C8(geluK1, $0xbfcc422a)
C8(geluK2, $0xbd922279)
C8(geluA1, $0x3fcc422a)
C8(geluA3, $0x3e5b33b6)

DATA maskTab<>+0(SB)/4, $0xffffffff
DATA maskTab<>+4(SB)/4, $0xffffffff
DATA maskTab<>+8(SB)/4, $0xffffffff
DATA maskTab<>+12(SB)/4, $0xffffffff
DATA maskTab<>+16(SB)/4, $0xffffffff
DATA maskTab<>+20(SB)/4, $0xffffffff
DATA maskTab<>+24(SB)/4, $0xffffffff
DATA maskTab<>+28(SB)/4, $0xffffffff
DATA maskTab<>+32(SB)/4, $0
DATA maskTab<>+36(SB)/4, $0
DATA maskTab<>+40(SB)/4, $0
DATA maskTab<>+44(SB)/4, $0
DATA maskTab<>+48(SB)/4, $0
DATA maskTab<>+52(SB)/4, $0
DATA maskTab<>+56(SB)/4, $0
DATA maskTab<>+60(SB)/4, $0
GLOBL maskTab<>(SB), RODATA|NOPTR, $64

// TAILMASK sets Y to a mask whose first n lanes (n in 1..7) are all ones.
#define TAILMASK(n, Y) LEAQ maskTab<>+32(SB), R12; MOVQ n, R13; SHLQ $2, R13; SUBQ R13, R12; VMOVUPS (R12), Y

// HSUM leaves the sum of the 8 lanes of Y0 in X0 (clobbers X1).
#define HSUM VEXTRACTF128 $1, Y0, X1; VADDPS X1, X0, X0; VHADDPS X0, X0, X0; VHADDPS X0, X0, X0

// EXP replaces X by exp(X), clamped to [exp(-87), exp(88)]; clobbers T1..T3.
// Cephes-style: 2^n · p(r) with r = x - n·ln2 in two parts.
#define EXP(X, T1, T2, T3) \
	VMINPS expHi<>(SB), X, X; \
	VMAXPS expLo<>(SB), X, X; \
	VMULPS expLog2e<>(SB), X, T1; \
	VROUNDPS $0, T1, T1; \
	VFNMADD231PS expC1<>(SB), T1, X; \
	VFNMADD231PS expC2<>(SB), T1, X; \
	VMOVUPS expP0<>(SB), T2; \
	VFMADD213PS expP1<>(SB), X, T2; \
	VFMADD213PS expP2<>(SB), X, T2; \
	VFMADD213PS expP3<>(SB), X, T2; \
	VFMADD213PS expP4<>(SB), X, T2; \
	VFMADD213PS expP5<>(SB), X, T2; \
	VMULPS X, X, T3; \
	VFMADD213PS X, T3, T2; \
	VADDPS one<>(SB), T2, T2; \
	VCVTTPS2DQ T1, T1; \
	VPADDD bias127<>(SB), T1, T1; \
	VPSLLD $23, T1, T1; \
	VMULPS T1, T2, X

// func sumAVX2(x []float32) float32
TEXT ·sumAVX2(SB), NOSPLIT, $0-28
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
sum32:
	CMPQ CX, $32
	JLT  sum8
	VADDPS (SI), Y0, Y0
	VADDPS 32(SI), Y2, Y2
	VADDPS 64(SI), Y3, Y3
	VADDPS 96(SI), Y4, Y4
	ADDQ $128, SI
	SUBQ $32, CX
	JMP  sum32
sum8:
	CMPQ CX, $8
	JLT  sumtail
	VADDPS (SI), Y0, Y0
	ADDQ $32, SI
	SUBQ $8, CX
	JMP  sum8
sumtail:
	TESTQ CX, CX
	JZ    sumdone
	TAILMASK(CX, Y15)
	VMASKMOVPS (SI), Y15, Y5
	VADDPS Y5, Y0, Y0
sumdone:
	VADDPS Y2, Y0, Y0
	VADDPS Y4, Y3, Y3
	VADDPS Y3, Y0, Y0
	HSUM
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func dotAVX2(x, y []float32) float32
TEXT ·dotAVX2(SB), NOSPLIT, $0-52
	MOVQ x_base+0(FP), SI
	MOVQ y_base+24(FP), DI
	MOVQ x_len+8(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
dot32:
	CMPQ CX, $32
	JLT  dot8
	VMOVUPS (SI), Y5
	VMOVUPS 32(SI), Y6
	VMOVUPS 64(SI), Y7
	VMOVUPS 96(SI), Y8
	VFMADD231PS (DI), Y5, Y0
	VFMADD231PS 32(DI), Y6, Y2
	VFMADD231PS 64(DI), Y7, Y3
	VFMADD231PS 96(DI), Y8, Y4
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  dot32
dot8:
	CMPQ CX, $8
	JLT  dottail
	VMOVUPS (SI), Y5
	VFMADD231PS (DI), Y5, Y0
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  dot8
dottail:
	TESTQ CX, CX
	JZ    dotdone
	TAILMASK(CX, Y15)
	VMASKMOVPS (SI), Y15, Y5
	VMASKMOVPS (DI), Y15, Y6
	VFMADD231PS Y6, Y5, Y0
dotdone:
	VADDPS Y2, Y0, Y0
	VADDPS Y4, Y3, Y3
	VADDPS Y3, Y0, Y0
	HSUM
	VMOVSS X0, ret+48(FP)
	VZEROUPPER
	RET

// func maxAVX2(x []float32) float32; len(x) >= 1.
TEXT ·maxAVX2(SB), NOSPLIT, $0-28
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	VBROADCASTSS (SI), Y0
	VMOVAPS Y0, Y6
max8:
	CMPQ CX, $8
	JLT  maxtail
	VMAXPS (SI), Y0, Y0
	ADDQ $32, SI
	SUBQ $8, CX
	JMP  max8
maxtail:
	TESTQ CX, CX
	JZ    maxdone
	TAILMASK(CX, Y15)
	VMASKMOVPS (SI), Y15, Y4
	VANDNPS Y6, Y15, Y5
	VORPS Y5, Y4, Y4
	VMAXPS Y4, Y0, Y0
maxdone:
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0x4e, X0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0xb1, X0, X1
	VMAXPS X1, X0, X0
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func scaleAVX2(a float32, x []float32)
TEXT ·scaleAVX2(SB), NOSPLIT, $0-32
	VBROADCASTSS a+0(FP), Y6
	MOVQ x_base+8(FP), SI
	MOVQ x_len+16(FP), CX
scale8:
	CMPQ CX, $8
	JLT  scaletail
	VMULPS (SI), Y6, Y0
	VMOVUPS Y0, (SI)
	ADDQ $32, SI
	SUBQ $8, CX
	JMP  scale8
scaletail:
	TESTQ CX, CX
	JZ    scaledone
	TAILMASK(CX, Y15)
	VMASKMOVPS (SI), Y15, Y0
	VMULPS Y0, Y6, Y0
	VMASKMOVPS Y0, Y15, (SI)
scaledone:
	VZEROUPPER
	RET

// func addAVX2(dst, a, b []float32)
TEXT ·addAVX2(SB), NOSPLIT, $0-72
	MOVQ dst_base+0(FP), DI
	MOVQ a_base+24(FP), SI
	MOVQ b_base+48(FP), DX
	MOVQ dst_len+8(FP), CX
add8:
	CMPQ CX, $8
	JLT  addtail
	VMOVUPS (SI), Y0
	VADDPS (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  add8
addtail:
	TESTQ CX, CX
	JZ    adddone
	TAILMASK(CX, Y15)
	VMASKMOVPS (SI), Y15, Y0
	VMASKMOVPS (DX), Y15, Y1
	VADDPS Y1, Y0, Y0
	VMASKMOVPS Y0, Y15, (DI)
adddone:
	VZEROUPPER
	RET

// func expSubAVX2(x []float32, m float32) float32
// x[i] = exp(x[i]-m); returns the sum of the new x.
TEXT ·expSubAVX2(SB), NOSPLIT, $0-36
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	VBROADCASTSS m+24(FP), Y6
	VXORPS Y7, Y7, Y7
exp8:
	CMPQ CX, $8
	JLT  exptail
	VMOVUPS (SI), Y0
	VSUBPS Y6, Y0, Y0
	EXP(Y0, Y1, Y2, Y3)
	VMOVUPS Y0, (SI)
	VADDPS Y0, Y7, Y7
	ADDQ $32, SI
	SUBQ $8, CX
	JMP  exp8
exptail:
	TESTQ CX, CX
	JZ    expdone
	TAILMASK(CX, Y15)
	VMASKMOVPS (SI), Y15, Y0
	VSUBPS Y6, Y0, Y0
	EXP(Y0, Y1, Y2, Y3)
	VANDPS Y15, Y0, Y0
	VMASKMOVPS Y0, Y15, (SI)
	VADDPS Y0, Y7, Y7
expdone:
	VMOVAPS Y7, Y0
	HSUM
	VMOVSS X0, ret+32(FP)
	VZEROUPPER
	RET

// func softmaxGradAVX2(ds, p, dp []float32, dot, scale float32)
// ds[i] = p[i]·(dp[i]-dot)·scale
TEXT ·softmaxGradAVX2(SB), NOSPLIT, $0-80
	MOVQ ds_base+0(FP), DI
	MOVQ p_base+24(FP), SI
	MOVQ dp_base+48(FP), DX
	MOVQ ds_len+8(FP), CX
	VBROADCASTSS dot+72(FP), Y6
	VBROADCASTSS scale+76(FP), Y7
sg8:
	CMPQ CX, $8
	JLT  sgtail
	VMOVUPS (DX), Y0
	VSUBPS Y6, Y0, Y0
	VMULPS (SI), Y0, Y0
	VMULPS Y7, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  sg8
sgtail:
	TESTQ CX, CX
	JZ    sgdone
	TAILMASK(CX, Y15)
	VMASKMOVPS (DX), Y15, Y0
	VMASKMOVPS (SI), Y15, Y1
	VSUBPS Y6, Y0, Y0
	VMULPS Y1, Y0, Y0
	VMULPS Y7, Y0, Y0
	VMASKMOVPS Y0, Y15, (DI)
sgdone:
	VZEROUPPER
	RET

// GELUDEN computes, for x in Y0, Y1 = x², Y2 = 1+exp(-2u) with
// u = sqrt(2/π)(x+0.044715x³), and Y3 = 1: what GELU and its derivative share.
#define GELUDEN \
	VMULPS Y0, Y0, Y1; \
	VMOVUPS geluK1<>(SB), Y2; \
	VFMADD231PS geluK2<>(SB), Y1, Y2; \
	VMULPS Y0, Y2, Y2; \
	EXP(Y2, Y10, Y11, Y12); \
	VMOVUPS one<>(SB), Y3; \
	VADDPS Y3, Y2, Y2

// GELUDERIV computes Y4 = GELU'(Y0) = s + 2x·s(1-s)·du with s = 1/Y2,
// du = sqrt(2/π)(1+3·0.044715x²), from GELUDEN's Y1, Y2 and Y3.
#define GELUDERIV \
	VDIVPS Y2, Y3, Y3; \
	VMOVUPS one<>(SB), Y4; \
	VSUBPS Y3, Y4, Y4; \
	VMULPS Y3, Y4, Y4; \
	VMULPS Y0, Y4, Y4; \
	VMOVUPS geluA1<>(SB), Y5; \
	VFMADD231PS geluA3<>(SB), Y1, Y5; \
	VFMADD213PS Y3, Y5, Y4

// GELUF computes Y3 = GELU(Y0) = x/(1+exp(-2u)).
#define GELUF \
	GELUDEN; \
	VDIVPS Y2, Y0, Y3

// func geluFwdAVX2(out, x []float32)
TEXT ·geluFwdAVX2(SB), NOSPLIT, $0-48
	MOVQ out_base+0(FP), DI
	MOVQ x_base+24(FP), SI
	MOVQ out_len+8(FP), CX
gf8:
	CMPQ CX, $8
	JLT  gftail
	VMOVUPS (SI), Y0
	GELUF
	VMOVUPS Y3, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  gf8
gftail:
	TESTQ CX, CX
	JZ    gfdone
	TAILMASK(CX, Y15)
	VMASKMOVPS (SI), Y15, Y0
	GELUF
	VMASKMOVPS Y3, Y15, (DI)
gfdone:
	VZEROUPPER
	RET

// GELUB computes Y4 = GELU'(Y0).
#define GELUB \
	GELUDEN; \
	GELUDERIV

// func geluBwdAVX2(dx, x, dout []float32)
TEXT ·geluBwdAVX2(SB), NOSPLIT, $0-72
	MOVQ dx_base+0(FP), DI
	MOVQ x_base+24(FP), SI
	MOVQ dout_base+48(FP), DX
	MOVQ dx_len+8(FP), CX
gb8:
	CMPQ CX, $8
	JLT  gbtail
	VMOVUPS (SI), Y0
	GELUB
	VMULPS (DX), Y4, Y4
	VMOVUPS Y4, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  gb8
gbtail:
	TESTQ CX, CX
	JZ    gbdone
	TAILMASK(CX, Y15)
	VMASKMOVPS (SI), Y15, Y0
	GELUB
	VMASKMOVPS (DX), Y15, Y6
	VMULPS Y6, Y4, Y4
	VMASKMOVPS Y4, Y15, (DI)
gbdone:
	VZEROUPPER
	RET

// GELUFB computes GELUF's GELU(Y0), into Y6, and GELUB's Y4 = GELU'(Y0)
// with one exponential.
#define GELUFB \
	GELUDEN; \
	VDIVPS Y2, Y0, Y6; \
	GELUDERIV

// func geluFwdDerivAVX2(out, deriv, x []float32)
TEXT ·geluFwdDerivAVX2(SB), NOSPLIT, $0-72
	MOVQ out_base+0(FP), DI
	MOVQ deriv_base+24(FP), DX
	MOVQ x_base+48(FP), SI
	MOVQ out_len+8(FP), CX
gfd8:
	CMPQ CX, $8
	JLT  gfdtail
	VMOVUPS (SI), Y0
	GELUFB
	VMOVUPS Y6, (DI)
	VMOVUPS Y4, (DX)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  gfd8
gfdtail:
	TESTQ CX, CX
	JZ    gfddone
	TAILMASK(CX, Y15)
	VMASKMOVPS (SI), Y15, Y0
	GELUFB
	VMASKMOVPS Y6, Y15, (DI)
	VMASKMOVPS Y4, Y15, (DX)
gfddone:
	VZEROUPPER
	RET

// func mulAVX2(dst, a, b []float32)
TEXT ·mulAVX2(SB), NOSPLIT, $0-72
	MOVQ dst_base+0(FP), DI
	MOVQ a_base+24(FP), SI
	MOVQ b_base+48(FP), DX
	MOVQ dst_len+8(FP), CX
mul8:
	CMPQ CX, $8
	JLT  multail
	VMOVUPS (SI), Y0
	VMULPS (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  mul8
multail:
	TESTQ CX, CX
	JZ    muldone
	TAILMASK(CX, Y15)
	VMASKMOVPS (SI), Y15, Y0
	VMASKMOVPS (DX), Y15, Y1
	VMULPS Y1, Y0, Y0
	VMASKMOVPS Y0, Y15, (DI)
muldone:
	VZEROUPPER
	RET

// func sumSqDevAVX2(x []float32, mu float32) float32
TEXT ·sumSqDevAVX2(SB), NOSPLIT, $0-36
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	VBROADCASTSS mu+24(FP), Y6
	VXORPS Y0, Y0, Y0
	VXORPS Y2, Y2, Y2
ssd16:
	CMPQ CX, $16
	JLT  ssd8
	VMOVUPS (SI), Y1
	VMOVUPS 32(SI), Y3
	VSUBPS Y6, Y1, Y1
	VSUBPS Y6, Y3, Y3
	VFMADD231PS Y1, Y1, Y0
	VFMADD231PS Y3, Y3, Y2
	ADDQ $64, SI
	SUBQ $16, CX
	JMP  ssd16
ssd8:
	CMPQ CX, $8
	JLT  ssdtail
	VMOVUPS (SI), Y1
	VSUBPS Y6, Y1, Y1
	VFMADD231PS Y1, Y1, Y0
	ADDQ $32, SI
	SUBQ $8, CX
ssdtail:
	TESTQ CX, CX
	JZ    ssddone
	TAILMASK(CX, Y15)
	VMASKMOVPS (SI), Y15, Y1
	VSUBPS Y6, Y1, Y1
	VANDPS Y15, Y1, Y1
	VFMADD231PS Y1, Y1, Y0
ssddone:
	VADDPS Y2, Y0, Y0
	HSUM
	VMOVSS X0, ret+32(FP)
	VZEROUPPER
	RET

// func lnApplyAVX2(out, x, g, b []float32, mu, rs float32)
// out = (x-mu)·rs·g + b
TEXT ·lnApplyAVX2(SB), NOSPLIT, $0-104
	MOVQ out_base+0(FP), DI
	MOVQ x_base+24(FP), SI
	MOVQ g_base+48(FP), DX
	MOVQ b_base+72(FP), R8
	MOVQ out_len+8(FP), CX
	VBROADCASTSS mu+96(FP), Y6
	VBROADCASTSS rs+100(FP), Y7
la8:
	CMPQ CX, $8
	JLT  latail
	VMOVUPS (SI), Y1
	VSUBPS Y6, Y1, Y1
	VMULPS Y7, Y1, Y1
	VMOVUPS (R8), Y2
	VFMADD231PS (DX), Y1, Y2
	VMOVUPS Y2, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, R8
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  la8
latail:
	TESTQ CX, CX
	JZ    ladone
	TAILMASK(CX, Y15)
	VMASKMOVPS (SI), Y15, Y1
	VMASKMOVPS (DX), Y15, Y3
	VMASKMOVPS (R8), Y15, Y2
	VSUBPS Y6, Y1, Y1
	VMULPS Y7, Y1, Y1
	VFMADD231PS Y3, Y1, Y2
	VMASKMOVPS Y2, Y15, (DI)
ladone:
	VZEROUPPER
	RET

// func lnGrad1AVX2(dout, x, g, dg, db []float32, mu, rs float32) (sd, sdx float32)
// With xhat = (x-mu)·rs and dn = dout·g: returns Σdn and Σdn·xhat, and
// accumulates dg += dout·xhat, db += dout.
TEXT ·lnGrad1AVX2(SB), NOSPLIT, $0-136
	MOVQ dout_base+0(FP), SI
	MOVQ x_base+24(FP), DX
	MOVQ g_base+48(FP), R8
	MOVQ dg_base+72(FP), R9
	MOVQ db_base+96(FP), R10
	MOVQ dout_len+8(FP), CX
	VBROADCASTSS mu+120(FP), Y6
	VBROADCASTSS rs+124(FP), Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
lg1_8:
	CMPQ CX, $8
	JLT  lg1tail
	VMOVUPS (SI), Y0
	VMOVUPS (DX), Y1
	VSUBPS Y6, Y1, Y1
	VMULPS Y7, Y1, Y1
	VMULPS (R8), Y0, Y2
	VADDPS Y2, Y8, Y8
	VFMADD231PS Y2, Y1, Y9
	VMOVUPS (R9), Y3
	VFMADD231PS Y0, Y1, Y3
	VMOVUPS Y3, (R9)
	VADDPS (R10), Y0, Y4
	VMOVUPS Y4, (R10)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	SUBQ $8, CX
	JMP  lg1_8
lg1tail:
	TESTQ CX, CX
	JZ    lg1done
	TAILMASK(CX, Y15)
	VMASKMOVPS (SI), Y15, Y0
	VMASKMOVPS (DX), Y15, Y1
	VMASKMOVPS (R8), Y15, Y5
	VSUBPS Y6, Y1, Y1
	VMULPS Y7, Y1, Y1
	VMULPS Y5, Y0, Y2
	VADDPS Y2, Y8, Y8
	VFMADD231PS Y2, Y1, Y9
	VMASKMOVPS (R9), Y15, Y3
	VFMADD231PS Y0, Y1, Y3
	VMASKMOVPS Y3, Y15, (R9)
	VMASKMOVPS (R10), Y15, Y4
	VADDPS Y0, Y4, Y4
	VMASKMOVPS Y4, Y15, (R10)
lg1done:
	VMOVAPS Y8, Y0
	HSUM
	VMOVSS X0, sd+128(FP)
	VMOVAPS Y9, Y0
	HSUM
	VMOVSS X0, sdx+132(FP)
	VZEROUPPER
	RET

// func lnGrad2AVX2(dx, dout, x, g []float32, mu, rs, md, mdx float32)
// dx += rs·(dout·g - md - xhat·mdx)
TEXT ·lnGrad2AVX2(SB), NOSPLIT, $0-112
	MOVQ dx_base+0(FP), DI
	MOVQ dout_base+24(FP), SI
	MOVQ x_base+48(FP), DX
	MOVQ g_base+72(FP), R8
	MOVQ dx_len+8(FP), CX
	VBROADCASTSS mu+96(FP), Y6
	VBROADCASTSS rs+100(FP), Y7
	VBROADCASTSS md+104(FP), Y8
	VBROADCASTSS mdx+108(FP), Y9
lg2_8:
	CMPQ CX, $8
	JLT  lg2tail
	VMOVUPS (DX), Y1
	VSUBPS Y6, Y1, Y1
	VMULPS Y7, Y1, Y1
	VMOVUPS (SI), Y2
	VMULPS (R8), Y2, Y2
	VSUBPS Y8, Y2, Y2
	VFNMADD231PS Y9, Y1, Y2
	VMOVUPS (DI), Y3
	VFMADD231PS Y7, Y2, Y3
	VMOVUPS Y3, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, R8
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  lg2_8
lg2tail:
	TESTQ CX, CX
	JZ    lg2done
	TAILMASK(CX, Y15)
	VMASKMOVPS (DX), Y15, Y1
	VMASKMOVPS (SI), Y15, Y2
	VMASKMOVPS (R8), Y15, Y4
	VSUBPS Y6, Y1, Y1
	VMULPS Y7, Y1, Y1
	VMULPS Y4, Y2, Y2
	VSUBPS Y8, Y2, Y2
	VFNMADD231PS Y9, Y1, Y2
	VMASKMOVPS (DI), Y15, Y3
	VFMADD231PS Y7, Y2, Y3
	VMASKMOVPS Y3, Y15, (DI)
lg2done:
	VZEROUPPER
	RET

// func adamwAVX2Body(p, g, m, v []float32, h *AdamWParams)
// Updates the first len(p)&^7 elements; the caller finishes the tail.
TEXT ·adamwAVX2Body(SB), NOSPLIT, $0-104
	MOVQ p_base+0(FP), DI
	MOVQ g_base+24(FP), SI
	MOVQ m_base+48(FP), DX
	MOVQ v_base+72(FP), R8
	MOVQ p_len+8(FP), CX
	MOVQ h+96(FP), AX
	VBROADCASTSS 0(AX), Y8
	VBROADCASTSS 4(AX), Y9
	VMOVUPS one<>(SB), Y10
	VSUBPS Y9, Y10, Y10
	VBROADCASTSS 8(AX), Y11
	VMOVUPS one<>(SB), Y12
	VSUBPS Y11, Y12, Y12
	VBROADCASTSS 12(AX), Y13
	VBROADCASTSS 16(AX), Y14
	VBROADCASTSS 20(AX), Y15
	VBROADCASTSS 24(AX), Y7
	VBROADCASTSS 28(AX), Y6
aw8:
	CMPQ CX, $8
	JLT  awdone
	VMULPS (SI), Y6, Y0
	VMULPS (DX), Y9, Y1
	VFMADD231PS Y10, Y0, Y1
	VMOVUPS Y1, (DX)
	VMULPS Y0, Y0, Y0
	VMULPS (R8), Y11, Y2
	VFMADD231PS Y12, Y0, Y2
	VMOVUPS Y2, (R8)
	VMULPS Y15, Y1, Y1
	VMULPS Y7, Y2, Y2
	VSQRTPS Y2, Y2
	VADDPS Y13, Y2, Y2
	VDIVPS Y2, Y1, Y3
	VMOVUPS (DI), Y5
	VFMADD231PS Y14, Y5, Y3
	VFNMADD231PS Y8, Y3, Y5
	VMOVUPS Y5, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, R8
	SUBQ $8, CX
	JMP  aw8
awdone:
	VZEROUPPER
	RET

// func lnSumsAVX2(dout, x, g []float32, mu, rs float32) (sd, sdx float32)
// The two sums of lnGrad1AVX2 without its dg and db updates.
TEXT ·lnSumsAVX2(SB), NOSPLIT, $0-88
	MOVQ dout_base+0(FP), SI
	MOVQ x_base+24(FP), DX
	MOVQ g_base+48(FP), R8
	MOVQ dout_len+8(FP), CX
	VBROADCASTSS mu+72(FP), Y6
	VBROADCASTSS rs+76(FP), Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
ls8:
	CMPQ CX, $8
	JLT  lstail
	VMOVUPS (DX), Y1
	VSUBPS Y6, Y1, Y1
	VMULPS Y7, Y1, Y1
	VMOVUPS (SI), Y0
	VMULPS (R8), Y0, Y2
	VADDPS Y2, Y8, Y8
	VFMADD231PS Y2, Y1, Y9
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, R8
	SUBQ $8, CX
	JMP  ls8
lstail:
	TESTQ CX, CX
	JZ    lsdone
	TAILMASK(CX, Y15)
	VMASKMOVPS (SI), Y15, Y0
	VMASKMOVPS (DX), Y15, Y1
	VMASKMOVPS (R8), Y15, Y5
	VSUBPS Y6, Y1, Y1
	VMULPS Y7, Y1, Y1
	VMULPS Y5, Y0, Y2
	VADDPS Y2, Y8, Y8
	VFMADD231PS Y2, Y1, Y9
lsdone:
	VMOVAPS Y8, Y0
	HSUM
	VMOVSS X0, sd+80(FP)
	VMOVAPS Y9, Y0
	HSUM
	VMOVSS X0, sdx+84(FP)
	VZEROUPPER
	RET

// func attnSoftmaxAVX2(p []float32, t, r0, r1 int, scale float32)
// For each row ti in [r0,r1) of p (rows t floats apart, ti < t), with
// x = p[ti*t:][:ti+1]: the sequence scaleAVX2(scale, x); m = maxAVX2(x);
// sum = expSubAVX2(x, m); scaleAVX2(1/sum, x), then p[ti*t+ti+1:ti*t+t] = 0.
// The arithmetic is that of those primitives instruction for instruction;
// only the partial last vector of x stays in a register (Y8) between the
// passes instead of going through masked stores and loads.
TEXT ·attnSoftmaxAVX2(SB), NOSPLIT, $0-52
	MOVQ p_base+0(FP), BX
	MOVQ t+24(FP), AX
	MOVQ r0+32(FP), R9
	MOVQ r1+40(FP), R10
	VBROADCASTSS scale+48(FP), Y9
	SHLQ $2, AX               // row bytes
	MOVQ R9, DX
	IMULQ AX, DX
	ADDQ DX, BX               // BX = row r0
smrow:
	CMPQ R9, R10
	JGE  smdone
	LEAQ 1(R9), CX            // n = ti+1
	MOVQ CX, R11
	SHRQ $3, R11              // full vectors
	MOVQ CX, R14
	ANDQ $7, R14              // tail length
	JZ   smnomask
	TAILMASK(R14, Y15)
smnomask:
	// Pass 1: x *= scale.
	MOVQ BX, SI
	MOVQ R11, DX
sm1:
	TESTQ DX, DX
	JZ    sm1tail
	VMULPS (SI), Y9, Y0
	VMOVUPS Y0, (SI)
	ADDQ $32, SI
	DECQ DX
	JMP  sm1
sm1tail:
	TESTQ R14, R14
	JZ    sm2
	VMASKMOVPS (SI), Y15, Y8
	VMULPS Y8, Y9, Y8
sm2:
	// Pass 2: m = max(x), seeded with x[0].
	TESTQ R11, R11
	JZ    sm2first
	VBROADCASTSS (BX), Y0
	JMP  sm2seed
sm2first:
	VBROADCASTSS X8, Y0
sm2seed:
	VMOVAPS Y0, Y6
	MOVQ BX, SI
	MOVQ R11, DX
sm2loop:
	TESTQ DX, DX
	JZ    sm2tail
	VMAXPS (SI), Y0, Y0
	ADDQ $32, SI
	DECQ DX
	JMP  sm2loop
sm2tail:
	TESTQ R14, R14
	JZ    sm2done
	VANDNPS Y6, Y15, Y5
	VORPS Y5, Y8, Y4
	VMAXPS Y4, Y0, Y0
sm2done:
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0x4e, X0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0xb1, X0, X1
	VMAXPS X1, X0, X0
	VBROADCASTSS X0, Y6
	// Pass 3: x = exp(x-m), summed lane-wise in Y7.
	VXORPS Y7, Y7, Y7
	MOVQ BX, SI
	MOVQ R11, DX
sm3:
	TESTQ DX, DX
	JZ    sm3tail
	VMOVUPS (SI), Y0
	VSUBPS Y6, Y0, Y0
	EXP(Y0, Y1, Y2, Y3)
	VMOVUPS Y0, (SI)
	VADDPS Y0, Y7, Y7
	ADDQ $32, SI
	DECQ DX
	JMP  sm3
sm3tail:
	TESTQ R14, R14
	JZ    sm3done
	VSUBPS Y6, Y8, Y0
	EXP(Y0, Y1, Y2, Y3)
	VANDPS Y15, Y0, Y0
	VMOVAPS Y0, Y8
	VADDPS Y0, Y7, Y7
sm3done:
	VMOVAPS Y7, Y0
	HSUM
	VMOVSS one<>(SB), X1
	VDIVSS X0, X1, X1
	VBROADCASTSS X1, Y10
	// Pass 4: x *= 1/sum; then zeros to the end of the row.
	MOVQ BX, SI
	MOVQ R11, DX
sm4:
	TESTQ DX, DX
	JZ    sm4tail
	VMULPS (SI), Y10, Y0
	VMOVUPS Y0, (SI)
	ADDQ $32, SI
	DECQ DX
	JMP  sm4
sm4tail:
	LEAQ (BX)(AX*1), DI       // end of the row
	TESTQ R14, R14
	JZ    smclear
	VMULPS Y8, Y10, Y0
	VANDPS Y15, Y0, Y0        // zeros past x
	LEAQ 32(SI), DX
	CMPQ DX, DI
	JGT  smpartial
	VMOVUPS Y0, (SI)
	MOVQ DX, SI
	JMP  smclear
smpartial:
	VMASKMOVPS Y0, Y15, (SI)
	LEAQ (SI)(R14*4), SI
smclear:
	VXORPS Y0, Y0, Y0
smclear8:
	LEAQ 32(SI), DX
	CMPQ DX, DI
	JGT  smclear1
	VMOVUPS Y0, (SI)
	MOVQ DX, SI
	JMP  smclear8
smclear1:
	CMPQ SI, DI
	JGE  smnext
	MOVL $0, (SI)
	ADDQ $4, SI
	JMP  smclear1
smnext:
	ADDQ AX, BX
	INCQ R9
	JMP  smrow
smdone:
	VZEROUPPER
	RET

// func attnSoftmaxGradAVX2(ds []float32, ldd int, p []float32, ldp, r0, rows int, scale float32)
// For each row i < rows, with n = r0+i+1 <= ldd, dp = ds[i*ldd:][:n] and
// pr = p[i*ldp:][:n]: dot = dotAVX2(pr, dp); softmaxGradAVX2(dp, pr, dp,
// dot, scale), then ds[i*ldd+n:i*ldd+ldd] = 0. The arithmetic is that of
// those primitives instruction for instruction; the partial last vectors
// stay in registers (Y9, Y10) between the two.
TEXT ·attnSoftmaxGradAVX2(SB), NOSPLIT, $0-84
	MOVQ ds_base+0(FP), BX
	MOVQ ldd+24(FP), AX
	MOVQ p_base+32(FP), R8
	MOVQ ldp+56(FP), R15
	MOVQ r0+64(FP), R9
	MOVQ rows+72(FP), R10
	VBROADCASTSS scale+80(FP), Y11
	SHLQ $2, AX
	SHLQ $2, R15
	ADDQ R9, R10              // rows end at n = r0+rows
sgrow:
	CMPQ R9, R10
	JGE  sgrdone
	LEAQ 1(R9), CX            // n
	MOVQ CX, R14
	ANDQ $7, R14
	JZ   sgrnomask
	TAILMASK(R14, Y15)
sgrnomask:
	// dot = dotAVX2(pr, dp)
	MOVQ R8, SI
	MOVQ BX, DI
	VXORPS Y0, Y0, Y0
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
sgr32:
	CMPQ CX, $32
	JLT  sgr8
	VMOVUPS (SI), Y5
	VMOVUPS 32(SI), Y6
	VMOVUPS 64(SI), Y7
	VMOVUPS 96(SI), Y8
	VFMADD231PS (DI), Y5, Y0
	VFMADD231PS 32(DI), Y6, Y2
	VFMADD231PS 64(DI), Y7, Y3
	VFMADD231PS 96(DI), Y8, Y4
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  sgr32
sgr8:
	CMPQ CX, $8
	JLT  sgrtail
	VMOVUPS (SI), Y5
	VFMADD231PS (DI), Y5, Y0
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  sgr8
sgrtail:
	TESTQ CX, CX
	JZ    sgrdot
	VMASKMOVPS (SI), Y15, Y9
	VMASKMOVPS (DI), Y15, Y10
	VFMADD231PS Y10, Y9, Y0
sgrdot:
	VADDPS Y2, Y0, Y0
	VADDPS Y4, Y3, Y3
	VADDPS Y3, Y0, Y0
	HSUM
	VBROADCASTSS X0, Y6
	// dp = (dp-dot)·pr·scale
	MOVQ R8, SI
	MOVQ BX, DI
	LEAQ 1(R9), CX
sgr2:
	CMPQ CX, $8
	JLT  sgr2tail
	VMOVUPS (DI), Y0
	VSUBPS Y6, Y0, Y0
	VMULPS (SI), Y0, Y0
	VMULPS Y11, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  sgr2
sgr2tail:
	LEAQ (BX)(AX*1), DX       // end of the row
	TESTQ CX, CX
	JZ    sgrclear
	VSUBPS Y6, Y10, Y0
	VMULPS Y9, Y0, Y0
	VMULPS Y11, Y0, Y0
	VANDPS Y15, Y0, Y0        // zeros past n
	LEAQ 32(DI), SI
	CMPQ SI, DX
	JGT  sgrpartial
	VMOVUPS Y0, (DI)
	MOVQ SI, DI
	JMP  sgrclear
sgrpartial:
	VMASKMOVPS Y0, Y15, (DI)
	LEAQ (DI)(CX*4), DI
sgrclear:
	VXORPS Y0, Y0, Y0
sgrclear8:
	LEAQ 32(DI), SI
	CMPQ SI, DX
	JGT  sgrclear1
	VMOVUPS Y0, (DI)
	MOVQ SI, DI
	JMP  sgrclear8
sgrclear1:
	CMPQ DI, DX
	JGE  sgrnext
	MOVL $0, (DI)
	ADDQ $4, DI
	JMP  sgrclear1
sgrnext:
	ADDQ AX, BX
	ADDQ R15, R8
	INCQ R9
	JMP  sgrow
sgrdone:
	VZEROUPPER
	RET
