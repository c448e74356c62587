//go:build ignore

// Command gen writes kernels_amd64.s, the assembly micro-kernels of package
// gemm. The kernels are unrolled over the rows of a tile, so they are
// generated rather than typed. Run it from internal/gemm:
//
//	go run ./asm/gen.go -out kernels_amd64.s
//
// Every kernel computes, for each output element, one sequential chain of
// fused multiply-adds over the reduction index, starting from the previous
// value (C, a bias or zero). Which kernel variant, tile row or masked panel
// handles an element never changes that chain, which is what makes results
// independent of tiling and of how work is split between goroutines.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"os"
)

var out = flag.String("out", "kernels_amd64.s", "output file")

type gen struct{ bytes.Buffer }

func (g *gen) f(format string, args ...any) { fmt.Fprintf(&g.Buffer, format+"\n", args...) }
func (g *gen) i(format string, args ...any) { g.f("\t"+format, args...) }

// Rows of a tile are addressed from group pointers three rows apart, so that
// row r is (G)(S*0|1|2) with G = base + 3*(r/3)*S.
var groupRegs = []string{"R8", "R9", "R10"}

func rowAddr(r int, stride string) string {
	g := groupRegs[r/3]
	switch r % 3 {
	case 0:
		return "(" + g + ")"
	case 1:
		return "(" + g + ")(" + stride + "*1)"
	default:
		return "(" + g + ")(" + stride + "*2)"
	}
}

// setGroups points the group registers at base, base+3S, base+6S, ... for mr rows.
func (g *gen) setGroups(base, stride string, mr int) {
	g.i("MOVQ %s, R8", base)
	for k := 1; k*3 < mr; k++ {
		g.i("LEAQ (%s)(%s*2), %s", stride, stride, groupRegs[k])
		g.i("ADDQ %s, %s", groupRegs[k-1], groupRegs[k])
	}
}

// Argument frame shared by both micro-kernels.
const kernArgs = `a *float32, rs, cs uintptr, kk int, b *float32, pstride uintptr, c *float32, ldc uintptr, np int, mask uint64, mode int, bias *float32, mr int`

const frame = "$0-104"

func (g *gen) prologue(name string) {
	g.f("// func %s(%s)", name, kernArgs)
	g.f("TEXT ·%s(SB), NOSPLIT, %s", name, frame)
	g.i("MOVQ a+0(FP), SI")
	g.i("MOVQ rs+8(FP), DX")
	g.i("MOVQ cs+16(FP), DI")
	g.i("MOVQ b+32(FP), BX")
	g.i("MOVQ c+48(FP), R12")
	g.i("MOVQ ldc+56(FP), R13")
	g.i("MOVQ np+64(FP), AX")
	g.i("MOVQ bias+88(FP), R15")
	g.i("CMPQ kk+24(FP), $0")
	g.i("JLE %s_done", name)
	g.i("CMPQ AX, $0")
	g.i("JLE %s_done", name)
	g.i("MOVQ mr+96(FP), CX")
}

