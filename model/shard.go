package model

import (
	"slices"
	"sync"
	"sync/atomic"

	"github.com/locosim/locosim/internal/gemm"
	"github.com/locosim/locosim/model/internal/kernel"
)

// A step on several workers runs in two phases.
//
// In the first, the batch's sequences are cut into up to Workers contiguous
// shards and each shard goes through the forward pass and the backward pass
// of the activations on its own goroutine. Everything there works on rows
// (tokens) or on whole sequences, so shards never wait for one another: one
// fork and one join per step, instead of one per operation.
//
// The parameter gradients sum over every row, so they wait for the second
// phase: each is one product (or one column sum) over all rows, and these
// tasks are handed to the workers largest first. Each gradient is thus the
// same call, over the same rows in the same order, as on one worker, and the
// step gives the same bits for any worker count. The first phase keeps, per
// layer, the gradients at the linear layers' outputs for this (layerGrads).

// shard is one worker's part of the first phase: sequences [s0,s1), rows
// [r0,r1), with workers goroutines of its own when the batch has fewer
// sequences than the workspace has workers.
type shard struct {
	s0, s1, r0, r1 int
	workers        int
	attn           *kernel.Attention
}

// rows is the shard's part of a row-major tensor with width values per row.
func (sh *shard) rows(s []float32, width int) []float32 {
	return s[sh.r0*width : sh.r1*width]
}

func (sh *shard) n() int { return sh.r1 - sh.r0 }

// split runs fn over the shard's rows [0,n()) cut among its goroutines.
func (sh *shard) split(fn func(lo, hi int)) {
	kernel.Parallel(sh.workers, sh.n(), func(_, lo, hi int) { fn(lo, hi) })
}

// runShards runs fn on each shard of the current batch, the first on the
// calling goroutine.
func (ws *Workspace) runShards(fn func(sh *shard)) {
	W, b, T := ws.workers, ws.b, ws.cfg.SeqLen
	S := max(1, min(W, b))
	sh := make([]shard, S)
	for i := range sh {
		s0, s1 := i*b/S, (i+1)*b/S
		inner := W / S
		if i < W%S {
			inner++
		}
		sh[i] = shard{s0: s0, s1: s1, r0: s0 * T, r1: s1 * T, workers: inner, attn: ws.attn[i]}
	}
	if S == 1 {
		fn(&sh[0])
		return
	}
	var wg sync.WaitGroup
	wg.Add(S - 1)
	for i := 1; i < S; i++ {
		go func() {
			defer wg.Done()
			fn(&sh[i])
		}()
	}
	fn(&sh[0])
	wg.Wait()
}

// attnWorkers is the number of goroutines the attention of shard i may use:
// shard i exists only when there are at least i+1 shards, each with at most
// ceil(workers/(i+1)) goroutines.
func attnWorkers(workers, i int) int { return (workers + i) / (i + 1) }

// gradTask is one parameter gradient of the second phase; cost is its
// number of multiply-adds, for the order in which tasks are handed out.
type gradTask struct {
	cost int
	run  func()
}

// runTasks runs tasks on up to ws.workers goroutines, largest first.
func (ws *Workspace) runTasks(tasks []gradTask) {
	slices.SortStableFunc(tasks, func(a, b gradTask) int { return b.cost - a.cost })
	W := min(ws.workers, len(tasks))
	if W <= 1 {
		for _, t := range tasks {
			t.run()
		}
		return
	}
	var next atomic.Int64
	work := func() {
		for {
			i := int(next.Add(1) - 1)
			if i >= len(tasks) {
				return
			}
			tasks[i].run()
		}
	}
	var wg sync.WaitGroup
	wg.Add(W - 1)
	for range W - 1 {
		go func() {
			defer wg.Done()
			work()
		}()
	}
	work()
	wg.Wait()
}

// weightTask accumulates dw += doutᵀ·a and dbias += colsum(dout) over all
// m rows, or with overwrite replaces them (the bits of clearing first).
func weightTask(overwrite bool, dw, dbias, dout, a []float32, m, k, n int) gradTask {
	return gradTask{cost: m * k * n, run: func() {
		if overwrite {
			gemm.BackwardWeightOverwrite(dw, dbias, dout, a, m, k, n)
			return
		}
		gemm.BackwardWeight(dw, dbias, dout, a, m, k, n)
	}}
}

// lnTask accumulates a LayerNorm's gain and bias gradients over all n rows,
// clearing them first with overwrite.
func lnTask(overwrite bool, dg, db, dout, x, g, mean, rstd []float32, n, c int) gradTask {
	return gradTask{cost: 2 * n * c, run: func() {
		if overwrite {
			clear(dg)
			clear(db)
		}
		kernel.LayerNormBackwardParams(dg, db, dout, x, g, mean, rstd, n, c)
	}}
}

// packWeights packs the linear layers of blocks [lo,hi), and the LM head's
// with head, for the forward products and, with backward, for the backward
// ones: once per pass, shared by every shard. It sets them to m's weights
// first, since replicas take turns with a workspace.
func (m *Model) packWeights(ws *Workspace, lo, hi int, head, forward, backward bool) {
	C, V := m.cfg.Channels, m.cfg.Vocab
	var tasks []gradTask
	add := func(wt *gemm.Weight, w []float32, k, n int) {
		wt.Set(w, k, n)
		if forward {
			tasks = append(tasks, gradTask{cost: k * n, run: func() { wt.PackForward(1) }})
		}
		if backward {
			tasks = append(tasks, gradTask{cost: k * n, run: func() { wt.PackBackward(1) }})
		}
	}
	for l := lo; l < hi; l++ {
		p, lin := &m.p.blocks[l], &ws.lin[l]
		add(&lin.qkv, p.qkvW, C, 3*C)
		add(&lin.proj, p.projW, C, C)
		add(&lin.fc, p.fcW, C, 4*C)
		add(&lin.mproj, p.mprojW, 4*C, C)
	}
	if head {
		add(&ws.head, m.p.wte, C, V)
	}
	ws.runTasks(tasks)
}
