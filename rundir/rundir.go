// Package rundir writes and reads run directories, the contract between a run
// and everything that looks at it afterwards (locosim plot, sweeps, notebooks):
//
//	manifest.json   resolved config, seed, version, corpus digest, entropy floor, final metrics
//	evals.parquet   one row per evaluation (record.Eval)
//	rounds.parquet  one row per round and node (record.Round)
//	events.parquet  one row per simulated activity (record.Event)
//	nodes.parquet   one row per node (record.Node)
//	scores.parquet  one row per peer and validator round (record.Score), when the incentive layer is on
//	plots/          PNG and SVG figures
//
// Every file is written under a temporary name and renamed when complete, and
// the manifest is written last: a directory with a manifest is a finished run.
package rundir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/locosim/locosim/record"
	"github.com/locosim/locosim/trace"
)

// File names inside a run directory.
const (
	ManifestFile = "manifest.json"
	EvalsFile    = "evals.parquet"
	RoundsFile   = "rounds.parquet"
	EventsFile   = "events.parquet"
	NodesFile    = "nodes.parquet"
	ScoresFile   = "scores.parquet"
	PlotsDir     = "plots"
)

// Writer streams a run's records into a directory. It implements sim.Sink.
type Writer struct {
	dir    string
	evals  *trace.Writer[record.Eval]
	rounds *trace.Writer[record.Round]
	events *trace.Writer[record.Event]
	nodes  *trace.Writer[record.Node]
	scores *trace.Writer[record.Score] // opened with the first score row
}

// Create makes dir (and parents) and opens its trace files. A manifest left
// by an earlier run is removed first, so the directory never claims to hold a
// finished run while it is being rewritten.
func Create(dir string) (w *Writer, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.Remove(filepath.Join(dir, ManifestFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if _, err := trace.RemoveTemp(dir); err != nil {
		return nil, err
	}
	w = &Writer{dir: dir}
	defer func() {
		if err != nil {
			w.Abort()
		}
	}()
	tag := trace.Metadata(record.VersionKey, record.Version)
	if w.evals, err = trace.Create[record.Eval](filepath.Join(dir, EvalsFile), tag); err != nil {
		return nil, err
	}
	if w.rounds, err = trace.Create[record.Round](filepath.Join(dir, RoundsFile), tag); err != nil {
		return nil, err
	}
	if w.events, err = trace.Create[record.Event](filepath.Join(dir, EventsFile), tag); err != nil {
		return nil, err
	}
	if w.nodes, err = trace.Create[record.Node](filepath.Join(dir, NodesFile), tag); err != nil {
		return nil, err
	}
	return w, nil
}

// Dir is the run directory.
func (w *Writer) Dir() string { return w.dir }

func (w *Writer) Eval(r record.Eval) error   { return w.evals.Write(r) }
func (w *Writer) Round(r record.Round) error { return w.rounds.Write(r) }
func (w *Writer) Event(r record.Event) error { return w.events.Write(r) }
func (w *Writer) Node(r record.Node) error   { return w.nodes.Write(r) }

// Score writes a row of scores.parquet, which only runs with the incentive
// layer have.
func (w *Writer) Score(r record.Score) error {
	if w.scores == nil {
		var err error
		if w.scores, err = trace.Create[record.Score](filepath.Join(w.dir, ScoresFile), trace.Metadata(record.VersionKey, record.Version)); err != nil {
			return err
		}
	}
	return w.scores.Write(r)
}

// Close finishes the traces, then writes the manifest: the run is complete.
func (w *Writer) Close(m *Manifest) error {
	if err := w.closeTraces(); err != nil {
		return err
	}
	return writeManifest(w.dir, m)
}

func (w *Writer) closeTraces() error {
	closers := []interface{ Close() error }{w.evals, w.rounds, w.events, w.nodes}
	if w.scores != nil {
		closers = append(closers, w.scores)
	}
	for _, c := range closers {
		if err := c.Close(); err != nil {
			w.Abort()
			return err
		}
	}
	return nil
}

func writeManifest(dir string, m *Manifest) error {
	if err := trace.WriteJSON(filepath.Join(dir, ManifestFile), m); err != nil {
		return fmt.Errorf("rundir: writing manifest: %w", err)
	}
	return nil
}

// Abort drops every unfinished trace file; no manifest is written.
func (w *Writer) Abort() {
	if w.evals != nil {
		w.evals.Abort()
	}
	if w.rounds != nil {
		w.rounds.Abort()
	}
	if w.events != nil {
		w.events.Abort()
	}
	if w.nodes != nil {
		w.nodes.Abort()
	}
	if w.scores != nil {
		w.scores.Abort()
	}
}
