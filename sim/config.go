package sim

import (
	"errors"
	"fmt"
	"math"

	"github.com/locosim/locosim/compress"
	"github.com/locosim/locosim/data"
	"github.com/locosim/locosim/model"
	"github.com/locosim/locosim/netmodel"
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

	Strategy StrategyConfig `mapstructure:"strategy" yaml:"strategy"`
	Sync     SyncConfig     `mapstructure:"sync" yaml:"sync"`
	// Cluster is the simulated nodes and their network.
	Cluster netmodel.Config `mapstructure:"cluster" yaml:"cluster"`
	// Exchange is how payloads travel; pattern "auto" picks the strategy's
	// natural one (ring all-reduce for dense payloads, all-gather through the
	// object store for sparse ones).
	Exchange   netmodel.ExchangeConfig `mapstructure:"exchange" yaml:"exchange"`
	Faults     FaultConfig             `mapstructure:"faults" yaml:"faults"`
	Projection ProjectionConfig        `mapstructure:"projection" yaml:"projection"`
	// Incentive is the permissionless layer: assigned data, a validator
	// scoring every peer's payload, and peers who try to game it.
	Incentive IncentiveConfig `mapstructure:"incentive" yaml:"incentive"`
}

// StrategyConfig selects the training algorithm. Its keys are the ones
// every algorithm shares; each registered algorithm adds its own section,
// strategy.<name>.*, which the core carries without reading.
type StrategyConfig struct {
	// Kind is a registered algorithm's name (Algorithms lists them).
	Kind string `mapstructure:"kind" yaml:"kind"`
	// Density is the share of each chunk a sparse compressor sends
	// (K/4096); 0 keeps strategy.compressor.topk_per_chunk.
	Density float64 `mapstructure:"density" yaml:"density"`
	// OuterLR is α, the outer step size of the algorithms with an outer
	// step (SparseLoCo also folds it into its error feedback, as the
	// reference code does).
	OuterLR float64 `mapstructure:"outer_lr" yaml:"outer_lr"`
	// Compressor is what nodes send. Its kind "auto" is the algorithm's own.
	Compressor compress.Config `mapstructure:"compressor" yaml:"compressor"`
	// Sections holds each algorithm's own section by name, as nested maps
	// (Config.Section decodes one); set them through config.Resolve.
	Sections map[string]any `mapstructure:",remain" yaml:",inline"`
}

// Sync modes.
const (
	SyncFixed    = "fixed"
	SyncWindow   = "window"
	SyncDeadline = "deadline"
)

// SyncConfig sets when a round ends.
type SyncConfig struct {
	// Mode is fixed (everyone does H steps, the round waits for the
	// slowest), window (each node does as many steps as fit in window_s, at
	// most max_steps) or deadline (H steps; payloads that land later than
	// deadline_s after the round start miss it).
	Mode      string  `mapstructure:"mode" yaml:"mode"`
	WindowS   float64 `mapstructure:"window_s" yaml:"window_s"`
	DeadlineS float64 `mapstructure:"deadline_s" yaml:"deadline_s"`
	// MaxSteps caps the inner steps of a node in window mode, where it is
	// required (a fast node would otherwise train without bound).
	MaxSteps int `mapstructure:"max_steps" yaml:"max_steps"`
	// Overlap lets a round's communication run during the next round's
	// compute (Streaming DiLoCo style): each aggregate is applied one round
	// late. Every round's transfers are on the run's one network, so
	// exchanges in flight at the same time share its links; a round's
	// records are written once its exchange is over.
	Overlap bool `mapstructure:"overlap" yaml:"overlap"`
}

// Attacks a malicious node can mount on its payload.
const (
	AttackScale    = "scale"
	AttackSignFlip = "signflip"
	AttackRandom   = "random"
)

