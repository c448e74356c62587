package main

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"

	"github.com/locosim/locosim/compress"
	"github.com/locosim/locosim/tensor"
	"github.com/locosim/locosim/trace"
	"github.com/spf13/cobra"
)

func init() { extraCommands = append(extraCommands, newExplainCmd) }

// Files written by locosim explain.
const (
	explainTable    = "explain.parquet"
	explainSettings = "explain.json"
)

// Variants of the toy run: the same pseudo-gradients compressed with and
// without error feedback.
const (
	variantEF   = "error_feedback"
	variantNoEF = "no_error_feedback"
)

// explainSpec is what locosim explain runs: one toy matrix, compressed by
// the real SparseLoCo compressor over several rounds of synthetic
// pseudo-gradients.
type explainSpec struct {
	Rows, Cols int
	Rounds     int
	Seed       uint64
	Signal     float64 // amplitude of the slow, consistent part of Δ
	Noise      float64 // standard deviation of the per-round noise
	Compressor compress.Config
}

func defaultExplainSpec() explainSpec {
	c := compress.DefaultConfig()
	c.ChunkSize = 64   // 8x8 blocks, so a 16x16 toy has four chunks
	c.Density = 0.0625 // 4 of 64 per block: few enough to see, many enough to matter
	return explainSpec{Rows: 16, Cols: 16, Rounds: 12, Seed: 1, Signal: 0.3, Noise: 1, Compressor: c}
}

func (s explainSpec) validate() error {
	switch {
	case s.Rows < 1 || s.Cols < 1 || s.Rows > 1<<16 || s.Cols > 1<<16 || s.Rows*s.Cols > 1<<16:
		return fmt.Errorf("explain: rows %d x cols %d: want each >= 1 and at most 65536 elements", s.Rows, s.Cols)
	case s.Rounds < 1 || s.Rounds > 1000:
		return fmt.Errorf("explain: rounds %d: want 1..1000", s.Rounds)
	case !(s.Signal >= 0) || math.IsInf(s.Signal, 0):
		return fmt.Errorf("explain: signal %v: want a finite value >= 0", s.Signal)
	case !(s.Noise >= 0) || math.IsInf(s.Noise, 0):
		return fmt.Errorf("explain: noise %v: want a finite value >= 0", s.Noise)
	case s.Compressor.Kind != compress.SparseLoCo:
		return fmt.Errorf("explain: compressor kind %q: explain shows sparseloco", s.Compressor.Kind)
	}
	return s.Compressor.Validate()
}

// chunkOf returns, for every element of the toy matrix, the chunk the
// compressor selects it in. It mirrors compress's chunking rule (blocks of
// the largest divisors of rows and cols not above sqrt(chunk_size), or flat
// runs); the test checks it against the payloads, which must keep exactly
// k values in every chunk.
func (s explainSpec) chunkOf() (chunk []int64, k []int) {
	n := s.Rows * s.Cols
	chunk = make([]int64, n)
	c := s.Compressor
	var sizes []int
	if c.Chunking == compress.ChunkFlat {
		run := min(c.ChunkSize, n)
		for i := range chunk {
			chunk[i] = int64(i / run)
		}
		for lo := 0; lo < n; lo += run {
			sizes = append(sizes, min(run, n-lo))
		}
	} else {
		side := int(math.Sqrt(float64(c.ChunkSize)))
		h, w := largestDivisor(s.Rows, side), largestDivisor(s.Cols, side)
		nbx := s.Cols / w
		for i := range chunk {
			r, col := i/s.Cols, i%s.Cols
			chunk[i] = int64((r/h)*nbx + col/w)
		}
		for range (s.Rows / h) * nbx {
			sizes = append(sizes, h*w)
		}
	}
	for _, m := range sizes {
		k = append(k, chunkK(c, m))
	}
	return chunk, k
}

func largestDivisor(n, atMost int) int {
	for d := min(n, atMost); d > 1; d-- {
		if n%d == 0 {
			return d
		}
	}
	return 1
}

// chunkK is the research code's k rule, max(1, round(len·K/4096)), or
// production's fixed even K.
func chunkK(c compress.Config, n int) int {
	K := float64(c.TopKPerChunk)
	if c.Density > 0 {
		K = c.Density * compress.ReferenceChunk
	}
	var k int
	if c.KRule == compress.KTemplar {
		k = max(int(math.Round(K)), 2)
		k -= k % 2
	} else {
		k = max(int(math.RoundToEven(float64(n)*K/compress.ReferenceChunk)), 1)
	}
	return min(k, n)
}

// explainColumns are the per-element rows of explain.parquet.
type explainColumns struct {
	variant                                 []string
	round, index, row, col, chunk, code     []int64
	delta, efBefore, efAccum, efAfter, sent []float64
	selected                                []bool
}

