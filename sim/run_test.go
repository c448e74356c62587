package sim_test

import (
	"context"
	"fmt"
	"github.com/locosim/locosim/record"
	"github.com/locosim/locosim/sim"
	"github.com/locosim/locosim/sim/simtest"
	_ "github.com/locosim/locosim/strategy"
	"math"
	"slices"
	"testing"

	"github.com/locosim/locosim/compress"
	"github.com/locosim/locosim/netmodel"
)

// tinyRun is a configuration small enough to run many times in a test.
func tinyRun() sim.Config {
	c := sim.DefaultConfig()
	c.Model.Layers, c.Model.Channels, c.Model.Heads, c.Model.SeqLen = 1, 32, 2, 16
	c.Train.BatchSize, c.Train.InnerSteps, c.Train.OuterRounds = 2, 3, 3
	c.Train.EvalBatches = 2
	c.Train.Optimizer.WarmupSteps = 2
	c.Train.EvalEvery = 1
	c.Projection = sim.ProjectionConfig{}
	c.Cluster.Nodes = 6
	c.Strategy.Compressor.TopKPerChunk = 256 // dense enough for tiny tensors
	return c
}

func runOf(t *testing.T, cfg sim.Config) (*sim.Run, *sim.Memory) {
	t.Helper()
	res := simtest.RunConfig(t, cfg)
	return res.Run, res.Mem
}

func maxAbsDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

func TestRunRecords(t *testing.T) {
	cfg := tinyRun()
	r, mem := runOf(t, cfg)
	if len(mem.Nodes) != 6 || len(mem.Rounds) != 3*6 || len(mem.Evals) != 4 {
		t.Fatalf("got %d nodes, %d rounds, %d evals; want 6, 18, 4", len(mem.Nodes), len(mem.Rounds), len(mem.Evals))
	}
	last := mem.Evals[3]
	if !(last.SimTimeS > 0) || last.BytesTotal <= 0 || last.Tokens != 6*3*3*2*16 {
		t.Fatalf("last eval %+v", last)
	}
	if !(last.EvalLoss < mem.Evals[0].EvalLoss) {
		t.Errorf("loss did not fall: %v -> %v", mem.Evals[0].EvalLoss, last.EvalLoss)
	}
	for _, rr := range mem.Rounds {
		if rr.InnerSteps != 3 || rr.Status != "ok" || !rr.InAggregate || rr.PayloadBytes <= 0 {
			t.Fatalf("round record %+v", rr)
		}
	}
	if len(mem.Events) == 0 {
		t.Fatal("no events")
	}
	if u := r.ComputeUtilization(); !(u > 0 && u <= 1) {
		t.Fatalf("compute utilisation %v", u)
	}
}

// With identical nodes, a window that fits exactly H steps trains exactly as
// the fixed mode does.
func TestWindowEqualsFixedOnIdenticalNodes(t *testing.T) {
	fixed := tinyRun()
	fixed.Cluster.Classes = fixed.Cluster.Classes[:1]
	fixed.Cluster.Classes[0].Share = 1
	fixed.Cluster.Classes[0].BwUpSigma, fixed.Cluster.Classes[0].BwDownSigma = 0, 0
	rf, _ := runOf(t, fixed)

	win := fixed
	stepS := rf.FlopsPerStep() / rf.Cluster().Nodes[0].Flops()
	win.Sync = sim.SyncConfig{Mode: sim.SyncWindow, WindowS: stepS * (float64(win.Train.InnerSteps) + 0.5), MaxSteps: 100}
	rw, mw := runOf(t, win)
	for _, rr := range mw.Rounds {
		if rr.InnerSteps != int64(win.Train.InnerSteps) {
			t.Fatalf("window mode did %d steps, want %d", rr.InnerSteps, win.Train.InnerSteps)
		}
	}
	if d := maxAbsDiff(rf.Model().Params(), rw.Model().Params()); d != 0 {
		t.Fatalf("window and fixed differ by %g", d)
	}
}

