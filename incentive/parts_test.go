package incentive

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestAssignedSeed(t *testing.T) {
	tests := []struct {
		uid, round uint64
		want       uint32
	}{
		{0, 0, 0},
		{1, 0, 1_000_003},
		{2, 5, 2_000_006 ^ 5},
		{1 << 32, 7, 7}, // uid·1,000,003 ≡ 0 mod 2^32
		{5000, 123456, uint32((5000*1_000_003 ^ 123456) % (1 << 32))},
	}
	for _, tt := range tests {
		if got := AssignedSeed(tt.uid, tt.round); got != tt.want {
			t.Errorf("AssignedSeed(%d, %d) = %d, want %d", tt.uid, tt.round, got, tt.want)
		}
	}
	if EvalSeed(1, 0) != 1_000_003^0xA5A5A5A5 {
		t.Errorf("EvalSeed(1, 0) = %d", EvalSeed(1, 0))
	}
}

func TestEvaluation(t *testing.T) {
	tests := []struct {
		name      string
		e         Evaluation
		score     float64
		indicator float64
	}{
		{"honest", Evaluation{4, 3.8, 4, 3.9}, 0.025, 1},
		{"lazy: better on random", Evaluation{4, 3.96, 4, 3.9}, 0.025, -1},
		{"free rider: no change", Evaluation{4, 4, 4, 4}, 0, -1},
		{"harmful", Evaluation{4, 4.2, 4, 4.4}, -0.1, 1},
		{"zero loss guarded", Evaluation{0, 0, 0, 0}, 0, -1},
	}
	for _, tt := range tests {
		if got := tt.e.Score(); !near(got, tt.score, 1e-12) {
			t.Errorf("%s: Score = %v, want %v", tt.name, got, tt.score)
		}
		if got := tt.e.Indicator(); got != tt.indicator {
			t.Errorf("%s: Indicator = %v, want %v", tt.name, got, tt.indicator)
		}
	}
	if got := MovingAverage(0.5, -1, 0.05); !near(got, 0.425, 1e-12) {
		t.Errorf("MovingAverage = %v, want 0.425", got)
	}
}

func TestSyncScore(t *testing.T) {
	tests := []struct{ x, want float64 }{
		{0, 1}, {-1, 1}, {5, 0}, {50, 0}, {math.NaN(), 0},
		{2.5, math.Pow(0.5, 2.5)}, {1, math.Pow(0.8, 2.5)},
	}
	for _, tt := range tests {
		if got := SyncScore(tt.x, 5, 2.5); !near(got, tt.want, 1e-12) {
			t.Errorf("SyncScore(%v) = %v, want %v", tt.x, got, tt.want)
		}
	}
}

func TestClipScales(t *testing.T) {
	tests := []struct {
		norms, want []float64
	}{
		{[]float64{1, 2, 3, 4, 100}, []float64{1, 1, 1, 0.75, 0.03}},
		{[]float64{2, 4}, []float64{1, 0.75}}, // median 3
		{[]float64{0, 5, math.NaN(), math.Inf(1)}, []float64{1, 1, 1, 1}},
		{nil, []float64{}},
	}
	for _, tt := range tests {
		got := ClipScales(tt.norms)
		if len(got) != len(tt.want) {
			t.Fatalf("ClipScales(%v) = %v", tt.norms, got)
		}
		for i := range got {
			if !near(got[i], tt.want[i], 1e-12) {
				t.Errorf("ClipScales(%v) = %v, want %v", tt.norms, got, tt.want)
				break
			}
		}
	}
}

// randomTopK draws k distinct indices below n (Floyd's algorithm).
func randomTopK(r *rand.Rand, k, n int) []uint32 {
	seen := make(map[uint32]bool, k)
	s := make([]uint32, 0, k)
	for j := n - k; j < n; j++ {
		x := uint32(r.IntN(j + 1))
		if seen[x] {
			x = uint32(j)
		}
		seen[x] = true
		s = append(s, x)
	}
	return s
}

