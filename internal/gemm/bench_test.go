package gemm

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"
)

// benchShapes are the model's matrix products (M = batch*seq rows): the
// small GPT (C=128, 512 tokens) whole and in the 256-row shards a training
// step runs, the medium one (C=256, 2048 tokens) and the larger shapes of
// the performance notes.
var benchShapes = []shape{
	{512, 128, 384}, {512, 128, 128}, {512, 128, 512}, {512, 512, 128}, {512, 128, 256},
	{256, 128, 384}, {256, 128, 512}, {256, 512, 128},
	{2048, 256, 768}, {2048, 256, 256}, {2048, 256, 1024}, {2048, 1024, 256},
	{4096, 256, 768}, {4096, 256, 256},
}

type benchOp struct {
	name string
	run  func(workers int, x *benchData)
}

type benchData struct {
	m, k, n                   int
	a, w, bias, out, dout, da []float32
	dw, dbias                 []float32
}

func newBenchData(s shape) *benchData {
	r := rand.New(rand.NewPCG(1, 2))
	m, k, n := s.m, s.k, s.n
	return &benchData{
		m: m, k: k, n: n,
		a: randSlice(r, m*k), w: randSlice(r, n*k), bias: randSlice(r, n),
		out: make([]float32, m*n), dout: randSlice(r, m*n), da: make([]float32, m*k),
		dw: make([]float32, n*k), dbias: make([]float32, n),
	}
}

var benchOps = []benchOp{
	{"forward", func(wk int, x *benchData) { ForwardPar(wk, x.out, x.a, x.w, x.bias, x.m, x.k, x.n) }},
	{"backward_input", func(wk int, x *benchData) { BackwardInputPar(wk, x.da, x.dout, x.w, x.m, x.k, x.n) }},
	{"backward_weight", func(wk int, x *benchData) { BackwardWeightPar(wk, x.dw, x.dbias, x.dout, x.a, x.m, x.k, x.n) }},
}

// runBench times op and reports GFLOP/s. On one worker, where the OS has a
// per-thread CPU clock, it also reports cpu-GFLOP/s, the rate over the CPU
// time the thread really got, which other processes on a shared machine
// hardly disturb. Where the CPU has a fast path it runs a burst of peak FMA
// work after every call, outside the measurement and on as many goroutines
// as the kernel's workers, and reports of-peak, the kernel's rate as a
// fraction of the peak's measured on the same clock.
func runBench(b *testing.B, op benchOp, s shape, workers int) {
	x := newBenchData(s)
	op.run(workers, x) // warm the scratch pool and caches
	flopsPerOp := 2 * float64(s.m) * float64(s.k) * float64(s.n)
	peak, peakFlopsPerIter := peakFunc()
	peakIters := int(flopsPerOp/peakFlopsPerIter) + 1
	start := time.Now()
	now, cpuClock := func() time.Duration { return time.Since(start) }, false
	if clock, ok := threadCPUClock(); ok && workers <= 1 {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		now, cpuClock = clock, true
	}
	var opTime, peakTime time.Duration
	b.ResetTimer()
	for b.Loop() {
		t0 := now()
		op.run(workers, x)
		t1 := now()
		opTime += t1 - t0
		if peak != nil {
			b.StopTimer()
			parallel(workers, workers, 1, func(int, int) { peak(peakIters) })
			peakTime += now() - t1
			b.StartTimer()
		}
	}
	flops := flopsPerOp * float64(b.N)
	b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	if cpuClock {
		b.ReportMetric(flops/opTime.Seconds()/1e9, "cpu-GFLOP/s")
	}
	if peak != nil {
		peakFlops := float64(max(1, workers)*peakIters) * peakFlopsPerIter * float64(b.N)
		b.ReportMetric((flops/opTime.Seconds())/(peakFlops/peakTime.Seconds()), "of-peak")
	}
}

// BenchmarkMatmul reports GFLOP/s of the active path (see Impl) for each
// operation and model shape, on one goroutine and on two (/par2), and of the
// plain-Go reference (/ref) on one small shape for comparison.
func BenchmarkMatmul(b *testing.B) {
	b.Logf("implementation: %s", Impl())
	for _, op := range benchOps {
		b.Run(op.name, func(b *testing.B) {
			for _, s := range benchShapes {
				b.Run(s.String(), func(b *testing.B) { runBench(b, op, s, 1) })
				b.Run(s.String()+"/par2", func(b *testing.B) { runBench(b, op, s, 2) })
			}
			s := shape{512, 128, 128}
			b.Run(s.String()+"/ref", func(b *testing.B) {
				useImpl(b, "go")
				runBench(b, op, s, 1)
			})
		})
	}
}

func ExampleForward() {
	// Two inputs of three features, a layer of two outputs.
	a := []float32{1, 2, 3, 4, 5, 6}
	w := []float32{1, 0, 0, 0, 1, 1}
	bias := []float32{10, 20}
	out := make([]float32, 4)
	Forward(out, a, w, bias, 2, 3, 2)
	fmt.Println(out)
	// Output: [11 25 14 31]
}

func ExampleBackwardInput() {
	// da += dout·w for one input of three features and a layer of two outputs.
	w := []float32{1, 0, 0, 0, 1, 1}
	dout := []float32{2, 3}
	da := []float32{1, 1, 1} // gradients accumulate
	BackwardInput(da, dout, w, 1, 3, 2)
	fmt.Println(da)
	// Output: [3 4 4]
}

func ExampleBackwardWeight() {
	// dw += doutᵀ·a and dbias += column sums of dout, over two inputs.
	a := []float32{1, 2, 3, 4, 5, 6}
	dout := []float32{1, 0, 1, 2}
	dw := make([]float32, 6)
	dbias := make([]float32, 2)
	BackwardWeight(dw, dbias, dout, a, 2, 3, 2)
	fmt.Println(dw, dbias)
	// Output: [5 7 9 8 10 12] [2 2]
}

func ExampleForwardPar() {
	// The same product on two goroutines: bit-identical to Forward.
	const m, k, n = 64, 48, 40
	a, w := make([]float32, m*k), make([]float32, n*k)
	for i := range a {
		a[i] = float32(i%7) - 3
	}
	for i := range w {
		w[i] = float32(i%5) / 4
	}
	one, two := make([]float32, m*n), make([]float32, m*n)
	Forward(one, a, w, nil, m, k, n)
	ForwardPar(2, two, a, w, nil, m, k, n)
	fmt.Println(slices.Equal(one, two))
	// Output: true
}