// FaultConfig makes some nodes dishonest and some links fail. Crashes and
// churn are the cluster's (cluster.churn); all of them enter the run
// through one seam (Fault).
type FaultConfig struct {
	// MaliciousShare is the fraction of nodes (drawn from the seed) that
	// tamper with every payload they send.
	MaliciousShare float64 `mapstructure:"malicious_share" yaml:"malicious_share"`
	// Attack is scale (multiply by attack_scale), signflip (negate and
	// multiply by attack_scale) or random (values replaced by noise with
	// attack_scale times the honest payload's RMS).
	Attack      string  `mapstructure:"attack" yaml:"attack"`
	AttackScale float64 `mapstructure:"attack_scale" yaml:"attack_scale"`
	// Links degrade nodes' links for a while: each entry multiplies a
	// node's uplink, downlink or both by factor from start_s to end_s.
	Links []LinkFault `mapstructure:"links" yaml:"links"`
	// Partitions cut groups of nodes (and optionally the object store) off
	// from the rest for a while: transfers across stop until it heals.
	Partitions []PartitionFault `mapstructure:"partitions" yaml:"partitions"`
}

// ProjectionConfig lets the simulated clock answer for a bigger model than
// the one really trained: compute time and payload bytes are scaled to it.
type ProjectionConfig struct {
	// Params is the projected model's parameter count (0: the trained model).
	Params float64 `mapstructure:"params" yaml:"params"`
	// TokensPerStep is one node's tokens per inner step (0: the trained
	// batch, batch_size·seq_len).
	TokensPerStep float64 `mapstructure:"tokens_per_step" yaml:"tokens_per_step"`
	// FlopsPerToken is the training cost per token (0: 6·params, or the
	// trained model's count including attention when params is 0).
	FlopsPerToken float64 `mapstructure:"flops_per_token" yaml:"flops_per_token"`
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
	// EvalBatches is the number of held-out batches of an evaluation, each
	// of batch_size sequences: runs with different batch sizes evaluate on
	// the same sequences only when eval_batches × batch_size is the same.
	EvalBatches int `mapstructure:"eval_batches" yaml:"eval_batches"`
	// EvalNodes also evaluates each node's own weights, with an algorithm
	// whose nodes hold some (evals.parquet's node_loss_* columns); it costs
	// one evaluation per node.
	EvalNodes bool `mapstructure:"eval_nodes" yaml:"eval_nodes"`
	// Workers is the number of goroutines that train (0: GOMAXPROCS). Results
	// do not depend on it.
	Workers int `mapstructure:"workers" yaml:"workers"`
}

// DefaultConfig is the embedded default run: 72 heterogeneous nodes train
// a 2-layer, 64-channel GPT (about 120k parameters) with SparseLoCo (K = 64
// per 4096, 2-bit values, H = 30) through an object store, on the synthetic
// corpus; the clock is projected for a 1B-parameter model at 65,536 tokens
// per inner step. It finishes in a few minutes on two cores.
func DefaultConfig() Config {
	opt := model.DefaultAdamWConfig()
	opt.WarmupSteps = 30
	m := model.DefaultConfig()
	m.Layers, m.Channels, m.SeqLen = 2, 64, 32
	return Config{
		Seed:  1,
		Model: m,
		Data:  data.DefaultConfig(),
		Train: TrainConfig{
			BatchSize:   4,
			InnerSteps:  30,
			OuterRounds: 36,
			Optimizer:   opt,
			EvalEvery:   3,
			EvalBatches: 4,
			EvalNodes:   true,
		},
		Strategy: StrategyConfig{
			Kind: "sparseloco", OuterLR: 1,
			Compressor: autoCompressor(), Sections: sections(),
		},
		Sync:       SyncConfig{Mode: SyncFixed},
		Cluster:    netmodel.DefaultConfig(),
		Exchange:   autoExchange(),
		Faults:     FaultConfig{Attack: AttackSignFlip, AttackScale: 10, Links: []LinkFault{}, Partitions: []PartitionFault{}},
		Projection: ProjectionConfig{Params: 1e9, TokensPerStep: 65536},
		Incentive:  DefaultIncentiveConfig(),
	}
}

// Auto is the value of compressor.kind and exchange.pattern that lets the
// strategy choose.
const Auto = "auto"

func autoCompressor() compress.Config {
	c := compress.DefaultConfig()
	c.Kind = Auto
	return c
}

func autoExchange() netmodel.ExchangeConfig {
	e := netmodel.DefaultExchangeConfig()
	e.Pattern = Auto
	return e
}

