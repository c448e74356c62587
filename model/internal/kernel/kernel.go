// Package kernel holds the model's hot loops other than matrix products:
// layer normalisation, GELU, causal attention, softmax cross-entropy, the
// residual add and the AdamW update.
//
// Every exported function has a plain-Go reference (ref.go), which is the
// specification, and a fast path built from AVX2+FMA assembly primitives
// (vec_amd64.s), chosen at start-up from the CPU's features. Nothing depends on
// GOEXPERIMENT; on other CPUs and architectures the reference runs.
//
// All kernels are deterministic: for given inputs they produce the same bits
// on every call, and the ones that take a worker count produce the same bits
// for every worker count (work is split only where outputs are disjoint).
package kernel

import "sync"

// LayerNormEps is added to the variance before the reciprocal square root.
const LayerNormEps = 1e-5

// useFast selects the assembly fast paths; set in init on CPUs that have them.
var useFast bool

// Accelerated reports whether the assembly fast paths are in use.
func Accelerated() bool { return useFast }

// SetAccelerated switches the fast paths off (false) or back on (true, only if
// the CPU supports them) and returns the previous setting. For tests and
// benchmarks; not safe to call while kernels run.
func SetAccelerated(on bool) (was bool) {
	was = useFast
	useFast = on && cpuHasFast
	return was
}

// LayerNormForward normalises each of the n rows of x ([n,c]) and writes
// out = (x-mean)·rstd·g + b, keeping mean and rstd ([n]) for the backward pass.
func LayerNormForward(out, mean, rstd, x, g, b []float32, n, c int) {
	if useFast {
		layerNormForwardFast(out, mean, rstd, x, g, b, n, c)
		return
	}
	layerNormForwardRef(out, mean, rstd, x, g, b, n, c)
}

// LayerNormBackward accumulates dx += ∂L/∂x, dg += ∂L/∂g and db += ∂L/∂b
// given dout = ∂L/∂out and the saved forward statistics. Rows are reduced into
// dg and db in order, so the result does not depend on any worker count.
func LayerNormBackward(dx, dg, db, dout, x, g, mean, rstd []float32, n, c int) {
	if useFast {
		layerNormBackwardFast(dx, dg, db, dout, x, g, mean, rstd, n, c)
		return
	}
	layerNormBackwardRef(dx, dg, db, dout, x, g, mean, rstd, n, c)
}

// LayerNormBackwardPar is LayerNormBackward on up to workers goroutines:
// rows are split for dx, columns for dg and db (each still summed over the
// rows in order), so the result is the same bits for every worker count.
// It is LayerNormBackwardInput and LayerNormBackwardParams, which callers
// may also run apart (the parameter half after every row's input half).
func LayerNormBackwardPar(workers int, dx, dg, db, dout, x, g, mean, rstd []float32, n, c int) {
	workers = max(1, workers)
	parallel(workers, workers, func(w, _, _ int) {
		lo, hi := w*n/workers, (w+1)*n/workers
		LayerNormBackwardInput(dx[lo*c:hi*c], dout[lo*c:hi*c], x[lo*c:hi*c], g, mean[lo:hi], rstd[lo:hi], hi-lo, c)
		c0, c1 := w*c/workers, (w+1)*c/workers
		layerNormBackwardCols(dg, db, dout, x, g, mean, rstd, n, c, c0, c1)
	})
}

// LayerNormBackwardInput accumulates dx += ∂L/∂x for n rows of c: the row
// half of LayerNormBackwardPar. Rows are independent, so any split of them
// gives the same bits.
func LayerNormBackwardInput(dx, dout, x, g, mean, rstd []float32, n, c int) {
	g = g[:c]
	for i := 0; i < n; i++ {
		di, xi, dxi := dout[i*c:i*c+c], x[i*c:i*c+c], dx[i*c:i*c+c]
		if useFast {
			sd, sdx := lnSumsAVX2(di, xi, g, mean[i], rstd[i])
			lnGrad2AVX2(dxi, di, xi, g, mean[i], rstd[i], sd/float32(c), sdx/float32(c))
		} else {
			sd, sdx := lnSumsRef(di, xi, g, mean[i], rstd[i])
			lnDxRef(dxi, di, xi, g, mean[i], rstd[i], sd/float32(c), sdx/float32(c))
		}
	}
}

// LayerNormBackwardParams accumulates dg and db (∂L/∂g, ∂L/∂b) over the n
// rows in order: the column half of LayerNormBackwardPar.
func LayerNormBackwardParams(dg, db, dout, x, g, mean, rstd []float32, n, c int) {
	layerNormBackwardCols(dg, db, dout, x, g, mean, rstd, n, c, 0, c)
}

// layerNormBackwardCols is LayerNormBackwardParams for columns [c0,c1).
// Each column is summed over the rows on its own, so the bits do not depend
// on how the columns are cut.
func layerNormBackwardCols(dg, db, dout, x, g, mean, rstd []float32, n, c, c0, c1 int) {
	if c0 >= c1 {
		return
	}
	for i := 0; i < n; i++ {
		di, xi := dout[i*c+c0:i*c+c1], x[i*c+c0:i*c+c1]
		if useFast {
			lnGrad1AVX2(di, xi, g[c0:c1], dg[c0:c1], db[c0:c1], mean[i], rstd[i])
		} else {
			lnDgDbRef(dg[c0:c1], db[c0:c1], di, xi, mean[i], rstd[i])
		}
	}
}

