package sim

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/locosim/locosim/compress"
	"github.com/locosim/locosim/data"
	"github.com/locosim/locosim/incentive"
	"github.com/locosim/locosim/model"
	"github.com/locosim/locosim/record"
)

// IncentiveConfig is the incentive layer of permissionless training
// (incentive.*): every peer trains on data assigned by its uid and the
// round, a validator scores what each peer uploads with Templar's Gauntlet
// (package incentive) on the real model and the real payloads, and the
// peers with the best weights are the ones gathered into the aggregate.
// Some peers may try to game it (incentive.attack.*).
type IncentiveConfig struct {
	// Enabled turns the layer on: data assignment, attackers, the
	// validator and scores.parquet.
	Enabled bool `mapstructure:"enabled" yaml:"enabled"`
	// Mechanism: the aggregate is the validator's gather list (with
	// reserves). Off, it is a plain gather of gauntlet.gather_peers uploads
	// drawn at random each round; the validator still scores, so the
	// scores show what it would have done.
	Mechanism bool `mapstructure:"mechanism" yaml:"mechanism"`
	// EvalBatches is the batches of the peer's own data, and of random
	// data, that one evaluation measures the loss on. What training on its
	// own data leaves in a pseudo-gradient is small against the noise of
	// a few batches: at 2 batches (of 4 sequences) honest peers' indicator
	// is little better than a coin; at 8 it is +1 about 85 % of the time.
	EvalBatches int `mapstructure:"eval_batches" yaml:"eval_batches"`
	// EvalWindowS is how long after a round's end the validator may go on
	// evaluating its payloads (0: as long as the round took). Peers it
	// cannot reach by then are not evaluated that round.
	EvalWindowS float64         `mapstructure:"eval_window_s" yaml:"eval_window_s"`
	Validator   ValidatorConfig `mapstructure:"validator" yaml:"validator"`
	// Gauntlet holds the mechanism's constants, published values by
	// default (package incentive says where each comes from).
	Gauntlet incentive.Config `mapstructure:"gauntlet" yaml:"gauntlet"`
	Attack   AttackConfig     `mapstructure:"attack" yaml:"attack"`
}

// ValidatorConfig is the validator's machine, which spends simulated time
// on every evaluation: a download of the payload, then forward passes.
type ValidatorConfig struct {
	Flops      float64 `mapstructure:"flops" yaml:"flops"` // achieved FLOP/s
	BwDownMbps float64 `mapstructure:"bw_down_mbps" yaml:"bw_down_mbps"`
	LatencyMs  float64 `mapstructure:"latency_ms" yaml:"latency_ms"`
}

// AttackConfig makes shares of the peers attackers (drawn from the seed;
// the shares add up to at most 1) and says how each attacks.
type AttackConfig struct {
	FreeRider float64 `mapstructure:"free_rider" yaml:"free_rider"`
	Copier    float64 `mapstructure:"copier" yaml:"copier"`
	Lazy      float64 `mapstructure:"lazy" yaml:"lazy"`
	Stale     float64 `mapstructure:"stale" yaml:"stale"`
	Poisoner  float64 `mapstructure:"poisoner" yaml:"poisoner"`
	Sybil     float64 `mapstructure:"sybil" yaml:"sybil"`

	// FreeRiderPayload is zeros or noise (Gaussian, as large as θ's last
	// move per unit of outer learning rate), passed through the compressor
	// so that it has an honest payload's shape.
	FreeRiderPayload string `mapstructure:"free_rider_payload" yaml:"free_rider_payload"`
	// CopierNoise: 0 re-uploads the victim's payload byte for byte; above
	// 0, Gaussian noise of that many times the payload's RMS is added to
	// its dense form, which the copier's compressor then selects anew.
	CopierNoise float64 `mapstructure:"copier_noise" yaml:"copier_noise"`
	// CopierLate: a copier's upload starts only once it could have fetched
	// the victim's upload (otherwise as soon as its own pretend compute
	// ends, and it may land first).
	CopierLate bool `mapstructure:"copier_late" yaml:"copier_late"`
	// LazyData is random (data nobody was assigned) or other (the next
	// peer's assignment).
	LazyData string `mapstructure:"lazy_data" yaml:"lazy_data"`
	// StaleLag is how many rounds old the model a stale peer trains from
	// is; 0: the initial model, for ever.
	StaleLag int `mapstructure:"stale_lag" yaml:"stale_lag"`
	// Poison is signflip or scale, by PoisonScale.
	Poison      string  `mapstructure:"poison" yaml:"poison"`
	PoisonScale float64 `mapstructure:"poison_scale" yaml:"poison_scale"`
	// SybilIDs is how many ids one sybil operator holds: the first trains
	// honestly and the others upload the same payload.
	SybilIDs int `mapstructure:"sybil_ids" yaml:"sybil_ids"`
}

