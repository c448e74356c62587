package experiments

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/locosim/locosim/plot"
	"github.com/locosim/locosim/rundir"
	"gonum.org/v1/plot/vg"
)

// noAttack is the attack value of runs without attackers.
const noAttack = "none"

// attackCell is one attack at one share with the mechanism on or off: the
// settings there (one, unless keys beside the three vary) and their runs.
type attackCell struct {
	attack string
	share  float64
	on     bool
	rows   []Row
}

// mean is the mean over the cell's runs of a metric, NaN values left out.
func (c attackCell) mean(metric string) float64 {
	var sum float64
	n := 0
	for _, r := range c.rows {
		if v := r.Metrics[metric]; !math.IsNaN(v) {
			sum += v
			n++
		}
	}
	if n == 0 {
		return nan
	}
	return sum / float64(n)
}

// attackCells groups the settings' runs by attack, share and mechanism, and
// lists the attacks (without "none") in the spec's order.
func attackCells(in Incentives, ss []setting, axes map[string][]string) (cells []attackCell, attacks []string, err error) {
	idx := map[string]int{}
	for _, s := range ss {
		attack := FormatValue(s.values[in.Attack])
		share, ok := scalar(s.values[in.Share]).(float64)
		if !ok {
			return nil, nil, fmt.Errorf("figures.incentives: %s = %q is not a number", in.Share, FormatValue(s.values[in.Share]))
		}
		var on bool
		switch m := FormatValue(s.values[in.Mechanism]); m {
		case "true", "false":
			on = m == "true"
		default:
			return nil, nil, fmt.Errorf("figures.incentives: %s = %q, want true or false", in.Mechanism, m)
		}
		if share == 0 {
			attack = noAttack
		}
		k := fmt.Sprint(attack, "\x00", share, "\x00", on)
		i, seen := idx[k]
		if !seen {
			i = len(cells)
			idx[k] = i
			cells = append(cells, attackCell{attack: attack, share: share, on: on})
		}
		cells[i].rows = append(cells[i].rows, s.rows...)
		if attack != noAttack && !slices.Contains(attacks, attack) {
			attacks = append(attacks, attack)
		}
	}
	rank := map[string]int{}
	for i, v := range axes[in.Attack] {
		rank[v] = i
	}
	sort.SliceStable(attacks, func(i, j int) bool {
		ri, iok := rank[attacks[i]]
		rj, jok := rank[attacks[j]]
		if iok && jok {
			return ri < rj
		}
		return iok || (!jok && attacks[i] < attacks[j])
	})
	sort.SliceStable(cells, func(i, j int) bool { return cells[i].share < cells[j].share })
	return cells, attacks, nil
}

// drawIncentives draws incentives_loss, incentives_caught and, per attack,
// incentives_curves_<attack> (see Incentives) from the settings of the
// sweep in dir that match in.Where.
func drawIncentives(dir string, in Incentives, ss []setting, axes map[string][]string, save func(string, string, plot.Figure) error) error {
	in = in.withDefaults()
	cells, attacks, err := attackCells(in, filter(ss, in.Where), axes)
	if err != nil || len(attacks) == 0 {
		return err
	}
	note := whereNote(in.Where)
	if f, ok := attackLoss(in, cells, attacks); ok {
		if err := save("incentives_loss", fmt.Sprintf("Final eval loss against the attackers' share of the peers (%s), mean over seeds, "+
			"one colour per attack (%s): solid with the mechanism on (%s = true), dashed with it off; "+
			"grey: the runs without attackers%s.", in.Share, in.Attack, in.Mechanism, note), f); err != nil {
			return err
		}
	}
	if f, ok := attackCaught(in, cells, attacks); ok {
		if err := save("incentives_caught", fmt.Sprintf("Rounds until the attackers' weight falls below %g %% for good (%s), "+
			"per attack and share with the mechanism on: the mean over the seeds that caught them; "+
			"\"never\": no seed did; k/n: k of n seeds did%s.", 100*rundir.CaughtBelow, rundir.MetricCaughtRound, note), f); err != nil {
			return err
		}
	}
	for i, a := range attacks {
		f, share, err := attackCurves(dir, cells, a, i)
		if err != nil {
			return err
		}
		if len(f.Series) == 0 {
			continue
		}
		if err := save("incentives_curves_"+a, fmt.Sprintf("Eval loss against outer rounds with %s at %g of the peers (its largest share), "+
			"mean and 95 %% band over seeds: solid with the mechanism on, dashed with it off; grey: no attackers%s.", a, share, note), f); err != nil {
			return err
		}
	}
	return nil
}

// attackCurves is the incentives_curves_<attack> figure: the loss curves of
// the attack at its largest share and of the runs without attackers, with
// the mechanism on and off.
func attackCurves(dir string, cells []attackCell, attack string, colour int) (plot.LineChart, float64, error) {
	share := math.Inf(-1)
	for _, c := range cells {
		if c.attack == attack {
			share = math.Max(share, c.share)
		}
	}
	var series []plot.Series
	for _, who := range []string{attack, noAttack} {
		for _, on := range []bool{true, false} {
			var rows []Row
			for _, c := range cells {
				if c.attack == who && c.on == on && (who == noAttack || c.share == share) {
					rows = append(rows, c.rows...)
				}
			}
			if len(rows) == 0 {
				continue
			}
			name := fmt.Sprintf("%s %g, %s", who, share, mechanismName(on))
			st := &plot.Style{Color: plot.Palette(colour), Dashed: !on}
			if who == noAttack {
				name = "no attackers, " + mechanismName(on)
				st.Color = color.Gray{Y: 0x70}
			}
			ser, err := curve(dir, setting{key: name, rows: rows}, plot.ByRound)
			if err != nil {
				return plot.LineChart{}, 0, err
			}
			if len(ser.X) > 0 {
				ser.Style = st
				series = append(series, ser)
			}
		}
	}
	return plot.LineChart{
		Title: "eval loss: " + attack, XLabel: plot.ByRound.Label(), YLabel: "loss (nats/token)",
		Series: series, Legend: plot.LegendRight, Size: plot.Size{Width: 20 * vg.Centimeter}, LogY: spansDecades(series),
	}, share, nil
}

