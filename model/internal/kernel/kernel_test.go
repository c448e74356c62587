package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func randSlice(r *rand.Rand, n int, scale float64) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64() * scale)
	}
	return s
}

// closeTo reports the first index where got and want differ by more than
// tol·(1+|want|).
func closeTo(got, want []float32, tol float64) (int, bool) {
	for i := range want {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if d > tol*(1+math.Abs(float64(want[i]))) || math.IsNaN(float64(got[i])) {
			return i, false
		}
	}
	return -1, true
}

func checkClose(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: length %d, want %d", what, len(got), len(want))
	}
	if i, ok := closeTo(got, want, tol); !ok {
		t.Fatalf("%s: element %d = %v, want %v (tol %g)", what, i, got[i], want[i], tol)
	}
}

// both runs f once with the reference kernels and once with the fast path.
func both(t *testing.T, f func()) {
	t.Helper()
	if !cpuHasFast {
		t.Skip("no AVX2+FMA on this CPU: only the reference runs")
	}
	was := SetAccelerated(false)
	f()
	SetAccelerated(true)
	f()
	SetAccelerated(was)
}

func withAccel(on bool, f func()) {
	was := SetAccelerated(on)
	defer SetAccelerated(was)
	f()
}

func requireFast(t *testing.T) {
	if !cpuHasFast {
		t.Skip("no AVX2+FMA on this CPU")
	}
}

func TestPrimitives(t *testing.T) {
	requireFast(t)
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n <= 75; n++ {
		x := randSlice(r, n+3, 1)[:n] // capacity beyond len: masked tails must not write there
		y := randSlice(r, n, 1)
		var s, d float64
		for i := range x {
			s += float64(x[i])
			d += float64(x[i]) * float64(y[i])
		}
		if got := sumAVX2(x); math.Abs(float64(got)-s) > 1e-5*(1+math.Abs(s)) {
			t.Errorf("sum n=%d: %v want %v", n, got, s)
		}
		if got := dotAVX2(x, y); math.Abs(float64(got)-d) > 1e-5*(1+math.Abs(d)) {
			t.Errorf("dot n=%d: %v want %v", n, got, d)
		}
		if n > 0 {
			m := x[0]
			for _, v := range x {
				m = max(m, v)
			}
			if got := maxAVX2(x); got != m {
				t.Errorf("max n=%d: %v want %v", n, got, m)
			}
			// Also with the maximum in the tail and negative values only.
			neg := make([]float32, n)
			for i := range neg {
				neg[i] = -1 - float32(i)
			}
			neg[n-1] = -0.5
			if got := maxAVX2(neg); got != -0.5 {
				t.Errorf("max negative n=%d: %v", n, got)
			}
		}
		guard := x[:n+3]
		g0, g1, g2 := guard[n], guard[n+1], guard[n+2]
		z := append([]float32(nil), x...)
		scaleAVX2(1.5, x)
		for i := range x {
			if x[i] != z[i]*1.5 {
				t.Fatalf("scale n=%d i=%d", n, i)
			}
		}
		sum := expSubAVX2(x, 0.25)
		var es float64
		for i := range x {
			want := math.Exp(float64(z[i])*1.5 - 0.25)
			es += float64(x[i])
			if math.Abs(float64(x[i])-want) > 2e-6*want {
				t.Fatalf("exp n=%d i=%d: %v want %v", n, i, x[i], want)
			}
		}
		if math.Abs(float64(sum)-es) > 1e-5*(1+es) {
			t.Errorf("expSub sum n=%d: %v want %v", n, sum, es)
		}
		if guard[n] != g0 || guard[n+1] != g1 || guard[n+2] != g2 {
			t.Fatalf("n=%d: wrote past the end of the slice", n)
		}
		dst := make([]float32, n)
		addAVX2(dst, z, y)
		for i := range dst {
			if dst[i] != z[i]+y[i] {
				t.Fatalf("add n=%d i=%d", n, i)
			}
		}
	}
}

