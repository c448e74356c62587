package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/locosim/locosim/experiments"
	"github.com/locosim/locosim/rundir"
)

func TestParseShard(t *testing.T) {
	for _, tc := range []struct {
		flag       string
		env        map[string]string
		i, n       int
		wantErrors bool
	}{
		{"", nil, 0, 0, false},
		{"1/4", nil, 1, 4, false},
		{"1/4", map[string]string{"SLURM_ARRAY_TASK_ID": "3"}, 1, 4, false}, // the flag wins
		{"4", map[string]string{"SLURM_ARRAY_TASK_ID": "2"}, 2, 4, false},
		{"4", map[string]string{"JOB_COMPLETION_INDEX": "3"}, 3, 4, false},
		{"", map[string]string{"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "5"}, 2, 5, false},
		{"", map[string]string{"JOB_COMPLETION_INDEX": "2"}, 0, 0, false}, // no count: not sharded
		{"4", nil, 0, 0, true},
		{"4/4", nil, 0, 0, true},
		{"-1/4", nil, 0, 0, true},
		{"1/0", nil, 0, 0, true},
		{"a/b", nil, 0, 0, true},
		{"4", map[string]string{"JOB_COMPLETION_INDEX": "x"}, 0, 0, true},
		{"4", map[string]string{"JOB_COMPLETION_INDEX": "4"}, 0, 0, true},
	} {
		i, n, err := parseShard(tc.flag, func(k string) string { return tc.env[k] })
		if (err != nil) != tc.wantErrors || i != tc.i || n != tc.n {
			t.Errorf("parseShard(%q, %v) = %d, %d, %v; want %d, %d, error %v", tc.flag, tc.env, i, n, err, tc.i, tc.n, tc.wantErrors)
		}
	}
}

// The sweep command end to end: validation, a sharded run, plot of a sweep
// directory and of a run directory, and --check.
func TestSweepCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("runs four small simulations")
	}
	dir := t.TempDir()
	spec := filepath.Join(dir, "spec.yaml")
	os.WriteFile(spec, []byte(`name: cli
base:
  model: {layers: 1, channels: 16, heads: 2, seq_len: 8}
  cluster: {nodes: 3}
  train: {batch_size: 1, inner_steps: 2, outer_rounds: 2, eval_every: 1, eval_batches: 1, optimizer: {warmup_steps: 1}}
grid:
  strategy.kind: [diloco, sparseloco]
seeds: 2
`), 0o644)
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("name: bad\ngrid: {strategy.kind: [sparseloco, telepathy]}\n"), 0o644)
	if _, err := execute(t, "sweep", "-c", bad, "-o", filepath.Join(dir, "bad")); err == nil || !strings.Contains(err.Error(), "telepathy") {
		t.Fatalf("bad spec: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "bad")); !os.IsNotExist(err) {
		t.Error("a rejected spec created its sweep directory")
	}
	out, err := execute(t, "sweep", "-c", spec, "--dry-run")
	if err != nil || strings.Count(out, "\n") != 4 || !strings.Contains(out, "strategy.kind=sparseloco,seed=2") {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	sweep := filepath.Join(dir, "sweep")
	t.Setenv("JOB_COMPLETION_INDEX", "1")
	if _, err = execute(t, "sweep", "-c", spec, "-o", sweep, "--shard", "2", "-j", "2"); err != nil {
		t.Fatal(err)
	}
	runs, _ := os.ReadDir(filepath.Join(sweep, experiments.RunsDir))
	if len(runs) != 2 {
		t.Fatalf("shard 1/2 made %d runs", len(runs))
	}
	t.Setenv("JOB_COMPLETION_INDEX", "0")
	if _, err = execute(t, "sweep", "-c", spec, "-o", sweep, "--shard", "2", "--prune"); err != nil {
		t.Fatal(err)
	}
	if out, err = execute(t, "plot", sweep); err != nil || !strings.Contains(out, "pareto.png") {
		t.Fatalf("plot of a sweep: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(sweep, experiments.IndexFile)); err != nil {
		t.Fatal(err)
	}
	unpruned := filepath.Join(sweep, experiments.RunsDir, "strategy.kind=diloco,seed=2")
	if out, err = execute(t, "plot", unpruned); err != nil || !strings.Contains(out, "timeline.png") {
		t.Fatalf("plot of a run: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(unpruned, rundir.IndexFile)); err != nil {
		t.Fatal(err)
	}
	if out, err = execute(t, "sweep", "--check", sweep, "-j", "2"); err != nil || !strings.Contains(out, "identical") {
		t.Fatalf("check: %v\n%s", err, out)
	}
}
