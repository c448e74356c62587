package experiments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/locosim/locosim/rundir"
	"github.com/locosim/locosim/trace"
)

// Files and directories of a sweep directory.
const (
	SpecFile    = "sweep.yaml"      // the spec as given
	PlanFile    = "plan.json"       // every point: run name, seed, values
	SummaryFile = "summary.parquet" // one row per finished run
	RunsDir     = "runs"            // one run directory per point
	IndexFile   = "index.md"        // figures and tables, for reading
	PlotsDir    = rundir.PlotsDir
)

// Options tune how a sweep runs; none of them changes a run's results.
type Options struct {
	// Jobs is how many runs go at once (0: 1). Each run trains with
	// GOMAXPROCS/Jobs workers.
	Jobs int
	// Shard and Shards select the points whose index i in the plan has
	// i % Shards == Shard (Shards 0: every point).
	Shard, Shards int
	// Prune removes each finished run's per-round, per-event and per-node
	// traces and its figures, keeping manifest.json and evals.parquet:
	// what the summary, the sweep's figures and --check need.
	Prune bool
	// NoPlot skips the sweep's figures and index page.
	NoPlot bool
	// Log receives a line per run started and finished (nil: none).
	Log io.Writer
}

// Result counts what a sweep did.
type Result struct {
	Ran, Skipped, Failed int
	// Selected is the number of points in this shard.
	Selected int
}

// checkShard reports a shard that names no part of the points.
func (o Options) checkShard(what string) error {
	if o.Shards < 0 || (o.Shards > 0 && (o.Shard < 0 || o.Shard >= o.Shards)) {
		return fmt.Errorf("%s: shard %d/%d: want 0 <= shard < shards", what, o.Shard, o.Shards)
	}
	return nil
}

// inShard reports whether the i-th point belongs to this shard.
func (o Options) inShard(i int) bool { return o.Shards == 0 || i%o.Shards == o.Shard }

// Run runs the plan's points (this shard's) into dir/runs, skipping runs
// that are finished and redoing half-finished ones, then rebuilds the
// summary from every finished run and redraws the figures. It returns an
// error naming each run that failed; the others still complete.
func Run(ctx context.Context, spec *Spec, plan *Plan, dir string, opts Options) (Result, error) {
	var res Result
	if err := opts.checkShard("sweep"); err != nil {
		return res, err
	}
	if err := os.MkdirAll(filepath.Join(dir, RunsDir), 0o755); err != nil {
		return res, err
	}
	if err := trace.WriteFileAtomic(filepath.Join(dir, SpecFile), spec.Source); err != nil {
		return res, err
	}
	if err := trace.WriteJSON(filepath.Join(dir, PlanFile), plan); err != nil {
		return res, err
	}
	var todo []Point
	for i, p := range plan.Points {
		if !opts.inShard(i) {
			continue
		}
		res.Selected++
		if run := filepath.Join(dir, RunsDir, p.Name); rundir.Finished(run) {
			res.Skipped++
			if opts.Prune { // a run finished by an earlier sweep without --prune
				if err := Prune(run); err != nil {
					return res, err
				}
			}
			continue
		}
		todo = append(todo, p)
	}
	logf := lineLogger(opts.Log)
	logf("sweep %s: %d points (%d in this shard), %d finished, %d to run", plan.Name, len(plan.Points), res.Selected, res.Skipped, len(todo))
	errs := runAll(ctx, todo, func(ctx context.Context, i int, p Point) error {
		return runPoint(ctx, p, filepath.Join(dir, RunsDir, p.Name), opts, func(format string, args ...any) {
			logf("[%d/%d] "+format, append([]any{i + 1, len(todo)}, args...)...)
		})
	}, opts.Jobs)
	for _, err := range errs {
		if err != nil {
			res.Failed++
		}
	}
	res.Ran = len(todo) - res.Failed
	err := errors.Join(errs...)
	if ctx.Err() != nil {
		return res, errors.Join(err, ctx.Err())
	}
	if _, serr := Summarize(dir); serr != nil {
		return res, errors.Join(err, serr)
	}
	if !opts.NoPlot {
		if _, perr := Plot(dir); perr != nil {
			err = errors.Join(err, perr)
		}
	}
	return res, err
}

