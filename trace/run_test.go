package trace

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/locosim/locosim/record"
)

func TestRunWriter(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sweep", "run-0001")
	w, err := CreateRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	if w.Dir() != dir {
		t.Errorf("Dir = %q", w.Dir())
	}
	nodes := []record.Node{{Node: 0, Class: "h100", Flops: 1e15}, {Node: 1, Class: "rtx4090", Flops: 1.6e14}}
	evals := []record.Eval{{Round: 0, EvalLoss: 5.5, ExcessLoss: math.NaN()}, {Round: 1, EvalLoss: 4.2, ExcessLoss: 0.7}}
	rounds := []record.Round{{Round: 1, Node: 0, Status: record.StatusOK, InAggregate: true}, {Round: 1, Node: 1, Status: record.StatusLate}}
	events := []record.Event{{Node: 0, Round: 1, Kind: record.KindCompute, StartS: 0, EndS: 10}}
	for _, err := range []error{w.Node(nodes...), w.Eval(evals[0]), w.Eval(evals[1]), w.Round(rounds...), w.Event(events...)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if Complete(dir) {
		t.Error("run looks complete before Close")
	}
	if err := w.Close(map[string]any{"seed": 3}); err != nil {
		t.Fatal(err)
	}
	if !Complete(dir) {
		t.Error("run not complete after Close")
	}
	if err := w.Close(nil); err != ErrClosed {
		t.Errorf("second Close: %v", err)
	}
	names := dirNames(t, dir)
	if want := []string{EvalsFile, EventsFile, ManifestFile, NodesFile, RoundsFile}; !slices.Equal(names, want) {
		t.Errorf("run directory holds %v, want %v", names, want)
	}
	var m map[string]int
	b, _ := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err := json.Unmarshal(b, &m); err != nil || m["seed"] != 3 {
		t.Errorf("manifest %s: %v", b, err)
	}
	run, err := ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(run.Nodes, nodes) || !reflect.DeepEqual(run.Rounds, rounds) || !reflect.DeepEqual(run.Events, events) {
		t.Errorf("ReadRun returned %+v", run)
	}
	if len(run.Evals) != 2 || !math.IsNaN(run.Evals[0].ExcessLoss) || run.Evals[1].EvalLoss != 4.2 {
		t.Errorf("evals %+v", run.Evals)
	}
	info, err := Stat(filepath.Join(dir, EvalsFile))
	if err != nil || info.Metadata[record.VersionKey] != record.Version {
		t.Errorf("evals metadata %v, %v", info.Metadata, err)
	}

	// Starting the run again removes the old manifest at once; aborting
	// leaves the old complete traces but no manifest.
	w2, err := CreateRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if Complete(dir) {
		t.Error("a restarted run still looks complete")
	}
	if err := w2.Abort(); err != nil {
		t.Fatal(err)
	}
	if names := dirNames(t, dir); slices.Contains(names, ManifestFile) || len(names) != 4 {
		t.Errorf("after an aborted rerun the directory holds %v", names)
	}
}

func TestRunWriterFailedManifest(t *testing.T) {
	dir := t.TempDir()
	w, err := CreateRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	// A manifest JSON cannot encode: traces are complete, the run is not.
	if err := w.Close(map[string]float64{"loss": math.NaN()}); err == nil {
		t.Fatal("Close with an unencodable manifest succeeded")
	}
	if Complete(dir) {
		t.Error("run marked complete without a manifest")
	}
}

func TestReadRunMissing(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadRun(dir); err == nil {
		t.Error("ReadRun of an empty directory succeeded")
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := CreateRun(filepath.Join(file, "run")); err == nil {
		t.Error("CreateRun under a regular file succeeded")
	}
}