func (e *explainColumns) table() []trace.Column {
	return []trace.Column{
		{Name: "variant", Values: e.variant},
		{Name: "round", Values: e.round},
		{Name: "index", Values: e.index},
		{Name: "row", Values: e.row},
		{Name: "col", Values: e.col},
		{Name: "chunk", Values: e.chunk},
		{Name: "pseudo_gradient", Values: e.delta},
		{Name: "ef_before", Values: e.efBefore},
		{Name: "ef_accumulated", Values: e.efAccum},
		{Name: "ef_after", Values: e.efAfter},
		{Name: "selected", Values: e.selected},
		{Name: "sent", Values: e.sent},
		{Name: "code", Values: e.code},
	}
}

// explainRound is one round's per-tensor summary in explain.json.
type explainRound struct {
	Variant      string    `json:"variant"`
	Round        int       `json:"round"`
	Selected     int       `json:"selected"`
	QuantMean    float64   `json:"quant_mean"`
	QuantStd     float64   `json:"quant_std"`
	QuantScale   float64   `json:"quant_scale"`
	Centroids    []float64 `json:"centroids"`
	EncodedBytes int       `json:"encoded_bytes"`
	IdealBits    float64   `json:"ideal_bits"`
	DenseBytes   int       `json:"dense_bytes"`
}

// explainOutput is explain.json: the settings, so a notebook can say what
// it shows, and the per-round statistics that are not per element.
type explainOutput struct {
	Rows           int            `json:"rows"`
	Cols           int            `json:"cols"`
	Rounds         int            `json:"rounds"`
	Seed           uint64         `json:"seed"`
	Signal         float64        `json:"signal"`
	Noise          float64        `json:"noise"`
	PseudoGradient string         `json:"pseudo_gradient"`
	Variants       []string       `json:"variants"`
	Chunks         int            `json:"chunks"`
	KPerChunk      []int          `json:"k_per_chunk"`
	Compressor     map[string]any `json:"compressor"`
	RoundStats     []explainRound `json:"round_stats"`
}

// explain runs both variants and writes dir/explain.parquet and dir/explain.json.
func explain(s explainSpec, dir string) (*explainOutput, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("explain: %w", err)
	}
	layout := tensor.Pack([]string{"w"}, [][]int{{s.Rows, s.Cols}})
	n := layout.Size()
	chunk, ks := s.chunkOf()
	cc := s.Compressor
	out := &explainOutput{
		Rows: s.Rows, Cols: s.Cols, Rounds: s.Rounds, Seed: s.Seed, Signal: s.Signal, Noise: s.Noise,
		PseudoGradient: "signal·sin(2π(row+0.5)/rows)·cos(2π(col+0.5)/cols) + noise·N(0,1), fresh noise each round",
		Variants:       []string{variantEF, variantNoEF},
		Chunks:         len(ks), KPerChunk: ks,
		Compressor: map[string]any{
			"kind": string(cc.Kind), "topk_per_chunk": cc.TopKPerChunk, "density": cc.Density,
			"chunking": cc.Chunking, "chunk_size": cc.ChunkSize, "error_decay": cc.ErrorDecay,
			"outer_lr": cc.OuterLR, "quant_bits": cc.QuantBits, "quant_range_sigmas": cc.QuantRangeSigmas,
			"selection": cc.Selection, "k_rule": cc.KRule, "index_encoding": cc.IndexEncoding,
			"code_layout": cc.CodeLayout,
		},
	}
	var cols explainColumns
	deltas := pseudoGradients(s)
	for _, variant := range out.Variants {
		cfg := cc
		cfg.ErrorFeedback = variant == variantEF
		c, err := compress.New(cfg, layout)
		if err != nil {
			return nil, fmt.Errorf("explain: %w", err)
		}
		beta, alpha := float32(cfg.ErrorDecay), float32(cfg.OuterLR)
		if !cfg.ErrorFeedback {
			beta = 0
		}
		st := c.NewState()
		for r, delta := range deltas {
			before := slices.Clone(st.Error)
			p, err := c.Compress(st, delta, compress.DeriveSeed(s.Seed, 0, r))
			if err != nil {
				return nil, fmt.Errorf("explain: round %d: %w", r, err)
			}
			t := p.Tensors[0]
			sent := make([]float64, n)
			code := make([]int64, n)
			sel := make([]bool, n)
			for i := range code {
				code[i] = -1
			}
			for j, pos := range t.Indices {
				sent[pos], sel[pos] = float64(t.Values[j]), true
				if t.Codes != nil {
					code[pos] = int64(t.Codes[j])
				}
			}
			for i := range n {
				cols.variant = append(cols.variant, variant)
				cols.round = append(cols.round, int64(r))
				cols.index = append(cols.index, int64(i))
				cols.row = append(cols.row, int64(i/s.Cols))
				cols.col = append(cols.col, int64(i%s.Cols))
				cols.chunk = append(cols.chunk, chunk[i])
				cols.delta = append(cols.delta, float64(delta[i]))
				cols.efBefore = append(cols.efBefore, float64(before[i]))
				// The accumulated buffer the compressor selected from, in the
				// compressor's own float32 arithmetic.
				cols.efAccum = append(cols.efAccum, float64(float32(beta*before[i])+float32(alpha*delta[i])))
				cols.efAfter = append(cols.efAfter, float64(st.Error[i]))
				cols.selected = append(cols.selected, sel[i])
				cols.sent = append(cols.sent, sent[i])
				cols.code = append(cols.code, code[i])
			}
			size, err := c.Size(p)
			if err != nil {
				return nil, fmt.Errorf("explain: round %d: %w", r, err)
			}
			rs := explainRound{Variant: variant, Round: r, Selected: len(t.Indices),
				EncodedBytes: size.EncodedBytes, IdealBits: size.IdealBits, DenseBytes: size.DenseBytes()}
			if q := t.Quant; q != nil {
				rs.QuantMean, rs.QuantStd, rs.QuantScale = float64(q.Mean), float64(q.Std), float64(q.Scale)
				for _, v := range q.Centroids {
					rs.Centroids = append(rs.Centroids, float64(v))
				}
			}
			out.RoundStats = append(out.RoundStats, rs)
		}
	}
	if err := trace.WriteTable(filepath.Join(dir, explainTable), cols.table()); err != nil {
		return nil, err
	}
	if err := trace.WriteJSON(filepath.Join(dir, explainSettings), out); err != nil {
		return nil, err
	}
	return out, nil
}

