package model

import (
	"math"
	"math/rand/v2"
	"testing"
)

// markov is a fixed random first-order Markov chain over a few symbols, the
// smallest source whose entropy rate is known exactly.
type markov struct {
	p [][]float64 // transition probabilities, rows sum to 1
	r *rand.Rand
}

func newMarkov(states int, seed uint64) *markov {
	r := rand.New(rand.NewPCG(seed, 3))
	p := make([][]float64, states)
	for i := range p {
		p[i] = make([]float64, states)
		var z float64
		for j := range p[i] {
			p[i][j] = math.Pow(r.Float64(), 6) // peaked: a few likely successors
			z += p[i][j]
		}
		for j := range p[i] {
			p[i][j] /= z
		}
	}
	return &markov{p: p, r: r}
}

// entropyRate is Σ_i π_i H(P_i) in nats, π the stationary distribution.
func (m *markov) entropyRate() float64 {
	n := len(m.p)
	pi := make([]float64, n)
	for i := range pi {
		pi[i] = 1 / float64(n)
	}
	for it := 0; it < 1000; it++ {
		next := make([]float64, n)
		for i := range pi {
			for j := range next {
				next[j] += pi[i] * m.p[i][j]
			}
		}
		pi = next
	}
	var h float64
	for i, row := range m.p {
		for _, q := range row {
			if q > 0 {
				h -= pi[i] * q * math.Log(q)
			}
		}
	}
	return h
}

// batch draws b sequences of t+1 symbols and returns inputs and next-symbol
// targets.
func (m *markov) batch(b, t int) (inputs, targets []int32) {
	for s := 0; s < b; s++ {
		x := m.r.IntN(len(m.p))
		for i := 0; i <= t; i++ {
			u, nx := m.r.Float64(), 0
			for acc := m.p[x][0]; acc < u && nx < len(m.p)-1; acc += m.p[x][nx] {
				nx++
			}
			if i < t {
				inputs = append(inputs, int32(x))
			}
			if i > 0 {
				targets = append(targets, int32(x))
			}
			x = nx
		}
	}
	return inputs, targets
}

// TestLearnsMarkovChain trains a tiny model on a Markov chain: the loss must
// fall from about ln(16) to near the chain's entropy rate, the best any model
// can do.
func TestLearnsMarkovChain(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for a few hundred steps")
	}
	cfg := Config{Layers: 2, Heads: 2, Channels: 32, SeqLen: 16, Vocab: 16}
	src := newMarkov(cfg.Vocab, 1)
	h := src.entropyRate()
	m, err := New(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	const batch = 8
	ws := mustWorkspace(t, cfg, batch, 2)
	ocfg := DefaultAdamWConfig()
	ocfg.LR, ocfg.WarmupSteps, ocfg.TotalSteps = 1e-2, 20, 300
	opt, err := NewAdamW(ocfg, m.Layout())
	if err != nil {
		t.Fatal(err)
	}
	evalIn, evalTg := src.batch(batch, cfg.SeqLen)
	first, _ := m.Loss(ws, evalIn, evalTg)
	for step := 0; step < ocfg.TotalSteps; step++ {
		in, tg := src.batch(batch, cfg.SeqLen)
		if _, err := m.ForwardBackward(ws, in, tg); err != nil {
			t.Fatal(err)
		}
		if _, err := opt.Step(m.Params(), ws.Grads(), step); err != nil {
			t.Fatal(err)
		}
	}
	var last float64
	const evals = 8
	for i := 0; i < evals; i++ {
		in, tg := src.batch(batch, cfg.SeqLen)
		l, _ := m.Loss(ws, in, tg)
		last += l / evals
	}
	t.Logf("entropy rate %.4f nats; eval loss %.4f before, %.4f after %d steps", h, first, last, ocfg.TotalSteps)
	if math.Abs(first-math.Log(16)) > 0.3 {
		t.Errorf("initial loss %.3f is not near ln(16) = %.3f", first, math.Log(16))
	}
	if last > h+0.1 || last < h-0.1 {
		t.Errorf("final loss %.4f is not within 0.1 nats of the entropy rate %.4f", last, h)
	}
}
