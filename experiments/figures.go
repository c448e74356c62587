package experiments

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/locosim/locosim/plot"
	"github.com/locosim/locosim/record"
	"github.com/locosim/locosim/rundir"
	"github.com/locosim/locosim/trace"
	"gonum.org/v1/gonum/stat"
)

var nan = math.NaN()

// MaxCurves caps the series of a loss-curve figure; beyond it the settings
// with the lowest final loss are drawn.
const MaxCurves = 10

// setting is the runs of one point of the grid across seeds.
type setting struct {
	key    string         // the varied values, formatted
	values map[string]any // every plan key's value
	rows   []Row
}

func (s setting) mean(metric string) (mean, half float64) {
	var xs []float64
	for _, r := range s.rows {
		if v := r.Metrics[metric]; !math.IsNaN(v) {
			xs = append(xs, v)
		}
	}
	return meanCI(xs)
}

// meanCI is the mean and the half-width of its 95 % Student-t interval.
func meanCI(xs []float64) (mean, half float64) {
	if len(xs) == 0 {
		return nan, nan
	}
	mean = stat.Mean(xs, nil)
	if len(xs) < 2 {
		return mean, 0
	}
	band, err := plot.MeanBand("", []float64{0}, columnsOf(xs), 0.95)
	if err != nil {
		return mean, nan
	}
	return mean, band.Upper[0] - mean
}

func columnsOf(xs []float64) [][]float64 {
	out := make([][]float64, len(xs))
	for i, x := range xs {
		out[i] = []float64{x}
	}
	return out
}

// Plot rebuilds the summary of the sweep in dir, draws its figures into
// dir/plots and writes dir/index.md. It returns the figures' base names.
func Plot(dir string) ([]string, error) {
	plan, err := ReadPlan(dir)
	if err != nil {
		return nil, err
	}
	rows, err := Summarize(dir)
	if err != nil {
		return nil, err
	}
	spec := &Spec{}
	if b, err := os.ReadFile(filepath.Join(dir, SpecFile)); err == nil {
		if s, err := Parse(b); err == nil {
			spec = s
		}
	}
	varied := variedKeys(plan.Keys, rows)
	all := settings(rows, plan.Keys, varied)
	sortSettings(all, append(nameKeys(all, varied), varied...), plan.Axes)
	tuned := tune(all, spec.Figures.Tune, varied)
	shownKeys := nameKeys(tuned, without(varied, spec.Figures.Tune))
	for i := range tuned {
		tuned[i].key = label(tuned[i].values, shownKeys)
	}

	out := filepath.Join(dir, PlotsDir)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	var figs []figure
	save := func(name, caption string, f plot.Figure) error {
		if err := plot.Save(filepath.Join(out, name), f); err != nil {
			return fmt.Errorf("sweep figure %s: %w", name, err)
		}
		figs = append(figs, figure{name, caption})
		return nil
	}
	if len(rows) > 0 {
		if err := drawFigures(dir, spec.Figures, tuned, all, shownKeys, plan.Axes, save); err != nil {
			return names(figs), err
		}
	}
	if err := writeIndex(dir, plan, spec, rows, all, tuned, varied, figs); err != nil {
		return names(figs), err
	}
	return names(figs), nil
}

type figure struct{ name, caption string }

func names(fs []figure) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.name)
	}
	return out
}

// variedKeys are the keys whose value differs between runs.
func variedKeys(keys []string, rows []Row) []string {
	var out []string
	for _, k := range keys {
		seen := map[string]bool{}
		for _, r := range rows {
			seen[FormatValue(r.Values[k])] = true
		}
		if len(seen) > 1 {
			out = append(out, k)
		}
	}
	return out
}

func without(keys, drop []string) []string {
	var out []string
	for _, k := range keys {
		if !contains(drop, k) {
			out = append(out, k)
		}
	}
	return out
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func label(values map[string]any, keys []string) string {
	var parts []string
	for _, k := range keys {
		parts = append(parts, shortKey(k)+"="+FormatValue(values[k]))
	}
	if len(parts) == 0 {
		return "all runs"
	}
	return strings.Join(parts, " ")
}

// shortKey drops a key's section: strategy.density reads as density.
func shortKey(k string) string {
	if i := strings.LastIndex(k, "."); i >= 0 {
		return k[i+1:]
	}
	return k
}

// settings groups rows that differ only in seed, in run-name order.
func settings(rows []Row, keys, varied []string) []setting {
	var out []setting
	idx := map[string]int{}
	for _, r := range rows {
		k := label(r.Values, varied)
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, setting{key: k, values: r.Values})
		}
		out[i].rows = append(out[i].rows, r)
	}
	return out
}