func TestOverlap(t *testing.T) {
	tests := []struct {
		name string
		a, b []uint32
		want float64
	}{
		{"identical", []uint32{1, 2, 3, 4}, []uint32{4, 3, 2, 1}, 1},
		{"half", []uint32{1, 2, 3, 4}, []uint32{3, 4, 5, 6}, 0.5},
		{"disjoint", []uint32{1, 2}, []uint32{3, 4}, 0},
		{"subset copy", []uint32{1, 2}, []uint32{1, 2, 3, 4}, 1},
		{"duplicates once", []uint32{7, 7, 8}, []uint32{7, 9}, 0.5},
		{"empty", nil, []uint32{1}, 0},
	}
	for _, tt := range tests {
		a, b := slices.Clone(tt.a), slices.Clone(tt.b)
		if got := Overlap(a, b); got != tt.want {
			t.Errorf("%s: Overlap = %v, want %v", tt.name, got, tt.want)
		}
		if !slices.Equal(a, tt.a) || !slices.Equal(b, tt.b) {
			t.Errorf("%s: Overlap modified its arguments", tt.name)
		}
	}
	// Independent random sets overlap by about k/n.
	r := rand.New(rand.NewPCG(1, 2))
	const k, n = 1000, 20000
	got := Overlap(randomTopK(r, k, n), randomTopK(r, k, n))
	if math.Abs(got-float64(k)/n) > 0.02 {
		t.Errorf("random overlap = %v, want about %v", got, float64(k)/n)
	}
}

func TestWorstOverlaps(t *testing.T) {
	a := []uint32{1, 2, 3, 4}
	sets := [][]uint32{a, {9, 10, 11, 12}, slices.Clone(a), nil}
	times := []float64{5, 1, 6, 0}
	got := WorstOverlaps(sets, times)
	if got[0].Overlap != 1 || got[0].With != 2 || got[0].CopyOf != -1 {
		t.Errorf("original: %+v", got[0])
	}
	if got[2].Overlap != 1 || got[2].CopyOf != 0 || got[2].CopyOverlap != 1 {
		t.Errorf("copy: %+v", got[2])
	}
	if got[1].Overlap != 0 || got[1].With != -1 || got[3].With != -1 {
		t.Errorf("others: %+v %+v", got[1], got[3])
	}
	// Equal times: the higher index is the later one.
	got = WorstOverlaps([][]uint32{a, a}, []float64{3, 3})
	if got[0].CopyOf != -1 || got[1].CopyOf != 0 {
		t.Errorf("tie: %+v", got)
	}
}

func TestPowerWeights(t *testing.T) {
	w := PowerWeights([]float64{1, 2, 0, -3, math.NaN()}, 2, 0.5)
	want := []float64{0.5 * 1 / 5, 0.5 * 4 / 5, 0, 0, 0}
	for i := range w {
		if !near(w[i], want[i], 1e-12) {
			t.Fatalf("PowerWeights = %v, want %v", w, want)
		}
	}
	if w := PowerWeights([]float64{0, -1}, 2, 0); w[0] != 0 || w[1] != 0 {
		t.Errorf("no positive score: %v", w)
	}
}

func TestSelectPeers(t *testing.T) {
	w := []float64{0.1, 0.5, 0.5, 0.3, 0.9}
	keys := []uint64{10, 30, 20, 40, 50}
	elig := []bool{true, true, true, true, false}
	g, r := SelectPeers(w, nil, keys, elig, 2, 5)
	if !slices.Equal(g, []int{2, 1}) || !slices.Equal(r, []int{3, 0}) {
		t.Errorf("gather %v reserve %v, want [2 1] [3 0]", g, r)
	}
	// Among equal weights the rank decides before the key: the peers
	// without weight fill the list best-rated first.
	w = []float64{0, 0.2, 0, 0, 0}
	rank := []float64{-2, 1, 0.5, -0.1, 3}
	keys = []uint64{1, 2, 3, 4, 5}
	elig = []bool{true, true, true, true, true}
	g, r = SelectPeers(w, rank, keys, elig, 3, 2)
	if !slices.Equal(g, []int{1, 4, 2}) || !slices.Equal(r, []int{3, 0}) {
		t.Errorf("ranked: gather %v reserve %v, want [1 4 2] [3 0]", g, r)
	}
}

