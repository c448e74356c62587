package trace

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/locosim/locosim/record"
)

// File names inside a run directory (see DESIGN.md, "A run directory
// holds").
const (
	ManifestFile = "manifest.json"
	EvalsFile    = "evals.parquet"
	RoundsFile   = "rounds.parquet"
	EventsFile   = "events.parquet"
	NodesFile    = "nodes.parquet"
	PlotsDir     = "plots"
)

// A RunWriter writes the trace files of one run directory. It is a sink for
// the records a simulation emits: the simulator calls Eval, Round, Event and
// Node as it goes (from one goroutine), the CLI calls Close with the
// manifest at the end.
//
// The manifest is written last, after every trace file is complete, so its
// presence marks a finished run (see Complete): a sweep restarted after a
// crash reruns exactly the runs without one.
type RunWriter struct {
	dir    string
	evals  *Writer[record.Eval]
	rounds *Writer[record.Round]
	events *Writer[record.Event]
	nodes  *Writer[record.Node]
	done   bool
}

// CreateRun creates dir (and its parents) and opens its trace files. A
// manifest left by an earlier finished run in dir is removed first, so the
// directory never looks finished while new traces are being written.
func CreateRun(dir string) (r *RunWriter, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("trace: run directory: %w", err)
	}
	if err := os.Remove(filepath.Join(dir, ManifestFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("trace: run directory: %w", err)
	}
	r = &RunWriter{dir: dir}
	defer func() {
		if err != nil {
			r.Abort()
		}
	}()
	meta := Metadata(record.VersionKey, record.Version)
	if r.evals, err = Create[record.Eval](filepath.Join(dir, EvalsFile), meta); err != nil {
		return nil, err
	}
	if r.rounds, err = Create[record.Round](filepath.Join(dir, RoundsFile), meta); err != nil {
		return nil, err
	}
	if r.events, err = Create[record.Event](filepath.Join(dir, EventsFile), meta); err != nil {
		return nil, err
	}
	if r.nodes, err = Create[record.Node](filepath.Join(dir, NodesFile), meta); err != nil {
		return nil, err
	}
	return r, nil
}

// Dir is the run directory.
func (r *RunWriter) Dir() string { return r.dir }

// Eval appends evaluation rows to evals.parquet.
func (r *RunWriter) Eval(rows ...record.Eval) error { return r.evals.Write(rows...) }

// Round appends per-round, per-node rows to rounds.parquet.
func (r *RunWriter) Round(rows ...record.Round) error { return r.rounds.Write(rows...) }

// Event appends activity rows to events.parquet.
func (r *RunWriter) Event(rows ...record.Event) error { return r.events.Write(rows...) }

// Node appends node profiles to nodes.parquet.
func (r *RunWriter) Node(rows ...record.Node) error { return r.nodes.Write(rows...) }

// Close completes every trace file and then writes manifest (any value
// encoding/json accepts) as manifest.json. If any step fails, the
// remaining trace files are discarded and no manifest is written.
func (r *RunWriter) Close(manifest any) error {
	if r.done {
		return ErrClosed
	}
	closers := []func() error{r.nodes.Close, r.evals.Close, r.rounds.Close, r.events.Close}
	for _, c := range closers {
		if err := c(); err != nil {
			r.Abort()
			return err
		}
	}
	r.done = true
	return WriteJSON(filepath.Join(r.dir, ManifestFile), manifest)
}

// Abort discards the trace files not yet closed. It is a no-op after a
// successful Close, so it can be deferred.
func (r *RunWriter) Abort() error {
	if r.done {
		return nil
	}
	r.done = true
	var errs []error
	if r.evals != nil {
		errs = append(errs, r.evals.Abort())
	}
	if r.rounds != nil {
		errs = append(errs, r.rounds.Abort())
	}
	if r.events != nil {
		errs = append(errs, r.events.Abort())
	}
	if r.nodes != nil {
		errs = append(errs, r.nodes.Abort())
	}
	return errors.Join(errs...)
}

// Complete reports whether dir holds a finished run: its manifest exists.
func Complete(dir string) bool {
	st, err := os.Stat(filepath.Join(dir, ManifestFile))
	return err == nil && st.Mode().IsRegular()
}

// Run holds the traces of one run directory in memory.
type Run struct {
	Evals  []record.Eval
	Rounds []record.Round
	Events []record.Event
	Nodes  []record.Node
}

// ReadRun reads the four trace files of a run directory. A missing file is
// an error naming it; a run without a manifest is read all the same
// (callers that want only finished runs check Complete).
func ReadRun(dir string) (Run, error) {
	var r Run
	var err error
	if r.Evals, err = ReadAll[record.Eval](filepath.Join(dir, EvalsFile)); err != nil {
		return Run{}, err
	}
	if r.Rounds, err = ReadAll[record.Round](filepath.Join(dir, RoundsFile)); err != nil {
		return Run{}, err
	}
	if r.Events, err = ReadAll[record.Event](filepath.Join(dir, EventsFile)); err != nil {
		return Run{}, err
	}
	if r.Nodes, err = ReadAll[record.Node](filepath.Join(dir, NodesFile)); err != nil {
		return Run{}, err
	}
	return r, nil
}
