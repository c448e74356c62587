package kernel

import (
	"math/rand/v2"
	"runtime"
	"testing"
)

// Kernel benchmarks at the small model's sizes (N = 8·64 rows, C = 128), each
// with the reference and the fast path.
func benchBoth(b *testing.B, name string, fn func()) {
	for _, accel := range []bool{false, true} {
		if accel && !cpuHasFast {
			continue
		}
		label := "ref"
		if accel {
			label = "fast"
		}
		b.Run(name+"/"+label, func(b *testing.B) {
			was := SetAccelerated(accel)
			defer SetAccelerated(was)
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			start := threadCPU()
			for b.Loop() {
				fn()
			}
			if c := threadCPU() - start; c > 0 {
				// The machine is shared: CPU time of this thread is steadier
				// than wall time.
				b.ReportMetric(float64(c)/float64(b.N), "cpu-ns/op")
			}
		})
	}
}

func BenchmarkKernels(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	const n, c, t, nh, v = 512, 128, 64, 4, 256
	x, g, bb := randSlice(r, n*c, 1), randSlice(r, c, 1), randSlice(r, c, 1)
	out, mean, rstd := make([]float32, n*c), make([]float32, n), make([]float32, n)
	dx, dg, db := make([]float32, n*c), make([]float32, c), make([]float32, c)
	benchBoth(b, "LayerNormForward", func() { LayerNormForward(out, mean, rstd, x, g, bb, n, c) })
	benchBoth(b, "LayerNormBackward", func() { LayerNormBackward(dx, dg, db, x, x, g, mean, rstd, n, c) })
	h := randSlice(r, 4*n*c, 1)
	ho := make([]float32, 4*n*c)
	benchBoth(b, "GeluForward", func() { GeluForward(ho, h) })
	benchBoth(b, "GeluBackward", func() { GeluBackward(ho, h, h) })
	qkv, dout := randSlice(r, 3*n*c, 1), randSlice(r, n*c, 1)
	att, dqkv := make([]float32, n/t*nh*t*t), make([]float32, 3*n*c)
	a := NewAttention(n/t, t, c, nh, 1)
	benchBoth(b, "AttentionForward", func() { a.Forward(out, att, qkv, n/t) })
	benchBoth(b, "AttentionBackward", func() { a.Backward(dqkv, dout, att, qkv, n/t) })
	logits, losses := randSlice(r, n*v, 2), make([]float32, n)
	targets := make([]int32, n)
	work := make([]float32, n*v)
	benchBoth(b, "CrossEntropy", func() {
		copy(work, logits)
		CrossEntropyForward(work, losses, targets, n, v)
		CrossEntropyBackward(work, targets, n, v, 1.0/n)
	})
	p, pg := randSlice(r, 834_000, 0.02), randSlice(r, 834_000, 0.01)
	m, vv := make([]float32, len(p)), make([]float32, len(p))
	hp := AdamWParams{LR: 1e-3, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.1, InvBias1: 10, InvBias2: 20, GradScale: 1}
	benchBoth(b, "AdamW", func() { AdamW(p, pg, m, vv, hp) })
}
