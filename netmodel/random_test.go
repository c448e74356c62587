package netmodel

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/locosim/locosim/des"
	"github.com/locosim/locosim/record"
)

// TestRandomRounds runs many random clusters, patterns and sync modes with
// churn and checks that every round ends and its results hang together.
func TestRandomRounds(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	trials := 150
	if testing.Short() {
		trials = 30
	}
	for trial := range trials {
		cfg := DefaultConfig()
		cfg.Nodes = 2 + rng.IntN(14)
		cfg.Sharing.Model = []string{ModelRaw, ModelMaxMin, ModelLV08}[rng.IntN(3)]
		if rng.IntN(2) == 0 {
			cfg.Store.BwUpMbps, cfg.Store.BwDownMbps = 50+rng.Float64()*500, 50+rng.Float64()*500
		}
		cfg.Churn.MtbfS, cfg.Churn.MeanDowntimeS = 50+rng.Float64()*300, 5+rng.Float64()*60
		c, err := Build(cfg, uint64(trial))
		if err != nil {
			t.Fatal(err)
		}
		net, err := NewNetwork(c, des.New(), uint64(trial))
		if err != nil {
			t.Fatal(err)
		}
		x := DefaultExchangeConfig()
		x.Pattern = []string{PatternStore, PatternP2P, PatternRing, PatternPS}[rng.IntN(4)]
		x.Gather.Peers, x.Gather.ReservePeers = rng.IntN(cfg.Nodes+1), rng.IntN(4)
		x.Gather.PeerTimeoutS, x.Gather.GatherTimeoutS = 5+rng.Float64()*30, 20+rng.Float64()*200
		x.Ring.RestartS = rng.Float64() * 10
		x.PS.Server = rng.IntN(cfg.Nodes+1) - 1
		pat, err := x.Build(cfg.Nodes)
		if err != nil {
			t.Fatal(err)
		}
		start := 0.0
		for round := range 3 {
			spec := RoundSpec{Round: round, StartS: start, Pattern: pat,
				FlopsPerStep: []float64{1e13 * (1 + rng.Float64()*20)},
				PayloadBytes: []int64{int64(rng.IntN(20_000_000))}}
			switch rng.IntN(3) {
			case 0:
				spec.Sync, spec.InnerSteps = SyncFixed, 1+rng.IntN(5)
			case 1:
				spec.Sync, spec.WindowS = SyncWindow, 1+rng.Float64()*10
				if rng.IntN(2) == 0 {
					spec.DeadlineS = spec.WindowS + 1 + rng.Float64()*20
				}
			case 2:
				spec.Sync, spec.InnerSteps, spec.DeadlineS = SyncDeadline, 1+rng.IntN(5), 1+rng.Float64()*30
			}
			if rng.IntN(3) == 0 {
				spec.CatchUpBytes = []int64{int64(rng.IntN(5_000_000))}
			}
			res, err := RunRound(net, spec)
			if err != nil {
				t.Fatalf("trial %d round %d (%s, %s): %v", trial, round, x.Pattern, spec.Sync, err)
			}
			if testing.Verbose() {
				t.Logf("trial %d round %d: %s %s nodes=%d end=%g", trial, round, x.Pattern, spec.Sync, cfg.Nodes, res.EndS)
			}
			checkRound(t, trial, res, c)
			if n := net.Fabric().ActiveFlows(); n != 0 {
				t.Fatalf("trial %d round %d: %d flows still active after the round", trial, round, n)
			}
			start = res.EndS + rng.Float64()*20
		}
	}
}

