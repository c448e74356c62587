package rundir

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/locosim/locosim/record"
	"github.com/locosim/locosim/sim"
)

func tinyConfig() sim.Config {
	c := sim.DefaultConfig()
	c.Model.Layers, c.Model.Channels, c.Model.Heads, c.Model.SeqLen = 1, 32, 2, 16
	c.Train.BatchSize, c.Train.InnerSteps, c.Train.OuterRounds = 2, 3, 4
	c.Train.EvalEvery, c.Train.EvalBatches = 1, 2
	c.Train.Optimizer.WarmupSteps = 2
	c.Cluster.Nodes = 6
	return c
}

// Same config and seed give byte-identical traces whatever GOMAXPROCS.
func TestSimulateIsDeterministic(t *testing.T) {
	cfg := tinyConfig()
	var dirs []string
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for i, procs := range []int{1, 2, 2} {
		runtime.GOMAXPROCS(procs)
		c := cfg
		c.Train.Workers = []int{1, 2, 0}[i]
		dir := filepath.Join(t.TempDir(), "run")
		if _, err := Simulate(context.Background(), c, dir, Options{}); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, dir)
	}
	for _, f := range []string{EvalsFile, RoundsFile, EventsFile, NodesFile} {
		want, err := os.ReadFile(filepath.Join(dirs[0], f))
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range dirs[1:] {
			got, err := os.ReadFile(filepath.Join(d, f))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs between runs at different GOMAXPROCS/workers", f)
			}
		}
	}
}

// A run that is interrupted leaves no unreadable file and no manifest.
func TestSimulateInterrupted(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	ctx, cancel := context.WithCancel(context.Background())
	evals := 0
	_, err := Simulate(ctx, tinyConfig(), dir, Options{OnEval: func(record.Eval) {
		if evals++; evals == 2 {
			cancel()
		}
	}})
	if err == nil {
		t.Fatal("a cancelled run succeeded")
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".parquet") || e.Name() == ManifestFile || strings.Contains(e.Name(), ".tmp") {
			t.Errorf("interrupted run left %s", e.Name())
		}
	}
	if Finished(dir) {
		t.Fatal("an interrupted run counts as finished")
	}
}

func TestTrainManifest(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "train")
	m, err := Train(context.Background(), tinyConfig(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Info["replica_bytes"] == nil || m.Final["eval_loss"] <= 0 || m.EntropyFloorNats == nil {
		t.Fatalf("manifest %+v", m)
	}
	if _, err := os.Stat(filepath.Join(dir, PlotsDir, "loss.png")); err != nil {
		t.Fatal(err)
	}
}