func TestPenaltyString(t *testing.T) {
	if s := (PenaltyMissed | PenaltyCopyExclude).String(); s != "missed,copy_exclude" {
		t.Errorf("String = %q", s)
	}
	if Penalty(0).String() != "" {
		t.Error("no penalty should print empty")
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	tests := []struct {
		field string
		mut   func(*Config)
	}{
		{"IndicatorAlpha", func(c *Config) { c.IndicatorAlpha = 0 }},
		{"EvalBudget", func(c *Config) { c.EvalBudget = 0 }},
		{"Rating", func(c *Config) { c.Rating.Beta = -1 }},
		{"PlackettLuce.Sigma", func(c *Config) { c.Rating.Sigma = 0 }},
		{"PlackettLuce.Kappa", func(c *Config) { c.Rating.Kappa = 0 }},
		{"PlackettLuce.Tau", func(c *Config) { c.Rating.Tau = math.NaN() }},
		{"PlackettLuce.Mu", func(c *Config) { c.Rating.Mu = math.Inf(1) }},
		{"OrdinalZ", func(c *Config) { c.OrdinalZ = -1 }},
		{"SyncCap", func(c *Config) { c.SyncCap = 0 }},
		{"SyncExponent", func(c *Config) { c.SyncExponent = math.NaN() }},
		{"SyncMaxStepsBehind", func(c *Config) { c.SyncMaxStepsBehind = -1 }},
		{"SyncSlash", func(c *Config) { c.SyncSlash = 1.5 }},
		{"MissMultipliers", func(c *Config) { c.MissMultipliers = nil }},
		{"MissMultipliers[1]", func(c *Config) { c.MissMultipliers = []float64{0.5, -0.1} }},
		{"MissWindow", func(c *Config) { c.MissWindow = 0 }},
		{"MissFraction", func(c *Config) { c.MissFraction = 2 }},
		{"NegativeWindow", func(c *Config) { c.NegativeWindow = 0 }},
		{"NegativeFraction", func(c *Config) { c.NegativeFraction = -0.5 }},
		{"NegativeMultiplier", func(c *Config) { c.NegativeMultiplier = 3 }},
		{"NegativeSkipRank", func(c *Config) { c.NegativeSkipRank = 0 }},
		{"InactivityMultiplier", func(c *Config) { c.InactivityMultiplier = math.NaN() }},
		{"ResetInactivityRounds", func(c *Config) { c.ResetInactivityRounds = 0 }},
		{"CopyThreshold", func(c *Config) { c.CopyThreshold = 1.1 }},
		{"CopyMultiplier", func(c *Config) { c.CopyMultiplier = -1 }},
		{"CopyZeroThreshold", func(c *Config) { c.CopyZeroThreshold = 0.3 }},
		{"CopyExcludeThreshold", func(c *Config) { c.CopyExcludeThreshold = 0.45 }},
		{"ExcludeRounds", func(c *Config) { c.ExcludeRounds = -1 }},
		{"Power", func(c *Config) { c.Power = 0 }},
		{"BurnRate", func(c *Config) { c.BurnRate = 1 }},
		{"GatherPeers", func(c *Config) { c.GatherPeers = 0 }},
		{"ReservePeers", func(c *Config) { c.ReservePeers = -1 }},
		{"RefreshRounds", func(c *Config) { c.RefreshRounds = 0 }},
	}
	for _, tt := range tests {
		c := DefaultConfig()
		tt.mut(&c)
		err := c.Validate()
		if err == nil {
			t.Errorf("%s: bad value accepted", tt.field)
			continue
		}
		if !strings.Contains(err.Error(), tt.field) {
			t.Errorf("%s: error %q does not name the field", tt.field, err)
		}
	}
}

func BenchmarkWorstOverlaps20x1000(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	sets := make([][]uint32, 20)
	times := make([]float64, 20)
	for i := range sets {
		sets[i] = randomTopK(r, 1000, 100000)
		times[i] = float64(i)
	}
	for b.Loop() {
		WorstOverlaps(sets, times)
	}
}
