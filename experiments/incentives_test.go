package experiments

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/locosim/locosim/plot"
	"github.com/locosim/locosim/record"
	"github.com/locosim/locosim/rundir"
	"github.com/locosim/locosim/trace"
)

const attackSweep = `name: attacks
base: {cluster: {nodes: 10}, incentive: {enabled: true}}
grid:
  incentive.mechanism: [true, false]
zip:
  - label.attack: [none, free_rider, free_rider, copier, copier]
    label.share: [0, 0.1, 0.2, 0.1, 0.2]
    incentive.attack.free_rider: [0, 0.1, 0.2, 0, 0]
    incentive.attack.copier: [0, 0, 0, 0.1, 0.2]
seeds: 2
figures:
  incentives: {}
`

// attackRun is the synthetic outcome of one run of attackSweep: its final
// eval loss and the round its attackers were caught (NaN: never).
func attackRun(attack string, share float64, on bool, seed uint64) (loss, caught float64) {
	cost := map[string]float64{"none": 0, "free_rider": 1, "copier": 2}[attack] * share
	if !on {
		cost *= 3
	}
	loss = 3 + cost + 0.01*float64(seed)
	switch {
	case attack == "none":
		caught = math.NaN()
	case attack == "free_rider":
		caught = float64(1 + seed)
	case share == 0.2 && seed == 2:
		caught = 5
	default:
		caught = math.NaN() // copiers at 0.1, and at 0.2 with seed 1, are never caught
	}
	return loss, caught
}