// DefaultIncentiveConfig is the layer off, with the published constants
// and a datacentre validator (an H100 at 40 % of its dense bf16 peak,
// 1 Gbit/s down).
func DefaultIncentiveConfig() IncentiveConfig {
	return IncentiveConfig{
		Mechanism:   true,
		EvalBatches: 8,
		Validator:   ValidatorConfig{Flops: 4e14, BwDownMbps: 1000, LatencyMs: 30},
		Gauntlet:    incentive.DefaultConfig(),
		Attack: AttackConfig{FreeRiderPayload: "noise", CopierLate: true, LazyData: "random", StaleLag: 4,
			Poison: AttackSignFlip, PoisonScale: 10, SybilIDs: 3},
	}
}

func (c IncentiveConfig) validate(cfg *Config, alg Algorithm) error {
	if !c.Enabled {
		return nil
	}
	k := cfg.Strategy.Kind
	switch {
	case alg.NodeParams:
		return fmt.Errorf("incentive.enabled: %s's nodes hold weights of their own; the incentive layer scores payloads against a shared θ", k)
	case alg.EveryStep:
		return fmt.Errorf("incentive.enabled: %s synchronises every step; the incentive layer scores pseudo-gradients of inner steps", k)
	case cfg.Sync.Overlap:
		return errors.New("incentive.enabled: sync.overlap applies aggregates a round late; the validator scores payloads against the θ they were computed from (turn overlap off)")
	}
	if c.EvalBatches < 1 {
		return fmt.Errorf("incentive.eval_batches %d: want at least 1", c.EvalBatches)
	}
	if !(c.EvalWindowS >= 0) || math.IsInf(c.EvalWindowS, 0) {
		return fmt.Errorf("incentive.eval_window_s %v: want >= 0 and finite", c.EvalWindowS)
	}
	v := c.Validator
	if !(v.Flops > 0) || !(v.BwDownMbps > 0) || !(v.LatencyMs >= 0) || math.IsInf(v.Flops+v.BwDownMbps+v.LatencyMs, 0) {
		return fmt.Errorf("incentive.validator: flops %v, bw_down_mbps %v, latency_ms %v: want positive, positive, non-negative", v.Flops, v.BwDownMbps, v.LatencyMs)
	}
	if err := c.Gauntlet.Validate(); err != nil {
		return fmt.Errorf("incentive.gauntlet: %w", err)
	}
	a := c.Attack
	total := 0.0
	for _, s := range []struct {
		key string
		v   float64
	}{{"free_rider", a.FreeRider}, {"copier", a.Copier}, {"lazy", a.Lazy}, {"stale", a.Stale}, {"poisoner", a.Poisoner}, {"sybil", a.Sybil}} {
		if !(s.v >= 0 && s.v <= 1) {
			return fmt.Errorf("incentive.attack.%s %v: want a share between 0 and 1", s.key, s.v)
		}
		total += s.v
	}
	if total > 1+1e-9 {
		return fmt.Errorf("incentive.attack: the attackers' shares add up to %v, more than the whole cluster", total)
	}
	if a.FreeRiderPayload != "zeros" && a.FreeRiderPayload != "noise" {
		return fmt.Errorf("incentive.attack.free_rider_payload %q: want zeros or noise", a.FreeRiderPayload)
	}
	if !(a.CopierNoise >= 0) || math.IsInf(a.CopierNoise, 0) {
		return fmt.Errorf("incentive.attack.copier_noise %v: want >= 0", a.CopierNoise)
	}
	if a.LazyData != "random" && a.LazyData != "other" {
		return fmt.Errorf("incentive.attack.lazy_data %q: want random or other", a.LazyData)
	}
	if a.StaleLag < 0 {
		return fmt.Errorf("incentive.attack.stale_lag %d: want >= 0", a.StaleLag)
	}
	if a.Poison != AttackSignFlip && a.Poison != AttackScale {
		return fmt.Errorf("incentive.attack.poison %q: want signflip or scale", a.Poison)
	}
	if !(a.PoisonScale > 0) || math.IsInf(a.PoisonScale, 0) {
		return fmt.Errorf("incentive.attack.poison_scale %v: want > 0", a.PoisonScale)
	}
	if a.SybilIDs < 2 {
		return fmt.Errorf("incentive.attack.sybil_ids %d: a sybil operator holds at least 2 ids", a.SybilIDs)
	}
	return nil
}

