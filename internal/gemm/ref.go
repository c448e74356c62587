package gemm

// The plain-Go reference kernels. They are the specification that the fast
// paths are tested against; keep them simple rather than fast.

func forwardRef(out, a, w, bias []float32, m, k, n int) {
	for i := 0; i < m; i++ {
		ai := a[i*k : i*k+k]
		oi := out[i*n : i*n+n]
		for j := 0; j < n; j++ {
			wj := w[j*k : j*k+k]
			var s float32
			if bias != nil {
				s = bias[j]
			}
			for p := range ai {
				s += ai[p] * wj[p]
			}
			oi[j] = s
		}
	}
}

func backwardInputRef(da, dout, w []float32, m, k, n int) {
	for i := 0; i < m; i++ {
		di := da[i*k : i*k+k]
		gi := dout[i*n : i*n+n]
		for j := 0; j < n; j++ {
			g := gi[j]
			wj := w[j*k : j*k+k]
			for p := range di {
				di[p] += g * wj[p]
			}
		}
	}
}

func backwardWeightRef(dw, dbias, dout, a []float32, m, k, n int) {
	backwardWeightRefCols(dw, dbias, dout, a, m, k, n, 0, n)
}

// backwardWeightRefCols is backwardWeightRef restricted to output features
// j0 <= j < j1.
func backwardWeightRefCols(dw, dbias, dout, a []float32, m, k, n, j0, j1 int) {
	for j := j0; j < j1; j++ {
		dwj := dw[j*k : j*k+k]
		var sb float32
		for i := 0; i < m; i++ {
			g := dout[i*n+j]
			sb += g
			ai := a[i*k : i*k+k]
			for p := range dwj {
				dwj[p] += g * ai[p]
			}
		}
		if dbias != nil {
			dbias[j] += sb
		}
	}
}