// lineLogger returns a printf that writes whole lines to w (nothing when w
// is nil), one at a time: the points' jobs log concurrently.
func lineLogger(w io.Writer) func(format string, args ...any) {
	if w == nil {
		return func(string, ...any) {}
	}
	var mu sync.Mutex
	return func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, format+"\n", args...)
	}
}

// runAll calls f for each point, jobs at a time, and returns one error per
// point (nil for success).
func runAll(ctx context.Context, todo []Point, f func(context.Context, int, Point) error, jobs int) []error {
	jobs = max(jobs, 1)
	errs := make([]error, len(todo))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(jobs, len(todo)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				errs[i] = f(ctx, i, todo[i])
			}
		}()
	}
	for i := range todo {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	return errs
}

func runPoint(ctx context.Context, p Point, dir string, opts Options, logf func(string, ...any)) error {
	cfg := p.Config
	cfg.Train.Workers = max(1, runtime.GOMAXPROCS(0)/max(opts.Jobs, 1))
	start := time.Now()
	logf("%s: started", p.Name)
	m, err := rundir.Simulate(ctx, cfg, dir, rundir.Options{})
	if err != nil {
		logf("%s: failed: %v", p.Name, err)
		return fmt.Errorf("run %s: %w", p.Name, err)
	}
	if opts.Prune {
		if err := Prune(dir); err != nil {
			return fmt.Errorf("run %s: %w", p.Name, err)
		}
	}
	logf("%s: eval_loss %.4f, sim_time_s %.4g, bytes_total %.4g (%.1f s)", p.Name,
		m.Final["eval_loss"], m.Final["sim_time_s"], m.Final["bytes_total"], time.Since(start).Seconds())
	return nil
}

// Prune removes a finished run's bulky traces and figures, keeping its
// manifest and evaluations, and its scores with the nodes' roles that they
// need (runs with the incentive layer; both are small).
func Prune(dir string) error {
	drop := []string{rundir.RoundsFile, rundir.EventsFile}
	if _, err := os.Stat(filepath.Join(dir, rundir.ScoresFile)); err != nil {
		drop = append(drop, rundir.NodesFile)
	}
	for _, f := range drop {
		if err := os.Remove(filepath.Join(dir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return os.RemoveAll(filepath.Join(dir, rundir.PlotsDir))
}

// IsSweep reports whether dir is a sweep directory.
func IsSweep(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, PlanFile))
	return err == nil
}

// ReadPlan reads a sweep directory's plan (without resolved configs).
func ReadPlan(dir string) (*Plan, error) {
	b, err := os.ReadFile(filepath.Join(dir, PlanFile))
	if err != nil {
		return nil, err
	}
	var p Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("sweep: %s: %w", filepath.Join(dir, PlanFile), err)
	}
	return &p, nil
}

// Metrics are the final metrics of a summary, in column order: those of
// every run, then those of runs with the incentive layer
// (rundir.IncentiveMetricNames), NaN for the others.
var Metrics = append([]string{"eval_loss", "excess_loss", "train_loss", "sim_time_s", "bytes_total", "bytes_up",
	"bytes_down", "tokens", "rounds", "compute_utilization", "round_time_s"}, rundir.IncentiveMetricNames...)

// Row is one finished run of a sweep.
type Row struct {
	Run      string
	Seed     uint64
	Strategy string
	// Values maps each key of the plan to the run's value: float64,
	// string or bool (a list or map is its JSON text). Config keys are
	// read from the run's resolved config, labels from the plan.
	Values  map[string]any
	Metrics map[string]float64
}

// Summarize reads every finished run under dir/runs and writes
// summary.parquet: run, seed, strategy, one column per plan key, then the
// final metrics (NaN when missing). Rows are sorted by run name.
func Summarize(dir string) ([]Row, error) {
	plan, err := ReadPlan(dir)
	if err != nil {
		return nil, err
	}
	rows, err := readRows(dir, plan)
	if err != nil {
		return nil, err
	}
	return rows, writeSummary(filepath.Join(dir, SummaryFile), plan.Keys, rows)
}

