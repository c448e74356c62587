// Package simtest is the conformance suite every training algorithm runs in
// its own test, as gonum's testblas is for BLAS implementations:
//
//	func TestConformance(t *testing.T) {
//		simtest.Conformance(t, simtest.Spec{Name: "diloco",
//			Knobs: []string{"strategy.diloco.outer_momentum=0.5", "strategy.diloco.nesterov=false"}})
//	}
//
// It checks what the core promises of every algorithm: the same bytes at
// any GOMAXPROCS, every key of the algorithm's section moves the result,
// crashes and rejoins are survived, every byte is accounted for, and a
// normal run learns without NaN.
package simtest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/locosim/locosim/config"
	"github.com/locosim/locosim/record"
	"github.com/locosim/locosim/sim"
)

// Spec describes the algorithm under test.
type Spec struct {
	// Name is its strategy.kind.
	Name string
	// Sets are extra settings of every run of the suite ("key=value").
	Sets []string
	// Knobs gives, for every key of the algorithm's section
	// (strategy.<Name>.*) and for any other key it should react to, a
	// setting that must change what a run emits. Several settings that
	// belong together are joined by commas.
	Knobs []string
	// NoOverlap skips the cases with sync.overlap (settings that reject it,
	// such as the incentive layer).
	NoOverlap bool
}

// Base is the small configuration the suite runs: six nodes of the default
// classes, a one-layer model, three rounds of three steps, with the clock
// projected for a model big enough that the network matters.
var Base = []string{
	"model.layers=1", "model.channels=32", "model.heads=2", "model.seq_len=16",
	"train.batch_size=2", "train.inner_steps=3", "train.outer_rounds=3", "train.eval_batches=2",
	"train.optimizer.warmup_steps=2", "train.eval_every=1", "cluster.nodes=6",
	"strategy.compressor.topk_per_chunk=256",
	"projection.params=1e8", "projection.tokens_per_step=8192",
}

