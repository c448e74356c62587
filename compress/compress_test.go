package compress

import (
	"bytes"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/locosim/locosim/tensor"
)

func TestChunkK(t *testing.T) {
	for _, tc := range []struct {
		rule   string
		K      int
		chunk  int
		want   int
		reason string
	}{
		{KRescale, 64, 4096, 64, "full block"},
		{KRescale, 128, 4096, 128, "full block, K=128"},
		{KRescale, 64, 2048, 32, "32x64 block"},
		{KRescale, 64, 64, 1, "vector run: 64·64/4096 = 1"},
		{KRescale, 64, 32, 1, "0.5 rounds to even 0, floored at 1"},
		{KRescale, 64, 96, 2, "1.5 rounds to even 2"},
		{KRescale, 64, 160, 2, "2.5 rounds to even 2"},
		{KRescale, 64, 1, 1, "one element"},
		{KRescale, 4096, 100, 100, "density 1"},
		{KTemplar, 64, 4096, 64, "full block"},
		{KTemplar, 64, 64, 64, "small vector goes dense"},
		{KTemplar, 63, 4096, 62, "forced even"},
		{KTemplar, 1, 4096, 2, "at least 2"},
		{KTemplar, 64, 1, 1, "capped at the chunk"},
	} {
		c := DefaultConfig()
		c.KRule, c.TopKPerChunk = tc.rule, tc.K
		if got := c.chunkK(tc.chunk); got != tc.want {
			t.Errorf("%s K=%d chunk=%d: k = %d, want %d (%s)", tc.rule, tc.K, tc.chunk, got, tc.want, tc.reason)
		}
	}
	c := DefaultConfig()
	c.Density = 0.03125
	if got := c.chunkK(4096); got != 128 {
		t.Errorf("density 3.125%%: k = %d, want 128", got)
	}
}

func TestPlanGeometry(t *testing.T) {
	l := tensor.Pack(
		[]string{"m", "r", "v", "p", "c", "s"},
		[][]int{{128, 192}, {100, 50}, {96}, {97}, {3, 10, 24}, {1}},
	)
	cfg := DefaultConfig()
	for _, tc := range []struct {
		i                 int
		h, w, nChunks, k  int
		kLast, total, len int
	}{
		{0, 64, 64, 6, 64, 64, 384, 4096}, // 2 x 3 blocks of 64x64
		{1, 50, 50, 2, 39, 39, 78, 2500},  // largest divisors of 100 and 50 up to 64
		{2, 1, 48, 2, 1, 1, 2, 48},        // 96 = 2 runs of 48
		{3, 1, 1, 97, 1, 1, 97, 1},        // a prime length: runs of 1 (dense)
		{4, 30, 24, 1, 11, 11, 11, 720},   // 3-D folds to 30 x 24
		{5, 1, 1, 1, 1, 1, 1, 1},          // scalar
	} {
		p := newPlan(l[tc.i], cfg, true)
		if p.h != tc.h || p.w != tc.w || p.nChunks != tc.nChunks || p.k != tc.k || p.kLast != tc.kLast || p.total != tc.total || p.lenLast != tc.len {
			t.Errorf("%s: h=%d w=%d chunks=%d k=%d kLast=%d total=%d len=%d, want %v",
				p.name, p.h, p.w, p.nChunks, p.k, p.kLast, p.total, p.lenLast, tc)
		}
		// local and pos are inverse, and chunks tile the tensor exactly.
		seen := make([]bool, p.size)
		for ch := range p.nChunks {
			base, n, _ := p.chunk(ch)
			for i := range n {
				pos := p.pos(base, i)
				if seen[pos] {
					t.Fatalf("%s: position %d in two chunks", p.name, pos)
				}
				seen[pos] = true
				if c2, i2 := p.local(pos); c2 != ch || i2 != i || p.localIn(base, pos) != i {
					t.Fatalf("%s: local(%d) = (%d,%d), want (%d,%d)", p.name, pos, c2, i2, ch, i)
				}
			}
		}
		if slices.Contains(seen, false) {
			t.Errorf("%s: chunks do not cover the tensor", p.name)
		}
	}
	cfg.Chunking = ChunkFlat
	p := newPlan(tensor.Spec{Name: "x", Shape: []int{100, 100}}, cfg, true)
	if p.nChunks != 3 || p.lenLast != 10000-2*4096 || p.k != 64 || p.kLast != 28 {
		t.Errorf("flat: chunks=%d last=%d k=%d kLast=%d", p.nChunks, p.lenLast, p.k, p.kLast)
	}
}

func TestTopKMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var s selector
	for trial := range 300 {
		n := 1 + rng.IntN(5000)
		k := 1 + rng.IntN(n)
		keys := make([]uint32, n)
		for i := range keys {
			switch trial % 4 {
			case 0: // gaussian magnitudes
				keys[i] = math.Float32bits(float32(math.Abs(rng.NormFloat64()))) & absMask
			case 1: // heavy ties
				keys[i] = uint32(rng.IntN(4)) << 20
			case 2: // ties in the low bits only
				keys[i] = 0x3f800000 | uint32(rng.IntN(3))
			default: // all zero
			}
		}
		got := s.topK(keys, k, nil)
		order := make([]int32, n)
		for i := range order {
			order[i] = int32(i)
		}
		sort.SliceStable(order, func(a, b int) bool { return keys[order[a]] > keys[order[b]] })
		want := slices.Clone(order[:k])
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("trial %d (n=%d k=%d): topK differs from a stable sort", trial, n, k)
		}
	}
}

func TestRandomK(t *testing.T) {
	var s selector
	rng := rand.New(rand.NewPCG(3, 4))
	hits := make([]int, 100)
	for range 2000 {
		for _, k := range []int{1, 10, 70, 100} {
			got := s.randomK(100, k, rng, nil)
			if len(got) != k || !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != k {
				t.Fatalf("randomK(100, %d) = %v: want %d distinct ascending", k, got, k)
			}
			if k == 10 {
				for _, i := range got {
					hits[i]++
				}
			}
		}
	}
	for i, h := range hits { // each index expected 200 times
		if h < 130 || h > 270 {
			t.Fatalf("index %d drawn %d times out of an expected 200", i, h)
		}
	}
}

func TestQuantizeHandComputed(t *testing.T) {
	for _, tc := range []struct {
		in        []float32
		codes     []uint8
		centroids []float32
		mean      float32
		out       []float32
	}{
		// μ=0, σ=√(20/3), s=6σ/4≈3.873: c/s+2 = 1.23, 1.74, 2.26, 2.77.
		{[]float32{-3, -1, 1, 3}, []uint8{1, 2, 2, 3}, []float32{0, -3, 0, 3}, 0, []float32{-3, 0, 0, 3}},
		// μ=4, c=(-3,-2,-1,6), σ=√(50/3), s≈6.124: c/s+2 = 1.51, 1.67, 1.84, 2.98.
		{[]float32{1, 2, 3, 10}, []uint8{2, 2, 2, 3}, []float32{0, 0, -2, 6}, 4, []float32{2, 2, 2, 10}},
		// One value: σ = 0, so the scale falls back to 1 and c = 0 maps to code 2.
		{[]float32{5}, []uint8{2}, []float32{0, 0, 0, 0}, 5, []float32{5}},
	} {
		vals := slices.Clone(tc.in)
		codes, q := quantize(vals, 2, 6, nil)
		if !slices.Equal(codes, tc.codes) || !slices.Equal(q.Centroids, tc.centroids) || q.Mean != tc.mean || !slices.Equal(vals, tc.out) {
			t.Errorf("quantize(%v) = codes %v centroids %v mean %v values %v; want %v %v %v %v",
				tc.in, codes, q.Centroids, q.Mean, vals, tc.codes, tc.centroids, tc.mean, tc.out)
		}
	}
	vals := []float32{-3, -1, 1, 3}
	_, q := quantize(vals, 2, 6, nil)
	if want := float32(6 * math.Sqrt(20.0/3) / 4); !near(float64(q.Scale), float64(want), 1e-6) || !near(float64(q.Std), math.Sqrt(20.0/3), 1e-6) {
		t.Errorf("scale %v std %v, want %v %v", q.Scale, q.Std, want, math.Sqrt(20.0/3))
	}
}

