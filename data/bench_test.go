package data

import (
	"fmt"
	"path/filepath"
	"testing"
)

// benchStream reports tokens/s of Next at the training shape (B=8, T=64);
// training runs at ~20k tokens/s, so data must stay far below 1% of it.
func benchStream(b *testing.B, c Corpus) {
	shape := Shape{Batch: 8, SeqLen: 64}
	s, err := c.NodeStream(1, 4, shape)
	if err != nil {
		b.Fatal(err)
	}
	batch := NewBatch(shape)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		s.Next(batch)
	}
	b.ReportMetric(float64(b.N)*float64(shape.Tokens())/b.Elapsed().Seconds(), "tokens/s")
}

func BenchmarkSyntheticBatch(b *testing.B) {
	c, err := Open(DefaultConfig(), 1)
	if err != nil {
		b.Fatal(err)
	}
	benchStream(b, c)
}

func BenchmarkTextBatch(b *testing.B) {
	dir := b.TempDir()
	lang, _ := NewSynthetic(DefaultConfig().Synthetic, 1)
	writeFiles(b, dir, map[string]string{"corpus.txt": string(lang.Generate(8<<20, 1))})
	cfg := finiteConfig(KindText, filepath.Join(dir, "corpus.txt"))
	cfg.ChunkTokens = 1 << 16
	c, err := Open(cfg, 1)
	if err != nil {
		b.Fatal(err)
	}
	benchStream(b, c)
}

func BenchmarkNewSynthetic(b *testing.B) {
	for _, cfg := range []SyntheticConfig{
		DefaultConfig().Synthetic,
		{Seed: 1, Order: 4, Alphabet: 16, Branching: 4, ZipfExponent: 1}, // 65536 contexts
	} {
		b.Run(cfgName(cfg), func(b *testing.B) {
			for b.Loop() {
				if _, err := NewSynthetic(cfg, 1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func cfgName(c SyntheticConfig) string {
	return fmt.Sprintf("order%d_contexts%d", c.Order, contextCount(c.Alphabet, c.Order))
}
