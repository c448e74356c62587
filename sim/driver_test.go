package sim_test

import (
	"math"
	"runtime"
	"testing"

	"github.com/locosim/locosim/compress"
	"github.com/locosim/locosim/sim"
	"github.com/locosim/locosim/sim/simtest"
)

// asyncSGD is the smallest asynchronous algorithm: each node trains H steps
// from the θ it last received, pushes its pseudo-gradient to a parameter
// server in the object store, which applies it at once and sends θ back;
// nobody waits for anybody.
type asyncSGD struct{ env *sim.Env }

const (
	push = iota
	pull
)

func (s asyncSGD) Local(w *sim.Worker, n *sim.Node, from, steps int) ([]float32, error) {
	if err := n.Train(w, from, steps); err != nil {
		return nil, err
	}
	for i, x := range w.Model.Params() {
		w.Delta[i] = w.Start[i] - x
	}
	return w.Delta, nil
}

func (s asyncSGD) Apply([][]byte, int) error { return nil }
func (asyncSGD) Reset(*sim.Node)             {}
func (s asyncSGD) LR(step int) float64       { return s.env.Optimizer.LearningRate(step) }

func (s asyncSGD) Begin(c *sim.Core) error {
	for i := range c.Nodes() {
		if c.Up(i) {
			if err := c.Work(i, s.env.Config.Train.InnerSteps); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s asyncSGD) Computed(c *sim.Core, i int, payload []byte) error {
	return c.Send(sim.Message{From: i, To: c.Server(), Payload: payload, Bytes: c.WireBytes(payload), Tag: push})
}

func (s asyncSGD) Delivered(c *sim.Core, m sim.Message) error {
	if m.Tag == push {
		// The server applies the pseudo-gradient at once, then returns θ.
		theta := s.env.Theta.Params()
		d := make([]float32, len(theta))
		if _, err := s.env.Compressor.AggregateEncoded(d, [][]byte{m.Payload}); err != nil {
			return err
		}
		alpha := float32(s.env.Config.Strategy.OuterLR) / float32(c.Nodes())
		for k := range theta {
			theta[k] -= alpha * d[k]
		}
		if !c.Up(m.From) {
			return nil
		}
		return c.Send(sim.Message{From: c.Server(), To: m.From, Bytes: c.ModelBytes(), Tag: pull})
	}
	if c.Up(m.To) && !c.Busy(m.To) {
		return c.Work(m.To, s.env.Config.Train.InnerSteps)
	}
	return nil
}

func (asyncSGD) Failed(*sim.Core, int) error { return nil }

func (s asyncSGD) Back(c *sim.Core, i int) error {
	return c.Send(sim.Message{From: c.Server(), To: i, Bytes: c.ModelBytes(), Tag: pull})
}

func init() {
	sim.Register(sim.Algorithm{Name: "test-async", Compressor: compress.Dense, NodeOptimizer: true,
		New: func(env *sim.Env) (sim.Strategy, error) { return asyncSGD{env}, nil }})
}

// A Driver schedules its nodes itself: with asynchronous SGD on the default
// heterogeneous classes, fast nodes do more steps than slow ones, nobody
// waits, and the run is still a deterministic function of its seed.
func TestDriverAsync(t *testing.T) {
	cfg := simtest.Resolve(t, "strategy.kind=test-async", "cluster.nodes=6")
	res := simtest.RunConfig(t, cfg)
	ev := res.Mem.Evals
	if !(ev[len(ev)-1].EvalLoss < ev[0].EvalLoss) || math.IsNaN(ev[len(ev)-1].EvalLoss) {
		t.Errorf("loss %v -> %v", ev[0].EvalLoss, ev[len(ev)-1].EvalLoss)
	}
	steps := map[int64]int64{}
	for _, rr := range res.Mem.Rounds {
		steps[rr.Node] += rr.InnerSteps
	}
	lo, hi := int64(math.MaxInt64), int64(0)
	for _, s := range steps {
		lo, hi = min(lo, s), max(hi, s)
	}
	if !(hi > lo) {
		t.Errorf("every node did %d steps: fast nodes should do more", lo)
	}
	t.Logf("inner steps per node %v; utilisation %.3f", steps, res.Run.ComputeUtilization())
	if total := ev[len(ev)-1].Tokens; total < int64(3*3*6*2*16) {
		t.Errorf("%d tokens, want at least the synchronous run's", total)
	}
	simtest.CheckBytes(t, res)
	sync := simtest.RunConfig(t, simtest.Resolve(t, "strategy.kind=diloco", "cluster.nodes=6"))
	if a, b := res.Run.ComputeUtilization(), sync.Run.ComputeUtilization(); !(a > b) {
		t.Errorf("asynchronous utilisation %v, not above synchronous DiLoCo's %v", a, b)
	}

	old := runtime.GOMAXPROCS(1)
	one := simtest.RunConfig(t, cfg).Fingerprint()
	runtime.GOMAXPROCS(old)
	if one != res.Fingerprint() {
		t.Error("GOMAXPROCS 1 and the default give different runs")
	}

	// Nodes fail and come back; the run goes on.
	churn := simtest.RunConfig(t, simtest.Resolve(t, "strategy.kind=test-async", "cluster.nodes=6",
		"cluster.churn.mtbf_s=60", "cluster.churn.mean_downtime_s=8"))
	simtest.CheckBytes(t, churn)
	down := 0
	for _, e := range churn.Mem.Events {
		if e.Kind == "fail" {
			down++
		}
	}
	if down == 0 {
		t.Error("no node failed under churn")
	}
	if _, err := sim.NewRun(simtest.Resolve(t, "strategy.kind=test-async", "sync.overlap=true"), sim.Options{}); err == nil {
		t.Error("overlap accepted for a driven run")
	}
}

func TestDriverConformance(t *testing.T) {
	simtest.Conformance(t, simtest.Spec{Name: "test-async", Knobs: []string{"strategy.outer_lr=0.5"}})
}
