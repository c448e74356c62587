package incentive

import (
	"math"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// Two players with the default prior, one game, no tie: derived by hand.
// σ'² = σ² + τ², c² = 2(σ'² + β²). Both have the same μ, so every
// p = e^{μ/c}/(2e^{μ/c}) = 1/2 where both are in the set, and 1 for the loser
// alone. Winner: Ω = σ'²/c·(1 − 1/2), loser: Ω = −σ'²/c·1/2; both:
// Δ = (σ'/c)·σ'²/c²·1/4.
func TestPlackettLuceTwoPlayersByHand(t *testing.T) {
	m := DefaultPlackettLuce()
	s2 := m.Sigma*m.Sigma + m.Tau*m.Tau
	c2 := 2 * (s2 + m.Beta*m.Beta)
	c := math.Sqrt(c2)
	omega := s2 / c * 0.5
	delta := math.Sqrt(s2) / c * s2 / c2 * 0.25
	wantSigma := math.Sqrt(s2) * math.Sqrt(1-delta)

	got := m.Rate([]Rating{m.NewRating(), m.NewRating()}, []float64{1, 0})
	if !near(got[0].Mu, m.Mu+omega, 1e-12) || !near(got[1].Mu, m.Mu-omega, 1e-12) {
		t.Errorf("mu = %v, %v; want %v, %v", got[0].Mu, got[1].Mu, m.Mu+omega, m.Mu-omega)
	}
	for i := range got {
		if !near(got[i].Sigma, wantSigma, 1e-12) {
			t.Errorf("sigma[%d] = %v, want %v", i, got[i].Sigma, wantSigma)
		}
	}
	// The values OpenSkill's own test suites (openskill.py, openskill.js and
	// their ports) publish for a two-player game between default ratings.
	// They predate the default τ, so they are reproduced with τ = 0.
	m0 := m
	m0.Tau = 0
	pub := m0.Rate([]Rating{m0.NewRating(), m0.NewRating()}, []float64{1, 0})
	if !near(pub[0].Mu, 27.63523138347365, 1e-12) || !near(pub[1].Mu, 22.36476861652635, 1e-12) ||
		!near(pub[0].Sigma, 8.065506316323548, 1e-12) || !near(pub[1].Sigma, 8.065506316323548, 1e-12) {
		t.Errorf("tau 0: got %+v, want OpenSkill's published 27.635…, 22.364…, σ 8.0655…", pub)
	}
}

// Three players with the default prior, outcome 1st, 2nd, 3rd. All μ equal so
// p is 1/|set|: the sets are {A,B,C} (q = A), {B,C} (q = B), {C} (q = C).
//
//	A: q∈{A}:      Ω ∝ 1−1/3 = 2/3                 Δ ∝ 2/9
//	B: q∈{A,B}:    Ω ∝ −1/3 + (1−1/2) = 1/6        Δ ∝ 2/9 + 1/4
//	C: q∈{A,B,C}:  Ω ∝ −1/3 − 1/2 + 0 = −5/6       Δ ∝ 2/9 + 1/4 + 0
func TestPlackettLuceThreePlayersByHand(t *testing.T) {
	m := DefaultPlackettLuce()
	s2 := m.Sigma*m.Sigma + m.Tau*m.Tau
	c2 := 3 * (s2 + m.Beta*m.Beta)
	c := math.Sqrt(c2)
	omegas := []float64{2.0 / 3, 1.0 / 6, -5.0 / 6}
	deltas := []float64{2.0 / 9, 2.0/9 + 0.25, 2.0/9 + 0.25}
	in := []Rating{m.NewRating(), m.NewRating(), m.NewRating()}
	got := m.Rate(in, []float64{0.3, 0.2, 0.1})
	for i := range got {
		wantMu := m.Mu + s2/c*omegas[i]
		d := math.Sqrt(s2) / c * s2 / c2 * deltas[i]
		wantSigma := math.Sqrt(s2) * math.Sqrt(1-d)
		if !near(got[i].Mu, wantMu, 1e-12) || !near(got[i].Sigma, wantSigma, 1e-12) {
			t.Errorf("player %d: got %+v, want mu %v sigma %v", i, got[i], wantMu, wantSigma)
		}
	}
	// The order of the inputs does not matter, only the scores.
	perm := m.Rate([]Rating{in[2], in[0], in[1]}, []float64{0.1, 0.3, 0.2})
	if perm[0] != got[2] || perm[1] != got[0] || perm[2] != got[1] {
		t.Errorf("permuted input gave %+v, want %+v", perm, got)
	}
}

func TestPlackettLuceProperties(t *testing.T) {
	m := DefaultConfig().Rating
	tests := []struct {
		name   string
		in     []Rating
		scores []float64
	}{
		{"equal priors", []Rating{m.NewRating(), m.NewRating()}, []float64{2, 1}},
		{"upset", []Rating{{Mu: 20, Sigma: 3}, {Mu: 30, Sigma: 3}}, []float64{1, 0}},
		{"five", []Rating{{25, 8}, {24, 5}, {26, 2}, {25, 1}, {30, 8}}, []float64{5, 4, 3, 2, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := m.Rate(tt.in, tt.scores)
			first, last := 0, len(got)-1
			if got[first].Mu <= tt.in[first].Mu {
				t.Errorf("winner mu %v did not rise from %v", got[first].Mu, tt.in[first].Mu)
			}
			if got[last].Mu >= tt.in[last].Mu {
				t.Errorf("loser mu %v did not fall from %v", got[last].Mu, tt.in[last].Mu)
			}
			for i := range got {
				// σ grows by τ before the game, so compare against that.
				pre := math.Sqrt(tt.in[i].Sigma*tt.in[i].Sigma + m.Tau*m.Tau)
				if got[i].Sigma >= pre {
					t.Errorf("sigma[%d] %v did not shrink from %v", i, got[i].Sigma, pre)
				}
			}
		})
	}
}

func TestPlackettLuceTiesAreSymmetric(t *testing.T) {
	m := DefaultPlackettLuce()
	r := m.NewRating()
	got := m.Rate([]Rating{r, r}, []float64{1, 1})
	if got[0] != got[1] {
		t.Fatalf("tied equal players rated differently: %+v", got)
	}
	if !near(got[0].Mu, r.Mu, 1e-12) {
		t.Errorf("tie moved mu to %v", got[0].Mu)
	}
	if got[0].Sigma >= r.Sigma {
		t.Errorf("tie did not shrink sigma: %v", got[0].Sigma)
	}
	// A tie between the two losers of three.
	got = m.Rate([]Rating{r, r, r}, []float64{2, 1, 1})
	if got[1] != got[2] || got[0].Mu <= got[1].Mu {
		t.Errorf("three players, tied losers: %+v", got)
	}
	if ranks := RanksFromScores([]float64{2, 1, 1, 0}); ranks[0] != 0 || ranks[1] != 1 || ranks[2] != 1 || ranks[3] != 3 {
		t.Errorf("ranks = %v, want [0 1 1 3]", ranks)
	}
}

func TestPlackettLuceFewPlayers(t *testing.T) {
	m := DefaultPlackettLuce()
	one := []Rating{{Mu: 1, Sigma: 2}}
	if got := m.Rate(one, []float64{5}); got[0] != one[0] {
		t.Errorf("a lone player was rated: %+v", got)
	}
	if got := m.Rate(nil, nil); len(got) != 0 {
		t.Errorf("no players gave %v", got)
	}
}

func BenchmarkPlackettLuceRate20(b *testing.B) {
	m := DefaultConfig().Rating
	in := make([]Rating, 20)
	scores := make([]float64, 20)
	for i := range in {
		in[i] = m.NewRating()
		scores[i] = float64(i % 7)
	}
	for b.Loop() {
		m.Rate(in, scores)
	}
}
