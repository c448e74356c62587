package model

import (
	"fmt"
	"math"

	"github.com/locosim/locosim/model/internal/kernel"
	"github.com/locosim/locosim/tensor"
)

// AdamWConfig configures the inner optimizer and its learning-rate schedule.
type AdamWConfig struct {
	LR          float64 `mapstructure:"lr" yaml:"lr"`
	Beta1       float64 `mapstructure:"beta1" yaml:"beta1"`
	Beta2       float64 `mapstructure:"beta2" yaml:"beta2"`
	Eps         float64 `mapstructure:"eps" yaml:"eps"`
	WeightDecay float64 `mapstructure:"weight_decay" yaml:"weight_decay"` // decoupled; matrices only
	GradClip    float64 `mapstructure:"grad_clip" yaml:"grad_clip"`       // global L2 norm; 0 disables
	WarmupSteps int     `mapstructure:"warmup_steps" yaml:"warmup_steps"`
	MinLRFrac   float64 `mapstructure:"min_lr_frac" yaml:"min_lr_frac"`
	TotalSteps  int     `mapstructure:"total_steps" yaml:"total_steps"` // end of the cosine; 0: none
}

// DefaultAdamWConfig is AdamW(β=(0.9,0.95), ε=1e-8, wd=0.1), clip 1.0,
// lr 1e-3 with 100 warm-up steps from 0.1·lr and no cosine decay.
func DefaultAdamWConfig() AdamWConfig {
	return AdamWConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.1,
		GradClip: 1, WarmupSteps: 100, MinLRFrac: 0.1, TotalSteps: 0}
}

// Validate reports the first invalid field, naming its key.
func (c AdamWConfig) Validate() error {
	bad := func(key string, v any, want string) error {
		return fmt.Errorf("model: adamw %s = %v, want %s", key, v, want)
	}
	switch {
	case !(c.LR > 0) || math.IsInf(c.LR, 0):
		return bad("lr", c.LR, "a positive number")
	case !(c.Beta1 >= 0 && c.Beta1 < 1):
		return bad("beta1", c.Beta1, "0 <= beta1 < 1")
	case !(c.Beta2 >= 0 && c.Beta2 < 1):
		return bad("beta2", c.Beta2, "0 <= beta2 < 1")
	case !(c.Eps > 0):
		return bad("eps", c.Eps, "a positive number")
	case !(c.WeightDecay >= 0):
		return bad("weight_decay", c.WeightDecay, ">= 0")
	case !(c.GradClip >= 0):
		return bad("grad_clip", c.GradClip, ">= 0 (0 disables clipping)")
	case c.WarmupSteps < 0:
		return bad("warmup_steps", c.WarmupSteps, ">= 0")
	case !(c.MinLRFrac >= 0 && c.MinLRFrac <= 1):
		return bad("min_lr_frac", c.MinLRFrac, "between 0 and 1")
	case c.TotalSteps < 0:
		return bad("total_steps", c.TotalSteps, ">= 0 (0: no decay)")
	case c.TotalSteps > 0 && c.TotalSteps < c.WarmupSteps:
		return bad("total_steps", c.TotalSteps, fmt.Sprintf(">= warmup_steps (%d) or 0", c.WarmupSteps))
	}
	return nil
}

// LearningRate is the learning rate of step (0-based): a linear warm-up from
// min_lr_frac·lr to lr over warmup_steps, then a cosine from lr down to
// min_lr_frac·lr at total_steps, constant after it (and constant at lr when
// total_steps is 0).
func (c AdamWConfig) LearningRate(step int) float64 {
	f := c.MinLRFrac
	if step < c.WarmupSteps {
		return c.LR * (f + (1-f)*float64(step)/float64(c.WarmupSteps))
	}
	if c.TotalSteps == 0 {
		return c.LR
	}
	span := c.TotalSteps - c.WarmupSteps
	if span <= 0 || step >= c.TotalSteps {
		return c.LR * f
	}
	p := float64(step-c.WarmupSteps) / float64(span)
	return c.LR * (f + (1-f)*0.5*(1+math.Cos(math.Pi*p)))
}

// AdamW is one replica's optimizer state: the first and second moments of
// every parameter.
type AdamW struct {
	cfg      AdamWConfig
	layout   tensor.Layout
	m, v     []float32
	workers  int
	partials []float64 // SumSquaresPar scratch
}

