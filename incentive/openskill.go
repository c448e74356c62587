package incentive

import (
	"errors"
	"fmt"
	"math"
)

// Rating is one peer's skill estimate: a Gaussian belief N(Mu, Sigma²).
type Rating struct {
	Mu    float64
	Sigma float64
}

// Ordinal is the conservative skill estimate Mu − z·Sigma: the skill the peer
// has with about 99.7% confidence when z = 3 (OpenSkill's ordinal()).
func (r Rating) Ordinal(z float64) float64 { return r.Mu - z*r.Sigma }

// PlackettLuce is the Weng–Lin Bayesian approximation of the Plackett–Luce
// ranking model (Weng & Lin 2011, Algorithm 4), for games in which every
// team is a single player, as in Templar where each evaluated peer is one
// "team" and the round's scores are the game's outcome.
type PlackettLuce struct {
	Mu    float64 `mapstructure:"mu" yaml:"mu"`       // prior mean of a new player's skill
	Sigma float64 `mapstructure:"sigma" yaml:"sigma"` // prior standard deviation of a new player's skill
	Beta  float64 `mapstructure:"beta" yaml:"beta"`   // performance noise: how far a game's outcome strays from skill
	Kappa float64 `mapstructure:"kappa" yaml:"kappa"` // floor of the variance shrink factor, keeps sigma positive
	Tau   float64 `mapstructure:"tau" yaml:"tau"`     // added to sigma (in quadrature) before each game, keeps ratings mobile
}

// DefaultPlackettLuce returns OpenSkill's defaults (openskill.py,
// PlackettLuce.__init__): mu 25, sigma 25/3, beta 25/6, kappa 1e-4,
// tau 25/300.
func DefaultPlackettLuce() PlackettLuce {
	return PlackettLuce{Mu: 25, Sigma: 25.0 / 3, Beta: 25.0 / 6, Kappa: 1e-4, Tau: 25.0 / 300}
}

// NewRating is the prior rating of a player never seen before.
func (m PlackettLuce) NewRating() Rating { return Rating{Mu: m.Mu, Sigma: m.Sigma} }

// Validate reports each parameter out of range, naming it.
func (m PlackettLuce) Validate() error {
	var errs []error
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	if !finite(m.Mu) {
		errs = append(errs, fmt.Errorf("PlackettLuce.Mu = %v: must be finite", m.Mu))
	}
	if !(m.Sigma > 0) || !finite(m.Sigma) {
		errs = append(errs, fmt.Errorf("PlackettLuce.Sigma = %v: must be positive and finite", m.Sigma))
	}
	if !(m.Beta > 0) || !finite(m.Beta) {
		errs = append(errs, fmt.Errorf("PlackettLuce.Beta = %v: must be positive and finite", m.Beta))
	}
	if !(m.Kappa > 0 && m.Kappa <= 1) {
		errs = append(errs, fmt.Errorf("PlackettLuce.Kappa = %v: must be in (0, 1]", m.Kappa))
	}
	if !(m.Tau >= 0) || !finite(m.Tau) {
		errs = append(errs, fmt.Errorf("PlackettLuce.Tau = %v: must be non-negative and finite", m.Tau))
	}
	return errors.Join(errs...)
}

// RanksFromScores turns scores (higher is better) into 0-based competition
// ranks: a player's rank is the number of players with a strictly higher
// score, so tied players share the best rank of their group ("1224"
// ranking). This is how OpenSkill orders teams given integer ranks; a NaN
// score counts as the lowest.
func RanksFromScores(scores []float64) []int {
	ranks := make([]int, len(scores))
	for i, si := range scores {
		if math.IsNaN(si) {
			si = math.Inf(-1)
		}
		for _, sj := range scores {
			if math.IsNaN(sj) {
				sj = math.Inf(-1)
			}
			if sj > si {
				ranks[i]++
			}
		}
	}
	return ranks
}

// Rate updates the ratings of the players of one game whose outcome is given
// by scores, higher better. It returns new ratings in the order given and
// leaves its arguments alone. With fewer than two players it returns the
// ratings unchanged: a game needs an opponent.
func (m PlackettLuce) Rate(ratings []Rating, scores []float64) []Rating {
	if len(scores) != len(ratings) {
		panic("incentive: PlackettLuce.Rate: len(scores) != len(ratings)")
	}
	return m.RateRanks(ratings, RanksFromScores(scores))
}

// RateRanks is Rate with the outcome given as ranks, lower better, equal
// ranks a tie.
//
// Each player's variance first grows by Tau². With c² = Σ(σ_i² + β²) and
// p_{i,q} = e^{μ_i/c} / Σ_{s: r_s ≥ r_q} e^{μ_s/c} (the Plackett–Luce
// probability that i comes first among those ranked no better than q),
//
//	Ω_i = σ_i²/c · Σ_{q: r_q ≤ r_i} ([q = i] − p_{i,q}) / A_q
//	Δ_i = γ_i σ_i²/c² · Σ_{q: r_q ≤ r_i} p_{i,q}(1 − p_{i,q}) / A_q
//
// where A_q is the number of players tied with q and γ_i = σ_i/c; then
// μ_i ← μ_i + Ω_i and σ_i ← σ_i·sqrt(max(1 − Δ_i, κ)).
func (m PlackettLuce) RateRanks(ratings []Rating, ranks []int) []Rating {
	n := len(ratings)
	if len(ranks) != n {
		panic("incentive: PlackettLuce.RateRanks: len(ranks) != len(ratings)")
	}
	out := make([]Rating, n)
	copy(out, ratings)
	if n < 2 {
		return out
	}
	tau2 := m.Tau * m.Tau
	beta2 := m.Beta * m.Beta
	sig2 := make([]float64, n)
	c2 := 0.0
	maxMu := math.Inf(-1)
	for i, r := range ratings {
		sig2[i] = r.Sigma*r.Sigma + tau2
		c2 += sig2[i] + beta2
		maxMu = max(maxMu, r.Mu)
	}
	c := math.Sqrt(c2)
	// e^{μ/c}, shifted by the largest μ: every p is a ratio of these, so the
	// shift cancels and only guards against overflow.
	e := make([]float64, n)
	for i, r := range ratings {
		e[i] = math.Exp((r.Mu - maxMu) / c)
	}
	sumQ := make([]float64, n)
	tied := make([]float64, n)
	for q := range n {
		for s := range n {
			if ranks[s] >= ranks[q] {
				sumQ[q] += e[s]
			}
			if ranks[s] == ranks[q] {
				tied[q]++
			}
		}
	}
	for i := range n {
		var omega, delta float64
		for q := range n {
			if ranks[q] > ranks[i] {
				continue
			}
			p := e[i] / sumQ[q]
			delta += p * (1 - p) / tied[q]
			if q == i {
				omega += (1 - p) / tied[q]
			} else {
				omega -= p / tied[q]
			}
		}
		sigma := math.Sqrt(sig2[i])
		omega *= sig2[i] / c
		delta *= sig2[i] / c2 * (sigma / c)
		out[i].Mu = ratings[i].Mu + omega
		out[i].Sigma = sigma * math.Sqrt(max(1-delta, m.Kappa))
	}
	return out
}
