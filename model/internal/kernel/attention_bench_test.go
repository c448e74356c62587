package kernel

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
)

// attnFlops counts the multiply-adds of the causal half (t(t+1)/2 query-key
// pairs) of attention's products, two flops each: two products forward,
// four backward.
func attnFlops(s attnShape, backward bool) float64 {
	hs := s.c / s.nh
	f := 2 * 2 * float64(s.b*s.nh) * float64(hs) * float64(s.t*(s.t+1)/2)
	if backward {
		f *= 2
	}
	return f
}

// BenchmarkAttention times the fast path's Forward and Backward on one
// worker at the small (B=8, T=64, C=128) and medium (B=16, T=128, C=256)
// models' shapes, with 4 heads, next to impl=gemm, the version that gathers
// each head and calls gemm's public functions. GFLOP/s counts the causal
// half of the products (attnFlops) over the thread's CPU time where the OS
// has a per-thread clock.
func BenchmarkAttention(b *testing.B) {
	if !cpuHasFast {
		b.Skip("no AVX2+FMA on this CPU")
	}
	for _, sh := range []struct {
		name string
		s    attnShape
	}{{"small", attnShape{8, 64, 128, 4}}, {"medium", attnShape{16, 128, 256, 4}}} {
		s := sh.s
		r := rand.New(rand.NewPCG(1, 1))
		qkv, dout := randSlice(r, s.b*s.t*3*s.c, 1), randSlice(r, s.b*s.t*s.c, 1)
		out, att, dqkv := make([]float32, s.b*s.t*s.c), make([]float32, s.b*s.nh*s.t*s.t), make([]float32, len(qkv))
		type impl interface {
			Forward(out, att, qkv []float32, b int)
			Backward(dqkv, dout, att, qkv []float32, b int)
		}
		for _, im := range []struct {
			name string
			a    impl
		}{{"gemm", newOldAttention(s.b, s.t, s.c, s.nh, 1)}, {"packed", NewAttention(s.b, s.t, s.c, s.nh, 1)}} {
			for _, dir := range []string{"forward", "backward"} {
				b.Run(fmt.Sprintf("%s/%s/impl=%s", sh.name, dir, im.name), func(b *testing.B) {
					was := SetAccelerated(true)
					defer SetAccelerated(was)
					im.a.Forward(out, att, qkv, s.b)
					runtime.LockOSThread()
					defer runtime.UnlockOSThread()
					start := threadCPU()
					for b.Loop() {
						if dir == "forward" {
							im.a.Forward(out, att, qkv, s.b)
						} else {
							im.a.Backward(dqkv, dout, att, qkv, s.b)
						}
					}
					secs := b.Elapsed().Seconds()
					if c := threadCPU() - start; c > 0 {
						b.ReportMetric(float64(c)/float64(b.N), "cpu-ns/op")
						secs = float64(c) / 1e9
					}
					b.ReportMetric(attnFlops(s, dir == "backward")*float64(b.N)/secs/1e9, "GFLOP/s")
				})
			}
		}
	}
}
