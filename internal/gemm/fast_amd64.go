//go:build amd64 && !purego

package gemm

import (
	"math"
	"sync"
	"unsafe"

	"golang.org/x/sys/cpu"
)

//go:generate go run ./asm/gen.go -out kernels_amd64.s

// kernel is one instruction-set variant of the micro-kernel.
//
// A call computes tiles of mr rows (1 <= mr <= maxMR) by nr columns of C for
// np consecutive column panels: for each panel, acc = C (mode 0), the bias
// (mode 1) or zero (mode 2); then for q < kk, acc[r][:] += A[r][q]·B[q][:]
// with A[r][q] at a + r*rs + q*cs bytes and B the panel's packed rows of nr
// floats; then C = acc. Panels lie pstride bytes apart in b, nr floats apart
// in c and bias. Only the last panel may be partial: mask selects its columns.
type kernel struct {
	name   string
	maxMR  int
	nr     int
	run    func(a *float32, rs, cs uintptr, kk int, b *float32, pstride uintptr, c *float32, ldc uintptr, np int, mask uint64, mode int, bias *float32, mr int)
	maskOf func(valid int) uint64 // mask for a last panel with valid columns
}

const (
	modeAccumulate = 0
	modeBias       = 1
	modeZero       = 2
)

//go:noescape
func kernAVX512(a *float32, rs, cs uintptr, kk int, b *float32, pstride uintptr, c *float32, ldc uintptr, np int, mask uint64, mode int, bias *float32, mr int)

//go:noescape
func kernAVX2(a *float32, rs, cs uintptr, kk int, b *float32, pstride uintptr, c *float32, ldc uintptr, np int, mask uint64, mode int, bias *float32, mr int)

// packT8 transposes nb blocks of 8x8 floats: rows src, src+ld, ... (bytes) to
// rows dst, dst+dstride, ..., moving 8 columns on per block.
//
//go:noescape
func packT8(dst *float32, dstride uintptr, src *float32, ld uintptr, nb int)

// colAcc32 adds src[i*ld+j] (ld in bytes) to dst[j] for each row i < rows
// in order, for j < 32*nb.
//
// packRowsFull copies, for each row i < rows and panel q < np, nv vectors
// of 8 floats from src + i*ld + q*nv*32 to dst + q*pstride + i*nv*32 (all
// in bytes), row by row.
//
//go:noescape
func packRowsFull(dst *float32, pstride uintptr, src *float32, ld uintptr, rows, np, nv int)

//go:noescape
func colAcc32(dst, src *float32, rows int, ld uintptr, nb int)

var avx512Kernel = &kernel{
	name:  "avx512",
	maxMR: 8,
	nr:    32,
	run:   kernAVX512,
	maskOf: func(valid int) uint64 {
		return 1<<uint(valid) - 1
	},
}

// avx2Masks[v] enables the first v of 16 lanes; its address is passed to
// kernAVX2 as the mask of a partial last panel (0 means a full one).
var avx2Masks = func() (ms [17][16]int32) {
	for v := range ms {
		for l := 0; l < v; l++ {
			ms[v][l] = -1
		}
	}
	return ms
}()

var avx2Kernel = &kernel{
	name:  "avx2",
	maxMR: 6,
	nr:    16,
	run:   kernAVX2,
	maskOf: func(valid int) uint64 {
		if valid == 16 {
			return 0
		}
		return uint64(uintptr(unsafe.Pointer(&avx2Masks[valid])))
	},
}

// kernels lists the fast paths this CPU can run, best first.
func kernels() []*kernel {
	var ks []*kernel
	if !cpu.X86.HasAVX2 || !cpu.X86.HasFMA {
		return nil
	}
	if cpu.X86.HasAVX512F {
		ks = append(ks, avx512Kernel)
	}
	return append(ks, avx2Kernel)
}

// detect picks the best kernel set that passes selfCheck.
func detect() *kernel {
	for _, k := range kernels() {
		if selfCheck(k) {
			return k
		}
	}
	return nil
}