func TestExpRange(t *testing.T) {
	requireFast(t)
	// exp over the whole useful range, relative error of a few ulp.
	var xs []float32
	for v := -86.0; v <= 87.5; v += 0.173 {
		xs = append(xs, float32(v))
	}
	got := append([]float32(nil), xs...)
	expSubAVX2(got, 0)
	for i, v := range xs {
		want := math.Exp(float64(v))
		if rel := math.Abs(float64(got[i])-want) / want; rel > 3e-7 {
			t.Fatalf("exp(%v) = %v, want %v (rel %g)", v, got[i], want, rel)
		}
	}
	// Out of range inputs clamp instead of producing Inf or NaN.
	ext := []float32{-1e30, -200, 200, 1e30}
	expSubAVX2(ext, 0)
	for i, v := range ext {
		if math.IsInf(float64(v), 0) || math.IsNaN(float64(v)) || v < 0 {
			t.Fatalf("exp of extreme input %d = %v", i, v)
		}
	}
}

var shapes = []struct{ n, c int }{{1, 1}, {3, 7}, {5, 13}, {4, 32}, {2, 33}, {7, 128}, {3, 257}}

func TestLayerNormFastMatchesRef(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, s := range shapes {
		x := randSlice(r, s.n*s.c, 2)
		for i := range x {
			x[i] += 0.5
		}
		g, b, dout := randSlice(r, s.c, 1), randSlice(r, s.c, 1), randSlice(r, s.n*s.c, 1)
		var outs [2][]float32
		var grads [2][3][]float32
		k := 0
		both(t, func() {
			out, mean, rstd := make([]float32, s.n*s.c), make([]float32, s.n), make([]float32, s.n)
			LayerNormForward(out, mean, rstd, x, g, b, s.n, s.c)
			dx, dg, db := randSlice(rand.New(rand.NewPCG(9, 9)), s.n*s.c, 1), make([]float32, s.c), make([]float32, s.c)
			LayerNormBackward(dx, dg, db, dout, x, g, mean, rstd, s.n, s.c)
			outs[k], grads[k] = out, [3][]float32{dx, dg, db}
			k++
		})
		name := fmt.Sprintf("n=%d c=%d", s.n, s.c)
		checkClose(t, name+" out", outs[1], outs[0], 1e-5)
		for j, w := range []string{"dx", "dg", "db"} {
			checkClose(t, name+" "+w, grads[1][j], grads[0][j], 1e-4)
		}
	}
}

func TestLayerNormBackwardPar(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	for _, s := range shapes {
		for _, accel := range []bool{false, true} {
			if accel && !cpuHasFast {
				continue
			}
			withAccel(accel, func() {
				x, g, b, dout := randSlice(r, s.n*s.c, 1), randSlice(r, s.c, 1), randSlice(r, s.c, 1), randSlice(r, s.n*s.c, 1)
				out, mean, rstd := make([]float32, s.n*s.c), make([]float32, s.n), make([]float32, s.n)
				LayerNormForward(out, mean, rstd, x, g, b, s.n, s.c)
				init := randSlice(r, s.n*s.c+2*s.c, 1) // the outputs accumulate
				run := func(workers int) []float32 {
					o := append([]float32(nil), init...)
					dx, dg, db := o[:s.n*s.c], o[s.n*s.c:s.n*s.c+s.c], o[s.n*s.c+s.c:]
					if workers == 0 {
						LayerNormBackward(dx, dg, db, dout, x, g, mean, rstd, s.n, s.c)
					} else {
						LayerNormBackwardPar(workers, dx, dg, db, dout, x, g, mean, rstd, s.n, s.c)
					}
					return o
				}
				serial, one := run(0), run(1)
				checkClose(t, fmt.Sprintf("par vs serial %v fast=%v", s, accel), one, serial, 1e-5)
				for _, w := range []int{2, 3, 8} {
					if i := firstDiff(run(w), one); i >= 0 {
						t.Fatalf("%v fast=%v workers=%d: element %d differs from workers=1", s, accel, w, i)
					}
				}
			})
		}
	}
}

func firstDiff(a, b []float32) int {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i
		}
	}
	return -1
}

func TestGeluFastMatchesRef(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 7, 8, 9, 100, 1027} {
		x := randSlice(r, n, 3)
		x[0] = -12 // saturated tails
		if n > 1 {
			x[1] = 12
		}
		dout := randSlice(r, n, 1)
		var res [2][2][]float32
		k := 0
		both(t, func() {
			out, dx := make([]float32, n), make([]float32, n)
			GeluForward(out, x)
			GeluBackward(dx, x, dout)
			res[k] = [2][]float32{out, dx}
			k++
		})
		checkClose(t, fmt.Sprintf("gelu n=%d", n), res[1][0], res[0][0], 2e-6)
		checkClose(t, fmt.Sprintf("gelu' n=%d", n), res[1][1], res[0][1], 2e-6)
	}
	// In place: dx aliases dout.
	x := randSlice(r, 19, 1)
	d := randSlice(r, 19, 1)
	want := make([]float32, 19)
	withAccel(false, func() { GeluBackward(want, x, d) })
	GeluBackward(d, x, d)
	checkClose(t, "gelu' in place", d, want, 2e-6)
}

