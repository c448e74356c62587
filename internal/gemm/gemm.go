// Package gemm holds the float32 matrix products of the training hot loop.
//
// All matrices are dense and row-major. The layout follows the linear layers of
// the model: activations A are [M,K], weights W are [N,K] (one row per output
// feature), outputs are [M,N].
//
// Every exported function dispatches to a fast path chosen at start-up from the
// CPU's features (AVX-512 or AVX2+FMA assembly on amd64), or to the plain-Go
// reference in ref.go, which the tests use as the specification. Impl reports
// which one is active.
//
// Results are deterministic: each output element is one sequential chain of
// fused multiply-adds over the reduction index, starting from its previous
// value (or the bias, or zero). Its bits depend only on its inputs, never on
// the number of workers, on where the work is split or on its position in a
// tile. The reference path uses separate multiplies and adds, so it agrees
// with the fast paths to rounding, not to the bit.
//
// Slices shorter than their dimensions say, or negative dimensions, are
// programming errors and panic with a message naming the argument, before any
// memory is touched.
package gemm

import (
	"fmt"
	"sync"
)

// Impl names the active implementation: "avx512", "avx2" or "go".
func Impl() string {
	if active == nil {
		return "go"
	}
	return active.name
}

// active is the kernel set in use; nil selects the plain-Go reference. Tests
// switch it to exercise every path the CPU supports.
var active = detect()

// Forward computes out = a·wᵀ + bias, overwriting out.
// out is [m,n], a is [m,k], w is [n,k]; bias has n entries or is nil.
func Forward(out, a, w, bias []float32, m, k, n int) {
	ForwardPar(1, out, a, w, bias, m, k, n)
}

// BackwardInput accumulates the gradient with respect to the input:
// da += dout·w, with da [m,k], dout [m,n], w [n,k].
func BackwardInput(da, dout, w []float32, m, k, n int) {
	BackwardInputPar(1, da, dout, w, m, k, n)
}

// BackwardWeight accumulates the gradients with respect to the weights and bias:
// dw += doutᵀ·a and dbias += column sums of dout, with dw [n,k], dout [m,n],
// a [m,k]. dbias may be nil.
func BackwardWeight(dw, dbias, dout, a []float32, m, k, n int) {
	BackwardWeightPar(1, dw, dbias, dout, a, m, k, n)
}

// ForwardPar is Forward split over up to workers goroutines by rows of out.
// workers <= 1 runs on the calling goroutine. The result is bit-identical for
// every worker count.
func ForwardPar(workers int, out, a, w, bias []float32, m, k, n int) {
	mustFit("Forward", m, k, n, []operand{{"out", out, m * n, false}, {"a", a, m * k, false}, {"w", w, n * k, false}, {"bias", bias, n, true}})
	if m == 0 || n == 0 {
		return
	}
	if active == nil || k == 0 {
		parallel(workers, m, 1, func(i0, i1 int) {
			forwardRef(out[i0*n:i1*n], a[i0*k:i1*k], w, bias, i1-i0, k, n)
		})
		return
	}
	forwardFast(active, workers, out, a, w, bias, m, k, n)
}

// BackwardInputPar is BackwardInput split over up to workers goroutines by
// rows of da. The result is bit-identical for every worker count.
func BackwardInputPar(workers int, da, dout, w []float32, m, k, n int) {
	mustFit("BackwardInput", m, k, n, []operand{{"da", da, m * k, false}, {"dout", dout, m * n, false}, {"w", w, n * k, false}})
	if m == 0 || k == 0 || n == 0 {
		return
	}
	if active == nil {
		parallel(workers, m, 1, func(i0, i1 int) {
			backwardInputRef(da[i0*k:i1*k], dout[i0*n:i1*n], w, i1-i0, k, n)
		})
		return
	}
	backwardInputFast(active, workers, da, dout, w, m, k, n)
}

// BackwardWeightPar is BackwardWeight split over up to workers goroutines by
// output features (rows of dw, entries of dbias); the sum over the m rows is
// never split. The result is bit-identical for every worker count.
func BackwardWeightPar(workers int, dw, dbias, dout, a []float32, m, k, n int) {
	mustFit("BackwardWeight", m, k, n, []operand{{"dw", dw, n * k, false}, {"dbias", dbias, n, true}, {"dout", dout, m * n, false}, {"a", a, m * k, false}})
	if m == 0 || n == 0 {
		return
	}
	if active == nil || k == 0 {
		parallel(workers, n, 1, func(j0, j1 int) {
			backwardWeightRefCols(dw, dbias, dout, a, m, k, n, j0, j1)
		})
		return
	}
	backwardWeightFast(active, workers, dw, dbias, dout, a, m, k, n)
}

type operand struct {
	name  string
	s     []float32
	need  int
	nilOK bool // nil means "not wanted"
}

// mustFit panics, naming the argument, unless the dimensions are non-negative
// and every operand holds at least the elements they imply.
func mustFit(op string, m, k, n int, ops []operand) {
	if m < 0 || k < 0 || n < 0 {
		panic(fmt.Sprintf("gemm: %s: negative dimension m=%d k=%d n=%d", op, m, k, n))
	}
	for _, o := range ops {
		if o.nilOK && o.s == nil {
			continue
		}
		if len(o.s) < o.need {
			panic(fmt.Sprintf("gemm: %s: %s has %d elements, need %d (m=%d k=%d n=%d)", op, o.name, len(o.s), o.need, m, k, n))
		}
	}
}

// parallel splits [0,total) into up to workers contiguous ranges whose bounds
// are multiples of align (except the end) and runs fn on each, the first on
// the calling goroutine.
func parallel(workers, total, align int, fn func(lo, hi int)) {
	blocks := (total + align - 1) / align
	if workers > blocks {
		workers = blocks
	}
	if workers <= 1 {
		fn(0, total)
		return
	}
	bound := func(w int) int { return min(total, (blocks*w/workers)*align) }
	var wg sync.WaitGroup
	wg.Add(workers - 1)
	for w := 1; w < workers; w++ {
		go func(lo, hi int) {
			defer wg.Done()
			fn(lo, hi)
		}(bound(w), bound(w+1))
	}
	fn(0, bound(1))
	wg.Wait()
}
