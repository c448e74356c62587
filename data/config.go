package data

import (
	"fmt"
	"math"
	"path/filepath"
)

// Corpus kinds accepted by Config.Kind.
const (
	KindSynthetic = "synthetic" // generated sparse Markov language, infinite, exact entropy rate
	KindText      = "text"      // a file or a folder of files, tokenized as bytes
	KindParquet   = "parquet"   // Parquet shards with a string column, tokenized as bytes
	KindTokens    = "tokens"    // uint16 token shards (llm.c .bin with header, or raw nanoGPT .bin)
)

// Token shard layouts accepted by Config.TokenFormat.
const (
	TokenFormatAuto = "auto" // llm.c if the file starts with the llm.c magic, raw otherwise
	TokenFormatLLMC = "llmc" // 256 x int32 header (magic 20240520, version 1, count), then uint16 tokens
	TokenFormatRaw  = "raw"  // uint16 little-endian tokens, no header (nanoGPT train.bin)
)

// Limits of the synthetic generator.
const (
	maxSyntheticContexts = 1 << 20 // alphabet^order
	maxZipfExponent      = 8
	maxHierarchy         = 8
)

// Config selects and shapes a corpus. The integrator nests it under the key
// "data", so error messages name keys as data.<key>.
type Config struct {
	// Kind is one of synthetic, text, parquet, tokens.
	Kind string `mapstructure:"kind" yaml:"kind"`
	// Path is the file or folder to read (text, parquet, tokens); folders are
	// walked recursively in sorted path order.
	Path string `mapstructure:"path" yaml:"path"`
	// Pattern filters file base names in a folder walk (filepath.Match syntax,
	// e.g. "*.go"). Empty means the kind's default: "*" for text, "*.parquet",
	// "*.bin" for tokens.
	Pattern string `mapstructure:"pattern" yaml:"pattern"`
	// TextColumn names the string column of Parquet shards.
	TextColumn string `mapstructure:"text_column" yaml:"text_column"`
	// TokenFormat is auto, llmc or raw (tokens kind).
	TokenFormat string `mapstructure:"token_format" yaml:"token_format"`
	// Vocab is the model's vocabulary size; every token must be below it.
	// 0 means 256 for byte corpora and 65536 for token shards.
	Vocab int `mapstructure:"vocab" yaml:"vocab"`
	// ValFraction is the share of a finite corpus's chunks held out for
	// evaluation; no node trains on them. The synthetic corpus evaluates on
	// sample paths of its own instead.
	ValFraction float64 `mapstructure:"val_fraction" yaml:"val_fraction"`
	// ChunkTokens is the unit of the train/validation split and of the
	// per-node partition of a finite corpus; windows never cross a chunk edge.
	ChunkTokens int `mapstructure:"chunk_tokens" yaml:"chunk_tokens"`
	// DocSeparator is the byte appended after every document (file or Parquet
	// row) of a byte corpus; -1 appends nothing.
	DocSeparator int `mapstructure:"doc_separator" yaml:"doc_separator"`
	// MaxTokens stops reading a finite corpus after this many tokens (0: all).
	MaxTokens int64 `mapstructure:"max_tokens" yaml:"max_tokens"`
	// Synthetic shapes the generated language (kind synthetic).
	Synthetic SyntheticConfig `mapstructure:"synthetic" yaml:"synthetic"`
}

// SyntheticConfig shapes the generated language: a Markov chain of the given
// order over the first Alphabet symbols of a fixed printable ordering (space
// and lower-case letters first). Each context has between 1 and
// 2*Branching-1 successors (capped at Alphabet, uniformly drawn; plus one
// when the de Bruijn successor that keeps the chain irreducible is not among
// them), weighted by a Zipf law. Successors are drawn hierarchically: a
// context favours the likely successors of its shorter suffixes, so shorter
// contexts already predict much of the next symbol.
type SyntheticConfig struct {
	// Seed fixes the language itself (its transition table), independently of
	// the run seed, so runs with different seeds share one entropy floor.
	Seed uint64 `mapstructure:"seed" yaml:"seed"`
	// Order is the number of preceding symbols a transition depends on.
	Order int `mapstructure:"order" yaml:"order"`
	// Alphabet is the number of distinct bytes used (2..95).
	Alphabet int `mapstructure:"alphabet" yaml:"alphabet"`
	// Branching is the mean number of successors per context.
	Branching int `mapstructure:"branching" yaml:"branching"`
	// ZipfExponent shapes successor weights: weight of rank r is (r+1)^-s;
	// 0 makes successors equally likely.
	ZipfExponent float64 `mapstructure:"zipf_exponent" yaml:"zipf_exponent"`
	// Hierarchy is how strongly a context's successors follow those of its
	// suffix one symbol shorter: draws are in proportion to the suffix's
	// weights raised to this power (0: any symbol of the suffix's pool alike).
	Hierarchy float64 `mapstructure:"hierarchy" yaml:"hierarchy"`
}

