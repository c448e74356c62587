package kernel

import "math"

// The plain-Go reference kernels. They are the specification the fast paths
// are tested against: simple loops, float64 where it makes the math clearer.

const geluScale = 0.7978845608028654 // sqrt(2/pi)

func layerNormForwardRef(out, mean, rstd, x, g, b []float32, n, c int) {
	for i := 0; i < n; i++ {
		xi := x[i*c : i*c+c]
		var s float64
		for _, v := range xi {
			s += float64(v)
		}
		mu := s / float64(c)
		var ss float64
		for _, v := range xi {
			d := float64(v) - mu
			ss += d * d
		}
		rs := 1 / math.Sqrt(ss/float64(c)+LayerNormEps)
		oi := out[i*c : i*c+c]
		for j, v := range xi {
			oi[j] = float32((float64(v)-mu)*rs)*g[j] + b[j]
		}
		mean[i] = float32(mu)
		rstd[i] = float32(rs)
	}
}

func layerNormBackwardRef(dx, dg, db, dout, x, g, mean, rstd []float32, n, c int) {
	for i := 0; i < n; i++ {
		xi := x[i*c : i*c+c]
		di := dout[i*c : i*c+c]
		mu, rs := mean[i], rstd[i]
		var sumD, sumDX float64
		for j := range xi {
			xhat := (xi[j] - mu) * rs
			dn := di[j] * g[j]
			sumD += float64(dn)
			sumDX += float64(dn * xhat)
			dg[j] += di[j] * xhat
			db[j] += di[j]
		}
		mD := float32(sumD / float64(c))
		mDX := float32(sumDX / float64(c))
		dxi := dx[i*c : i*c+c]
		for j := range xi {
			xhat := (xi[j] - mu) * rs
			dn := di[j] * g[j]
			dxi[j] += rs * (dn - mD - xhat*mDX)
		}
	}
}

// The three parts of layerNormBackwardRef, for LayerNormBackwardPar.

func lnSumsRef(dout, x, g []float32, mu, rs float32) (sd, sdx float32) {
	var sumD, sumDX float64
	for j := range x {
		xhat := (x[j] - mu) * rs
		dn := dout[j] * g[j]
		sumD += float64(dn)
		sumDX += float64(dn * xhat)
	}
	return float32(sumD), float32(sumDX)
}

func lnDxRef(dx, dout, x, g []float32, mu, rs, mD, mDX float32) {
	for j := range x {
		xhat := (x[j] - mu) * rs
		dx[j] += rs * (dout[j]*g[j] - mD - xhat*mDX)
	}
}

func lnDgDbRef(dg, db, dout, x []float32, mu, rs float32) {
	for j := range x {
		dg[j] += dout[j] * ((x[j] - mu) * rs)
		db[j] += dout[j]
	}
}

func geluForwardRef(out, x []float32) {
	for i, v := range x {
		u := geluScale * (float64(v) + 0.044715*float64(v)*float64(v)*float64(v))
		out[i] = float32(0.5 * float64(v) * (1 + math.Tanh(u)))
	}
}

func geluBackwardRef(dx, x, dout []float32) {
	for i, v64 := range x {
		v := float64(v64)
		u := geluScale * (v + 0.044715*v*v*v)
		th := math.Tanh(u)
		du := geluScale * (1 + 3*0.044715*v*v)
		d := 0.5*(1+th) + 0.5*v*(1-th*th)*du
		dx[i] = float32(d) * dout[i]
	}
}

// geluForwardDerivRef is geluForwardRef and the factor geluBackwardRef
// multiplies dout by, rounded to float32 as there.
func geluForwardDerivRef(out, deriv, x []float32) {
	for i, v64 := range x {
		v := float64(v64)
		u := geluScale * (v + 0.044715*v*v*v)
		th := math.Tanh(u)
		du := geluScale * (1 + 3*0.044715*v*v)
		out[i] = float32(0.5 * v * (1 + th))
		deriv[i] = float32(0.5*(1+th) + 0.5*v*(1-th*th)*du)
	}
}

func mulRef(dst, a, b []float32) {
	for i := range dst {
		dst[i] = a[i] * b[i]
	}
}

func addRef(dst, a, b []float32) {
	for i := range dst {
		dst[i] = a[i] + b[i]
	}
}

