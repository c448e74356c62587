package data

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestDefaultConfigValid(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		key string
		mod func(*Config)
	}{
		{"data.kind", func(c *Config) { c.Kind = "csv" }},
		{"data.path", func(c *Config) { c.Kind = KindText }},
		{"data.pattern", func(c *Config) { c.Pattern = "[" }},
		{"data.text_column", func(c *Config) { c.Kind, c.Path, c.TextColumn = KindParquet, "x", "" }},
		{"data.token_format", func(c *Config) { c.TokenFormat = "npy" }},
		{"data.token_format", func(c *Config) { c.Kind, c.Path, c.TokenFormat = KindTokens, "x", "" }},
		{"data.vocab", func(c *Config) { c.Vocab = -1 }},
		{"data.vocab", func(c *Config) { c.Vocab = 1<<16 + 1 }},
		{"data.vocab", func(c *Config) { c.Vocab = 100 }},
		{"data.vocab", func(c *Config) { c.Kind, c.Path, c.Vocab = KindTokens, "x", 1 }},
		{"data.val_fraction", func(c *Config) { c.ValFraction = 1 }},
		{"data.val_fraction", func(c *Config) { c.ValFraction = -0.1 }},
		{"data.chunk_tokens", func(c *Config) { c.ChunkTokens = 1 }},
		{"data.doc_separator", func(c *Config) { c.DocSeparator = 256 }},
		{"data.max_tokens", func(c *Config) { c.MaxTokens = -5 }},
		{"data.synthetic.alphabet", func(c *Config) { c.Synthetic.Alphabet = 1 }},
		{"data.synthetic.alphabet", func(c *Config) { c.Synthetic.Alphabet = 96 }},
		{"data.synthetic.order", func(c *Config) { c.Synthetic.Order = 0 }},
		{"data.synthetic.order", func(c *Config) { c.Synthetic.Order = 6 }}, // 16^6 contexts
		{"data.synthetic.branching", func(c *Config) { c.Synthetic.Branching = 0 }},
		{"data.synthetic.branching", func(c *Config) { c.Synthetic.Branching = 17 }},
		{"data.synthetic.zipf_exponent", func(c *Config) { c.Synthetic.ZipfExponent = -1 }},
		{"data.synthetic.hierarchy", func(c *Config) { c.Synthetic.Hierarchy = -1 }},
		{"data.synthetic.hierarchy", func(c *Config) { c.Synthetic.Hierarchy = 9 }},
	} {
		cfg := DefaultConfig()
		tc.mod(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), tc.key+":") {
			t.Errorf("%s: got %v", tc.key, err)
		}
		if _, oerr := Open(cfg, 1); oerr == nil {
			t.Errorf("%s: Open accepted an invalid config", tc.key)
		}
	}
}

// TestConfigYAML: every field round-trips through its snake_case yaml key.
func TestConfigYAML(t *testing.T) {
	src := `
kind: tokens
path: /data/fineweb
pattern: "train_*.bin"
text_column: body
token_format: llmc
vocab: 50257
val_fraction: 0.01
chunk_tokens: 1048576
doc_separator: -1
max_tokens: 1000000
synthetic: {seed: 5, order: 2, alphabet: 30, branching: 3, zipf_exponent: 1.5, hierarchy: 0.5}
`
	var cfg Config
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	want := Config{
		Kind: KindTokens, Path: "/data/fineweb", Pattern: "train_*.bin", TextColumn: "body",
		TokenFormat: TokenFormatLLMC, Vocab: 50257, ValFraction: 0.01, ChunkTokens: 1 << 20,
		DocSeparator: -1, MaxTokens: 1000000,
		Synthetic: SyntheticConfig{Seed: 5, Order: 2, Alphabet: 30, Branching: 3, ZipfExponent: 1.5, Hierarchy: 0.5},
	}
	if cfg != want {
		t.Errorf("decoded %+v\nwant    %+v", cfg, want)
	}
	if err := cfg.Validate(); err != nil {
		t.Error(err)
	}
}
