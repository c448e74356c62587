package compress

import (
	"fmt"
	"math"
)

// Kind names a compressor.
type Kind string

// The compressors.
const (
	// Dense sends the pseudo-gradient as fp32 (DiLoCo's dense average).
	Dense Kind = "dense"
	// BF16 sends the pseudo-gradient rounded to bfloat16.
	BF16 Kind = "bf16"
	// SparseLoCo is error feedback + chunked top-k + low-bit quantization.
	SparseLoCo Kind = "sparseloco"
	// DeMo is momentum + block DCT + top-k per block; the aggregate's sign is the update.
	DeMo Kind = "demo"
	// TopK is SparseLoCo's machinery with one chunk per tensor (a global
	// top-k within each tensor).
	TopK Kind = "topk"
	// Quantize quantizes every element, with no sparsification.
	Quantize Kind = "quantize"
)

var kindCodes = []Kind{Dense, BF16, SparseLoCo, DeMo, TopK, Quantize}

// Chunking modes.
const (
	ChunkBlocks = "blocks" // 2-D blocks for matrices, runs for vectors
	ChunkFlat   = "flat"   // runs of chunk_size over the flattened tensor
)

// Selection rules.
const (
	SelectTopK    = "topk"
	SelectRandomK = "randomk"
)

// Aggregation means.
const (
	MeanContributors = "contributors" // mean over the payloads that sent a coordinate
	MeanReplicas     = "replicas"     // sum over payloads divided by their number
)

// K rules.
const (
	KRescale = "rescale" // k = max(1, round(chunk_len·K/4096)) (research code)
	KTemplar = "templar" // k = K, forced even, never rescaled (production)
)

// Index encodings on the wire.
const (
	IndexPacked12 = "packed12" // fixed-width packed (12 bits for chunks up to 4096)
	IndexEntropy  = "entropy"  // Rice-coded gaps, near the information floor
)

// Code layouts on the wire.
const (
	CodesPacked = "packed" // quant_bits per code, bit-packed
	CodesByte   = "byte"   // one byte per code (Templar's format)
)

// ReferenceChunk is the chunk length that topk_per_chunk and the k rules refer to.
const ReferenceChunk = 4096

// Config selects and tunes a compressor. Every field is a configuration key.
// The sparsification keys (topk_per_chunk, density, chunking, chunk_size,
// selection, k_rule) apply to sparseloco and topk (topk uses one chunk per
// tensor, so only K matters); error_decay, outer_lr, error_feedback and the
// quantization keys to sparseloco, topk and quantize; demo_beta, demo_topk
// and chunk_size (the DCT block) to demo; the aggregation and wire keys to
// every kind that has indices or codes.
type Config struct {
	// Kind is one of dense, bf16, sparseloco, demo, topk, quantize.
	Kind Kind `mapstructure:"kind" yaml:"kind"`
	// TopKPerChunk is K, the number of values kept per 4096 elements.
	TopKPerChunk int `mapstructure:"topk_per_chunk" yaml:"topk_per_chunk"`
	// Density, when > 0, replaces TopKPerChunk: K = density·4096.
	Density float64 `mapstructure:"density" yaml:"density"`
	// Chunking is "blocks" (2-D blocks for matrices, runs for vectors) or "flat".
	Chunking string `mapstructure:"chunking" yaml:"chunking"`
	// ChunkSize is the number of elements in a full chunk: blocks are
	// sqrt(chunk_size) on a side (a perfect square), flat chunks are runs of it.
	ChunkSize int `mapstructure:"chunk_size" yaml:"chunk_size"`
	// ErrorDecay is β, the decay of the error-feedback buffer.
	ErrorDecay float64 `mapstructure:"error_decay" yaml:"error_decay"`
	// OuterLR is α, folded into the error feedback: e ← β·e + α·Δ.
	OuterLR float64 `mapstructure:"outer_lr" yaml:"outer_lr"`
	// QuantBits is the bits per transmitted value (1–8); 0 sends fp32 values.
	QuantBits int `mapstructure:"quant_bits" yaml:"quant_bits"`
	// QuantRangeSigmas is the quantizer's range in standard deviations (6).
	QuantRangeSigmas float64 `mapstructure:"quant_range_sigmas" yaml:"quant_range_sigmas"`
	// Selection is "topk" or "randomk".
	Selection string `mapstructure:"selection" yaml:"selection"`
	// ErrorFeedback keeps the untransmitted residual for the next round.
	ErrorFeedback bool `mapstructure:"error_feedback" yaml:"error_feedback"`
	// Aggregation is "contributors" (reference default) or "replicas".
	Aggregation string `mapstructure:"aggregation" yaml:"aggregation"`
	// Robust scales each peer by min(1, median norm / norm) per tensor and
	// skips a tensor whose aggregate is not finite.
	Robust bool `mapstructure:"robust" yaml:"robust"`
	// KRule is "rescale" (research code) or "templar" (production).
	KRule string `mapstructure:"k_rule" yaml:"k_rule"`
	// IndexEncoding is "packed12" or "entropy".
	IndexEncoding string `mapstructure:"index_encoding" yaml:"index_encoding"`
	// CodeLayout is "packed" or "byte".
	CodeLayout string `mapstructure:"code_layout" yaml:"code_layout"`
	// DeMoBeta is DeMo's momentum decay.
	DeMoBeta float64 `mapstructure:"demo_beta" yaml:"demo_beta"`
	// DeMoTopK is the number of DCT coefficients DeMo keeps per block.
	DeMoTopK int `mapstructure:"demo_topk" yaml:"demo_topk"`
}

