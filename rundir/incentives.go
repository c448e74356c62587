package rundir

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"

	"github.com/locosim/locosim/record"
	"github.com/locosim/locosim/trace"
	"gonum.org/v1/gonum/stat"
)

// Final metrics of a run with the incentive layer, read from scores.parquet
// and the roles in nodes.parquet. They are in the manifest's final metrics
// when defined, and NaN in a sweep's summary otherwise (no scores, no
// attackers, ...).
//
// Weights are compared as shares of the round's total peer weight (Σ of the
// peers' weights), not as raw weights: the validator burns a fixed share of
// the weight, so raw weights sum to 1 − burn, and to 0 in a round where no
// peer scores. In such a round the shares are undefined, and the round
// counts for none of these metrics.
const (
	// MetricAttackerWeightShare is the attackers' (role ≠ honest) share of
	// the peers' weight, averaged over the last half of the rounds: what
	// cheating still earns once the validator has had time to rate the
	// peers. NaN with no attackers.
	MetricAttackerWeightShare = "attacker_weight_share"
	// MetricCaughtRound is the rounds until the attackers' weight falls
	// below 1 % for good (CaughtBelow): the first round from which their
	// share stays below it until the end. NaN if that never happens, or
	// with no attackers.
	MetricCaughtRound = "caught_round"
	// MetricHonestWeightSpread is the coefficient of variation (population
	// standard deviation over mean) across the honest peers of each one's
	// share of the weight averaged over the last half of the rounds: 0 when
	// the mechanism pays every honest peer alike.
	MetricHonestWeightSpread = "honest_weight_spread"
)

// IncentiveMetricNames lists the incentive layer's final metrics, in the
// order of a summary's columns.
var IncentiveMetricNames = []string{MetricAttackerWeightShare, MetricCaughtRound, MetricHonestWeightSpread}

// CaughtBelow is the attackers' share of the peers' weight under which they
// count as caught (caught_round).
const CaughtBelow = 0.01

// WeightShares is each peer's share of the peers' total weight, round by
// round, with the peers' roles: what the incentive metrics and the weights
// figure are made of.
type WeightShares struct {
	Rounds []int64  // validator rounds, increasing
	Peers  []int64  // peer uids (node indices), increasing
	Roles  []string // Roles[j] is the role of Peers[j]
	// Share[i][j] is Peers[j]'s share in Rounds[i]: its weight over the
	// round's total, 0 when it has no row in the round, NaN in every
	// column when the round's total is 0.
	Share [][]float64
}

// NewWeightShares arranges score rows by round and peer. Every scored peer
// must have a role in nodes: a run's attackers are known only from them.
func NewWeightShares(scores []record.Score, nodes []record.Node) (*WeightShares, error) {
	role := make(map[int64]string, len(nodes))
	for _, n := range nodes {
		role[n.Node] = n.Role
	}
	w := &WeightShares{}
	rounds, peers := map[int64]bool{}, map[int64]bool{}
	for _, s := range scores {
		if role[s.Peer] == "" {
			return nil, fmt.Errorf("rundir: peer %d is scored but has no role in %s", s.Peer, NodesFile)
		}
		if !rounds[s.Round] {
			rounds[s.Round] = true
			w.Rounds = append(w.Rounds, s.Round)
		}
		if !peers[s.Peer] {
			peers[s.Peer] = true
			w.Peers = append(w.Peers, s.Peer)
		}
	}
	slices.Sort(w.Rounds)
	slices.Sort(w.Peers)
	for _, p := range w.Peers {
		w.Roles = append(w.Roles, role[p])
	}
	ri := indexOf(w.Rounds)
	pi := indexOf(w.Peers)
	w.Share = make([][]float64, len(w.Rounds))
	for i := range w.Share {
		w.Share[i] = make([]float64, len(w.Peers))
	}
	for _, s := range scores {
		w.Share[ri[s.Round]][pi[s.Peer]] += s.Weight
	}
	for _, row := range w.Share {
		total := 0.0
		for _, v := range row {
			total += v
		}
		for j := range row {
			if total > 0 {
				row[j] /= total
			} else {
				row[j] = math.NaN()
			}
		}
	}
	return w, nil
}

