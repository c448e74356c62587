//go:build !amd64 || purego

package gemm

// kernel is a fast-path kernel set; no architecture but amd64 has one.
type kernel struct{ name string }

func kernels() []*kernel { return nil }

func selfCheck(*kernel) bool { return false }

func detect() *kernel { return nil }

func forwardFast(kn *kernel, workers int, out, a, w, bias []float32, m, k, n int) {
	panic("gemm: no fast path on this architecture")
}

func backwardInputFast(kn *kernel, workers int, da, dout, w []float32, m, k, n int) {
	panic("gemm: no fast path on this architecture")
}

func backwardWeightFast(kn *kernel, workers int, dw, dbias, dout, a []float32, m, k, n int, overwrite bool) {
	panic("gemm: no fast path on this architecture")
}

func packedSize(kn *kernel, k, n int) int { panic("gemm: no fast path on this architecture") }

func packForward(kn *kernel, workers int, dst, w []float32, k, n int) {
	panic("gemm: no fast path on this architecture")
}

func forwardPacked(kn *kernel, workers int, out, a, bp, bias []float32, m, k, n int) {
	panic("gemm: no fast path on this architecture")
}

func packBackwardInput(kn *kernel, workers int, dst, w []float32, k, n int) {
	panic("gemm: no fast path on this architecture")
}

func backwardInputPacked(kn *kernel, workers int, da, dout, bp []float32, m, k, n int, accumulate bool) {
	panic("gemm: no fast path on this architecture")
}