// DefaultConfig returns the synthetic corpus with the default language: an
// order-3 chain over 16 symbols (4096 contexts) whose loss ladder is
// unigram 2.73, one symbol of context 2.11, two 1.66, and the entropy rate
// 1.119 nats per token (floor at T=64: 1.143), far below ln 256 ≈ 5.55.
func DefaultConfig() Config {
	return Config{
		Kind:         KindSynthetic,
		TextColumn:   "text",
		TokenFormat:  TokenFormatAuto,
		ValFraction:  0.05,
		ChunkTokens:  1 << 16,
		DocSeparator: 0,
		Synthetic: SyntheticConfig{
			Seed:         1,
			Order:        3,
			Alphabet:     16,
			Branching:    3,
			ZipfExponent: 1,
			Hierarchy:    2,
		},
	}
}

// Validate reports the first invalid key, named as data.<key>.
func (c Config) Validate() error {
	switch c.Kind {
	case KindSynthetic:
		if err := c.Synthetic.Validate(); err != nil {
			return err
		}
	case KindText, KindParquet, KindTokens:
		if c.Path == "" {
			return fmt.Errorf("data.path: required for kind %q", c.Kind)
		}
	default:
		return fmt.Errorf("data.kind: unknown kind %q (want %s, %s, %s or %s)",
			c.Kind, KindSynthetic, KindText, KindParquet, KindTokens)
	}
	if c.Pattern != "" {
		if _, err := filepath.Match(c.Pattern, ""); err != nil {
			return fmt.Errorf("data.pattern: %q: %v", c.Pattern, err)
		}
	}
	if c.Kind == KindParquet && c.TextColumn == "" {
		return fmt.Errorf("data.text_column: required for kind %q", c.Kind)
	}
	switch c.TokenFormat {
	case TokenFormatAuto, TokenFormatLLMC, TokenFormatRaw:
	case "":
		if c.Kind == KindTokens {
			return fmt.Errorf("data.token_format: required for kind %q (auto, llmc or raw)", c.Kind)
		}
	default:
		return fmt.Errorf("data.token_format: unknown format %q (want auto, llmc or raw)", c.TokenFormat)
	}
	if c.Vocab < 0 || c.Vocab > 1<<16 {
		return fmt.Errorf("data.vocab: %d outside 0..65536", c.Vocab)
	}
	if c.Kind != KindTokens && c.Vocab != 0 && c.Vocab < 256 {
		return fmt.Errorf("data.vocab: %d cannot hold the 256 byte tokens of kind %q", c.Vocab, c.Kind)
	}
	if c.Kind == KindTokens && c.Vocab == 1 {
		return fmt.Errorf("data.vocab: 1 is too small")
	}
	if math.IsNaN(c.ValFraction) || c.ValFraction < 0 || c.ValFraction >= 1 {
		return fmt.Errorf("data.val_fraction: %v outside [0, 1)", c.ValFraction)
	}
	if c.ChunkTokens < 2 {
		return fmt.Errorf("data.chunk_tokens: %d, want at least 2", c.ChunkTokens)
	}
	if c.DocSeparator < -1 || c.DocSeparator > 255 {
		return fmt.Errorf("data.doc_separator: %d outside -1..255", c.DocSeparator)
	}
	if c.MaxTokens < 0 {
		return fmt.Errorf("data.max_tokens: %d is negative", c.MaxTokens)
	}
	return nil
}

// Validate reports the first invalid key, named as data.synthetic.<key>.
func (s SyntheticConfig) Validate() error {
	if s.Alphabet < 2 || s.Alphabet > len(symbolOrder) {
		return fmt.Errorf("data.synthetic.alphabet: %d outside 2..%d", s.Alphabet, len(symbolOrder))
	}
	if s.Order < 1 {
		return fmt.Errorf("data.synthetic.order: %d, want at least 1", s.Order)
	}
	if n := contextCount(s.Alphabet, s.Order); n < 0 || n > maxSyntheticContexts {
		return fmt.Errorf("data.synthetic.order: alphabet^order = %d^%d exceeds %d contexts",
			s.Alphabet, s.Order, maxSyntheticContexts)
	}
	if s.Branching < 1 || s.Branching > s.Alphabet {
		return fmt.Errorf("data.synthetic.branching: %d outside 1..alphabet (%d)", s.Branching, s.Alphabet)
	}
	if math.IsNaN(s.ZipfExponent) || s.ZipfExponent < 0 || s.ZipfExponent > maxZipfExponent {
		return fmt.Errorf("data.synthetic.zipf_exponent: %v outside 0..%d", s.ZipfExponent, maxZipfExponent)
	}
	if math.IsNaN(s.Hierarchy) || s.Hierarchy < 0 || s.Hierarchy > maxHierarchy {
		return fmt.Errorf("data.synthetic.hierarchy: %v outside 0..%d", s.Hierarchy, maxHierarchy)
	}
	return nil
}

// contextCount is alphabet^order, or -1 past maxSyntheticContexts.
func contextCount(alphabet, order int) int {
	n := 1
	for range order {
		n *= alphabet
		if n > maxSyntheticContexts {
			return -1
		}
	}
	return n
}

// pattern is the file name pattern a folder walk uses when none is set.
func (c Config) pattern() string {
	if c.Pattern != "" {
		return c.Pattern
	}
	switch c.Kind {
	case KindParquet:
		return "*.parquet"
	case KindTokens:
		return "*.bin"
	}
	return "*"
}

// vocab resolves Config.Vocab's zero value.
func (c Config) vocab() int {
	if c.Vocab != 0 {
		return c.Vocab
	}
	if c.Kind == KindTokens {
		return 1 << 16
	}
	return 256
}
