package incentive

import (
	"math"
	"slices"
)

// Evaluation is what a validator measured for one peer in one round: the
// mean loss, in nats per token, of the current model before and after the
// peer's pseudo-gradient is applied, on a sample of the peer's own assigned
// data and on a random sample it was not assigned.
type Evaluation struct {
	LossOwnBefore    float64
	LossOwnAfter     float64
	LossRandomBefore float64
	LossRandomAfter  float64
}

// RelativeImprovement is (before − after)/before, or 0 when before is not
// positive (as the reference guards a zero loss).
func RelativeImprovement(before, after float64) float64 {
	if !(before > 0) {
		return 0
	}
	return (before - after) / before
}

// Score is the peer's loss score: its relative improvement on random data.
// Measuring on data the peer was not assigned rewards a pseudo-gradient that
// generalises, not one that memorised its sample.
func (e Evaluation) Score() float64 {
	return RelativeImprovement(e.LossRandomBefore, e.LossRandomAfter)
}

// OwnImprovement is the relative improvement on the peer's own data.
func (e Evaluation) OwnImprovement() float64 {
	return RelativeImprovement(e.LossOwnBefore, e.LossOwnAfter)
}

// Indicator is +1 when the pseudo-gradient helps the peer's own data more
// than random data, which is what training on the assigned data leaves
// behind, and −1 otherwise: a peer that trained on something else, or
// uploaded nothing useful, gains no more on its own sample.
func (e Evaluation) Indicator() float64 {
	if e.OwnImprovement() > e.Score() {
		return 1
	}
	return -1
}

// MovingAverage returns (1−α)·prev + α·x.
func MovingAverage(prev, x, alpha float64) float64 {
	return (1-alpha)*prev + alpha*x
}

// SyncScore is (1 − min(x, cap)/cap)^exponent for x steps behind: 1 for a
// peer in step with the validator, 0 at cap steps or more (validator
// evaluate_miner_sync). An unmeasured x (NaN) scores 0, as a failed sync
// check does in the reference; a negative x counts as 0 steps.
func SyncScore(stepsBehind, cap, exponent float64) float64 {
	if math.IsNaN(stepsBehind) {
		return 0
	}
	x := min(max(stepsBehind, 0), cap)
	return math.Pow(1-x/cap, exponent)
}

// ClipScales returns, for each pseudo-gradient norm of a round, the factor
// that clips it to the round's median norm: min(1, median/norm). Clipping to
// the median bounds what any one peer can move the model by, without a
// constant that would need retuning as norms shrink over training. Norms that
// are zero, negative or not finite get the factor 1 and do not enter the
// median; with no valid norm every factor is 1.
func ClipScales(norms []float64) []float64 {
	valid := make([]float64, 0, len(norms))
	for _, n := range norms {
		if n > 0 && !math.IsInf(n, 1) {
			valid = append(valid, n)
		}
	}
	scales := make([]float64, len(norms))
	for i := range scales {
		scales[i] = 1
	}
	if len(valid) == 0 {
		return scales
	}
	med := median(valid)
	for i, n := range norms {
		if n > 0 && !math.IsInf(n, 1) && n > med {
			scales[i] = med / n
		}
	}
	return scales
}

// median sorts xs in place and returns its median (mean of the middle two
// for an even count).
func median(xs []float64) float64 {
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}
