package experiments

import (
	"bytes"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/locosim/locosim/rundir"
	"github.com/locosim/locosim/trace"
)

// indexMetrics are the columns of the index page's tables.
var indexMetrics = []string{"eval_loss", "excess_loss", "bytes_total", "sim_time_s", "round_time_s", "compute_utilization"}

// shownMetrics are indexMetrics and, in a sweep where some run has them, the
// incentive layer's metrics: other sweeps' tables stay as they were.
func shownMetrics(rows []Row) []string {
	out := slices.Clone(indexMetrics)
	for _, m := range rundir.IncentiveMetricNames {
		if slices.ContainsFunc(rows, func(r Row) bool { return !math.IsNaN(r.Metrics[m]) }) {
			out = append(out, m)
		}
	}
	return out
}

// writeIndex writes index.md: what the sweep is, its figures and its
// results, readable without opening code.
func writeIndex(dir string, plan *Plan, spec *Spec, rows []Row, all, tuned []setting, varied []string, figs []figure) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s\n\n", plan.Name)
	if d := strings.TrimSpace(spec.Description); d != "" {
		b.WriteString(d + "\n\n")
	}
	size := plan.Size
	if size == "" {
		size = "as written"
	}
	fmt.Fprintf(&b, "Size: **%s**. %d of %d runs finished; %s per setting. Varied: %s.\n\n",
		size, len(rows), len(plan.Points), seedsPerSetting(plan), codeList(varied))
	fmt.Fprintf(&b, "Files: `%s` (the spec), `%s` (one row per run), `%s/<run>/manifest.json`.\n\n", SpecFile, SummaryFile, RunsDir)
	if len(figs) > 0 {
		b.WriteString("## Figures\n\n")
		for _, f := range figs {
			fmt.Fprintf(&b, "![%s](%s)\n\n%s\n\n", f.name, filepath.ToSlash(filepath.Join(PlotsDir, f.name+".png")), f.caption)
		}
	}
	// Columns: the keys that name a setting; the summary has them all.
	shown := nameKeys(all, varied)
	metrics := shownMetrics(rows)
	if len(plan.Tune) > 0 && len(tuned) < len(all) {
		fmt.Fprintf(&b, "## Best setting over %s\n\n", codeList(plan.Tune))
		settingsTable(&b, tuned, shown, metrics)
	}
	b.WriteString("## Settings (mean ± 95 % interval over seeds)\n\n")
	settingsTable(&b, all, shown, metrics)
	b.WriteString("## Runs\n\n")
	header := append([]string{"run", "seed"}, metrics...)
	b.WriteString(tableRow(header) + tableRule(len(header)))
	for _, r := range rows {
		cells := []string{"`" + r.Run + "`", strconv.FormatUint(r.Seed, 10)}
		for _, m := range metrics {
			cells = append(cells, formatMetric(r.Metrics[m]))
		}
		b.WriteString(tableRow(cells))
	}
	b.WriteString("\n")
	return trace.WriteFileAtomic(filepath.Join(dir, IndexFile), b.Bytes())
}

// seedsPerSetting says how many seeds each setting of the plan has: one
// count, or the range when more_seeds gives some settings more.
func seedsPerSetting(plan *Plan) string {
	perSetting := map[string]int{}
	for _, p := range plan.Points {
		perSetting[describe(p.Values, 0)]++
	}
	lo, hi := 0, 0
	for _, n := range perSetting {
		if lo == 0 || n < lo {
			lo = n
		}
		hi = max(hi, n)
	}
	if lo == hi {
		return fmt.Sprintf("%d seed(s)", lo)
	}
	return fmt.Sprintf("%d to %d seeds (more where the spec's more_seeds asks)", lo, hi)
}

func settingsTable(b *bytes.Buffer, ss []setting, keys, metrics []string) {
	header := append(append([]string(nil), keys...), "seeds")
	header = append(header, metrics...)
	b.WriteString(tableRow(header) + tableRule(len(header)))
	for _, s := range ss {
		var cells []string
		for _, k := range keys {
			cells = append(cells, FormatValue(s.values[k]))
		}
		cells = append(cells, strconv.Itoa(len(s.rows)))
		for _, m := range metrics {
			mean, half := s.mean(m)
			c := formatMetric(mean)
			if len(s.rows) > 1 && !math.IsNaN(half) && half > 0 {
				c += " ± " + formatMetric(half)
			}
			cells = append(cells, c)
		}
		b.WriteString(tableRow(cells))
	}
	b.WriteString("\n")
}

func codeList(keys []string) string {
	if len(keys) == 0 {
		return "nothing"
	}
	return "`" + strings.Join(keys, "`, `") + "`"
}

func tableRow(cells []string) string {
	for i, c := range cells {
		cells[i] = strings.ReplaceAll(c, "|", "\\|")
	}
	return "| " + strings.Join(cells, " | ") + " |\n"
}

func tableRule(n int) string {
	return "|" + strings.Repeat(" --- |", n) + "\n"
}

func formatMetric(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}
