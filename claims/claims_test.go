package claims

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/locosim/locosim/experiments"
	"github.com/locosim/locosim/record"
	"github.com/locosim/locosim/rundir"
	"github.com/locosim/locosim/trace"
)

// fakeRun is one run of a fake sweep: its point values, seed, and its
// loss at each evaluation (steps 0, 10, 20, 30, 40; the last is final).
type fakeRun struct {
	values map[string]any
	seed   uint64
	losses []float64
	time   float64 // final sim_time_s
}

// writeSweep writes a sweep directory as experiments.Run leaves it after
// --prune: plan.json, and per run manifest.json and evals.parquet.
func writeSweep(t *testing.T, dir, name string, runs []fakeRun) {
	t.Helper()
	plan := experiments.Plan{Name: name}
	for _, r := range runs {
		p := experiments.Point{Name: experiments.RunName(r.values, r.seed), Seed: r.seed, Values: r.values}
		plan.Points = append(plan.Points, p)
		rd := filepath.Join(dir, experiments.RunsDir, p.Name)
		if err := os.MkdirAll(rd, 0o755); err != nil {
			t.Fatal(err)
		}
		w, err := trace.Create[record.Eval](filepath.Join(rd, rundir.EvalsFile))
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range r.losses {
			frac := float64(i) / float64(len(r.losses)-1)
			if err := w.Write(record.Eval{Round: int64(i), Step: int64(10 * i), EvalLoss: l, SimTimeS: frac * r.time}); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		m := rundir.NewManifest("run", r.seed, nil)
		m.Final = map[string]float64{"eval_loss": r.losses[len(r.losses)-1], "sim_time_s": r.time, "bytes_total": 2e12}
		if err := trace.WriteJSON(filepath.Join(rd, rundir.ManifestFile), m); err != nil {
			t.Fatal(err)
		}
	}
	if err := trace.WriteJSON(filepath.Join(dir, experiments.PlanFile), plan); err != nil {
		t.Fatal(err)
	}
}

// fakeResults is a results directory with one experiment, "toy": kinds
// x and y over seeds 1–3 (y lacks seed 3), and z at two learning rates.
func fakeResults(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	kind := func(k string) map[string]any { return map[string]any{"strategy.kind": k} }
	z := func(lr float64) map[string]any { return map[string]any{"strategy.kind": "z", "strategy.outer_lr": lr} }
	writeSweep(t, filepath.Join(root, "toy"), "toy", []fakeRun{
		// x beats y by 0.1 at the end on seeds 1, 2, and lost at half length
		{kind("x"), 1, []float64{5, 4, 3.0, 2.5, 2.00}, 100},
		{kind("x"), 2, []float64{5, 4, 3.2, 2.6, 2.11}, 110},
		{kind("x"), 3, []float64{5, 4, 3.4, 2.7, 2.30}, 120},
		{kind("y"), 1, []float64{5, 4, 2.8, 2.6, 2.10}, 200},
		{kind("y"), 2, []float64{5, 4, 3.0, 2.7, 2.20}, 220},
		// z: lr 0.5 is better than lr 1 on average
		{z(0.5), 1, []float64{5, 4, 3, 2.5, 2.05}, 100},
		{z(0.5), 2, []float64{5, 4, 3, 2.5, 2.15}, 100},
		{z(1), 1, []float64{5, 4, 3, 2.5, 2.50}, 100},
		{z(1), 2, []float64{5, 4, 3, 2.5, 2.60}, 100},
	})
	return root
}

var toyClaims = []Claim{
	{ID: "x_better_y", Claim: "X beats Y.", Source: "a paper", Experiment: "toy", Setting: "a toy.",
		A:    Side{Label: "X", Where: map[string]any{"strategy.kind": "x"}},
		B:    Side{Label: "Y", Where: map[string]any{"strategy.kind": "y"}},
		Kind: Better, Figure: "toy/index.md"},
	{ID: "x_faster_y", Claim: "X is faster.", Source: "a paper", Experiment: "toy",
		A:      Side{Label: "X", Where: map[string]any{"strategy.kind": "x"}},
		B:      Side{Label: "Y", Where: map[string]any{"strategy.kind": "y"}},
		Metric: Metric{Name: "sim_time_s", Unit: "s"}, Kind: Better, Show: []string{"bytes_total"}},
	{ID: "x_vs_tuned_z", Claim: "X is no worse than tuned Z.", Source: "a paper", Experiment: "toy",
		A:    Side{Label: "X", Where: map[string]any{"strategy.kind": "x"}},
		B:    Side{Label: "Z", Where: map[string]any{"strategy.kind": "z"}, Tune: []string{"strategy.outer_lr"}},
		Kind: NoWorse, Margin: 0.02},
	{ID: "w_absent", Claim: "W beats X.", Source: "a paper", Experiment: "toy",
		A:    Side{Label: "W", Where: map[string]any{"strategy.kind": "w"}},
		B:    Side{Label: "X", Where: map[string]any{"strategy.kind": "x"}},
		Kind: Better},
	{ID: "no_experiment", Claim: "V beats X.", Source: "a paper", Experiment: "missing",
		A:    Side{Label: "V", Where: map[string]any{"strategy.kind": "v"}},
		B:    Side{Label: "X", Where: map[string]any{"strategy.kind": "x"}},
		Kind: Better},
}

func TestEvaluateFakeResults(t *testing.T) {
	root := fakeResults(t)
	rs, err := Evaluate(root, toyClaims)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]Result{}
	for _, r := range rs {
		byID[r.Claim.ID] = r
	}
	for _, tc := range []struct {
		id        string
		verdict   Verdict
		n         int
		mean      float64
		stability string
	}{
		// d = −0.1, −0.09: reproduced; at half length (step 20) +0.2, +0.2: not reproduced
		{"x_better_y", Reproduced, 2, -0.095, "not yet stable"},
		{"x_faster_y", Reproduced, 2, -105, "stable"},
		// Z tuned: lr 0.5; d = −0.05, −0.04; at half length 0, +0.2: inconclusive
		{"x_vs_tuned_z", Reproduced, 2, -0.045, "not yet stable"},
		{"w_absent", NotRun, 0, 0, ""},
		{"no_experiment", NotRun, 0, 0, ""},
	} {
		r := byID[tc.id]
		if r.Verdict != tc.verdict || r.Effect.N != tc.n || (tc.n > 0 && !near(r.Effect.Mean, tc.mean, 1e-9)) || r.Stability() != tc.stability {
			t.Errorf("%s: verdict %q, n %d, mean %v, stability %q; want %q, %d, %v, %q",
				tc.id, r.Verdict, r.Effect.N, r.Effect.Mean, r.Stability(), tc.verdict, tc.n, tc.mean, tc.stability)
		}
	}
	if r := byID["x_better_y"]; len(r.Unpaired) != 1 || r.Unpaired[0] != 3 {
		t.Errorf("x_better_y: unpaired seeds %v, want [3]", r.Unpaired)
	}
	if r := byID["x_vs_tuned_z"]; !strings.HasPrefix(r.TunedB, "outer_lr = 0.5") {
		t.Errorf("x_vs_tuned_z: tuned %q, want outer_lr = 0.5", r.TunedB)
	}

	// The page: one row per claim in order, deterministic, atomic.
	path := filepath.Join(root, File)
	if _, err := WriteFile(root, path, toyClaims); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"5 claims: 3 reproduced, 0 not reproduced, 0 inconclusive, 2 not run.",
		"| **x_better_y**: X beats Y. (a paper) | a toy. A: X. B: Y. Test: A better than B. Seeds on one side only, dropped: 3. | " +
			"−0.095 ± 0.0635 nats, n = 2 (A 2.055 nats, B 2.15 nats) | reproduced | not yet stable (half length: not reproduced, 0.2 ± 0 nats) | [toy/index.md](toy/index.md) |",
		"Test: A better than B in `sim_time_s`. Mean `bytes_total`: A 2 TB, B 2 TB.",
		"B tuned: outer_lr = 0.5 (best of 0.5, 1 by mean final eval_loss).",
		"| not run (no finished run of A (W) in toy) |",
		"| not run (no missing/plan.json) |",
	} {
		if !strings.Contains(string(page), want) {
			t.Errorf("CLAIMS.md lacks %q:\n%s", want, page)
		}
	}
	if got := strings.Count(string(page), "\n| **"); got != len(toyClaims) {
		t.Errorf("CLAIMS.md has %d claim rows, want %d", got, len(toyClaims))
	}
	if i, j := strings.Index(string(page), "x_better_y"), strings.Index(string(page), "no_experiment"); i > j {
		t.Error("rows are not in registry order")
	}
	if _, err := WriteFile(root, path, toyClaims); err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(path)
	if !bytes.Equal(page, again) {
		t.Error("a second report differs from the first")
	}
	ents, _ := os.ReadDir(root)
	for _, e := range ents {
		if e.Name() != "toy" && e.Name() != File {
			t.Errorf("stray file %s beside the report", e.Name())
		}
	}
}