// GeluForward writes out = GELU(x) (tanh approximation). out may alias x.
func GeluForward(out, x []float32) {
	if useFast {
		geluFwdAVX2(out, x)
		return
	}
	geluForwardRef(out, x)
}

// GeluBackward writes dx = dout·GELU'(x). dx may alias dout.
func GeluBackward(dx, x, dout []float32) {
	if useFast {
		geluBwdAVX2(dx, x, dout)
		return
	}
	geluBackwardRef(dx, x, dout)
}

// GeluForwardDeriv writes out = GELU(x), as GeluForward, and deriv =
// GELU'(x), the factor GeluBackward multiplies dout by, so that the backward
// pass is Mul(dx, dout, deriv) with GeluBackward's bits and no second
// evaluation of the exponential. deriv may alias x.
func GeluForwardDeriv(out, deriv, x []float32) {
	if useFast {
		geluFwdDerivAVX2(out, deriv[:len(out)], x[:len(out)])
		return
	}
	geluForwardDerivRef(out, deriv, x)
}

// Mul writes dst = a·b elementwise. dst may alias a or b.
func Mul(dst, a, b []float32) {
	if useFast {
		mulAVX2(dst, a[:len(dst)], b[:len(dst)])
		return
	}
	mulRef(dst, a, b)
}

// Add writes dst = a + b elementwise (the residual connection). dst may alias
// a or b.
func Add(dst, a, b []float32) {
	if useFast {
		addAVX2(dst, a, b)
		return
	}
	addRef(dst, a, b)
}

// CrossEntropyForward turns each row of logits ([n,v]) into probabilities in
// place and writes losses[i] = -log p_i[targets[i]].
func CrossEntropyForward(logits, losses []float32, targets []int32, n, v int) {
	if useFast {
		crossEntropyForwardFast(logits, losses, targets, n, v)
		return
	}
	crossEntropyForwardRef(logits, losses, targets, n, v)
}

// CrossEntropyBackward turns the probabilities left by CrossEntropyForward
// into ∂L/∂logits in place, for L = scale·Σ losses.
func CrossEntropyBackward(probs []float32, targets []int32, n, v int, scale float32) {
	if useFast {
		for i := 0; i < n; i++ {
			row := probs[i*v : i*v+v]
			row[targets[i]] -= 1
			scaleAVX2(scale, row)
		}
		return
	}
	crossEntropyBackwardRef(probs, targets, n, v, scale)
}

// AdamWParams are the scalars of one AdamW update.
type AdamWParams struct {
	LR          float32 // learning rate of this step
	Beta1       float32
	Beta2       float32
	Eps         float32
	WeightDecay float32 // decoupled; 0 for tensors that are not decayed
	InvBias1    float32 // 1/(1-β1^t)
	InvBias2    float32 // 1/(1-β2^t)
	GradScale   float32 // multiplies g first (gradient clipping); 1 for none
}

// AdamW applies one AdamW update to p with gradient g, updating the moments m
// and v in place.
func AdamW(p, g, m, v []float32, h AdamWParams) {
	if useFast {
		adamwAVX2(p, g, m, v, &h)
		return
	}
	adamWRef(p, g, m, v, h)
}

// SumSquares returns Σ x², accumulated in float64 over fixed-size chunks so
// the result is the same on every call.
func SumSquares(x []float32) float64 {
	if !useFast {
		return sumSquaresRef(x)
	}
	const chunk = 1024
	var s float64
	for len(x) > 0 {
		c := min(chunk, len(x))
		s += float64(dotAVX2(x[:c], x[:c]))
		x = x[c:]
	}
	return s
}

// SumSquaresChunk is the chunk length of SumSquaresPar.
const SumSquaresChunk = 1024

// SumSquaresPar returns Σ x² as the in-order float64 sum of the sums of
// consecutive SumSquaresChunk-element chunks, which up to workers goroutines
// compute; the result is the same bits for every worker count. partials is
// scratch of at least ceil(len(x)/SumSquaresChunk) values.
func SumSquaresPar(workers int, partials []float64, x []float32) float64 {
	nc := (len(x) + SumSquaresChunk - 1) / SumSquaresChunk
	partials = partials[:nc]
	parallel(workers, nc, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			c := x[i*SumSquaresChunk : min(len(x), (i+1)*SumSquaresChunk)]
			if useFast {
				partials[i] = float64(dotAVX2(c, c))
			} else {
				partials[i] = sumSquaresRef(c)
			}
		}
	})
	var s float64
	for _, p := range partials {
		s += p
	}
	return s
}

// Parallel runs fn(w, lo, hi) over [0,n) cut into up to workers contiguous
// ranges, the first on the calling goroutine; w numbers the range. For
// elementwise kernels, whose results do not depend on the split.
func Parallel(workers, n int, fn func(w, lo, hi int)) { parallel(workers, n, fn) }

// parallel runs fn(i) for i in [0,n) on up to workers goroutines, each taking
// a contiguous range of indices.
func parallel(workers, n int, fn func(w, lo, hi int)) {
	if workers <= 1 || n <= 1 {
		fn(0, 0, n)
		return
	}
	workers = min(workers, n)
	var wg sync.WaitGroup
	wg.Add(workers - 1)
	for w := 1; w < workers; w++ {
		go func() {
			defer wg.Done()
			fn(w, w*n/workers, (w+1)*n/workers)
		}()
	}
	fn(0, 0, n/workers)
	wg.Wait()
}
