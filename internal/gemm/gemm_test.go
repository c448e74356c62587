package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
)

// impls lists every implementation the tests must cover; those this CPU cannot
// run are reported as skipped.
var impls = []string{"go", "avx2", "avx512"}

// useImpl makes name the active implementation for the rest of the test.
func useImpl(t testing.TB, name string) {
	t.Helper()
	var k *kernel
	if name != "go" {
		for _, c := range kernels() {
			if c.name == name {
				k = c
			}
		}
		if k == nil {
			t.Skipf("this CPU (or architecture) cannot run the %s path", name)
		}
	}
	prev := active
	active = k
	t.Cleanup(func() { active = prev })
}

func TestImplReportsDetectedPath(t *testing.T) {
	want := "go"
	if ks := kernels(); len(ks) > 0 {
		want = ks[0].name
	}
	if got := Impl(); got != want {
		t.Errorf("Impl() = %q, want %q", got, want)
	}
}

type shape struct{ m, k, n int }

func (s shape) String() string { return fmt.Sprintf("%dx%dx%d", s.m, s.k, s.n) }

// testShapes covers single elements, primes, sizes either side of the tile
// sizes (8 and 6 rows; 32 and 16 columns; 8-wide packing; 256-long
// reduction blocks) and model shapes.
func testShapes() []shape {
	ss := []shape{
		{1, 1, 1}, {1, 1, 2}, {2, 1, 1}, {1, 7, 1}, {3, 5, 7}, {13, 11, 17}, {31, 37, 41},
		{5, 8, 6}, {6, 9, 15}, {7, 16, 16}, {8, 7, 17}, {9, 15, 31}, {12, 17, 32},
		{16, 24, 33}, {17, 31, 47}, {18, 33, 48}, {24, 32, 49}, {25, 64, 63}, {33, 63, 64},
		{47, 65, 65}, {49, 1, 97}, {64, 128, 96}, {97, 40, 129}, {67, 129, 71},
		// Reductions longer than one kcBlock, for each product.
		{9, 300, 5}, {7, 5, 300}, {300, 20, 37},
	}
	if !testing.Short() {
		ss = append(ss, shape{128, 128, 384}, shape{130, 256, 100}, shape{64, 1024, 40})
	}
	return ss
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

// close reports whether got matches want to float32 rounding of a sum whose
// terms have absolute values adding up to scale.
func close(got, want float32, scale float64) bool {
	return math.Abs(float64(got)-float64(want)) <= 1e-5*scale+1e-30
}

func TestForwardMatchesReference(t *testing.T) {
	for _, name := range impls {
		t.Run(name, func(t *testing.T) {
			useImpl(t, name)
			for _, s := range testShapes() {
				for _, withBias := range []bool{true, false} {
					r := rand.New(rand.NewPCG(uint64(s.m*s.k), uint64(s.n)))
					a, w := randSlice(r, s.m*s.k), randSlice(r, s.n*s.k)
					var bias []float32
					if withBias {
						bias = randSlice(r, s.n)
					}
					want := make([]float32, s.m*s.n)
					forwardRef(want, a, w, bias, s.m, s.k, s.n)
					got := make([]float32, s.m*s.n)
					for i := range got {
						got[i] = float32(math.NaN()) // must be overwritten
					}
					Forward(got, a, w, bias, s.m, s.k, s.n)
					for i := 0; i < s.m; i++ {
						for j := 0; j < s.n; j++ {
							scale := 0.0
							if bias != nil {
								scale = math.Abs(float64(bias[j]))
							}
							for p := 0; p < s.k; p++ {
								scale += math.Abs(float64(a[i*s.k+p] * w[j*s.k+p]))
							}
							if g, w := got[i*s.n+j], want[i*s.n+j]; !close(g, w, scale) {
								t.Fatalf("%v bias=%v: out[%d,%d] = %g, reference %g", s, withBias, i, j, g, w)
							}
						}
					}
				}
			}
		})
	}
}

func TestBackwardInputMatchesReference(t *testing.T) {
	for _, name := range impls {
		t.Run(name, func(t *testing.T) {
			useImpl(t, name)
			for _, s := range testShapes() {
				r := rand.New(rand.NewPCG(uint64(s.m*s.n), uint64(s.k)))
				dout, w := randSlice(r, s.m*s.n), randSlice(r, s.n*s.k)
				da0 := randSlice(r, s.m*s.k) // accumulate onto non-zero gradients
				want := append([]float32(nil), da0...)
				backwardInputRef(want, dout, w, s.m, s.k, s.n)
				got := append([]float32(nil), da0...)
				BackwardInput(got, dout, w, s.m, s.k, s.n)
				for i := 0; i < s.m; i++ {
					for p := 0; p < s.k; p++ {
						scale := math.Abs(float64(da0[i*s.k+p]))
						for j := 0; j < s.n; j++ {
							scale += math.Abs(float64(dout[i*s.n+j] * w[j*s.k+p]))
						}
						if g, w := got[i*s.k+p], want[i*s.k+p]; !close(g, w, scale) {
							t.Fatalf("%v: da[%d,%d] = %g, reference %g", s, i, p, g, w)
						}
					}
				}
			}
		})
	}
}

func TestBackwardWeightMatchesReference(t *testing.T) {
	for _, name := range impls {
		t.Run(name, func(t *testing.T) {
			useImpl(t, name)
			for _, s := range testShapes() {
				for _, withBias := range []bool{true, false} {
					r := rand.New(rand.NewPCG(uint64(s.k*s.n), uint64(s.m)))
					dout, a := randSlice(r, s.m*s.n), randSlice(r, s.m*s.k)
					dw0 := randSlice(r, s.n*s.k)
					var db0, wantDb, gotDb []float32
					if withBias {
						db0 = randSlice(r, s.n)
						wantDb = append([]float32(nil), db0...)
						gotDb = append([]float32(nil), db0...)
					}
					wantDw := append([]float32(nil), dw0...)
					backwardWeightRef(wantDw, wantDb, dout, a, s.m, s.k, s.n)
					gotDw := append([]float32(nil), dw0...)
					BackwardWeight(gotDw, gotDb, dout, a, s.m, s.k, s.n)
					for j := 0; j < s.n; j++ {
						for p := 0; p < s.k; p++ {
							scale := math.Abs(float64(dw0[j*s.k+p]))
							for i := 0; i < s.m; i++ {
								scale += math.Abs(float64(dout[i*s.n+j] * a[i*s.k+p]))
							}
							if g, w := gotDw[j*s.k+p], wantDw[j*s.k+p]; !close(g, w, scale) {
								t.Fatalf("%v: dw[%d,%d] = %g, reference %g", s, j, p, g, w)
							}
						}
						if withBias && gotDb[j] != wantDb[j] {
							// Column sums run in the reference's order: exact.
							t.Fatalf("%v: dbias[%d] = %g, reference %g", s, j, gotDb[j], wantDb[j])
						}
					}
				}
			}
		})
	}
}

// TestZeroSizes checks the degenerate dimensions: nothing to sum still sets
// Forward's output to the bias, and empty outputs touch nothing.
func TestZeroSizes(t *testing.T) {
	for _, name := range impls {
		t.Run(name, func(t *testing.T) {
			useImpl(t, name)
			out := []float32{9, 9, 9, 9, 9, 9}
			Forward(out, nil, nil, []float32{1, 2, 3}, 2, 0, 3)
			if want := []float32{1, 2, 3, 1, 2, 3}; !equalBits(out, want) {
				t.Errorf("Forward with k=0 = %v, want %v", out, want)
			}
			Forward(out, nil, nil, nil, 2, 0, 3)
			if want := make([]float32, 6); !equalBits(out, want) {
				t.Errorf("Forward with k=0, nil bias = %v, want zeros", out)
			}
			db := []float32{1, 2}
			BackwardWeight(nil, db, []float32{1, 2, 3, 4}, nil, 2, 0, 2)
			if want := []float32{5, 8}; !equalBits(db, want) {
				t.Errorf("BackwardWeight with k=0: dbias = %v, want %v", db, want)
			}
			BackwardInput(nil, nil, nil, 0, 0, 0)
			BackwardWeight(nil, nil, nil, nil, 0, 3, 0)
		})
	}
}

func TestBadArgumentsPanicNamingThem(t *testing.T) {
	cases := []struct {
		name, want string
		call       func()
	}{
		{"short out", "out has 5 elements, need 6", func() { Forward(make([]float32, 5), make([]float32, 4), make([]float32, 6), nil, 2, 2, 3) }},
		{"short bias", "bias has 2 elements, need 3", func() {
			Forward(make([]float32, 6), make([]float32, 4), make([]float32, 6), make([]float32, 2), 2, 2, 3)
		}},
		{"short w", "w has 5 elements, need 6", func() { BackwardInput(make([]float32, 4), make([]float32, 6), make([]float32, 5), 2, 2, 3) }},
		{"short a", "a has 3 elements, need 4", func() {
			BackwardWeight(make([]float32, 6), nil, make([]float32, 6), make([]float32, 3), 2, 2, 3)
		}},
		{"negative", "negative dimension", func() { Forward(nil, nil, nil, nil, -1, 2, 3) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				msg := fmt.Sprint(recover())
				if !strings.Contains(msg, c.want) {
					t.Errorf("panic %q, want it to mention %q", msg, c.want)
				}
			}()
			c.call()
		})
	}
}