// avx512 writes the AVX-512 kernel: tiles of up to 8 rows by 32 columns
// (two zmm registers per row), the last panel's columns masked by k1/k2.
func (g *gen) avx512() {
	const name, maxMR, nr = "kernAVX512", 8, 32
	g.prologue(name)
	for mr := 1; mr <= maxMR; mr++ {
		g.i("CMPQ CX, $%d", mr)
		g.i("JEQ %s_mr%d", name, mr)
	}
	g.i("JMP %s_done", name)
	for mr := 1; mr <= maxMR; mr++ {
		p := fmt.Sprintf("%s_mr%d", name, mr)
		g.f("%s:", p)
		g.f("%s_panel:", p)
		// Masks: full for every panel but the last.
		g.i("MOVQ $0xffffffff, CX")
		g.i("CMPQ AX, $1")
		g.i("JNE %s_mask", p)
		g.i("MOVQ mask+72(FP), CX")
		g.f("%s_mask:", p)
		g.i("KMOVW CX, K1")
		g.i("SHRQ $16, CX")
		g.i("KMOVW CX, K2")
		// Initial accumulators.
		g.i("MOVQ mode+80(FP), CX")
		g.i("CMPQ CX, $1")
		g.i("JEQ %s_bias", p)
		g.i("CMPQ CX, $2")
		g.i("JEQ %s_zero", p)
		g.setGroups("R12", "R13", mr)
		for r := 0; r < mr; r++ {
			a := rowAddr(r, "R13")
			g.i("VMOVUPS.Z %s, K1, Z%d", a, 2*r)
			g.i("VMOVUPS.Z 64%s, K2, Z%d", a, 2*r+1)
		}
		g.i("JMP %s_init", p)
		g.f("%s_bias:", p)
		g.i("VMOVUPS.Z (R15), K1, Z0")
		g.i("VMOVUPS.Z 64(R15), K2, Z1")
		for r := 1; r < mr; r++ {
			g.i("VMOVAPS Z0, Z%d", 2*r)
			g.i("VMOVAPS Z1, Z%d", 2*r+1)
		}
		g.i("JMP %s_init", p)
		g.f("%s_zero:", p)
		for r := 0; r < 2*mr; r++ {
			g.i("VPXORD Z%d, Z%d, Z%d", r, r, r)
		}
		g.f("%s_init:", p)
		g.setGroups("SI", "DX", mr)
		g.i("MOVQ BX, R11")
		g.i("MOVQ kk+24(FP), CX")
		g.f("%s_loop:", p)
		g.i("VMOVUPS (R11), Z16")
		g.i("VMOVUPS 64(R11), Z17")
		for r := 0; r < mr; r++ {
			t := 18 + r%6
			g.i("VBROADCASTSS %s, Z%d", rowAddr(r, "DX"), t)
			g.i("VFMADD231PS Z16, Z%d, Z%d", t, 2*r)
			g.i("VFMADD231PS Z17, Z%d, Z%d", t, 2*r+1)
		}
		for k := 0; k*3 < mr; k++ {
			g.i("ADDQ DI, %s", groupRegs[k])
		}
		g.i("ADDQ $%d, R11", nr*4)
		g.i("DECQ CX")
		g.i("JNZ %s_loop", p)
		// Store the tile.
		g.setGroups("R12", "R13", mr)
		for r := 0; r < mr; r++ {
			a := rowAddr(r, "R13")
			g.i("VMOVUPS Z%d, K1, %s", 2*r, a)
			g.i("VMOVUPS Z%d, K2, 64%s", 2*r+1, a)
		}
		g.i("ADDQ pstride+40(FP), BX")
		g.i("ADDQ $%d, R12", nr*4)
		g.i("ADDQ $%d, R15", nr*4)
		g.i("DECQ AX")
		g.i("JNZ %s_panel", p)
		g.i("JMP %s_done", name)
	}
	g.f("%s_done:", name)
	g.i("VZEROUPPER")
	g.i("RET")
	g.f("")
}

// avx2Unroll is how many reduction steps one pass of the AVX2 kernel's
// main loop takes when the rows of A are contiguous.
const avx2Unroll = 4

