package incentive

import (
	"errors"
	"fmt"
	"math"
)

// Config holds every constant of the mechanism. DefaultConfig gives the
// published values; the comment on each field says where it was published.
// "hparams" is Templar's hparams.json (tplr-ai/templar), "validator" its
// neurons/validator.py, "neurons" its src/tplr/neurons.py.
type Config struct {
	// IndicatorAlpha is the weight of the newest binary indicator in its
	// exponential moving average: ma ← (1−α)·ma + α·indicator.
	// hparams binary_score_ma_alpha = 0.05.
	IndicatorAlpha float64 `mapstructure:"indicator_alpha" yaml:"indicator_alpha"`

	// EvalBudget is the most peers evaluated in one round; when more
	// candidates uploaded, ChooseEvaluated draws this many.
	// hparams uids_per_window = 20 (later releases).
	EvalBudget int `mapstructure:"eval_budget" yaml:"eval_budget"`

	// Rating configures the Plackett–Luce model. Templar passes
	// openskill_beta = 7 and openskill_tau = 0.1 (hparams) and leaves mu,
	// sigma and kappa at OpenSkill's defaults.
	Rating PlackettLuce `mapstructure:"rating" yaml:"rating"`

	// OrdinalZ is z in the conservative skill estimate mu − z·sigma that
	// enters the final score (OpenSkill's ordinal(), z = 3).
	OrdinalZ float64 `mapstructure:"ordinal_z" yaml:"ordinal_z"`

	// SyncCap is the steps behind at which the sync score reaches 0, and
	// SyncExponent its shape: sync = (1 − min(x, cap)/cap)^exponent.
	// validator evaluate_miner_sync: cap 5, exponent 2.5.
	SyncCap      float64 `mapstructure:"sync_cap" yaml:"sync_cap"`
	SyncExponent float64 `mapstructure:"sync_exponent" yaml:"sync_exponent"`
	// A peer more than SyncMaxStepsBehind steps behind has its score and
	// moving average multiplied by SyncSlash. hparams sync_max_steps_behind
	// = 3; validator sync_score_slash_rate = 0.75.
	SyncMaxStepsBehind float64 `mapstructure:"sync_max_steps_behind" yaml:"sync_max_steps_behind"`
	SyncSlash          float64 `mapstructure:"sync_slash" yaml:"sync_slash"`

	// MissMultipliers[i] multiplies the score and moving average of a peer
	// that missed its upload for the (i+1)-th round in a row; the last entry
	// applies to every longer run. Validator tests: 0.75, 0.5, 0.
	MissMultipliers []float64 `mapstructure:"miss_multipliers" yaml:"miss_multipliers"`
	// A miss that makes the misses among the last MissWindow rounds more than
	// MissFraction of them resets the peer and excludes it for ExcludeRounds
	// (validator: missing_gradient_history_limit 8, "> 50%").
	MissWindow   int     `mapstructure:"miss_window" yaml:"miss_window"`
	MissFraction float64 `mapstructure:"miss_fraction" yaml:"miss_fraction"`

	// A peer whose last NegativeWindow evaluations have more than
	// NegativeFraction negative scores is multiplied by NegativeMultiplier,
	// unless the NegativeSkipRank-th best score of the round is itself
	// negative (the whole network is doing badly). Validator tests: 8,
	// "> 50%", 0.25, 5th ranked.
	NegativeWindow     int     `mapstructure:"negative_window" yaml:"negative_window"`
	NegativeFraction   float64 `mapstructure:"negative_fraction" yaml:"negative_fraction"`
	NegativeMultiplier float64 `mapstructure:"negative_multiplier" yaml:"negative_multiplier"`
	NegativeSkipRank   int     `mapstructure:"negative_skip_rank" yaml:"negative_skip_rank"`

	// An inactive peer's score is multiplied by InactivityMultiplier every
	// round, and the peer is reset after ResetInactivityRounds inactive
	// rounds. validator: flat 25% slash (0.75); hparams
	// reset_inactivity_windows = 10.
	InactivityMultiplier  float64 `mapstructure:"inactivity_multiplier" yaml:"inactivity_multiplier"`
	ResetInactivityRounds int     `mapstructure:"reset_inactivity_rounds" yaml:"reset_inactivity_rounds"`

	// Copy detection on top-k index sets. The later uploader of a pair with
	// overlap ≥ CopyThreshold is multiplied by CopyMultiplier; at
	// ≥ CopyZeroThreshold it is zeroed; at ≥ CopyExcludeThreshold it is
	// reset and excluded for ExcludeRounds. idx_overlap_threshold 0.4 in
	// Templar's validator docs (0.5 in some hparams releases); neurons
	// determine_slash_egregiousness: 0.5 "max", 0.6 "mega";
	// instantiate_slashing_multiplier: 0.5, 0, 0; validator
	// naughty_peer_timeout = 200.
	CopyThreshold        float64 `mapstructure:"copy_threshold" yaml:"copy_threshold"`
	CopyMultiplier       float64 `mapstructure:"copy_multiplier" yaml:"copy_multiplier"`
	CopyZeroThreshold    float64 `mapstructure:"copy_zero_threshold" yaml:"copy_zero_threshold"`
	CopyExcludeThreshold float64 `mapstructure:"copy_exclude_threshold" yaml:"copy_exclude_threshold"`
	ExcludeRounds        int     `mapstructure:"exclude_rounds" yaml:"exclude_rounds"`

	// Power is p in w_i ∝ s_i^p. hparams power_normalisation = 2.
	Power float64 `mapstructure:"power" yaml:"power"`
	// BurnRate is the share of the total weight taken off the top and not
	// given to any peer. hparams burn_rate = 0.8 (later releases).
	BurnRate float64 `mapstructure:"burn_rate" yaml:"burn_rate"`

	// GatherPeers is G, the size of the gather list; ReservePeers the size
	// of the reserve list; RefreshRounds how often both are chosen again.
	// validator gather_peer_count 15 and reserve_peer_count 10 (its
	// defaults; the paper aggregates the top G = 15), hparams
	// peer_replacement_frequency = 5.
	GatherPeers   int `mapstructure:"gather_peers" yaml:"gather_peers"`
	ReservePeers  int `mapstructure:"reserve_peers" yaml:"reserve_peers"`
	RefreshRounds int `mapstructure:"refresh_rounds" yaml:"refresh_rounds"`
}