func checkRound(t *testing.T, trial int, res *RoundResult, c *Cluster) {
	t.Helper()
	if !(res.EndS >= res.StartS) {
		t.Fatalf("trial %d: round ends %g before it starts %g", trial, res.EndS, res.StartS)
	}
	in := map[int]bool{}
	for _, a := range res.Aggregate {
		in[a] = true
	}
	if !slices.IsSorted(res.Aggregate) {
		t.Fatalf("trial %d: aggregate %v not sorted", trial, res.Aggregate)
	}
	for i, nr := range res.Nodes {
		if !slices.Contains(record.Statuses, nr.Status) {
			t.Fatalf("trial %d node %d: status %q", trial, i, nr.Status)
		}
		if nr.InAggregate != in[i] {
			t.Fatalf("trial %d node %d: InAggregate %v but aggregate %v", trial, i, nr.InAggregate, res.Aggregate)
		}
		if nr.Status == record.StatusLate && in[i] {
			t.Fatalf("trial %d node %d: a late payload is in the aggregate", trial, i)
		}
		if nr.Status == record.StatusDown && (res.Received[i] != nil || nr.BytesUp != 0 || nr.Steps != 0 || in[i]) {
			t.Fatalf("trial %d node %d: a down node took part: %+v", trial, i, nr)
		}
		if nr.BytesUp < 0 || nr.BytesDown < 0 || nr.WaitS < 0 {
			t.Fatalf("trial %d node %d: %+v", trial, i, nr)
		}
		if nr.EndS > res.EndS+1e-9 || nr.ComputeEndS < nr.ComputeStartS {
			t.Fatalf("trial %d node %d: times %+v (round ends %g)", trial, i, nr, res.EndS)
		}
		if nr.Status == record.StatusOK || nr.Status == record.StatusLate || nr.Status == record.StatusRejoined {
			for _, a := range res.Aggregate {
				if !slices.Contains(res.Received[i], a) {
					t.Fatalf("trial %d node %d: aggregate %v not all in what it holds %v", trial, i, res.Aggregate, res.Received[i])
				}
			}
		}
	}
	for i, got := range res.Received {
		for _, j := range got {
			if st := res.Nodes[j].Status; st == record.StatusLate || st == record.StatusDown {
				t.Fatalf("trial %d: node %d holds the payload of node %d, which is %s", trial, i, j, st)
			}
		}
	}
	for _, a := range res.Activities {
		if a.StartS < res.StartS-1e-9 || a.EndS > res.EndS+1e-9 || a.EndS < a.StartS || math.IsNaN(a.StartS) {
			t.Fatalf("trial %d: activity %+v outside the round [%g, %g]", trial, a, res.StartS, res.EndS)
		}
		if !slices.Contains(record.Kinds, a.Kind) {
			t.Fatalf("trial %d: activity kind %q", trial, a.Kind)
		}
	}
}