// avx2 writes the AVX2+FMA kernel: tiles of up to 6 rows by 16 columns (two
// ymm registers per row). The last panel, when partial, is loaded and stored
// with VMASKMOVPS; mask points at 16 int32 lane masks for it.
func (g *gen) avx2() {
	const name, maxMR, nr = "kernAVX2", 6, 16
	g.prologue(name)
	for mr := 1; mr <= maxMR; mr++ {
		g.i("CMPQ CX, $%d", mr)
		g.i("JEQ %s_mr%d", name, mr)
	}
	g.i("JMP %s_done", name)
	for mr := 1; mr <= maxMR; mr++ {
		p := fmt.Sprintf("%s_mr%d", name, mr)
		// masked reports (in the flags) whether this panel is the last and partial:
		// compare AX with 1 and the mask pointer with nil.
		checkMasked := func(label string) {
			g.i("CMPQ AX, $1")
			g.i("JNE %s", label)
			g.i("MOVQ mask+72(FP), CX")
			g.i("TESTQ CX, CX")
			g.i("JZ %s", label)
			g.i("VMOVDQU (CX), Y14")
			g.i("VMOVDQU 32(CX), Y15")
		}
		g.f("%s:", p)
		g.f("%s_panel:", p)
		g.i("MOVQ mode+80(FP), CX")
		g.i("CMPQ CX, $1")
		g.i("JEQ %s_bias", p)
		g.i("CMPQ CX, $2")
		g.i("JEQ %s_zero", p)
		g.setGroups("R12", "R13", mr)
		checkMasked(p + "_cfull")
		for r := 0; r < mr; r++ {
			a := rowAddr(r, "R13")
			g.i("VMASKMOVPS %s, Y14, Y%d", a, 2*r)
			g.i("VMASKMOVPS 32%s, Y15, Y%d", a, 2*r+1)
		}
		g.i("JMP %s_init", p)
		g.f("%s_cfull:", p)
		for r := 0; r < mr; r++ {
			a := rowAddr(r, "R13")
			g.i("VMOVUPS %s, Y%d", a, 2*r)
			g.i("VMOVUPS 32%s, Y%d", a, 2*r+1)
		}
		g.i("JMP %s_init", p)
		g.f("%s_bias:", p)
		checkMasked(p + "_bfull")
		g.i("VMASKMOVPS (R15), Y14, Y0")
		g.i("VMASKMOVPS 32(R15), Y15, Y1")
		g.i("JMP %s_bcopy", p)
		g.f("%s_bfull:", p)
		g.i("VMOVUPS (R15), Y0")
		g.i("VMOVUPS 32(R15), Y1")
		g.f("%s_bcopy:", p)
		for r := 1; r < mr; r++ {
			g.i("VMOVAPS Y0, Y%d", 2*r)
			g.i("VMOVAPS Y1, Y%d", 2*r+1)
		}
		g.i("JMP %s_init", p)
		g.f("%s_zero:", p)
		for r := 0; r < 2*mr; r++ {
			g.i("VXORPS Y%d, Y%d, Y%d", r, r, r)
		}
		g.f("%s_init:", p)
		g.setGroups("SI", "DX", mr)
		g.i("MOVQ BX, R11")
		g.i("MOVQ kk+24(FP), CX")
		// One reduction step q: the panel's row q of B and A[r][q] for
		// each row, at byte offset off from the current pointers.
		step := func(off int) {
			pre := ""
			if off != 0 {
				pre = fmt.Sprint(off)
			}
			g.i("VMOVUPS %d(R11), Y12", off*nr)
			g.i("VMOVUPS %d(R11), Y13", off*nr+32)
			for r := 0; r < mr; r++ {
				t := 14 + r%2
				g.i("VBROADCASTSS %s%s, Y%d", pre, rowAddr(r, "DX"), t)
				g.i("VFMADD231PS Y12, Y%d, Y%d", t, 2*r)
				g.i("VFMADD231PS Y13, Y%d, Y%d", t, 2*r+1)
			}
		}
		// With contiguous rows of A (cs == 4), the loop is unrolled by
		// avx2Unroll steps, the elements of A at immediate offsets; the
		// remaining steps, and all of them for other cs, take the loop
		// of one step. Either way each accumulator sees the same
		// multiply-adds in the same order.
		g.i("CMPQ DI, $4")
		g.i("JNE %s_loop", p)
		g.i("SUBQ $%d, CX", avx2Unroll)
		g.i("JL %s_rest", p)
		g.f("%s_loop%d:", p, avx2Unroll)
		for u := 0; u < avx2Unroll; u++ {
			step(4 * u)
		}
		for k := 0; k*3 < mr; k++ {
			g.i("ADDQ $%d, %s", 4*avx2Unroll, groupRegs[k])
		}
		g.i("ADDQ $%d, R11", avx2Unroll*nr*4)
		g.i("SUBQ $%d, CX", avx2Unroll)
		g.i("JGE %s_loop%d", p, avx2Unroll)
		g.f("%s_rest:", p)
		g.i("ADDQ $%d, CX", avx2Unroll)
		g.i("JZ %s_store", p)
		g.f("%s_loop:", p)
		step(0)
		for k := 0; k*3 < mr; k++ {
			g.i("ADDQ DI, %s", groupRegs[k])
		}
		g.i("ADDQ $%d, R11", nr*4)
		g.i("DECQ CX")
		g.i("JNZ %s_loop", p)
		g.f("%s_store:", p)
		// Store the tile.
		g.setGroups("R12", "R13", mr)
		checkMasked(p + "_sfull")
		for r := 0; r < mr; r++ {
			a := rowAddr(r, "R13")
			g.i("VMASKMOVPS Y%d, Y14, %s", 2*r, a)
			g.i("VMASKMOVPS Y%d, Y15, 32%s", 2*r+1, a)
		}
		g.i("JMP %s_next", p)
		g.f("%s_sfull:", p)
		for r := 0; r < mr; r++ {
			a := rowAddr(r, "R13")
			g.i("VMOVUPS Y%d, %s", 2*r, a)
			g.i("VMOVUPS Y%d, 32%s", 2*r+1, a)
		}
		g.f("%s_next:", p)
		g.i("ADDQ pstride+40(FP), BX")
		g.i("ADDQ $%d, R12", nr*4)
		g.i("ADDQ $%d, R15", nr*4)
		g.i("DECQ AX")
		g.i("JNZ %s_panel", p)
		g.i("JMP %s_done", name)
	}
	g.f("%s_done:", name)
	g.i("VZEROUPPER")
	g.i("RET")
	g.f("")
}

