package sim_test

import (
	"context"
	"fmt"

	"github.com/locosim/locosim/compress"
	"github.com/locosim/locosim/config"
	"github.com/locosim/locosim/sim"
	_ "github.com/locosim/locosim/strategy" // the algorithms
)

// small is a run that takes a fraction of a second: six nodes, a one-layer
// model, three rounds of three inner steps.
func small(sets ...string) sim.Config {
	cfg, err := config.Resolve(sim.DefaultConfig(), config.Source{Sets: append([]string{
		"model.layers=1", "model.channels=32", "model.heads=2", "model.seq_len=16",
		"train.batch_size=2", "train.inner_steps=3", "train.outer_rounds=3", "train.eval_batches=2",
		"train.optimizer.warmup_steps=2", "cluster.nodes=6", "strategy.compressor.topk_per_chunk=256",
	}, sets...)})
	if err != nil {
		panic(err)
	}
	return cfg
}

// A run is driven one round at a time: Step runs a round on simulated time
// (the nodes' work on a worker pool, their payloads over the network, the
// aggregate applied) and emits its records into a sink; Evaluate measures
// the model between rounds.
func ExampleRun_Step() {
	r, err := sim.NewRun(small(), sim.Options{})
	if err != nil {
		panic(err)
	}
	mem := &sim.Memory{} // keeps every record; rundir's writer makes Parquet of them
	first, _ := r.Evaluate(mem)
	for !r.Done() {
		if err := r.Step(mem); err != nil {
			panic(err)
		}
	}
	last, _ := r.Evaluate(mem)
	done, _ := r.Rounds()
	fmt.Printf("%d rounds, %d round records, %.0f simulated seconds\n", done, len(mem.Rounds), r.SimTimeS())
	fmt.Println("loss fell:", last.EvalLoss < first.EvalLoss)
	// Output:
	// 3 rounds, 18 round records, 251 simulated seconds
	// loss fell: true
}

// meanSGD is the smallest algorithm: every node takes H AdamW steps from
// θ, and θ moves by the plain mean of their pseudo-gradients.
type meanSGD struct{ env *sim.Env }

func (s meanSGD) Local(w *sim.Worker, n *sim.Node, from, steps int) ([]float32, error) {
	// The worker's replica holds θ; train the node on it, then return its
	// pseudo-gradient θ − θ_n for the compressor.
	if err := n.Train(w, from, steps); err != nil {
		return nil, err
	}
	theta, mine := s.env.Theta.Params(), w.Model.Params()
	for i := range w.Delta {
		w.Delta[i] = theta[i] - mine[i]
	}
	return w.Delta, nil
}

func (s meanSGD) Apply(payloads [][]byte, _ int) error {
	// Decode and average what every finishing node holds, then step.
	theta := s.env.Theta.Params()
	mean := make([]float32, len(theta))
	if _, err := s.env.Compressor.AggregateEncoded(mean, payloads); err != nil {
		return err
	}
	for i, d := range mean {
		theta[i] -= d
	}
	return nil
}

func (meanSGD) Reset(*sim.Node) {} // nothing of its own to lose in a crash

func (s meanSGD) LR(step int) float64 { return s.env.Optimizer.LearningRate(step) }

// An algorithm is a sim.Strategy registered by name; strategy.kind then
// selects it, and its test runs the conformance suite of sim/simtest. This
// one is DiLoCo without outer momentum, in a few lines.
func ExampleRegister() {
	sim.Register(sim.Algorithm{
		Name:          "mean-sgd",
		Compressor:    compress.Dense, // what strategy.compressor.kind auto means for it
		NodeOptimizer: true,           // each node keeps its own AdamW state
		New:           func(env *sim.Env) (sim.Strategy, error) { return meanSGD{env}, nil },
	})
	r, err := sim.NewRun(small("strategy.kind=mean-sgd"), sim.Options{})
	if err != nil {
		panic(err)
	}
	last, err := r.Run(context.Background(), sim.Discard, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println("rounds:", last.Round, "bytes moved > 0:", last.BytesTotal > 0)
	// Output:
	// rounds: 3 bytes moved > 0: true
}
