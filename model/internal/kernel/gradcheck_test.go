package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// Finite-difference checks: each op is written again in float64 below, and
// the kernels' hand-written backward passes (reference and fast) must match
// central differences of L = Σ w·out for random weights w.

func to64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

func weighted(w []float32, out []float64) float64 {
	var s float64
	for i := range out {
		s += float64(w[i]) * out[i]
	}
	return s
}

// checkGrad compares analytic gradient got[i] for sampled i of input x with
// central differences of loss.
func checkGrad(t *testing.T, what string, x []float64, got []float32, loss func() float64) {
	t.Helper()
	r := rand.New(rand.NewPCG(uint64(len(x)), 77))
	for trial := 0; trial < min(len(x), 12); trial++ {
		i := r.IntN(len(x))
		if trial < len(x) && len(x) <= 12 {
			i = trial
		}
		const h = 1e-5
		orig := x[i]
		x[i] = orig + h
		lp := loss()
		x[i] = orig - h
		lm := loss()
		x[i] = orig
		fd := (lp - lm) / (2 * h)
		if d := math.Abs(float64(got[i]) - fd); d > 2e-3*math.Max(1, math.Abs(fd)) {
			t.Fatalf("%s: d/dx[%d] = %v, finite difference %v", what, i, got[i], fd)
		}
	}
}

func layerNorm64(x, g, b []float64, n, c int) []float64 {
	out := make([]float64, n*c)
	for i := 0; i < n; i++ {
		xi := x[i*c : i*c+c]
		var mu, v float64
		for _, e := range xi {
			mu += e
		}
		mu /= float64(c)
		for _, e := range xi {
			v += (e - mu) * (e - mu)
		}
		rs := 1 / math.Sqrt(v/float64(c)+LayerNormEps)
		for j, e := range xi {
			out[i*c+j] = (e-mu)*rs*g[j] + b[j]
		}
	}
	return out
}

func gelu64(x []float64) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = 0.5 * v * (1 + math.Tanh(geluScale*(v+0.044715*v*v*v)))
	}
	return out
}

func attention64(qkv []float64, b, t, c, nh int) []float64 {
	hs := c / nh
	out := make([]float64, b*t*c)
	at := func(bi, ti, part, h, i int) float64 { return qkv[(bi*t+ti)*3*c+part*c+h*hs+i] }
	for bi := 0; bi < b; bi++ {
		for h := 0; h < nh; h++ {
			for ti := 0; ti < t; ti++ {
				s := make([]float64, ti+1)
				m := math.Inf(-1)
				for t2 := range s {
					for i := 0; i < hs; i++ {
						s[t2] += at(bi, ti, 0, h, i) * at(bi, t2, 1, h, i)
					}
					s[t2] /= math.Sqrt(float64(hs))
					m = math.Max(m, s[t2])
				}
				var z float64
				for t2 := range s {
					s[t2] = math.Exp(s[t2] - m)
					z += s[t2]
				}
				for i := 0; i < hs; i++ {
					var o float64
					for t2 := range s {
						o += s[t2] / z * at(bi, t2, 2, h, i)
					}
					out[(bi*t+ti)*c+h*hs+i] = o
				}
			}
		}
	}
	return out
}

func crossEntropy64(logits []float64, targets []int32, n, v int, scale float64) float64 {
	var l float64
	for i := 0; i < n; i++ {
		row := logits[i*v : i*v+v]
		m := math.Inf(-1)
		for _, e := range row {
			m = math.Max(m, e)
		}
		var z float64
		for _, e := range row {
			z += math.Exp(e - m)
		}
		l += m + math.Log(z) - row[targets[i]]
	}
	return scale * l
}

func forBoth(t *testing.T, f func(t *testing.T)) {
	for _, accel := range []bool{false, true} {
		if accel && !cpuHasFast {
			continue
		}
		t.Run(fmt.Sprintf("fast=%v", accel), func(t *testing.T) { withAccel(accel, func() { f(t) }) })
	}
}

