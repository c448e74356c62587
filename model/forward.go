package model

import (
	"fmt"

	"github.com/locosim/locosim/internal/gemm"
	"github.com/locosim/locosim/model/internal/kernel"
)

// ForwardBackward runs the forward and backward pass on a batch and returns
// the mean cross-entropy loss (nats per token). The gradients are left in
// ws.Grads() (overwritten, not accumulated); the parameters are not changed,
// so a caller may average gradients of several replicas before an optimizer
// step. inputs and targets hold B·SeqLen tokens for 1 <= B <= ws.Batch().
func (m *Model) ForwardBackward(ws *Workspace, inputs, targets []int32) (float64, error) {
	if err := m.checkTokens(ws, inputs, targets); err != nil {
		return 0, err
	}
	m.setInputs(ws, inputs)
	copy(ws.tgt, targets)
	L := m.cfg.Layers
	m.packWeights(ws, 0, L, true, true, true)
	ws.runShards(func(sh *shard) {
		m.forwardShard(ws, sh)
		m.headBackwardShard(ws, sh)
		for l := L - 1; l >= 0; l-- {
			m.blockBackward(ws, sh, l)
		}
	})
	ws.headReady = false
	loss := ws.meanLoss()
	// The tasks overwrite every gradient, so nothing is cleared before.
	tasks := m.headTasks(ws, true, false)
	for l := 0; l < L; l++ {
		tasks = m.blockTasks(ws, l, true, tasks)
	}
	// wte collects the head's gradient first, then the embedding's.
	N, C, V := ws.rows(), m.cfg.Channels, m.cfg.Vocab
	tasks = append(tasks, gradTask{cost: N * C * (V + 1), run: func() {
		clear(ws.g.wpe)
		gemm.BackwardWeightOverwrite(ws.g.wte, nil, ws.logits[:N*V], ws.lnf[:N*C], N, C, V)
		m.embedBackward(ws, ws.dx[0][:N*C])
	}})
	ws.runTasks(tasks)
	return loss, nil
}

// Loss runs the forward pass only and returns the mean cross-entropy loss.
// The activations it leaves in ws are those a backward pass needs.
func (m *Model) Loss(ws *Workspace, inputs, targets []int32) (float64, error) {
	if err := m.checkTokens(ws, inputs, targets); err != nil {
		return 0, err
	}
	m.setInputs(ws, inputs)
	copy(ws.tgt, targets)
	m.packWeights(ws, 0, m.cfg.Layers, true, true, false)
	ws.runShards(func(sh *shard) { m.forwardShard(ws, sh) })
	ws.headReady = true
	return ws.meanLoss(), nil
}

// forwardShard runs the whole forward pass on the shard's rows: embedding,
// blocks, head and losses.
func (m *Model) forwardShard(ws *Workspace, sh *shard) {
	m.embedShard(ws, sh)
	for l := 0; l < m.cfg.Layers; l++ {
		m.blockForward(ws, sh, l)
	}
	m.headForward(ws, sh)
}

func (m *Model) checkWorkspace(ws *Workspace) error {
	if ws == nil {
		return fmt.Errorf("model: nil workspace")
	}
	if ws.cfg != m.cfg {
		return fmt.Errorf("model: workspace is for config %+v, model is %+v", ws.cfg, m.cfg)
	}
	return nil
}

func (m *Model) checkTokens(ws *Workspace, inputs, targets []int32) error {
	if err := m.checkWorkspace(ws); err != nil {
		return err
	}
	if len(inputs) != len(targets) {
		return fmt.Errorf("model: %d inputs but %d targets", len(inputs), len(targets))
	}
	if err := m.checkSequences(ws, len(inputs)); err != nil {
		return err
	}
	if err := m.checkVocab("input", inputs); err != nil {
		return err
	}
	return m.checkVocab("target", targets)
}

func (m *Model) checkSequences(ws *Workspace, n int) error {
	T := m.cfg.SeqLen
	if n == 0 || n%T != 0 || n > ws.batch*T {
		return fmt.Errorf("model: %d tokens is not a whole number of sequences of %d between 1 and the workspace batch %d",
			n, T, ws.batch)
	}
	return nil
}

func (m *Model) checkVocab(name string, toks []int32) error {
	for i, t := range toks {
		if t < 0 || int(t) >= m.cfg.Vocab {
			return fmt.Errorf("model: %s token %d at position %d is outside the vocabulary [0,%d)", name, t, i, m.cfg.Vocab)
		}
	}
	return nil
}

// Embed writes token plus position embeddings of inputs (B·SeqLen tokens,
// checked as in ForwardBackward) into ws.Boundary(0) and returns it.
func (m *Model) Embed(ws *Workspace, inputs []int32) ([]float32, error) {
	if err := m.checkWorkspace(ws); err != nil {
		return nil, err
	}
	if err := m.checkSequences(ws, len(inputs)); err != nil {
		return nil, err
	}
	if err := m.checkVocab("input", inputs); err != nil {
		return nil, err
	}
	return m.embed(ws, inputs), nil
}

