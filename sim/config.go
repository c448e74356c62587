package sim

import (
	"fmt"

	"github.com/locosim/locosim/data"
	"github.com/locosim/locosim/model"
)

// Config is one run's complete configuration: what every node trains, on
// what data, with which strategy, over which simulated cluster. Its keys are
// the contract that files, --set overrides, LOCOSIM_ variables and sweeps use.
type Config struct {
	// Seed drives everything random in a run: initial weights, data streams,
	// node profiles, churn, random-k. Same config and seed, same traces.
	Seed  uint64       `mapstructure:"seed" yaml:"seed"`
	Model model.Config `mapstructure:"model" yaml:"model"`
	Data  data.Config  `mapstructure:"data" yaml:"data"`
	Train TrainConfig  `mapstructure:"train" yaml:"train"`
}

// TrainConfig sets the inner loop every replica runs and how often the
// reference model is evaluated.
type TrainConfig struct {
	// BatchSize is the number of sequences in one inner step of one node.
	BatchSize int `mapstructure:"batch_size" yaml:"batch_size"`
	// InnerSteps is H, the local steps between two synchronisations.
	InnerSteps int `mapstructure:"inner_steps" yaml:"inner_steps"`
	// OuterRounds is the number of synchronisations. A single replica
	// (locosim train) runs InnerSteps·OuterRounds steps.
	OuterRounds int `mapstructure:"outer_rounds" yaml:"outer_rounds"`
	// Optimizer is the inner AdamW and its schedule; total_steps 0 means the
	// whole run (InnerSteps·OuterRounds).
	Optimizer model.AdamWConfig `mapstructure:"optimizer" yaml:"optimizer"`
	// EvalEvery is the number of rounds between evaluations.
	EvalEvery int `mapstructure:"eval_every" yaml:"eval_every"`
	// EvalBatches is the number of held-out batches of an evaluation.
	EvalBatches int `mapstructure:"eval_batches" yaml:"eval_batches"`
	// Workers is the number of goroutines that train (0: GOMAXPROCS). Results
	// do not depend on it.
	Workers int `mapstructure:"workers" yaml:"workers"`
}

// DefaultConfig is the embedded default run.
func DefaultConfig() Config {
	opt := model.DefaultAdamWConfig()
	return Config{
		Seed:  1,
		Model: model.DefaultConfig(),
		Data:  data.DefaultConfig(),
		Train: TrainConfig{
			BatchSize:   8,
			InnerSteps:  30,
			OuterRounds: 20,
			Optimizer:   opt,
			EvalEvery:   1,
			EvalBatches: 4,
		},
	}
}

// Validate checks every section and the constraints between them.
func (c Config) Validate() error {
	if err := c.Model.Validate(); err != nil {
		return err
	}
	if err := c.Data.Validate(); err != nil {
		return err
	}
	if err := c.Train.validate(); err != nil {
		return err
	}
	if v := c.Data.Vocab; v != 0 && v != c.Model.Vocab {
		return fmt.Errorf("data.vocab (%d) differs from model.vocab (%d)", v, c.Model.Vocab)
	}
	return nil
}

func (t TrainConfig) validate() error {
	switch {
	case t.BatchSize < 1:
		return fmt.Errorf("train.batch_size must be >= 1, got %d", t.BatchSize)
	case t.InnerSteps < 1:
		return fmt.Errorf("train.inner_steps must be >= 1, got %d", t.InnerSteps)
	case t.OuterRounds < 1:
		return fmt.Errorf("train.outer_rounds must be >= 1, got %d", t.OuterRounds)
	case t.EvalEvery < 1:
		return fmt.Errorf("train.eval_every must be >= 1, got %d", t.EvalEvery)
	case t.EvalBatches < 1:
		return fmt.Errorf("train.eval_batches must be >= 1, got %d", t.EvalBatches)
	case t.Workers < 0:
		return fmt.Errorf("train.workers must be >= 0, got %d", t.Workers)
	}
	if err := t.Optimizer.Validate(); err != nil {
		return fmt.Errorf("train.optimizer: %w", err)
	}
	return nil
}

// schedule returns the optimizer configuration with total_steps filled in.
func (t TrainConfig) schedule(totalSteps int) model.AdamWConfig {
	o := t.Optimizer
	if o.TotalSteps == 0 {
		o.TotalSteps = totalSteps
	}
	return o
}