func TestWindowHeterogeneousSteps(t *testing.T) {
	cfg := tinyRun()
	cfg.Projection = sim.ProjectionConfig{Params: 1e9, TokensPerStep: 1 << 16}
	cfg.Sync = sim.SyncConfig{Mode: sim.SyncWindow, WindowS: 60, MaxSteps: 50}
	_, mem := runOf(t, cfg)
	seen := map[int64]bool{}
	for _, rr := range mem.Rounds {
		if rr.InnerSteps > 50 {
			t.Fatalf("node did %d steps, above max_steps 50", rr.InnerSteps)
		}
		seen[rr.InnerSteps] = true
	}
	if len(seen) < 2 {
		t.Fatalf("heterogeneous nodes all did the same steps: %v", seen)
	}
}

func TestMaliciousAndRobust(t *testing.T) {
	honest := tinyRun()
	_, mh := runOf(t, honest)
	bad := honest
	bad.Faults.MaliciousShare = 0.34
	bad.Faults.AttackScale = 1000
	_, mb := runOf(t, bad)
	robust := bad
	robust.Strategy.Compressor.Robust = true
	_, mr := runOf(t, robust)
	h, b, rb := mh.Evals[3].EvalLoss, mb.Evals[3].EvalLoss, mr.Evals[3].EvalLoss
	t.Logf("final loss: honest %.4f, attacked %.4f, attacked+robust %.4f", h, b, rb)
	if !(b > h) {
		t.Errorf("a sign-flipping attack did not hurt: %v vs %v", b, h)
	}
	if !(rb < b) {
		t.Errorf("robust aggregation did not help: %v vs %v", rb, b)
	}
}

func TestCrashLosesPayloadAndRejoinCatchesUp(t *testing.T) {
	cfg := tinyRun()
	// A node down at the first round's start sits it out, then catches up.
	cfg.Cluster.Churn.Events = []netmodel.ChurnEvent{{Node: 2, CrashS: 0, RejoinS: 1e-6}}
	_, mem := runOf(t, cfg)
	var statuses []string
	for _, rr := range mem.Rounds {
		if rr.Node == 2 {
			statuses = append(statuses, rr.Status)
			if rr.Status != "ok" && rr.Status != "rejoined" && rr.InAggregate {
				t.Fatalf("a %s node is in the aggregate", rr.Status)
			}
		}
	}
	if len(statuses) != 3 || statuses[0] != "down" || statuses[1] != "rejoined" {
		t.Fatalf("node 2 statuses %v, want down, rejoined, ok", statuses)
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*sim.Config)
	}{
		{"kind", func(c *sim.Config) { c.Strategy.Kind = "telepathy" }},
		{"density", func(c *sim.Config) { c.Strategy.Density = 2 }},
		{"outer lr", func(c *sim.Config) { c.Strategy.OuterLR = 0 }},
		{"sync", func(c *sim.Config) { c.Sync.Mode = "eventually" }},
		{"window", func(c *sim.Config) { c.Sync.Mode = sim.SyncWindow; c.Sync.MaxSteps = 5 }},
		{"window without cap", func(c *sim.Config) { c.Sync.Mode = sim.SyncWindow; c.Sync.WindowS = 5 }},
		{"fixed with deadline", func(c *sim.Config) { c.Sync.DeadlineS = 5 }},
		{"attack", func(c *sim.Config) { c.Faults.Attack = "nice" }},
		{"share", func(c *sim.Config) { c.Faults.MaliciousShare = -1 }},
		{"projection", func(c *sim.Config) { c.Projection.Params = -1 }},
		{"demo compressor on diloco", func(c *sim.Config) { c.Strategy.Kind = "diloco"; c.Strategy.Compressor.Kind = compress.DeMo }},
		{"no nodes", func(c *sim.Config) { c.Cluster.Nodes = 0 }},
		{"compressor density", func(c *sim.Config) { c.Strategy.Compressor.Density = 0.1 }},
	} {
		cfg := tinyRun()
		tc.mod(&cfg)
		if _, err := sim.NewRun(cfg, sim.Options{}); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}

