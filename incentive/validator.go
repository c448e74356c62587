package incentive

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// PeerInput is what the caller knows about one active peer in one round.
// A peer known from earlier rounds but absent from the input is inactive.
type PeerInput struct {
	UID uint64
	// Uploaded: the peer's payload for the round arrived in time.
	Uploaded bool
	// UploadTimeS is when it arrived, in simulated seconds; of two payloads
	// that overlap too much, the later one is the copy.
	UploadTimeS float64
	// TopK is the payload's set of top-k indices, in any order; nil skips
	// copy detection for this peer. The slice is read, not kept.
	TopK []uint32
	// Eval is the validator's measurement of the payload, nil when it was
	// not evaluated. Evaluations of peers that did not upload are ignored.
	Eval *Evaluation
	// StepsBehind is how many outer steps the peer's model lags the
	// validator's; NaN when not measured.
	StepsBehind float64
}

// RoundInput is one round of the caller's measurements.
type RoundInput struct {
	Round uint64
	// Seed drives the choice of which peers to evaluate when more than
	// Config.EvalBudget offer an evaluation (see ChooseEvaluated).
	Seed  uint64
	Peers []PeerInput
}

// RoundOutput is the validator's verdict on one round.
type RoundOutput struct {
	// Rows has one row per peer the validator knows, by increasing uid.
	Rows []ScoreRow
	// Gathered lists, by increasing uid, the peers whose payloads form this
	// round's aggregate: the gather list's peers that uploaded, with
	// reserves standing in for those that did not.
	Gathered []uint64
	// GatherList and ReserveList are the lists in force for the next round,
	// best first.
	GatherList  []uint64
	ReserveList []uint64
	// Burned is the share of the weight given to no peer: 1 − Σ weights.
	Burned float64
}

// ScoreRow is one peer's part in one round of scoring (scores.parquet).
// Floats that were not measured this round are NaN; indices of other peers
// are −1 when there is none.
type ScoreRow struct {
	Round int64 `parquet:"round"`
	Peer  int64 `parquet:"peer"` // the peer's uid

	Active      bool    `parquet:"active"`        // present in the round's input
	Uploaded    bool    `parquet:"uploaded"`      // its payload arrived in time
	UploadTimeS float64 `parquet:"upload_time_s"` // simulated seconds; NaN if not uploaded
	Excluded    bool    `parquet:"excluded"`      // serving an exclusion: scores and weight 0

	Evaluated        bool    `parquet:"evaluated"`
	LossOwnBefore    float64 `parquet:"loss_own_before"` // nats per token; NaN if not evaluated
	LossOwnAfter     float64 `parquet:"loss_own_after"`
	LossRandomBefore float64 `parquet:"loss_random_before"`
	LossRandomAfter  float64 `parquet:"loss_random_after"`
	ImprovementOwn   float64 `parquet:"improvement_own"` // relative, own data
	Score            float64 `parquet:"score"`           // relative improvement on random data
	Indicator        float64 `parquet:"indicator"`       // +1 or −1; NaN if not evaluated
	IndicatorMA      float64 `parquet:"indicator_ma"`    // moving average of the indicator, after penalties

	Mu      float64 `parquet:"mu"` // OpenSkill rating after the round
	Sigma   float64 `parquet:"sigma"`
	Ordinal float64 `parquet:"ordinal"` // mu − z·sigma

	StepsBehind float64 `parquet:"steps_behind"` // NaN if not measured
	SyncScore   float64 `parquet:"sync_score"`   // last measured, in [0, 1]

	MaxOverlap     float64 `parquet:"max_overlap"`      // highest top-k overlap with another payload; NaN without one
	MaxOverlapPeer int64   `parquet:"max_overlap_peer"` // uid of that peer, −1 without one
	CopyOverlap    float64 `parquet:"copy_overlap"`     // highest overlap with an earlier payload; NaN without one
	CopyOf         int64   `parquet:"copy_of"`          // uid of that earlier uploader, −1 without one

	Penalties     int64  `parquet:"penalties"`       // Penalty bits applied this round
	PenaltyNames  string `parquet:"penalty_names"`   // the same, as comma-separated names
	MissedInARow  int64  `parquet:"missed_in_a_row"` // consecutive rounds without an upload
	ExcludedUntil int64  `parquet:"excluded_until"`  // first round it may score again; 0 if never excluded

	FinalScore float64 `parquet:"final_score"` // ordinal × max(0, MA) × sync, after penalties
	Weight     float64 `parquet:"weight"`      // share of the total weight, burn excluded
	Gathered   bool    `parquet:"gathered"`    // its payload is part of this round's aggregate
	InGather   bool    `parquet:"in_gather"`   // on the gather list for the next round
	InReserve  bool    `parquet:"in_reserve"`  // on the reserve list for the next round
}