func equalBits(x, y []float32) bool {
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
			return false
		}
	}
	return true
}

// TestDeterminism checks that results are bit-identical whatever the number
// of workers, and that rows and columns computed on their own (so in other
// tile positions, edge tiles and masked panels) equal the same rows and
// columns of a whole computation.
func TestDeterminism(t *testing.T) {
	shapes := []shape{{67, 45, 83}, {1, 33, 5}, {40, 8, 64}, {100, 96, 33}, {280, 9, 35}, {20, 270, 260}}
	for _, name := range impls {
		t.Run(name, func(t *testing.T) {
			useImpl(t, name)
			// Split even these small products between workers.
			grain := parGrain
			parGrain = 1
			t.Cleanup(func() { parGrain = grain })
			for _, s := range shapes {
				m, k, n := s.m, s.k, s.n
				r := rand.New(rand.NewPCG(1, uint64(m+k+n)))
				a, w, bias := randSlice(r, m*k), randSlice(r, n*k), randSlice(r, n)
				dout := randSlice(r, m*n)
				da0, dw0, db0 := randSlice(r, m*k), randSlice(r, n*k), randSlice(r, n)

				out1 := make([]float32, m*n)
				ForwardPar(1, out1, a, w, bias, m, k, n)
				da1 := append([]float32(nil), da0...)
				BackwardInputPar(1, da1, dout, w, m, k, n)
				dw1, db1 := append([]float32(nil), dw0...), append([]float32(nil), db0...)
				BackwardWeightPar(1, dw1, db1, dout, a, m, k, n)

				for _, workers := range []int{0, 2, 3, 7, 64} {
					out := make([]float32, m*n)
					ForwardPar(workers, out, a, w, bias, m, k, n)
					da := append([]float32(nil), da0...)
					BackwardInputPar(workers, da, dout, w, m, k, n)
					dw, db := append([]float32(nil), dw0...), append([]float32(nil), db0...)
					BackwardWeightPar(workers, dw, db, dout, a, m, k, n)
					if !equalBits(out, out1) || !equalBits(da, da1) || !equalBits(dw, dw1) || !equalBits(db, db1) {
						t.Fatalf("%v: %d workers differ from 1 (forward %v, backward input %v, backward weight %v %v)",
							s, workers, equalBits(out, out1), equalBits(da, da1), equalBits(dw, dw1), equalBits(db, db1))
					}
				}

				// Row ranges on their own: Forward and BackwardInput.
				for _, rg := range [][2]int{{0, 1}, {1, 2}, {m / 3, m - 1}, {m - 1, m}, {5 % m, m}} {
					i0, i1 := rg[0], rg[1]
					if i0 >= i1 || i1 > m {
						continue
					}
					out := make([]float32, (i1-i0)*n)
					Forward(out, a[i0*k:i1*k], w, bias, i1-i0, k, n)
					if !equalBits(out, out1[i0*n:i1*n]) {
						t.Fatalf("%v: Forward rows [%d,%d) alone differ", s, i0, i1)
					}
					da := append([]float32(nil), da0[i0*k:i1*k]...)
					BackwardInput(da, dout[i0*n:i1*n], w, i1-i0, k, n)
					if !equalBits(da, da1[i0*k:i1*k]) {
						t.Fatalf("%v: BackwardInput rows [%d,%d) alone differ", s, i0, i1)
					}
				}
				// Output features on their own: Forward columns [j0,j1) from rows
				// [j0,j1) of w.
				for _, rg := range [][2]int{{0, 1}, {n - 1, n}, {n / 4, n - n/4}, {3 % n, n}} {
					j0, j1 := rg[0], rg[1]
					if j0 >= j1 {
						continue
					}
					out := make([]float32, m*(j1-j0))
					Forward(out, a, w[j0*k:j1*k], bias[j0:j1], m, k, j1-j0)
					for i := 0; i < m; i++ {
						if !equalBits(out[i*(j1-j0):(i+1)*(j1-j0)], out1[i*n+j0:i*n+j1]) {
							t.Fatalf("%v: Forward columns [%d,%d) alone differ in row %d", s, j0, j1, i)
						}
					}
				}
				// The sum over rows of BackwardWeight, split across two calls,
				// continues the same chain.
				if name != "go" {
					for _, split := range []int{1, m / 2, m - 1} {
						if split <= 0 || split >= m {
							continue
						}
						dw := append([]float32(nil), dw0...)
						BackwardWeight(dw, nil, dout[:split*n], a[:split*k], split, k, n)
						BackwardWeight(dw, nil, dout[split*n:], a[split*k:], m-split, k, n)
						if !equalBits(dw, dw1) {
							t.Fatalf("%v: BackwardWeight split at row %d differs", s, split)
						}
					}
				}
			}
		})
	}
}