// incentiveLayer is a run's incentive state: the peers' roles, the
// validator, and what the attackers need.
type incentiveLayer struct {
	cfg     IncentiveConfig
	v       *incentive.Validator
	roles   []string
	source  [][]int // a copier's victims, a sybil follower's leader, in order of preference
	copyOf  []int   // this round's source of each copier and sybil follower (−1: none)
	shards  int     // data shards the assignments draw from
	stride  int     // uids per round in the step offsets: peers, random data, lazy data
	span    int     // inner steps of assigned data per round
	history [][]float32
	model   *model.Model // the validator's scratch model
	dense   []float32
	offsets []int // each tensor's offset in the flat parameter vector
	prev    []float32
	noise   float64 // RMS of θ's last move per unit of α
	wire    int64   // an honest payload's (projected) size, for timing estimates
}

// newIncentive sets up the layer for run r, or returns nil when it is off.
func (r *Run) newIncentive() (*incentiveLayer, error) {
	c := r.cfg.Incentive
	if !c.Enabled {
		return nil, nil
	}
	if _, enc := r.strat.(Encoder); enc {
		return nil, fmt.Errorf("incentive.enabled: %s encodes its own payloads; the incentive layer needs the compressor's", r.cfg.Strategy.Kind)
	}
	if _, driven := r.strat.(Driver); driven {
		return nil, fmt.Errorf("incentive.enabled: %s schedules its nodes itself; the incentive layer scores synchronous rounds", r.cfg.Strategy.Kind)
	}
	n := len(r.nodes)
	L := &incentiveLayer{cfg: c, v: incentive.NewValidator(c.Gauntlet), roles: make([]string, n), source: make([][]int, n),
		copyOf: make([]int, n), shards: n + 1, stride: 2*n + 2, span: r.stepsPerRound, model: r.global.Clone(),
		dense: make([]float32, len(r.global.Params())), prev: slices.Clone(r.global.Params())}
	if r.cfg.Sync.Mode == SyncWindow {
		L.span = r.cfg.Sync.MaxSteps
	}
	for _, t := range r.global.Layout() {
		L.offsets = append(L.offsets, t.Offset)
	}
	// Roles: shares of a permutation drawn from the seed, in a fixed order.
	rng := rand.New(rand.NewPCG(r.cfg.Seed, 0x726f6c6573)) // "roles"
	perm := rng.Perm(n)
	a := c.Attack
	next := 0
	take := func(share float64, role string) []int {
		k := min(int(math.Round(share*float64(n))), n-next)
		ids := slices.Clone(perm[next : next+k])
		next += k
		for _, i := range ids {
			L.roles[i] = role
		}
		return ids
	}
	take(a.FreeRider, record.RoleFreeRider)
	copiers := take(a.Copier, record.RoleCopier)
	take(a.Lazy, record.RoleLazy)
	take(a.Stale, record.RoleStale)
	poisoners := take(a.Poisoner, record.RolePoisoner)
	sybils := take(a.Sybil, record.RoleSybil)
	var honest []int
	for i := range L.roles {
		if L.roles[i] == "" {
			L.roles[i] = record.RoleHonest
			honest = append(honest, i)
		}
	}
	for _, i := range copiers {
		// Each copier has its own order of preferred victims.
		pref := slices.Clone(honest)
		rand.New(rand.NewPCG(r.cfg.Seed, 0x636f7079<<32|uint64(i))).Shuffle(len(pref), func(x, y int) { pref[x], pref[y] = pref[y], pref[x] }) // "copy"
		L.source[i] = pref
	}
	slices.Sort(sybils)
	for g := 0; g < len(sybils); g += a.SybilIDs {
		group := sybils[g:min(g+a.SybilIDs, len(sybils))]
		for _, i := range group[1:] {
			L.source[i] = []int{group[0]}
		}
	}
	for _, i := range poisoners {
		node := i
		if err := (&FaultSeam{r: r}).Tamper(node, func(p *compress.Payload, round int) {
			attack(p, a.Poison, a.PoisonScale, r.cfg.Seed, node, round)
		}); err != nil {
			return nil, err
		}
	}
	// An honest payload's size: the compressor's format for this layout.
	st := r.comp.NewState()
	p, err := r.comp.Compress(st, make([]float32, len(L.dense)), 0)
	if err != nil {
		return nil, err
	}
	w, err := r.comp.Encode(p)
	if err != nil {
		return nil, err
	}
	L.wire = r.projectBytes(len(w))
	return L, nil
}

