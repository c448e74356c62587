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

// attnScratch is one worker's packed operands of a head and the gradient
// of a block of scores.
type attnScratch struct {
	kt, v, vt, k, q, do gemm.Packed // Kᵀ, V, Vᵀ, K, Q, dO in the kernels' panel layout
	ds                  []float32   // [attnBlock,t]
}

// NewAttention sizes the scratch space for batches of up to b rows of length t,
// c channels in nh heads, on workers goroutines.
func NewAttention(b, t, c, nh, workers int) *Attention {
	workers = max(1, workers)
	a := &Attention{b: b, t: t, c: c, nh: nh, workers: workers}
	a.scratch = make([]attnScratch, workers)
	for i := range a.scratch {
		a.scratch[i].ds = make([]float32, min(t, attnBlock)*t)
	}
	return a
}

// Forward computes out and att from qkv for the first b batch rows.
func (a *Attention) Forward(out, att, qkv []float32, b int) {
	t, c, nh := a.t, a.c, a.nh
	fast := useFast && gemm.PackedAvailable()
	parallel(a.workers, b*nh, func(w, lo, hi int) {
		for p := lo; p < hi; p++ {
			if fast {
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
	fast := useFast && gemm.PackedAvailable()
	parallel(a.workers, b*nh, func(w, lo, hi int) {
		for p := lo; p < hi; p++ {
			if fast {
				a.backwardFast(&a.scratch[w], dqkv, dout, att, qkv, p/nh, p%nh)
			} else {
				attentionBackwardRef(dqkv, dout, att, qkv, p/nh, p%nh, t, c, nh)
			}
		}
	})
}

// The fast path multiplies one head's operands with gemm's micro-kernels:
// it packs K, V (and, backward, Q and dO) once per head straight from the
// strided rows of qkv and dout into the kernels' panel layout, reads Q, dO
// and the probabilities in place (transposed through strides where a
// product needs it) and writes scores into att and results into out and
// dqkv directly. Query rows go in blocks of attnBlock; a block's products
// stop at its last key, so most of the masked upper triangle is never
// computed; the scores S = Q·Kᵀ and their gradient dP = dO·Vᵀ, which
// enter no sum past a row's own key, stop at the last key of each tile of
// rows. Inside a block the masked probabilities are exactly zero, so the
// results are those of the causal products. The softmax of a block's rows
// and its gradient each take one assembly call (attnSoftmaxAVX2,
// attnSoftmaxGradAVX2) doing the arithmetic of the row primitives.
//
// Every output element is the chain of fused multiply-adds it was when the
// path called gemm's public functions on gathered copies (the blocks, the
// masked zeros inside them and the order of the sums over blocks are
// unchanged), so the bits are the same; TestAttentionGolden pins them.

// attnBlock is the number of query rows per block.
const attnBlock = 32

func (a *Attention) forwardFast(s *attnScratch, out, att, qkv []float32, bi, h int) {
	t, c, nh := a.t, a.c, a.nh
	hs := c / nh
	ld := 3 * c
	base := bi * t * ld                          // row 0 of this sequence in qkv
	q := qkv[base+h*hs:]                         // Q[i][d] = q[i*ld+d]
	s.kt.PackCols(qkv[base+c+h*hs:], ld, hs, t)  // B[d][j] = K[j][d]
	s.v.PackRows(qkv[base+2*c+h*hs:], ld, t, hs) // B[j][d] = V[j][d]
	scale := float32(1 / math.Sqrt(float64(hs)))
	p := att[(bi*nh+h)*t*t:][: t*t : t*t]
	g := gemm.TileRows()
	o := out[bi*t*c+h*hs:]
	for r0 := 0; r0 < t; r0 += attnBlock {
		r1 := min(t, r0+attnBlock)
		rows, kr := r1-r0, r1    // query rows [r0,r1) see keys [0,r1)
		nt := (rows + g - 1) / g // tiles of rows, as in gemm.MulPacked
		// S = Q·Kᵀ into the block's rows of att, a tile of rows at a time,
		// stopping after the tile's last key (scores past a row's own key
		// are cleared below and enter no sum).
		for tile := range nt {
			i0, i1 := r0+rows*tile/nt, r0+rows*(tile+1)/nt
			gemm.MulPacked(p[i0*t:], t, q[i0*ld:], ld, 1, i1-i0, &s.kt, 0, hs, i1, false)
		}
		// Row ti's probabilities over keys [0,ti], zeros after.
		attnSoftmax(p, t, r0, r1, scale)
		// O = P·V, straight into out.
		gemm.MulPacked(o[r0*c:], c, p[r0*t:], t, 1, rows, &s.v, 0, kr, hs, false)
	}
}

func (a *Attention) backwardFast(s *attnScratch, dqkv, dout, att, qkv []float32, bi, h int) {
	t, c, nh := a.t, a.c, a.nh
	hs := c / nh
	ld := 3 * c
	base := bi * t * ld
	s.q.PackRows(qkv[base+h*hs:], ld, t, hs)
	s.k.PackRows(qkv[base+c+h*hs:], ld, t, hs)
	s.vt.PackCols(qkv[base+2*c+h*hs:], ld, hs, t)
	dO := dout[bi*t*c+h*hs:] // dO[i][d] = dO[i*c+d]
	s.do.PackRows(dO, c, t, hs)
	dq := dqkv[base+h*hs:]
	dk := dqkv[base+c+h*hs:]
	dv := dqkv[base+2*c+h*hs:]
	p := att[(bi*nh+h)*t*t:][: t*t : t*t]
	scale := float32(1 / math.Sqrt(float64(hs)))
	g := gemm.TileRows()
	for r0 := 0; r0 < t; r0 += attnBlock {
		r1 := min(t, r0+attnBlock)
		rows, kr := r1-r0, r1
		nt := (rows + g - 1) / g
		pb := p[r0*t:] // this block's probabilities, rows t apart
		// dP = dO·Vᵀ, into ds (rows kr apart), a tile of rows at a time up
		// to the tile's last key (what lies beyond a row's key is cleared
		// below).
		ds := s.ds[:rows*kr]
		for tile := range nt {
			i0, i1 := rows*tile/nt, rows*(tile+1)/nt
			gemm.MulPacked(ds[i0*kr:], kr, dO[(r0+i0)*c:], c, 1, i1-i0, &s.vt, 0, hs, r0+i1, false)
		}
		// dV += Pᵀ·dO. Rows of dV below r0 carry the sums of earlier blocks;
		// rows [r0,r1) start here.
		attnAccumT(dv, ld, hs, pb, t, &s.do, r0, r1)
		// dS = P∘(dP - rowsum(P∘dP))·scale, in place over dP
		// (row r0+i over keys [0,r0+i], zeros after)
		attnSoftmaxGrad(ds, kr, pb, t, r0, rows, scale)
		// dQ = dS·K ; dK += dSᵀ·Q
		gemm.MulPacked(dq[r0*ld:], ld, ds, kr, 1, rows, &s.k, 0, kr, hs, false)
		attnAccumT(dk, ld, hs, ds, kr, &s.q, r0, r1)
	}
}

// attnAccumT adds Xᵀ·B[r0:r1] to rows [0,r1) of the [.,hs] matrix d (rows
// ld apart), X being the [r1-r0, r1] block whose rows are ldx apart in x:
// rows [0,r0) of d accumulate, rows [r0,r1) are written (the chains start
// from zero, as they would from cleared memory).
func attnAccumT(d []float32, ld, hs int, x []float32, ldx int, b *gemm.Packed, r0, r1 int) {
	if r0 > 0 {
		gemm.MulPacked(d, ld, x, 1, ldx, r0, b, r0, r1, hs, true)
	}
	gemm.MulPacked(d[r0*ld:], ld, x[r0:], 1, ldx, r1-r0, b, r0, r1, hs, false)
}

// attnSoftmax does, for each row ti in [r0,r1) of p (rows t floats apart),
// with x = p[ti*t:][:ti+1]: scaleAVX2(scale, x); m := maxAVX2(x);
// sum := expSubAVX2(x, m); scaleAVX2(1/sum, x); then it clears the rest of
// the row. One call does it all, with the primitives' arithmetic.
func attnSoftmax(p []float32, t, r0, r1 int, scale float32) {
	if r0 < 0 || r0 > r1 || r1 > t || len(p) < r1*t {
		panic("kernel: attnSoftmax: rows out of range")
	}
	attnSoftmaxAVX2(p, t, r0, r1, scale)
}

// attnSoftmaxGrad does, for each row i < rows, with n = r0+i+1,
// dp = ds[i*ldd:][:n] and pr = p[i*ldp:][:n]: dot := dotAVX2(pr, dp);
// softmaxGradAVX2(dp, pr, dp, dot, scale); then it clears ds up to the end
// of the row (ldd floats). One call does it all, with the primitives'
// arithmetic.
func attnSoftmaxGrad(ds []float32, ldd int, p []float32, ldp, r0, rows int, scale float32) {
	if rows <= 0 {
		return
	}
	if r0 < 0 || r0+rows > ldd || len(ds) < rows*ldd || ldp < 0 || len(p) < (rows-1)*ldp+r0+rows {
		panic("kernel: attnSoftmaxGrad: rows out of range")
	}
	attnSoftmaxGradAVX2(ds, ldd, p, ldp, r0, rows, scale)
}
