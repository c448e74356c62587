package strategy_test

import (
	"testing"

	"github.com/locosim/locosim/data"
	"github.com/locosim/locosim/model"
	"github.com/locosim/locosim/sim/simtest"
)

func TestDDPConformance(t *testing.T) {
	simtest.Conformance(t, simtest.Spec{Name: "ddp", Sets: []string{"train.inner_steps=2"}, Knobs: []string{
		"strategy.compressor.kind=bf16",
	}})
}

// DDP over R replicas is one replica trained on the union of their batches.
func TestDDPEqualsUnionBatch(t *testing.T) {
	cfg := simtest.Resolve(t, "strategy.kind=ddp", "cluster.nodes=3", "train.outer_rounds=2") // 6 steps
	res := simtest.RunConfig(t, cfg)

	// One replica with the same initial weights and schedule, fed the union
	// batch, node by node, step by step.
	m, err := model.New(cfg.Model, cfg.Seed)
	if err != nil {
		t.Fatal(err)
	}
	opt := cfg.Train.Optimizer
	opt.TotalSteps = cfg.Train.InnerSteps * cfg.Train.OuterRounds
	adam, err := model.NewAdamW(opt, m.Layout())
	if err != nil {
		t.Fatal(err)
	}
	const nodes = 3
	ws, err := model.NewWorkspace(cfg.Model, nodes*cfg.Train.BatchSize, 1)
	if err != nil {
		t.Fatal(err)
	}
	shape := data.Shape{Batch: cfg.Train.BatchSize, SeqLen: cfg.Model.SeqLen}
	union := data.NewBatch(data.Shape{Batch: nodes * cfg.Train.BatchSize, SeqLen: cfg.Model.SeqLen})
	for step := range 6 {
		for row := range nodes {
			st, err := res.Run.Corpus().NodeStream(row, nodes, shape)
			if err != nil {
				t.Fatal(err)
			}
			b := data.NewBatch(shape)
			st.BatchAt(int64(step), b)
			copy(union.Inputs[row*len(b.Inputs):], b.Inputs)
			copy(union.Targets[row*len(b.Targets):], b.Targets)
		}
		if _, err := m.ForwardBackward(ws, union.Inputs, union.Targets); err != nil {
			t.Fatal(err)
		}
		if _, err := adam.Step(m.Params(), ws.Grads(), step); err != nil {
			t.Fatal(err)
		}
	}
	if d := maxAbsDiff(res.Run.Model().Params(), m.Params()); d > 1e-5 {
		t.Fatalf("DDP and the union-batch replica differ by %g", d)
	}
}
