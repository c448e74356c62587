package plot

import (
	"fmt"
	"math"
	"sort"
	"strconv"
)

// Pivot arranges long-form sweep results (one row per run: its x key, y
// key and value) into the grid a Heatmap draws. Runs that share a grid
// point (repeats over seeds) are averaged, NaN values left out; a grid point
// with no value is NaN. Keys are sorted numerically when every key of an
// axis parses as a number, otherwise as strings.
func Pivot(x, y []string, v []float64) (xKeys, yKeys []string, values [][]float64, err error) {
	if len(x) != len(v) || len(y) != len(v) {
		return nil, nil, nil, fmt.Errorf("pivot: %d x keys, %d y keys and %d values", len(x), len(y), len(v))
	}
	if len(v) == 0 {
		return nil, nil, nil, fmt.Errorf("pivot: no values")
	}
	xKeys, yKeys = sortedKeys(x), sortedKeys(y)
	xi, yi := indexOf(xKeys), indexOf(yKeys)
	sum := make([][]float64, len(yKeys))
	n := make([][]int, len(yKeys))
	for r := range sum {
		sum[r] = make([]float64, len(xKeys))
		n[r] = make([]int, len(xKeys))
	}
	for i := range v { // input order: the sums are reproducible
		if math.IsNaN(v[i]) {
			continue
		}
		r, c := yi[y[i]], xi[x[i]]
		sum[r][c] += v[i]
		n[r][c]++
	}
	values = sum
	for r := range values {
		for c := range values[r] {
			if n[r][c] == 0 {
				values[r][c] = math.NaN()
			} else {
				values[r][c] /= float64(n[r][c])
			}
		}
	}
	return xKeys, yKeys, values, nil
}

func sortedKeys(keys []string) []string {
	seen := map[string]bool{}
	var out []string
	numeric := true
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
			if _, err := strconv.ParseFloat(k, 64); err != nil {
				numeric = false
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if numeric {
			a, _ := strconv.ParseFloat(out[i], 64)
			b, _ := strconv.ParseFloat(out[j], 64)
			if a != b {
				return a < b
			}
		}
		return out[i] < out[j]
	})
	return out
}

func indexOf(keys []string) map[string]int {
	m := make(map[string]int, len(keys))
	for i, k := range keys {
		m[k] = i
	}
	return m
}