// tune keeps, among settings that differ only in the tune keys, the one
// with the lowest mean final eval loss.
func tune(all []setting, keys, varied []string) []setting {
	if len(keys) == 0 {
		return all
	}
	rest := without(varied, keys)
	best := map[string]int{}
	var order []string
	for i, s := range all {
		k := label(s.values, rest)
		j, ok := best[k]
		if !ok {
			order = append(order, k)
			best[k] = i
			continue
		}
		mi, _ := s.mean("eval_loss")
		mj, _ := all[j].mean("eval_loss")
		if mi < mj || math.IsNaN(mj) {
			best[k] = i
		}
	}
	out := make([]setting, 0, len(order))
	for _, k := range order {
		s := all[best[k]]
		s.key = k
		out = append(out, s)
	}
	return out
}

func matches(s setting, where map[string]any) bool {
	for k, v := range where {
		if FormatValue(s.values[k]) != FormatValue(scalar(v)) {
			return false
		}
	}
	return true
}

func filter(ss []setting, where map[string]any) []setting {
	var out []setting
	for _, s := range ss {
		if matches(s, where) {
			out = append(out, s)
		}
	}
	return out
}

func drawFigures(dir string, f Figures, tuned, all []setting, shown []string, axes map[string][]string, save func(string, string, plot.Figure) error) error {
	tuneNote := ""
	if len(f.Tune) > 0 {
		tuneNote = fmt.Sprintf(" (best over %s per setting)", strings.Join(f.Tune, ", "))
	}
	for i, h := range f.heatmaps() {
		var xs, ys []string
		var vs []float64
		for _, s := range filter(tuned, h.Where) {
			for _, r := range s.rows {
				xs = append(xs, FormatValue(r.Values[h.X]))
				ys = append(ys, FormatValue(r.Values[h.Y]))
				vs = append(vs, r.Metrics[h.Metric])
			}
		}
		if len(vs) == 0 {
			continue
		}
		xk, yk, grid, err := plot.Pivot(xs, ys, vs)
		if err != nil {
			return err
		}
		xk, yk, grid = inAxisOrder(xk, yk, grid, axes[h.X], axes[h.Y])
		name := "heatmap"
		if i > 0 {
			name += "_" + h.Metric
		}
		if err := save(name, "Mean final "+h.Metric+" over "+h.X+" and "+h.Y+tuneNote+whereNote(h.Where)+".", plot.Heatmap{
			Title: "final " + h.Metric, XLabel: h.X, YLabel: h.Y, ValueLabel: metricUnit(h.Metric),
			XKeys: xk, YKeys: yk, Values: grid, CellFormat: "%.4g",
		}); err != nil {
			return err
		}
	}
	if fl := f.Final; fl != nil {
		picked := filter(tuned, fl.Where)
		// Keys that move with x (zipped with it) label no line.
		var lines []string
		for _, k := range without(shown, []string{fl.X}) {
			if !dependsOn(picked, k, fl.X) {
				lines = append(lines, k)
			}
		}
		groups := map[string][]setting{}
		var order []string
		for _, s := range picked {
			k := label(s.values, lines)
			if _, ok := groups[k]; !ok {
				order = append(order, k)
			}
			groups[k] = append(groups[k], s)
		}
		var series []plot.Series
		for _, k := range order {
			ss := groups[k]
			sort.Slice(ss, func(i, j int) bool { return num(ss[i].values[fl.X]) < num(ss[j].values[fl.X]) })
			ser := plot.Series{Name: k}
			for _, s := range ss {
				m, h := s.mean("eval_loss")
				ser.X = append(ser.X, num(s.values[fl.X]))
				ser.Y = append(ser.Y, m)
				ser.Lower = append(ser.Lower, m-h)
				ser.Upper = append(ser.Upper, m+h)
			}
			series = append(series, ser)
		}
		if len(series) > 0 {
			if err := save("final", "Mean final eval loss against "+fl.X+", 95 % interval over seeds"+tuneNote+whereNote(fl.Where)+".", plot.LineChart{
				Title: "final eval loss", XLabel: fl.X, YLabel: "loss (nats/token)", LogX: fl.LogX, Series: series,
			}); err != nil {
				return err
			}
		}
	}
	if f.Incentives != nil {
		if err := drawIncentives(dir, *f.Incentives, tuned, axes, save); err != nil {
			return err
		}
	}
	var where map[string]any
	if f.Curves != nil {
		where = f.Curves.Where
	}
	curves := filter(tuned, where)
	note := ""
	if len(curves) > MaxCurves {
		// Keep the best, drawn in the settings' order.
		best := append([]setting(nil), curves...)
		sort.SliceStable(best, func(i, j int) bool {
			a, _ := best[i].mean("eval_loss")
			b, _ := best[j].mean("eval_loss")
			return a < b
		})
		cut := map[string]bool{}
		for _, s := range best[MaxCurves:] {
			cut[s.key] = true
		}
		note = fmt.Sprintf("; the %d settings of lowest final loss of %d", MaxCurves, len(curves))
		var kept []setting
		for _, s := range curves {
			if !cut[s.key] {
				kept = append(kept, s)
			}
		}
		curves = kept
	}
	for _, c := range []struct {
		name, what string
		axis       plot.EvalAxis
		unit       string
	}{{"loss_bytes", "bytes moved", plot.ByBytes, plot.UnitBytes}, {"loss_time", "simulated time", plot.BySimTime, plot.UnitNone}} {
		var series []plot.Series
		for _, s := range curves {
			ser, err := curve(dir, s, c.axis)
			if err != nil {
				return err
			}
			if len(ser.X) > 0 {
				series = append(series, ser)
			}
		}
		if len(series) == 0 {
			continue
		}
		if err := save(c.name, "Eval loss against "+c.what+", mean and 95 % band over seeds"+tuneNote+whereNote(where)+note+".", plot.LineChart{
			Title: "eval loss against " + c.what, XLabel: c.axis.Label(), YLabel: "loss (nats/token)",
			XUnit: c.unit, LogX: c.axis == plot.ByBytes, Series: series,
		}); err != nil {
			return err
		}
	}
	var pts []plot.Point
	for _, s := range all {
		x, _ := s.mean("bytes_total")
		y, _ := s.mean("eval_loss")
		pts = append(pts, plot.Point{X: x, Y: y, Group: s.rows[0].Strategy})
	}
	return save("pareto", "Mean final eval loss against bytes moved, one point per setting; the line is the Pareto frontier.", plot.Pareto{
		Title: "loss against communication", XLabel: "bytes moved (all nodes)", YLabel: "final eval loss (nats/token)",
		Points: pts, LogX: true, XUnit: plot.UnitBytes,
	})
}

