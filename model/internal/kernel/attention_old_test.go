package kernel

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/locosim/locosim/internal/gemm"
)

// The fast path as it was before it packed operands itself: one head's
// operands gathered into contiguous scratch and multiplied by gemm's public
// functions. Kept as the baseline of BenchmarkAttention and as a second
// specification of the bits (TestAttentionMatchesGemmPath).

// oldAttention runs the gemm-call version on the scratch of a.
type oldAttention struct {
	*Attention
	scratch []oldScratch
}

type oldScratch struct {
	q, k, v, o, dq, dk, dv []float32 // [t,hs]
	s, ds                  []float32 // [t,t]
}

func newOldAttention(b, t, c, nh, workers int) *oldAttention {
	a := &oldAttention{Attention: NewAttention(b, t, c, nh, workers)}
	hs := c / nh
	a.scratch = make([]oldScratch, a.workers)
	for i := range a.scratch {
		buf := make([]float32, 7*t*hs+2*t*t)
		next := func(n int) []float32 {
			s := buf[:n:n]
			buf = buf[n:]
			return s
		}
		a.scratch[i] = oldScratch{
			q: next(t * hs), k: next(t * hs), v: next(t * hs), o: next(t * hs),
			dq: next(t * hs), dk: next(t * hs), dv: next(t * hs),
			s: next(t * t), ds: next(t * t),
		}
	}
	return a
}

func (a *oldAttention) Forward(out, att, qkv []float32, b int) {
	parallel(a.workers, b*a.nh, func(w, lo, hi int) {
		for p := lo; p < hi; p++ {
			a.forwardOld(&a.scratch[w], out, att, qkv, p/a.nh, p%a.nh)
		}
	})
}

func (a *oldAttention) Backward(dqkv, dout, att, qkv []float32, b int) {
	parallel(a.workers, b*a.nh, func(w, lo, hi int) {
		for p := lo; p < hi; p++ {
			a.backwardOld(&a.scratch[w], dqkv, dout, att, qkv, p/a.nh, p%a.nh)
		}
	})
}

func gatherOld(dst, m []float32, bi, t, stride, off, hs int) {
	for ti := 0; ti < t; ti++ {
		copy(dst[ti*hs:ti*hs+hs], m[(bi*t+ti)*stride+off:])
	}
}

func scatterOld(m, src []float32, bi, t, stride, off, hs int) {
	for ti := 0; ti < t; ti++ {
		copy(m[(bi*t+ti)*stride+off:(bi*t+ti)*stride+off+hs], src[ti*hs:ti*hs+hs])
	}
}

func (a *oldAttention) forwardOld(s *oldScratch, out, att, qkv []float32, bi, h int) {
	t, c, nh := a.t, a.c, a.nh
	hs := c / nh
	gatherOld(s.q, qkv, bi, t, 3*c, h*hs, hs)
	gatherOld(s.k, qkv, bi, t, 3*c, c+h*hs, hs)
	gatherOld(s.v, qkv, bi, t, 3*c, 2*c+h*hs, hs)
	scale := float32(1 / math.Sqrt(float64(hs)))
	p := att[(bi*nh+h)*t*t:][: t*t : t*t]
	clear(s.o)
	for r0 := 0; r0 < t; r0 += attnBlock {
		r1 := min(t, r0+attnBlock)
		rows, kr := r1-r0, r1
		pr := s.s[:rows*kr]
		gemm.Forward(pr, s.q[r0*hs:r1*hs], s.k[:kr*hs], nil, rows, hs, kr)
		for i := 0; i < rows; i++ {
			ti := r0 + i
			row := pr[i*kr : i*kr+kr]
			valid := row[:ti+1]
			scaleAVX2(scale, valid)
			m := maxAVX2(valid)
			sum := expSubAVX2(valid, m)
			scaleAVX2(1/sum, valid)
			clear(row[ti+1:])
			copy(p[ti*t:ti*t+kr], row)
			clear(p[ti*t+kr : ti*t+t])
		}
		gemm.BackwardInput(s.o[r0*hs:r1*hs], pr, s.v[:kr*hs], rows, hs, kr)
	}
	scatterOld(out, s.o, bi, t, c, h*hs, hs)
}