// transpose8 writes packT8: it transposes blocks of 8x8 floats. src points at
// 8 rows ld bytes apart; for each of nb blocks of 8 columns it writes the 8
// transposed rows (8 floats each) dst, dst+dstride, ... and moves on by 8 columns.
func (g *gen) transpose8() {
	g.f("// func packT8(dst *float32, dstride uintptr, src *float32, ld uintptr, nb int)")
	g.f("TEXT ·packT8(SB), NOSPLIT, $0-40")
	g.i("MOVQ dst+0(FP), DI")
	g.i("MOVQ dstride+8(FP), DX")
	g.i("MOVQ src+16(FP), SI")
	g.i("MOVQ ld+24(FP), BX")
	g.i("MOVQ nb+32(FP), CX")
	g.i("TESTQ CX, CX")
	g.i("JLE packT8_done")
	g.i("LEAQ (BX)(BX*2), R11") // 3*ld
	g.i("LEAQ (DX)(DX*2), R12") // 3*dstride
	g.f("packT8_loop:")
	// Rows 0..3 from SI, rows 4..7 from R8 = SI + 4*ld.
	g.i("LEAQ (SI)(BX*4), R8")
	g.i("VMOVUPS (SI), Y0")
	g.i("VMOVUPS (SI)(BX*1), Y1")
	g.i("VMOVUPS (SI)(BX*2), Y2")
	g.i("VMOVUPS (SI)(R11*1), Y3")
	g.i("VMOVUPS (R8), Y4")
	g.i("VMOVUPS (R8)(BX*1), Y5")
	g.i("VMOVUPS (R8)(BX*2), Y6")
	g.i("VMOVUPS (R8)(R11*1), Y7")
	// t0..t7 in Y8..Y15: interleave row pairs.
	for k := 0; k < 4; k++ {
		g.i("VUNPCKLPS Y%d, Y%d, Y%d", 2*k+1, 2*k, 8+2*k)
		g.i("VUNPCKHPS Y%d, Y%d, Y%d", 2*k+1, 2*k, 9+2*k)
	}
	// s0..s7 in Y0..Y7: four-row groups.
	// s0=shuf(t0,t2,0x44) s1=shuf(t0,t2,0xEE) s2=shuf(t1,t3,0x44) s3=shuf(t1,t3,0xEE)
	// s4..s7 likewise from t4..t7.
	for h := 0; h < 2; h++ {
		t := 8 + 4*h
		s := 4 * h
		g.i("VSHUFPS $0x44, Y%d, Y%d, Y%d", t+2, t, s)
		g.i("VSHUFPS $0xEE, Y%d, Y%d, Y%d", t+2, t, s+1)
		g.i("VSHUFPS $0x44, Y%d, Y%d, Y%d", t+3, t+1, s+2)
		g.i("VSHUFPS $0xEE, Y%d, Y%d, Y%d", t+3, t+1, s+3)
	}
	// column q (q<4) = perm(s_q, s_{q+4}, 0x20); column q+4 = perm(.., 0x31).
	for q := 0; q < 4; q++ {
		g.i("VPERM2F128 $0x20, Y%d, Y%d, Y%d", q+4, q, 8+q)
		g.i("VPERM2F128 $0x31, Y%d, Y%d, Y%d", q+4, q, 12+q)
	}
	g.i("LEAQ (DI)(DX*4), R9")
	g.i("VMOVUPS Y8, (DI)")
	g.i("VMOVUPS Y9, (DI)(DX*1)")
	g.i("VMOVUPS Y10, (DI)(DX*2)")
	g.i("VMOVUPS Y11, (DI)(R12*1)")
	g.i("VMOVUPS Y12, (R9)")
	g.i("VMOVUPS Y13, (R9)(DX*1)")
	g.i("VMOVUPS Y14, (R9)(DX*2)")
	g.i("VMOVUPS Y15, (R9)(R12*1)")
	g.i("LEAQ (R9)(DX*4), DI")
	g.i("ADDQ $32, SI")
	g.i("DECQ CX")
	g.i("JNZ packT8_loop")
	g.f("packT8_done:")
	g.i("VZEROUPPER")
	g.i("RET")
	g.f("")
}