// TestFastPathsAgree checks that the AVX2 and AVX-512 paths give the same
// bits: both run one fused multiply-add chain per element in the same order.
func TestFastPathsAgree(t *testing.T) {
	have := map[string]bool{}
	for _, k := range kernels() {
		have[k.name] = true
	}
	if !have["avx2"] || !have["avx512"] {
		t.Skip("needs both the AVX2 and the AVX-512 paths")
	}
	run := func(name string, s shape, r *rand.Rand) [][]float32 {
		useImpl(t, name)
		m, k, n := s.m, s.k, s.n
		a, w, bias, dout := randSlice(r, m*k), randSlice(r, n*k), randSlice(r, n), randSlice(r, m*n)
		out := make([]float32, m*n)
		Forward(out, a, w, bias, m, k, n)
		da := make([]float32, m*k)
		BackwardInput(da, dout, w, m, k, n)
		dw, db := make([]float32, n*k), make([]float32, n)
		BackwardWeight(dw, db, dout, a, m, k, n)
		return [][]float32{out, da, dw, db}
	}
	for _, s := range testShapes() {
		x := run("avx2", s, rand.New(rand.NewPCG(7, 7)))
		y := run("avx512", s, rand.New(rand.NewPCG(7, 7)))
		for i := range x {
			if !equalBits(x[i], y[i]) {
				t.Fatalf("%v: result %d differs between avx2 and avx512", s, i)
			}
		}
	}
}