// selfCheck runs the three products with kn and with the AVX2 kernels on a
// small problem with ragged tiles and compares the bits, which must agree
// (both run the same chains of fused multiply-adds). The AVX-512 kernels
// were written on a machine without AVX-512, so this guards against them
// ever silently computing something else; the AVX2 kernels, which the tests
// exercise here, are taken as they are.
func selfCheck(kn *kernel) bool {
	if kn == avx2Kernel {
		return true
	}
	const m, k, n = 11, 37, 45
	seed := uint32(1)
	fill := func(size int) []float32 {
		s := make([]float32, size)
		for i := range s {
			seed = seed*1664525 + 1013904223
			s[i] = float32(int32(seed>>8)%2001-1000) / 997
		}
		return s
	}
	a, w, bias, dout := fill(m*k), fill(n*k), fill(n), fill(m*n)
	da0, dw0, db0 := fill(m*k), fill(n*k), fill(n)
	run := func(kn *kernel) [][]float32 {
		out := make([]float32, m*n)
		forwardFast(kn, 1, out, a, w, bias, m, k, n)
		da, dw, db := append([]float32(nil), da0...), append([]float32(nil), dw0...), append([]float32(nil), db0...)
		backwardInputFast(kn, 1, da, dout, w, m, k, n)
		backwardWeightFast(kn, 1, dw, db, dout, a, m, k, n, false)
		return [][]float32{out, da, dw, db}
	}
	got, want := run(kn), run(avx2Kernel)
	for i := range got {
		for j := range got[i] {
			if math.Float32bits(got[i][j]) != math.Float32bits(want[i][j]) {
				return false
			}
		}
	}
	return true
}

// chunkBytes bounds the packed panels one sweep over a row block reads, so
// that they stay near the core (L2 is 512 KiB on Zen 3, 1 MiB on Zen 4 and
// 5). Measured on Zen 3, smaller chunks were slower for the model's shapes:
// re-reading rows of A costs more than reading panels from L2 and L3.
const chunkBytes = 1 << 20

// scratch holds packed operands between calls.
var scratch = sync.Pool{New: func() any { return new([]float32) }}

func getScratch(n int) *[]float32 {
	p := scratch.Get().(*[]float32)
	if cap(*p) < n {
		*p = make([]float32, n)
	}
	*p = (*p)[:n]
	return p
}

// kcBlock is how much of the reduction one kernel call covers: it keeps a
// tile's rows of A and a panel's rows of B in L1 across the call. Splitting
// the reduction this way leaves each element's chain of multiply-adds
// unchanged: the partial sum waits in C, exactly, between blocks.
const kcBlock = 256

// tiles runs the kernel over rows [i0,i1) of C and all panels of the packed
// operand b: panel q starts at b[q*pstride] and holds kk rows of nr floats.
// Row i of A starts at a + i*rs bytes, its element q cs bytes further on;
// C row i at c[i*ldc]; valid is the number of columns of C.
func tiles(kn *kernel, a unsafe.Pointer, rs, cs uintptr, kk int, b []float32, pstride int, c []float32, ldc, valid, i0, i1, mode int, bias []float32) {
	nr := kn.nr
	np := (valid + nr - 1) / nr
	perChunk := max(1, chunkBytes/(min(kk, kcBlock)*nr*4))
	for p0 := 0; p0 < np; p0 += perChunk {
		p1 := min(np, p0+perChunk)
		mask := kn.maskOf(nr)
		if p1 == np {
			mask = kn.maskOf(valid - (np-1)*nr)
		}
		for q0 := 0; q0 < kk; q0 += kcBlock {
			q1 := min(kk, q0+kcBlock)
			md, biasp := mode, (*float32)(nil)
			if q0 > 0 {
				md = modeAccumulate
			} else if mode == modeBias {
				biasp = &bias[p0*nr]
			}
			bq := &b[p0*pstride+q0*nr]
			for i := i0; i < i1; i += kn.maxMR {
				mr := min(kn.maxMR, i1-i)
				kn.run((*float32)(unsafe.Add(a, uintptr(i)*rs+uintptr(q0)*cs)), rs, cs, q1-q0, bq, uintptr(pstride*4),
					&c[i*ldc+p0*nr], uintptr(ldc*4), p1-p0, mask, md, biasp, mr)
			}
		}
	}
}

// packTransposed packs w [n,k] (rows ld floats apart) as panels of nr
// columns of wᵀ: panel q holds, for each p < k, the nr floats w[q*nr+jj][p],
// zero beyond n. Panels [q0,q1) only.
func packTransposed(dst, w []float32, ld, n, k, nr, q0, q1 int) {
	for q := q0; q < q1; q++ {
		panel := dst[q*k*nr : (q+1)*k*nr]
		rows := min(nr, n-q*nr)
		jj := 0
		if k >= 8 {
			for ; jj+8 <= rows; jj += 8 {
				// packT8 reads 8 rows of k&^7 floats from here on.
				_ = w[(q*nr+jj+7)*ld+k-1]
				packT8(&panel[jj], uintptr(nr*4), &w[(q*nr+jj)*ld], uintptr(ld*4), k/8)
			}
			for r := 0; r < jj; r++ {
				wr := w[(q*nr+r)*ld : (q*nr+r)*ld+k]
				for p := k &^ 7; p < k; p++ {
					panel[p*nr+r] = wr[p]
				}
			}
		}
		for r := jj; r < nr; r++ {
			if r >= rows {
				for p := 0; p < k; p++ {
					panel[p*nr+r] = 0
				}
				continue
			}
			wr := w[(q*nr+r)*ld : (q*nr+r)*ld+k]
			for p, v := range wr {
				panel[p*nr+r] = v
			}
		}
	}
}