// IncentiveMetrics computes the incentive metrics of a run from its score
// rows and its nodes (for the roles), each NaN where it is undefined.
func IncentiveMetrics(scores []record.Score, nodes []record.Node) (map[string]float64, error) {
	w, err := NewWeightShares(scores, nodes)
	if err != nil {
		return nil, err
	}
	return w.Metrics(), nil
}

func indexOf(xs []int64) map[int64]int {
	m := make(map[int64]int, len(xs))
	for i, x := range xs {
		m[x] = i
	}
	return m
}

// ReadWeightShares reads the weight shares of the run in dir. The error
// wraps os.ErrNotExist when the run has no scores.parquet (the incentive
// layer was off) or no nodes.parquet (pruned).
func ReadWeightShares(dir string) (*WeightShares, error) {
	scores, err := trace.ReadAll[record.Score](filepath.Join(dir, ScoresFile))
	if err != nil {
		return nil, err
	}
	nodes, err := trace.ReadAll[record.Node](filepath.Join(dir, NodesFile))
	if err != nil {
		return nil, err
	}
	return NewWeightShares(scores, nodes)
}

// RolesPresent lists the roles of the scored peers once each, in the order
// of record.Roles (roles it does not know last, sorted).
func (w *WeightShares) RolesPresent() []string {
	var out, other []string
	for _, r := range record.Roles {
		if slices.Contains(w.Roles, r) {
			out = append(out, r)
		}
	}
	for _, r := range w.Roles {
		if !slices.Contains(record.Roles, r) && !slices.Contains(other, r) {
			other = append(other, r)
		}
	}
	slices.Sort(other)
	return append(out, other...)
}

// ShareOf is, round by round, the share held by the peers whose role keep
// accepts; NaN in rounds whose shares are undefined.
func (w *WeightShares) ShareOf(keep func(role string) bool) []float64 {
	out := make([]float64, len(w.Rounds))
	for i, row := range w.Share {
		for j, v := range row {
			if keep(w.Roles[j]) {
				out[i] += v
			}
		}
	}
	return out
}

// Metrics computes the incentive metrics (MetricAttackerWeightShare, ...),
// each NaN where it is undefined.
func (w *WeightShares) Metrics() map[string]float64 {
	attacker := func(r string) bool { return r != record.RoleHonest }
	out := map[string]float64{
		MetricAttackerWeightShare: math.NaN(),
		MetricCaughtRound:         math.NaN(),
		MetricHonestWeightSpread:  w.honestSpread(),
	}
	if slices.ContainsFunc(w.Roles, attacker) {
		share := w.ShareOf(attacker)
		out[MetricAttackerWeightShare] = meanDefined(share[w.lastHalf():])
		out[MetricCaughtRound] = w.caughtRound(share)
	}
	return out
}

// lastHalf is the index of the first of the last ⌈n/2⌉ of n rounds.
func (w *WeightShares) lastHalf() int { return len(w.Rounds) / 2 }

// caughtRound is the first round of the final run of defined rounds in which
// share stays below CaughtBelow; undefined rounds neither break nor start
// such a run.
func (w *WeightShares) caughtRound(share []float64) float64 {
	caught := math.NaN()
	for i := len(share) - 1; i >= 0; i-- {
		switch {
		case math.IsNaN(share[i]):
		case share[i] < CaughtBelow:
			caught = float64(w.Rounds[i])
		default:
			return caught
		}
	}
	return caught
}

func (w *WeightShares) honestSpread() float64 {
	var means []float64
	for j, r := range w.Roles {
		if r != record.RoleHonest {
			continue
		}
		col := make([]float64, 0, len(w.Rounds))
		for _, row := range w.Share[w.lastHalf():] {
			col = append(col, row[j])
		}
		means = append(means, meanDefined(col))
	}
	if len(means) == 0 || math.IsNaN(means[0]) {
		return math.NaN() // no honest peer, or no defined round
	}
	mean, std := stat.PopMeanStdDev(means, nil)
	if mean == 0 {
		return math.NaN()
	}
	return std / mean
}

// meanDefined is the mean of the values that are not NaN; NaN when none is.
func meanDefined(xs []float64) float64 {
	sum, n := 0.0, 0
	for _, x := range xs {
		if !math.IsNaN(x) {
			sum += x
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}