// DefaultConfig returns the published constants.
func DefaultConfig() Config {
	return Config{
		IndicatorAlpha: 0.05,
		EvalBudget:     20,
		Rating: PlackettLuce{
			Mu:    25,
			Sigma: 25.0 / 3,
			Beta:  7,
			Kappa: 1e-4,
			Tau:   0.1,
		},
		OrdinalZ:              3,
		SyncCap:               5,
		SyncExponent:          2.5,
		SyncMaxStepsBehind:    3,
		SyncSlash:             0.75,
		MissMultipliers:       []float64{0.75, 0.5, 0},
		MissWindow:            8,
		MissFraction:          0.5,
		NegativeWindow:        8,
		NegativeFraction:      0.5,
		NegativeMultiplier:    0.25,
		NegativeSkipRank:      5,
		InactivityMultiplier:  0.75,
		ResetInactivityRounds: 10,
		CopyThreshold:         0.4,
		CopyMultiplier:        0.5,
		CopyZeroThreshold:     0.5,
		CopyExcludeThreshold:  0.6,
		ExcludeRounds:         200,
		Power:                 2,
		BurnRate:              0.8,
		GatherPeers:           15,
		ReservePeers:          10,
		RefreshRounds:         5,
	}
}

// Validate reports every constant out of its range; each error names the
// field.
func (c Config) Validate() error {
	var errs []error
	bad := func(field string, v any, want string) {
		errs = append(errs, fmt.Errorf("incentive: Config.%s = %v: %s", field, v, want))
	}
	unit := func(field string, v float64) { // [0, 1]
		if !(v >= 0 && v <= 1) {
			bad(field, v, "must be in [0, 1]")
		}
	}
	pos := func(field string, v float64) {
		if !(v > 0) || math.IsInf(v, 1) {
			bad(field, v, "must be positive and finite")
		}
	}
	atLeast := func(field string, v, min int) {
		if v < min {
			bad(field, v, fmt.Sprintf("must be at least %d", min))
		}
	}

	if !(c.IndicatorAlpha > 0 && c.IndicatorAlpha <= 1) {
		bad("IndicatorAlpha", c.IndicatorAlpha, "must be in (0, 1]")
	}
	atLeast("EvalBudget", c.EvalBudget, 1)
	if err := c.Rating.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("incentive: Config.Rating: %w", err))
	}
	if !(c.OrdinalZ >= 0) || math.IsInf(c.OrdinalZ, 1) {
		bad("OrdinalZ", c.OrdinalZ, "must be non-negative and finite")
	}
	pos("SyncCap", c.SyncCap)
	pos("SyncExponent", c.SyncExponent)
	if !(c.SyncMaxStepsBehind >= 0) {
		bad("SyncMaxStepsBehind", c.SyncMaxStepsBehind, "must be non-negative")
	}
	unit("SyncSlash", c.SyncSlash)
	if len(c.MissMultipliers) == 0 {
		bad("MissMultipliers", c.MissMultipliers, "must not be empty")
	}
	for i, m := range c.MissMultipliers {
		unit(fmt.Sprintf("MissMultipliers[%d]", i), m)
	}
	atLeast("MissWindow", c.MissWindow, 1)
	unit("MissFraction", c.MissFraction)
	atLeast("NegativeWindow", c.NegativeWindow, 1)
	unit("NegativeFraction", c.NegativeFraction)
	unit("NegativeMultiplier", c.NegativeMultiplier)
	atLeast("NegativeSkipRank", c.NegativeSkipRank, 1)
	unit("InactivityMultiplier", c.InactivityMultiplier)
	atLeast("ResetInactivityRounds", c.ResetInactivityRounds, 1)
	unit("CopyThreshold", c.CopyThreshold)
	unit("CopyMultiplier", c.CopyMultiplier)
	unit("CopyZeroThreshold", c.CopyZeroThreshold)
	unit("CopyExcludeThreshold", c.CopyExcludeThreshold)
	if c.CopyZeroThreshold < c.CopyThreshold {
		bad("CopyZeroThreshold", c.CopyZeroThreshold, "must not be below CopyThreshold")
	}
	if c.CopyExcludeThreshold < c.CopyZeroThreshold {
		bad("CopyExcludeThreshold", c.CopyExcludeThreshold, "must not be below CopyZeroThreshold")
	}
	atLeast("ExcludeRounds", c.ExcludeRounds, 0)
	pos("Power", c.Power)
	if !(c.BurnRate >= 0 && c.BurnRate < 1) {
		bad("BurnRate", c.BurnRate, "must be in [0, 1)")
	}
	atLeast("GatherPeers", c.GatherPeers, 1)
	atLeast("ReservePeers", c.ReservePeers, 0)
	atLeast("RefreshRounds", c.RefreshRounds, 1)
	return errors.Join(errs...)
}
