package experiments

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/locosim/locosim/config"
	"github.com/locosim/locosim/rundir"
	"github.com/locosim/locosim/sim"
	"go.yaml.in/yaml/v3"
)

// Difference is one metric of one run that disagrees with its reference.
type Difference struct {
	Run, Metric string
	Want, Got   float64
}

func (d Difference) String() string {
	return fmt.Sprintf("%s: %s = %v, reference %v (relative difference %.3g)", d.Run, d.Metric, d.Got, d.Want, relDiff(d.Got, d.Want))
}

func relDiff(got, want float64) float64 {
	if got == want {
		return 0
	}
	return math.Abs(got-want) / math.Max(math.Abs(want), math.SmallestNonzeroFloat64)
}

// Check re-runs every finished run of the reference sweep ref from the
// configuration in its manifest, into work/runs, and compares every final
// metric with the reference's. tolerance is relative (0: exact). It returns
// the differences, sorted by run and metric; a run that cannot be re-run is
// an error. opts.Shard and Shards re-run only the finished runs whose index
// (in run-name order) is Shard modulo Shards: a spot check, or one task of
// a check spread over a job array.
func Check(ctx context.Context, ref, work string, tolerance float64, opts Options) ([]Difference, error) {
	if !(tolerance >= 0) {
		return nil, fmt.Errorf("check: tolerance %v: want >= 0", tolerance)
	}
	plan, err := ReadPlan(ref)
	if err != nil {
		return nil, err
	}
	rows, err := readRows(ref, plan)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("check: %s holds no finished run", ref)
	}
	if err := opts.checkShard("check"); err != nil {
		return nil, err
	}
	var points []Point
	refs := map[string]map[string]float64{}
	for i, r := range rows {
		if !opts.inShard(i) {
			continue
		}
		m, err := rundir.ReadManifest(filepath.Join(ref, RunsDir, r.Run))
		if err != nil {
			return nil, err
		}
		cfg, err := ConfigOf(m)
		if err != nil {
			return nil, fmt.Errorf("check: run %s: %w", r.Run, err)
		}
		// A reference run made before the incentive metrics were recorded
		// gets them from its scores, as its summary does.
		want := maps.Clone(m.Final)
		derived := map[string]float64{}
		if err := incentiveFallback(filepath.Join(ref, RunsDir, r.Run), m, derived); err != nil {
			return nil, fmt.Errorf("check: run %s: %w", r.Run, err)
		}
		for k, v := range derived {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				want[k] = v
			}
		}
		refs[r.Run] = want
		points = append(points, Point{Name: r.Run, Seed: m.Seed, Config: cfg})
	}
	if err := os.MkdirAll(filepath.Join(work, RunsDir), 0o755); err != nil {
		return nil, err
	}
	opts.Prune = true
	logf := lineLogger(opts.Log)
	errs := runAll(ctx, points, func(ctx context.Context, i int, p Point) error {
		return runPoint(ctx, p, filepath.Join(work, RunsDir, p.Name), opts, func(format string, args ...any) {
			logf("[%d/%d] "+format, append([]any{i + 1, len(points)}, args...)...)
		})
	}, opts.Jobs)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var diffs []Difference
	for _, p := range points {
		m, err := rundir.ReadManifest(filepath.Join(work, RunsDir, p.Name))
		if err != nil {
			return nil, err
		}
		diffs = append(diffs, Compare(p.Name, refs[p.Name], m.Final, tolerance)...)
	}
	return diffs, nil
}

// Compare lists the metrics of got that differ from want by more than the
// relative tolerance, and those present in only one of them (NaN marks the
// missing side).
func Compare(run string, want, got map[string]float64, tolerance float64) []Difference {
	keys := map[string]bool{}
	for k := range want {
		keys[k] = true
	}
	for k := range got {
		keys[k] = true
	}
	var out []Difference
	for _, k := range sortedKeys(keys) {
		w, okw := want[k]
		g, okg := got[k]
		if !okw {
			w = nan
		}
		if !okg {
			g = nan
		}
		if okw && okg && relDiff(g, w) <= tolerance {
			continue
		}
		out = append(out, Difference{Run: run, Metric: k, Want: w, Got: g})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Run < out[j].Run })
	return out
}

// ConfigOf rebuilds a run's configuration from its manifest. A manifest
// written with Go field names ("InnerSteps") is decoded as JSON; one with
// config keys ("inner_steps") is resolved strictly, so a key the current
// code does not know is an error.
func ConfigOf(m *rundir.Manifest) (sim.Config, error) {
	var cfg sim.Config
	if mm, ok := m.Config.(map[string]any); ok && mm["Seed"] != nil {
		migrate(mm)
		b, err := json.Marshal(mm)
		if err != nil {
			return cfg, err
		}
		cfg = sim.DefaultConfig()
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&cfg); err != nil {
			return sim.Config{}, fmt.Errorf("manifest config: %w", err)
		}
		return cfg, cfg.ValidateRun()
	}
	if mm, ok := m.Config.(map[string]any); ok {
		migrate(mm)
	}
	y, err := config.Marshal(m.Config)
	if err != nil {
		return sim.Config{}, err
	}
	cfg, err = config.Resolve(sim.DefaultConfig(), config.Source{YAML: y})
	if err != nil {
		return sim.Config{}, err
	}
	return cfg, cfg.ValidateRun()
}

// migrate rewrites, in place, a manifest's configuration written by an
// earlier version into today's shape: DiLoCo's outer momentum and Nesterov
// switch were strategy keys before each algorithm owned its section. The
// configuration is in Go field names (JSON, sections under Sections) or in
// config keys (YAML, sections inline).
func migrate(cfg map[string]any) {
	for _, f := range []struct {
		strategy, momentum, nesterov string
		inline                       bool
	}{
		{"Strategy", "OuterMomentum", "Nesterov", false},
		{"strategy", "outer_momentum", "nesterov", true},
	} {
		st, ok := cfg[f.strategy].(map[string]any)
		if !ok {
			continue
		}
		moved := map[string]any{}
		for old, key := range map[string]string{f.momentum: "outer_momentum", f.nesterov: "nesterov"} {
			if v, ok := st[old]; ok {
				moved[key] = v
				delete(st, old)
			}
		}
		if len(moved) == 0 {
			continue
		}
		secs := st
		if !f.inline {
			if secs, _ = st["Sections"].(map[string]any); secs == nil {
				secs = map[string]any{}
				st["Sections"] = secs
			}
		}
		d, _ := secs["diloco"].(map[string]any)
		if d == nil {
			d = map[string]any{}
			secs["diloco"] = d
		}
		maps.Copy(d, moved)
	}
}

// configKeys maps a run's configuration to nested maps keyed by config
// keys, for looking up dotted keys.
func configKeys(m *rundir.Manifest) (map[string]any, error) {
	cfg, err := ConfigOf(m)
	if err != nil {
		return nil, err
	}
	b, err := config.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	return out, yaml.Unmarshal(b, &out)
}
