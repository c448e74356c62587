// Package claims sets the published claims that locosim's canonical
// experiments test against the results of those experiments, and writes the
// verdicts to results/CLAIMS.md.
//
// A Claim names an experiment directory (results/<experiment>), two
// settings A and B picked from the points of its plan.json by their values,
// a metric (default the final eval_loss of each run's manifest.json), and a
// kind of comparison with a margin in the metric's unit:
//
//   - NoWorse: A is no worse than B by more than the margin;
//   - Better: A is better than B.
//
// Runs of A and B are paired by seed: in this simulator the seed fixes the
// data order, the node profiles and the network, so the difference
// d_s = metric(A_s) − metric(B_s) cancels what the seed alone decides
// (common random numbers). The verdict comes from the 95 % Student-t
// interval of mean(d) over seeds (see Decide); fewer than 2 paired seeds
// is inconclusive. The same verdict is then computed at half each run's
// length, from the evaluation in its evals.parquet whose step is closest
// to half its last step: a claim is "stable" when both verdicts agree.
//
// Write evaluates Registry against a results directory and writes
// CLAIMS.md there; a claim whose experiment or settings are absent says
// "not run".
package claims

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/locosim/locosim/experiments"
	"github.com/locosim/locosim/rundir"
	"github.com/locosim/locosim/trace"
)

// File is the report's name in the results directory.
const File = "CLAIMS.md"

// Kind is how A is compared with B.
type Kind int

const (
	// NoWorse: the upper end of the interval of A − B is below +Margin.
	NoWorse Kind = iota + 1
	// Better: the upper end of the interval of A − B is below 0.
	Better
)

