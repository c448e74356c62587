package trace

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func sampleTable(n int) []Column {
	run := make([]string, n)
	density := make([]float64, n)
	h := make([]int64, n)
	ok := make([]bool, n)
	loss := make([]float64, n)
	for i := range n {
		run[i] = "run-" + strings.Repeat("x", i%5)
		density[i] = math.Pow(10, -float64(i%4))
		h[i] = int64(10 * (i%3 + 1))
		ok[i] = i%2 == 0
		loss[i] = 2 + 1/float64(i+1)
	}
	if n > 0 {
		loss[0] = math.NaN()
	}
	// Deliberately not in name order.
	return []Column{
		{"run", run},
		{"strategy.density", density},
		{"train.inner_steps", h},
		{"finished", ok},
		{"eval_loss", loss},
	}
}

func TestTableRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 7, 3000} {
		dir := t.TempDir()
		path := filepath.Join(dir, "summary.parquet")
		cols := sampleTable(n)
		if err := WriteTable(path, cols, RowGroupRows(1000)); err != nil {
			t.Fatal(err)
		}
		got, err := ReadTable(path)
		if err != nil {
			t.Fatal(err)
		}
		names := []string{}
		for _, c := range got {
			names = append(names, c.Name)
		}
		if want := []string{"eval_loss", "finished", "run", "strategy.density", "train.inner_steps"}; !reflect.DeepEqual(names, want) {
			t.Fatalf("n=%d: columns %v, want %v", n, names, want)
		}
		for _, c := range cols {
			g, ok := ColumnByName(got, c.Name)
			if !ok {
				t.Fatalf("column %q missing", c.Name)
			}
			if c.Name == "eval_loss" && n > 0 {
				gl := g.Values.([]float64)
				if !math.IsNaN(gl[0]) || !reflect.DeepEqual(gl[1:], c.Values.([]float64)[1:]) {
					t.Errorf("n=%d: eval_loss differs", n)
				}
				continue
			}
			if !reflect.DeepEqual(g.Values, c.Values) {
				t.Errorf("n=%d: column %q: got %v, want %v", n, c.Name, g.Values, c.Values)
			}
		}
		// A typed reader sees the same file.
		type row struct {
			Run  string `parquet:"run"`
			Done bool   `parquet:"finished"`
		}
		rows, err := ReadAll[row](path)
		if err != nil || len(rows) != n {
			t.Fatalf("ReadAll on a table: %d rows, %v", len(rows), err)
		}
		if n > 3 && (rows[3].Run != "run-xxx" || rows[3].Done) {
			t.Errorf("typed row 3 = %+v", rows[3])
		}
	}
}

func TestTableDeterministic(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.parquet"), filepath.Join(dir, "b.parquet")
	cols := sampleTable(100)
	rev := append([]Column(nil), cols...)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	if err := WriteTable(a, cols); err != nil {
		t.Fatal(err)
	}
	if err := WriteTable(b, rev); err != nil {
		t.Fatal(err)
	}
	ba, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if !bytes.Equal(ba, bb) {
		t.Error("the same columns in another order gave different files")
	}
}

func TestTableErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "t.parquet")
	tests := []struct {
		cols []Column
		want string
	}{
		{nil, "no columns"},
		{[]Column{{"", []int64{1}}}, "no name"},
		{[]Column{{"a", []int64{1}}, {"a", []int64{2}}}, `"a" appears twice`},
		{[]Column{{"a", []int32{1}}}, "[]int32"},
		{[]Column{{"a", []int64{1}}, {"b", []float64{1, 2}}}, `"b" has 2 values`},
	}
	for _, tc := range tests {
		err := WriteTable(path, tc.cols)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("WriteTable(%v) = %v, want %q", tc.cols, err, tc.want)
		}
	}
	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("failed writes left %v", names)
	}
	// Struct files are tables too; narrow types are widened.
	writeFile(t, path, makeRows(3))
	cols, err := ReadTable(path)
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := ColumnByName(cols, "f"); !reflect.DeepEqual(c.Values, []float64{0, 0.5, 1}) {
		t.Errorf("float32 column read as %v", c.Values)
	}
	if c, _ := ColumnByName(cols, "count"); !reflect.DeepEqual(c.Values, []int64{0, 1, 2}) {
		t.Errorf("int32 column read as %v", c.Values)
	}
	// An optional column is not a flat table.
	type opt struct {
		A *int64 `parquet:"a,optional"`
	}
	one := int64(1)
	writeFile(t, path, []opt{{&one}, {nil}})
	if _, err := ReadTable(path); err == nil || !strings.Contains(err.Error(), `"a" is optional`) {
		t.Errorf("ReadTable with an optional column: %v", err)
	}
	// Truncated.
	if err := WriteTable(path, sampleTable(50)); err != nil {
		t.Fatal(err)
	}
	full, _ := os.ReadFile(path)
	os.WriteFile(path, full[:len(full)/2], 0o644)
	if _, err := ReadTable(path); err == nil {
		t.Error("truncated table read without error")
	}
}
