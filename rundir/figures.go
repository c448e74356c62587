package rundir

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"

	"github.com/locosim/locosim/plot"
	"github.com/locosim/locosim/record"
	"github.com/locosim/locosim/trace"
)

// TimelineRounds is how many rounds the node-activity timeline shows: enough
// to see the rhythm of compute and communication, few enough to read.
const TimelineRounds = 3

// TimelineNodes caps the rows of the timeline figure.
const TimelineNodes = 72

// Plot (re)draws every figure of the run in dir from its files, into
// dir/plots, and returns the base names written. It needs evals.parquet and
// reads the other traces when present.
func Plot(dir string) ([]string, error) {
	var floor *float64
	if m, err := ReadManifest(dir); err == nil {
		floor = m.EntropyFloorNats
	}
	return plotWith(dir, floor)
}

func plotWith(dir string, floorNats *float64) ([]string, error) {
	evals, err := trace.ReadAll[record.Eval](filepath.Join(dir, EvalsFile))
	if err != nil {
		return nil, err
	}
	if len(evals) == 0 {
		return nil, fmt.Errorf("rundir: %s has no evaluations to plot", dir)
	}
	var floor *plot.RefLine
	if floorNats != nil {
		floor = &plot.RefLine{Y: *floorNats, Label: "entropy floor"}
	}
	out := filepath.Join(dir, PlotsDir)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	var written []string
	save := func(name string, f plot.Figure) error {
		if err := plot.Save(filepath.Join(out, name), f); err != nil {
			return fmt.Errorf("rundir: figure %s: %w", name, err)
		}
		written = append(written, name)
		return nil
	}

	series := func(x func(record.Eval) float64) plot.Series {
		s := plot.Series{Name: "eval loss"}
		for _, e := range evals {
			s.X = append(s.X, x(e))
			s.Y = append(s.Y, e.EvalLoss)
		}
		return s
	}
	loss := func(name, xlabel, xunit string, x func(record.Eval) float64) error {
		return save(name, plot.LineChart{
			Title: "held-out loss", XLabel: xlabel, YLabel: "loss (nats/token)", XUnit: xunit,
			Series: []plot.Series{series(x)}, Ref: floor,
		})
	}
	if err := loss("loss", "inner steps", plot.UnitNone, func(e record.Eval) float64 { return float64(e.Step) }); err != nil {
		return written, err
	}
	if evals[len(evals)-1].Round > 0 {
		if err := loss("loss_rounds", "outer round", plot.UnitNone, func(e record.Eval) float64 { return float64(e.Round) }); err != nil {
			return written, err
		}
	}
	if evals[len(evals)-1].SimTimeS > 0 {
		if err := loss("loss_time", "simulated time (s)", plot.UnitNone, func(e record.Eval) float64 { return e.SimTimeS }); err != nil {
			return written, err
		}
	}
	if evals[len(evals)-1].BytesTotal > 0 {
		if err := loss("loss_bytes", "bytes moved (all nodes)", plot.UnitBytes, func(e record.Eval) float64 { return float64(e.BytesTotal) }); err != nil {
			return written, err
		}
	}

	if err := weights(dir, save); err != nil {
		return written, err
	}

	events, err := trace.ReadAll[record.Event](filepath.Join(dir, EventsFile))
	if errors.Is(err, os.ErrNotExist) || len(events) == 0 {
		return written, nil
	}
	if err != nil {
		return written, err
	}
	if err := timeline(events, save); err != nil {
		return written, err
	}
	if err := utilization(events, save); err != nil {
		return written, err
	}
	return written, nil
}

func timeline(events []record.Event, save func(string, plot.Figure) error) error {
	var shown []record.Event
	maxNode := int64(0)
	from, to := math.Inf(1), 0.0
	for _, e := range events {
		if e.Round >= 1 && e.Round <= TimelineRounds && e.Node < TimelineNodes {
			shown = append(shown, e)
			maxNode = max(maxNode, e.Node)
			from = min(from, e.StartS)
			to = max(to, e.EndS)
		}
	}
	if len(shown) == 0 {
		return nil
	}
	rows := make([]string, maxNode+1)
	for i := range rows {
		rows[i] = strconv.Itoa(i)
	}
	return save("timeline", plot.Timeline{
		Title:    fmt.Sprintf("node activity, rounds 1-%d", TimelineRounds),
		Rows:     rows,
		Segments: plot.SegmentsFromEvents(shown),
		From:     from,
		To:       to,
	})
}

// utilization draws each node's compute time as a share of the run's span.
func utilization(events []record.Event, save func(string, plot.Figure) error) error {
	busy := map[int64]float64{}
	end := 0.0
	for _, e := range events {
		if e.Kind == record.KindCompute {
			busy[e.Node] += e.DurationS()
		}
		end = max(end, e.EndS)
	}
	if end <= 0 || len(busy) == 0 {
		return nil
	}
	nodes := make([]int64, 0, len(busy))
	for n := range busy {
		nodes = append(nodes, n)
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i] < nodes[j] })
	b := plot.BarChart{Title: "compute utilisation per node", XLabel: "node", YLabel: "share of simulated time computing"}
	mean := 0.0
	for _, n := range nodes {
		u := busy[n] / end
		b.Labels = append(b.Labels, strconv.FormatInt(n, 10))
		b.Values = append(b.Values, u)
		mean += u
	}
	b.Ref = &plot.RefLine{Y: mean / float64(len(nodes)), Label: "mean"}
	return save("utilization", b)
}

// weights draws, for a run with the incentive layer, the share of the peers'
// weight that each role holds round by round: whether the validator pays
// honest work, and how soon it stops paying each attack. Roles keep their
// colour from run to run.
func weights(dir string, save func(string, plot.Figure) error) error {
	w, err := ReadWeightShares(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	x := make([]float64, len(w.Rounds))
	for i, r := range w.Rounds {
		x[i] = float64(r)
	}
	var series []plot.Series
	drawable := false
	for _, role := range w.RolesPresent() {
		y := w.ShareOf(func(r string) bool { return r == role })
		drawable = drawable || slices.ContainsFunc(y, func(v float64) bool { return !math.IsNaN(v) })
		series = append(series, plot.Series{Name: role, X: x, Y: y, Style: &plot.Style{Color: roleColor(role)}})
	}
	if !drawable {
		return nil // no round in which any peer held weight
	}
	return save("weights", plot.LineChart{
		Title: "share of the peers' weight by role", XLabel: "validator round", YLabel: "share of the peers' weight",
		Series: series, YMin: 0, YMax: 1, Legend: plot.LegendRight,
	})
}

// roleColor is a role's colour in every figure: its place in record.Roles.
func roleColor(role string) color.Color {
	i := slices.Index(record.Roles, role)
	if i < 0 {
		return color.Gray{Y: 0x60}
	}
	return plot.Palette(i)
}