// Resolve returns the default configuration with Base, then sets, applied.
func Resolve(t testing.TB, sets ...string) sim.Config {
	t.Helper()
	cfg, err := config.Resolve(sim.DefaultConfig(), config.Source{Sets: append(slices.Clone(Base), sets...)})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Result is everything a run emitted, and its final model.
type Result struct {
	Run *sim.Run
	Mem *sim.Memory
}

// Fingerprint summarises every record and the final weights.
func (r Result) Fingerprint() string {
	h := sha256.New()
	m := r.Mem
	fmt.Fprintf(h, "%v|%v|%v|%v|%v", m.Evals, m.Rounds, m.Events, m.Nodes, r.Run.Model().Params())
	if len(m.Scores) > 0 {
		fmt.Fprintf(h, "|%v", m.Scores)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// RunConfig runs cfg to the end, keeping every record.
func RunConfig(t testing.TB, cfg sim.Config) Result {
	t.Helper()
	r, err := sim.NewRun(cfg, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mem := &sim.Memory{}
	if _, err := r.Run(context.Background(), mem, nil); err != nil {
		t.Fatal(err)
	}
	return Result{Run: r, Mem: mem}
}

// Conformance runs the suite for s.
func Conformance(t *testing.T, s Spec) {
	if _, ok := sim.Lookup(s.Name); !ok {
		t.Fatalf("algorithm %q is not registered (have %v)", s.Name, sim.Algorithms())
	}
	base := append([]string{"strategy.kind=" + s.Name}, s.Sets...)
	run := func(t *testing.T, sets ...string) Result {
		t.Helper()
		return RunConfig(t, Resolve(t, append(slices.Clone(base), sets...)...))
	}

	t.Run("deterministic", func(t *testing.T) {
		var prints []string
		for _, procs := range []int{1, 2} {
			old := runtime.GOMAXPROCS(procs)
			prints = append(prints, run(t).Fingerprint())
			runtime.GOMAXPROCS(old)
		}
		if prints[0] != prints[1] {
			t.Fatal("GOMAXPROCS 1 and 2 give different runs")
		}
	})

	t.Run("learns", func(t *testing.T) {
		res := run(t)
		ev := res.Mem.Evals
		for _, e := range ev {
			if math.IsNaN(e.EvalLoss) || math.IsInf(e.EvalLoss, 0) {
				t.Fatalf("round %d: eval loss %v", e.Round, e.EvalLoss)
			}
		}
		if !(ev[len(ev)-1].EvalLoss < ev[0].EvalLoss) {
			t.Fatalf("eval loss did not fall: %v -> %v", ev[0].EvalLoss, ev[len(ev)-1].EvalLoss)
		}
		for _, x := range res.Run.Model().Params() {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				t.Fatal("non-finite weight")
			}
		}
	})

	t.Run("bytes", func(t *testing.T) {
		res := run(t, "cluster.churn.mtbf_s=60", "cluster.churn.mean_downtime_s=8")
		CheckBytes(t, res)
	})

	driven := func() bool {
		r, err := sim.NewRun(Resolve(t, base...), sim.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return r.Driven()
	}()
	crashRejoin := func(t *testing.T, overlap bool, sets ...string) {
		// Node 1 is down when the run starts and rejoins at once; node 2
		// fails in the middle of its second round's compute and comes back
		// at once.
		ref := run(t, sets...)
		crash := math.NaN()
		for _, e := range ref.Mem.Events {
			if e.Node == 2 && e.Round == 1 && e.Kind == record.KindCompute {
				crash = (e.StartS + e.EndS) / 2
			}
			if driven && e.Node == 2 && e.Kind == record.KindCompute && math.IsNaN(crash) {
				crash = (e.StartS + e.EndS) / 2 // its first work
			}
		}
		if math.IsNaN(crash) {
			t.Fatal("node 2 did not compute in round 1")
		}
		res := run(t, append(sets, fmt.Sprintf("cluster.churn.events=[{node: 1, crash_s: 0, rejoin_s: 1e-6}, {node: 2, crash_s: %v, rejoin_s: %v}]",
			crash, crash+1e-6))...)
		if driven {
			// No rounds to hold statuses: node 2's failure shows as a fail
			// event, and node 1 works once it is back.
			fails, worked1 := 0, false
			for _, e := range res.Mem.Events {
				if e.Node == 2 && e.Kind == record.KindFail {
					fails++
				}
				if e.Node == 1 && e.Kind == record.KindCompute {
					worked1 = true
				}
			}
			if fails != 1 || !worked1 {
				t.Errorf("node 2 failed %d times (want 1); node 1 worked after rejoining: %v", fails, worked1)
			}
			checkRounds(t, res)
			return
		}
		statuses := map[int64][]string{}
		for _, rr := range res.Mem.Rounds {
			statuses[rr.Node] = append(statuses[rr.Node], rr.Status)
		}
		want := map[int64][]string{
			1: {record.StatusDown, record.StatusRejoined, record.StatusOK},
			2: {record.StatusOK, record.StatusCrashed, record.StatusRejoined},
		}
		for node, w := range want {
			got := statuses[node]
			if overlap && node == 2 && len(got) > 0 && got[0] == record.StatusCrashed {
				// The failure also hit round 0's exchange, still going on.
				got = append([]string{record.StatusOK}, got[1:]...)
			}
			if len(got) < 3 || !slices.Equal(got[:3], w) {
				t.Errorf("node %d's statuses %v: want %v first", node, statuses[node], w)
			}
		}
		checkRounds(t, res)
	}
	t.Run("crash-rejoin", func(t *testing.T) { crashRejoin(t, false) })
	if a, _ := sim.Lookup(s.Name); !a.EveryStep && (!a.NodeParams || a.OverlapNodes) && !driven && !s.NoOverlap {
		// With overlap the crash is known when the next round starts, while
		// the crashed round's exchange is still going on.
		t.Run("crash-rejoin-overlap", func(t *testing.T) { crashRejoin(t, true, "sync.overlap=true") })
	}

	t.Run("churn", func(t *testing.T) {
		res := run(t, "cluster.churn.mtbf_s=60", "cluster.churn.mean_downtime_s=8")
		seen := map[string]bool{}
		for _, rr := range res.Mem.Rounds {
			seen[rr.Status] = true
		}
		for _, e := range res.Mem.Events {
			if driven && e.Kind == record.KindFail {
				seen[record.StatusCrashed] = true
			}
		}
		if !seen[record.StatusCrashed] {
			t.Errorf("no node crashed (statuses %v): the churn settings no longer exercise crashes", seen)
		}
		checkRounds(t, res)
	})

	if a, _ := sim.Lookup(s.Name); !a.EveryStep && (!a.NodeParams || a.OverlapNodes) && !driven && !s.NoOverlap {
		t.Run("overlap-churn", func(t *testing.T) {
			// Rounds overlap on one network while nodes fail and rejoin.
			res := run(t, "sync.overlap=true", "cluster.churn.mtbf_s=60", "cluster.churn.mean_downtime_s=8")
			CheckBytes(t, res)
			checkRounds(t, res)
			_, rounds := res.Run.Rounds()
			if got, want := len(res.Mem.Rounds), rounds*6; got != want {
				t.Errorf("%d round records, want %d", got, want)
			}
		})
	}

	t.Run("knobs", func(t *testing.T) {
		keys, err := config.Keys(sim.DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		varied := map[string]bool{}
		for _, set := range s.Knobs {
			for _, kv := range strings.Split(set, ",") {
				k, _, _ := strings.Cut(kv, "=")
				varied[k] = true
			}
		}
		prefix := "strategy." + s.Name + "."
		for _, k := range keys {
			if strings.HasPrefix(k, prefix) && !varied[k] {
				t.Errorf("key %s of the algorithm's section has no knob in the spec", k)
			}
		}
		ref := run(t).Fingerprint()
		for _, set := range s.Knobs {
			if got := run(t, strings.Split(set, ",")...).Fingerprint(); got == ref {
				t.Errorf("%s changed nothing", set)
			}
		}
	})
}

// checkRounds checks what every run's round records must satisfy: a node
// that was down sent nothing to the aggregate, a payload in the aggregate
// was trained and has bytes, and the final loss is finite.
func checkRounds(t testing.TB, res Result) {
	t.Helper()
	for _, rr := range res.Mem.Rounds {
		if rr.InAggregate && (rr.Status == record.StatusDown || rr.InnerSteps <= 0 || rr.PayloadBytes <= 0) {
			t.Errorf("round %d: node %d (%s, %d steps, %d bytes) is in the aggregate", rr.Round, rr.Node, rr.Status, rr.InnerSteps, rr.PayloadBytes)
		}
	}
	last := res.Mem.Evals[len(res.Mem.Evals)-1]
	if math.IsNaN(last.EvalLoss) || math.IsInf(last.EvalLoss, 0) {
		t.Errorf("final eval loss %v", last.EvalLoss)
	}
}

// CheckBytes checks that the bytes the evaluations and the run's totals
// count are the bytes the upload and download events moved.
func CheckBytes(t testing.TB, res Result) {
	t.Helper()
	var up, down int64
	for _, e := range res.Mem.Events {
		switch e.Kind {
		case record.KindUpload:
			up += e.Bytes
		case record.KindDownload:
			down += e.Bytes
		}
	}
	last := res.Mem.Evals[len(res.Mem.Evals)-1]
	if last.BytesUp != up || last.BytesDown != down || last.BytesTotal != up+down {
		t.Errorf("evaluation counts %d up, %d down (%d total); events moved %d up, %d down",
			last.BytesUp, last.BytesDown, last.BytesTotal, up, down)
	}
	if up <= 0 || down <= 0 {
		t.Errorf("no bytes moved: %d up, %d down", up, down)
	}
	tot, _, _ := res.Run.Totals()
	if tot != up {
		t.Errorf("run totals %d bytes up, events %d", tot, up)
	}
}
