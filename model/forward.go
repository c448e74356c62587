package model

import (
	"fmt"

	"github.com/locosim/locosim/model/internal/kernel"
)

// ForwardBackward runs the forward and backward pass on a batch and returns
// the mean cross-entropy loss (nats per token). The gradients are left in
// ws.Grads() (overwritten, not accumulated); the parameters are not changed,
// so a caller may average gradients of several replicas before an optimizer
// step. inputs and targets hold B·SeqLen tokens for 1 <= B <= ws.Batch().
func (m *Model) ForwardBackward(ws *Workspace, inputs, targets []int32) (float64, error) {
	loss, err := m.Loss(ws, inputs, targets)
	if err != nil {
		return 0, err
	}
	ws.ZeroGrads()
	L := m.cfg.Layers
	dy := m.headBackward(ws)
	m.backwardBlocks(ws, 0, L, dy)
	m.embedBackward(ws, ws.dx[0][:ws.rows()*m.cfg.Channels])
	return loss, nil
}

// Loss runs the forward pass only and returns the mean cross-entropy loss.
// The activations it leaves in ws are those a backward pass needs.
func (m *Model) Loss(ws *Workspace, inputs, targets []int32) (float64, error) {
	if err := m.checkTokens(ws, inputs, targets); err != nil {
		return 0, err
	}
	x := m.embed(ws, inputs)
	m.forwardBlocks(ws, 0, m.cfg.Layers, x)
	return m.head(ws, ws.x[m.cfg.Layers][:ws.rows()*m.cfg.Channels], targets), nil
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
	C, T := m.cfg.Channels, m.cfg.SeqLen
	ws.b = len(inputs) / T
	copy(ws.inputs, inputs)
	x := ws.x[0][:len(inputs)*C]
	for i, tok := range inputs {
		kernel.Add(x[i*C:i*C+C], m.p.wte[int(tok)*C:int(tok)*C+C], m.p.wpe[(i%T)*C:(i%T)*C+C])
	}
	return x
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
	for l := lo; l < hi; l++ {
		m.blockForward(ws, l)
	}
	return ws.x[hi][:N*C]
}

// blockForward computes ws.x[l+1] from ws.x[l].
func (m *Model) blockForward(ws *Workspace, l int) {
	N, C := ws.rows(), m.cfg.Channels
	p, a := &m.p.blocks[l], &ws.layers[l]
	x, y := ws.x[l][:N*C], ws.x[l+1][:N*C]
	ws.layerNorm(a.ln1, a.ln1Mean, a.ln1Rstd, x, p.ln1G, p.ln1B, N, C)
	ws.linear(a.qkv, a.ln1, p.qkvW, p.qkvB, N, C, 3*C)
	ws.attn.Forward(a.atty, a.att, a.qkv, ws.b)
	ws.linear(a.res2, a.atty, p.projW, p.projB, N, C, C)
	ws.add(a.res2, a.res2, x, N, C)
	ws.layerNorm(a.ln2, a.ln2Mean, a.ln2Rstd, a.res2, p.ln2G, p.ln2B, N, C)
	ws.linear(a.fc, a.ln2, p.fcW, p.fcB, N, C, 4*C)
	ws.gelu(a.gelu, a.fc, N, 4*C)
	ws.linear(y, a.gelu, p.mprojW, p.mprojB, N, 4*C, C)
	ws.add(y, y, a.res2, N, C)
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
	N, C, V := ws.rows(), m.cfg.Channels, m.cfg.Vocab
	if dst := ws.x[m.cfg.Layers][:N*C]; &dst[0] != &x[0] {
		copy(dst, x)
	}
	copy(ws.tgt, targets)
	ws.layerNorm(ws.lnf, ws.lnfMean, ws.lnfRstd, x, m.p.lnfG, m.p.lnfB, N, C)
	logits := ws.logits[:N*V]
	ws.linear(logits, ws.lnf, m.p.wte, nil, N, C, V)
	ws.split(N, 1, func(_, lo, hi int) {
		kernel.CrossEntropyForward(logits[lo*V:hi*V], ws.losses[lo:hi], ws.tgt[lo:hi], hi-lo, V)
	})
	ws.headReady = true
	var sum float64
	for _, l := range ws.losses[:N] {
		sum += float64(l)
	}
	return sum / float64(N)
}

func (ws *Workspace) layerNorm(out, mean, rstd, x, g, b []float32, n, c int) {
	ws.split(n, 1, func(_, lo, hi int) {
		kernel.LayerNormForward(out[lo*c:hi*c], mean[lo:hi], rstd[lo:hi], x[lo*c:hi*c], g, b, hi-lo, c)
	})
}

func (ws *Workspace) add(dst, a, b []float32, n, c int) {
	ws.split(n, 1, func(_, lo, hi int) {
		kernel.Add(dst[lo*c:hi*c], a[lo*c:hi*c], b[lo*c:hi*c])
	})
}

func (ws *Workspace) gelu(out, x []float32, n, c int) {
	ws.split(n, 1, func(_, lo, hi int) {
		kernel.GeluForward(out[lo*c:hi*c], x[lo*c:hi*c])
	})
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