// DefaultConfig is SparseLoCo as in the reference: K = 64 per 4096 in 64x64
// blocks, 2-bit values, β = 0.95, α = 1, mean over contributors.
func DefaultConfig() Config {
	return Config{
		Kind:             SparseLoCo,
		TopKPerChunk:     64,
		Chunking:         ChunkBlocks,
		ChunkSize:        4096,
		ErrorDecay:       0.95,
		OuterLR:          1.0,
		QuantBits:        2,
		QuantRangeSigmas: 6,
		Selection:        SelectTopK,
		ErrorFeedback:    true,
		Aggregation:      MeanContributors,
		KRule:            KRescale,
		IndexEncoding:    IndexPacked12,
		CodeLayout:       CodesPacked,
		DeMoBeta:         0.999,
		DeMoTopK:         32,
	}
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// Validate checks every field; an error names the offending key.
func (c Config) Validate() error {
	known := false
	for _, k := range kindCodes {
		known = known || c.Kind == k
	}
	if !known {
		return fmt.Errorf("compress: kind %q: want one of dense, bf16, sparseloco, demo, topk, quantize", c.Kind)
	}
	if c.TopKPerChunk < 1 || c.TopKPerChunk > ReferenceChunk {
		return fmt.Errorf("compress: topk_per_chunk %d: want 1..%d", c.TopKPerChunk, ReferenceChunk)
	}
	if !finite(c.Density) || c.Density < 0 || c.Density > 1 {
		return fmt.Errorf("compress: density %v: want 0 (use topk_per_chunk) or a fraction in (0, 1]", c.Density)
	}
	switch c.Chunking {
	case ChunkBlocks, ChunkFlat:
	default:
		return fmt.Errorf("compress: chunking %q: want blocks or flat", c.Chunking)
	}
	if c.ChunkSize < 1 || c.ChunkSize > 1<<24 {
		return fmt.Errorf("compress: chunk_size %d: want 1..%d", c.ChunkSize, 1<<24)
	}
	if c.Chunking == ChunkBlocks || c.Kind == DeMo {
		if s := isqrt(c.ChunkSize); s*s != c.ChunkSize {
			return fmt.Errorf("compress: chunk_size %d: blocks need a perfect square (4096 = 64x64)", c.ChunkSize)
		}
	}
	if !finite(c.ErrorDecay) || c.ErrorDecay < 0 || c.ErrorDecay > 1 {
		return fmt.Errorf("compress: error_decay %v: want 0..1", c.ErrorDecay)
	}
	if !finite(c.OuterLR) || c.OuterLR <= 0 {
		return fmt.Errorf("compress: outer_lr %v: want > 0", c.OuterLR)
	}
	if c.QuantBits < 0 || c.QuantBits > 8 {
		return fmt.Errorf("compress: quant_bits %d: want 0 (off) or 1..8", c.QuantBits)
	}
	if c.Kind == Quantize && c.QuantBits == 0 {
		return fmt.Errorf("compress: quant_bits 0: kind quantize needs 1..8 bits")
	}
	if !finite(c.QuantRangeSigmas) || c.QuantRangeSigmas <= 0 {
		return fmt.Errorf("compress: quant_range_sigmas %v: want > 0", c.QuantRangeSigmas)
	}
	switch c.Selection {
	case SelectTopK, SelectRandomK:
	default:
		return fmt.Errorf("compress: selection %q: want topk or randomk", c.Selection)
	}
	switch c.Aggregation {
	case MeanContributors, MeanReplicas:
	default:
		return fmt.Errorf("compress: aggregation %q: want contributors or replicas", c.Aggregation)
	}
	switch c.KRule {
	case KRescale, KTemplar:
	default:
		return fmt.Errorf("compress: k_rule %q: want rescale or templar", c.KRule)
	}
	switch c.IndexEncoding {
	case IndexPacked12, IndexEntropy:
	default:
		return fmt.Errorf("compress: index_encoding %q: want packed12 or entropy", c.IndexEncoding)
	}
	switch c.CodeLayout {
	case CodesPacked, CodesByte:
	default:
		return fmt.Errorf("compress: code_layout %q: want packed or byte", c.CodeLayout)
	}
	if !finite(c.DeMoBeta) || c.DeMoBeta < 0 || c.DeMoBeta > 1 {
		return fmt.Errorf("compress: demo_beta %v: want 0..1", c.DeMoBeta)
	}
	if c.DeMoTopK < 1 {
		return fmt.Errorf("compress: demo_topk %d: want >= 1 (capped at the block size)", c.DeMoTopK)
	}
	return nil
}

// kPerReference is K, the count per 4096 elements, after density is applied.
func (c Config) kPerReference() float64 {
	if c.Density > 0 {
		return c.Density * ReferenceChunk
	}
	return float64(c.TopKPerChunk)
}

// chunkK is the number of values kept in a chunk of n elements.
func (c Config) chunkK(n int) int {
	var k int
	switch {
	case c.Kind == DeMo:
		k = c.DeMoTopK
	case c.KRule == KTemplar:
		// Production: K as given, forced even (at least 2), never rescaled.
		k = int(math.Round(c.kPerReference()))
		if k < 2 {
			k = 2
		}
		k -= k % 2
	default:
		// Research code: rescale K to the chunk; Python's round is half-to-even.
		k = int(math.RoundToEven(float64(n) * c.kPerReference() / ReferenceChunk))
		if k < 1 {
			k = 1
		}
	}
	if k > n {
		k = n
	}
	return k
}

func isqrt(n int) int {
	s := int(math.Sqrt(float64(n)))
	for s*s > n {
		s--
	}
	for (s+1)*(s+1) <= n {
		s++
	}
	return s
}
