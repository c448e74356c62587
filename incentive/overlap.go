package incentive

import "slices"

// Overlap is the fraction of shared indices between two top-k index sets:
// |a ∩ b| / min(|a|, |b|). For sets of equal size k, which is what honest
// payloads of one compressor are, it is Templar's |a ∩ b| / k; dividing by
// the smaller set also catches a copy of part of another's payload. Two
// independent uniform top-k draws from n indices overlap by about k/n. The
// sets may be given in any order; duplicates count once. Empty sets overlap
// by 0. Neither argument is modified.
func Overlap(a, b []uint32) float64 {
	return overlapSorted(sortedSet(a), sortedSet(b))
}

// sortedSet returns a sorted copy of s without duplicates (or s itself when
// it is already strictly increasing).
func sortedSet(s []uint32) []uint32 {
	increasing := true
	for i := 1; i < len(s); i++ {
		if s[i] <= s[i-1] {
			increasing = false
			break
		}
	}
	if increasing {
		return s
	}
	c := slices.Clone(s)
	slices.Sort(c)
	return slices.Compact(c)
}

// overlapSorted is Overlap for strictly increasing sets: a linear merge.
func overlapSorted(a, b []uint32) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	i, j, shared := 0, 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			shared++
			i++
			j++
		}
	}
	return float64(shared) / float64(min(len(a), len(b)))
}

// Copy is how much a peer's payload overlaps the others of its round.
type Copy struct {
	Overlap float64 // highest overlap with any other payload; 0 with none
	With    int     // index of that payload in the input, −1 when nothing is shared
	// CopyOverlap is the highest overlap with a payload uploaded before this
	// one, the peer this one may have copied, and CopyOf its index (−1 with
	// none). Only this one can make the peer a copier: the earlier uploader
	// of a pair is not penalised.
	CopyOverlap float64
	CopyOf      int
}

// WorstOverlaps compares every pair of index sets (nil: no payload) and
// returns, for each, its highest overlaps. Equal upload times make the higher
// index the later uploader, so exactly one of a pair is later; ties in
// overlap go to the lower index. It costs O(P²·k) for P payloads of k
// indices.
func WorstOverlaps(sets [][]uint32, uploadTimes []float64) []Copy {
	sorted := make([][]uint32, len(sets))
	for i, s := range sets {
		sorted[i] = sortedSet(s)
	}
	out := make([]Copy, len(sets))
	for i := range out {
		out[i] = Copy{With: -1, CopyOf: -1}
	}
	note := func(c *Copy, ov float64, other int, isLater bool) {
		if ov == 0 {
			return // nothing shared: not a partner worth naming
		}
		// Pairs are visited with other increasing for a fixed peer only in
		// part, so break ties on the index explicitly.
		if c.With < 0 || ov > c.Overlap || (ov == c.Overlap && other < c.With) {
			c.Overlap, c.With = ov, other
		}
		if isLater && (c.CopyOf < 0 || ov > c.CopyOverlap || (ov == c.CopyOverlap && other < c.CopyOf)) {
			c.CopyOverlap, c.CopyOf = ov, other
		}
	}
	for i := range sorted {
		if len(sorted[i]) == 0 {
			continue
		}
		for j := i + 1; j < len(sorted); j++ {
			if len(sorted[j]) == 0 {
				continue
			}
			ov := overlapSorted(sorted[i], sorted[j])
			jLater := later(uploadTimes, j, i)
			note(&out[i], ov, j, !jLater)
			note(&out[j], ov, i, jLater)
		}
	}
	return out
}

// later reports whether i uploaded after j; equal times make the higher index
// the later one.
func later(times []float64, i, j int) bool {
	if times[i] != times[j] {
		return times[i] > times[j]
	}
	return i > j
}