func (k Kind) String() string {
	switch k {
	case NoWorse:
		return "no worse than"
	case Better:
		return "better than"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Verdict is the outcome for one claim.
type Verdict string

// The verdicts, in the order the report counts them.
const (
	Reproduced    Verdict = "reproduced"
	NotReproduced Verdict = "not reproduced"
	Inconclusive  Verdict = "inconclusive"
	NotRun        Verdict = "not run"
)

// Verdicts lists every verdict in report order.
var Verdicts = []Verdict{Reproduced, NotReproduced, Inconclusive, NotRun}

// Metric is what a claim compares.
type Metric struct {
	// Name is a final metric of the manifest (eval_loss, sim_time_s,
	// compute_utilization, ...) or, when the manifest lacks it, a numeric
	// column of evals.parquet read at its last row (weight_spread, ...).
	// The half-length verdict reads the same column of evals.parquet.
	Name string
	// Unit follows numbers in the report ("nats", "s", "").
	Unit string
	// HigherIsBetter flips the comparison (compute utilisation).
	HigherIsBetter bool
}

// EvalLoss is the default metric: held-out loss, nats per token.
var EvalLoss = Metric{Name: "eval_loss", Unit: "nats"}

// Side picks one setting of an experiment.
type Side struct {
	// Label names the setting in the report.
	Label string
	// Where holds plan values the setting's points must have (compared as
	// formatted by experiments.FormatValue, so 30 matches 30.0).
	Where map[string]any
	// Tune lists keys over which several matching settings may differ;
	// the one with the best mean final metric is kept ("DiLoCo with its
	// outer learning rate tuned"). Without Tune, more than one matching
	// setting is an error in the claim.
	Tune []string
}

// Claim is one published claim set against one experiment.
type Claim struct {
	ID string
	// Claim is the claim as published, one sentence; Source where.
	Claim, Source string
	// Experiment is the results directory's name (results/<Experiment>).
	Experiment string
	// Setting says, in words, what of the claim this experiment tests.
	Setting string
	A, B    Side
	// Metric defaults to EvalLoss.
	Metric Metric
	Kind   Kind
	// Margin is in the metric's unit; used by NoWorse.
	Margin float64
	// Show lists other final metrics whose means per side the report
	// gives for context (bytes_total when the settings move different
	// amounts of data, say).
	Show []string
	// Figure is a path relative to the results directory.
	Figure string
	// AtEqualBytes compares at equal communication: B's metric is read off
	// its evaluations at the bytes A moved in all (bytes_total), linearly
	// interpolated, instead of at its end; at half length, at the bytes A
	// had moved by then. A seed whose B run never moved that much drops out.
	AtEqualBytes bool
}

func (c Claim) metric() Metric {
	if c.Metric.Name == "" {
		return EvalLoss
	}
	return c.Metric
}

// Result is a claim's evaluation.
type Result struct {
	Claim   Claim
	Verdict Verdict
	// Effect is the interval of the paired differences A − B at the end
	// of the runs; MeanA and MeanB the paired runs' means.
	Effect       Interval
	MeanA, MeanB float64
	Seeds        []uint64
	// Unpaired are seeds run on one side only (dropped).
	Unpaired []uint64
	// Half is the verdict at half length, HalfEffect its interval;
	// Half is "" when no run's evals hold the metric.
	Half       Verdict
	HalfEffect Interval
	// TunedA and TunedB say which setting tuning kept ("" without Tune).
	TunedA, TunedB string
	// Shown holds the means of Claim.Show per side: [A, B].
	Shown map[string][2]float64
	// Note says why a claim is not run.
	Note string
}

// Stability is "stable" when the verdicts at full and half length agree,
// "not yet stable" when they do not, "" when there is nothing to compare.
func (r Result) Stability() string {
	switch {
	case r.Verdict == NotRun || r.Half == "":
		return ""
	case r.Half == r.Verdict:
		return "stable"
	}
	return "not yet stable"
}

// Write evaluates Registry against resultsDir, writes resultsDir/CLAIMS.md
// and puts each experiment's verdicts at the end of its index.md.
func Write(resultsDir string) error {
	rs, err := WriteFile(resultsDir, filepath.Join(resultsDir, File), Registry)
	if err != nil {
		return err
	}
	return WriteIndexes(resultsDir, rs)
}

// indexMark starts the verdicts section locosim claims keeps at the end of
// an experiment's index.md (locosim plot rewrites the page without it).
const indexMark = "<!-- verdicts: written by locosim claims; do not edit below -->"

// WriteIndexes replaces, in the index.md of every experiment rs has claims
// for, the verdicts section: each claim's effect and verdict at the runs'
// length and at half of it, so the page says whether its verdicts are
// stable.
func WriteIndexes(resultsDir string, rs []Result) error {
	var order []string
	by := map[string][]Result{}
	for _, r := range rs {
		e := r.Claim.Experiment
		if _, ok := by[e]; !ok {
			order = append(order, e)
		}
		by[e] = append(by[e], r)
	}
	for _, e := range order {
		path := filepath.Join(resultsDir, e, "index.md")
		page, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue // not run
		}
		if err != nil {
			return err
		}
		if i := bytes.Index(page, []byte(indexMark)); i >= 0 {
			page = page[:i]
		}
		page = append(bytes.TrimRight(page, "\n"), "\n\n"...)
		page = append(page, indexSection(by[e])...)
		if err := trace.WriteFileAtomic(path, page); err != nil {
			return err
		}
	}
	return nil
}

func indexSection(rs []Result) []byte {
	var b bytes.Buffer
	b.WriteString(indexMark + "\n")
	b.WriteString(`## Verdicts

The published claims this experiment tests, from [CLAIMS.md](../CLAIMS.md)
(paired by seed, 95 % intervals), at the runs' length and at half of it:
a verdict that is the same at both is *stable*.

| claim | A − B at the end | verdict | at half length |
| --- | --- | --- | --- |
`)
	for _, r := range rs {
		m := r.Claim.metric()
		effect, half := "–", "–"
		if r.Effect.N > 0 {
			effect = formatEffect(r.Effect, m.Unit)
		}
		if r.Half != "" {
			half = fmt.Sprintf("%s, %s (%s)", r.Half, formatEffect(r.HalfEffect, m.Unit), r.Stability())
		}
		b.WriteString(tableRow("`"+r.Claim.ID+"`: "+r.Claim.Claim, effect, string(r.Verdict), half))
	}
	return b.Bytes()
}

// WriteFile evaluates cs against resultsDir and writes the report to path
// atomically (a temporary file in the same directory, then a rename);
// figure links are relative to path's directory.
func WriteFile(resultsDir, path string, cs []Claim) ([]Result, error) {
	rs, err := Evaluate(resultsDir, cs)
	if err != nil {
		return nil, err
	}
	rel, err := filepath.Rel(filepath.Dir(path), resultsDir)
	if err != nil {
		rel = resultsDir
	}
	return rs, trace.WriteFileAtomic(path, Markdown(rs, filepath.ToSlash(rel)))
}

// Count is how many results have each verdict.
func Count(rs []Result) map[Verdict]int {
	n := map[Verdict]int{}
	for _, r := range rs {
		n[r.Verdict]++
	}
	return n
}

// Evaluate evaluates each claim against the experiments under resultsDir,
// in the order given. A missing experiment or setting gives NotRun; an
// unreadable file or an ambiguous claim is an error.
func Evaluate(resultsDir string, cs []Claim) ([]Result, error) {
	exps := map[string]*experiment{}
	var out []Result
	for _, c := range cs {
		e, ok := exps[c.Experiment]
		if !ok {
			var err error
			if e, err = readExperiment(filepath.Join(resultsDir, c.Experiment)); err != nil {
				return nil, fmt.Errorf("claims: %s: %w", c.ID, err)
			}
			exps[c.Experiment] = e
		}
		r, err := evaluate(c, e)
		if err != nil {
			return nil, fmt.Errorf("claims: %s: %w", c.ID, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// experiment is a sweep directory's finished runs grouped into settings;
// nil when the directory has no plan.
type experiment struct {
	dir      string
	settings []*setting
}

// setting is the finished runs of one point of a plan, by seed.
type setting struct {
	values map[string]any
	runs   map[uint64]*run
}

type run struct {
	dir   string
	final map[string]float64
	evals *evals
	read  bool // evals read (or found missing)
}

func readExperiment(dir string) (*experiment, error) {
	plan, err := experiments.ReadPlan(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	e := &experiment{dir: dir}
	byKey := map[string]*setting{}
	for _, p := range plan.Points {
		rd := filepath.Join(dir, experiments.RunsDir, p.Name)
		m, err := rundir.ReadManifest(rd)
		if errors.Is(err, fs.ErrNotExist) {
			continue // not finished
		}
		if err != nil {
			return nil, err
		}
		k := valuesKey(p.Values)
		s, ok := byKey[k]
		if !ok {
			s = &setting{values: p.Values, runs: map[uint64]*run{}}
			byKey[k] = s
			e.settings = append(e.settings, s)
		}
		if _, dup := s.runs[p.Seed]; !dup {
			s.runs[p.Seed] = &run{dir: rd, final: m.Final}
		}
	}
	sort.Slice(e.settings, func(i, j int) bool {
		return valuesKey(e.settings[i].values) < valuesKey(e.settings[j].values)
	})
	return e, nil
}

func valuesKey(v map[string]any) string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s,", k, experiments.FormatValue(v[k]))
	}
	return b.String()
}

// evals is a run's evals.parquet by column, rows sorted by step.
type evals struct {
	steps []int64
	cols  map[string][]float64
}

// evalsOf reads a run's evaluations once, by column name, so a file
// written before a column existed still gives the others; a missing file
// gives none.
func (r *run) evalsOf() (*evals, error) {
	if r.read {
		return r.evals, nil
	}
	r.read = true
	cols, err := trace.ReadTable(filepath.Join(r.dir, rundir.EvalsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	step, ok := trace.ColumnByName(cols, "step")
	steps, isInt := step.Values.([]int64)
	if !ok || !isInt || len(steps) == 0 {
		return nil, nil
	}
	order := make([]int, len(steps))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool { return steps[order[i]] < steps[order[j]] })
	e := &evals{cols: map[string][]float64{}}
	for _, i := range order {
		e.steps = append(e.steps, steps[i])
	}
	for _, c := range cols {
		var xs []float64
		switch v := c.Values.(type) {
		case []float64:
			for _, i := range order {
				xs = append(xs, v[i])
			}
		case []int64:
			for _, i := range order {
				xs = append(xs, float64(v[i]))
			}
		default:
			continue
		}
		e.cols[c.Name] = xs
	}
	r.evals = e
	return e, nil
}

// finalValue is the run's final metric: from the manifest, else the last
// evaluation's column; NaN when neither has it.
func (r *run) finalValue(name string) (float64, error) {
	if v, ok := r.final[name]; ok {
		return v, nil
	}
	e, err := r.evalsOf()
	if err != nil || e == nil || e.cols[name] == nil {
		return math.NaN(), err
	}
	return e.cols[name][len(e.steps)-1], nil
}

// atBytes is the metric where the run's bytes_total reaches x, linearly
// interpolated between the evaluations around it; NaN when the run never
// moved x bytes or its evals lack a column.
func (r *run) atBytes(name string, x float64) (float64, error) {
	e, err := r.evalsOf()
	if err != nil || e == nil || e.cols[name] == nil || e.cols["bytes_total"] == nil || math.IsNaN(x) {
		return math.NaN(), err
	}
	return interpolateAt(e.cols["bytes_total"], e.cols[name], x), nil
}

// interpolateAt returns y at x along the curve (xs ascending), linear
// between the points around x; NaN outside the curve.
func interpolateAt(xs, ys []float64, x float64) float64 {
	i := sort.SearchFloat64s(xs, x)
	switch {
	case i == len(xs):
		return math.NaN()
	case xs[i] == x:
		return ys[i]
	case i == 0:
		return math.NaN()
	}
	f := (x - xs[i-1]) / (xs[i] - xs[i-1])
	return ys[i-1] + f*(ys[i]-ys[i-1])
}

// halfValue is the metric at the evaluation whose step is closest to half
// the run's last step; NaN when the evals do not hold the metric.
func (r *run) halfValue(name string) (float64, error) {
	e, err := r.evalsOf()
	if err != nil || e == nil || e.cols[name] == nil {
		return math.NaN(), err
	}
	return e.cols[name][HalfIndex(e.steps)], nil
}

// HalfIndex is the index of the step closest to half the last of steps
// (ascending), the earlier of two equally close; -1 when there is none.
func HalfIndex(steps []int64) int {
	if len(steps) == 0 {
		return -1
	}
	half := float64(steps[len(steps)-1]) / 2
	best := 0
	for i, s := range steps {
		if math.Abs(float64(s)-half) < math.Abs(float64(steps[best])-half) {
			best = i
		}
	}
	return best
}

func matches(values, where map[string]any) bool {
	for k, want := range where {
		got, ok := values[k]
		if !ok || experiments.FormatValue(got) != experiments.FormatValue(want) {
			return false
		}
	}
	return true
}

// pick finds a side's setting; nil when none matches.
func pick(e *experiment, side Side, m Metric) (*setting, string, error) {
	var cands []*setting
	for _, s := range e.settings {
		if matches(s.values, side.Where) {
			cands = append(cands, s)
		}
	}
	switch {
	case len(cands) == 0:
		return nil, "", nil
	case len(cands) > 1 && len(side.Tune) == 0:
		return nil, "", fmt.Errorf("%d settings match %s; add keys to Where or name Tune keys", len(cands), side.Label)
	case len(side.Tune) == 0:
		return cands[0], "", nil
	}
	var best *setting
	bestMean := math.NaN()
	for _, s := range cands {
		var xs []float64
		for _, seed := range sortedSeeds(s.runs) {
			v, err := s.runs[seed].finalValue(m.Name)
			if err != nil {
				return nil, "", err
			}
			if !math.IsNaN(v) {
				xs = append(xs, v)
			}
		}
		mean := MeanInterval(xs).Mean
		if m.HigherIsBetter {
			mean = -mean
		}
		if best == nil || (!math.IsNaN(mean) && (math.IsNaN(bestMean) || mean < bestMean)) {
			best, bestMean = s, mean
		}
	}
	var parts []string
	for _, k := range side.Tune {
		parts = append(parts, shortKey(k)+" = "+experiments.FormatValue(best.values[k]))
	}
	if len(side.Tune) > 1 {
		return best, fmt.Sprintf("%s (best of %d by mean final %s)", strings.Join(parts, ", "), len(cands), m.Name), nil
	}
	// One key: name the values tried, so the report says what "tuned"
	// covered without a label that goes stale when the grid grows.
	var tried []string
	seen := map[string]bool{}
	for _, s := range cands {
		v := experiments.FormatValue(s.values[side.Tune[0]])
		if !seen[v] {
			seen[v] = true
			tried = append(tried, v)
		}
	}
	return best, fmt.Sprintf("%s (best of %s by mean final %s)", parts[0], strings.Join(tried, ", "), m.Name), nil
}

func sortedSeeds(runs map[uint64]*run) []uint64 {
	out := make([]uint64, 0, len(runs))
	for s := range runs {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func shortKey(k string) string {
	if i := strings.LastIndex(k, "."); i >= 0 {
		return k[i+1:]
	}
	return k
}

func evaluate(c Claim, e *experiment) (Result, error) {
	r := Result{Claim: c, Verdict: NotRun, MeanA: math.NaN(), MeanB: math.NaN()}
	if e == nil {
		r.Note = "no " + c.Experiment + "/" + experiments.PlanFile
		return r, nil
	}
	m := c.metric()
	a, tunedA, err := pick(e, c.A, m)
	if err != nil {
		return r, err
	}
	b, tunedB, err := pick(e, c.B, m)
	if err != nil {
		return r, err
	}
	var missing []string
	if a == nil {
		missing = append(missing, "A ("+c.A.Label+")")
	}
	if b == nil {
		missing = append(missing, "B ("+c.B.Label+")")
	}
	if len(missing) > 0 {
		r.Note = "no finished run of " + strings.Join(missing, " or ") + " in " + c.Experiment
		return r, nil
	}
	r.TunedA, r.TunedB = tunedA, tunedB

	values := func(s *setting, f func(*run, string) (float64, error), name string) (map[uint64]float64, error) {
		out := map[uint64]float64{}
		for seed, rn := range s.runs {
			v, err := f(rn, name)
			if err != nil {
				return nil, err
			}
			out[seed] = v
		}
		return out, nil
	}
	va, err := values(a, (*run).finalValue, m.Name)
	if err != nil {
		return r, err
	}
	vb, err := values(b, (*run).finalValue, m.Name)
	if err != nil {
		return r, err
	}
	// At equal bytes: B where it had moved what A moved (at A's end, or at
	// A's half-length evaluation).
	atBytesOfA := func(aBytes func(*run, string) (float64, error)) (map[uint64]float64, error) {
		out := map[uint64]float64{}
		for seed, rb := range b.runs {
			ra, ok := a.runs[seed]
			if !ok {
				continue
			}
			x, err := aBytes(ra, "bytes_total")
			if err != nil {
				return nil, err
			}
			v, err := rb.atBytes(m.Name, x)
			if err != nil {
				return nil, err
			}
			if !math.IsNaN(v) {
				out[seed] = v
			}
		}
		return out, nil
	}
	if c.AtEqualBytes {
		if vb, err = atBytesOfA((*run).finalValue); err != nil {
			return r, err
		}
	}
	seeds, d, unpaired := Pair(va, vb)
	r.Seeds, r.Unpaired = seeds, unpaired
	r.Effect = MeanInterval(d)
	r.MeanA, r.MeanB = meanOver(va, seeds), meanOver(vb, seeds)
	r.Verdict = Decide(c.Kind, c.Margin, m.HigherIsBetter, r.Effect)

	ha, err := values(a, (*run).halfValue, m.Name)
	if err != nil {
		return r, err
	}
	hb, err := values(b, (*run).halfValue, m.Name)
	if err != nil {
		return r, err
	}
	if c.AtEqualBytes {
		if hb, err = atBytesOfA((*run).halfValue); err != nil {
			return r, err
		}
	}
	if _, hd, _ := Pair(ha, hb); len(hd) > 0 {
		r.HalfEffect = MeanInterval(hd)
		r.Half = Decide(c.Kind, c.Margin, m.HigherIsBetter, r.HalfEffect)
	}

	for _, name := range c.Show {
		sa, err := values(a, (*run).finalValue, name)
		if err != nil {
			return r, err
		}
		sb, err := values(b, (*run).finalValue, name)
		if err != nil {
			return r, err
		}
		if r.Shown == nil {
			r.Shown = map[string][2]float64{}
		}
		r.Shown[name] = [2]float64{meanOver(sa, seeds), meanOver(sb, seeds)}
	}
	return r, nil
}

func meanOver(v map[uint64]float64, seeds []uint64) float64 {
	if len(seeds) == 0 {
		return math.NaN()
	}
	var xs []float64
	for _, s := range seeds {
		xs = append(xs, v[s])
	}
	return MeanInterval(xs).Mean
}

// Markdown renders results as the CLAIMS.md page; figure links are
// prefixed with linkDir (the results directory relative to the page).
func Markdown(rs []Result, linkDir string) []byte {
	var b bytes.Buffer
	b.WriteString(`# Published claims against these results

Each row sets one published claim against one canonical experiment in this
directory: two settings A and B of the experiment, one metric (final
` + "`eval_loss`" + `, nats per token, unless the row names another), and a
comparison. Runs are paired by seed: the same seed fixes the data order, the
node profiles and the network in every setting, so each seed gives one
difference d = metric(A) − metric(B), and the effect is the mean of d with
its 95 % Student-t interval over the paired seeds (t quantile for n − 1
degrees of freedom; with 2 seeds that is 12.71 × sd / √2, so 2-seed
intervals are wide). Seeds run on one side only are dropped.

- **no worse than** (margin m): *reproduced* when the upper end of the
  interval is below +m, *not reproduced* when its lower end is above +m.
- **better than**: *reproduced* when the upper end is below 0, *not
  reproduced* when the lower end is above 0.
- Otherwise, or with fewer than 2 paired seeds (3 or more are asked for),
  *inconclusive*; *not run* when the experiment or a setting is absent.
- For a metric where higher is better (compute utilisation) the comparison
  is mirrored; the effect shown is still A − B.
- A side "tuned" over a key keeps the setting with the best mean final
  metric over the same seeds: this favours that side (the baseline), so it
  makes "no worse than" harder to reproduce, not easier.
- **Stability**: the same verdict computed at half each run's length (the
  evaluation in ` + "`evals.parquet`" + ` whose step is closest to half the last step,
  the same settings): *stable* when both verdicts agree, *not yet stable*
  otherwise, – when the metric has no curve.

Made by ` + "`locosim claims`" + ` from each experiment's ` + "`plan.json`" + `,
` + "`runs/*/manifest.json`" + ` and ` + "`runs/*/evals.parquet`" + `.

`)
	n := Count(rs)
	var counts []string
	for _, v := range Verdicts {
		counts = append(counts, fmt.Sprintf("%d %s", n[v], v))
	}
	fmt.Fprintf(&b, "%d claims: %s.\n\n", len(rs), strings.Join(counts, ", "))

	b.WriteString("| claim (source) | our setting | measured effect A − B | verdict | stability | figure |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- |\n")
	for _, r := range rs {
		c := r.Claim
		m := c.metric()
		claim := fmt.Sprintf("**%s**: %s (%s)", c.ID, c.Claim, c.Source)
		comparison := fmt.Sprintf("A %s B", c.Kind)
		if c.Kind == NoWorse {
			comparison += " by more than " + formatNumber(c.Margin, m.Unit)
		}
		if m.Name != EvalLoss.Name {
			comparison += " in `" + m.Name + "`"
			if m.HigherIsBetter {
				comparison += " (higher is better)"
			}
		}
		parts := []string{c.Setting, "A: " + c.A.Label + ".", "B: " + c.B.Label + "."}
		if r.TunedA != "" {
			parts = append(parts, "A tuned: "+r.TunedA+".")
		}
		if r.TunedB != "" {
			parts = append(parts, "B tuned: "+r.TunedB+".")
		}
		parts = append(parts, "Test: "+comparison+".")
		for _, name := range c.Show {
			if v, ok := r.Shown[name]; ok {
				unit := unitOf(name)
				parts = append(parts, fmt.Sprintf("Mean `%s`: A %s, B %s.", name, formatMean(v[0], unit), formatMean(v[1], unit)))
			}
		}
		if len(r.Unpaired) > 0 {
			parts = append(parts, fmt.Sprintf("Seeds on one side only, dropped: %s.", seedList(r.Unpaired)))
		}
		effect := "–"
		verdict := string(r.Verdict)
		switch {
		case r.Verdict == NotRun:
			verdict += " (" + r.Note + ")"
		case r.Effect.N == 0:
			effect = "no paired seeds"
			verdict += " (needs ≥ 2 seeds; ≥ 3 asked)"
		case r.Effect.N < 2:
			effect = fmt.Sprintf("%s, n = 1 (A %s, B %s)", formatNumber(r.Effect.Mean, m.Unit),
				formatMean(r.MeanA, m.Unit), formatMean(r.MeanB, m.Unit))
			verdict += " (needs ≥ 2 seeds; ≥ 3 asked)"
		default:
			effect = fmt.Sprintf("%s ± %s, n = %d (A %s, B %s)", formatNumber(r.Effect.Mean, ""),
				formatNumber(r.Effect.Half, m.Unit), r.Effect.N, formatMean(r.MeanA, m.Unit), formatMean(r.MeanB, m.Unit))
		}
		stability := "–"
		if s := r.Stability(); s != "" {
			stability = fmt.Sprintf("%s (half length: %s, %s)", s, r.Half, formatEffect(r.HalfEffect, m.Unit))
		}
		figure := "–"
		if c.Figure != "" {
			link := c.Figure
			if linkDir != "" && linkDir != "." {
				link = linkDir + "/" + link
			}
			figure = fmt.Sprintf("[%s](%s)", c.Figure, link)
		}
		b.WriteString(tableRow(claim, strings.Join(parts, " "), effect, verdict, stability, figure))
	}
	return b.Bytes()
}

func formatEffect(iv Interval, unit string) string {
	if iv.N < 2 {
		return formatNumber(iv.Mean, unit) + ", n = " + strconv.Itoa(iv.N)
	}
	return formatNumber(iv.Mean, "") + " ± " + formatNumber(iv.Half, unit)
}

func unitOf(metric string) string {
	switch {
	case metric == "eval_loss", metric == "excess_loss", metric == "train_loss":
		return "nats"
	case strings.HasPrefix(metric, "bytes"):
		return "B"
	case strings.HasSuffix(metric, "_s"):
		return "s"
	}
	return ""
}

// formatNumber prints 3 significant digits (whole numbers from 1,000 up,
// TB/GB for bytes), a true minus sign, and the unit.
func formatNumber(v float64, unit string) string { return formatDigits(v, unit, 3) }

// formatMean prints a side's mean with 4 significant digits, so that two
// close means still differ on the page.
func formatMean(v float64, unit string) string { return formatDigits(v, unit, 4) }

func formatDigits(v float64, unit string, digits int) string {
	if math.IsNaN(v) {
		return "–"
	}
	var s string
	switch {
	case unit == "B" && math.Abs(v) >= 1e12:
		s, unit = strconv.FormatFloat(v/1e12, 'g', digits, 64), "TB"
	case unit == "B" && math.Abs(v) >= 1e9:
		s, unit = strconv.FormatFloat(v/1e9, 'g', digits, 64), "GB"
	case math.Abs(v) >= 1000:
		s = strconv.FormatFloat(v, 'f', 0, 64)
	default:
		s = strconv.FormatFloat(v, 'g', digits, 64)
	}
	if rest, neg := strings.CutPrefix(s, "-"); neg {
		s = "−" + rest // the exponent keeps its ASCII sign
	}
	if unit != "" {
		s += " " + unit
	}
	return s
}

func seedList(seeds []uint64) string {
	var parts []string
	for _, s := range seeds {
		parts = append(parts, strconv.FormatUint(s, 10))
	}
	return strings.Join(parts, ", ")
}

func tableRow(cells ...string) string {
	for i, c := range cells {
		cells[i] = strings.ReplaceAll(strings.ReplaceAll(c, "|", "\\|"), "\n", " ")
	}
	return "| " + strings.Join(cells, " | ") + " |\n"
}