// packRows packs src [rows,cols] (rows ld floats apart) as panels of nr
// columns: panel q holds, for each row i, the nr floats src[i][q*nr:], zero
// beyond cols. Panels [q0,q1). It walks src row by row: down a column of
// panels, the reads would stride by whole rows, which defeats the
// prefetcher and aliases in cache. Full panels go through packRowsFull,
// whole vectors at a time.
func packRows(dst, src []float32, ld, rows, cols, nr, q0, q1 int) {
	if rows <= 0 || q0 >= q1 {
		return
	}
	pstride := rows * nr
	full := max(q0, min(q1, cols/nr)) // panels [q0,full) are full
	if full > q0 {
		// Bounds of the last row's last full panel, in dst and in src.
		_ = dst[(full-1)*pstride+rows*nr-1]
		_ = src[(rows-1)*ld+full*nr-1]
		packRowsFull(&dst[q0*pstride], uintptr(pstride*4), &src[q0*nr], uintptr(ld*4), rows, full-q0, nr/8)
	}
	for q := full; q < q1; q++ {
		for i := 0; i < rows; i++ {
			d := dst[q*pstride+i*nr : q*pstride+i*nr+nr]
			s := src[i*ld+q*nr : i*ld+cols]
			for j := range d {
				if j < len(s) {
					d[j] = s[j]
				} else {
					d[j] = 0
				}
			}
		}
	}
}

func forwardFast(kn *kernel, workers int, out, a, w, bias []float32, m, k, n int) {
	buf := getScratch(packedSize(kn, k, n))
	packForward(kn, workers, *buf, w, k, n)
	forwardPacked(kn, workers, out, a, *buf, bias, m, k, n)
	scratch.Put(buf)
}

// packedSize is the number of floats of a k×n operand in panels.
func packedSize(kn *kernel, k, n int) int { return (n + kn.nr - 1) / kn.nr * k * kn.nr }

// packForward packs wᵀ ([n,k] w) as Forward's panels into dst.
func packForward(kn *kernel, workers int, dst, w []float32, k, n int) {
	np := (n + kn.nr - 1) / kn.nr
	parallel(workers, np, 1, func(q0, q1 int) { packTransposed(dst, w, k, n, k, kn.nr, q0, q1) })
}

// forwardPacked is forwardFast with wᵀ packed by packForward in bp.
func forwardPacked(kn *kernel, workers int, out, a, bp, bias []float32, m, k, n int) {
	mode := modeZero
	if bias != nil {
		mode = modeBias
	}
	parallel(workers, m, kn.maxMR, func(i0, i1 int) {
		tiles(kn, unsafe.Pointer(&a[0]), uintptr(k*4), 4, k, bp, k*kn.nr, out, n, n, i0, i1, mode, bias)
	})
}

func backwardInputFast(kn *kernel, workers int, da, dout, w []float32, m, k, n int) {
	buf := getScratch(packedSize(kn, n, k))
	packBackwardInput(kn, workers, *buf, w, k, n)
	backwardInputPacked(kn, workers, da, dout, *buf, m, k, n, true)
	scratch.Put(buf)
}

// packBackwardInput packs w ([n,k]) as BackwardInput's panels into dst.
func packBackwardInput(kn *kernel, workers int, dst, w []float32, k, n int) {
	np := (k + kn.nr - 1) / kn.nr
	parallel(workers, np, 1, func(q0, q1 int) { packRows(dst, w, k, n, k, kn.nr, q0, q1) })
}

// backwardInputPacked is backwardInputFast with w packed by
// packBackwardInput in bp: da += dout·w with accumulate, else da = dout·w.
func backwardInputPacked(kn *kernel, workers int, da, dout, bp []float32, m, k, n int, accumulate bool) {
	mode := modeZero
	if accumulate {
		mode = modeAccumulate
	}
	parallel(workers, m, kn.maxMR, func(i0, i1 int) {
		tiles(kn, unsafe.Pointer(&dout[0]), uintptr(n*4), 4, n, bp, n*kn.nr, da, k, k, i0, i1, mode, nil)
	})
}

