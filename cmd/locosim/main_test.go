package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/locosim/locosim/record"
	"github.com/locosim/locosim/rundir"
	"github.com/locosim/locosim/trace"
)

// execute runs the CLI in-process and returns stdout and the error.
func execute(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRoot()
	var out, errw bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errw)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

// tiny keeps end-to-end runs fast.
var tiny = []string{
	"--set", "model.layers=1", "--set", "model.channels=32", "--set", "model.heads=2",
	"--set", "model.seq_len=16", "--set", "train.batch_size=2",
	"--set", "train.inner_steps=5", "--set", "train.outer_rounds=2", "--set", "train.eval_batches=1",
	"--set", "train.optimizer.warmup_steps=2", "--set", "train.eval_every=1",
}

func TestConfigCommand(t *testing.T) {
	t.Setenv("LOCOSIM_TRAIN_INNER_STEPS", "17")
	out, err := execute(t, "config", "--set", "seed=9")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"seed: 9", "inner_steps: 17", "outer_rounds:"} {
		if !strings.Contains(out, want) {
			t.Errorf("config output lacks %q:\n%s", want, out)
		}
	}
	out, err = execute(t, "config", "--keys")
	if err != nil || !strings.Contains(out, "train.inner_steps\tLOCOSIM_TRAIN_INNER_STEPS") {
		t.Fatalf("config --keys: %v\n%s", err, out)
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(file, []byte("train:\n  inner_step: 3\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"config", "-c", file}, "train.inner_step"},
		{[]string{"config", "--set", "model.layerz=2"}, "model.layerz"},
		{[]string{"train", "--set", "train.inner_steps=0"}, "train.inner_steps"},
		{[]string{"config", "--set", "model.heads=3"}, "heads"},
	} {
		_, err := execute(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one naming %q", tc.args, err, tc.want)
		}
	}
}

func TestTrainWritesRunDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	out, err := execute(t, append([]string{"train", "-o", dir}, tiny...)...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "eval_loss") {
		t.Errorf("no summary table:\n%s", out)
	}
	m, err := rundir.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Command != "train" || m.CorpusDigest == "" || m.EntropyFloorNats == nil {
		t.Errorf("manifest incomplete: %+v", m)
	}
	if _, ok := m.Final["eval_loss"]; !ok {
		t.Errorf("manifest has no final eval_loss: %v", m.Final)
	}
	evals, err := trace.ReadAll[record.Eval](filepath.Join(dir, rundir.EvalsFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(evals) != 3 || evals[2].Step != 10 {
		t.Fatalf("got %d evaluations, want 3 ending at step 10: %+v", len(evals), evals)
	}
	for _, f := range []string{"loss.png", "loss.svg"} {
		if _, err := os.Stat(filepath.Join(dir, rundir.PlotsDir, f)); err != nil {
			t.Error(err)
		}
	}
	// plot redraws from the files alone.
	os.RemoveAll(filepath.Join(dir, rundir.PlotsDir))
	if _, err := execute(t, "plot", dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, rundir.PlotsDir, "loss.png")); err != nil {
		t.Fatal(err)
	}
}