func (a *oldAttention) backwardOld(s *oldScratch, dqkv, dout, att, qkv []float32, bi, h int) {
	t, c, nh := a.t, a.c, a.nh
	hs := c / nh
	gatherOld(s.q, qkv, bi, t, 3*c, h*hs, hs)
	gatherOld(s.k, qkv, bi, t, 3*c, c+h*hs, hs)
	gatherOld(s.v, qkv, bi, t, 3*c, 2*c+h*hs, hs)
	gatherOld(s.o, dout, bi, t, c, h*hs, hs)
	p := att[(bi*nh+h)*t*t:][: t*t : t*t]
	scale := float32(1 / math.Sqrt(float64(hs)))
	clear(s.dq)
	clear(s.dk)
	clear(s.dv)
	for r0 := 0; r0 < t; r0 += attnBlock {
		r1 := min(t, r0+attnBlock)
		rows, kr := r1-r0, r1
		pr := s.ds[:rows*kr]
		for i := 0; i < rows; i++ {
			copy(pr[i*kr:i*kr+kr], p[(r0+i)*t:])
		}
		ds := s.s[:rows*kr]
		dO := s.o[r0*hs : r1*hs]
		gemm.Forward(ds, dO, s.v[:kr*hs], nil, rows, hs, kr)
		gemm.BackwardWeight(s.dv[:kr*hs], nil, pr, dO, rows, hs, kr)
		for i := 0; i < rows; i++ {
			n := r0 + i + 1
			prow, drow := pr[i*kr:i*kr+n], ds[i*kr:i*kr+kr]
			dot := dotAVX2(prow, drow[:n])
			softmaxGradAVX2(drow[:n], prow, drow[:n], dot, scale)
			clear(drow[n:])
		}
		gemm.BackwardInput(s.dq[r0*hs:r1*hs], ds, s.k[:kr*hs], rows, hs, kr)
		gemm.BackwardWeight(s.dk[:kr*hs], nil, ds, s.q[r0*hs:r1*hs], rows, hs, kr)
	}
	scatterOld(dqkv, s.dq, bi, t, 3*c, h*hs, hs)
	scatterOld(dqkv, s.dk, bi, t, 3*c, c+h*hs, hs)
	scatterOld(dqkv, s.dv, bi, t, 3*c, 2*c+h*hs, hs)
}

// TestAttentionMatchesGemmPath compares the fast path's bits with the
// version that calls gemm's public functions, on random shapes.
func TestAttentionMatchesGemmPath(t *testing.T) {
	requireFast(t)
	defer SetAccelerated(SetAccelerated(true))
	r := rand.New(rand.NewPCG(17, 18))
	n := 200
	if testing.Short() {
		n = 40
	}
	for it := 0; it < n; it++ {
		nh := 1 + r.IntN(4)
		s := attnShape{1 + r.IntN(3), 1 + r.IntN(100), nh * (1 + r.IntN(70)), nh}
		run, workers := 1+r.IntN(s.b), 1+r.IntN(3)
		qkv, dout := randSlice(r, s.b*s.t*3*s.c, 1+3*r.Float64()), randSlice(r, s.b*s.t*s.c, 1)
		type impl interface {
			Forward(out, att, qkv []float32, b int)
			Backward(dqkv, dout, att, qkv []float32, b int)
		}
		var res [2][3][]float32
		for k, a := range []impl{newOldAttention(s.b, s.t, s.c, s.nh, workers), NewAttention(s.b, s.t, s.c, s.nh, workers)} {
			out := make([]float32, s.b*s.t*s.c)
			att := make([]float32, s.b*s.nh*s.t*s.t)
			dqkv := make([]float32, len(qkv))
			a.Forward(out, att, qkv, run)
			a.Backward(dqkv, dout, att, qkv, run)
			res[k] = [3][]float32{out, att, dqkv}
		}
		for j, w := range []string{"out", "att", "dqkv"} {
			for i := range res[0][j] {
				if math.Float32bits(res[0][j][i]) != math.Float32bits(res[1][j][i]) {
					t.Fatalf("%+v run=%d workers=%d: %s[%d] = %v, gemm path %v", s, run, workers, w, i, res[1][j][i], res[0][j][i])
				}
			}
		}
	}
}
