package data

import (
	"math"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func mustSynthetic(t testing.TB, cfg SyntheticConfig, seed uint64) *Synthetic {
	t.Helper()
	s, err := NewSynthetic(cfg, seed)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDeBruijn(t *testing.T) {
	for _, tc := range []struct{ a, k int }{{2, 1}, {2, 3}, {3, 2}, {4, 3}, {12, 3}, {5, 4}} {
		seq := deBruijn(tc.a, tc.k)
		n := contextCount(tc.a, tc.k)
		if len(seq) != n {
			t.Fatalf("B(%d,%d) has length %d, want %d", tc.a, tc.k, len(seq), n)
		}
		seen := make([]bool, n)
		for i := range n {
			ctx := 0
			for j := range tc.k {
				ctx = ctx*tc.a + seq[(i+j)%n]
			}
			if seen[ctx] {
				t.Fatalf("B(%d,%d): context %d appears twice", tc.a, tc.k, ctx)
			}
			seen[ctx] = true
		}
		// The designated successors form one cycle through every context.
		succ := deBruijnSuccessors(tc.a, tc.k)
		visited := make([]bool, n)
		c := 0
		for range n {
			if visited[c] {
				t.Fatalf("B(%d,%d): successor cycle revisits %d early", tc.a, tc.k, c)
			}
			visited[c] = true
			c = (c*tc.a + succ[c]) % n
		}
		if c != 0 {
			t.Fatalf("B(%d,%d): successor walk does not close", tc.a, tc.k)
		}
	}
}

// TestStationaryExact compares the power iteration with a direct solve of
// pi (P - I) = 0, sum pi = 1, and the entropy rate computed from it.
func TestStationaryExact(t *testing.T) {
	for _, cfg := range []SyntheticConfig{
		{Seed: 3, Order: 1, Alphabet: 5, Branching: 2, ZipfExponent: 1},
		{Seed: 4, Order: 2, Alphabet: 3, Branching: 2, ZipfExponent: 0.7},
		{Seed: 5, Order: 2, Alphabet: 6, Branching: 3, ZipfExponent: 2},
		{Seed: 6, Order: 3, Alphabet: 4, Branching: 1, ZipfExponent: 1, Hierarchy: 8},
		{Seed: 7, Order: 3, Alphabet: 4, Branching: 4, ZipfExponent: 0},
		{Seed: 8, Order: 2, Alphabet: 9, Branching: 2, ZipfExponent: 8, Hierarchy: 8}, // tiny probabilities
	} {
		s := mustSynthetic(t, cfg, 1)
		n := s.contexts
		// Rows 0..n-2 of (P - I)^T pi = 0, last row sum(pi) = 1.
		a := mat.NewDense(n, n, nil)
		for c := range n {
			a.Set(c, c, -1)
		}
		for c := range n {
			for r := range int(s.count[c]) {
				slot := c*s.stride + r
				to := int(s.next[slot])
				a.Set(to, c, a.At(to, c)+s.prob[slot])
			}
		}
		b := mat.NewVecDense(n, nil)
		for c := range n {
			a.Set(n-1, c, 1)
		}
		b.SetVec(n-1, 1)
		var pi mat.VecDense
		if err := pi.SolveVec(a, b); err != nil {
			t.Fatalf("%+v: %v", cfg, err)
		}
		rate := 0.0
		for c := range n {
			if d := math.Abs(pi.AtVec(c) - s.pi[c]); d > 1e-11 {
				t.Errorf("%+v: pi[%d] = %v, exact %v", cfg, c, s.pi[c], pi.AtVec(c))
			}
			for r := range int(s.count[c]) {
				p := s.prob[c*s.stride+r]
				rate -= pi.AtVec(c) * p * math.Log(p)
			}
		}
		if d := math.Abs(rate - s.rate); d > 1e-11 {
			t.Errorf("%+v: entropy rate %v, exact %v", cfg, s.rate, rate)
		}
		if s.residual > 1e-12 {
			t.Errorf("%+v: residual |pi P - pi| = %v", cfg, s.residual)
		}
		// The de Bruijn successor is always possible, and at most one
		// successor beyond the drawn 1..2*Branching-1.
		succ := deBruijnSuccessors(cfg.Alphabet, cfg.Order)
		for c := range n {
			cnt := int(s.count[c])
			if cnt < 1 || cnt > min(cfg.Alphabet, 2*cfg.Branching) {
				t.Fatalf("%+v: context %d has %d successors", cfg, c, cnt)
			}
			found := false
			for r := range cnt {
				found = found || int(s.symIdx[c*s.stride+r]) == succ[c]
			}
			if !found {
				t.Fatalf("%+v: context %d lacks its de Bruijn successor", cfg, c)
			}
		}
	}
}

// TestTrueModelLossMatchesEntropyRate: along one long sample path, the mean
// log-loss of the true transition probabilities converges to the entropy
// rate. The tolerance is 5 standard errors, estimated from the spread of the
// means of 200 blocks (blocks of 10^4 tokens are far longer than the chain's
// memory, so block means are nearly independent).
func TestTrueModelLossMatchesEntropyRate(t *testing.T) {
	n := 2_000_000
	if testing.Short() {
		n = 400_000
	}
	for _, cfg := range []SyntheticConfig{
		DefaultConfig().Synthetic,
		{Seed: 9, Order: 2, Alphabet: 32, Branching: 6, ZipfExponent: 0.5, Hierarchy: 1},
		{Seed: 10, Order: 4, Alphabet: 6, Branching: 2, ZipfExponent: 1.5},
	} {
		s := mustSynthetic(t, cfg, 1)
		path := s.Generate(n, 42)
		symbol := make(map[byte]int)
		for i, b := range s.alphabet {
			symbol[b] = i
		}
		// Per-context probability of each symbol, from the table.
		prob := make([]float64, s.contexts*s.a)
		for c := range s.contexts {
			for r := range int(s.count[c]) {
				slot := c*s.stride + r
				prob[c*s.a+int(s.symIdx[slot])] = s.prob[slot]
			}
		}
		const blocks = 200
		per := (n - s.k) / blocks
		means := make([]float64, blocks)
		ctx := 0
		for i := range s.k {
			ctx = ctx*s.a + symbol[path[i]]
		}
		for b := range blocks {
			sum := 0.0
			for i := s.k + b*per; i < s.k+(b+1)*per; i++ {
				x := symbol[path[i]]
				p := prob[ctx*s.a+x]
				if p == 0 {
					t.Fatalf("%+v: sample emits impossible symbol at %d", cfg, i)
				}
				sum -= math.Log(p)
				ctx = (ctx*s.a + x) % s.contexts
			}
			means[b] = sum / float64(per)
		}
		mean, se := meanSE(means)
		if math.Abs(mean-s.rate) > 5*se || se > 0.01 {
			t.Errorf("%+v: true-model loss %.5f ± %.5f nats, entropy rate %.5f", cfg, mean, se, s.rate)
		}
		t.Logf("%+v: loss %.5f ± %.5f, rate %.5f nats (%.4f bits)", cfg, mean, se, s.rate, s.EntropyRateBits())
	}
}

func meanSE(xs []float64) (mean, se float64) {
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	v := 0.0
	for _, x := range xs {
		v += (x - mean) * (x - mean)
	}
	v /= float64(len(xs) - 1)
	return mean, math.Sqrt(v / float64(len(xs)))
}

// TestFloorMatchesWindowLoss: the window-limited true model's loss on
// evaluation windows averages to Floor(seqLen).
func TestFloorMatchesWindowLoss(t *testing.T) {
	s := mustSynthetic(t, SyntheticConfig{Seed: 2, Order: 3, Alphabet: 8, Branching: 3, ZipfExponent: 1}, 1)
	for _, seqLen := range []int{1, 2, 3, 8} {
		batches, err := s.EvalBatches(400, Shape{Batch: 50, SeqLen: seqLen})
		if err != nil {
			t.Fatal(err)
		}
		means := make([]float64, len(batches))
		for i, b := range batches {
			for r := range b.Batch {
				in, tg := b.Row(r)
				ce, err := s.CrossEntropy(append(slices.Clone(in), tg[len(tg)-1]))
				if err != nil {
					t.Fatal(err)
				}
				means[i] += ce / float64(b.Batch)
			}
		}
		mean, se := meanSE(means)
		floor, ok := s.Floor(seqLen)
		if !ok || math.Abs(mean-floor) > 5*se {
			t.Errorf("T=%d: window loss %.5f ± %.5f, Floor %.5f", seqLen, mean, se, floor)
		}
	}
	// Closed forms: Floor(1) = H2 - H1, Floor decreases towards the rate.
	if f, _ := s.Floor(1); math.Abs(f-(s.blockH[1]-s.blockH[0])) > 1e-12 {
		t.Errorf("Floor(1) = %v, want H2-H1 = %v", f, s.blockH[1]-s.blockH[0])
	}
	prev := math.Inf(1)
	for _, T := range []int{1, 2, 3, 4, 16, 64, 1 << 20} {
		f, _ := s.Floor(T)
		if f > prev+1e-12 || f < s.rate {
			t.Errorf("Floor(%d) = %v: not in [rate %v, Floor of shorter %v]", T, f, s.rate, prev)
		}
		prev = f
	}
	if f, _ := s.Floor(1 << 20); f-s.rate > 1e-5 {
		t.Errorf("Floor(2^20) = %v, rate %v", f, s.rate)
	}
	if _, ok := s.Floor(0); ok {
		t.Error("Floor(0) reported ok")
	}
}

// TestDefaultLanguageLearnable guards the properties the default was chosen
// for: the loss ladder falls in clear steps from the unigram entropy to the
// rate (no plateau that needs all three symbols at once), the floor is far
// below ln 256, and an add-0.05 counting model of the true order gets within
// 0.1 nats of the rate after 250k tokens (500 steps of 8x64).
func TestDefaultLanguageLearnable(t *testing.T) {
	s := mustSynthetic(t, DefaultConfig().Synthetic, 1)
	ladder := s.ConditionalEntropies()
	t.Logf("ladder %.3f", ladder)
	for j := 1; j < len(ladder); j++ {
		if ladder[j-1]-ladder[j] < 0.3 {
			t.Errorf("H(next | %d) = %.3f is not clearly below H(next | %d) = %.3f", j, ladder[j], j-1, ladder[j-1])
		}
	}
	if f, _ := s.Floor(64); f < 0.8 || f > 2 {
		t.Errorf("floor %.3f outside 0.8..2 nats", f)
	}
	const n = 250_000
	path := s.Generate(n+50_000, 3)
	symbol := make(map[byte]int)
	for i, b := range s.alphabet {
		symbol[b] = i
	}
	counts := make([]float64, s.contexts*s.a)
	totals := make([]float64, s.contexts)
	ctx, loss := 0, 0.0
	for i, b := range path {
		x := symbol[b]
		if i >= s.k {
			if i >= n {
				loss -= math.Log((counts[ctx*s.a+x] + 0.05) / (totals[ctx] + 0.05*float64(s.a)))
			}
			counts[ctx*s.a+x]++
			totals[ctx]++
		}
		ctx = (ctx*s.a + x) % s.contexts
	}
	excess := loss/float64(len(path)-n) - s.rate
	if excess > 0.1 {
		t.Errorf("counting model after %d tokens: %.3f nats above the rate", n, excess)
	}
}

func TestCrossEntropyErrors(t *testing.T) {
	s := mustSynthetic(t, DefaultConfig().Synthetic, 1)
	for _, toks := range [][]int32{
		{int32(s.alphabet[0])},               // too short
		{int32(s.alphabet[0]), int32('~')},   // outside the alphabet
		{int32(s.alphabet[0]), 300},          // not a byte
		Bytes{}.EncodeString(" e t a o i n"), // some transition is impossible
	} {
		if _, err := s.CrossEntropy(toks); err == nil {
			t.Errorf("CrossEntropy(%v): no error", toks)
		}
	}
}

// TestSyntheticKnobsMoveSomething: every knob changes the language, its
// digest and its entropy rate or its bytes.
func TestSyntheticKnobsMoveSomething(t *testing.T) {
	base := DefaultConfig().Synthetic
	ref := mustSynthetic(t, base, 1)
	refBytes := ref.Generate(256, 1)
	for name, mod := range map[string]func(*SyntheticConfig){
		"seed":          func(c *SyntheticConfig) { c.Seed++ },
		"order":         func(c *SyntheticConfig) { c.Order = 2 },
		"alphabet":      func(c *SyntheticConfig) { c.Alphabet = 20 },
		"branching":     func(c *SyntheticConfig) { c.Branching = 5 },
		"hierarchy":     func(c *SyntheticConfig) { c.Hierarchy = 0.5 },
		"zipf_exponent": func(c *SyntheticConfig) { c.ZipfExponent = 0.5 },
	} {
		cfg := base
		mod(&cfg)
		s := mustSynthetic(t, cfg, 1)
		if s.Digest() == ref.Digest() {
			t.Errorf("%s: digest unchanged", name)
		}
		if s.rate == ref.rate && string(s.Generate(256, 1)) == string(refBytes) {
			t.Errorf("%s: entropy rate and bytes unchanged", name)
		}
	}
	// The run seed moves the node streams but not the language.
	other := mustSynthetic(t, base, 2)
	if other.Digest() != ref.Digest() || other.rate != ref.rate {
		t.Error("run seed changed the language")
	}
	a, b := streamBatch(t, ref, 0, 1, 0), streamBatch(t, other, 0, 1, 0)
	if slices.Equal(a.Inputs, b.Inputs) {
		t.Error("run seed did not change node 0's batch")
	}
}

func streamBatch(t testing.TB, c Corpus, node, nodes int, step int64) *Batch {
	t.Helper()
	s, err := c.NodeStream(node, nodes, Shape{Batch: 4, SeqLen: 32})
	if err != nil {
		t.Fatal(err)
	}
	var b Batch
	s.BatchAt(step, &b)
	return &b
}

func TestSyntheticStreams(t *testing.T) {
	s := mustSynthetic(t, DefaultConfig().Synthetic, 7)
	shape := Shape{Batch: 4, SeqLen: 16}
	checkStreamContract(t, s, 72, shape)

	// Rows are indexed by step*Batch+row, so a node's rows do not depend on
	// the batch size and a longer sequence extends a shorter one.
	wide, _ := s.NodeStream(3, 72, Shape{Batch: 8, SeqLen: 16})
	narrow, _ := s.NodeStream(3, 72, Shape{Batch: 4, SeqLen: 16})
	long, _ := s.NodeStream(3, 72, Shape{Batch: 4, SeqLen: 40})
	var w, n0, n1, l Batch
	wide.BatchAt(0, &w)
	narrow.BatchAt(0, &n0)
	narrow.BatchAt(1, &n1)
	long.BatchAt(0, &l)
	u, err := Concat(&n0, &n1)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(u.Inputs, w.Inputs) || !slices.Equal(u.Targets, w.Targets) {
		t.Error("two narrow batches differ from one wide batch")
	}
	for r := range 4 {
		a, _ := n0.Row(r)
		b, _ := l.Row(r)
		if !slices.Equal(a, b[:16]) {
			t.Errorf("row %d: SeqLen 40 does not extend SeqLen 16", r)
		}
	}
	// Every emitted token is in the alphabet.
	for _, x := range w.Inputs {
		if !slices.Contains(s.alphabet, byte(x)) {
			t.Fatalf("token %d outside the alphabet", x)
		}
	}
	if _, err := s.NodeStream(72, 72, shape); err == nil {
		t.Error("node 72 of 72: no error")
	}
	if _, err := s.NodeStream(0, 1, Shape{Batch: 0, SeqLen: 4}); err == nil {
		t.Error("batch 0: no error")
	}
	if _, err := s.EvalBatches(0, shape); err == nil {
		t.Error("0 eval batches: no error")
	}
}

// checkStreamContract checks what every corpus promises: determinism,
// Next == BatchAt, targets are inputs shifted by one, distinct nodes see
// distinct batches, evaluation batches are independent of the run seed and
// unlike training batches.
func checkStreamContract(t *testing.T, c Corpus, nodes int, shape Shape) {
	t.Helper()
	seen := make(map[string]int)
	for node := range nodes {
		s, err := c.NodeStream(node, nodes, shape)
		if err != nil {
			t.Fatal(err)
		}
		if s.Node() != node || s.Shape() != shape {
			t.Fatalf("stream reports node %d shape %v", s.Node(), s.Shape())
		}
		var next, at Batch
		for k := range int64(3) {
			if s.Step() != k {
				t.Fatalf("Step() = %d, want %d", s.Step(), k)
			}
			s.Next(&next)
			s.BatchAt(k, &at)
			if !slices.Equal(next.Inputs, at.Inputs) || !slices.Equal(next.Targets, at.Targets) {
				t.Fatalf("node %d step %d: Next differs from BatchAt", node, k)
			}
			if len(next.Inputs) != shape.Tokens() || next.Shape != shape {
				t.Fatalf("batch shape %v with %d inputs", next.Shape, len(next.Inputs))
			}
			for r := range shape.Batch {
				in, tg := next.Row(r)
				if !slices.Equal(in[1:], tg[:len(tg)-1]) {
					t.Fatalf("node %d step %d row %d: targets are not inputs shifted", node, k, r)
				}
				for _, x := range tg {
					if x < 0 || int(x) >= c.Vocab() {
						t.Fatalf("token %d outside vocab %d", x, c.Vocab())
					}
				}
			}
			key := string(int32Bytes(next.Inputs))
			if prev, dup := seen[key]; dup {
				t.Fatalf("node %d step %d repeats a batch of node %d", node, k, prev)
			}
			seen[key] = node
		}
		s.SetStep(1)
		s.Next(&next)
		s.BatchAt(1, &at)
		if !slices.Equal(next.Inputs, at.Inputs) || s.Step() != 2 {
			t.Fatal("SetStep(1) then Next is not batch 1")
		}
	}
	// Rows are numbered step*Batch+row: one stream of a double batch yields
	// the union of two consecutive single batches.
	double := Shape{Batch: 2 * shape.Batch, SeqLen: shape.SeqLen}
	sd, err := c.NodeStream(0, nodes, double)
	if err != nil {
		t.Fatal(err)
	}
	ss, _ := c.NodeStream(0, nodes, shape)
	var d, p0, p1 Batch
	sd.BatchAt(1, &d)
	ss.BatchAt(2, &p0)
	ss.BatchAt(3, &p1)
	if u, err := Concat(&p0, &p1); err != nil || !slices.Equal(u.Inputs, d.Inputs) || !slices.Equal(u.Targets, d.Targets) {
		t.Errorf("double batch 1 is not the union of single batches 2 and 3 (%v)", err)
	}
	// Same config and seed: same batches.
	s1, _ := c.NodeStream(nodes-1, nodes, shape)
	s2, _ := c.NodeStream(nodes-1, nodes, shape)
	var b1, b2 Batch
	s1.BatchAt(5, &b1)
	s2.BatchAt(5, &b2)
	if !slices.Equal(b1.Inputs, b2.Inputs) {
		t.Error("two streams of one node differ")
	}
	ev1, err := c.EvalBatches(2, shape)
	if err != nil {
		t.Fatal(err)
	}
	ev2, _ := c.EvalBatches(2, shape)
	for i := range ev1 {
		if !slices.Equal(ev1[i].Inputs, ev2[i].Inputs) {
			t.Error("EvalBatches differ between calls")
		}
		if _, dup := seen[string(int32Bytes(ev1[i].Inputs))]; dup {
			t.Error("an evaluation batch equals a training batch")
		}
	}
}

func int32Bytes(xs []int32) []byte {
	out := make([]byte, 0, 4*len(xs))
	for _, x := range xs {
		out = append(out, byte(x), byte(x>>8), byte(x>>16), byte(x>>24))
	}
	return out
}

func TestSyntheticEvalIndependentOfRunSeed(t *testing.T) {
	a := mustSynthetic(t, DefaultConfig().Synthetic, 1)
	b := mustSynthetic(t, DefaultConfig().Synthetic, 99)
	shape := Shape{Batch: 3, SeqLen: 20}
	ea, _ := a.EvalBatches(3, shape)
	eb, _ := b.EvalBatches(3, shape)
	for i := range ea {
		if !slices.Equal(ea[i].Inputs, eb[i].Inputs) {
			t.Fatal("evaluation batches depend on the run seed")
		}
	}
}
