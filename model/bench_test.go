package model

import (
	"fmt"
	"sync"
	"testing"
)

// benchReplica is one replica with its own workspace and a fixed batch.
type benchReplica struct {
	m       *Model
	opt     *AdamW
	ws      *Workspace
	in, tgt []int32
	step    int
}

func newBenchReplica(b *testing.B, cfg Config, batch, workers int, seed uint64) *benchReplica {
	m, err := New(cfg, seed)
	if err != nil {
		b.Fatal(err)
	}
	opt, err := NewAdamW(DefaultAdamWConfig(), m.Layout())
	if err != nil {
		b.Fatal(err)
	}
	opt.SetWorkers(workers)
	n := batch * cfg.SeqLen
	return &benchReplica{m: m, opt: opt, ws: mustWorkspace(b, cfg, batch, workers),
		in: randomTokens(seed, n, cfg.Vocab), tgt: randomTokens(seed+1, n, cfg.Vocab)}
}

func (r *benchReplica) trainStep(b *testing.B) {
	if _, err := r.m.ForwardBackward(r.ws, r.in, r.tgt); err != nil {
		b.Fatal(err)
	}
	if _, err := r.opt.Step(r.m.Params(), r.ws.Grads(), r.step); err != nil {
		b.Fatal(err)
	}
	r.step++
}

var benchConfigs = []struct {
	name  string
	cfg   Config
	batch int
}{
	{"small", Small(), 8},
	{"medium", Medium(), 16},
}

// BenchmarkTrainStep is one replica's forward + backward + AdamW step.
func BenchmarkTrainStep(b *testing.B) {
	for _, bc := range benchConfigs {
		for _, workers := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/workers=%d", bc.name, workers), func(b *testing.B) {
				r := newBenchReplica(b, bc.cfg, bc.batch, workers, 1)
				r.trainStep(b) // warm up
				b.ResetTimer()
				cpu0 := processCPU()
				for b.Loop() {
					r.trainStep(b)
				}
				tokens := float64(b.N * bc.batch * bc.cfg.SeqLen)
				b.ReportMetric(tokens/b.Elapsed().Seconds(), "tokens/s")
				reportCPU(b, tokens, cpu0)
				b.ReportMetric(tokens*bc.cfg.FLOPsPerToken()/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkTwoReplicas steps two small replicas side by side, one goroutine
// and one single-worker workspace each, as the simulator runs nodes; compare
// its tokens/s with TrainStep/small/workers=1 of the same run.
func BenchmarkTwoReplicas(b *testing.B) {
	bc := benchConfigs[0]
	rs := []*benchReplica{newBenchReplica(b, bc.cfg, bc.batch, 1, 1), newBenchReplica(b, bc.cfg, bc.batch, 1, 2)}
	for _, r := range rs {
		r.trainStep(b)
	}
	b.ResetTimer()
	cpu0 := processCPU()
	for b.Loop() {
		var wg sync.WaitGroup
		for _, r := range rs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.trainStep(b)
			}()
		}
		wg.Wait()
	}
	tokens := float64(b.N * len(rs) * bc.batch * bc.cfg.SeqLen)
	b.ReportMetric(tokens/b.Elapsed().Seconds(), "tokens/s")
	reportCPU(b, tokens, cpu0)
}

// reportCPU adds tokens per CPU-second, which a shared, busy machine disturbs
// far less than wall time: with w busy cores and good scaling the wall rate
// approaches w times this.
func reportCPU(b *testing.B, tokens float64, cpu0 int64) {
	if c := processCPU() - cpu0; cpu0 > 0 && c > 0 {
		b.ReportMetric(tokens/(float64(c)/1e9), "tokens/cpu-s")
	}
}