func whereNote(where map[string]any) string {
	if len(where) == 0 {
		return ""
	}
	var parts []string
	for _, k := range sortedKeys(where) {
		parts = append(parts, k+" = "+FormatValue(scalar(where[k])))
	}
	return ", runs with " + strings.Join(parts, ", ")
}

func num(v any) float64 {
	if f, ok := v.(float64); ok {
		return f
	}
	return nan
}

// curve is a setting's eval loss against an axis, averaged over seeds on the
// first seed's x values.
func curve(dir string, s setting, axis plot.EvalAxis) (plot.Series, error) {
	var xs0 []float64
	var repeats [][]float64
	for _, r := range s.rows {
		evals, err := trace.ReadAll[record.Eval](filepath.Join(dir, RunsDir, r.Run, rundir.EvalsFile))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return plot.Series{}, err
		}
		ser, err := plot.EvalSeries(s.key, evals, axis)
		if err != nil {
			return plot.Series{}, err
		}
		if xs0 == nil {
			xs0 = ser.X
		}
		y, err := plot.Resample(ser.X, ser.Y, xs0)
		if err != nil {
			return plot.Series{}, err
		}
		repeats = append(repeats, y)
	}
	if len(repeats) == 0 {
		return plot.Series{}, nil
	}
	return plot.MeanBand(s.key, xs0, repeats, 0.95)
}

