package model

import (
	"fmt"

	"github.com/locosim/locosim/tensor"
)

// Layout returns the parameter layout of cfg: "wte" [V,C], "wpe" [T,C], then
// for each block i "h.i.ln1.g", "h.i.ln1.b" [C], "h.i.attn.qkv.w" [3C,C],
// "h.i.attn.qkv.b" [3C], "h.i.attn.proj.w" [C,C], "h.i.attn.proj.b" [C],
// "h.i.ln2.g", "h.i.ln2.b" [C], "h.i.mlp.fc.w" [4C,C], "h.i.mlp.fc.b" [4C],
// "h.i.mlp.proj.w" [C,4C], "h.i.mlp.proj.b" [C], and finally "lnf.g",
// "lnf.b" [C]. Weight matrices are [out,in]. The LM head reuses "wte".
func Layout(cfg Config) tensor.Layout {
	C, V, T := cfg.Channels, cfg.Vocab, cfg.SeqLen
	names := []string{"wte", "wpe"}
	shapes := [][]int{{V, C}, {T, C}}
	for i := 0; i < cfg.Layers; i++ {
		p := fmt.Sprintf("h.%d.", i)
		names = append(names,
			p+"ln1.g", p+"ln1.b", p+"attn.qkv.w", p+"attn.qkv.b", p+"attn.proj.w", p+"attn.proj.b",
			p+"ln2.g", p+"ln2.b", p+"mlp.fc.w", p+"mlp.fc.b", p+"mlp.proj.w", p+"mlp.proj.b")
		shapes = append(shapes,
			[]int{C}, []int{C}, []int{3 * C, C}, []int{3 * C}, []int{C, C}, []int{C},
			[]int{C}, []int{C}, []int{4 * C, C}, []int{4 * C}, []int{C, 4 * C}, []int{C})
	}
	names = append(names, "lnf.g", "lnf.b")
	shapes = append(shapes, []int{C}, []int{C})
	return tensor.Pack(names, shapes)
}

const tensorsPerBlock = 12

// views are the tensors of one flat buffer (parameters or gradients), sliced
// once so the hot loop does no lookups.
type views struct {
	wte, wpe   []float32
	blocks     []blockViews
	lnfG, lnfB []float32
}

type blockViews struct {
	ln1G, ln1B, qkvW, qkvB, projW, projB []float32
	ln2G, ln2B, fcW, fcB, mprojW, mprojB []float32
}

func newViews(l tensor.Layout, layers int, buf []float32) views {
	v := views{wte: l.View(buf, 0), wpe: l.View(buf, 1)}
	v.blocks = make([]blockViews, layers)
	for i := range v.blocks {
		t := func(j int) []float32 { return l.View(buf, 2+i*tensorsPerBlock+j) }
		v.blocks[i] = blockViews{
			ln1G: t(0), ln1B: t(1), qkvW: t(2), qkvB: t(3), projW: t(4), projB: t(5),
			ln2G: t(6), ln2B: t(7), fcW: t(8), fcB: t(9), mprojW: t(10), mprojB: t(11),
		}
	}
	n := len(l)
	v.lnfG, v.lnfB = l.View(buf, n-2), l.View(buf, n-1)
	return v
}
