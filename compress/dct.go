package compress

import (
	"math"

	"github.com/locosim/locosim/internal/gemm"
)

// dctBasis is the orthonormal DCT-II matrix of size n, D[k][i] =
// s_k·cos(π(2i+1)k / 2n) with s_0 = √(1/n), s_k = √(2/n), and its transpose.
// Orthonormal, so the inverse is the transpose and norms are preserved.
type dctBasis struct {
	n     int
	d, dt []float32
}

func newDCTBasis(n int) *dctBasis {
	b := &dctBasis{n: n, d: make([]float32, n*n), dt: make([]float32, n*n)}
	for k := range n {
		s := math.Sqrt(2 / float64(n))
		if k == 0 {
			s = math.Sqrt(1 / float64(n))
		}
		for i := range n {
			v := float32(s * math.Cos(math.Pi*float64((2*i+1)*k)/float64(2*n)))
			b.d[k*n+i] = v
			b.dt[i*n+k] = v
		}
	}
	return b
}

// dct2 transforms the h x w block x (row-major) into its coefficients
// y = D_h·x·D_wᵀ. tmp holds h·w floats.
func dct2(y, x, tmp []float32, bh, bw *dctBasis) {
	h, w := bh.n, bw.n
	gemm.Forward(tmp, bw.d, x, nil, w, w, h) // (x·D_wᵀ)ᵀ, w x h
	gemm.Forward(y, bh.d, tmp, nil, h, h, w) // D_h·x·D_wᵀ
}

// idct2 is the inverse of dct2: x = D_hᵀ·y·D_w.
func idct2(x, y, tmp []float32, bh, bw *dctBasis) {
	h, w := bh.n, bw.n
	gemm.Forward(tmp, bw.dt, y, nil, w, w, h) // (y·D_w)ᵀ
	gemm.Forward(x, bh.dt, tmp, nil, h, h, w) // D_hᵀ·y·D_w
}