// dependsOn reports whether, among ss, the value of k is a function of the
// value of x.
func dependsOn(ss []setting, k, x string) bool {
	seen := map[string]string{}
	for _, s := range ss {
		xv, kv := FormatValue(s.values[x]), FormatValue(s.values[k])
		if prev, ok := seen[xv]; ok && prev != kv {
			return false
		}
		seen[xv] = kv
	}
	return true
}

func metricUnit(m string) string {
	switch {
	case strings.HasSuffix(m, "_loss"):
		return "nats/token"
	case strings.HasSuffix(m, "_s"):
		return "seconds"
	case strings.HasPrefix(m, "bytes"):
		return "bytes"
	}
	return m
}

// nameKeys drops from keys those whose value, among ss, follows from
// another kept key's (the outer rounds zipped with H, the bandwidths a
// network label stands for), so series names stay short. Plain keys go
// before labels; strategy.kind always stays.
// measuring are the keys that change how a run is evaluated, not what it
// trains.
var measuring = map[string]bool{"train.eval_every": true, "train.eval_batches": true, "train.eval_nodes": true}

func nameKeys(ss []setting, keys []string) []string {
	// Least preferred first: keys that only say how a run is measured
	// (which vary with others only to keep evaluations comparable), then
	// plain keys, then labels, each in reverse order.
	var order []string
	for _, k := range slices.Backward(keys) {
		if measuring[k] {
			order = append(order, k)
		}
	}
	for _, label := range []bool{false, true} {
		for i := len(keys) - 1; i >= 0; i-- {
			if k := keys[i]; k != "strategy.kind" && !measuring[k] && strings.HasPrefix(k, LabelPrefix) == label {
				order = append(order, k)
			}
		}
	}
	kept := map[string]bool{}
	for _, k := range keys {
		kept[k] = true
	}
	for _, k := range order {
		for _, j := range keys {
			if j != k && kept[j] && dependsOn(ss, k, j) {
				kept[k] = false
				break
			}
		}
	}
	var out []string
	for _, k := range keys {
		if kept[k] {
			out = append(out, k)
		}
	}
	return out
}

// sortSettings orders settings by their values, key by key: in the order
// the spec lists them when known, else numbers by value (so H = 30 comes
// before H = 100) and strings alphabetically.
func sortSettings(ss []setting, keys []string, axes map[string][]string) {
	rank := map[string]map[string]int{}
	for k, vs := range axes {
		rank[k] = map[string]int{}
		for i, v := range vs {
			rank[k][v] = i
		}
	}
	sort.SliceStable(ss, func(i, j int) bool {
		for _, k := range keys {
			a, b := ss[i].values[k], ss[j].values[k]
			sa, sb := FormatValue(a), FormatValue(b)
			if sa == sb {
				continue
			}
			ra, aok := rank[k][sa]
			rb, bok := rank[k][sb]
			if aok && bok {
				return ra < rb
			}
			fa, aNum := a.(float64)
			fb, bNum := b.(float64)
			if aNum && bNum {
				return fa < fb
			}
			return sa < sb
		}
		return false
	})
}

// inAxisOrder reorders a pivoted grid's columns and rows to follow the
// spec's order of values where every key is listed there.
func inAxisOrder(xk, yk []string, grid [][]float64, xAxis, yAxis []string) ([]string, []string, [][]float64) {
	perm := func(keys, axis []string) []int {
		rank := map[string]int{}
		for i, v := range axis {
			rank[v] = i
		}
		idx := make([]int, len(keys))
		for i, k := range keys {
			if _, ok := rank[k]; !ok {
				for i := range idx {
					idx[i] = i
				}
				return idx
			}
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return rank[keys[idx[a]]] < rank[keys[idx[b]]] })
		return idx
	}
	px, py := perm(xk, xAxis), perm(yk, yAxis)
	nx, ny := make([]string, len(xk)), make([]string, len(yk))
	ng := make([][]float64, len(yk))
	for r, pr := range py {
		ny[r] = yk[pr]
		ng[r] = make([]float64, len(xk))
		for c, pc := range px {
			ng[r][c] = grid[pr][pc]
		}
	}
	for c, pc := range px {
		nx[c] = xk[pc]
	}
	return nx, ny, ng
}
