package model

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/locosim/locosim/tensor"
)

// Model is one replica's parameters. It holds no activations or gradients;
// those live in a Workspace.
type Model struct {
	cfg    Config
	layout tensor.Layout
	params []float32
	p      views
}

// InitStd is the standard deviation of the GPT-2 initialisation; the two
// residual projections of each block use InitStd/sqrt(2·Layers).
const InitStd = 0.02

// New returns a model with GPT-2 initialisation drawn from a PCG generator
// seeded with seed: the same config and seed give the same parameters.
func New(cfg Config, seed uint64) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := newZero(cfg)
	m.Init(seed)
	return m, nil
}

func newZero(cfg Config) *Model {
	l := Layout(cfg)
	m := &Model{cfg: cfg, layout: l, params: make([]float32, l.Size())}
	m.p = newViews(l, cfg.Layers, m.params)
	return m
}

// Init redraws every parameter from seed: weights and embeddings from
// N(0, 0.02), residual projections scaled by 1/sqrt(2L), biases 0, LayerNorm
// gains 1.
func (m *Model) Init(seed uint64) {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	projStd := InitStd / math.Sqrt(2*float64(m.cfg.Layers))
	for i, s := range m.layout {
		v := m.layout.View(m.params, i)
		switch {
		case hasSuffix(s.Name, ".g"):
			fill(v, 1)
		case len(s.Shape) == 1:
			fill(v, 0)
		default:
			std := InitStd
			if hasSuffix(s.Name, "attn.proj.w") || hasSuffix(s.Name, "mlp.proj.w") {
				std = projStd
			}
			for j := range v {
				v[j] = float32(r.NormFloat64() * std)
			}
		}
	}
}

func hasSuffix(s, suffix string) bool {
	return len(s) >= len(suffix) && s[len(s)-len(suffix):] == suffix
}

func fill(v []float32, x float32) {
	for i := range v {
		v[i] = x
	}
}

// Config returns the model's shape.
func (m *Model) Config() Config { return m.cfg }

// Layout names the tensors inside Params (see the package-level Layout).
func (m *Model) Layout() tensor.Layout { return m.layout }

// Params is the live flat parameter buffer: writing into it changes the model.
// Its length never changes.
func (m *Model) Params() []float32 { return m.params }

// Clone returns an independent copy.
func (m *Model) Clone() *Model {
	c := newZero(m.cfg)
	copy(c.params, m.params)
	return c
}

// CopyParamsFrom overwrites m's parameters with src's (θ ← θ0 in an outer
// loop); the two must have the same config.
func (m *Model) CopyParamsFrom(src *Model) error {
	if src.cfg != m.cfg {
		return fmt.Errorf("model: cannot copy parameters of config %+v into %+v", src.cfg, m.cfg)
	}
	copy(m.params, src.params)
	return nil
}

// SetParams overwrites the parameters from a flat buffer in Layout order.
func (m *Model) SetParams(p []float32) error {
	if len(p) != len(m.params) {
		return fmt.Errorf("model: SetParams got %d values, the model has %d", len(p), len(m.params))
	}
	copy(m.params, p)
	return nil
}