// peer is the state a validator keeps for one uid across rounds.
type peer struct {
	uid           uint64
	rating        Rating
	ma            float64 // moving average of the indicator
	sync          float64 // last sync score
	final         float64
	weight        float64
	missRun       int
	misses        []bool // last MissWindow rounds, true = missed
	negatives     []bool // last NegativeWindow evaluations, true = negative score
	inactive      int    // consecutive rounds absent
	excludedUntil uint64
	sinceEval     int // rounds since last evaluated, the draw weight
}

// Validator holds the per-peer state of one validator across rounds and is
// driven one round at a time by Round. It is not safe for concurrent use.
type Validator struct {
	cfg         Config
	peers       map[uint64]*peer
	order       []uint64 // known uids, increasing
	gather      []uint64
	reserve     []uint64
	listed      bool   // a gather list has been chosen
	lastRefresh uint64 // round of the last choice
}

// NewValidator returns a validator with no peers. It panics if cfg does not
// validate: a bad constant is a programming error.
func NewValidator(cfg Config) *Validator {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	cfg.MissMultipliers = slices.Clone(cfg.MissMultipliers)
	return &Validator{cfg: cfg, peers: make(map[uint64]*peer)}
}

// Config returns the validator's configuration.
func (v *Validator) Config() Config {
	c := v.cfg
	c.MissMultipliers = slices.Clone(c.MissMultipliers)
	return c
}

// Rating returns a peer's current rating, and false for an unknown peer.
func (v *Validator) Rating(uid uint64) (Rating, bool) {
	p, ok := v.peers[uid]
	if !ok {
		return Rating{}, false
	}
	return p.rating, true
}

func (v *Validator) newPeer(uid uint64) *peer {
	p := &peer{uid: uid}
	v.reset(p)
	return p
}

// reset returns a peer to a newcomer's state.
func (v *Validator) reset(p *peer) {
	p.rating = v.cfg.Rating.NewRating()
	p.ma, p.sync, p.final, p.weight = 0, 0, 0, 0
	p.missRun, p.inactive = 0, 0
	p.misses, p.negatives = p.misses[:0], p.negatives[:0]
	p.sinceEval = 1
}

// slash multiplies a peer's score and moving average by m. Like the
// reference, it leaves a peer whose score is not positive alone, so that a
// penalty never lifts a negative score towards zero.
func slash(p *peer, m float64) {
	if p.final > 0 {
		p.final *= m
		p.ma *= m
	}
}

// push appends b to a window of at most n entries.
func push(w []bool, b bool, n int) []bool {
	if len(w) == n {
		copy(w, w[1:])
		w = w[:n-1]
	}
	return append(w, b)
}

// mostly reports whether the window is full and more than frac of it true.
func mostly(w []bool, n int, frac float64) bool {
	if len(w) < n {
		return false
	}
	k := 0
	for _, b := range w {
		if b {
			k++
		}
	}
	return float64(k) > frac*float64(n)
}

// ChooseEvaluated returns which of the candidates (uids) to evaluate in a
// round: all of them when they fit in Config.EvalBudget, else a draw of that
// many without replacement in which a peer's chance grows with the rounds
// since it was last evaluated (the reference's counters), so every peer is
// evaluated now and then. The draw uses a PCG stream seeded by (seed, round)
// (Efraimidis–Spirakis keys u^{1/w}). The result is sorted by uid and the
// validator is not changed, so a caller can ask before measuring and Round
// will choose the same peers from the same candidates.
func (v *Validator) ChooseEvaluated(candidates []uint64, seed, round uint64) []uint64 {
	c := slices.Clone(candidates)
	slices.Sort(c)
	c = slices.Compact(c)
	if len(c) <= v.cfg.EvalBudget {
		return c
	}
	r := rand.New(rand.NewPCG(seed, round))
	keys := make([]float64, len(c))
	for i, uid := range c {
		w := 1.0
		if p, ok := v.peers[uid]; ok {
			w = float64(p.sinceEval)
		}
		u := 1 - r.Float64() // (0, 1]
		keys[i] = math.Log(u) / w
	}
	idx := make([]int, len(c))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(keys[b], keys[a]) })
	out := make([]uint64, v.cfg.EvalBudget)
	for i := range out {
		out[i] = c[idx[i]]
	}
	slices.Sort(out)
	return out
}

