package gemm

import "fmt"

// Weight is a weight matrix w [n,k] packed once for the Forward and
// BackwardInput products of many blocks of rows. A batch cut into shards,
// each on its own goroutine, multiplies every shard by the same weights;
// packing them in each call would repeat that work for every shard.
//
// Set it to a matrix, pack it for the products to come (after every change
// of w; PackForward and PackBackward may run at the same time), then call
// its products from any number of goroutines. They give
// the same bits as ForwardPar and BackwardInputPar on the same operands.
// On the plain-Go path nothing is packed and the products are the
// reference ones.
type Weight struct {
	w            []float32
	k, n         int
	fwd, bwd     []float32
	fwdOK, bwdOK bool
	fwdKn, bwdKn *kernel // the kernels each was packed for
}

// Set makes p the matrix w ([n,k], row-major) and forgets any packing.
func (p *Weight) Set(w []float32, k, n int) {
	mustFit("Weight.Set", 0, k, n, []operand{{"w", w, n * k, false}})
	p.w, p.k, p.n = w[:n*k], k, n
	p.fwdOK, p.bwdOK = false, false
}

// PackForward packs wᵀ for Forward on up to workers goroutines.
func (p *Weight) PackForward(workers int) {
	p.fwdKn = active
	if active != nil && p.k > 0 && p.n > 0 {
		p.fwd = grow(p.fwd, packedSize(active, p.k, p.n))
		packForward(active, workers, p.fwd, p.w, p.k, p.n)
	}
	p.fwdOK = true
}

// PackBackward packs w for BackwardInput on up to workers goroutines.
func (p *Weight) PackBackward(workers int) {
	p.bwdKn = active
	if active != nil && p.k > 0 && p.n > 0 {
		p.bwd = grow(p.bwd, packedSize(active, p.n, p.k))
		packBackwardInput(active, workers, p.bwd, p.w, p.k, p.n)
	}
	p.bwdOK = true
}

// WeightFloats is the number of floats a Weight of a [n,k] matrix holds once
// packed for both products on the active path (none on the plain-Go path).
func WeightFloats(k, n int) int {
	if active == nil || k == 0 || n == 0 {
		return 0
	}
	return packedSize(active, k, n) + packedSize(active, n, k)
}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

func mustBePacked(op string, ok bool, kn *kernel) {
	if !ok || kn != active {
		panic(fmt.Sprintf("gemm: Weight.%s before its Pack call", op))
	}
}

// Forward is ForwardPar(workers, out, a, w, bias, m, k, n): out = a·wᵀ + bias.
func (p *Weight) Forward(workers int, out, a, bias []float32, m int) {
	k, n := p.k, p.n
	mustFit("Weight.Forward", m, k, n, []operand{{"out", out, m * n, false}, {"a", a, m * k, false}, {"bias", bias, n, true}})
	mustBePacked("Forward", p.fwdOK, p.fwdKn)
	if m == 0 || n == 0 {
		return
	}
	if active == nil || k == 0 {
		ForwardPar(workers, out, a, p.w, bias, m, k, n)
		return
	}
	forwardPacked(active, capWorkers(workers, m, k, n), out, a, p.fwd, bias, m, k, n)
}

// BackwardInput is BackwardInputPar(workers, da, dout, w, m, k, n) with
// accumulate (da += dout·w); without, it overwrites da = dout·w, which
// gives the bits of clearing da first.
func (p *Weight) BackwardInput(workers int, da, dout []float32, m int, accumulate bool) {
	k, n := p.k, p.n
	mustFit("Weight.BackwardInput", m, k, n, []operand{{"da", da, m * k, false}, {"dout", dout, m * n, false}})
	mustBePacked("BackwardInput", p.bwdOK, p.bwdKn)
	if !accumulate && (active == nil || n == 0) {
		clear(da[:m*k]) // the fast kernels start from zero themselves
		accumulate = true
	}
	if m == 0 || k == 0 || n == 0 {
		return
	}
	if active == nil {
		BackwardInputPar(workers, da, dout, p.w, m, k, n)
		return
	}
	backwardInputPacked(active, capWorkers(workers, m, k, n), da, dout, p.bwd, m, k, n, accumulate)
}