// TestErrorFeedbackConservation checks buffer after + what was sent ==
// β·buffer before + α·Δ, for every kind with error feedback.
func TestErrorFeedbackConservation(t *testing.T) {
	l := oddLayout()
	for name, cfg := range allConfigs() {
		switch cfg.Kind {
		case SparseLoCo, TopK, Quantize:
		default:
			continue
		}
		if !cfg.ErrorFeedback {
			continue
		}
		cfg.ErrorDecay, cfg.OuterLR = 0.9, 0.7
		c := mustNew(t, cfg, l)
		st := c.NewState()
		rng := rand.New(rand.NewPCG(5, 6))
		for round := range 3 {
			before := slices.Clone(st.Error)
			delta := randn(rng, l.Size(), 0.01)
			p, err := c.Compress(st, delta, DeriveSeed(1, 0, round))
			if err != nil {
				t.Fatal(err)
			}
			sent := make([]float32, l.Size())
			for i, tp := range p.Tensors {
				off := l[i].Offset
				for j, v := range tp.Values {
					if tp.Indices == nil {
						sent[off+j] += v
					} else {
						sent[off+int(tp.Indices[j])] += v
					}
				}
			}
			for j := range sent {
				lhs := float64(st.Error[j]) + float64(sent[j])
				rhs := 0.9*float64(before[j]) + 0.7*float64(delta[j])
				if math.Abs(lhs-rhs) > 1e-6*math.Max(1e-2, math.Abs(rhs)) {
					t.Fatalf("%s round %d element %d: e+sent = %g, β·e+α·Δ = %g", name, round, j, lhs, rhs)
				}
			}
		}
	}
}

// TestDensityOneSendsDelta: with every value kept and no quantization,
// SparseLoCo sends the pseudo-gradient exactly and keeps no residual.
func TestDensityOneSendsDelta(t *testing.T) {
	for _, chunking := range []string{ChunkBlocks, ChunkFlat} {
		cfg := DefaultConfig()
		cfg.TopKPerChunk, cfg.QuantBits, cfg.Chunking = 4096, 0, chunking
		l := oddLayout()
		c := mustNew(t, cfg, l)
		st := c.NewState()
		delta := randn(rand.New(rand.NewPCG(7, 8)), l.Size(), 1)
		p, err := c.Compress(st, delta, 0)
		if err != nil {
			t.Fatal(err)
		}
		for i, tp := range p.Tensors {
			v := l.View(delta, i)
			if len(tp.Values) != len(v) {
				t.Fatalf("%s %s: %d values, want %d", chunking, tp.Name, len(tp.Values), len(v))
			}
			for j, pos := range tp.Indices {
				if tp.Values[j] != v[pos] {
					t.Fatalf("%s %s[%d] = %v, want %v", chunking, tp.Name, pos, tp.Values[j], v[pos])
				}
			}
		}
		for j, e := range st.Error {
			if e != 0 {
				t.Fatalf("%s: residual %v at %d", chunking, e, j)
			}
		}
	}
}