// TestSelfCheck fails where a kernel set that the CPU supports does not pass
// the start-up self-check (and so was passed over by Impl).
func TestSelfCheck(t *testing.T) {
	for _, k := range kernels() {
		if !selfCheck(k) {
			t.Errorf("the %s kernels disagree with the AVX2 kernels; Impl() = %q", k.name, Impl())
		}
	}
}

// TestScratchIsReused checks that the packed operands come from reused
// scratch memory: in steady state a call allocates a few small closures at
// most, far less than the tens of kilobytes it packs.
func TestScratchIsReused(t *testing.T) {
	if len(kernels()) == 0 {
		t.Skip("no fast path on this CPU")
	}
	if raceEnabled {
		t.Skip("under the race detector sync.Pool drops items on purpose")
	}
	x := newBenchData(shape{64, 96, 80})
	for _, workers := range []int{1, 2} {
		for _, op := range benchOps {
			op.run(workers, x)
			var before, after runtime.MemStats
			const calls = 20
			runtime.ReadMemStats(&before)
			for range calls {
				op.run(workers, x)
			}
			runtime.ReadMemStats(&after)
			if perCall := (after.TotalAlloc - before.TotalAlloc) / calls; perCall > 2048 {
				t.Errorf("%s with %d workers allocates %d bytes per call", op.name, workers, perCall)
			}
		}
	}
}

func TestCapWorkers(t *testing.T) {
	for _, c := range []struct{ workers, m, k, n, want int }{
		{0, 512, 128, 128, 0},
		{1, 512, 128, 128, 1},
		{2, 512, 128, 128, 2},   // 8M multiply-adds
		{64, 512, 128, 128, 32}, // 256K each
		{2, 64, 32, 64, 1},      // 128K: not worth a goroutine
		{7, 1, 1, 1, 1},
	} {
		if got := capWorkers(c.workers, c.m, c.k, c.n); got != c.want {
			t.Errorf("capWorkers(%d, %dx%dx%d) = %d, want %d", c.workers, c.m, c.k, c.n, got, c.want)
		}
	}
}