// pseudoGradients draws every round's Δ: a fixed smooth pattern, too weak
// to win a top-k slot in one round but consistent across rounds (what error
// feedback is for), plus fresh Gaussian noise.
func pseudoGradients(s explainSpec) [][]float32 {
	ds := make([][]float32, s.Rounds)
	for r := range ds {
		rng := rand.New(rand.NewPCG(s.Seed, uint64(r)))
		d := make([]float32, s.Rows*s.Cols)
		for i := range d {
			row, col := float64(i/s.Cols), float64(i%s.Cols)
			sig := math.Sin(2*math.Pi*(row+0.5)/float64(s.Rows)) * math.Cos(2*math.Pi*(col+0.5)/float64(s.Cols))
			d[i] = float32(s.Signal*sig + s.Noise*rng.NormFloat64())
		}
		ds[r] = d
	}
	return ds
}

func newExplainCmd() *cobra.Command {
	s := defaultExplainSpec()
	var out string
	cmd := &cobra.Command{
		Use:   "explain",
		Short: "Export SparseLoCo's error feedback and top-k on a toy tensor, for teaching (notebook 4)",
		Long: `explain runs the real SparseLoCo compressor on a small toy matrix over several rounds
of synthetic pseudo-gradients, once with error feedback and once without, and writes
per round and element: the pseudo-gradient, the error-feedback buffer before, accumulated
and after, whether the element was selected, the value sent (quantized) and its code
(explain.parquet), plus the settings and per-round quantizer statistics (explain.json).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return errors.New("explain: -o DIR is required")
			}
			o, err := explain(s, out)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%dx%d tensor, %d chunks, k per chunk %v, %d rounds x %d variants\n%s\n%s\n",
				o.Rows, o.Cols, o.Chunks, o.KPerChunk, o.Rounds, len(o.Variants),
				filepath.Join(out, explainTable), filepath.Join(out, explainSettings))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&out, "out", "o", "", "output directory")
	f.IntVar(&s.Rows, "rows", s.Rows, "rows of the toy matrix")
	f.IntVar(&s.Cols, "cols", s.Cols, "columns of the toy matrix")
	f.IntVar(&s.Rounds, "rounds", s.Rounds, "rounds of pseudo-gradients")
	f.Uint64Var(&s.Seed, "seed", s.Seed, "seed of the synthetic pseudo-gradients")
	f.Float64Var(&s.Signal, "signal", s.Signal, "amplitude of the consistent part of each pseudo-gradient")
	f.Float64Var(&s.Noise, "noise", s.Noise, "standard deviation of each round's noise")
	f.Float64Var(&s.Compressor.Density, "density", s.Compressor.Density, "share of values kept (compressor density; 0 uses --topk-per-chunk)")
	f.IntVar(&s.Compressor.TopKPerChunk, "topk-per-chunk", s.Compressor.TopKPerChunk, "K per 4096 elements, when --density is 0")
	f.StringVar(&s.Compressor.Chunking, "chunking", s.Compressor.Chunking, "blocks or flat")
	f.IntVar(&s.Compressor.ChunkSize, "chunk-size", s.Compressor.ChunkSize, "elements per full chunk (blocks: a perfect square)")
	f.IntVar(&s.Compressor.QuantBits, "quant-bits", s.Compressor.QuantBits, "bits per sent value (0: fp32)")
	f.Float64Var(&s.Compressor.ErrorDecay, "error-decay", s.Compressor.ErrorDecay, "β, the decay of the error-feedback buffer")
	f.Float64Var(&s.Compressor.OuterLR, "outer-lr", s.Compressor.OuterLR, "α, folded into the error feedback")
	f.StringVar(&s.Compressor.Selection, "selection", s.Compressor.Selection, "topk or randomk")
	return cmd
}