func TestAmbiguousSide(t *testing.T) {
	root := fakeResults(t)
	c := toyClaims[2]
	c.B.Tune = nil // two z settings match
	if _, err := Evaluate(root, []Claim{c}); err == nil || !strings.Contains(err.Error(), "2 settings match") {
		t.Errorf("Evaluate with an ambiguous side: %v, want an error naming 2 settings", err)
	}
}

func TestFormatNumber(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		unit string
		want string
	}{
		{-0.03421, "nats", "−0.0342 nats"},
		{2.154, "", "2.15"},
		{-4814.4, "s", "−4814 s"},
		{6.85e11, "B", "685 GB"},
		{4.77e13, "B", "47.7 TB"},
		{1.28e-5, "nats", "1.28e-05 nats"},
		{-9.37e-5, "", "−9.37e-05"},
	} {
		if got := formatNumber(tc.v, tc.unit); got != tc.want {
			t.Errorf("formatNumber(%v, %q) = %q, want %q", tc.v, tc.unit, got, tc.want)
		}
	}
}

// The committed results: every claim of the registry has a verdict or says
// it was not run, and results/CLAIMS.md is the report they give now.
func TestCommittedResults(t *testing.T) {
	const results = "../results"
	if _, err := os.Stat(filepath.Join(results, "README.md")); err != nil {
		t.Skip("no committed results:", err)
	}
	ids := map[string]bool{}
	for _, c := range Registry {
		if ids[c.ID] {
			t.Errorf("claim %s registered twice", c.ID)
		}
		ids[c.ID] = true
		if c.Claim == "" || c.Source == "" || c.Experiment == "" || c.Kind == 0 || c.Figure == "" {
			t.Errorf("claim %s lacks a field: %+v", c.ID, c)
		}
	}
	out := filepath.Join(t.TempDir(), File)
	rs, err := WriteFile(results, out, Registry)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != len(Registry) {
		t.Fatalf("%d results for %d claims", len(rs), len(Registry))
	}
	page, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		switch r.Verdict {
		case Reproduced, NotReproduced, Inconclusive:
			if r.Effect.N == 0 {
				t.Errorf("%s: verdict %q from no paired seed", r.Claim.ID, r.Verdict)
			}
		case NotRun:
			if r.Note == "" {
				t.Errorf("%s: not run, with no reason", r.Claim.ID)
			}
		default:
			t.Errorf("%s: verdict %q", r.Claim.ID, r.Verdict)
		}
		row := fmt.Sprintf("| **%s**: ", r.Claim.ID)
		if !strings.Contains(string(page), row) {
			t.Errorf("report lacks the row of %s", r.Claim.ID)
		}
		if f := r.Claim.Figure; f != "" {
			if _, err := os.Stat(filepath.Join(results, f)); err != nil && r.Verdict != NotRun {
				t.Errorf("%s: figure %s: %v", r.Claim.ID, f, err)
			}
		}
	}
	committed, err := os.ReadFile(filepath.Join(results, File))
	if err != nil {
		t.Fatal(err)
	}
	if now := Markdown(rs, "."); !bytes.Equal(committed, now) {
		t.Errorf("results/%s is not the report of the committed results: run `go run ./cmd/locosim claims results`", File)
	}
}

// Each experiment's index.md ends with its verdicts, replaced (not
// repeated) when the report is made again.
func TestWriteIndexes(t *testing.T) {
	root := fakeResults(t)
	index := filepath.Join(root, "toy", "index.md")
	if err := os.WriteFile(index, []byte("# toy\n\nfigures\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rs, err := Evaluate(root, toyClaims)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := WriteIndexes(root, rs); err != nil {
			t.Fatal(err)
		}
	}
	page, err := os.ReadFile(index)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# toy\n\nfigures\n\n" + indexMark, "## Verdicts",
		"| `x_better_y`: X beats Y. | −0.095 ± 0.0635 nats | reproduced | not reproduced, 0.2 ± 0 nats (not yet stable) |"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("index.md lacks %q:\n%s", want, page)
		}
	}
	if n := strings.Count(string(page), indexMark); n != 1 {
		t.Errorf("%d verdict sections, want 1", n)
	}
	if _, err := os.Stat(filepath.Join(root, "missing", "index.md")); err == nil {
		t.Error("an index was made for an experiment that was not run")
	}
}
