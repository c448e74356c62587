package model

import "math"

// ref64Loss is an independent float64 implementation of the model's forward
// pass and mean cross-entropy, written from the math (no shared code), for
// checking the float32 forward and finite-difference gradients.
func ref64Loss(cfg Config, params []float64, inputs, targets []int32) float64 {
	l := Layout(cfg)
	get := func(name string) []float64 {
		s := l[l.Index(name)]
		return params[s.Offset : s.Offset+s.Size()]
	}
	C, T, V, H := cfg.Channels, cfg.SeqLen, cfg.Vocab, cfg.Heads
	hs := C / H
	B := len(inputs) / T
	N := B * T
	wte, wpe := get("wte"), get("wpe")
	x := make([][]float64, N)
	for i := range x {
		x[i] = make([]float64, C)
		for j := range x[i] {
			x[i][j] = wte[int(inputs[i])*C+j] + wpe[(i%T)*C+j]
		}
	}
	ln := func(v, g, b []float64) []float64 {
		var mu, va float64
		for _, e := range v {
			mu += e
		}
		mu /= float64(len(v))
		for _, e := range v {
			va += (e - mu) * (e - mu)
		}
		rs := 1 / math.Sqrt(va/float64(len(v))+1e-5)
		out := make([]float64, len(v))
		for j := range v {
			out[j] = (v[j]-mu)*rs*g[j] + b[j]
		}
		return out
	}
	lin := func(v, w, b []float64, nout int) []float64 {
		out := make([]float64, nout)
		for o := range out {
			s := b[o]
			for j := range v {
				s += w[o*len(v)+j] * v[j]
			}
			out[o] = s
		}
		return out
	}
	for layer := 0; layer < cfg.Layers; layer++ {
		p := func(s string) []float64 { return get("h." + itoa(layer) + "." + s) }
		qkv := make([][]float64, N)
		for i := range x {
			qkv[i] = lin(ln(x[i], p("ln1.g"), p("ln1.b")), p("attn.qkv.w"), p("attn.qkv.b"), 3*C)
		}
		for b := 0; b < B; b++ {
			y := make([][]float64, T)
			for t := 0; t < T; t++ {
				y[t] = make([]float64, C)
				for h := 0; h < H; h++ {
					w := make([]float64, t+1)
					var z float64
					for t2 := 0; t2 <= t; t2++ {
						var s float64
						for i := 0; i < hs; i++ {
							s += qkv[b*T+t][h*hs+i] * qkv[b*T+t2][C+h*hs+i]
						}
						w[t2] = math.Exp(s / math.Sqrt(float64(hs)))
						z += w[t2]
					}
					for t2 := 0; t2 <= t; t2++ {
						for i := 0; i < hs; i++ {
							y[t][h*hs+i] += w[t2] / z * qkv[b*T+t2][2*C+h*hs+i]
						}
					}
				}
			}
			for t := 0; t < T; t++ {
				o := lin(y[t], p("attn.proj.w"), p("attn.proj.b"), C)
				for j := range o {
					x[b*T+t][j] += o[j]
				}
			}
		}
		for i := range x {
			f := lin(ln(x[i], p("ln2.g"), p("ln2.b")), p("mlp.fc.w"), p("mlp.fc.b"), 4*C)
			for j, v := range f {
				f[j] = 0.5 * v * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(v+0.044715*v*v*v)))
			}
			o := lin(f, p("mlp.proj.w"), p("mlp.proj.b"), C)
			for j := range o {
				x[i][j] += o[j]
			}
		}
	}
	var loss float64
	zero := make([]float64, V)
	for i := range x {
		logits := lin(ln(x[i], get("lnf.g"), get("lnf.b")), wte, zero, V)
		m := math.Inf(-1)
		for _, v := range logits {
			m = math.Max(m, v)
		}
		var z float64
		for _, v := range logits {
			z += math.Exp(v - m)
		}
		loss += m + math.Log(z) - logits[targets[i]]
	}
	return loss / float64(N)
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + itoa(i%10)
}
