package strategy_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/locosim/locosim/compress"
	"github.com/locosim/locosim/config"
	"github.com/locosim/locosim/model"
	"github.com/locosim/locosim/record"
	"github.com/locosim/locosim/sim"
	"github.com/locosim/locosim/sim/simtest"
)

func TestNoLoCoConformance(t *testing.T) {
	simtest.Conformance(t, simtest.Spec{Name: "noloco", Knobs: []string{
		"strategy.noloco.outer_momentum=0.3", "strategy.noloco.gamma=0.5", "strategy.outer_lr=0.7",
	}})
}

func TestNoLoCoRejectsBadKeys(t *testing.T) {
	for _, set := range []string{
		"strategy.noloco.outer_momentum=-0.1", "strategy.noloco.outer_momentum=1",
		"strategy.noloco.gamma=-1", "strategy.noloco.gamma=.inf",
	} {
		cfg, err := config.Resolve(sim.DefaultConfig(), config.Source{Sets: []string{"strategy.kind=noloco", set}})
		if err == nil {
			err = cfg.ValidateRun()
		}
		key, _, _ := strings.Cut(set, "=")
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: error %v, want one naming %s", set, err, key)
		}
	}
}

// With two nodes the pair is always the two of them: their slow weights
// stay equal, the γ term vanishes, and δ ← α·δ − β·d̄, φ ← φ + δ is
// DiLoCo's heavy-ball step m ← α·m + d̄, θ ← θ − β·m (δ = −β·m).
func TestNoLoCoOfTwoIsDiLoCo(t *testing.T) {
	for _, tc := range []struct{ alpha, beta, gamma string }{
		{"0.5", "1", "1"},     // the defaults
		{"0.3", "0.7", "0.7"}, // γ = β: fast weights only
		{"0.3", "0.7", "1.3"}, // γ ≠ β: fast and slow weights
		{"0.3", "0.7", "0"},
	} {
		name := fmt.Sprintf("α=%s,β=%s,γ=%s", tc.alpha, tc.beta, tc.gamma)
		t.Run(name, func(t *testing.T) {
			common := []string{"cluster.nodes=2", "train.outer_rounds=4", "strategy.outer_lr=" + tc.beta}
			n := simtest.RunConfig(t, simtest.Resolve(t, append(common, "strategy.kind=noloco",
				"strategy.noloco.outer_momentum="+tc.alpha, "strategy.noloco.gamma="+tc.gamma)...))
			diloco := func(mu string) []float32 {
				d := simtest.RunConfig(t, simtest.Resolve(t, append(common, "strategy.kind=diloco",
					"strategy.diloco.outer_momentum="+mu, "strategy.diloco.nesterov=false")...))
				return d.Run.Model().Params()
			}
			if diff := maxAbsDiff(n.Run.Model().Params(), diloco(tc.alpha)); diff > 1e-5 {
				t.Errorf("NoLoCo of two and DiLoCo with heavy-ball momentum %s differ by %g", tc.alpha, diff)
			}
			// The comparison can tell momenta apart.
			if diff := maxAbsDiff(n.Run.Model().Params(), diloco("0.9")); diff < 1e-4 {
				t.Errorf("NoLoCo at α = %s and DiLoCo at μ = 0.9 differ by only %g", tc.alpha, diff)
			}
		})
	}
}

// A node sends its fast weights, one model's worth of bytes (what DiLoCo's
// dense pseudo-gradient weighs), when γ = β; its fast and slow weights,
// twice that, otherwise.
func TestNoLoCoPayloadBytes(t *testing.T) {
	peak := func(res simtest.Result) (m int64) {
		for _, rr := range res.Mem.Rounds {
			m = max(m, rr.PayloadBytes)
		}
		return m
	}
	one := peak(simtest.RunConfig(t, simtest.Resolve(t, "strategy.kind=diloco")))
	for _, tc := range []struct {
		sets   []string
		models float64
	}{
		{[]string{"strategy.noloco.gamma=1"}, 1},
		{[]string{"strategy.outer_lr=0.7", "strategy.noloco.gamma=0.7"}, 1},
		{[]string{"strategy.noloco.gamma=0.5"}, 2},
		{[]string{"strategy.outer_lr=0.7"}, 2},
		{[]string{"strategy.noloco.gamma=0.5", "strategy.compressor.kind=bf16"}, 1},
	} {
		res := simtest.RunConfig(t, simtest.Resolve(t, append([]string{"strategy.kind=noloco"}, tc.sets...)...))
		if r := float64(peak(res)) / float64(one); math.Abs(r-tc.models) > 0.01 {
			t.Errorf("%v: payloads of %.3f models, want %g", tc.sets, r, tc.models)
		}
		simtest.CheckBytes(t, res)
	}
}

