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
	ws.headReady = false // the probabilities become gradients in place
	m.packWeights(ws, 0, 0, true, false, true)
	ws.runShards(func(sh *shard) { m.headBackwardShard(ws, sh) })
	ws.runTasks(m.headTasks(ws, false, true))
	return ws.dx[m.cfg.Layers][:ws.rows()*m.cfg.Channels]
}

// headBackwardShard turns the shard's probabilities into logit gradients in
// place and back-propagates them through the LM head and the final LayerNorm
// into the shard's rows of ws.dx[Layers], keeping the LayerNorm's output
// gradient in ws.dlnf.
func (m *Model) headBackwardShard(ws *Workspace, sh *shard) {
	N, C, V, L := ws.rows(), m.cfg.Channels, m.cfg.Vocab, m.cfg.Layers
	r0, r1 := sh.r0, sh.r1
	dlogits, tgt := sh.rows(ws.logits, V), ws.tgt[r0:r1]
	sh.split(func(lo, hi int) {
		kernel.CrossEntropyBackward(dlogits[lo*V:hi*V], tgt[lo:hi], hi-lo, V, 1/float32(N))
	})
	dlnf := sh.rows(ws.dlnf, C)
	ws.head.BackwardInput(sh.workers, dlnf, dlogits, sh.n(), false)
	dx := sh.rows(ws.dx[L], C)
	clear(dx)
	sh.layerNormBackward(dx, dlnf, sh.rows(ws.x[L], C), m.p.lnfG, ws.lnfMean[r0:r1], ws.lnfRstd[r0:r1], C)
}

// headTasks returns the head's parameter gradient tasks: the final
// LayerNorm's and, with wte, the tied LM head's share of wte's. With
// overwrite they replace the gradients instead of accumulating.
func (m *Model) headTasks(ws *Workspace, overwrite, wte bool) []gradTask {
	N, C, V, L := ws.rows(), m.cfg.Channels, m.cfg.Vocab, m.cfg.Layers
	tasks := []gradTask{lnTask(overwrite, ws.g.lnfG, ws.g.lnfB, ws.dlnf[:N*C], ws.x[L][:N*C], m.p.lnfG, ws.lnfMean, ws.lnfRstd, N, C)}
	if wte {
		tasks = append(tasks, weightTask(overwrite, ws.g.wte, nil, ws.logits[:N*V], ws.lnf[:N*C], N, C, V))
	}
	return tasks
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
	m.packWeights(ws, lo, hi, false, false, true)
	ws.runShards(func(sh *shard) {
		for l := hi - 1; l >= lo; l-- {
			m.blockBackward(ws, sh, l)
		}
	})
	var tasks []gradTask
	for l := lo; l < hi; l++ {
		tasks = m.blockTasks(ws, l, false, tasks)
	}
	ws.runTasks(tasks)
	return ws.dx[lo][:N*C]
}

// blockBackward computes the shard's rows of ws.dx[l] from ws.dx[l+1],
// keeping in ws.grad[l] what the block's parameter gradients need.
func (m *Model) blockBackward(ws *Workspace, sh *shard, l int) {
	C, T, H := m.cfg.Channels, m.cfg.SeqLen, m.cfg.Heads
	p, a, lg, lin := &m.p.blocks[l], &ws.layers[l], &ws.grad[l], &ws.lin[l]
	r0, r1, n := sh.r0, sh.r1, sh.n()
	dy, dx := sh.rows(ws.dx[l+1], C), sh.rows(ws.dx[l], C)
	dbig, dln2, dres2 := sh.rows(lg.dbig, 4*C), sh.rows(lg.dln2, C), sh.rows(lg.dres2, C)
	dqkv, dln1, datty := sh.rows(lg.dqkv, 3*C), sh.rows(lg.dln1, C), sh.rows(ws.datty, C)
	fc := sh.rows(a.fc, 4*C)
	// dres2 accumulates the gradient at res2: dy through the MLP's residual,
	// then through the MLP; dx then adds the attention branch's to it.
	copy(dres2, dy)
	lin.mproj.BackwardInput(sh.workers, dbig, dy, n, false)
	sh.split(func(lo, hi int) {
		kernel.Mul(dbig[lo*4*C:hi*4*C], dbig[lo*4*C:hi*4*C], fc[lo*4*C:hi*4*C]) // fc holds GELU'(fc)
	})
	lin.fc.BackwardInput(sh.workers, dln2, dbig, n, false)
	sh.layerNormBackward(dres2, dln2, sh.rows(a.res2, C), p.ln2G, a.ln2Mean[r0:r1], a.ln2Rstd[r0:r1], C)

	copy(dx, dres2)
	lin.proj.BackwardInput(sh.workers, datty, dres2, n, false)
	sh.attn.Backward(dqkv, datty, a.att[sh.s0*H*T*T:], sh.rows(a.qkv, 3*C), sh.s1-sh.s0)
	lin.qkv.BackwardInput(sh.workers, dln1, dqkv, n, false)
	sh.layerNormBackward(dx, dln1, sh.rows(ws.x[l], C), p.ln1G, a.ln1Mean[r0:r1], a.ln1Rstd[r0:r1], C)
}

// blockTasks appends block l's parameter gradient tasks (replacing the
// gradients with overwrite, else accumulating).
func (m *Model) blockTasks(ws *Workspace, l int, overwrite bool, tasks []gradTask) []gradTask {
	N, C := ws.rows(), m.cfg.Channels
	p, g, a, lg := &m.p.blocks[l], &ws.g.blocks[l], &ws.layers[l], &ws.grad[l]
	return append(tasks,
		weightTask(overwrite, g.mprojW, g.mprojB, ws.dx[l+1][:N*C], a.gelu[:4*N*C], N, 4*C, C),
		weightTask(overwrite, g.fcW, g.fcB, lg.dbig[:4*N*C], a.ln2[:N*C], N, C, 4*C),
		lnTask(overwrite, g.ln2G, g.ln2B, lg.dln2[:N*C], a.res2[:N*C], p.ln2G, a.ln2Mean, a.ln2Rstd, N, C),
		weightTask(overwrite, g.projW, g.projB, lg.dres2[:N*C], a.atty[:N*C], N, C, C),
		weightTask(overwrite, g.qkvW, g.qkvB, lg.dqkv[:3*N*C], a.ln1[:N*C], N, C, 3*C),
		lnTask(overwrite, g.ln1G, g.ln1B, lg.dln1[:N*C], ws.x[l][:N*C], p.ln1G, a.ln1Mean, a.ln1Rstd, N, C),
	)
}

// layerNormBackward accumulates the shard's rows of dx from dout (all
// arguments are the shard's rows).
func (sh *shard) layerNormBackward(dx, dout, x, g, mean, rstd []float32, c int) {
	sh.split(func(lo, hi int) {
		kernel.LayerNormBackwardInput(dx[lo*c:hi*c], dout[lo*c:hi*c], x[lo*c:hi*c], g, mean[lo:hi], rstd[lo:hi], hi-lo, c)
	})
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