// Round advances the validator by one round and returns every known peer's
// row. It panics if a uid appears twice in the input.
//
// The order within a round follows the reference validator: exclusions and
// inactivity first, then the penalties measured on the round's payloads
// (missed uploads, copies, staleness), then the evaluations, the rating
// update and the final scores of the evaluated peers, the penalty for mostly
// negative evaluations, and last the weights and the peer lists.
func (v *Validator) Round(in RoundInput) RoundOutput {
	cfg := &v.cfg
	byUID := make(map[uint64]int, len(in.Peers))
	for i, pi := range in.Peers {
		if _, dup := byUID[pi.UID]; dup {
			panic(fmt.Sprintf("incentive: Validator.Round: uid %d appears twice in round %d", pi.UID, in.Round))
		}
		byUID[pi.UID] = i
		if _, ok := v.peers[pi.UID]; !ok {
			v.peers[pi.UID] = v.newPeer(pi.UID)
			v.order = append(v.order, pi.UID)
		}
	}
	slices.Sort(v.order)
	n := len(v.order)
	rows := make([]ScoreRow, n)
	pens := make([]Penalty, n)
	input := make([]*PeerInput, n)
	excluded := func(p *peer) bool { return in.Round < p.excludedUntil }
	exclude := func(p *peer) {
		v.reset(p)
		p.excludedUntil = in.Round + uint64(cfg.ExcludeRounds) + 1
	}

	// Copy detection over every uploaded payload that carries indices.
	var sets [][]uint32
	var times []float64
	var setOwner []int // row index of each set
	for k, uid := range v.order {
		if i, ok := byUID[uid]; ok {
			input[k] = &in.Peers[i]
			if input[k].Uploaded && input[k].TopK != nil {
				sets = append(sets, input[k].TopK)
				times = append(times, input[k].UploadTimeS)
				setOwner = append(setOwner, k)
			}
		}
	}
	copies := WorstOverlaps(sets, times)
	rowCopy := make([]*Copy, n)
	for s, k := range setOwner {
		rowCopy[k] = &copies[s]
	}

	// Inactivity, exclusions, and the penalties on payloads.
	for k, uid := range v.order {
		p, pi := v.peers[uid], input[k]
		if pi == nil {
			p.inactive++
			if p.inactive >= cfg.ResetInactivityRounds {
				v.reset(p)
				p.inactive = cfg.ResetInactivityRounds
				pens[k] |= PenaltyInactiveReset
			} else if p.final > 0 {
				p.final *= cfg.InactivityMultiplier
				pens[k] |= PenaltyInactive
			}
			continue
		}
		p.inactive = 0
		if excluded(p) {
			pens[k] |= PenaltyExcluded
			continue
		}
		if !pi.Uploaded {
			p.missRun++
			p.misses = push(p.misses, true, cfg.MissWindow)
			pens[k] |= PenaltyMissed
			if mostly(p.misses, cfg.MissWindow, cfg.MissFraction) {
				exclude(p)
				pens[k] |= PenaltyMissedMostly
				continue
			}
			slash(p, cfg.MissMultipliers[min(p.missRun, len(cfg.MissMultipliers))-1])
		} else {
			p.missRun = 0
			p.misses = push(p.misses, false, cfg.MissWindow)
		}
		if c := rowCopy[k]; c != nil && c.CopyOf >= 0 {
			switch ov := c.CopyOverlap; {
			case ov >= cfg.CopyExcludeThreshold:
				exclude(p)
				pens[k] |= PenaltyCopyExclude
				continue
			case ov >= cfg.CopyZeroThreshold:
				slash(p, 0)
				pens[k] |= PenaltyCopyZero
			case ov >= cfg.CopyThreshold:
				slash(p, cfg.CopyMultiplier)
				pens[k] |= PenaltyCopy
			}
		}
		if pi.StepsBehind > cfg.SyncMaxStepsBehind {
			slash(p, cfg.SyncSlash)
			pens[k] |= PenaltyStale
		}
	}

	// Evaluations.
	var candidates []uint64
	for k, uid := range v.order {
		p, pi := v.peers[uid], input[k]
		if pi != nil && pi.Uploaded && pi.Eval != nil && !excluded(p) && pens[k]&PenaltyCopyExclude == 0 {
			candidates = append(candidates, uid)
		}
	}
	chosen := v.ChooseEvaluated(candidates, in.Seed, in.Round)
	evaluated := make([]bool, n)
	var evalRows []int
	for k, uid := range v.order {
		p := v.peers[uid]
		if _, ok := slices.BinarySearch(chosen, uid); ok {
			evaluated[k] = true
			evalRows = append(evalRows, k)
			e := input[k].Eval
			p.ma = MovingAverage(p.ma, e.Indicator(), cfg.IndicatorAlpha)
			p.sync = SyncScore(input[k].StepsBehind, cfg.SyncCap, cfg.SyncExponent)
			p.negatives = push(p.negatives, e.Score() < 0, cfg.NegativeWindow)
			p.sinceEval = 1
		} else if input[k] != nil {
			p.sinceEval++
		}
	}
	if len(evalRows) > 1 {
		ratings := make([]Rating, len(evalRows))
		scores := make([]float64, len(evalRows))
		for j, k := range evalRows {
			ratings[j] = v.peers[v.order[k]].rating
			scores[j] = input[k].Eval.Score()
		}
		rated := cfg.Rating.Rate(ratings, scores)
		for j, k := range evalRows {
			p := v.peers[v.order[k]]
			p.rating = rated[j]
			p.final = p.rating.Ordinal(cfg.OrdinalZ) * max(0, p.ma) * p.sync
			if p.final == 0 {
				p.final = 0 // not −0 from a negative ordinal
			}
		}
		// Mostly negative evaluations, unless the network as a whole is
		// doing badly: the NegativeSkipRank-th best score (or the worst, with
		// fewer peers) is itself negative.
		slices.Sort(scores)
		slices.Reverse(scores)
		if scores[min(cfg.NegativeSkipRank, len(scores))-1] >= 0 {
			for _, k := range evalRows {
				p := v.peers[v.order[k]]
				if mostly(p.negatives, cfg.NegativeWindow, cfg.NegativeFraction) {
					slash(p, cfg.NegativeMultiplier)
					pens[k] |= PenaltyNegative
				}
			}
		}
	}

	// Weights over every known peer not serving an exclusion.
	finals := make([]float64, n)
	for k, uid := range v.order {
		if p := v.peers[uid]; !excluded(p) {
			finals[k] = p.final
		}
	}
	weights := PowerWeights(finals, cfg.Power, cfg.BurnRate)
	burned := 1.0
	for k, uid := range v.order {
		v.peers[uid].weight = weights[k]
		burned -= weights[k]
	}

	// This round's aggregate, from the lists in force. Before any list was
	// chosen, choose one now, from this round's first ratings.
	eligible := make([]bool, n)
	for k, uid := range v.order {
		eligible[k] = input[k] != nil && !excluded(v.peers[uid])
	}
	if !v.listed {
		v.choose(weights, eligible)
		v.lastRefresh = in.Round
	}
	gathered := v.gathered(byUID, in)
	if in.Round-v.lastRefresh >= uint64(cfg.RefreshRounds) {
		v.choose(weights, eligible)
		v.lastRefresh = in.Round
	}

	for k, uid := range v.order {
		p, pi := v.peers[uid], input[k]
		r := ScoreRow{
			Round: int64(in.Round), Peer: int64(uid),
			Active:        pi != nil,
			UploadTimeS:   math.NaN(),
			Excluded:      excluded(p),
			Evaluated:     evaluated[k],
			LossOwnBefore: math.NaN(), LossOwnAfter: math.NaN(),
			LossRandomBefore: math.NaN(), LossRandomAfter: math.NaN(),
			ImprovementOwn: math.NaN(), Score: math.NaN(), Indicator: math.NaN(),
			IndicatorMA: p.ma,
			Mu:          p.rating.Mu, Sigma: p.rating.Sigma,
			Ordinal:     p.rating.Ordinal(cfg.OrdinalZ),
			StepsBehind: math.NaN(),
			SyncScore:   p.sync,
			MaxOverlap:  math.NaN(), MaxOverlapPeer: -1,
			CopyOverlap: math.NaN(), CopyOf: -1,
			Penalties:    int64(pens[k]),
			PenaltyNames: pens[k].String(),
			MissedInARow: int64(p.missRun),
			FinalScore:   p.final,
			Weight:       p.weight,
		}
		if p.excludedUntil > 0 {
			r.ExcludedUntil = int64(p.excludedUntil)
		}
		if pi != nil {
			r.Uploaded = pi.Uploaded
			if pi.Uploaded {
				r.UploadTimeS = pi.UploadTimeS
			}
			r.StepsBehind = pi.StepsBehind
		}
		if evaluated[k] {
			e := pi.Eval
			r.LossOwnBefore, r.LossOwnAfter = e.LossOwnBefore, e.LossOwnAfter
			r.LossRandomBefore, r.LossRandomAfter = e.LossRandomBefore, e.LossRandomAfter
			r.ImprovementOwn, r.Score, r.Indicator = e.OwnImprovement(), e.Score(), e.Indicator()
		}
		if c := rowCopy[k]; c != nil && c.With >= 0 {
			r.MaxOverlap, r.MaxOverlapPeer = c.Overlap, int64(v.order[setOwner[c.With]])
			if c.CopyOf >= 0 {
				r.CopyOverlap, r.CopyOf = c.CopyOverlap, int64(v.order[setOwner[c.CopyOf]])
			}
		}
		_, r.Gathered = slices.BinarySearch(gathered, uid)
		r.InGather = slices.Contains(v.gather, uid)
		r.InReserve = slices.Contains(v.reserve, uid)
		rows[k] = r
	}
	return RoundOutput{
		Rows:        rows,
		Gathered:    gathered,
		GatherList:  slices.Clone(v.gather),
		ReserveList: slices.Clone(v.reserve),
		Burned:      max(burned, 0),
	}
}

