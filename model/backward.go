package model

import (
	"fmt"

	"github.com/locosim/locosim/model/internal/kernel"
)

// HeadBackward back-propagates the loss of the last Head call through the LM
// head and the final LayerNorm, accumulating their gradients (lnf, and wte for
// the tied head) into ws.Grads(), and returns the gradient at boundary Layers
// (ws.BoundaryGrad(Layers)).
func (m *Model) HeadBackward(ws *Workspace) ([]float32, error) {
	if err := m.checkWorkspace(ws); err != nil {
		return nil, err
	}
	if !ws.headReady {
		return nil, fmt.Errorf("model: HeadBackward needs a Head (or Loss) call first, once per backward pass")
	}
	return m.headBackward(ws), nil
}

func (m *Model) headBackward(ws *Workspace) []float32 {
	N, C, V, L := ws.rows(), m.cfg.Channels, m.cfg.Vocab, m.cfg.Layers
	ws.headReady = false // the probabilities become gradients in place
	dlogits := ws.logits[:N*V]
	ws.split(N, 1, func(_, lo, hi int) {
		kernel.CrossEntropyBackward(dlogits[lo*V:hi*V], ws.tgt[lo:hi], hi-lo, V, 1/float32(N))
	})
	dlnf := ws.dln[:N*C]
	clear(dlnf)
	ws.linearBackward(dlnf, ws.g.wte, nil, dlogits, ws.lnf[:N*C], m.p.wte, N, C, V)
	dx := ws.dx[L][:N*C]
	clear(dx)
	ws.layerNormBackward(dx, ws.g.lnfG, ws.g.lnfB, dlnf, ws.x[L][:N*C], m.p.lnfG, ws.lnfMean, ws.lnfRstd, N, C)
	return dx
}

// BackwardBlocks back-propagates dy, the gradient at boundary hi ([B,T,C], it
// may be ws.BoundaryGrad(hi) or a tensor received from the next stage),
// through blocks [lo,hi) using the activations of the last ForwardBlocks over
// them. It accumulates the blocks' parameter gradients into ws.Grads() and
// returns the gradient at boundary lo (ws.BoundaryGrad(lo)).
func (m *Model) BackwardBlocks(ws *Workspace, lo, hi int, dy []float32) ([]float32, error) {
	b, err := m.checkRange(ws, lo, hi, dy, "boundary gradient")
	if err != nil {
		return nil, err
	}
	if b != ws.b {
		return nil, fmt.Errorf("model: boundary gradient has %d sequences, the forward pass had %d", b, ws.b)
	}
	return m.backwardBlocks(ws, lo, hi, dy), nil
}

func (m *Model) backwardBlocks(ws *Workspace, lo, hi int, dy []float32) []float32 {
	N, C := ws.rows(), m.cfg.Channels
	if dst := ws.dx[hi][:N*C]; &dst[0] != &dy[0] {
		copy(dst, dy)
	}
	for l := hi - 1; l >= lo; l-- {
		m.blockBackward(ws, l)
	}
	return ws.dx[lo][:N*C]
}

// blockBackward computes ws.dx[l] from ws.dx[l+1].
func (m *Model) blockBackward(ws *Workspace, l int) {
	N, C := ws.rows(), m.cfg.Channels
	p, g, a := &m.p.blocks[l], &ws.g.blocks[l], &ws.layers[l]
	dy := ws.dx[l+1][:N*C]
	// dx accumulates the gradient at boundary l: dy through the MLP's residual
	// (it is then also the gradient at res2), then through attention's.
	dx := ws.dx[l][:N*C]
	copy(dx, dy)
	dbig := ws.dbig[:4*N*C]
	clear(dbig)
	ws.linearBackward(dbig, g.mprojW, g.mprojB, dy, a.gelu, p.mprojW, N, 4*C, C)
	ws.split(N, 1, func(_, lo, hi int) {
		kernel.GeluBackward(dbig[lo*4*C:hi*4*C], a.fc[lo*4*C:hi*4*C], dbig[lo*4*C:hi*4*C])
	})
	dln := ws.dln[:N*C]
	clear(dln)
	ws.linearBackward(dln, g.fcW, g.fcB, dbig, a.ln2, p.fcW, N, C, 4*C)
	ws.layerNormBackward(dx, g.ln2G, g.ln2B, dln, a.res2, p.ln2G, a.ln2Mean, a.ln2Rstd, N, C)

	datty := ws.datty[:N*C]
	clear(datty)
	ws.linearBackward(datty, g.projW, g.projB, dx, a.atty, p.projW, N, C, C)
	dqkv := ws.dqkv[:3*N*C]
	ws.attn.Backward(dqkv, datty, a.att, a.qkv, ws.b)
	clear(dln)
	ws.linearBackward(dln, g.qkvW, g.qkvB, dqkv, a.ln1, p.qkvW, N, C, 3*C)
	ws.layerNormBackward(dx, g.ln1G, g.ln1B, dln, ws.x[l][:N*C], p.ln1G, a.ln1Mean, a.ln1Rstd, N, C)
}

// EmbedBackward accumulates the embedding gradients (wte, wpe) from dx, the
// gradient at boundary 0, for the tokens of the last Embed call.
func (m *Model) EmbedBackward(ws *Workspace, dx []float32) error {
	b, err := m.checkRange(ws, 0, 0, dx, "embedding gradient")
	if err != nil {
		return err
	}
	if b != ws.b {
		return fmt.Errorf("model: embedding gradient has %d sequences, the forward pass had %d", b, ws.b)
	}
	m.embedBackward(ws, dx)
	return nil
}

func (m *Model) embedBackward(ws *Workspace, dx []float32) {
	C, T := m.cfg.Channels, m.cfg.SeqLen
	for i, tok := range ws.inputs[:ws.rows()] {
		d := dx[i*C : i*C+C]
		w := ws.g.wte[int(tok)*C : int(tok)*C+C]
		kernel.Add(w, w, d)
		p := ws.g.wpe[(i%T)*C : (i%T)*C+C]
		kernel.Add(p, p, d)
	}
}