// packBytes bounds the packed rows of a that BackwardWeight holds at once,
// so that they are still in cache when the kernel reads them.
const packBytes = 512 << 10

// backwardWeightFast accumulates into dw and dbias, or with overwrite
// starts dw's chains from zero in the kernel instead of reading dw.
func backwardWeightFast(kn *kernel, workers int, dw, dbias, dout, a []float32, m, k, n int, overwrite bool) {
	nr := kn.nr
	np := (k + nr - 1) / nr
	mb := min(m, max(kcBlock, packBytes/(np*nr*4)/kcBlock*kcBlock))
	buf := getScratch(np*mb*nr + n)
	bp, sums := (*buf)[:np*mb*nr], (*buf)[np*mb*nr:]
	clear(sums)
	// The sum over rows is never split between workers: they share out
	// the output features, and each block of rows is done before the next.
	for r0 := 0; r0 < m; r0 += mb {
		rows := min(m, r0+mb) - r0
		parallel(workers, np, 1, func(q0, q1 int) { packRows(bp, a[r0*k:], k, rows, k, nr, q0, q1) })
		parallel(workers, n, kn.maxMR, func(j0, j1 int) {
			backwardWeightRows(kn, dw, sums, dbias != nil, overwrite && r0 == 0, dout[r0*n:], bp, rows, k, n, j0, j1)
		})
	}
	if dbias != nil {
		for j, s := range sums {
			dbias[j] += s
		}
	}
	scratch.Put(buf)
}

// backwardWeightRows accumulates rows [j0,j1) of dw += doutᵀ·a over the
// rows rows of dout and a, with bp the packed panels of those rows of a;
// with bias, it also accumulates the columns [j0,j1) of dout into sums.
//
// dw = doutᵀ·a reads dout by columns. Each block of kcBlock rows of dout is
// therefore first transposed into a small buffer, which gives the kernel
// contiguous rows as in the other two products while staying in cache; its
// rows are padded off a multiple of 4 KiB so that the kernel's row streams
// fall in different L1 sets. The bias sums run over the same block while it
// is in cache, in row order, as in the reference.
func backwardWeightRows(kn *kernel, dw, sums []float32, bias, zero bool, dout, bp []float32, rows, k, n, j0, j1 int) {
	nj := j1 - j0
	ldt := (min(rows, kcBlock)+7)&^7 + 16
	buf := getScratch(nj * ldt)
	t := *buf
	for q0 := 0; q0 < rows; q0 += kcBlock {
		q1 := min(rows, q0+kcBlock)
		block := dout[q0*n+j0:]
		transposeBlock(t, ldt, block, n, q1-q0, nj)
		if bias {
			colAcc(sums[j0:j1], block, n, q1-q0, nj)
		}
		mode := modeAccumulate
		if zero && q0 == 0 {
			mode = modeZero
		}
		tiles(kn, unsafe.Pointer(&t[0]), uintptr(ldt*4), 4, q1-q0, bp[q0*kn.nr:], rows*kn.nr,
			dw[j0*k:], k, k, 0, nj, mode, nil)
	}
	scratch.Put(buf)
}

// transposeBlock writes dst[j*ld+i] = src[i*srcLd+j] for i < rows, j < cols.
func transposeBlock(dst []float32, ld int, src []float32, srcLd, rows, cols int) {
	i := 0
	if cols >= 8 {
		for ; i+8 <= rows; i += 8 {
			packT8(&dst[i], uintptr(ld*4), &src[i*srcLd], uintptr(srcLd*4), cols/8)
			for r := i; r < i+8; r++ {
				for j := cols &^ 7; j < cols; j++ {
					dst[j*ld+r] = src[r*srcLd+j]
				}
			}
		}
	}
	for ; i < rows; i++ {
		for j, v := range src[i*srcLd : i*srcLd+cols] {
			dst[j*ld+i] = v
		}
	}
}

// colAcc adds src[i*ld+j] to dst[j] for each row i < rows in order, j < cols.
func colAcc(dst, src []float32, ld, rows, cols int) {
	nb := cols / 32
	if nb > 0 {
		colAcc32(&dst[0], &src[0], rows, uintptr(ld*4), nb)
	}
	for j := 32 * nb; j < cols; j++ {
		s := dst[j]
		for i := 0; i < rows; i++ {
			s += src[i*ld+j]
		}
		dst[j] = s
	}
}

// fmaPeakAVX2 and fmaPeakAVX512 run n iterations of 12 independent FMAs on
// full vectors; the benchmarks time them to quote kernels as a fraction of
// the core's peak.
//
//go:noescape
func fmaPeakAVX2(n int)

//go:noescape
func fmaPeakAVX512(n int)