func readRows(dir string, plan *Plan) ([]Row, error) {
	labels := map[string]map[string]any{}
	for _, p := range plan.Points {
		labels[p.Name] = p.Values
	}
	ents, err := os.ReadDir(filepath.Join(dir, RunsDir))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	var rows []Row
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		m, err := rundir.ReadManifest(filepath.Join(dir, RunsDir, e.Name()))
		if errors.Is(err, os.ErrNotExist) {
			continue // unfinished
		}
		if err != nil {
			return nil, err
		}
		cfg, err := configKeys(m)
		if err != nil {
			return nil, fmt.Errorf("sweep: run %s: %w", e.Name(), err)
		}
		r := Row{Run: e.Name(), Seed: m.Seed, Values: map[string]any{}, Metrics: map[string]float64{}}
		if s, ok := lookup(cfg, "strategy.kind").(string); ok {
			r.Strategy = s
		}
		for _, k := range plan.Keys {
			var v any
			if strings.HasPrefix(k, LabelPrefix) {
				v = labels[e.Name()][k]
			} else {
				v = lookup(cfg, k)
			}
			r.Values[k] = scalar(v)
		}
		for _, k := range Metrics {
			if v, ok := m.Final[k]; ok {
				r.Metrics[k] = v
			} else {
				r.Metrics[k] = nan
			}
		}
		if err := incentiveFallback(filepath.Join(dir, RunsDir, e.Name()), m, r.Metrics); err != nil {
			return nil, fmt.Errorf("sweep: run %s: %w", e.Name(), err)
		}
		rows = append(rows, r)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Run < rows[j].Run })
	return rows, nil
}

// incentiveFallback computes the incentive metrics of a run whose manifest
// records none of them (made before they were) from its scores and roles,
// when it still has both; they stay NaN otherwise.
func incentiveFallback(run string, m *rundir.Manifest, metrics map[string]float64) error {
	for _, k := range rundir.IncentiveMetricNames {
		if _, ok := m.Final[k]; ok {
			return nil
		}
	}
	w, err := rundir.ReadWeightShares(run)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for k, v := range w.Metrics() {
		metrics[k] = v
	}
	return nil
}

// lookup walks a decoded config to a dotted key.
func lookup(cfg any, key string) any {
	cur := cfg
	for _, part := range strings.Split(key, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	return cur
}

// scalar maps a value to float64, string or bool; others become JSON text.
func scalar(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case float64, string, bool:
		return x
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	case float32:
		return float64(x)
	}
	s, err := encode(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return s
}

func writeSummary(path string, keys []string, rows []Row) error {
	n := len(rows)
	runs, strategies := make([]string, n), make([]string, n)
	seeds := make([]int64, n)
	for i, r := range rows {
		runs[i], strategies[i], seeds[i] = r.Run, r.Strategy, int64(r.Seed)
	}
	cols := []trace.Column{{Name: "run", Values: runs}, {Name: "seed", Values: seeds}, {Name: "strategy", Values: strategies}}
	for _, k := range keys {
		cols = append(cols, trace.Column{Name: k, Values: valueColumn(k, rows)})
	}
	for _, k := range Metrics {
		vs := make([]float64, n)
		for i, r := range rows {
			vs[i] = r.Metrics[k]
		}
		cols = append(cols, trace.Column{Name: k, Values: vs})
	}
	return trace.WriteTable(path, cols)
}

// valueColumn types a key's column by its values: float64 (NaN missing),
// bool, or string when they are strings or mixed.
func valueColumn(k string, rows []Row) any {
	kind := ""
	for _, r := range rows {
		var t string
		switch r.Values[k].(type) {
		case nil:
			continue
		case float64:
			t = "f"
		case bool:
			t = "b"
		default:
			t = "s"
		}
		if kind == "" {
			kind = t
		} else if kind != t {
			kind = "s"
		}
	}
	switch kind {
	case "f", "":
		out := make([]float64, len(rows))
		for i, r := range rows {
			if f, ok := r.Values[k].(float64); ok {
				out[i] = f
			} else {
				out[i] = nan
			}
		}
		return out
	case "b":
		out := make([]bool, len(rows))
		for i, r := range rows {
			out[i], _ = r.Values[k].(bool)
		}
		return out
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = FormatValue(r.Values[k])
	}
	return out
}
