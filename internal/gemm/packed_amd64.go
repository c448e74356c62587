//go:build amd64 && !purego

package gemm

import "unsafe"

// Packed holds a k×n matrix B, taken from rows or columns of a strided
// matrix, in the fast kernels' panel layout, so that several products can
// use it without packing it again. It is for small products in inner
// loops (attention's, one head at a time), where packing each operand once
// and skipping the checks and pooled scratch of the public functions
// matters. The zero value is empty; a Packed reuses its memory.
//
// Products with a Packed run the same micro-kernels as the public
// functions, so each output element is the same chain of fused
// multiply-adds (see the package doc) and has the same bits as there.
type Packed struct {
	kn   *kernel
	buf  []float32
	k, n int
}

// PackedAvailable reports whether Packed products can run: only on the fast
// paths (Impl is not "go").
func PackedAvailable() bool { return active != nil }

// TileRows is the number of rows of C one micro-kernel call computes on
// the active fast path (6 for AVX2, 8 for AVX-512), or 1 without one.
// Products over that many rows cost one call per block of reduction.
func TileRows() int {
	if active == nil {
		return 1
	}
	return active.maxMR
}

func (p *Packed) reset(k, n int) {
	if active == nil {
		panic("gemm: Packed needs a fast path (see PackedAvailable)")
	}
	if k < 0 || n < 0 {
		panic("gemm: Packed: negative dimension")
	}
	p.kn, p.k, p.n = active, k, n
	nr := p.kn.nr
	size := (n + nr - 1) / nr * k * nr
	if cap(p.buf) < size {
		p.buf = make([]float32, size)
	}
	p.buf = p.buf[:size]
}

// PackRows sets B[q][j] = src[q*ld+j] for q < k, j < n: k rows of n floats,
// ld apart. This is the w of BackwardInput (k = its n, n = its k), or the a
// of BackwardWeight.
func (p *Packed) PackRows(src []float32, ld, k, n int) {
	p.reset(k, n)
	if k == 0 || n == 0 {
		return
	}
	if ld < n || len(src) < (k-1)*ld+n {
		panic("gemm: PackRows: src too short for k rows of n floats ld apart")
	}
	packRows(p.buf, src, ld, k, n, p.kn.nr, 0, (n+p.kn.nr-1)/p.kn.nr)
}

// PackCols sets B[q][j] = src[j*ld+q] for q < k, j < n: the transpose of n
// rows of k floats, ld apart. This is the wᵀ of Forward.
func (p *Packed) PackCols(src []float32, ld, k, n int) {
	p.reset(k, n)
	if k == 0 || n == 0 {
		return
	}
	if ld < k || len(src) < (n-1)*ld+k {
		panic("gemm: PackCols: src too short for n rows of k floats ld apart")
	}
	packTransposed(p.buf, src, ld, n, k, p.kn.nr, 0, (n+p.kn.nr-1)/p.kn.nr)
}

// MulPacked computes, for i < m and j < n,
//
//	c[i*ldc+j] = c0 + Σ_{q=q0}^{q1-1} a[i*rs+(q-q0)*cs]·B[q][j]
//
// as one chain of fused multiply-adds in order of q, where c0 is the
// previous c[i*ldc+j] if accumulate is set and zero otherwise. A is read
// through the strides rs and cs, so it may be a block of a wider matrix or
// a transposed one; c may be a block of a wider matrix, whose other
// elements are left alone. n <= B's n, 0 <= q0 <= q1 <= B's k. Only the
// elements named are read or written; slices too short for them panic.
func MulPacked(c []float32, ldc int, a []float32, rs, cs, m int, b *Packed, q0, q1, n int, accumulate bool) {
	kk := q1 - q0
	if m < 0 || n < 0 || q0 < 0 || kk < 0 || q1 > b.k || n > b.n || rs < 0 || cs < 0 {
		panic("gemm: MulPacked: dimensions out of range")
	}
	if m == 0 || n == 0 {
		return
	}
	if ldc < n || len(c) < (m-1)*ldc+n {
		panic("gemm: MulPacked: c too short")
	}
	if kk == 0 {
		if !accumulate {
			for i := 0; i < m; i++ {
				clear(c[i*ldc : i*ldc+n])
			}
		}
		return
	}
	if len(a) <= (m-1)*rs+(kk-1)*cs {
		panic("gemm: MulPacked: a too short")
	}
	mode := modeZero
	if accumulate {
		mode = modeAccumulate
	}
	kn := b.kn
	nr := kn.nr
	np := (n + nr - 1) / nr
	if np*min(kk, kcBlock)*nr*4 > chunkBytes {
		tiles(kn, unsafe.Pointer(&a[0]), uintptr(rs*4), uintptr(cs*4), kk, b.buf[q0*nr:], b.k*nr, c, ldc, n, 0, m, mode, nil)
		return
	}
	// All panels in one call per tile of rows. The m rows are cut into
	// the fewest tiles the kernel takes, of sizes that differ by at most
	// one: a short last tile would keep too few sums in flight to hide
	// the latency of its multiply-adds.
	mask := kn.maskOf(n - (np-1)*nr)
	pstride := uintptr(b.k * nr * 4)
	nt := (m + kn.maxMR - 1) / kn.maxMR
	for p0 := 0; p0 < kk; p0 += kcBlock {
		p1 := min(kk, p0+kcBlock)
		md := mode
		if p0 > 0 {
			md = modeAccumulate
		}
		bq := &b.buf[(q0+p0)*nr]
		ap := unsafe.Add(unsafe.Pointer(&a[0]), p0*cs*4)
		for t := 0; t < nt; t++ {
			i0, i1 := m*t/nt, m*(t+1)/nt
			kn.run((*float32)(unsafe.Add(ap, i0*rs*4)), uintptr(rs*4), uintptr(cs*4), p1-p0, bq, pstride,
				&c[i0*ldc], uintptr(ldc*4), np, mask, md, nil, i1-i0)
		}
	}
}
