package model_test

import (
	"fmt"

	"github.com/locosim/locosim/model"
)

// One replica's training step: forward and backward into a shared workspace,
// then an AdamW update of the replica's own parameters and moments.
func Example() {
	cfg := model.Config{Layers: 2, Heads: 2, Channels: 32, SeqLen: 16, Vocab: 64}
	m, _ := model.New(cfg, 1)
	opt, _ := model.NewAdamW(model.DefaultAdamWConfig(), m.Layout())
	ws, _ := model.NewWorkspace(cfg, 4, 1)

	inputs := make([]int32, 4*cfg.SeqLen)
	targets := make([]int32, 4*cfg.SeqLen)
	for i := range inputs {
		inputs[i], targets[i] = int32(i%64), int32((i+1)%64)
	}
	loss, _ := m.ForwardBackward(ws, inputs, targets)
	opt.Step(m.Params(), ws.Grads(), 0)
	fmt.Printf("initial loss %.2f (ln 64 = 4.16)\n", loss)
	// Output: initial loss 4.17 (ln 64 = 4.16)
}

// A pipeline of two stages, each with its own workspace as two nodes would
// have: stage 0 embeds and runs block 0, stage 1 runs block 1 and the head.
// The boundary activation and its gradient are plain slices that could be
// compressed on the way.
func ExampleModel_ForwardBlocks() {
	cfg := model.Config{Layers: 2, Heads: 2, Channels: 16, SeqLen: 8, Vocab: 32}
	m, _ := model.New(cfg, 1)
	ws0, _ := model.NewWorkspace(cfg, 1, 1)
	ws1, _ := model.NewWorkspace(cfg, 1, 1)
	ws0.ZeroGrads()
	ws1.ZeroGrads()
	inputs := []int32{1, 2, 3, 4, 5, 6, 7, 8}
	targets := []int32{2, 3, 4, 5, 6, 7, 8, 9}

	x, _ := m.Embed(ws0, inputs)
	x, _ = m.ForwardBlocks(ws0, 0, 1, x)
	sent := append([]float32(nil), x...) // over the network to stage 1
	y, _ := m.ForwardBlocks(ws1, 1, 2, sent)
	loss, _ := m.Head(ws1, y, targets)

	dy, _ := m.HeadBackward(ws1)
	dx, _ := m.BackwardBlocks(ws1, 1, 2, dy)
	back := append([]float32(nil), dx...) // over the network to stage 0
	dx, _ = m.BackwardBlocks(ws0, 0, 1, back)
	m.EmbedBackward(ws0, dx)
	fmt.Printf("boundary tensor of %d values, loss %.2f\n", len(sent), loss)
	// Output: boundary tensor of 128 values, loss 3.47
}