// TestGeluForwardDerivBits: on each path, GeluForwardDeriv's output is
// GeluForward's and Mul by its derivative is GeluBackward, bit for bit, also
// with the derivative written over x.
func TestGeluForwardDerivBits(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{1, 7, 8, 9, 100, 1027} {
		x := randSlice(r, n, 3)
		x[0] = -12
		if n > 1 {
			x[1] = 12
		}
		dout := randSlice(r, n, 1)
		for _, accel := range []bool{false, true} {
			if accel && !cpuHasFast {
				continue
			}
			withAccel(accel, func() {
				out, dx := make([]float32, n), make([]float32, n)
				GeluForward(out, x)
				GeluBackward(dx, x, dout)
				got, deriv := make([]float32, n), append([]float32(nil), x...)
				GeluForwardDeriv(got, deriv, deriv) // in place over a copy of x
				if i := firstDiff(got, out); i >= 0 {
					t.Fatalf("n=%d fast=%v: GELU element %d is %v, GeluForward gives %v", n, accel, i, got[i], out[i])
				}
				Mul(deriv, dout, deriv)
				if i := firstDiff(deriv, dx); i >= 0 {
					t.Fatalf("n=%d fast=%v: dout·GELU' element %d is %v, GeluBackward gives %v", n, accel, i, deriv[i], dx[i])
				}
			})
		}
	}
}

func TestCrossEntropyFastMatchesRef(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, s := range shapes {
		logits := randSlice(r, s.n*s.c, 3)
		targets := make([]int32, s.n)
		for i := range targets {
			targets[i] = int32(r.IntN(s.c))
		}
		var res [2][2][]float32
		k := 0
		both(t, func() {
			p := append([]float32(nil), logits...)
			losses := make([]float32, s.n)
			CrossEntropyForward(p, losses, targets, s.n, s.c)
			probs := append([]float32(nil), p...)
			CrossEntropyBackward(p, targets, s.n, s.c, 0.3)
			res[k] = [2][]float32{losses, append(probs, p...)}
			k++
		})
		checkClose(t, fmt.Sprintf("ce losses %v", s), res[1][0], res[0][0], 2e-6)
		checkClose(t, fmt.Sprintf("ce probs,grads %v", s), res[1][1], res[0][1], 2e-6)
	}
}

func TestAdamWFastMatchesRef(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	h := AdamWParams{LR: 1e-2, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.1,
		InvBias1: 1 / (1 - 0.9*0.9), InvBias2: 1 / (1 - 0.95*0.95), GradScale: 0.7}
	for _, n := range []int{1, 7, 8, 15, 64, 1001} {
		p0, g := randSlice(r, n, 1), randSlice(r, n, 1)
		m0, v0 := randSlice(r, n, 0.1), randSlice(r, n, 0.1)
		for i := range v0 {
			v0[i] *= v0[i]
		}
		var res [2][3][]float32
		k := 0
		both(t, func() {
			p := append([]float32(nil), p0...)
			m := append([]float32(nil), m0...)
			v := append([]float32(nil), v0...)
			AdamW(p, g, m, v, h)
			res[k] = [3][]float32{p, m, v}
			k++
		})
		for j, w := range []string{"p", "m", "v"} {
			checkClose(t, fmt.Sprintf("adamw %s n=%d", w, n), res[1][j], res[0][j], 1e-6)
		}
	}
}