func (m *Model) embed(ws *Workspace, inputs []int32) []float32 {
	m.setInputs(ws, inputs)
	ws.runShards(func(sh *shard) { m.embedShard(ws, sh) })
	return ws.x[0][:len(inputs)*m.cfg.Channels]
}

// setInputs starts a step on len(inputs)/SeqLen sequences.
func (m *Model) setInputs(ws *Workspace, inputs []int32) {
	ws.b = len(inputs) / m.cfg.SeqLen
	copy(ws.inputs, inputs)
}

// embedShard writes the token plus position embeddings of the shard's rows.
func (m *Model) embedShard(ws *Workspace, sh *shard) {
	C, T := m.cfg.Channels, m.cfg.SeqLen
	x := ws.x[0]
	for i := sh.r0; i < sh.r1; i++ {
		tok := int(ws.inputs[i])
		kernel.Add(x[i*C:i*C+C], m.p.wte[tok*C:tok*C+C], m.p.wpe[(i%T)*C:(i%T)*C+C])
	}
}

// checkRange validates a block range and a boundary tensor of B·SeqLen·C
// values, returning B.
func (m *Model) checkRange(ws *Workspace, lo, hi int, x []float32, what string) (int, error) {
	if err := m.checkWorkspace(ws); err != nil {
		return 0, err
	}
	if lo < 0 || hi > m.cfg.Layers || lo > hi {
		return 0, fmt.Errorf("model: block range [%d,%d) is not within [0,%d]", lo, hi, m.cfg.Layers)
	}
	per := m.cfg.SeqLen * m.cfg.Channels
	if len(x) == 0 || len(x)%per != 0 || len(x) > ws.batch*per {
		return 0, fmt.Errorf("model: %s has %d values, want B·%d·%d for B between 1 and %d",
			what, len(x), m.cfg.SeqLen, m.cfg.Channels, ws.batch)
	}
	return len(x) / per, nil
}

// ForwardBlocks runs blocks [lo,hi) on x, the residual-stream activation at
// boundary lo ([B,T,C]; it may be ws.Boundary(lo) itself or, for a pipeline
// stage, a tensor received from the previous stage), and returns the
// activation at boundary hi (ws.Boundary(hi)). A following BackwardBlocks over
// the same range uses the activations it keeps in ws.
func (m *Model) ForwardBlocks(ws *Workspace, lo, hi int, x []float32) ([]float32, error) {
	b, err := m.checkRange(ws, lo, hi, x, "boundary activation")
	if err != nil {
		return nil, err
	}
	ws.b = b
	return m.forwardBlocks(ws, lo, hi, x), nil
}

func (m *Model) forwardBlocks(ws *Workspace, lo, hi int, x []float32) []float32 {
	N, C := ws.rows(), m.cfg.Channels
	if dst := ws.x[lo][:N*C]; &dst[0] != &x[0] {
		copy(dst, x)
	}
	m.packWeights(ws, lo, hi, false, true, false)
	ws.runShards(func(sh *shard) {
		for l := lo; l < hi; l++ {
			m.blockForward(ws, sh, l)
		}
	})
	return ws.x[hi][:N*C]
}

// blockForward computes the shard's rows of ws.x[l+1] from ws.x[l].
func (m *Model) blockForward(ws *Workspace, sh *shard, l int) {
	C, T, H := m.cfg.Channels, m.cfg.SeqLen, m.cfg.Heads
	p, a, lin := &m.p.blocks[l], &ws.layers[l], &ws.lin[l]
	r0, r1 := sh.r0, sh.r1
	x, y := sh.rows(ws.x[l], C), sh.rows(ws.x[l+1], C)
	ln1, qkv, atty, res2 := sh.rows(a.ln1, C), sh.rows(a.qkv, 3*C), sh.rows(a.atty, C), sh.rows(a.res2, C)
	ln2, fc, gelu := sh.rows(a.ln2, C), sh.rows(a.fc, 4*C), sh.rows(a.gelu, 4*C)
	sh.layerNorm(ln1, a.ln1Mean[r0:r1], a.ln1Rstd[r0:r1], x, p.ln1G, p.ln1B, C)
	sh.linear(qkv, ln1, &lin.qkv, p.qkvB)
	sh.attn.Forward(atty, a.att[sh.s0*H*T*T:], qkv, sh.s1-sh.s0)
	sh.linear(res2, atty, &lin.proj, p.projB)
	sh.add(res2, res2, x, C)
	sh.layerNorm(ln2, a.ln2Mean[r0:r1], a.ln2Rstd[r0:r1], res2, p.ln2G, p.ln2B, C)
	sh.linear(fc, ln2, &lin.fc, p.fcB)
	sh.gelu(gelu, fc, 4*C) // fc then holds GELU' for the backward pass
	sh.linear(y, gelu, &lin.mproj, p.mprojB)
	sh.add(y, y, res2, C)
}

