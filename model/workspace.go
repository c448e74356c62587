package model

import (
	"fmt"

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

	// Gradients at the outputs of the linear layers, kept by the backward
	// pass of the activations for the parameter gradients (see shard.go).
	grad []layerGrads
	dlnf []float32 // [N,C], at the final LayerNorm's output
	// datty is backward scratch, [N,C].
	datty []float32

	attn []*kernel.Attention // one per shard (attnWorkers goroutines each)
	// The linear layers' weights, packed once per pass for every shard.
	lin    []blockLinears
	head   gemm.Weight
	inputs []int32 // tokens of the current step (for the embedding backward)
	tgt    []int32 // targets of the current step (for the head backward)
}

// layerGrads are one block's gradients at the outputs of its MLP projection
// input (dbig, [N,4C], through the GELU), its LayerNorms (dln1, dln2) and
// its attention projection (dres2, the residual stream's gradient there),
// and at its QKV projection's output (dqkv, [N,3C]).
type layerGrads struct {
	dbig, dln2, dres2, dqkv, dln1 []float32
}

type blockLinears struct{ qkv, proj, fc, mproj gemm.Weight }

type layerActs struct {
	ln1, ln1Mean, ln1Rstd []float32
	qkv, att, atty, res2  []float32
	ln2, ln2Mean, ln2Rstd []float32
	// fc is the MLP's pre-activation until the GELU, which replaces it by
	// the GELU's derivative there; gelu is the GELU's output.
	fc, gelu []float32
}

// workspaceFloats is the number of float32s a workspace allocates, by use.
func workspaceFloats(cfg Config, batch, workers int) (grads, acts, scratch int) {
	N, C, T, V, L, H := batch*cfg.SeqLen, cfg.Channels, cfg.SeqLen, cfg.Vocab, cfg.Layers, cfg.Heads
	grads = cfg.NumParams()
	perLayer := 2*N + N*C + 2*N + 3*N*C + batch*H*T*T + N*C + N*C + N*C + 4*N*C + 4*N*C
	acts = (L+1)*N*C + L*perLayer + N*C + 2*N + N*V + N
	scratch = (L+1)*N*C + L*10*N*C + 2*N*C + attnScratches(workers)*attnScratch(cfg)
	scratch += packedWeightFloats(cfg)
	return grads, acts, scratch
}

// packedWeightFloats is the memory of the packed linear layers.
func packedWeightFloats(cfg Config) int {
	C, V := cfg.Channels, cfg.Vocab
	return cfg.Layers*(gemm.WeightFloats(C, 3*C)+gemm.WeightFloats(C, C)+gemm.WeightFloats(C, 4*C)+gemm.WeightFloats(4*C, C)) +
		gemm.WeightFloats(C, V)
}

// attnScratches is the number of per-goroutine attention scratch spaces of a
// workspace: attnWorkers(workers, i) for each shard i.
func attnScratches(workers int) int {
	n := 0
	for i := range workers {
		n += attnWorkers(workers, i)
	}
	return n
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
	// Attention and the packed weights keep their own memory.
	buf := make([]float32, acts+scratch-attnScratches(workers)*attnScratch(cfg)-packedWeightFloats(cfg))
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
	ws.grad = make([]layerGrads, L)
	for i := range ws.grad {
		ws.grad[i] = layerGrads{dbig: next(4 * N * C), dln2: next(N * C), dres2: next(N * C), dqkv: next(3 * N * C), dln1: next(N * C)}
	}
	ws.dlnf, ws.datty = next(N*C), next(N*C)
	if len(buf) != 0 {
		panic("model: workspace size accounting is off") // keeps Memory honest
	}
	ws.lin = make([]blockLinears, L)
	ws.attn = make([]*kernel.Attention, workers)
	for i := range ws.attn {
		ws.attn[i] = kernel.NewAttention(batch, T, C, H, attnWorkers(workers, i))
	}
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
