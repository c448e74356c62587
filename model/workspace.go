package model

import (
	"fmt"
	"sync"

	"github.com/locosim/locosim/internal/gemm"
	"github.com/locosim/locosim/model/internal/kernel"
)

// Workspace holds everything one training step needs besides the parameters
// and the optimizer state: the activations of every block for batches of up to
// Batch sequences, the parameter gradients, and scratch space. One goroutine
// uses a workspace at a time; many replicas can share it in turn.
type Workspace struct {
	cfg     Config
	batch   int // capacity in sequences
	workers int
	b       int // sequences in the current step
	// headReady is set while ws.logits holds the probabilities of a forward
	// pass that HeadBackward has not yet consumed.
	headReady bool

	grads []float32
	g     views

	x      [][]float32 // residual stream at block boundaries 0..L, [N,C]
	dx     [][]float32 // its gradient
	layers []layerActs

	lnf, lnfMean, lnfRstd []float32
	logits, losses        []float32 // [N,V] (probabilities after the forward pass), [N]

	// Backward scratch.
	dln, datty, dqkv, dbig []float32
	lnSums                 []float32 // [2N], LayerNormBackwardPar scratch

	attn   *kernel.Attention
	inputs []int32 // tokens of the current step (for the embedding backward)
	tgt    []int32 // targets of the current step (for the head backward)
}

type layerActs struct {
	ln1, ln1Mean, ln1Rstd []float32
	qkv, att, atty, res2  []float32
	ln2, ln2Mean, ln2Rstd []float32
	fc, gelu              []float32
}

// workspaceFloats is the number of float32s a workspace allocates, by use.
func workspaceFloats(cfg Config, batch, workers int) (grads, acts, scratch int) {
	N, C, T, V, L, H := batch*cfg.SeqLen, cfg.Channels, cfg.SeqLen, cfg.Vocab, cfg.Layers, cfg.Heads
	grads = cfg.NumParams()
	perLayer := 2*N + N*C + 2*N + 3*N*C + batch*H*T*T + N*C + N*C + N*C + 4*N*C + 4*N*C
	acts = (L+1)*N*C + L*perLayer + N*C + 2*N + N*V + N
	scratch = (L+1)*N*C + 2*N*C + 3*N*C + 4*N*C + 2*N + workers*attnScratch(cfg)
	return grads, acts, scratch
}

// attnScratch is the per-worker scratch of kernel.Attention.
func attnScratch(cfg Config) int {
	T, hs := cfg.SeqLen, cfg.Channels/cfg.Heads
	return 7*T*hs + 2*T*T
}

// maxWorkspaceFloats caps one workspace at 16 GiB.
const maxWorkspaceFloats = 4 << 30

// NewWorkspace allocates a workspace for cfg, batches of up to batch sequences
// of cfg.SeqLen tokens, using up to workers goroutines per step (1 runs
// everything on the calling goroutine).
func NewWorkspace(cfg Config, batch, workers int) (*Workspace, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if batch <= 0 {
		return nil, fmt.Errorf("model: workspace batch must be positive, got %d", batch)
	}
	if workers <= 0 {
		return nil, fmt.Errorf("model: workspace workers must be positive, got %d", workers)
	}
	if batch > maxDim || workers > 1024 {
		return nil, fmt.Errorf("model: workspace batch %d or workers %d is implausibly large", batch, workers)
	}
	// Sizes in int64 first, so an absurd request is an error, not an overflow.
	T64, C64, H64 := int64(cfg.SeqLen), int64(cfg.Channels), int64(cfg.Heads)
	if f := int64(batch) * T64 * (int64(cfg.Layers)*(20*C64+H64*T64) + int64(cfg.Vocab) + 20*C64); f > maxWorkspaceFloats {
		return nil, fmt.Errorf("model: a workspace for batch %d would need about %d GiB", batch, f*4>>30)
	}
	N, C, T, V, L, H := batch*cfg.SeqLen, cfg.Channels, cfg.SeqLen, cfg.Vocab, cfg.Layers, cfg.Heads
	ws := &Workspace{cfg: cfg, batch: batch, workers: workers}
	_, acts, scratch := workspaceFloats(cfg, batch, workers)
	buf := make([]float32, acts+scratch-workers*attnScratch(cfg)) // attention keeps its own
	next := func(n int) []float32 {
		s := buf[:n:n]
		buf = buf[n:]
		return s
	}
	ws.grads = make([]float32, cfg.NumParams())
	ws.g = newViews(Layout(cfg), L, ws.grads)
	ws.x = make([][]float32, L+1)
	ws.dx = make([][]float32, L+1)
	for i := range ws.x {
		ws.x[i] = next(N * C)
		ws.dx[i] = next(N * C)
	}
	ws.layers = make([]layerActs, L)
	for i := range ws.layers {
		ws.layers[i] = layerActs{
			ln1: next(N * C), ln1Mean: next(N), ln1Rstd: next(N),
			qkv: next(3 * N * C), att: next(batch * H * T * T), atty: next(N * C), res2: next(N * C),
			ln2: next(N * C), ln2Mean: next(N), ln2Rstd: next(N),
			fc: next(4 * N * C), gelu: next(4 * N * C),
		}
	}
	ws.lnf, ws.lnfMean, ws.lnfRstd = next(N*C), next(N), next(N)
	ws.logits, ws.losses = next(N*V), next(N)
	ws.dln, ws.datty = next(N*C), next(N*C)
	ws.dqkv, ws.dbig = next(3*N*C), next(4*N*C)
	ws.lnSums = next(2 * N)
	if len(buf) != 0 {
		panic("model: workspace size accounting is off") // keeps Memory honest
	}
	ws.attn = kernel.NewAttention(batch, T, C, H, workers)
	ws.inputs = make([]int32, N)
	ws.tgt = make([]int32, N)
	return ws, nil
}

