package strategy_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/locosim/locosim/compress"
	"github.com/locosim/locosim/config"
	"github.com/locosim/locosim/model"
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

// The γ term pulls the nodes' slow weights together. A run does not expose
// its nodes' weights, so this drives the strategy as the core does: eight
// nodes whose inner steps move their weights by noise of their own, paired
// at random every round; the spread of their slow weights is smaller the
// larger γ.
func TestNoLoCoGammaPullsNodesTogether(t *testing.T) {
	const nodes, rounds = 8, 12
	spread := func(gamma float64) float64 {
		cfg := simtest.Resolve(t, "strategy.kind=noloco", fmt.Sprintf("cluster.nodes=%d", nodes),
			fmt.Sprintf("strategy.noloco.gamma=%v", gamma))
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
		enc, app := st.(sim.Encoder), st.(sim.NodeApplier)
		ns := make([]*sim.Node, nodes)
		for i := range ns {
			ns[i] = &sim.Node{ID: i, Params: append([]float32(nil), theta.Params()...), State: comp.NewState()}
		}
		rng := rand.New(rand.NewPCG(1, 2))
		size := len(theta.Params())
		fast := make([]float32, size)
		for r := range rounds {
			wires := make([][]byte, nodes)
			for i, n := range ns {
				for j := range fast {
					fast[j] = n.Params[j] + 0.01*float32(rng.NormFloat64())
				}
				if wires[i], _, err = enc.Encode(n, fast, r); err != nil {
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