// writeAttackSweep lays out a finished sweep of attackSweep without
// simulating: each run directory holds a manifest with made-up metrics.
func writeAttackSweep(t *testing.T) string {
	t.Helper()
	spec := mustParse(t, attackSweep)
	plan, err := spec.Expand("")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, SpecFile), spec.Source, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := trace.WriteJSON(filepath.Join(dir, PlanFile), plan); err != nil {
		t.Fatal(err)
	}
	for _, p := range plan.Points {
		run := filepath.Join(dir, RunsDir, p.Name)
		if err := os.MkdirAll(run, 0o755); err != nil {
			t.Fatal(err)
		}
		m := rundir.NewManifest("run", p.Seed, p.Config)
		loss, caught := attackRun(p.Values["label.attack"].(string), num(scalar(p.Values["label.share"])), p.Values["incentive.mechanism"].(bool), p.Seed)
		m.SetFinal("eval_loss", loss)
		m.SetFinal("bytes_total", 1e9)
		m.SetFinal(rundir.MetricCaughtRound, caught)
		if err := trace.WriteJSON(filepath.Join(run, rundir.ManifestFile), m); err != nil {
			t.Fatal(err)
		}
		ev, err := trace.Create[record.Eval](filepath.Join(run, rundir.EvalsFile))
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range []float64{5, 4, loss} {
			if err := ev.Write(record.Eval{Round: int64(i), Tokens: int64(100 * i), BytesTotal: int64(1e6 * (i + 1)), SimTimeS: float64(10 * i), EvalLoss: l}); err != nil {
				t.Fatal(err)
			}
		}
		if err := ev.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestIncentivesFigures(t *testing.T) {
	dir := writeAttackSweep(t)
	names, err := Plot(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"incentives_loss", "incentives_caught", "incentives_curves_free_rider", "incentives_curves_copier"} {
		if !slices.Contains(names, want) {
			t.Errorf("figures %v lack %s", names, want)
		}
	}
	for name, texts := range map[string][]string{
		"incentives_loss":          {"final eval loss under attack", ">free_rider<", ">copier<", "no attackers (on)", "no attackers (off)"},
		"incentives_caught":        {">share 0.1<", ">share 0.2<", ">never<", ">1/2<"},
		"incentives_curves_copier": {"eval loss: copier", ">copier 0.2, on<", ">copier 0.2, off<", ">no attackers, on<", ">no attackers, off<"},
	} {
		svg, err := os.ReadFile(filepath.Join(dir, PlotsDir, name+".svg"))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range texts {
			if !strings.Contains(string(svg), s) {
				t.Errorf("%s.svg lacks %q", name, s)
			}
		}
	}
	index, err := os.ReadFile(filepath.Join(dir, IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"![incentives_loss](plots/incentives_loss.png)", "![incentives_caught](plots/incentives_caught.png)",
		"dashed with it off", "below 1 % for good (caught_round)", "| caught_round |"} {
		if !strings.Contains(string(index), want) {
			t.Errorf("index.md lacks %q", want)
		}
	}
}

// The figures' data: means over seeds per attack, share and mechanism.
func TestIncentivesData(t *testing.T) {
	dir := writeAttackSweep(t)
	plan, err := ReadPlan(dir)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := Summarize(dir)
	if err != nil {
		t.Fatal(err)
	}
	ss := settings(rows, plan.Keys, variedKeys(plan.Keys, rows))
	figs := map[string]plot.Figure{}
	err = drawIncentives(dir, Incentives{}, ss, plan.Axes, func(name, _ string, f plot.Figure) error {
		figs[name] = f
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	seedMean := 0.015 // the seeds' 0.01 and 0.02
	lines := figs["incentives_loss"].(plot.LineChart)
	type line struct {
		name   string
		dashed bool
		y      []float64
	}
	want := []line{
		{"free_rider", false, []float64{3.1 + seedMean, 3.2 + seedMean}},
		{"", true, []float64{3.3 + seedMean, 3.6 + seedMean}},
		{"copier", false, []float64{3.2 + seedMean, 3.4 + seedMean}},
		{"", true, []float64{3.6 + seedMean, 4.2 + seedMean}},
		{"no attackers (on)", false, []float64{3 + seedMean, 3 + seedMean}},
		{"no attackers (off)", true, []float64{3 + seedMean, 3 + seedMean}},
	}
	if len(lines.Series) != len(want) {
		t.Fatalf("%d series, want %d", len(lines.Series), len(want))
	}
	for i, w := range want {
		s := lines.Series[i]
		if s.Name != w.name || s.Style.Dashed != w.dashed || !slices.Equal(s.X, []float64{0.1, 0.2}) || !near(s.Y, w.y) {
			t.Errorf("series %d: %q dashed %v x %v y %v, want %q dashed %v y %v", i, s.Name, s.Style.Dashed, s.X, s.Y, w.name, w.dashed, w.y)
		}
	}
	bars := figs["incentives_caught"].(plot.GroupedBars)
	if !slices.Equal(bars.Groups, []string{"free_rider", "copier"}) {
		t.Errorf("groups %v", bars.Groups)
	}
	nan := math.NaN()
	wantBars := []plot.BarSeries{
		{Name: "share 0.1", Values: []float64{2.5, nan}, Notes: []string{"", "never"}},
		{Name: "share 0.2", Values: []float64{2.5, 5}, Notes: []string{"", "1/2"}},
	}
	for i, w := range wantBars {
		s := bars.Series[i]
		if s.Name != w.Name || !near(s.Values, w.Values) || !slices.Equal(s.Notes, w.Notes) {
			t.Errorf("bars %d: %+v, want %+v", i, s, w)
		}
	}
}

func near(a, b []float64) bool {
	return slices.EqualFunc(a, b, func(x, y float64) bool {
		return math.IsNaN(x) && math.IsNaN(y) || math.Abs(x-y) < 1e-12
	})
}

// A spec asking for the figures without the keys they need names the key.
func TestIncentivesCheck(t *testing.T) {
	tests := []struct {
		figures, want string
	}{
		{"{incentives: {}}", ""},
		{"{incentives: {attack: label.kind}}", "figures.incentives.attack: label.kind is not a grid or zip key"},
		{"{incentives: {share: label.fraction}}", "figures.incentives.share: label.fraction is not a grid or zip key"},
	}
	for _, tc := range tests {
		spec := mustParse(t, strings.Replace(attackSweep, "figures:\n  incentives: {}\n", "figures: "+tc.figures+"\n", 1))
		_, err := spec.Expand("")
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("figures %s: err = %v, want %q", tc.figures, err, tc.want)
		}
	}
	// A sweep of anything else: the mechanism key is the first missing.
	spec := mustParse(t, "name: plain\nbase:"+tinyBase+"grid: {strategy.kind: [diloco]}\nfigures: {incentives: {}}\n")
	if _, err := spec.Expand(""); err == nil || !strings.Contains(err.Error(), "figures.incentives.mechanism: incentive.mechanism is not a grid or zip key") {
		t.Errorf("a sweep without the keys: err = %v", err)
	}
}

// A run whose manifest predates the incentive metrics gets them from its
// scores and roles; one without them has NaN.
func TestIncentiveFallback(t *testing.T) {
	run := t.TempDir()
	w, err := rundir.Create(run)
	if err != nil {
		t.Fatal(err)
	}
	w.Eval(record.Eval{EvalLoss: 3})
	w.Node(record.Node{Node: 0, Role: record.RoleHonest})
	w.Node(record.Node{Node: 1, Role: record.RoleCopier})
	for r, copier := range []float64{0.1, 0, 0} {
		w.Score(record.Score{Round: int64(r), Peer: 0, Weight: 0.2 - copier})
		w.Score(record.Score{Round: int64(r), Peer: 1, Weight: copier})
	}
	m := rundir.NewManifest("run", 1, nil)
	if err := w.Close(m); err != nil {
		t.Fatal(err)
	}
	metrics := map[string]float64{}
	if err := incentiveFallback(run, m, metrics); err != nil {
		t.Fatal(err)
	}
	if metrics[rundir.MetricCaughtRound] != 1 || metrics[rundir.MetricAttackerWeightShare] != 0 {
		t.Errorf("metrics from the files: %v", metrics)
	}
	// Recorded metrics are not recomputed.
	m.SetFinal(rundir.MetricCaughtRound, 7)
	metrics = map[string]float64{}
	if err := incentiveFallback(run, m, metrics); err != nil || len(metrics) != 0 {
		t.Errorf("a manifest with the metrics: %v, %v", metrics, err)
	}
	// No scores: nothing to compute.
	if err := incentiveFallback(t.TempDir(), rundir.NewManifest("run", 1, nil), metrics); err != nil || len(metrics) != 0 {
		t.Errorf("a run without scores: %v, %v", metrics, err)
	}
}

func TestCaughtBar(t *testing.T) {
	run := func(caught float64) Row { return Row{Metrics: map[string]float64{rundir.MetricCaughtRound: caught}} }
	nan := math.NaN()
	tests := []struct {
		name  string
		rows  []Row
		value float64
		note  string
	}{
		{"no runs", nil, nan, ""},
		{"every seed caught", []Row{run(2), run(4)}, 3, ""},
		{"one of two", []Row{run(nan), run(4)}, 4, "1/2"},
		{"never", []Row{run(nan), run(nan)}, nan, "never"},
		{"from the first round", []Row{run(0), run(0)}, 0, "0"},
		{"from the first round, one of three", []Row{run(0), run(nan), run(nan)}, 0, "0, 1/3"},
	}
	for _, tc := range tests {
		v, note := caughtBar(tc.rows)
		if !near([]float64{v}, []float64{tc.value}) || note != tc.note {
			t.Errorf("%s: %v %q, want %v %q", tc.name, v, note, tc.value, tc.note)
		}
	}
}

// --check of an incentive sweep made before its metrics were recorded
// (manifests without them, scores and roles kept) finds nothing: the
// reference's metrics come from its files.
func TestCheckDerivesIncentiveMetrics(t *testing.T) {
	spec := mustParse(t, "name: old\nbase:"+tinyBase+"  incentive: {enabled: true, attack: {free_rider: 0.34}}\nseeds: 1\n")
	plan, err := spec.Expand("")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ctx := context.Background()
	if _, err := Run(ctx, spec, plan, dir, Options{Jobs: 1, Prune: true, NoPlot: true}); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(dir, RunsDir, plan.Points[0].Name)
	m, err := rundir.ReadManifest(run)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Final[rundir.MetricAttackerWeightShare]; !ok {
		t.Fatalf("the run records no %s: %v", rundir.MetricAttackerWeightShare, m.Final)
	}
	for _, k := range rundir.IncentiveMetricNames {
		delete(m.Final, k)
	}
	if err := trace.WriteJSON(filepath.Join(run, rundir.ManifestFile), m); err != nil {
		t.Fatal(err)
	}
	diffs, err := Check(ctx, dir, t.TempDir(), 0, Options{Jobs: 1})
	if err != nil || len(diffs) != 0 {
		t.Fatalf("check of an older incentive sweep: %v, %v", diffs, err)
	}
}
