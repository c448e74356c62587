package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/locosim/locosim/trace"
)

// explainData is explain.parquet read back, column by column.
type explainData struct {
	variant                                 []string
	round, index, chunk, code               []int64
	delta, efBefore, efAccum, efAfter, sent []float64
	selected                                []bool
}

func readExplain(t *testing.T, dir string) explainData {
	t.Helper()
	cols, err := trace.ReadTable(filepath.Join(dir, explainTable))
	if err != nil {
		t.Fatal(err)
	}
	get := func(name string) any {
		c, ok := trace.ColumnByName(cols, name)
		if !ok {
			t.Fatalf("explain.parquet has no column %q", name)
		}
		return c.Values
	}
	return explainData{
		variant: get("variant").([]string), round: get("round").([]int64), index: get("index").([]int64),
		chunk: get("chunk").([]int64), code: get("code").([]int64),
		delta: get("pseudo_gradient").([]float64), efBefore: get("ef_before").([]float64),
		efAccum: get("ef_accumulated").([]float64), efAfter: get("ef_after").([]float64),
		sent: get("sent").([]float64), selected: get("selected").([]bool),
	}
}

// near compares float32-computed values: a few ulps of the larger magnitude.
func near(a, b, scale float64) bool { return math.Abs(a-b) <= 1e-6*(1+scale) }

// TestExplainConservesErrorFeedback checks the exported data against the
// error-feedback invariants, from the files alone:
//
//	accumulated = β·before + α·Δ      (β = 0 without error feedback)
//	after       = accumulated − sent  (nothing is lost or invented)
//	sent = 0 where not selected; exactly k selected per chunk;
//	next round's before = this round's after (with error feedback).
func TestExplainConservesErrorFeedback(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"default", nil},
		{"flat-fp32-randomk", []string{"--rows", "6", "--cols", "10", "--chunking", "flat", "--chunk-size", "16",
			"--quant-bits", "0", "--selection", "randomk", "--density", "0.25", "--rounds", "5", "--error-decay", "0.5", "--outer-lr", "0.7"}},
		{"blocks-uneven", []string{"--rows", "10", "--cols", "18", "--chunk-size", "16", "--topk-per-chunk", "512", "--density", "0", "--rounds", "3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			out, err := execute(t, append([]string{"explain", "-o", dir}, tc.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out, "explain.parquet") {
				t.Errorf("output does not name the table:\n%s", out)
			}
			var set explainOutput
			b, err := os.ReadFile(filepath.Join(dir, explainSettings))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &set); err != nil {
				t.Fatal(err)
			}
			d := readExplain(t, dir)
			n := set.Rows * set.Cols
			if want := n * set.Rounds * len(set.Variants); len(d.round) != want {
				t.Fatalf("%d rows, want %d", len(d.round), want)
			}
			beta, alpha := set.Compressor["error_decay"].(float64), set.Compressor["outer_lr"].(float64)
			quantized := set.Compressor["quant_bits"].(float64) > 0
			sentTotal := map[string]float64{}
			for i := range d.round {
				b := beta
				if d.variant[i] == variantNoEF {
					b = 0
				}
				acc := b*d.efBefore[i] + alpha*d.delta[i]
				if !near(d.efAccum[i], acc, math.Abs(acc)) {
					t.Fatalf("row %d: accumulated %v, want β·before + α·Δ = %v", i, d.efAccum[i], acc)
				}
				if !near(d.efAfter[i]+d.sent[i], d.efAccum[i], math.Abs(d.efAccum[i])+math.Abs(d.sent[i])) {
					t.Fatalf("row %d: after %v + sent %v != accumulated %v", i, d.efAfter[i], d.sent[i], d.efAccum[i])
				}
				if !d.selected[i] && (d.sent[i] != 0 || d.code[i] != -1 || d.efAfter[i] != d.efAccum[i]) {
					t.Fatalf("row %d: not selected but sent %v, code %d", i, d.sent[i], d.code[i])
				}
				if d.selected[i] && quantized != (d.code[i] >= 0) {
					t.Fatalf("row %d: selected with code %d, quantized %v", i, d.code[i], quantized)
				}
				if d.variant[i] == variantEF && d.round[i] > 0 && d.efBefore[i] != d.efAfter[i-n] {
					t.Fatalf("row %d: buffer before %v is not last round's after %v", i, d.efBefore[i], d.efAfter[i-n])
				}
				sentTotal[d.variant[i]] += math.Abs(d.sent[i])
			}
			// k per chunk, in every round of every variant.
			for start := 0; start < len(d.round); start += n {
				count := make([]int, set.Chunks)
				for i := start; i < start+n; i++ {
					if d.selected[i] {
						count[d.chunk[i]]++
					}
				}
				for c, k := range set.KPerChunk {
					if count[c] != k {
						t.Fatalf("%s round %d chunk %d: %d selected, want %d", d.variant[start], d.round[start], c, count[c], k)
					}
				}
			}
			if len(set.RoundStats) != set.Rounds*len(set.Variants) {
				t.Errorf("%d round stats, want %d", len(set.RoundStats), set.Rounds*len(set.Variants))
			}
			for _, v := range set.Variants {
				if sentTotal[v] == 0 {
					t.Errorf("variant %s sent nothing", v)
				}
			}
		})
	}
}

// With error feedback, a consistent signal too weak to be picked in one
// round builds up and gets sent: the total sent tracks the total α·Δ much
// better than without it.
func TestExplainErrorFeedbackTracksSignal(t *testing.T) {
	dir := t.TempDir()
	if _, err := execute(t, "explain", "-o", dir, "--rounds", "30", "--signal", "0.5", "--noise", "0.2"); err != nil {
		t.Fatal(err)
	}
	d := readExplain(t, dir)
	gap := map[string]float64{} // Σ over elements of |Σ_r (Δ − sent)|
	acc := map[string]map[int64]float64{}
	for i := range d.round {
		v := d.variant[i]
		if acc[v] == nil {
			acc[v] = map[int64]float64{}
		}
		acc[v][d.index[i]] += d.delta[i] - d.sent[i]
	}
	for v, m := range acc {
		for _, x := range m {
			gap[v] += math.Abs(x)
		}
	}
	if !(gap[variantEF] < 0.5*gap[variantNoEF]) {
		t.Errorf("untransmitted mass with error feedback %.3g, without %.3g: want less than half", gap[variantEF], gap[variantNoEF])
	}
}

func TestExplainRejectsBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"explain"}, "-o"},
		{[]string{"explain", "-o", "x", "--rows", "0"}, "rows"},
		{[]string{"explain", "-o", "x", "--rounds", "0"}, "rounds"},
		{[]string{"explain", "-o", "x", "--density", "2"}, "density"},
		{[]string{"explain", "-o", "x", "--chunk-size", "10"}, "chunk_size"},
		{[]string{"explain", "-o", "x", "--noise", "-1"}, "noise"},
		{[]string{"explain", "-o", "x", "--selection", "best"}, "selection"},
	} {
		_, err := execute(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one naming %q", tc.args, err, tc.want)
		}
	}
}
