package model

import (
	"math"
	"strings"
	"testing"
)

func TestLearningRateSchedule(t *testing.T) {
	c := AdamWConfig{LR: 1e-3, MinLRFrac: 0.1, WarmupSteps: 10, TotalSteps: 110}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-12 }
	for _, tc := range []struct {
		step int
		want float64
	}{
		{0, 1e-4},             // warm-up starts at min_lr_frac·lr
		{5, 1e-4 + 0.5*9e-4},  // linear
		{10, 1e-3},            // peak
		{60, 1e-4 + 0.5*9e-4}, // half way down the cosine
		{110, 1e-4},           // floor
		{1000, 1e-4},          // stays there
	} {
		if got := c.LearningRate(tc.step); !near(got, tc.want) {
			t.Errorf("LearningRate(%d) = %v, want %v", tc.step, got, tc.want)
		}
	}
	prev := c.LearningRate(0)
	for s := 1; s <= 120; s++ {
		lr := c.LearningRate(s)
		if s <= 10 && lr < prev || s > 10 && lr > prev {
			t.Fatalf("schedule not monotone around step %d: %v after %v", s, lr, prev)
		}
		prev = lr
	}
	flat := AdamWConfig{LR: 2e-3, MinLRFrac: 0.1, WarmupSteps: 0}
	if flat.LearningRate(0) != 2e-3 || flat.LearningRate(1e6) != 2e-3 {
		t.Error("without warm-up and total_steps the rate must be constant")
	}
}

func TestAdamWConfigValidate(t *testing.T) {
	if err := DefaultAdamWConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key string
		mod func(*AdamWConfig)
	}{
		{"lr", func(c *AdamWConfig) { c.LR = 0 }},
		{"lr", func(c *AdamWConfig) { c.LR = math.NaN() }},
		{"beta1", func(c *AdamWConfig) { c.Beta1 = 1 }},
		{"beta2", func(c *AdamWConfig) { c.Beta2 = -0.1 }},
		{"eps", func(c *AdamWConfig) { c.Eps = 0 }},
		{"weight_decay", func(c *AdamWConfig) { c.WeightDecay = -1 }},
		{"grad_clip", func(c *AdamWConfig) { c.GradClip = -1 }},
		{"warmup_steps", func(c *AdamWConfig) { c.WarmupSteps = -1 }},
		{"min_lr_frac", func(c *AdamWConfig) { c.MinLRFrac = 1.5 }},
		{"total_steps", func(c *AdamWConfig) { c.TotalSteps = 5; c.WarmupSteps = 10 }},
	} {
		c := DefaultAdamWConfig()
		tc.mod(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%s: err = %v", tc.key, err)
		}
	}
}

func TestAdamWStep(t *testing.T) {
	m := perturbed(t, tiny, 21)
	cfg := DefaultAdamWConfig()
	cfg.WarmupSteps = 0
	cfg.LR = 0.01
	opt, err := NewAdamW(cfg, m.Layout())
	if err != nil {
		t.Fatal(err)
	}
	grads := make([]float32, len(m.Params()))
	for i := range grads {
		grads[i] = 1e-3 * float32(i%7-3) // small norm: no clipping
	}
	before := append([]float32(nil), m.Params()...)
	st, err := opt.Step(m.Params(), grads, 0)
	if err != nil {
		t.Fatal(err)
	}
	if st.Clipped || st.LR != 0.01 {
		t.Fatalf("stats %+v", st)
	}
	// First step: Δp = -lr·(sign(g) + wd·p) for matrices, -lr·sign(g) otherwise.
	for _, s := range m.Layout() {
		wd := 0.0
		if len(s.Shape) >= 2 {
			wd = 0.1
		}
		for i := s.Offset; i < s.Offset+s.Size(); i++ {
			g := float64(grads[i])
			sign := 0.0
			if g != 0 {
				sign = g / (math.Abs(g) + 1e-8)
			}
			want := float64(before[i]) - 0.01*(sign+wd*float64(before[i]))
			if math.Abs(float64(m.Params()[i])-want) > 1e-6 {
				t.Fatalf("%s: p = %v, want %v", s.Name, m.Params()[i], want)
			}
		}
	}
	// A large gradient is clipped to norm 1 and reported.
	for i := range grads {
		grads[i] = 10
	}
	st, _ = opt.Step(m.Params(), grads, 1)
	if !st.Clipped || math.Abs(st.GradNorm-10*math.Sqrt(float64(len(grads)))) > 1e-3*st.GradNorm {
		t.Fatalf("stats %+v", st)
	}
	grads[3] = float32(math.NaN())
	if _, err := opt.Step(m.Params(), grads, 2); err == nil {
		t.Fatal("a NaN gradient must be refused")
	}
	if _, err := opt.Step(m.Params()[:3], grads, 2); err == nil {
		t.Fatal("wrong lengths must be refused")
	}
}

func TestAdamWWorkersBitIdentical(t *testing.T) {
	m := perturbed(t, Config{Layers: 2, Heads: 2, Channels: 24, SeqLen: 8, Vocab: 30}, 5)
	grads := make([]float32, len(m.Params()))
	for i := range grads {
		grads[i] = float32(math.Sin(float64(i))) // norm > 1: clipping on
	}
	run := func(workers int) ([]float32, []float32) {
		p := m.Clone()
		opt, _ := NewAdamW(DefaultAdamWConfig(), p.Layout())
		opt.SetWorkers(workers)
		for step := 0; step < 3; step++ {
			if _, err := opt.Step(p.Params(), grads, step); err != nil {
				t.Fatal(err)
			}
		}
		mom, _ := opt.Moments()
		return p.Params(), mom
	}
	p1, m1 := run(1)
	for _, w := range []int{2, 3, 7} {
		p, mm := run(w)
		if i := bitsEqual(p, p1); i >= 0 {
			t.Fatalf("workers=%d: parameter %d differs", w, i)
		}
		if i := bitsEqual(mm, m1); i >= 0 {
			t.Fatalf("workers=%d: moment %d differs", w, i)
		}
	}
}
