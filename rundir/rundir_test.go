package rundir

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/locosim/locosim/record"
	"github.com/locosim/locosim/trace"
)

func writeRun(t *testing.T, dir string) {
	t.Helper()
	w, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	for r := int64(0); r <= 4; r++ {
		w.Eval(record.Eval{Round: r, Step: 10 * r, SimTimeS: 5 * float64(r), BytesTotal: 1000 * r, EvalLoss: 5 - float64(r)/2})
		for n := int64(0); n < 3 && r > 0; n++ {
			t0 := 5 * float64(r-1)
			w.Round(record.Round{Round: r, Node: n, InnerSteps: 10, Status: record.StatusOK, InAggregate: true})
			w.Event(record.Event{Node: n, Round: r, Kind: record.KindCompute, StartS: t0, EndS: t0 + 3 + float64(n)/2})
			w.Event(record.Event{Node: n, Round: r, Kind: record.KindUpload, StartS: t0 + 3 + float64(n)/2, EndS: t0 + 5, Bytes: 100})
		}
	}
	for n := int64(0); n < 3; n++ {
		w.Node(record.Node{Node: n, Class: "gpu"})
	}
	m := NewManifest("run", 7, map[string]int{"x": 1})
	m.SetFloor(1.25)
	m.SetFinal("eval_loss", 3)
	if err := w.Close(m); err != nil {
		t.Fatal(err)
	}
}

func TestWriteReadPlot(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	writeRun(t, dir)
	if !Finished(dir) {
		t.Fatal("a closed run is not Finished")
	}
	m, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Seed != 7 || *m.EntropyFloorNats != 1.25 || m.Final["eval_loss"] != 3 {
		t.Fatalf("manifest round trip: %+v", m)
	}
	rounds, err := trace.ReadAll[record.Round](filepath.Join(dir, RoundsFile))
	if err != nil || len(rounds) != 12 {
		t.Fatalf("rounds: %d rows, %v", len(rounds), err)
	}
	names, err := Plot(dir)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	want := []string{"loss", "loss_bytes", "loss_rounds", "loss_time", "timeline", "utilization"}
	if len(names) != len(want) {
		t.Fatalf("figures %v, want %v", names, want)
	}
	for i, n := range want {
		if names[i] != n {
			t.Fatalf("figures %v, want %v", names, want)
		}
		for _, ext := range []string{".png", ".svg"} {
			if fi, err := os.Stat(filepath.Join(dir, PlotsDir, n+ext)); err != nil || fi.Size() == 0 {
				t.Fatalf("figure %s%s missing or empty", n, ext)
			}
		}
	}
}

func TestAbortLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	w, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	w.Eval(record.Eval{EvalLoss: 1})
	w.Abort()
	ents, _ := os.ReadDir(dir)
	if len(ents) != 0 {
		t.Fatalf("abort left %d entries, first %s", len(ents), ents[0].Name())
	}
	if Finished(dir) {
		t.Fatal("aborted run counts as finished")
	}
}

func TestRecreateRemovesManifest(t *testing.T) {
	dir := t.TempDir()
	writeRun(t, dir)
	w, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	if Finished(dir) {
		t.Fatal("a run being rewritten still looks finished")
	}
}

func TestPlotErrors(t *testing.T) {
	if _, err := Plot(t.TempDir()); err == nil {
		t.Fatal("Plot of an empty directory succeeded")
	}
	dir := t.TempDir()
	w, _ := Create(dir)
	if err := w.Close(NewManifest("run", 1, nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := Plot(dir); err == nil {
		t.Fatal("Plot of a run without evaluations succeeded")
	}
}

func TestManifestConfigUsesKeyNames(t *testing.T) {
	type inner struct {
		InnerSteps int `yaml:"inner_steps"`
	}
	m := NewManifest("run", 1, struct {
		Train inner `yaml:"train"`
	}{inner{30}})
	cfg, ok := m.Config.(map[string]any)
	if !ok {
		t.Fatalf("config is %T", m.Config)
	}
	if cfg["train"].(map[string]any)["inner_steps"] != 30 {
		t.Fatalf("config %v", cfg)
	}
}
