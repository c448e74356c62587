package model

import "fmt"

// Config is the shape of the network.
type Config struct {
	Layers   int `mapstructure:"layers" yaml:"layers"`
	Heads    int `mapstructure:"heads" yaml:"heads"`
	Channels int `mapstructure:"channels" yaml:"channels"`
	SeqLen   int `mapstructure:"seq_len" yaml:"seq_len"`
	Vocab    int `mapstructure:"vocab" yaml:"vocab"`
}

// DefaultConfig is Small.
func DefaultConfig() Config { return Small() }

// Small is L=4, H=4, C=128, T=64, V=256: about 0.83M parameters.
func Small() Config { return Config{Layers: 4, Heads: 4, Channels: 128, SeqLen: 64, Vocab: 256} }

// Medium is L=4, H=4, C=256, T=128, V=256: about 3.2M parameters.
func Medium() Config { return Config{Layers: 4, Heads: 4, Channels: 256, SeqLen: 128, Vocab: 256} }

// Preset returns a named configuration: "small" or "medium".
func Preset(name string) (Config, error) {
	switch name {
	case "small":
		return Small(), nil
	case "medium":
		return Medium(), nil
	}
	return Config{}, fmt.Errorf("model: unknown preset %q (want small or medium)", name)
}

// maxDim bounds every dimension so that sizes stay far from int overflow and
// token ids fit in int32.
const maxDim = 1 << 20

// Validate reports the first problem with c, naming its key.
func (c Config) Validate() error {
	for _, f := range []struct {
		key string
		v   int
	}{{"layers", c.Layers}, {"heads", c.Heads}, {"channels", c.Channels}, {"seq_len", c.SeqLen}, {"vocab", c.Vocab}} {
		if f.v <= 0 {
			return fmt.Errorf("model: %s must be positive, got %d", f.key, f.v)
		}
		if f.v > maxDim {
			return fmt.Errorf("model: %s = %d is larger than %d", f.key, f.v, maxDim)
		}
	}
	if c.Channels%c.Heads != 0 {
		return fmt.Errorf("model: channels (%d) must be divisible by heads (%d)", c.Channels, c.Heads)
	}
	C, L := int64(c.Channels), int64(c.Layers)
	if n := int64(c.Vocab)*C + int64(c.SeqLen)*C + L*(12*C*C+13*C) + 2*C; n > 1<<31 {
		return fmt.Errorf("model: %d parameters is more than 2^31; not a tiny GPT", n)
	}
	return nil
}

// NumParams is the number of float32 parameters.
func (c Config) NumParams() int { return Layout(c).Size() }

// FLOPsPerToken estimates the floating-point operations of one training step
// per token (forward and backward, matrix products and attention), for
// reporting GFLOP/s: 6 per weight of every linear layer (the LM head
// included) plus three times the attention products of the forward pass.
func (c Config) FLOPsPerToken() float64 {
	C, L, T, V := float64(c.Channels), float64(c.Layers), float64(c.SeqLen), float64(c.Vocab)
	linear := L*12*C*C + V*C
	attn := L * T * C // q·k and p·v over T/2 keys on average: 2·2·C·T/2 per token forward
	return 6*linear + 6*attn
}
