package kernel

import "math"

// Fast paths composed of the assembly primitives, one row at a time.

func layerNormForwardFast(out, mean, rstd, x, g, b []float32, n, c int) {
	for i := 0; i < n; i++ {
		xi := x[i*c : i*c+c]
		mu := sumAVX2(xi) / float32(c)
		v := sumSqDevAVX2(xi, mu) / float32(c)
		rs := float32(1 / math.Sqrt(float64(v)+LayerNormEps))
		lnApplyAVX2(out[i*c:i*c+c], xi, g[:c], b[:c], mu, rs)
		mean[i], rstd[i] = mu, rs
	}
}

func layerNormBackwardFast(dx, dg, db, dout, x, g, mean, rstd []float32, n, c int) {
	g, dg, db = g[:c], dg[:c], db[:c]
	for i := 0; i < n; i++ {
		xi := x[i*c : i*c+c]
		di := dout[i*c : i*c+c]
		sd, sdx := lnGrad1AVX2(di, xi, g, dg, db, mean[i], rstd[i])
		lnGrad2AVX2(dx[i*c:i*c+c], di, xi, g, mean[i], rstd[i], sd/float32(c), sdx/float32(c))
	}
}

func crossEntropyForwardFast(logits, losses []float32, targets []int32, n, v int) {
	for i := 0; i < n; i++ {
		row := logits[i*v : i*v+v]
		m := maxAVX2(row)
		zt := row[targets[i]]
		sum := expSubAVX2(row, m)
		losses[i] = m + float32(math.Log(float64(sum))) - zt
		scaleAVX2(1/sum, row)
	}
}

func adamwAVX2(p, g, m, v []float32, h *AdamWParams) {
	n := len(p)
	g, m, v = g[:n], m[:n], v[:n]
	adamwAVX2Body(p, g, m, v, h)
	k := n &^ 7
	adamWRef(p[k:], g[k:], m[k:], v[k:], *h)
}
