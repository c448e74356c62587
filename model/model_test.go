package model

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

var tiny = Config{Layers: 2, Heads: 2, Channels: 8, SeqLen: 5, Vocab: 11}

// randomTokens returns n tokens below v from a seeded generator.
func randomTokens(seed uint64, n, v int) []int32 {
	r := rand.New(rand.NewPCG(seed, 1))
	t := make([]int32, n)
	for i := range t {
		t[i] = int32(r.IntN(v))
	}
	return t
}

// perturbed returns a model whose gains, biases and weights are all clearly
// non-trivial, so that every gradient path is exercised.
func perturbed(t testing.TB, cfg Config, seed uint64) *Model {
	m, err := New(cfg, seed)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(seed, 2))
	for i := range m.params {
		m.params[i] += float32(r.NormFloat64() * 0.2)
	}
	return m
}

func mustWorkspace(t testing.TB, cfg Config, batch, workers int) *Workspace {
	ws, err := NewWorkspace(cfg, batch, workers)
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

func TestForwardMatchesFloat64(t *testing.T) {
	m := perturbed(t, tiny, 1)
	ws := mustWorkspace(t, tiny, 3, 1)
	in, tg := randomTokens(1, 2*tiny.SeqLen, tiny.Vocab), randomTokens(2, 2*tiny.SeqLen, tiny.Vocab)
	got, err := m.Loss(ws, in, tg)
	if err != nil {
		t.Fatal(err)
	}
	want := ref64Loss(tiny, to64(m.params), in, tg)
	if math.Abs(got-want) > 1e-5*want {
		t.Fatalf("loss %v, float64 reference %v", got, want)
	}
}

func to64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

// TestGradientFiniteDifference checks the hand-written backward pass of the
// whole model: several random elements of every tensor against central
// differences of the float64 reference loss.
func TestGradientFiniteDifference(t *testing.T) {
	m := perturbed(t, tiny, 3)
	ws := mustWorkspace(t, tiny, 2, 1)
	in, tg := randomTokens(3, 2*tiny.SeqLen, tiny.Vocab), randomTokens(4, 2*tiny.SeqLen, tiny.Vocab)
	if _, err := m.ForwardBackward(ws, in, tg); err != nil {
		t.Fatal(err)
	}
	p64 := to64(m.params)
	r := rand.New(rand.NewPCG(5, 6))
	for _, s := range m.Layout() {
		for trial := 0; trial < 4; trial++ {
			i := s.Offset + r.IntN(s.Size())
			const h = 1e-5
			orig := p64[i]
			p64[i] = orig + h
			lp := ref64Loss(tiny, p64, in, tg)
			p64[i] = orig - h
			lm := ref64Loss(tiny, p64, in, tg)
			p64[i] = orig
			fd := (lp - lm) / (2 * h)
			got := float64(ws.Grads()[i])
			if math.Abs(got-fd) > 1e-3*math.Max(math.Abs(fd), 1e-2) {
				t.Errorf("%s[%d]: gradient %.6g, finite difference %.6g", s.Name, i-s.Offset, got, fd)
			}
		}
	}
}

func bitsEqual(a, b []float32) int {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i
		}
	}
	return -1
}

func TestWorkersBitIdentical(t *testing.T) {
	cfg := Config{Layers: 2, Heads: 2, Channels: 32, SeqLen: 16, Vocab: 40}
	m := perturbed(t, cfg, 7)
	in, tg := randomTokens(7, 5*cfg.SeqLen, cfg.Vocab), randomTokens(8, 5*cfg.SeqLen, cfg.Vocab)
	ws1 := mustWorkspace(t, cfg, 5, 1)
	l1, err := m.ForwardBackward(ws1, in, tg)
	if err != nil {
		t.Fatal(err)
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1)) // workers, not GOMAXPROCS, decide the split
	for _, w := range []int{2, 3, 4} {
		if w == 3 {
			runtime.GOMAXPROCS(4)
		}
		ws := mustWorkspace(t, cfg, 5, w)
		l, err := m.ForwardBackward(ws, in, tg)
		if err != nil {
			t.Fatal(err)
		}
		if l != l1 {
			t.Errorf("workers=%d: loss %v, workers=1 gave %v", w, l, l1)
		}
		if i := bitsEqual(ws.Grads(), ws1.Grads()); i >= 0 {
			t.Errorf("workers=%d: gradient %d differs: %v vs %v", w, i, ws.Grads()[i], ws1.Grads()[i])
		}
	}
}

// TestBlockRangesChain runs the model stage by stage, through copies of the
// boundary tensors as a pipeline would, and must match the whole-model pass
// bit for bit.
func TestBlockRangesChain(t *testing.T) {
	cfg := Config{Layers: 4, Heads: 2, Channels: 16, SeqLen: 8, Vocab: 20}
	m := perturbed(t, cfg, 9)
	in, tg := randomTokens(9, 3*cfg.SeqLen, cfg.Vocab), randomTokens(10, 3*cfg.SeqLen, cfg.Vocab)
	whole := mustWorkspace(t, cfg, 3, 2)
	want, err := m.ForwardBackward(whole, in, tg)
	if err != nil {
		t.Fatal(err)
	}
	stages := [][2]int{{0, 1}, {1, 3}, {3, 4}}
	ws := make([]*Workspace, len(stages)) // one workspace per stage, like separate nodes
	for i := range ws {
		ws[i] = mustWorkspace(t, cfg, 3, 1)
		ws[i].ZeroGrads()
	}
	x, err := m.Embed(ws[0], in)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range stages {
		x, err = m.ForwardBlocks(ws[i], s[0], s[1], append([]float32(nil), x...))
		if err != nil {
			t.Fatal(err)
		}
	}
	last := ws[len(ws)-1]
	got, err := m.Head(last, x, tg)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("staged loss %v, whole %v", got, want)
	}
	dy, err := m.HeadBackward(last)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(stages) - 1; i >= 0; i-- {
		dy, err = m.BackwardBlocks(ws[i], stages[i][0], stages[i][1], append([]float32(nil), dy...))
		if err != nil {
			t.Fatal(err)
		}
		if j := bitsEqual(dy, whole.BoundaryGrad(stages[i][0])); j >= 0 {
			t.Fatalf("boundary %d gradient differs at %d", stages[i][0], j)
		}
	}
	// The tied wte gets gradient from both ends. The whole pass adds the
	// embedding's part onto the head's; a pipeline does the same by sending
	// the head's wte gradient to the first stage before its embedding backward.
	wte := m.Layout()[m.Layout().Index("wte")]
	copy(ws[0].Grads()[:wte.Size()], last.Grads()[:wte.Size()])
	clear(last.Grads()[:wte.Size()])
	if err := m.EmbedBackward(ws[0], dy); err != nil {
		t.Fatal(err)
	}
	// Apart from that the stages' gradients are disjoint: their sum is the
	// whole gradient.
	sum := make([]float32, len(whole.Grads()))
	for i := range ws {
		for j, g := range ws[i].Grads() {
			sum[j] += g
		}
	}
	if j := bitsEqual(sum, whole.Grads()); j >= 0 {
		t.Fatalf("staged gradient %d = %v, whole %v", j, sum[j], whole.Grads()[j])
	}
	if j := bitsEqual(whole.Boundary(cfg.Layers), x); j >= 0 {
		t.Fatalf("Boundary(L) differs from the staged output at %d", j)
	}
}
