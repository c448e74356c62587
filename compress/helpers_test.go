package compress

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/locosim/locosim/tensor"
)

// gptLayout is the tensor set of a small GPT (vocab 256, context 64, C=128,
// L layers), about 1M parameters at L=5.
func gptLayout(layers int) tensor.Layout {
	const c, v, t = 128, 256, 64
	names := []string{"wte", "wpe"}
	shapes := [][]int{{v, c}, {t, c}}
	for l := range layers {
		for _, s := range []struct {
			n string
			s []int
		}{
			{"ln1.w", []int{c}}, {"ln1.b", []int{c}},
			{"attn.qkv.w", []int{3 * c, c}}, {"attn.qkv.b", []int{3 * c}},
			{"attn.proj.w", []int{c, c}}, {"attn.proj.b", []int{c}},
			{"ln2.w", []int{c}}, {"ln2.b", []int{c}},
			{"mlp.fc.w", []int{4 * c, c}}, {"mlp.fc.b", []int{4 * c}},
			{"mlp.proj.w", []int{c, 4 * c}}, {"mlp.proj.b", []int{c}},
		} {
			names = append(names, fmt.Sprintf("h%d.%s", l, s.n))
			shapes = append(shapes, s.s)
		}
	}
	names = append(names, "lnf.w", "lnf.b")
	shapes = append(shapes, []int{c}, []int{c})
	return tensor.Pack(names, shapes)
}

// oddLayout exercises ragged shapes: non-power-of-two blocks, a prime
// vector, a 3-D tensor and a scalar.
func oddLayout() tensor.Layout {
	return tensor.Pack(
		[]string{"w", "v", "odd", "cube", "scalar", "wide"},
		[][]int{{128, 192}, {100}, {97}, {3, 10, 24}, {1}, {2, 5000}},
	)
}

func randn(rng *rand.Rand, n int, scale float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * scale)
	}
	return x
}

func mustNew(t testing.TB, cfg Config, l tensor.Layout) *codec {
	t.Helper()
	c, err := New(cfg, l)
	if err != nil {
		t.Fatal(err)
	}
	return c.(*codec)
}

func near(a, b, tol float64) bool {
	return math.Abs(a-b) <= tol*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

// allConfigs lists one configuration per kind and per interesting variant.
func allConfigs() map[string]Config {
	d := DefaultConfig()
	m := map[string]Config{}
	set := func(name string, f func(*Config)) {
		c := d
		f(&c)
		m[name] = c
	}
	set("sparseloco", func(c *Config) {})
	set("sparseloco-entropy", func(c *Config) { c.IndexEncoding = IndexEntropy })
	set("sparseloco-bytecodes", func(c *Config) { c.CodeLayout = CodesByte })
	set("sparseloco-flat", func(c *Config) { c.Chunking = ChunkFlat })
	set("sparseloco-fp32", func(c *Config) { c.QuantBits = 0 })
	set("sparseloco-1bit", func(c *Config) { c.QuantBits = 1; c.IndexEncoding = IndexEntropy })
	set("sparseloco-3bit", func(c *Config) { c.QuantBits = 3 })
	set("sparseloco-8bit", func(c *Config) { c.QuantBits = 8; c.CodeLayout = CodesByte })
	set("sparseloco-randomk", func(c *Config) { c.Selection = SelectRandomK })
	set("sparseloco-noef", func(c *Config) { c.ErrorFeedback = false })
	set("sparseloco-templar", func(c *Config) { c.KRule = KTemplar; c.Robust = true })
	set("sparseloco-k128", func(c *Config) { c.TopKPerChunk = 128; c.Aggregation = MeanReplicas })
	set("sparseloco-density", func(c *Config) { c.Density = 0.01 })
	set("dense", func(c *Config) { c.Kind = Dense })
	set("bf16", func(c *Config) { c.Kind = BF16 })
	set("demo", func(c *Config) { c.Kind = DeMo })
	set("demo-entropy", func(c *Config) { c.Kind = DeMo; c.IndexEncoding = IndexEntropy })
	set("topk", func(c *Config) { c.Kind = TopK; c.QuantBits = 0 })
	set("topk-2bit", func(c *Config) { c.Kind = TopK; c.IndexEncoding = IndexEntropy })
	set("quantize", func(c *Config) { c.Kind = Quantize })
	set("quantize-4bit-byte", func(c *Config) { c.Kind = Quantize; c.QuantBits = 4; c.CodeLayout = CodesByte })
	return m
}