// noloco builds the strategy as the core would, for driving it by hand,
// with nodes whose weights are θ's.
func noloco(t *testing.T, nodes int, sets ...string) (sim.Encoder, sim.NodeApplier, sim.Strategy, []*sim.Node, sim.Config) {
	t.Helper()
	cfg := simtest.Resolve(t, append([]string{"strategy.kind=noloco", fmt.Sprintf("cluster.nodes=%d", nodes)}, sets...)...)
	section, err := cfg.Section("noloco")
	if err != nil {
		t.Fatal(err)
	}
	theta, err := model.New(cfg.Model, cfg.Seed)
	if err != nil {
		t.Fatal(err)
	}
	comp, err := compress.New(cfg.CompressorConfig(), theta.Layout())
	if err != nil {
		t.Fatal(err)
	}
	alg, _ := sim.Lookup("noloco")
	st, err := alg.New(&sim.Env{Config: cfg, Theta: theta, Compressor: comp, Section: section})
	if err != nil {
		t.Fatal(err)
	}
	ns := make([]*sim.Node, nodes)
	for i := range ns {
		ns[i] = &sim.Node{ID: i, Params: append([]float32(nil), theta.Params()...), State: comp.NewState()}
	}
	return st.(sim.Encoder), st.(sim.NodeApplier), st, ns, cfg
}

// noisy returns a node's weights moved by noise: fast weights after inner
// steps on data of its own.
func noisy(rng *rand.Rand, n *sim.Node) []float32 {
	fast := make([]float32, len(n.Params))
	for j := range fast {
		fast[j] = n.Params[j] + 0.01*float32(rng.NormFloat64())
	}
	return fast
}

