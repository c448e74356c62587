package record

import (
	"math"
	"reflect"
	"regexp"
	"testing"
)

var snake = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// TestColumnNames checks the column contract: every exported field has a
// parquet tag, names are snake_case and unique within a record.
func TestColumnNames(t *testing.T) {
	for _, v := range []any{Eval{}, Round{}, Event{}, Node{}} {
		typ := reflect.TypeOf(v)
		seen := map[string]bool{}
		for i := range typ.NumField() {
			f := typ.Field(i)
			tag, ok := f.Tag.Lookup("parquet")
			if !ok {
				t.Errorf("%s.%s has no parquet tag", typ.Name(), f.Name)
				continue
			}
			if !snake.MatchString(tag) {
				t.Errorf("%s.%s: column %q is not snake_case", typ.Name(), f.Name, tag)
			}
			if seen[tag] {
				t.Errorf("%s: column %q used twice", typ.Name(), tag)
			}
			seen[tag] = true
		}
	}
}

func TestExcessOver(t *testing.T) {
	if got := ExcessOver(2.5, 2); got != 0.5 {
		t.Errorf("ExcessOver(2.5, 2) = %v, want 0.5", got)
	}
	if got := ExcessOver(2.5, math.NaN()); !math.IsNaN(got) {
		t.Errorf("ExcessOver with unknown floor = %v, want NaN", got)
	}
}

func TestEventDuration(t *testing.T) {
	e := Event{StartS: 1.25, EndS: 4}
	if got := e.DurationS(); got != 2.75 {
		t.Errorf("DurationS = %v, want 2.75", got)
	}
}

// Evaluations and rounds read from files written before a column was added
// say "not measured" there, not zero.
func TestFillMissing(t *testing.T) {
	var e Eval
	e.FillMissing(e.AddedColumns())
	for name, v := range map[string]float64{"node_loss_mean": e.NodeLossMean, "node_loss_std": e.NodeLossStd,
		"node_loss_min": e.NodeLossMin, "node_loss_max": e.NodeLossMax, "weight_spread": e.WeightSpread} {
		if !math.IsNaN(v) {
			t.Errorf("eval %s = %v, want NaN", name, v)
		}
	}
	var r Round
	r.FillMissing(r.AddedColumns())
	if !math.IsNaN(r.Staleness) || r.Fragment != -1 {
		t.Errorf("round staleness %v, fragment %d: want NaN, -1", r.Staleness, r.Fragment)
	}
}
