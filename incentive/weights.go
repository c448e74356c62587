package incentive

import (
	"cmp"
	"math"
	"slices"
)

// PowerWeights returns w_i = (1 − burn)·s_i^p / Σ_j s_j^p over the positive
// scores; zero, negative and NaN scores get weight 0. Raising to p > 1
// sharpens the distribution towards the best peers. With no positive score
// every weight is 0 (all of it is burned). The burned share is 1 − Σw.
func PowerWeights(scores []float64, p, burn float64) []float64 {
	w := make([]float64, len(scores))
	total := 0.0
	for i, s := range scores {
		if s > 0 && !math.IsInf(s, 1) {
			w[i] = math.Pow(s, p)
			total += w[i]
		}
	}
	if !(total > 0) || math.IsInf(total, 1) {
		clear(w)
		return w
	}
	for i := range w {
		w[i] *= (1 - burn) / total
	}
	return w
}

// SelectPeers returns the indices of the top gather candidates by weight and
// the next reserve ones: the peer lists of the next aggregates. Only
// candidates with eligible[i] true are picked. Ties in weight (at the start,
// and among all the peers whose score is not positive, which get no weight)
// go to the higher rank[i] (nil: no rank), then to the lower key, so the
// choice is deterministic and a peer the validator rates badly does not fill
// a free place on the list ahead of one it rates well.
func SelectPeers(weights, rank []float64, keys []uint64, eligible []bool, gather, reserve int) (gatherIdx, reserveIdx []int) {
	idx := make([]int, 0, len(weights))
	for i := range weights {
		if eligible[i] {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		if c := cmp.Compare(weights[b], weights[a]); c != 0 {
			return c
		}
		if rank != nil {
			if c := cmp.Compare(rank[b], rank[a]); c != 0 {
				return c
			}
		}
		return cmp.Compare(keys[a], keys[b])
	})
	g := min(gather, len(idx))
	r := min(reserve, len(idx)-g)
	return idx[:g:g], idx[g : g+r : g+r]
}