// colacc writes colAcc32: dst[j] += src[0*ld+j], then += src[1*ld+j], ...
// in row order (ld in bytes), for j < 32*nb (blocks of 32 columns).
func (g *gen) colacc() {
	g.f("// func colAcc32(dst, src *float32, rows int, ld uintptr, nb int)")
	g.f("TEXT ·colAcc32(SB), NOSPLIT, $0-40")
	g.i("MOVQ dst+0(FP), DI")
	g.i("MOVQ src+8(FP), SI")
	g.i("MOVQ ld+24(FP), DX")
	g.i("MOVQ nb+32(FP), BX")
	g.i("CMPQ rows+16(FP), $0")
	g.i("JLE colAcc32_done")
	g.i("TESTQ BX, BX")
	g.i("JLE colAcc32_done")
	g.f("colAcc32_block:")
	for r := 0; r < 4; r++ {
		g.i("VMOVUPS %d(DI), Y%d", 32*r, r)
	}
	g.i("MOVQ SI, R8")
	g.i("MOVQ rows+16(FP), CX")
	g.f("colAcc32_row:")
	for r := 0; r < 4; r++ {
		g.i("VADDPS %d(R8), Y%d, Y%d", 32*r, r, r)
	}
	g.i("ADDQ DX, R8")
	g.i("DECQ CX")
	g.i("JNZ colAcc32_row")
	for r := 0; r < 4; r++ {
		g.i("VMOVUPS Y%d, %d(DI)", r, 32*r)
	}
	g.i("ADDQ $128, SI")
	g.i("ADDQ $128, DI")
	g.i("DECQ BX")
	g.i("JNZ colAcc32_block")
	g.f("colAcc32_done:")
	g.i("VZEROUPPER")
	g.i("RET")
	g.f("")
}

// peak writes fmaPeakAVX2 and fmaPeakAVX512: n iterations of 12 independent
// FMA chains, to measure the core's FMA throughput next to the kernels.
func (g *gen) peak() {
	for _, v := range []struct{ name, reg string }{{"fmaPeakAVX2", "Y"}, {"fmaPeakAVX512", "Z"}} {
		g.f("// func %s(n int)", v.name)
		g.f("TEXT ·%s(SB), NOSPLIT, $0-8", v.name)
		g.i("MOVQ n+0(FP), CX")
		g.i("TESTQ CX, CX")
		g.i("JLE %s_done", v.name)
		for r := 0; r < 14; r++ {
			g.i("VXORPS %s%d, %s%d, %s%d", v.reg, r, v.reg, r, v.reg, r)
		}
		g.f("%s_loop:", v.name)
		for r := 0; r < 12; r++ {
			g.i("VFMADD231PS %s12, %s13, %s%d", v.reg, v.reg, v.reg, r)
		}
		g.i("DECQ CX")
		g.i("JNZ %s_loop", v.name)
		g.f("%s_done:", v.name)
		g.i("VZEROUPPER")
		g.i("RET")
		g.f("")
	}
}

func main() {
	flag.Parse()
	var g gen
	g.f("// Code generated by go run ./asm/gen.go; DO NOT EDIT.")
	g.f("")
	g.f("//go:build amd64 && !purego")
	g.f("")
	g.f(`#include "textflag.h"`)
	g.f("")
	g.avx512()
	g.avx2()
	g.transpose8()
	g.colacc()
	g.peak()
	if err := os.WriteFile(*out, g.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}
