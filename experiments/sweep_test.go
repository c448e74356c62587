package experiments

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/locosim/locosim/rundir"
	"github.com/locosim/locosim/trace"
)

const tinySweep = "name: tiny\nbase:" + tinyBase + `
grid:
  strategy.kind: [diloco, sparseloco]
zip:
  - label.net: [slow, fast]
    cluster.store.bw_up_mbps: [50, 500]
seeds: 2
figures:
  heatmap: {x: label.net, y: strategy.kind}
`

func tinyPlan(t *testing.T) (*Spec, *Plan) {
	t.Helper()
	s := mustParse(t, tinySweep)
	p, err := s.Expand("")
	if err != nil {
		t.Fatal(err)
	}
	return s, p
}

func readSummary(t *testing.T, dir string) map[string]trace.Column {
	t.Helper()
	cols, err := trace.ReadTable(filepath.Join(dir, SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]trace.Column{}
	for _, c := range cols {
		out[c.Name] = c
	}
	return out
}

func TestRunSummaryAndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 8 small simulations")
	}
	spec, plan := tinyPlan(t)
	dir := t.TempDir()
	ctx := context.Background()

	// Two shards together run every point once.
	for i := range 2 {
		res, err := Run(ctx, spec, plan, dir, Options{Jobs: 2, Shard: i, Shards: 2, NoPlot: true})
		if err != nil {
			t.Fatal(err)
		}
		if res.Selected != 4 || res.Ran != 4 || res.Skipped != 0 {
			t.Fatalf("shard %d: %+v", i, res)
		}
	}
	cols := readSummary(t, dir)
	runs := cols["run"].Values.([]string)
	if len(runs) != len(plan.Points) {
		t.Fatalf("summary has %d rows, want %d", len(runs), len(plan.Points))
	}
	for i, p := range plan.Points {
		if runs[i] != p.Name {
			t.Errorf("row %d is %s, want %s", i, runs[i], p.Name)
		}
	}
	// The contract's columns and types.
	if _, ok := cols["seed"].Values.([]int64); !ok {
		t.Errorf("seed column is %T", cols["seed"].Values)
	}
	if _, ok := cols["strategy.kind"].Values.([]string); !ok {
		t.Errorf("strategy.kind column is %T", cols["strategy.kind"].Values)
	}
	if got := cols["strategy"].Values.([]string); got[0] != "diloco" || got[len(got)-1] != "sparseloco" {
		t.Errorf("strategy column %v", got)
	}
	if bw, ok := cols["cluster.store.bw_up_mbps"].Values.([]float64); !ok || bw[0] != 500 && bw[0] != 50 {
		t.Errorf("cluster.store.bw_up_mbps column %v", cols["cluster.store.bw_up_mbps"].Values)
	}
	if got := cols["label.net"].Values.([]string); got[0] != "fast" {
		t.Errorf("label column %v", got)
	}
	for _, m := range Metrics {
		vs, ok := cols[m].Values.([]float64)
		if !ok {
			t.Fatalf("metric %s column is %T", m, cols[m].Values)
		}
		// Runs without the incentive layer have no incentive metrics.
		if want := slices.Contains(rundir.IncentiveMetricNames, m); math.IsNaN(vs[0]) != want {
			t.Errorf("metric %s is %v", m, vs[0])
		}
	}
	if len(cols) != 3+len(plan.Keys)+len(Metrics) {
		t.Errorf("%d columns, want %d", len(cols), 3+len(plan.Keys)+len(Metrics))
	}
	// Slower store uplink, same training: longer simulated time, same loss.
	row := map[string]int{}
	for i, r := range runs {
		row[r] = i
	}
	slow, fast := row["label.net=slow,strategy.kind=sparseloco,seed=1"], row["label.net=fast,strategy.kind=sparseloco,seed=1"]
	time, loss := cols["sim_time_s"].Values.([]float64), cols["eval_loss"].Values.([]float64)
	if !(time[slow] > time[fast]) || loss[slow] != loss[fast] {
		t.Errorf("slow store: sim_time_s %v vs %v, eval_loss %v vs %v", time[slow], time[fast], loss[slow], loss[fast])
	}
	before, err := os.ReadFile(filepath.Join(dir, SummaryFile))
	if err != nil {
		t.Fatal(err)
	}

	// A restart skips finished runs and redoes a half-finished one.
	half := filepath.Join(dir, RunsDir, plan.Points[1].Name)
	if err := os.Remove(filepath.Join(half, rundir.ManifestFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := Summarize(dir); err != nil {
		t.Fatal(err)
	}
	if n := len(readSummary(t, dir)["run"].Values.([]string)); n != len(plan.Points)-1 {
		t.Fatalf("summary of %d finished runs has %d rows", len(plan.Points)-1, n)
	}
	res, err := Run(ctx, spec, plan, dir, Options{Jobs: 1, Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Ran != 1 || res.Skipped != len(plan.Points)-1 {
		t.Fatalf("restart: %+v", res)
	}
	after, err := os.ReadFile(filepath.Join(dir, SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("summary differs after redoing a run: runs are not deterministic or the summary is not stable")
	}
	// The redone run was pruned, and so was a run finished by the first
	// sweep, which did not prune; figures and index exist.
	for _, run := range []string{half, filepath.Join(dir, RunsDir, plan.Points[0].Name)} {
		if _, err := os.Stat(filepath.Join(run, rundir.EventsFile)); !os.IsNotExist(err) {
			t.Errorf("pruned run %s keeps its events: %v", filepath.Base(run), err)
		}
	}
	if _, err := os.Stat(filepath.Join(half, rundir.EvalsFile)); err != nil {
		t.Errorf("pruned run lost its evals: %v", err)
	}
	for _, f := range []string{"plots/heatmap.png", "plots/loss_bytes.png", "plots/loss_time.png", "plots/pareto.png", IndexFile, SpecFile, PlanFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("sweep lacks %s", f)
		}
	}
	index, _ := os.ReadFile(filepath.Join(dir, IndexFile))
	for _, want := range []string{"# tiny", "![heatmap](plots/heatmap.png)", "| `" + plan.Points[0].Name + "` |"} {
		if !strings.Contains(string(index), want) {
			t.Errorf("index.md lacks %q", want)
		}
	}

	// --check against itself finds nothing; a changed reference is reported.
	work := t.TempDir()
	diffs, err := Check(ctx, dir, work, 0, Options{Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(diffs) != 0 {
		t.Fatalf("check of an unchanged sweep: %v", diffs)
	}
	ref := filepath.Join(dir, RunsDir, plan.Points[0].Name)
	m, err := rundir.ReadManifest(ref)
	if err != nil {
		t.Fatal(err)
	}
	m.Final["eval_loss"] *= 1.001
	if err := trace.WriteJSON(filepath.Join(ref, rundir.ManifestFile), m); err != nil {
		t.Fatal(err)
	}
	diffs, err = Check(ctx, dir, work, 0, Options{Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(diffs) != 1 || diffs[0].Metric != "eval_loss" || diffs[0].Run != plan.Points[0].Name {
		t.Fatalf("check of a changed reference: %v", diffs)
	}
	if diffs, _ = Check(ctx, dir, work, 0.01, Options{}); len(diffs) != 0 {
		t.Fatalf("a 0.1 %% change fails a 1 %% tolerance: %v", diffs)
	}
	// A sharded check re-runs only its shard's runs: the changed run is in
	// shard 0 of 2, not in shard 1.
	for shard, want := range []int{1, 0} {
		work := t.TempDir()
		diffs, err := Check(ctx, dir, work, 0, Options{Shard: shard, Shards: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(diffs) != want {
			t.Errorf("shard %d/2: %d differences, want %d: %v", shard, len(diffs), want, diffs)
		}
		ran, _ := os.ReadDir(filepath.Join(work, RunsDir))
		if n := len(plan.Points); len(ran) != (n+1-shard)/2 {
			t.Errorf("shard %d/2 re-ran %d of %d runs", shard, len(ran), n)
		}
	}
	if _, err := Check(ctx, dir, t.TempDir(), 0, Options{Shard: 2, Shards: 2}); err == nil {
		t.Error("shard 2/2 accepted")
	}
}

func TestCompare(t *testing.T) {
	want := map[string]float64{"a": 1, "b": 2, "c": 3}
	got := map[string]float64{"a": 1, "b": 2.001, "d": 4}
	for _, tc := range []struct {
		tol  float64
		want []string
	}{
		{0, []string{"b", "c", "d"}},
		{1e-3, []string{"c", "d"}},
	} {
		var names []string
		for _, d := range Compare("r", want, got, tc.tol) {
			names = append(names, d.Metric)
		}
		if strings.Join(names, ",") != strings.Join(tc.want, ",") {
			t.Errorf("tolerance %v: differences %v, want %v", tc.tol, names, tc.want)
		}
	}
}

func TestRunRejectsBadShard(t *testing.T) {
	spec, plan := tinyPlan(t)
	for _, o := range []Options{{Shard: 2, Shards: 2}, {Shard: -1, Shards: 2}, {Shards: -1}} {
		if _, err := Run(context.Background(), spec, plan, t.TempDir(), o); err == nil {
			t.Errorf("shard %d/%d accepted", o.Shard, o.Shards)
		}
	}
}