// copies reports whether node i uploads another's payload instead of
// training (a copier, or a sybil's follower).
func (L *incentiveLayer) copies(i int) bool { return len(L.source[i]) > 0 }

// trains reports whether node i's work trains the model.
func (L *incentiveLayer) trains(i int) bool {
	return !L.copies(i) && L.roles[i] != record.RoleFreeRider
}

// dataUID is whose assignment node i trains on in a round.
func (L *incentiveLayer) dataUID(i, n int) int {
	if L.roles[i] != record.RoleLazy {
		return i
	}
	if L.cfg.Attack.LazyData == "other" {
		return (i + 1) % n
	}
	return n + 1 + i // an assignment no peer holds
}

// assigned returns the data stream of uid's assignment in round, placed at
// its first batch. Assignments are a shard drawn from AssignedSeed and a
// range of steps of that shard's stream that no other (uid, round) uses,
// so anyone can recompute a peer's data and no two peers share a batch.
// uid n (the number of peers) is the random data nobody is assigned.
func (r *Run) assigned(uid, round int) (data.Stream, error) {
	L := r.inc
	shard := int(incentive.AssignedSeed(uint64(uid), uint64(round)) % uint32(L.shards))
	st, err := r.corpus.NodeStream(shard, L.shards, data.Shape{Batch: r.cfg.Train.BatchSize, SeqLen: r.cfg.Model.SeqLen})
	if err != nil {
		return nil, err
	}
	st.SetStep(int64(round*L.stride+uid) * int64(L.span))
	return st, nil
}

