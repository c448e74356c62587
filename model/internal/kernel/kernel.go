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

// parallel runs fn(i) for i in [0,n) on up to workers goroutines, each taking
// a contiguous range of indices.
func parallel(workers, n int, fn func(w, lo, hi int)) {
	if workers <= 1 || n <= 1 {
		fn(0, 0, n)
		return
	}
	workers = min(workers, n)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := w*n/workers, (w+1)*n/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(w, lo, hi)
		}()
	}
	wg.Wait()
}