// Overlapping communication with the next round's compute shortens the
// run when compute dominates, and delays each aggregate by one round.
func TestOverlap(t *testing.T) {
	base := tinyRun()
	base.Projection = sim.ProjectionConfig{Params: 1e9, TokensPerStep: 1 << 16}
	rb, mb := runOf(t, base)
	ov := base
	ov.Sync.Overlap = true
	ro, mo := runOf(t, ov)
	if !(ro.SimTimeS() < rb.SimTimeS()) {
		t.Errorf("overlap took %v s, not less than %v s", ro.SimTimeS(), rb.SimTimeS())
	}
	if !(ro.ComputeUtilization() > rb.ComputeUtilization()) {
		t.Errorf("overlap utilisation %v, not above %v", ro.ComputeUtilization(), rb.ComputeUtilization())
	}
	// After round 1 nothing has been applied yet with overlap.
	if mo.Evals[1].EvalLoss != mo.Evals[0].EvalLoss || mb.Evals[1].EvalLoss == mb.Evals[0].EvalLoss {
		t.Errorf("round-1 losses: overlap %v (start %v), plain %v", mo.Evals[1].EvalLoss, mo.Evals[0].EvalLoss, mb.Evals[1].EvalLoss)
	}
	// Compute of round r+1 starts before round r's exchange ends.
	var computeStart, exchangeEnd float64
	for _, e := range mo.Events {
		if e.Node == 0 && e.Round == 1 && e.Kind == "compute" {
			computeStart = e.StartS
		}
		if e.Node == 0 && e.Round == 0 && (e.Kind == "download" || e.Kind == "upload") {
			exchangeEnd = math.Max(exchangeEnd, e.EndS)
		}
	}
	if !(computeStart < exchangeEnd) {
		t.Errorf("round 1 compute starts at %v, after round 0's exchange ends at %v", computeStart, exchangeEnd)
	}
}

// Overlapping rounds share one network: when exchanges of consecutive
// rounds are on the links at the same time they share them, so overlap is
// slower than it was with a network per round; when the links are idle by
// the time the next exchange starts, nothing changes.
func TestOverlapSharesTheNetwork(t *testing.T) {
	run := func(tokensPerStep float64, separate bool) *sim.Memory {
		cfg := tinyRun()
		cfg.Sync.Overlap = true
		cfg.Projection = sim.ProjectionConfig{Params: 1e8, TokensPerStep: tokensPerStep}
		r, err := sim.NewRun(cfg, sim.Options{})
		if err != nil {
			t.Fatal(err)
		}
		sim.SetSeparateOverlap(r, separate)
		mem := &sim.Memory{}
		if _, err := r.Run(context.Background(), mem, nil); err != nil {
			t.Fatal(err)
		}
		return mem
	}
	final := func(m *sim.Memory) record.Eval { return m.Evals[len(m.Evals)-1] }
	// Saturated: the exchanges take longer than the compute between them.
	shared, separate := run(8192, false), run(8192, true)
	if !(final(shared).SimTimeS > final(separate).SimTimeS) {
		t.Errorf("saturated links: a shared network took %v s, not more than separate networks' %v s",
			final(shared).SimTimeS, final(separate).SimTimeS)
	}
	if final(shared).EvalLoss != final(separate).EvalLoss {
		t.Errorf("fixed sync: the loss moved with the network (%v vs %v)", final(shared).EvalLoss, final(separate).EvalLoss)
	}
	// Idle: compute is so long that each exchange is over before the next
	// round's payloads are ready.
	shared, separate = run(8192*1e4, false), run(8192*1e4, true)
	if final(shared).SimTimeS != final(separate).SimTimeS {
		t.Errorf("idle links: shared network %v s, separate networks %v s", final(shared).SimTimeS, final(separate).SimTimeS)
	}
	if !slices.EqualFunc(shared.Rounds, separate.Rounds, func(a, b record.Round) bool { return fmt.Sprint(a) == fmt.Sprint(b) }) {
		t.Error("idle links: the round records differ")
	}
}