// Config is the model shape the workspace was sized for.
func (ws *Workspace) Config() Config { return ws.cfg }

// Batch is the largest number of sequences a step may use.
func (ws *Workspace) Batch() int { return ws.batch }

// Workers is the number of goroutines a step may use.
func (ws *Workspace) Workers() int { return ws.workers }

// Grads is the gradient buffer filled by ForwardBackward, in the model's
// Layout order. It is overwritten by the next step that uses the workspace.
func (ws *Workspace) Grads() []float32 { return ws.grads }

// ZeroGrads clears the gradient buffer. ForwardBackward does this itself; the
// per-range API accumulates, so a pipeline stage calls it before a step.
func (ws *Workspace) ZeroGrads() { clear(ws.grads) }

// Boundary is the residual-stream activation entering block l (l = 0 is the
// embedding output, l = Layers the input of the final LayerNorm) for the
// current batch: [B,T,C], valid after the forward pass reached it.
func (ws *Workspace) Boundary(l int) []float32 { return ws.x[l][:ws.rows()*ws.cfg.Channels] }

// BoundaryGrad is the gradient of the loss with respect to Boundary(l),
// valid after the backward pass reached it.
func (ws *Workspace) BoundaryGrad(l int) []float32 {
	return ws.dx[l][:ws.rows()*ws.cfg.Channels]
}

func (ws *Workspace) rows() int { return ws.b * ws.cfg.SeqLen }

// split runs fn over [0,n) cut into up to ws.workers ranges aligned to align,
// the first on the calling goroutine.
func (ws *Workspace) split(n, align int, fn func(w, lo, hi int)) {
	parts := min(ws.workers, (n+align-1)/align)
	if parts <= 1 {
		fn(0, 0, n)
		return
	}
	blocks := (n + align - 1) / align
	bound := func(w int) int { return min(n, w*blocks/parts*align) }
	var wg sync.WaitGroup
	wg.Add(parts - 1)
	for w := 1; w < parts; w++ {
		go func() {
			defer wg.Done()
			fn(w, bound(w), bound(w+1))
		}()
	}
	fn(0, 0, bound(1))
	wg.Wait()
}

// layerNormBackward is kernel.LayerNormBackwardPar on the workspace's workers.
func (ws *Workspace) layerNormBackward(dx, dg, db, dout, x, g, mean, rstd []float32, n, c int) {
	kernel.LayerNormBackwardPar(ws.workers, ws.lnSums, dx, dg, db, dout, x, g, mean, rstd, n, c)
}

// linear computes out = a·wᵀ + bias, split over rows on ws.workers
// goroutines (bit-identical for any count).
func (ws *Workspace) linear(out, a, w, bias []float32, m, k, n int) {
	gemm.ForwardPar(ws.workers, out, a, w, bias, m, k, n)
}

// linearBackward accumulates da += dout·w (if da is not nil), dw += doutᵀ·a
// and dbias += colsum(dout) (if dbias is not nil). gemm splits the weight
// gradient over output features, never over the rows it sums, so the result
// does not depend on the worker count.
func (ws *Workspace) linearBackward(da, dw, dbias, dout, a, w []float32, m, k, n int) {
	if da != nil {
		gemm.BackwardInputPar(ws.workers, da, dout, w, m, k, n)
	}
	gemm.BackwardWeightPar(ws.workers, dw, dbias, dout, a, m, k, n)
}