// attackLoss is the incentives_loss figure; false when no run has
// attackers.
func attackLoss(in Incentives, cells []attackCell, attacks []string) (plot.LineChart, bool) {
	lo, hi := math.Inf(1), math.Inf(-1)
	var series []plot.Series
	for i, a := range attacks {
		for _, on := range []bool{true, false} {
			s := plot.Series{Style: &plot.Style{Color: plot.Palette(i), Dashed: !on}}
			for _, c := range cells {
				if c.attack == a && c.on == on {
					s.X = append(s.X, c.share)
					s.Y = append(s.Y, c.mean("eval_loss"))
					lo, hi = math.Min(lo, c.share), math.Max(hi, c.share)
				}
			}
			if len(s.X) == 0 {
				continue
			}
			// One legend entry per attack: its solid line, or its dashed
			// one when the mechanism was never on.
			if on || len(series) == 0 || series[len(series)-1].Name != a {
				s.Name = a
			}
			series = append(series, s)
		}
	}
	if len(series) == 0 {
		return plot.LineChart{}, false
	}
	grey := color.Gray{Y: 0x70}
	for _, on := range []bool{true, false} {
		var none attackCell
		for _, c := range cells {
			if c.attack == noAttack && c.on == on {
				none.rows = append(none.rows, c.rows...)
			}
		}
		if y := none.mean("eval_loss"); !math.IsNaN(y) {
			series = append(series, plot.Series{Name: "no attackers (" + mechanismName(on) + ")",
				X: []float64{lo, hi}, Y: []float64{y, y}, Style: &plot.Style{Color: grey, Dashed: !on}})
		}
	}
	return plot.LineChart{
		Title: "final eval loss under attack", XLabel: "attackers' share of the peers (" + in.Share + ")",
		YLabel: "loss (nats/token)", Series: series, Legend: plot.LegendRight,
		// An attack that wrecks the model (hundreds of nats) would flatten
		// every other line on a linear axis.
		LogY: spansDecades(series),
		Size: plot.Size{Width: 20 * vg.Centimeter}, // room for the legend beside the lines
	}, true
}

// spansDecades reports whether the series' finite positive y values span
// more than a factor of 10.
func spansDecades(series []plot.Series) bool {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range series {
		for _, y := range s.Y {
			if y > 0 && !math.IsInf(y, 0) {
				lo, hi = math.Min(lo, y), math.Max(hi, y)
			}
		}
	}
	return hi > 10*lo
}

func mechanismName(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// attackCaught is the incentives_caught figure; false when no run with the
// mechanism on has attackers.
func attackCaught(in Incentives, cells []attackCell, attacks []string) (plot.GroupedBars, bool) {
	var shares []float64
	for _, c := range cells {
		if c.on && c.attack != noAttack && !slices.Contains(shares, c.share) {
			shares = append(shares, c.share) // cells are by share
		}
	}
	if len(shares) == 0 {
		return plot.GroupedBars{}, false
	}
	g := plot.GroupedBars{
		Title:  "round from which the attackers hold under 1 % of the weight",
		XLabel: "attack (" + in.Attack + "), mechanism on", YLabel: "caught_round (validator round)",
		Groups: attacks, Legend: plot.LegendRight,
	}
	for _, share := range shares {
		s := plot.BarSeries{Name: "share " + strconv.FormatFloat(share, 'g', -1, 64)}
		for _, a := range attacks {
			v, note := nan, ""
			for _, c := range cells {
				if c.on && c.attack == a && c.share == share {
					v, note = caughtBar(c.rows)
				}
			}
			s.Values = append(s.Values, v)
			s.Notes = append(s.Notes, note)
		}
		g.Series = append(g.Series, s)
	}
	return g, true
}

// caughtBar is a bar of incentives_caught: the mean caught_round of the runs
// that caught their attackers, and its note: "never" when none did, "k/n"
// when k of n did, and "0" on a bar of zero height (caught from the first
// round), which would otherwise look like no bar at all.
func caughtBar(rows []Row) (float64, string) {
	var sum float64
	k := 0
	for _, r := range rows {
		if v := r.Metrics[rundir.MetricCaughtRound]; !math.IsNaN(v) {
			sum += v
			k++
		}
	}
	if len(rows) == 0 {
		return nan, ""
	}
	if k == 0 {
		return nan, "never"
	}
	mean := sum / float64(k)
	var notes []string
	if mean == 0 {
		notes = append(notes, "0")
	}
	if k < len(rows) {
		notes = append(notes, fmt.Sprintf("%d/%d", k, len(rows)))
	}
	return mean, strings.Join(notes, ", ")
}
