//go:build amd64 && !purego

package gemm

import "testing"

// BenchmarkPeak measures one core's FMA throughput with 12 independent
// chains, the ceiling against which BenchmarkMatmul's figures are read.
func BenchmarkPeak(b *testing.B) {
	for _, isa := range []struct {
		name  string
		lanes int
		run   func(int)
	}{{"avx2", 8, fmaPeakAVX2}, {"avx512", 16, fmaPeakAVX512}} {
		b.Run(isa.name, func(b *testing.B) {
			useImpl(b, isa.name)
			const iters = 1 << 20
			for b.Loop() {
				isa.run(iters)
			}
			flops := float64(b.N) * iters * 12 * float64(isa.lanes) * 2
			b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// peakFunc returns the peak FMA loop for the vector width of the best fast
// path and the floating-point operations of one of its iterations, or nil.
func peakFunc() (func(int), float64) {
	ks := kernels()
	switch {
	case len(ks) == 0:
		return nil, 0
	case ks[0].name == "avx512":
		return fmaPeakAVX512, 12 * 16 * 2
	default:
		return fmaPeakAVX2, 12 * 8 * 2
	}
}