func TestAdamWFirstStepClosedForm(t *testing.T) {
	// From zero moments the bias-corrected first step is lr·(g/(|g|+eps) + wd·p).
	for _, accel := range []bool{false, true} {
		withAccel(accel, func() {
			p := []float32{1, -2, 0.5, 3, 0, 1, 1, 1, 4}
			g := []float32{0.3, -0.1, 2, -5, 1e-3, 0, 7, -7, 1}
			h := AdamWParams{LR: 0.01, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.1,
				InvBias1: 1 / (1 - 0.9), InvBias2: 1 / (1 - 0.95), GradScale: 1}
			m, v := make([]float32, len(p)), make([]float32, len(p))
			want := make([]float64, len(p))
			for i := range p {
				gi := float64(g[i])
				want[i] = float64(p[i]) - 0.01*(gi/(math.Abs(gi)+1e-8)+0.1*float64(p[i]))
			}
			AdamW(p, g, m, v, h)
			for i := range p {
				if math.Abs(float64(p[i])-want[i]) > 1e-6 {
					t.Fatalf("accel=%v p[%d] = %v, want %v", accel, i, p[i], want[i])
				}
			}
		})
	}
}

func TestSumSquares(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	x := randSlice(r, 5003, 1)
	var want float64
	for _, v := range x {
		want += float64(v) * float64(v)
	}
	for _, accel := range []bool{false, true} {
		withAccel(accel, func() {
			if got := SumSquares(x); math.Abs(got-want) > 1e-5*want {
				t.Errorf("accel=%v: %v want %v", accel, got, want)
			}
		})
	}
}

func TestSumSquaresPar(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	for _, n := range []int{1, 1023, 1024, 1025, 50_001} {
		x := randSlice(r, n, 1)
		var want float64
		for _, v := range x {
			want += float64(v) * float64(v)
		}
		for _, accel := range []bool{false, true} {
			if accel && !cpuHasFast {
				continue
			}
			withAccel(accel, func() {
				partials := make([]float64, (n+SumSquaresChunk-1)/SumSquaresChunk)
				one := SumSquaresPar(1, partials, x)
				if math.Abs(one-want) > 1e-5*want {
					t.Fatalf("n=%d fast=%v: %v, want %v", n, accel, one, want)
				}
				for _, w := range []int{2, 3, 16} {
					if got := SumSquaresPar(w, partials, x); got != one {
						t.Fatalf("n=%d fast=%v workers=%d: %v, workers=1 gave %v", n, accel, w, got, one)
					}
				}
			})
		}
	}
}

type attnShape struct{ b, t, c, nh int }

var attnShapes = []attnShape{{1, 1, 4, 1}, {2, 5, 6, 2}, {3, 9, 12, 3}, {2, 17, 40, 4}, {1, 64, 128, 4}, {2, 70, 24, 3}}

func TestAttentionFastMatchesRef(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, s := range attnShapes {
		qkv := randSlice(r, s.b*s.t*3*s.c, 1)
		dout := randSlice(r, s.b*s.t*s.c, 1)
		var res [2][3][]float32
		k := 0
		both(t, func() {
			a := NewAttention(s.b, s.t, s.c, s.nh, 2)
			out := make([]float32, s.b*s.t*s.c)
			att := make([]float32, s.b*s.nh*s.t*s.t)
			a.Forward(out, att, qkv, s.b)
			dqkv := randSlice(r, len(qkv), 1) // overwritten
			a.Backward(dqkv, dout, att, qkv, s.b)
			res[k] = [3][]float32{out, att, dqkv}
			k++
		})
		for j, w := range []string{"out", "att", "dqkv"} {
			checkClose(t, fmt.Sprintf("attention %s %+v", w, s), res[1][j], res[0][j], 2e-5)
		}
	}
}

func TestAttentionWorkersBitIdentical(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	s := attnShape{3, 16, 32, 4}
	qkv := randSlice(r, s.b*s.t*3*s.c, 1)
	dout := randSlice(r, s.b*s.t*s.c, 1)
	run := func(workers int) ([]float32, []float32) {
		a := NewAttention(s.b, s.t, s.c, s.nh, workers)
		out := make([]float32, s.b*s.t*s.c)
		att := make([]float32, s.b*s.nh*s.t*s.t)
		a.Forward(out, att, qkv, s.b)
		dqkv := make([]float32, len(qkv))
		a.Backward(dqkv, dout, att, qkv, s.b)
		return out, dqkv
	}
	o1, d1 := run(1)
	for _, w := range []int{2, 3, 5} {
		o, d := run(w)
		for i := range o1 {
			if o[i] != o1[i] {
				t.Fatalf("workers=%d: out[%d] differs", w, i)
			}
		}
		for i := range d1 {
			if d[i] != d1[i] {
				t.Fatalf("workers=%d: dqkv[%d] differs", w, i)
			}
		}
	}
}
