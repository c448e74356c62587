package netmodel

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/locosim/locosim/record"
	"github.com/locosim/locosim/sim/des"
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
