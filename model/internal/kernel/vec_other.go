//go:build !amd64 || purego

package kernel

import "math"

// Without the assembly, the "fast" primitives are plain Go so that the package
// builds everywhere; useFast stays false, so only tests call them.

const cpuHasFast = false

func sumAVX2(x []float32) float32 {
	var s float32
	for _, v := range x {
		s += v
	}
	return s
}

func dotAVX2(x, y []float32) float32 {
	var s float32
	for i := range x {
		s += x[i] * y[i]
	}
	return s
}

func maxAVX2(x []float32) float32 {
	m := x[0]
	for _, v := range x {
		m = max(m, v)
	}
	return m
}

func scaleAVX2(a float32, x []float32) {
	for i := range x {
		x[i] *= a
	}
}

func addAVX2(dst, a, b []float32) { addRef(dst, a, b) }

func expSubAVX2(x []float32, m float32) float32 {
	var s float32
	for i := range x {
		x[i] = float32(math.Exp(float64(x[i] - m)))
		s += x[i]
	}
	return s
}

func softmaxGradAVX2(ds, p, dp []float32, dot, scale float32) {
	for i := range ds {
		ds[i] = p[i] * (dp[i] - dot) * scale
	}
}

func geluFwdAVX2(out, x []float32) { geluForwardRef(out, x) }

func geluBwdAVX2(dx, x, dout []float32) { geluBackwardRef(dx, x, dout) }

func geluFwdDerivAVX2(out, deriv, x []float32) { geluForwardDerivRef(out, deriv, x) }

func mulAVX2(dst, a, b []float32) { mulRef(dst, a, b) }

func sumSqDevAVX2(x []float32, mu float32) float32 {
	var s float32
	for _, v := range x {
		s += (v - mu) * (v - mu)
	}
	return s
}

func lnApplyAVX2(out, x, g, b []float32, mu, rs float32) {
	for i := range out {
		out[i] = (x[i]-mu)*rs*g[i] + b[i]
	}
}

func lnGrad1AVX2(dout, x, g, dg, db []float32, mu, rs float32) (sd, sdx float32) {
	for i := range dout {
		xhat := (x[i] - mu) * rs
		dn := dout[i] * g[i]
		sd += dn
		sdx += dn * xhat
		dg[i] += dout[i] * xhat
		db[i] += dout[i]
	}
	return sd, sdx
}

func lnGrad2AVX2(dx, dout, x, g []float32, mu, rs, md, mdx float32) {
	for i := range dx {
		xhat := (x[i] - mu) * rs
		dx[i] += rs * (dout[i]*g[i] - md - xhat*mdx)
	}
}

func adamwAVX2Body(p, g, m, v []float32, h *AdamWParams) {
	n := len(p) &^ 7
	adamWRef(p[:n], g[:n], m[:n], v[:n], *h)
}

func lnSumsAVX2(dout, x, g []float32, mu, rs float32) (sd, sdx float32) {
	for i := range dout {
		dn := dout[i] * g[i]
		sd += dn
		sdx += dn * (x[i] - mu) * rs
	}
	return sd, sdx
}

func attnSoftmaxAVX2(p []float32, t, r0, r1 int, scale float32) {
	for ti := r0; ti < r1; ti++ {
		row := p[ti*t : ti*t+t]
		x := row[:ti+1]
		scaleAVX2(scale, x)
		m := maxAVX2(x)
		sum := expSubAVX2(x, m)
		scaleAVX2(1/sum, x)
		clear(row[ti+1:])
	}
}

func attnSoftmaxGradAVX2(ds []float32, ldd int, p []float32, ldp, r0, rows int, scale float32) {
	for i := 0; i < rows; i++ {
		n := r0 + i + 1
		pr, dp := p[i*ldp:i*ldp+n], ds[i*ldd:i*ldd+n]
		dot := dotAVX2(pr, dp)
		softmaxGradAVX2(dp, pr, dp, dot, scale)
		clear(ds[i*ldd+n : i*ldd+ldd])
	}
}