// attentionForwardRef computes causal self-attention for head h of batch
// row bi.
func attentionForwardRef(out, att, qkv []float32, bi, h, t, c, nh int) {
	hs := c / nh
	scale := 1 / math.Sqrt(float64(hs))
	c3 := 3 * c
	{
		for ti := 0; ti < t; ti++ {
			q := qkv[(bi*t+ti)*c3+h*hs:][:hs]
			row := att[((bi*nh+h)*t+ti)*t:][:t]
			maxv := math.Inf(-1)
			pre := make([]float64, ti+1)
			for t2 := 0; t2 <= ti; t2++ {
				k := qkv[(bi*t+t2)*c3+c+h*hs:][:hs]
				var s float64
				for i := range q {
					s += float64(q[i]) * float64(k[i])
				}
				s *= scale
				pre[t2] = s
				maxv = math.Max(maxv, s)
			}
			var sum float64
			for t2 := range pre {
				pre[t2] = math.Exp(pre[t2] - maxv)
				sum += pre[t2]
			}
			for t2 := range row {
				if t2 <= ti {
					row[t2] = float32(pre[t2] / sum)
				} else {
					row[t2] = 0
				}
			}
			o := out[(bi*t+ti)*c+h*hs:][:hs]
			for i := range o {
				var s float64
				for t2 := 0; t2 <= ti; t2++ {
					v := qkv[(bi*t+t2)*c3+2*c+h*hs+i]
					s += float64(row[t2]) * float64(v)
				}
				o[i] = float32(s)
			}
		}
	}
}

// attentionBackwardRef writes (overwrites) the gradient of head h of batch
// row bi in dqkv.
func attentionBackwardRef(dqkv, dout, att, qkv []float32, bi, h, t, c, nh int) {
	hs := c / nh
	scale := 1 / math.Sqrt(float64(hs))
	c3 := 3 * c
	for ti := 0; ti < t; ti++ {
		for part := 0; part < 3; part++ {
			d := dqkv[(bi*t+ti)*c3+part*c+h*hs:][:hs]
			for i := range d {
				d[i] = 0
			}
		}
	}
	datt := make([]float64, t)
	{
		for ti := 0; ti < t; ti++ {
			row := att[((bi*nh+h)*t+ti)*t:][:t]
			do := dout[(bi*t+ti)*c+h*hs:][:hs]
			var dot float64
			for t2 := 0; t2 <= ti; t2++ {
				v := qkv[(bi*t+t2)*c3+2*c+h*hs:][:hs]
				dv := dqkv[(bi*t+t2)*c3+2*c+h*hs:][:hs]
				var s float64
				for i := range v {
					s += float64(do[i]) * float64(v[i])
					dv[i] += row[t2] * do[i]
				}
				datt[t2] = s
				dot += float64(row[t2]) * s
			}
			q := qkv[(bi*t+ti)*c3+h*hs:][:hs]
			dq := dqkv[(bi*t+ti)*c3+h*hs:][:hs]
			for t2 := 0; t2 <= ti; t2++ {
				ds := float32(float64(row[t2]) * (datt[t2] - dot) * scale)
				k := qkv[(bi*t+t2)*c3+c+h*hs:][:hs]
				dk := dqkv[(bi*t+t2)*c3+c+h*hs:][:hs]
				for i := range q {
					dq[i] += ds * k[i]
					dk[i] += ds * q[i]
				}
			}
		}
	}
}

func crossEntropyForwardRef(logits, losses []float32, targets []int32, n, v int) {
	for i := 0; i < n; i++ {
		row := logits[i*v : i*v+v]
		maxv := math.Inf(-1)
		for _, x := range row {
			maxv = math.Max(maxv, float64(x))
		}
		var sum float64
		for _, x := range row {
			sum += math.Exp(float64(x) - maxv)
		}
		losses[i] = float32(maxv + math.Log(sum) - float64(row[targets[i]]))
		for j, x := range row {
			row[j] = float32(math.Exp(float64(x)-maxv) / sum)
		}
	}
}

func crossEntropyBackwardRef(probs []float32, targets []int32, n, v int, scale float32) {
	for i := 0; i < n; i++ {
		row := probs[i*v : i*v+v]
		row[targets[i]] -= 1
		for j := range row {
			row[j] *= scale
		}
	}
}

func adamWRef(p, g, m, v []float32, h AdamWParams) {
	for i := range p {
		gi := g[i] * h.GradScale
		m[i] = h.Beta1*m[i] + (1-h.Beta1)*gi
		v[i] = h.Beta2*v[i] + (1-h.Beta2)*gi*gi
		mhat := m[i] * h.InvBias1
		vhat := v[i] * h.InvBias2
		p[i] -= h.LR * (mhat/(float32(math.Sqrt(float64(vhat)))+h.Eps) + h.WeightDecay*p[i])
	}
}

func sumSquaresRef(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return s
}