func TestLayerNormGradient(t *testing.T) {
	forBoth(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(21, 22))
		n, c := 3, 11
		x, g, b := randSlice(r, n*c, 1), randSlice(r, c, 1), randSlice(r, c, 1)
		w := randSlice(r, n*c, 1)
		out, mean, rstd := make([]float32, n*c), make([]float32, n), make([]float32, n)
		LayerNormForward(out, mean, rstd, x, g, b, n, c)
		dx, dg, db := make([]float32, n*c), make([]float32, c), make([]float32, c)
		LayerNormBackward(dx, dg, db, w, x, g, mean, rstd, n, c)
		x64, g64, b64 := to64(x), to64(g), to64(b)
		loss := func() float64 { return weighted(w, layerNorm64(x64, g64, b64, n, c)) }
		checkGrad(t, "dx", x64, dx, loss)
		checkGrad(t, "dg", g64, dg, loss)
		checkGrad(t, "db", b64, db, loss)
	})
}

func TestGeluGradient(t *testing.T) {
	forBoth(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(23, 24))
		x, w := randSlice(r, 37, 2), randSlice(r, 37, 1)
		dx := make([]float32, len(x))
		GeluBackward(dx, x, w)
		x64 := to64(x)
		checkGrad(t, "dx", x64, dx, func() float64 { return weighted(w, gelu64(x64)) })
	})
}

func TestAttentionGradient(t *testing.T) {
	forBoth(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(25, 26))
		b, tt, c, nh := 2, 5, 6, 2
		qkv, w := randSlice(r, b*tt*3*c, 1), randSlice(r, b*tt*c, 1)
		a := NewAttention(b, tt, c, nh, 1)
		out, att := make([]float32, b*tt*c), make([]float32, b*nh*tt*tt)
		a.Forward(out, att, qkv, b)
		dqkv := make([]float32, len(qkv))
		a.Backward(dqkv, w, att, qkv, b)
		q64 := to64(qkv)
		checkClose(t, "forward vs float64", out, toF32(attention64(q64, b, tt, c, nh)), 1e-5)
		loss := func() float64 { return weighted(w, attention64(q64, b, tt, c, nh)) }
		// Sample every part: queries, keys and values of both batch rows.
		r2 := rand.New(rand.NewPCG(1, 1))
		for trial := 0; trial < 40; trial++ {
			i := r2.IntN(len(q64))
			const h = 1e-5
			orig := q64[i]
			q64[i] = orig + h
			lp := loss()
			q64[i] = orig - h
			lm := loss()
			q64[i] = orig
			fd := (lp - lm) / (2 * h)
			if math.Abs(float64(dqkv[i])-fd) > 2e-3*math.Max(1, math.Abs(fd)) {
				t.Fatalf("dqkv[%d] = %v, finite difference %v", i, dqkv[i], fd)
			}
		}
	})
}

func toF32(x []float64) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(v)
	}
	return y
}

func TestCrossEntropyGradient(t *testing.T) {
	forBoth(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(27, 28))
		n, v := 4, 9
		logits := randSlice(r, n*v, 2)
		targets := []int32{0, 8, 3, 3}
		const scale = 0.25
		p := append([]float32(nil), logits...)
		losses := make([]float32, n)
		CrossEntropyForward(p, losses, targets, n, v)
		var sum float64
		for _, l := range losses {
			sum += float64(l)
		}
		l64 := to64(logits)
		if want := crossEntropy64(l64, targets, n, v, 1); math.Abs(sum-want) > 1e-5*want {
			t.Fatalf("loss %v, want %v", sum, want)
		}
		CrossEntropyBackward(p, targets, n, v, scale)
		checkGrad(t, "dlogits", l64, p, func() float64 { return crossEntropy64(l64, targets, n, v, scale) })
	})
}