// startIncentiveRound prepares round's attackers at its start, before any
// work is requested: stale snapshots, free riders' noise scale, and each
// copier's source. It returns, for the round's schedule, whose upload each
// late copier waits for and how long it takes to fetch it (nil: none).
func (r *Run) startIncentiveRound(round int, start float64, stale []bool) (waitFor []int, fetchS []float64) {
	L := r.inc
	theta := r.global.Params()
	var ss float64
	for k, x := range theta {
		d := float64(x) - float64(L.prev[k])
		ss += d * d
	}
	L.noise = math.Sqrt(ss/float64(len(theta))) / r.cfg.Strategy.OuterLR
	copy(L.prev, theta)
	if lag := L.cfg.Attack.StaleLag; slices.Contains(L.roles, record.RoleStale) {
		if len(L.history) == 0 || lag > 0 {
			L.history = append(L.history, slices.Clone(theta))
		}
		if lag > 0 && len(L.history) > lag+1 {
			L.history = L.history[1:]
		}
	}
	for i := range r.nodes {
		L.copyOf[i] = -1
		for _, j := range L.source[i] {
			if r.cluster.Nodes[j].UpAt(start) && !stale[j] {
				L.copyOf[i] = j
				break
			}
		}
		if v := L.copyOf[i]; v >= 0 && L.roles[i] == record.RoleCopier && L.cfg.Attack.CopierLate {
			if waitFor == nil {
				waitFor, fetchS = make([]int, len(r.nodes)), make([]float64, len(r.nodes))
				for k := range waitFor {
					waitFor[k] = -1
				}
			}
			waitFor[i] = v
			fetchS[i] = float64(L.wire)*8/(r.cluster.Nodes[i].BwDownMbps*1e6) + r.cluster.LatencyS(r.cluster.StoreID(), i)
		}
	}
	return waitFor, fetchS
}

// staleStart is the model a stale peer trains from, and how many rounds
// behind it is.
func (L *incentiveLayer) staleStart(round int) ([]float32, float64) {
	h := L.history[0]
	if L.cfg.Attack.StaleLag == 0 {
		return h, float64(round)
	}
	return h, float64(len(L.history) - 1)
}

// localIncentive does node n's work under its role; done reports whether
// it did all of it (else the caller trains and compresses as usual, from
// the stream it set).
func (r *Run) localIncentive(w *Worker, n *Node, q *request) (done bool, restore func(), err error) {
	L := r.inc
	if L.copies(n.ID) {
		q.idle, q.copyPending = true, true
		return true, nil, nil
	}
	if L.roles[n.ID] == record.RoleFreeRider {
		q.idle = true
		delta := w.Delta
		clear(delta)
		if L.cfg.Attack.FreeRiderPayload == "noise" {
			rng := rand.New(rand.NewPCG(compress.DeriveSeed(r.cfg.Seed, n.ID, q.round), 0x66726565)) // "free"
			for k := range delta {
				delta[k] = float32(rng.NormFloat64() * L.noise)
			}
		}
		return true, nil, r.compressLocal(n, q, delta)
	}
	st, err := r.assigned(L.dataUID(n.ID, len(r.nodes)), q.round)
	if err != nil {
		return false, nil, err
	}
	own := n.Stream
	n.Stream = st
	return false, func() { n.Stream = own }, nil
}

// fillCopy makes a copier's (or sybil follower's) payload from its
// source's, once that is done; with no source up this round (its victims
// or its operator's first id all down or catching up) it uploads zeros. It
// runs on the event loop, after the node's own (empty) work is over.
func (p *pool) fillCopy(q *request) error {
	r := p.r
	L := r.inc
	q.copyPending = false
	v := L.copyOf[q.node]
	var src *request
	if v >= 0 {
		if s := p.byNode[v]; s != nil {
			<-s.done
			src = p.trained(v)
		}
	}
	n := r.nodes[q.node]
	if src == nil {
		clear(L.dense)
		return r.compressLocal(n, q, L.dense)
	}
	if L.cfg.Attack.CopierNoise == 0 || L.roles[q.node] == record.RoleSybil {
		q.wire, q.size = slices.Clone(src.wire), src.size
		return nil
	}
	if _, err := r.comp.AggregateEncoded(L.dense, [][]byte{src.wire}); err != nil {
		return err
	}
	var ss float64
	nz := 0
	for _, x := range L.dense {
		if x != 0 {
			ss += float64(x) * float64(x)
			nz++
		}
	}
	sigma := L.cfg.Attack.CopierNoise * math.Sqrt(ss/float64(max(nz, 1)))
	rng := rand.New(rand.NewPCG(compress.DeriveSeed(r.cfg.Seed, q.node, q.round), 0x6e6f697365)) // "noise"
	for k := range L.dense {
		L.dense[k] += float32(rng.NormFloat64() * sigma)
	}
	return r.compressLocal(n, q, L.dense)
}