// choose picks the gather and reserve lists from the current weights.
func (v *Validator) choose(weights []float64, eligible []bool) {
	// Peers without weight are ranked by their rating, so a peer the
	// validator has seen do harm never fills a free place ahead of one it
	// has seen do good.
	rank := make([]float64, len(v.order))
	for k, uid := range v.order {
		rank[k] = v.peers[uid].rating.Ordinal(v.cfg.OrdinalZ)
	}
	g, r := SelectPeers(weights, rank, v.order, eligible, v.cfg.GatherPeers, v.cfg.ReservePeers)
	v.gather, v.reserve = v.gather[:0], v.reserve[:0]
	for _, k := range g {
		v.gather = append(v.gather, v.order[k])
	}
	for _, k := range r {
		v.reserve = append(v.reserve, v.order[k])
	}
	v.listed = true
}

// gathered returns, sorted, the gather list's peers that uploaded this round
// and are not excluded, with reserves (in list order) standing in for those
// that did not.
func (v *Validator) gathered(byUID map[uint64]int, in RoundInput) []uint64 {
	ok := func(uid uint64) bool {
		i, present := byUID[uid]
		return present && in.Peers[i].Uploaded && in.Round >= v.peers[uid].excludedUntil
	}
	var out []uint64
	missing := 0
	for _, uid := range v.gather {
		if ok(uid) {
			out = append(out, uid)
		} else {
			missing++
		}
	}
	for _, uid := range v.reserve {
		if missing == 0 {
			break
		}
		if ok(uid) {
			out = append(out, uid)
			missing--
		}
	}
	slices.Sort(out)
	return out
}

// Excluded reports whether peer uid is serving an exclusion in round: a
// caller need not spend an evaluation on it.
func (v *Validator) Excluded(uid, round uint64) bool {
	p, ok := v.peers[uid]
	return ok && round < p.excludedUntil
}
