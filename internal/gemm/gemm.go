// Package gemm holds the float32 matrix products of the training hot loop.
//
// All matrices are dense and row-major. The layout follows the linear layers of
// the model: activations A are [M,K], weights W are [N,K] (one row per output
// feature), outputs are [M,N].
//
// Every exported function dispatches to a fast path chosen at start-up from the
// CPU's features, or to the plain-Go reference in ref.go, which the tests use as
// the specification.
package gemm

// Forward computes out = a·wᵀ + bias, overwriting out.
// out is [m,n], a is [m,k], w is [n,k]; bias has n entries or is nil.
func Forward(out, a, w, bias []float32, m, k, n int) {
	forwardRef(out, a, w, bias, m, k, n)
}

// BackwardInput accumulates the gradient with respect to the input:
// da += dout·w, with da [m,k], dout [m,n], w [n,k].
func BackwardInput(da, dout, w []float32, m, k, n int) {
	backwardInputRef(da, dout, w, m, k, n)
}

// BackwardWeight accumulates the gradients with respect to the weights and bias:
// dw += doutᵀ·a and dbias += column sums of dout, with dw [n,k], dout [m,n],
// a [m,k]. dbias may be nil.
func BackwardWeight(dw, dbias, dout, a []float32, m, k, n int) {
	backwardWeightRef(dw, dbias, dout, a, m, k, n)
}
