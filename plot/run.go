package plot

import (
	"fmt"
	"math"
	"path/filepath"
	"strconv"

	"github.com/locosim/locosim/record"
)

// EvalAxis picks the x coordinate of an evaluation for a loss curve.
type EvalAxis int

const (
	ByRound   EvalAxis = iota // outer round
	BySimTime                 // simulated seconds
	ByBytes                   // bytes moved so far, all nodes
	ByTokens                  // training tokens so far, all nodes
)

// Label is the axis label for a.
func (a EvalAxis) Label() string {
	switch a {
	case ByRound:
		return "outer round"
	case BySimTime:
		return "simulated time (s)"
	case ByBytes:
		return "bytes moved"
	case ByTokens:
		return "training tokens"
	}
	return fmt.Sprintf("EvalAxis(%d)", int(a))
}

func (a EvalAxis) of(e record.Eval) (float64, error) {
	switch a {
	case ByRound:
		return float64(e.Round), nil
	case BySimTime:
		return e.SimTimeS, nil
	case ByBytes:
		return float64(e.BytesTotal), nil
	case ByTokens:
		return float64(e.Tokens), nil
	}
	return 0, fmt.Errorf("unknown eval axis %d", int(a))
}

// EvalSeries is the eval-loss curve of one run against the chosen axis.
func EvalSeries(name string, evals []record.Eval, x EvalAxis) (Series, error) {
	s := Series{Name: name, X: make([]float64, len(evals)), Y: make([]float64, len(evals))}
	for i, e := range evals {
		v, err := x.of(e)
		if err != nil {
			return Series{}, fmt.Errorf("eval series %q: %w", name, err)
		}
		s.X[i], s.Y[i] = v, e.EvalLoss
	}
	return s, nil
}

// Utilization is, per node, the fraction of [0, untilS] spent computing,
// from event records (overlapping compute events of one node count once
// each, so keep them disjoint). Nodes are 0..nodes-1; events of other
// nodes are an error.
func Utilization(events []record.Event, nodes int, untilS float64) ([]float64, error) {
	if !(untilS > 0) || math.IsInf(untilS, 0) {
		return nil, fmt.Errorf("utilization: time span %v must be positive and finite", untilS)
	}
	busy := make([]float64, nodes)
	for i, e := range events {
		if e.Node < 0 || e.Node >= int64(nodes) {
			return nil, fmt.Errorf("utilization: event %d is for node %d, only %d nodes", i, e.Node, nodes)
		}
		if e.Kind != record.KindCompute {
			continue
		}
		lo, hi := math.Max(e.StartS, 0), math.Min(e.EndS, untilS)
		if hi > lo {
			busy[e.Node] += hi - lo
		}
	}
	for i := range busy {
		busy[i] /= untilS
	}
	return busy, nil
}

// Run is what the standard figures of one run are drawn from.
type Run struct {
	Name         string // series name, e.g. the strategy
	Evals        []record.Eval
	Events       []record.Event
	Nodes        []record.Node
	EntropyFloor float64 // NaN if unknown
	// TimelineRounds is how many first rounds the timeline shows
	// (default 3), so the figure stays readable in long runs.
	TimelineRounds int
}

// NamedFigure is a figure with the file base name it is saved under.
type NamedFigure struct {
	Name string
	Figure
}

// Figures builds the standard figures of a run: eval loss against round,
// simulated time and bytes moved; the node timeline of the first rounds;
// compute utilisation per node. Figures whose data are missing (no evals, no
// events) are left out.
func (r Run) Figures() ([]NamedFigure, error) {
	var out []NamedFigure
	var ref *RefLine
	if finite(r.EntropyFloor) {
		ref = &RefLine{Y: r.EntropyFloor, Label: "entropy floor"}
	}
	if len(r.Evals) > 0 {
		for _, v := range []struct {
			name string
			axis EvalAxis
		}{{"loss_vs_round", ByRound}, {"loss_vs_time", BySimTime}, {"loss_vs_bytes", ByBytes}} {
			s, err := EvalSeries(r.Name, r.Evals, v.axis)
			if err != nil {
				return nil, err
			}
			c := LineChart{Title: "eval loss", XLabel: v.axis.Label(), YLabel: "eval loss (nats)", Series: []Series{s}, Ref: ref}
			if v.axis == ByBytes {
				c.LogX, c.XUnit = true, UnitBytes
				if !anyPositive(s.X) {
					continue // no bytes moved (a single node): nothing to draw on a log axis
				}
			}
			out = append(out, NamedFigure{v.name, c})
		}
	}
	if len(r.Events) > 0 {
		nodes := len(r.Nodes)
		var end float64
		for _, e := range r.Events {
			nodes = max(nodes, int(e.Node)+1)
			end = math.Max(end, e.EndS)
		}
		rows := make([]string, nodes)
		for i := range rows {
			rows[i] = strconv.Itoa(i)
		}
		for _, n := range r.Nodes {
			if n.Class != "" && n.Node >= 0 && int(n.Node) < nodes {
				rows[n.Node] = fmt.Sprintf("%d %s", n.Node, n.Class)
			}
		}
		k := r.TimelineRounds
		if k <= 0 {
			k = 3
		}
		to := 0.0
		for _, e := range r.Events {
			if e.Round < int64(k) {
				to = math.Max(to, e.EndS)
			}
		}
		title := fmt.Sprintf("node activity, first %d rounds", k)
		if to <= 0 {
			to, title = end, "node activity"
		}
		out = append(out, NamedFigure{"timeline", Timeline{
			Title: title, Rows: rows, Segments: SegmentsFromEvents(r.Events), From: 0, To: to,
		}})
		if end > 0 {
			u, err := Utilization(r.Events, nodes, end)
			if err != nil {
				return nil, err
			}
			labels := make([]string, nodes)
			for i := range labels {
				labels[i] = strconv.Itoa(i)
			}
			mean := 0.0
			for _, v := range u {
				mean += v
			}
			mean /= float64(len(u))
			out = append(out, NamedFigure{"utilization", BarChart{
				Title: "compute utilisation", XLabel: "node", YLabel: "fraction of time computing",
				Labels: labels, Values: u, Ref: &RefLine{Y: mean, Label: "mean"},
			}})
		}
	}
	return out, nil
}

// SaveRun draws r.Figures() into dir (which must exist) as NAME.png and
// NAME.svg, and returns the base names written.
func SaveRun(dir string, r Run) ([]string, error) {
	figs, err := r.Figures()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, f := range figs {
		if err := Save(filepath.Join(dir, f.Name), f.Figure); err != nil {
			return names, err
		}
		names = append(names, f.Name)
	}
	return names, nil
}

func anyPositive(xs []float64) bool {
	for _, x := range xs {
		if x > 0 {
			return true
		}
	}
	return false
}