// TestLocalSolveMatchesFull runs random rounds with and without the local
// solver pass: the results must agree (to rounding).
func TestLocalSolveMatchesFull(t *testing.T) {
	defer func() { localSolve = true }()
	trials := 60
	if testing.Short() {
		trials = 15
	}
	totalLocal, totalSolves := 0, 0
	for trial := range trials {
		rng := rand.New(rand.NewPCG(uint64(trial), 99))
		cfg := DefaultConfig()
		cfg.Nodes = 3 + rng.IntN(20)
		cfg.Sharing.Model = []string{ModelMaxMin, ModelLV08}[rng.IntN(2)]
		if rng.IntN(2) == 0 {
			cfg.Store.BwUpMbps, cfg.Store.BwDownMbps = 200+rng.Float64()*5000, 200+rng.Float64()*5000
		}
		c, err := Build(cfg, uint64(trial))
		if err != nil {
			t.Fatal(err)
		}
		x := DefaultExchangeConfig()
		x.Pattern = []string{PatternStore, PatternP2P, PatternRing, PatternPS}[rng.IntN(4)]
		x.Gather.Peers = 1 + rng.IntN(cfg.Nodes)
		pat, _ := x.Build(cfg.Nodes)
		ready := make([]float64, cfg.Nodes)
		for i := range ready {
			ready[i] = rng.Float64() * 5
		}
		payload := []int64{1_000_000 + int64(rng.IntN(1_000_000))}
		var res [2]*RoundResult
		for k, on := range []bool{false, true} {
			localSolve = on
			net, _ := NewNetwork(c, des.New(), 1)
			r, err := pat.Run(net, Exchange{ReadyS: ready, PayloadBytes: payload})
			if err != nil {
				t.Fatal(err)
			}
			res[k] = r
			if on {
				totalLocal += net.Fabric().Stats().LocalSolves
				totalSolves += net.Fabric().Stats().Solves
			}
		}
		a, b := res[0], res[1]
		if !near(a.EndS, b.EndS, 1e-9) || len(a.Activities) != len(b.Activities) {
			t.Fatalf("trial %d (%s, %s): full solve ends %.12g with %d activities, local %.12g with %d",
				trial, x.Pattern, cfg.Sharing.Model, a.EndS, len(a.Activities), b.EndS, len(b.Activities))
		}
		for i := range a.Activities {
			p, q := a.Activities[i], b.Activities[i]
			if p.Node != q.Node || p.Kind != q.Kind || !near(p.StartS, q.StartS, 1e-9) || !near(p.EndS, q.EndS, 1e-9) {
				t.Fatalf("trial %d (%s): activity %d differs: %+v vs %+v", trial, x.Pattern, i, p, q)
			}
		}
		if !slices.Equal(a.Aggregate, b.Aggregate) {
			t.Fatalf("trial %d: aggregates differ", trial)
		}
	}
	if totalLocal == 0 {
		t.Fatal("the local pass never applied: the comparison checked nothing")
	}
	t.Logf("%d of %d solver passes were local", totalLocal, totalSolves)
}

// TestLocalPassesAreExact re-solves the whole component after every
// accepted local pass and checks that no rate moves.
func TestLocalPassesAreExact(t *testing.T) {
	defer func() { checkLocal = nil }()
	checked := 0
	checkLocal = func(f *Fabric) {
		// Everything connected to what the local pass touched.
		for _, fl := range f.compFlows {
			for _, l := range fl.links {
				f.dirty = append(f.dirty, l)
			}
		}
		comp := slices.Clone(f.compFlows)
		before := make([]float64, len(comp))
		for i, fl := range comp {
			before[i] = fl.rate
		}
		f.solveComponent()
		for i, fl := range comp {
			if !near(before[i], fl.rate, 1e-9) {
				t.Fatalf("t=%g: local pass gave flow %d rate %g, the full solve %g", f.eng.Now(), fl.gen, before[i], fl.rate)
			}
		}
		checked++
	}
	trials := 40
	if testing.Short() {
		trials = 10
	}
	for trial := range trials {
		rng := rand.New(rand.NewPCG(uint64(trial), 7))
		cfg := DefaultConfig()
		cfg.Nodes = 3 + rng.IntN(25)
		cfg.Sharing.Model = []string{ModelMaxMin, ModelLV08}[rng.IntN(2)]
		cfg.Store.BwUpMbps, cfg.Store.BwDownMbps = 500+rng.Float64()*20000, 500+rng.Float64()*20000
		c, err := Build(cfg, uint64(trial))
		if err != nil {
			t.Fatal(err)
		}
		x := DefaultExchangeConfig()
		x.Pattern = []string{PatternStore, PatternP2P, PatternRing, PatternPS}[rng.IntN(4)]
		x.Gather.Peers = 1 + rng.IntN(cfg.Nodes)
		pat, _ := x.Build(cfg.Nodes)
		ready := make([]float64, cfg.Nodes)
		for i := range ready {
			ready[i] = rng.Float64() * 5
		}
		net, _ := NewNetwork(c, des.New(), 1)
		if _, err := pat.Run(net, Exchange{ReadyS: ready, PayloadBytes: []int64{1_000_000 + int64(rng.IntN(3_000_000))}}); err != nil {
			t.Fatal(err)
		}
	}
	if checked == 0 {
		t.Fatal("no local pass to check")
	}
	t.Logf("%d local passes checked", checked)
}