// The γ term pulls the nodes' slow weights together. A run does not expose
// its nodes' weights, so this drives the strategy as the core does: eight
// nodes whose inner steps move their weights by noise of their own, paired
// at random every round; the spread of their slow weights is smaller the
// larger γ.
func TestNoLoCoGammaPullsNodesTogether(t *testing.T) {
	const nodes, rounds = 8, 12
	spread := func(gamma float64) float64 {
		enc, app, _, ns, cfg := noloco(t, nodes, fmt.Sprintf("strategy.noloco.gamma=%v", gamma))
		rng := rand.New(rand.NewPCG(1, 2))
		for r := range rounds {
			wires := make([][]byte, nodes)
			for i, n := range ns {
				var err error
				if wires[i], _, err = enc.Encode(n, noisy(rng, n), r); err != nil {
					t.Fatal(err)
				}
			}
			perm := rng.Perm(nodes)
			for k := 0; k < nodes; k += 2 {
				a, b := min(perm[k], perm[k+1]), max(perm[k], perm[k+1])
				for _, i := range []int{a, b} {
					if err := app.ApplyNode(ns[i], [][]byte{wires[a], wires[b]}, r*cfg.Train.InnerSteps); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		size := len(ns[0].Params)
		var sum float64
		for j := range size {
			var mean float64
			for _, n := range ns {
				mean += float64(n.Params[j])
			}
			mean /= nodes
			for _, n := range ns {
				sum += (float64(n.Params[j]) - mean) * (float64(n.Params[j]) - mean)
			}
		}
		return math.Sqrt(sum / float64(nodes*size))
	}
	prev := math.Inf(1)
	for _, gamma := range []float64{0, 0.3, 1} { // γ = 1 = β sends fast weights only
		s := spread(gamma)
		t.Logf("γ = %g: RMS distance of the nodes' slow weights from their mean %.3g", gamma, s)
		if !(s < prev) {
			t.Errorf("γ = %g: spread %.3g, not below %.3g at the smaller γ", gamma, s, prev)
		}
		prev = s
	}
}

// How a node steps with what it holds: a node whose own payload was too
// late to send still holds it and steps with its group as if it had
// travelled; one whose partner's payload did not come steps alone, on its
// own pseudo-gradient; one that did no work in a round stays put; and a
// crash (Reset) loses the outer momentum.
func TestNoLoCoGroups(t *testing.T) {
	for _, gamma := range []string{"1", "0.5"} { // β = 1: fast weights only, then both
		t.Run("γ="+gamma, func(t *testing.T) {
			// Four nodes, node 1's slow weights apart from the others'.
			setup := func() (sim.Encoder, sim.NodeApplier, sim.Strategy, []*sim.Node, [][]byte, [][]float32, int) {
				enc, app, st, ns, cfg := noloco(t, 4, "strategy.noloco.gamma="+gamma)
				rng := rand.New(rand.NewPCG(3, 4))
				ns[1].Params = noisy(rng, ns[1])
				wires, fast := make([][]byte, 4), make([][]float32, 4)
				for i, n := range ns {
					fast[i] = noisy(rng, n)
					var err error
					if wires[i], _, err = enc.Encode(n, fast[i], 0); err != nil {
						t.Fatal(err)
					}
				}
				return enc, app, st, ns, wires, fast, cfg.Train.InnerSteps
			}
			apply := func(app sim.NodeApplier, n *sim.Node, step int, payloads ...[]byte) {
				t.Helper()
				if err := app.ApplyNode(n, payloads, step); err != nil {
					t.Fatal(err)
				}
			}
			enc, app, st, ns, wires, fast, H := setup()
			_, refApp, _, ref, refWires, _, _ := setup()
			apply(refApp, ref[1], 0, refWires[0], refWires[1])
			apply(app, ns[1], 0, wires[0]) // its own was late
			if d := maxAbsDiff(ns[1].Params, ref[1].Params); d != 0 {
				t.Errorf("a node whose own payload was late is %g from one whose payload went", d)
			}
			apply(app, ns[0], 0, wires[0], wires[1])

			// Node 2's partner's payload did not come: DiLoCo's step on its
			// own pseudo-gradient, φ − β·(φ − θ) = θ at β = 1.
			apply(app, ns[2], 0, wires[2])
			if d := maxAbsDiff(ns[2].Params, fast[2]); d > 1e-6 {
				t.Errorf("a group of one is %g from its fast weights", d)
			}

			// Node 3 worked in round 0, not in round 1, where it holds
			// its partner's payload only.
			before := append([]float32(nil), ns[3].Params...)
			apply(app, ns[3], H, wires[2])
			if d := maxAbsDiff(ns[3].Params, before); d != 0 {
				t.Errorf("a node that did no work moved by %g", d)
			}

			// Round 1: nodes 0 and 2 have momentum; node 2 crashes and
			// loses it. With no pseudo-gradient, alone, node 0 moves by
			// α·δ and node 2 not at all.
			st.Reset(ns[2])
			for _, i := range []int{0, 2} {
				before := append([]float32(nil), ns[i].Params...)
				w, _, err := enc.Encode(ns[i], before, 1)
				if err != nil {
					t.Fatal(err)
				}
				apply(app, ns[i], H, w)
				d := maxAbsDiff(ns[i].Params, before)
				if i == 0 && d < 1e-4 || i == 2 && d != 0 {
					t.Errorf("node %d moved by %g on its momentum alone (node 2 crashed)", i, d)
				}
			}
		})
	}
}

// With a deadline some nodes are late: they send nothing, yet step with
// what they hold, and the run goes on.
func TestNoLoCoDeadline(t *testing.T) {
	ref := simtest.RunConfig(t, simtest.Resolve(t, "strategy.kind=noloco"))
	var computes []float64
	for _, rr := range ref.Mem.Rounds {
		if rr.Round == 0 {
			computes = append(computes, rr.ComputeS)
		}
	}
	slices.Sort(computes)
	lo, hi := computes[0], computes[len(computes)-1]
	if !(lo < hi) {
		t.Fatalf("every node computes for %g s: no deadline can make some late", lo)
	}
	deadline := (lo + hi) / 2
	for _, gamma := range []string{"1", "0.5"} {
		res := simtest.RunConfig(t, simtest.Resolve(t, "strategy.kind=noloco", "strategy.noloco.gamma="+gamma,
			"sync.mode=deadline", fmt.Sprintf("sync.deadline_s=%v", deadline)))
		late := 0
		for _, rr := range res.Mem.Rounds {
			if rr.Status == record.StatusLate {
				late++
			}
		}
		last := res.Mem.Evals[len(res.Mem.Evals)-1]
		t.Logf("γ = %s: %d late of %d, final eval loss %.4f (%.4f without a deadline)", gamma, late, len(res.Mem.Rounds), last.EvalLoss, ref.Mem.Evals[len(ref.Mem.Evals)-1].EvalLoss)
		if late == 0 || late == len(res.Mem.Rounds) {
			t.Errorf("γ = %s: %d of %d node rounds late: the deadline does not split the nodes", gamma, late, len(res.Mem.Rounds))
		}
		if math.IsNaN(last.EvalLoss) || !(last.EvalLoss < res.Mem.Evals[0].EvalLoss) {
			t.Errorf("γ = %s: eval loss %v -> %v", gamma, res.Mem.Evals[0].EvalLoss, last.EvalLoss)
		}
	}
}

// In a whole run the γ term shows in evals.parquet: the nodes' weights end
// closer together with it than without.
func TestNoLoCoGammaNarrowsTheRunsSpread(t *testing.T) {
	spread := func(gamma string) float64 {
		res := simtest.RunConfig(t, simtest.Resolve(t, "strategy.kind=noloco", "cluster.nodes=8", "train.outer_rounds=6",
			"strategy.noloco.gamma="+gamma))
		return res.Mem.Evals[len(res.Mem.Evals)-1].WeightSpread
	}
	with, without := spread("1"), spread("0")
	if !(with > 0 && with < without) {
		t.Errorf("weight spread %g with γ = 1, %g with γ = 0: want smaller with", with, without)
	}
	t.Logf("weight spread %.4g with γ = 1, %.4g with γ = 0", with, without)
}