// validate scores round f's payloads with the validator and returns the
// nodes whose payloads form the aggregate, and the round's score rows.
func (r *Run) validate(f *flight) ([]int, []record.Score, error) {
	L := r.inc
	n := len(r.nodes)
	cfg := L.cfg
	theta := r.global.Params()
	alpha := float32(r.cfg.Strategy.OuterLR)

	// Every uploaded payload: its top-k set, dense form and norm.
	uploaded := make([]bool, n)
	sets := make([][]uint32, n)
	norms := make([]float64, n)
	denses := make([][]float32, n)
	var uids []uint64
	for i, nr := range f.res.nodes {
		q := f.pool.trained(i)
		if !nr.InAggregate || q == nil {
			continue
		}
		uploaded[i] = true
		pl, err := r.comp.Decode(q.wire)
		if err != nil {
			return nil, nil, fmt.Errorf("validator: node %d's payload: %w", i, err)
		}
		sets[i] = L.topK(pl)
		d := make([]float32, len(theta))
		if _, err := r.comp.Aggregate(d, []*compress.Payload{pl}); err != nil { // decoded once, above
			return nil, nil, fmt.Errorf("validator: node %d's payload: %w", i, err)
		}
		var ss float64
		for _, x := range d {
			ss += float64(x) * float64(x)
		}
		denses[i], norms[i] = d, math.Sqrt(ss)
		if !L.v.Excluded(uint64(i), uint64(f.round)) {
			uids = append(uids, uint64(i))
		}
	}
	seed := r.cfg.Seed ^ 0x76616c6964 // "valid"
	chosen := L.v.ChooseEvaluated(uids, seed, uint64(f.round))
	// The validator fetches and evaluates the chosen payloads in the order
	// they reached the store, until its time is up.
	slices.SortStableFunc(chosen, func(a, b uint64) int {
		return cmp.Compare(f.res.nodes[a].UploadEndS, f.res.nodes[b].UploadEndS)
	})
	window := cfg.EvalWindowS
	if window == 0 {
		window = f.res.endS - f.start
	}
	deadline := f.res.endS + window
	perEval := float64(cfg.EvalBatches) * r.flopsPerStep / cfg.Validator.Flops   // three forward passes of each batch
	t := f.start + float64(cfg.EvalBatches)*r.flopsPerStep/3/cfg.Validator.Flops // the random sample's loss before
	var evaluate []int
	for _, uid := range chosen {
		i := int(uid)
		bytes := float64(r.projectBytes(len(f.pool.byNode[i].wire)))
		end := math.Max(t, f.res.nodes[i].UploadEndS) + cfg.Validator.LatencyMs/1e3 + bytes*8/(cfg.Validator.BwDownMbps*1e6) + perEval
		if end > deadline {
			break
		}
		t = end
		evaluate = append(evaluate, i)
	}
	slices.Sort(evaluate)

	evals := make([]*incentive.Evaluation, n)
	if len(evaluate) > 0 {
		clip := incentive.ClipScales(slices.Clone(norms))
		random, err := r.sampleBatches(n, f.round, 0)
		if err != nil {
			return nil, nil, err
		}
		randBefore, err := evalLoss(r.global, r.evalWS, random)
		if err != nil {
			return nil, nil, err
		}
		for _, i := range evaluate {
			own, err := r.sampleBatches(i, f.round, 1)
			if err != nil {
				return nil, nil, err
			}
			ownBefore, err := evalLoss(r.global, r.evalWS, own)
			if err != nil {
				return nil, nil, err
			}
			// The peer's pseudo-gradient alone, scaled as the outer step
			// would, clipped to the round's median norm.
			after := L.model.Params()
			s := alpha * float32(clip[i])
			for k, x := range theta {
				after[k] = x - s*denses[i][k]
			}
			ownAfter, err := evalLoss(L.model, r.evalWS, own)
			if err != nil {
				return nil, nil, err
			}
			randAfter, err := evalLoss(L.model, r.evalWS, random)
			if err != nil {
				return nil, nil, err
			}
			evals[i] = &incentive.Evaluation{LossOwnBefore: ownBefore, LossOwnAfter: ownAfter, LossRandomBefore: randBefore, LossRandomAfter: randAfter}
		}
	}

	in := incentive.RoundInput{Round: uint64(f.round), Seed: seed}
	for i, nr := range f.res.nodes {
		if nr.Status == record.StatusDown {
			continue // absent: inactive
		}
		pi := incentive.PeerInput{UID: uint64(i), Uploaded: uploaded[i], UploadTimeS: nr.UploadEndS, TopK: sets[i], Eval: evals[i]}
		switch {
		case L.roles[i] == record.RoleStale:
			_, pi.StepsBehind = L.staleStart(f.round)
		default:
			pi.StepsBehind = 0
		}
		in.Peers = append(in.Peers, pi)
	}
	out := L.v.Round(in)

	var gathered []int
	if cfg.Mechanism {
		for _, uid := range out.Gathered {
			gathered = append(gathered, int(uid))
		}
	} else {
		// A plain gather: G of the uploads, drawn at random.
		var up []int
		for i := range uploaded {
			if uploaded[i] {
				up = append(up, i)
			}
		}
		rng := rand.New(rand.NewPCG(r.cfg.Seed^0x706c61696e, uint64(f.round))) // "plain"
		rng.Shuffle(len(up), func(a, b int) { up[a], up[b] = up[b], up[a] })
		gathered = up[:min(len(up), cfg.Gauntlet.GatherPeers)]
		slices.Sort(gathered)
		for k := range out.Rows {
			_, out.Rows[k].Gathered = slices.BinarySearch(gathered, int(out.Rows[k].Peer))
		}
	}
	return gathered, out.Rows, nil
}