func TestTopKSelectsLargest(t *testing.T) {
	cfg := DefaultConfig()
	cfg.QuantBits = 0
	l := tensor.Pack([]string{"w"}, [][]int{{64, 128}})
	c := mustNew(t, cfg, l)
	st := c.NewState()
	delta := randn(rand.New(rand.NewPCG(9, 9)), l.Size(), 1)
	p, err := c.Compress(st, delta, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Two 64x64 blocks: the left and right halves of each row.
	tp := p.Tensors[0]
	for b := range 2 {
		var mags []float64
		for r := range 64 {
			for col := b * 64; col < b*64+64; col++ {
				mags = append(mags, math.Abs(float64(delta[r*128+col])))
			}
		}
		slices.Sort(mags)
		thr := mags[len(mags)-64]
		for _, pos := range tp.Indices[b*64 : b*64+64] {
			col := int(pos) % 128
			if col/64 != b || math.Abs(float64(delta[pos])) < thr {
				t.Fatalf("block %d: position %d is not among the block's top 64", b, pos)
			}
		}
	}
}

func TestNoErrorFeedbackForgets(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ErrorFeedback = false
	l := oddLayout()
	c := mustNew(t, cfg, l)
	rng := rand.New(rand.NewPCG(1, 1))
	d1, d2 := randn(rng, l.Size(), 1), randn(rng, l.Size(), 1)
	a, b := c.NewState(), c.NewState()
	if _, err := c.Compress(a, d1, 0); err != nil {
		t.Fatal(err)
	}
	pa, _ := c.Compress(a, d2, 0)
	pb, _ := c.Compress(b, d2, 0)
	if !reflect.DeepEqual(pa, pb) {
		t.Fatal("without error feedback the previous round changed the payload")
	}
	cfg.ErrorFeedback = true
	c = mustNew(t, cfg, l)
	a, b = c.NewState(), c.NewState()
	c.Compress(a, d1, 0)
	pa, _ = c.Compress(a, d2, 0)
	pb, _ = c.Compress(b, d2, 0)
	if reflect.DeepEqual(pa, pb) {
		t.Fatal("with error feedback the previous round did not matter")
	}
}

func TestRandomKDeterminism(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Selection = SelectRandomK
	l := oddLayout()
	c := mustNew(t, cfg, l)
	delta := randn(rand.New(rand.NewPCG(2, 2)), l.Size(), 1)
	p1, _ := c.Compress(c.NewState(), delta, DeriveSeed(42, 3, 7))
	p2, _ := c.Compress(c.NewState(), delta, DeriveSeed(42, 3, 7))
	p3, _ := c.Compress(c.NewState(), delta, DeriveSeed(42, 4, 7))
	if !reflect.DeepEqual(p1, p2) {
		t.Fatal("same seed, different payloads")
	}
	if reflect.DeepEqual(p1.Tensors[0].Indices, p3.Tensors[0].Indices) {
		t.Fatal("different nodes drew the same random indices")
	}
}

func TestRoundTrip(t *testing.T) {
	for _, l := range []tensor.Layout{oddLayout(), gptLayout(1)} {
		for name, cfg := range allConfigs() {
			c := mustNew(t, cfg, l)
			st := c.NewState()
			rng := rand.New(rand.NewPCG(11, 12))
			for round := range 2 {
				delta := randn(rng, l.Size(), 0.02)
				p, err := c.Compress(st, delta, uint64(round))
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if err := c.Validate(p); err != nil {
					t.Fatalf("%s: fresh payload invalid: %v", name, err)
				}
				b, err := c.Encode(p)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				q, err := c.Decode(b)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if !reflect.DeepEqual(p, q) {
					t.Fatalf("%s: decode(encode(p)) != p", name)
				}
				b2, _ := c.Encode(q)
				if !bytes.Equal(b, b2) {
					t.Fatalf("%s: encoding is not canonical", name)
				}
				sz, err := c.Size(p)
				if err != nil || sz.EncodedBytes != len(b) || sz.IdealBits <= 0 || sz.Ratio() <= 0 {
					t.Fatalf("%s: size %+v, %v", name, sz, err)
				}
			}
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	l := oddLayout()
	cfg := DefaultConfig()
	c := mustNew(t, cfg, l)
	p, _ := c.Compress(c.NewState(), randn(rand.New(rand.NewPCG(1, 2)), l.Size(), 1), 0)
	good, _ := c.Encode(p)
	mod := func(f func(b []byte) []byte) []byte { return f(slices.Clone(good)) }
	// The first tensor "w" starts right after the header and tensor count.
	wStart := headerLen + 1
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "shorter than its header"},
		{"magic", mod(func(b []byte) []byte { b[0] = 'X'; return b }), "magic"},
		{"version", mod(func(b []byte) []byte { b[3] = 2; return b }), "version"},
		{"kind", mod(func(b []byte) []byte { b[4] = kindCode(Dense); return b }), "kind"},
		{"encoding", mod(func(b []byte) []byte { b[5] = 7; return b }), "index encoding"},
		{"bits", mod(func(b []byte) []byte { b[7] = 3; return b }), "bits"},
		{"tensor count", mod(func(b []byte) []byte { b[headerLen] = 5; return b }), "tensors"},
		{"name", mod(func(b []byte) []byte { b[wStart+1] = 'x'; return b }), "names it"},
		{"shape", mod(func(b []byte) []byte { b[wStart+4]++; return b }), "shape"},
		{"trailing", mod(func(b []byte) []byte { return append(b, 0) }), "trailing"},
		{"truncated", good[:len(good)-1], "truncated"},
		{"index order", mod(func(b []byte) []byte {
			// w's count (384) is 2 bytes, then the section length (2 bytes);
			// the first two 12-bit indices share bytes 0..2: swap them.
			sec := wStart + 2 + 5 + 2 + 2
			i0 := int(b[sec]) | int(b[sec+1]&0xf)<<8
			i1 := int(b[sec+1])>>4 | int(b[sec+2])<<4
			b[sec], b[sec+1], b[sec+2] = byte(i1), byte(i1>>8)|byte(i0<<4), byte(i0>>4)
			return b
		}), "ascending"},
	} {
		_, err := c.Decode(tc.b)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Decode error %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
	for n := range len(good) {
		if _, err := c.Decode(good[:n]); err == nil {
			t.Fatalf("a payload cut to %d of %d bytes decoded", n, len(good))
		}
	}
	// A NaN mean.
	bad := p.Clone()
	bad.Tensors[1].Quant.Mean = float32(math.NaN())
	if err := c.Validate(bad); err == nil {
		t.Error("Validate accepted a NaN mean")
	}
}

func TestValidateTransforms(t *testing.T) {
	l := oddLayout()
	c := mustNew(t, DefaultConfig(), l)
	p, _ := c.Compress(c.NewState(), randn(rand.New(rand.NewPCG(1, 3)), l.Size(), 1), 0)
	flipped := p.Clone()
	flipped.Scale(-10)
	if err := c.Validate(flipped); err != nil {
		t.Fatalf("a scaled, sign-flipped payload is well formed, got %v", err)
	}
	if got, want := flipped.Tensors[0].Values[0], -10*p.Tensors[0].Values[0]; !near(float64(got), float64(want), 1e-6) {
		t.Fatalf("Scale(-10): %v, want %v", got, want)
	}
	for _, tc := range []struct {
		name string
		f    func(p *Payload)
	}{
		{"values without codes", func(p *Payload) { p.Tensors[0].Values[0] += 1 }},
		{"duplicate index", func(p *Payload) { p.Tensors[0].Indices[1] = p.Tensors[0].Indices[0] }},
		{"index outside its chunk", func(p *Payload) { p.Tensors[0].Indices[0] = 64 }},
		{"dropped tensor", func(p *Payload) { p.Tensors = p.Tensors[1:] }},
		{"wrong kind", func(p *Payload) { p.Kind = Dense }},
		{"code out of range", func(p *Payload) { p.Tensors[0].Codes[0] = 4 }},
	} {
		q := p.Clone()
		tc.f(q)
		if err := c.Validate(q); err == nil {
			t.Errorf("%s: Validate accepted it", tc.name)
		}
	}
}

func TestNonFiniteInput(t *testing.T) {
	l := oddLayout()
	c := mustNew(t, DefaultConfig(), l)
	st := c.NewState()
	d := make([]float32, l.Size())
	d[l[2].Offset+5] = float32(math.Inf(1))
	if _, err := c.Compress(st, d, 0); err == nil || !strings.Contains(err.Error(), `"odd"`) {
		t.Fatalf("Compress with +Inf: %v", err)
	}
	if _, err := c.Compress(st, d[:10], 0); err == nil {
		t.Fatal("Compress accepted a short pseudo-gradient")
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	for key, f := range map[string]func(*Config){
		"kind":           func(c *Config) { c.Kind = "zip" },
		"topk_per_chunk": func(c *Config) { c.TopKPerChunk = 0 },
		"density":        func(c *Config) { c.Density = 2 },
		"chunking":       func(c *Config) { c.Chunking = "rows" },
		"chunk_size":     func(c *Config) { c.ChunkSize = 4000 },
		"error_decay":    func(c *Config) { c.ErrorDecay = math.NaN() },
		"outer_lr":       func(c *Config) { c.OuterLR = 0 },
		"quant_bits":     func(c *Config) { c.QuantBits = 9 },
		"selection":      func(c *Config) { c.Selection = "best" },
		"aggregation":    func(c *Config) { c.Aggregation = "sum" },
		"k_rule":         func(c *Config) { c.KRule = "other" },
		"index_encoding": func(c *Config) { c.IndexEncoding = "zstd" },
		"code_layout":    func(c *Config) { c.CodeLayout = "nibble" },
		"demo_beta":      func(c *Config) { c.DeMoBeta = 1.5 },
		"demo_topk":      func(c *Config) { c.DeMoTopK = 0 },
	} {
		c := DefaultConfig()
		f(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: Validate = %v, want an error naming the key", key, err)
		}
	}
}

// TestEveryKnobMoves: changing any compression key changes what is sent
// over two rounds (so that β and error feedback show).
func TestEveryKnobMoves(t *testing.T) {
	l := gptLayout(1)
	rng := rand.New(rand.NewPCG(6, 6))
	d1, d2 := randn(rng, l.Size(), 1), randn(rng, l.Size(), 1)
	send := func(cfg Config) []byte {
		c := mustNew(t, cfg, l)
		st := c.NewState()
		if _, err := c.Compress(st, d1, 1); err != nil {
			t.Fatal(err)
		}
		p, err := c.Compress(st, d2, 2)
		if err != nil {
			t.Fatal(err)
		}
		b, err := c.Encode(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	base := send(DefaultConfig())
	demo := DefaultConfig()
	demo.Kind = DeMo
	demoBase := send(demo)
	for key, f := range map[string]func(*Config){
		"topk_per_chunk":     func(c *Config) { c.TopKPerChunk = 32 },
		"density":            func(c *Config) { c.Density = 0.03 },
		"chunking":           func(c *Config) { c.Chunking = ChunkFlat },
		"chunk_size":         func(c *Config) { c.ChunkSize = 1024 },
		"error_decay":        func(c *Config) { c.ErrorDecay = 0.5 },
		"outer_lr":           func(c *Config) { c.OuterLR = 0.5 },
		"quant_bits":         func(c *Config) { c.QuantBits = 3 },
		"quant_range_sigmas": func(c *Config) { c.QuantRangeSigmas = 3 },
		"selection":          func(c *Config) { c.Selection = SelectRandomK },
		"error_feedback":     func(c *Config) { c.ErrorFeedback = false },
		"k_rule":             func(c *Config) { c.KRule = KTemplar },
		"index_encoding":     func(c *Config) { c.IndexEncoding = IndexEntropy },
		"code_layout":        func(c *Config) { c.CodeLayout = CodesByte },
		"kind":               func(c *Config) { c.Kind = TopK },
	} {
		cfg := DefaultConfig()
		f(&cfg)
		if bytes.Equal(send(cfg), base) {
			t.Errorf("%s: changing it did not change the payload", key)
		}
	}
	for key, f := range map[string]func(*Config){
		"demo_beta": func(c *Config) { c.DeMoBeta = 0.5 },
		"demo_topk": func(c *Config) { c.DeMoTopK = 16 },
	} {
		cfg := demo
		f(&cfg)
		if bytes.Equal(send(cfg), demoBase) {
			t.Errorf("%s: changing it did not change the DeMo payload", key)
		}
	}
}

// TestConcurrentCompress: one compressor serves many nodes at once, each
// with its own state, and the results do not depend on the interleaving.
func TestConcurrentCompress(t *testing.T) {
	l := oddLayout()
	for _, name := range []string{"sparseloco", "demo", "sparseloco-randomk"} {
		c := mustNew(t, allConfigs()[name], l)
		const nodes = 4
		deltas := make([][]float32, nodes)
		rng := rand.New(rand.NewPCG(8, 1))
		for i := range deltas {
			deltas[i] = randn(rng, l.Size(), 1)
		}
		want := make([]*Payload, nodes)
		for i := range nodes {
			want[i], _ = c.Compress(c.NewState(), deltas[i], DeriveSeed(1, i, 0))
		}
		got := make([]*Payload, nodes)
		done := make(chan int)
		for i := range nodes {
			go func() {
				got[i], _ = c.Compress(c.NewState(), deltas[i], DeriveSeed(1, i, 0))
				done <- i
			}()
		}
		for range nodes {
			<-done
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: concurrent Compress differs from sequential", name)
		}
	}
}

func TestRoundMagic(t *testing.T) {
	for _, x := range []float32{-1, -0.5, 0, 0.49999997, 0.5, 1.5, 2.5, 3.5, 2.4999998, 254.5, 255.5, 256} {
		if got, want := (x+roundMagic)-roundMagic, float32(math.RoundToEven(float64(x))); got != want {
			t.Errorf("round(%v) = %v, want %v", x, got, want)
		}
	}
}

// TestEFTopKMatchesSort: the fused error-feedback update and sampled top-k
// of one chunk give the same e and the same indices as the plain update
// followed by a stable sort, on data made to fool the sample (large values
// only at positions the sample skips, ties, zeros), for blocks and runs.
func TestEFTopKMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	var s selector
	for trial := range 400 {
		h := 1 + rng.IntN(64)
		w := 1 + rng.IntN(80)
		if trial%3 == 0 {
			h, w = 1, 1+rng.IntN(5000)
		}
		cols := w + rng.IntN(3)*w
		n := h * w
		k := 1 + rng.IntN(max(1, n/(1+rng.IntN(64))))
		k = min(k, n)
		size := h * cols
		e, d := make([]float32, size), make([]float32, size)
		for i := range e {
			switch trial % 5 {
			case 0: // gaussian
				e[i], d[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
			case 1: // large only where the stride-16 sample never looks, or
				// only where it does (then it overestimates the threshold)
				if on := i%16 == 0; on == (trial%2 == 0) && rng.IntN(8) == 0 {
					d[i] = 100
				} else {
					d[i] = float32(rng.NormFloat64() * 1e-3)
				}
			case 2: // heavy ties
				d[i] = float32(rng.IntN(3))
			case 3: // all zero
			default: // ties in the last bit
				d[i] = math.Float32frombits(0x3f800000 | uint32(rng.IntN(2)))
			}
		}
		var offs []int32
		if h > 1 {
			offs = make([]int32, n)
			for i := range offs {
				offs[i] = int32(i/w*cols + i%w)
			}
		}
		pos := func(l int) int {
			if offs == nil {
				return l
			}
			return int(offs[l])
		}
		beta, alpha := float32(0.95), float32(0.7)
		want := slices.Clone(e)
		for l := range n {
			want[pos(l)] = float32(beta*want[pos(l)]) + float32(alpha*d[pos(l)])
		}
		order := make([]int32, n)
		for i := range order {
			order[i] = int32(i)
		}
		key := func(l int32) uint32 { return math.Float32bits(want[pos(int(l))]) & absMask }
		sort.SliceStable(order, func(a, b int) bool { return key(order[a]) > key(order[b]) })
		wantIdx := slices.Clone(order[:k])
		slices.Sort(wantIdx)
		got := s.efTopK(e, d, 0, n, h, cols, k, beta, alpha, nil)
		if !slices.Equal(got, wantIdx) {
			t.Fatalf("trial %d (%dx%d of %d, k=%d): indices differ from a stable sort", trial, h, w, cols, k)
		}
		if !slices.Equal(e, want) {
			t.Fatalf("trial %d: error feedback differs from the plain update", trial)
		}
	}
}
