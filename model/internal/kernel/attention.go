package kernel

import (
	"math"

	"github.com/locosim/locosim/internal/gemm"
)

// Attention runs causal multi-head self-attention over a batch, in parallel
// over (batch row, head) pairs. qkv is [b,t,3c] (queries, keys, values side by
// side), out and its gradient are [b,t,c], att holds the softmax probabilities
// [b,heads,t,t] (zero above the diagonal) for the backward pass.
type Attention struct {
	b, t, c, nh, workers int
	scratch              []attnScratch
}

// attnScratch is one worker's contiguous copies of a head's operands.
type attnScratch struct {
	q, k, v, o, dq, dk, dv []float32 // [t,hs]
	s, ds                  []float32 // [t,t]
}

// NewAttention sizes the scratch space for batches of up to b rows of length t,
// c channels in nh heads, on workers goroutines.
func NewAttention(b, t, c, nh, workers int) *Attention {
	workers = max(1, workers)
	a := &Attention{b: b, t: t, c: c, nh: nh, workers: workers}
	hs := c / nh
	a.scratch = make([]attnScratch, workers)
	for i := range a.scratch {
		buf := make([]float32, 7*t*hs+2*t*t)
		next := func(n int) []float32 {
			s := buf[:n:n]
			buf = buf[n:]
			return s
		}
		a.scratch[i] = attnScratch{
			q: next(t * hs), k: next(t * hs), v: next(t * hs), o: next(t * hs),
			dq: next(t * hs), dk: next(t * hs), dv: next(t * hs),
			s: next(t * t), ds: next(t * t),
		}
	}
	return a
}

// Forward computes out and att from qkv for the first b batch rows.
func (a *Attention) Forward(out, att, qkv []float32, b int) {
	t, c, nh := a.t, a.c, a.nh
	parallel(a.workers, b*nh, func(w, lo, hi int) {
		for p := lo; p < hi; p++ {
			if useFast {
				a.forwardFast(&a.scratch[w], out, att, qkv, p/nh, p%nh)
			} else {
				attentionForwardRef(out, att, qkv, p/nh, p%nh, t, c, nh)
			}
		}
	})
}

// Backward overwrites dqkv with the gradient of the loss with respect to qkv,
// given dout and the att and qkv of the forward pass.
func (a *Attention) Backward(dqkv, dout, att, qkv []float32, b int) {
	t, c, nh := a.t, a.c, a.nh
	parallel(a.workers, b*nh, func(w, lo, hi int) {
		for p := lo; p < hi; p++ {
			if useFast {
				a.backwardFast(&a.scratch[w], dqkv, dout, att, qkv, p/nh, p%nh)
			} else {
				attentionBackwardRef(dqkv, dout, att, qkv, p/nh, p%nh, t, c, nh)
			}
		}
	})
}

// gather copies columns [off,off+hs) of rows [bi*t, bi*t+t) of m (row length
// stride) into dst [t,hs].
func gather(dst, m []float32, bi, t, stride, off, hs int) {
	for ti := 0; ti < t; ti++ {
		copy(dst[ti*hs:ti*hs+hs], m[(bi*t+ti)*stride+off:])
	}
}

func scatter(m, src []float32, bi, t, stride, off, hs int) {
	for ti := 0; ti < t; ti++ {
		copy(m[(bi*t+ti)*stride+off:(bi*t+ti)*stride+off+hs], src[ti*hs:ti*hs+hs])
	}
}

// The fast path copies one head's operands into contiguous scratch and turns
// it into small matrix products handled by gemm, plus vectorised softmax rows.
// Query rows go in blocks of attnBlock; a block's products stop at its last
// key, so most of the masked upper triangle is never computed. Inside a block
// the masked probabilities are exactly zero, so the results are those of the
// causal products.

// attnBlock is the number of query rows per block.
const attnBlock = 32

func (a *Attention) forwardFast(s *attnScratch, out, att, qkv []float32, bi, h int) {
	t, c, nh := a.t, a.c, a.nh
	hs := c / nh
	gather(s.q, qkv, bi, t, 3*c, h*hs, hs)
	gather(s.k, qkv, bi, t, 3*c, c+h*hs, hs)
	gather(s.v, qkv, bi, t, 3*c, 2*c+h*hs, hs)
	scale := float32(1 / math.Sqrt(float64(hs)))
	p := att[(bi*nh+h)*t*t:][: t*t : t*t]
	clear(s.o)
	for r0 := 0; r0 < t; r0 += attnBlock {
		r1 := min(t, r0+attnBlock)
		rows, kr := r1-r0, r1 // query rows [r0,r1) see keys [0,r1)
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
		// O = P·V, which is gemm's input gradient with P as dout and V as weights.
		gemm.BackwardInput(s.o[r0*hs:r1*hs], pr, s.v[:kr*hs], rows, hs, kr)
	}
	scatter(out, s.o, bi, t, c, h*hs, hs)
}

func (a *Attention) backwardFast(s *attnScratch, dqkv, dout, att, qkv []float32, bi, h int) {
	t, c, nh := a.t, a.c, a.nh
	hs := c / nh
	gather(s.q, qkv, bi, t, 3*c, h*hs, hs)
	gather(s.k, qkv, bi, t, 3*c, c+h*hs, hs)
	gather(s.v, qkv, bi, t, 3*c, 2*c+h*hs, hs)
	gather(s.o, dout, bi, t, c, h*hs, hs) // s.o holds dO here
	p := att[(bi*nh+h)*t*t:][: t*t : t*t]
	scale := float32(1 / math.Sqrt(float64(hs)))
	clear(s.dq)
	clear(s.dk)
	clear(s.dv)
	for r0 := 0; r0 < t; r0 += attnBlock {
		r1 := min(t, r0+attnBlock)
		rows, kr := r1-r0, r1
		pr := s.ds[:rows*kr] // this block's probabilities, contiguous
		for i := 0; i < rows; i++ {
			copy(pr[i*kr:i*kr+kr], p[(r0+i)*t:])
		}
		// dP = dO·Vᵀ ; dV += Pᵀ·dO
		ds := s.s[:rows*kr]
		dO := s.o[r0*hs : r1*hs]
		gemm.Forward(ds, dO, s.v[:kr*hs], nil, rows, hs, kr)
		gemm.BackwardWeight(s.dv[:kr*hs], nil, pr, dO, rows, hs, kr)
		// dS = P∘(dP - rowsum(P∘dP))·scale, in place over dP
		for i := 0; i < rows; i++ {
			n := r0 + i + 1
			prow, drow := pr[i*kr:i*kr+n], ds[i*kr:i*kr+kr]
			dot := dotAVX2(prow, drow[:n])
			softmaxGradAVX2(drow[:n], prow, drow[:n], dot, scale)
			clear(drow[n:])
		}
		// dQ = dS·K ; dK += dSᵀ·Q
		gemm.BackwardInput(s.dq[r0*hs:r1*hs], ds, s.k[:kr*hs], rows, hs, kr)
		gemm.BackwardWeight(s.dk[:kr*hs], nil, ds, s.q[r0*hs:r1*hs], rows, hs, kr)
	}
	scatter(dqkv, s.dq, bi, t, 3*c, h*hs, hs)
	scatter(dqkv, s.dk, bi, t, 3*c, c+h*hs, hs)
	scatter(dqkv, s.dv, bi, t, 3*c, 2*c+h*hs, hs)
}