// sampleBatches returns the validator's sample of uid's assigned data in
// round (own = 1: EvalBatches of the batches the peer was assigned, chosen
// by EvalSeed) or of the random data nobody was assigned (uid = peers,
// own = 0: its first batches).
func (r *Run) sampleBatches(uid, round, own int) ([]*data.Batch, error) {
	L := r.inc
	st, err := r.assigned(uid, round)
	if err != nil {
		return nil, err
	}
	k := L.cfg.EvalBatches
	idx := make([]int, k)
	for j := range idx {
		idx[j] = j
	}
	if own == 1 {
		rng := rand.New(rand.NewPCG(uint64(incentive.EvalSeed(uint64(uid), uint64(round))), 0))
		idx = rng.Perm(L.span)[:min(k, L.span)]
	}
	base := st.Step()
	out := make([]*data.Batch, len(idx))
	for j, s := range idx {
		out[j] = &data.Batch{}
		st.BatchAt(base+int64(s), out[j])
	}
	return out, nil
}

// topK is a payload's set of indices in the flat parameter vector, or nil
// for a dense payload.
func (L *incentiveLayer) topK(p *compress.Payload) []uint32 {
	var out []uint32
	for t, tp := range p.Tensors {
		if tp.Indices == nil {
			return nil
		}
		for _, k := range tp.Indices {
			out = append(out, uint32(L.offsets[t]+int(k)))
		}
	}
	return out
}