// NewAdamW returns an optimizer with zero moments for parameters described by
// layout. Weight decay applies to tensors of rank 2 or more (matrices and
// embeddings), not to gains and biases.
func NewAdamW(cfg AdamWConfig, layout tensor.Layout) (*AdamW, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := layout.Validate(); err != nil {
		return nil, err
	}
	n := layout.Size()
	return &AdamW{cfg: cfg, layout: layout, m: make([]float32, n), v: make([]float32, n), workers: 1,
		partials: make([]float64, (n+kernel.SumSquaresChunk-1)/kernel.SumSquaresChunk)}, nil
}

// SetWorkers lets Step use up to n goroutines (default 1). The result is the
// same bits for every n.
func (o *AdamW) SetWorkers(n int) { o.workers = max(1, n) }

// Config returns the optimizer's configuration.
func (o *AdamW) Config() AdamWConfig { return o.cfg }

// Moments returns the live first and second moment buffers (Layout order).
func (o *AdamW) Moments() (m, v []float32) { return o.m, o.v }

// Reset zeroes both moments.
func (o *AdamW) Reset() {
	clear(o.m)
	clear(o.v)
}

// Clone returns an independent copy of the optimizer state.
func (o *AdamW) Clone() *AdamW {
	return &AdamW{cfg: o.cfg, layout: o.layout, workers: o.workers,
		m: append([]float32(nil), o.m...), v: append([]float32(nil), o.v...),
		partials: make([]float64, len(o.partials))}
}

// StepStats describes one optimizer step.
type StepStats struct {
	LR       float64 // learning rate used
	GradNorm float64 // global L2 norm of the gradient before clipping
	Clipped  bool    // whether the gradient was scaled down
}

// Step applies one AdamW update with the learning rate of step (0-based; the
// bias corrections use step+1) to params, given grads. grads is not modified:
// clipping scales it inside the update.
func (o *AdamW) Step(params, grads []float32, step int) (StepStats, error) {
	n := len(o.m)
	if len(params) != n || len(grads) != n {
		return StepStats{}, fmt.Errorf("model: AdamW for %d parameters got %d parameters and %d gradients", n, len(params), len(grads))
	}
	if step < 0 {
		return StepStats{}, fmt.Errorf("model: AdamW step %d is negative", step)
	}
	norm := math.Sqrt(kernel.SumSquaresPar(o.workers, o.partials, grads))
	if math.IsNaN(norm) || math.IsInf(norm, 0) {
		return StepStats{GradNorm: norm}, fmt.Errorf("model: gradient norm is %v; step %d skipped", norm, step)
	}
	st := StepStats{LR: o.cfg.LearningRate(step), GradNorm: norm}
	scale := 1.0
	if o.cfg.GradClip > 0 && norm > o.cfg.GradClip {
		scale = o.cfg.GradClip / norm
		st.Clipped = true
	}
	t := float64(step + 1)
	h := kernel.AdamWParams{
		LR:        float32(st.LR),
		Beta1:     float32(o.cfg.Beta1),
		Beta2:     float32(o.cfg.Beta2),
		Eps:       float32(o.cfg.Eps),
		InvBias1:  float32(1 / (1 - math.Pow(o.cfg.Beta1, t))),
		InvBias2:  float32(1 / (1 - math.Pow(o.cfg.Beta2, t))),
		GradScale: float32(scale),
	}
	wd := float32(o.cfg.WeightDecay)
	// Elementwise, so any split gives the same bits; ranges are cut at
	// multiples of 64 elements and then by tensor (decay or not).
	const align = 64
	kernel.Parallel(o.workers, (n+align-1)/align, func(_, lo, hi int) {
		lo, hi = lo*align, min(n, hi*align)
		for _, s := range o.layout {
			a, b := max(lo, s.Offset), min(hi, s.Offset+s.Size())
			if a >= b {
				continue
			}
			hp := h
			if len(s.Shape) >= 2 {
				hp.WeightDecay = wd
			}
			kernel.AdamW(params[a:b], grads[a:b], o.m[a:b], o.v[a:b], hp)
		}
	})
	return st, nil
}