// CompressorConfig is the compressor the strategy really uses.
func (c Config) CompressorConfig() compress.Config {
	cc := c.Strategy.Compressor
	if cc.Kind == Auto {
		if a, ok := Lookup(c.Strategy.Kind); ok {
			cc.Kind = a.Compressor
		}
	}
	if c.Strategy.Density > 0 {
		cc.Density = c.Strategy.Density
	}
	if cc.Kind == compress.SparseLoCo {
		cc.OuterLR = c.Strategy.OuterLR
	}
	return cc
}

// exchangeConfig is the exchange pattern really used.
func (c Config) exchangeConfig() netmodel.ExchangeConfig {
	e := c.Exchange
	if a, ok := Lookup(c.Strategy.Kind); ok && e.Pattern == Auto && a.Exchange != "" {
		e.Pattern = a.Exchange
	}
	if e.Pattern == Auto {
		if k := c.CompressorConfig().Kind; k == compress.Dense || k == compress.BF16 {
			e.Pattern = netmodel.PatternRing
		} else {
			e.Pattern = netmodel.PatternStore
		}
	}
	return e
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

// ValidateRun checks what a multi-node run needs beyond Validate.
func (c Config) ValidateRun() error {
	if err := c.Validate(); err != nil {
		return err
	}
	s := c.Strategy
	alg, err := lookup(s.Kind)
	if err != nil {
		return err
	}
	for name := range s.Sections {
		if _, ok := Lookup(name); !ok {
			return fmt.Errorf("strategy.%s: no algorithm of that name (registered: %v)", name, Algorithms())
		}
	}
	section, err := c.Section(s.Kind)
	if err != nil {
		return err
	}
	if s.Compressor.Density != 0 {
		return errors.New("strategy.compressor.density: set strategy.density instead")
	}
	if s.Compressor.OuterLR != compress.DefaultConfig().OuterLR {
		return errors.New("strategy.compressor.outer_lr: set strategy.outer_lr instead (SparseLoCo uses one α for its error feedback and its step)")
	}
	if !(s.Density >= 0 && s.Density <= 1) {
		return fmt.Errorf("strategy.density %v: want a share between 0 and 1", s.Density)
	}
	if !(s.OuterLR > 0) {
		return fmt.Errorf("strategy.outer_lr %v: want > 0", s.OuterLR)
	}
	cc := c.CompressorConfig()
	if err := cc.Validate(); err != nil {
		return fmt.Errorf("strategy.compressor: %w", err)
	}
	// The DeMo compressor returns the sign of a mean, not a mean: only an
	// algorithm built for it can apply that.
	if cc.Kind == compress.DeMo && alg.Compressor != compress.DeMo {
		return fmt.Errorf("strategy.compressor.kind demo: only an algorithm built on it (strategy.kind demo) can use it")
	}
	if alg.Check != nil {
		if err := alg.Check(&c, section); err != nil {
			return err
		}
	}
	if err := c.Incentive.validate(&c, alg); err != nil {
		return err
	}
	switch c.Sync.Mode {
	case SyncFixed:
		if c.Sync.WindowS != 0 || c.Sync.DeadlineS != 0 {
			return errors.New("sync.mode fixed takes no sync.window_s or sync.deadline_s")
		}
	case SyncWindow:
		if alg.EveryStep {
			return fmt.Errorf("sync.mode window: %s synchronises after every step; use fixed or deadline", s.Kind)
		}
		if !(c.Sync.WindowS > 0) {
			return fmt.Errorf("sync.window_s %v: window mode needs a positive window", c.Sync.WindowS)
		}
		if c.Sync.MaxSteps < 1 {
			return fmt.Errorf("sync.max_steps %d: window mode needs a cap on a node's inner steps (say 2×train.inner_steps)", c.Sync.MaxSteps)
		}
		if c.Sync.DeadlineS != 0 && c.Sync.DeadlineS <= c.Sync.WindowS {
			return fmt.Errorf("sync.deadline_s %v: must be after the %v s window", c.Sync.DeadlineS, c.Sync.WindowS)
		}
	case SyncDeadline:
		if !(c.Sync.DeadlineS > 0) {
			return fmt.Errorf("sync.deadline_s %v: deadline mode needs a positive deadline", c.Sync.DeadlineS)
		}
	default:
		return fmt.Errorf("sync.mode %q: want fixed, window or deadline", c.Sync.Mode)
	}
	if c.Sync.Overlap && alg.NodeParams && !alg.OverlapNodes {
		return fmt.Errorf("sync.overlap: %s's nodes hold weights of their own, which a round-late aggregate would mix with the next round's; overlap is for algorithms with a shared θ (and streaming)", s.Kind)
	}
	if c.Sync.Overlap && alg.EveryStep {
		return fmt.Errorf("sync.overlap: %s applies every step's aggregate at once; overlap is for algorithms with inner steps", s.Kind)
	}
	if c.Sync.MaxSteps < 0 {
		return fmt.Errorf("sync.max_steps %d: want >= 0", c.Sync.MaxSteps)
	}
	if err := c.Cluster.Validate(); err != nil {
		return err
	}
	if err := c.exchangeConfig().Validate(); err != nil {
		return err
	}
	f := c.Faults
	if !(f.MaliciousShare >= 0 && f.MaliciousShare <= 1) {
		return fmt.Errorf("faults.malicious_share %v: want a share between 0 and 1", f.MaliciousShare)
	}
	switch f.Attack {
	case AttackScale, AttackSignFlip, AttackRandom:
	default:
		return fmt.Errorf("faults.attack %q: want scale, signflip or random", f.Attack)
	}
	if !(f.AttackScale > 0) {
		return fmt.Errorf("faults.attack_scale %v: want > 0", f.AttackScale)
	}
	for i, l := range f.Links {
		switch {
		case l.Node < 0 || l.Node >= c.Cluster.Nodes:
			return fmt.Errorf("faults.links[%d].node %d: out of range [0, %d)", i, l.Node, c.Cluster.Nodes)
		case l.Direction != "up" && l.Direction != "down" && l.Direction != "both":
			return fmt.Errorf("faults.links[%d].direction %q: want up, down or both", i, l.Direction)
		case !(l.Factor > 0) || math.IsInf(l.Factor, 0):
			return fmt.Errorf("faults.links[%d].factor %v: want a positive multiplier", i, l.Factor)
		case !(l.StartS >= 0) || math.IsInf(l.StartS, 0) || (l.EndS != 0 && !(l.EndS > l.StartS)):
			return fmt.Errorf("faults.links[%d]: from %v s to %v s: want 0 <= start_s < end_s (end_s 0: never ends)", i, l.StartS, l.EndS)
		}
	}
	for i, p := range f.Partitions {
		if len(p.Nodes) == 0 {
			return fmt.Errorf("faults.partitions[%d].nodes: empty (list the nodes on one side)", i)
		}
		for _, nd := range p.Nodes {
			if nd < 0 || nd >= c.Cluster.Nodes {
				return fmt.Errorf("faults.partitions[%d].nodes: node %d out of range [0, %d)", i, nd, c.Cluster.Nodes)
			}
		}
		if !(p.StartS >= 0) || math.IsInf(p.StartS, 0) || (p.EndS != 0 && !(p.EndS > p.StartS)) {
			return fmt.Errorf("faults.partitions[%d]: from %v s to %v s: want 0 <= start_s < end_s (end_s 0: never heals)", i, p.StartS, p.EndS)
		}
	}
	p := c.Projection
	for _, x := range []struct {
		key string
		v   float64
	}{{"params", p.Params}, {"tokens_per_step", p.TokensPerStep}, {"flops_per_token", p.FlopsPerToken}} {
		if !(x.v >= 0) {
			return fmt.Errorf("projection.%s %v: want >= 0 (0: the trained model's)", x.key, x.v)
		}
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
	if total := t.InnerSteps * t.OuterRounds; t.Optimizer.TotalSteps == 0 && t.Optimizer.WarmupSteps > total {
		return fmt.Errorf("train.optimizer.warmup_steps (%d) exceeds the run's %d inner steps (train.inner_steps × train.outer_rounds)",
			t.Optimizer.WarmupSteps, total)
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