// Head applies the final LayerNorm and the tied LM head to x (the activation
// at boundary Layers, [B,T,C]) and returns the mean cross-entropy against
// targets (B·T tokens). HeadBackward continues from here.
func (m *Model) Head(ws *Workspace, x []float32, targets []int32) (float64, error) {
	b, err := m.checkRange(ws, m.cfg.Layers, m.cfg.Layers, x, "final activation")
	if err != nil {
		return 0, err
	}
	if err := m.checkVocab("target", targets); err != nil {
		return 0, err
	}
	if len(targets) != b*m.cfg.SeqLen {
		return 0, fmt.Errorf("model: %d targets for an activation of %d sequences", len(targets), b)
	}
	ws.b = b
	return m.head(ws, x, targets), nil
}

func (m *Model) head(ws *Workspace, x []float32, targets []int32) float64 {
	N, C := ws.rows(), m.cfg.Channels
	if dst := ws.x[m.cfg.Layers][:N*C]; &dst[0] != &x[0] {
		copy(dst, x)
	}
	copy(ws.tgt, targets)
	m.packWeights(ws, 0, 0, true, true, false)
	ws.runShards(func(sh *shard) { m.headForward(ws, sh) })
	ws.headReady = true
	return ws.meanLoss()
}

// headForward applies the final LayerNorm, the LM head and the softmax to the
// shard's rows, leaving probabilities in ws.logits and losses in ws.losses.
func (m *Model) headForward(ws *Workspace, sh *shard) {
	C, V := m.cfg.Channels, m.cfg.Vocab
	r0, r1 := sh.r0, sh.r1
	lnf, logits := sh.rows(ws.lnf, C), sh.rows(ws.logits, V)
	sh.layerNorm(lnf, ws.lnfMean[r0:r1], ws.lnfRstd[r0:r1], sh.rows(ws.x[m.cfg.Layers], C), m.p.lnfG, m.p.lnfB, C)
	sh.linear(logits, lnf, &ws.head, nil)
	losses, tgt := ws.losses[r0:r1], ws.tgt[r0:r1]
	sh.split(func(lo, hi int) {
		kernel.CrossEntropyForward(logits[lo*V:hi*V], losses[lo:hi], tgt[lo:hi], hi-lo, V)
	})
}

// meanLoss is the mean of the current batch's token losses, summed in order.
func (ws *Workspace) meanLoss() float64 {
	N := ws.rows()
	var sum float64
	for _, l := range ws.losses[:N] {
		sum += float64(l)
	}
	return sum / float64(N)
}

func (sh *shard) layerNorm(out, mean, rstd, x, g, b []float32, c int) {
	sh.split(func(lo, hi int) {
		kernel.LayerNormForward(out[lo*c:hi*c], mean[lo:hi], rstd[lo:hi], x[lo*c:hi*c], g, b, hi-lo, c)
	})
}

func (sh *shard) add(dst, a, b []float32, c int) {
	sh.split(func(lo, hi int) {
		kernel.Add(dst[lo*c:hi*c], a[lo*c:hi*c], b[lo*c:hi*c])
	})
}

// gelu writes out = GELU(x) and overwrites x with GELU'(x), which is all
// the backward pass needs of it.
func (sh *shard) gelu(out, x []float32, c int) {
	sh.split(func(lo, hi int) {
		kernel.GeluForwardDeriv(out[lo*c:hi*c], x[lo*c:hi*c], x[lo*c:hi*c])
	})
}

// linear computes the shard's rows of out = a·wᵀ + bias; gemm gives the
// same bits for any split of the rows.
func (sh *shard) linear(out, a []float32, w *gemm.Weight, bias []float32) {
	w.Forward(sh.workers, out, a, bias, sh.n())
}

// Evaluate returns the mean cross-entropy over any number of whole sequences,
// running the forward pass in chunks of up to ws.Batch() sequences. Chunks are
// fixed by the workspace batch, so the result depends only on the inputs and
// that batch size.
func (m *Model) Evaluate(ws *Workspace, inputs, targets []int32) (float64, error) {
	if err := m.checkWorkspace(ws); err != nil {
		return 0, err
	}
	T := m.cfg.SeqLen
	if len(inputs) != len(targets) || len(inputs) == 0 || len(inputs)%T != 0 {
		return 0, fmt.Errorf("model: evaluate needs equal numbers of input and target tokens, a positive multiple of %d; got %d and %d",
			T, len(inputs), len(targets))
	}
	var sum float64
	for lo := 0; lo < len(inputs); lo += ws.batch * T {
		hi := min(len(inputs), lo+ws.batch*T)
		l, err := m.Loss(ws, inputs[lo:hi], targets[lo:hi])
		if err != nil {
			return 0, err
		}
		sum += l * float64(hi-lo)
	}
	return sum / float64(len(inputs)), nil
}
