package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"time"

	"github.com/locosim/locosim/compress"
	"github.com/locosim/locosim/data"
	"github.com/locosim/locosim/des"
	"github.com/locosim/locosim/model"
	"github.com/locosim/locosim/netmodel"
	"github.com/locosim/locosim/record"
)

// Run is one simulated training run of many nodes: every node really trains
// its own replica on its own data, its pseudo-gradient is really compressed
// and encoded, and the network simulator decides how long everything takes
// and whose payloads reach the aggregate. Drive it round by round with Step,
// or to the end with Run.
//
// The nodes share one global model θ: after each round every node that took
// part applies the same aggregate (the payloads every finishing node holds),
// and a node that was down or crashed downloads θ before it computes again.
type Run struct {
	cfg    Config
	corpus data.Corpus
	comp   compress.Compressor
	alg    Algorithm
	strat  Strategy

	eng     *des.Engine
	net     *netmodel.Network
	pattern netmodel.Pattern
	cluster *netmodel.Cluster

	global  *model.Model
	nodes   []*Node
	workers []*Worker
	evalWS  *model.Workspace
	// nodeEval holds a node's own weights while they are evaluated.
	nodeEval *model.Model
	evals    []*data.Batch
	floor    float64

	// Simulated-time scaling (projection).
	flopsPerStep float64
	bytesScale   float64
	modelBytes   int64

	round, rounds int // communication rounds done and planned
	stepsPerRound int // inner steps per communication round (H, or 1)
	evalEvery     int // rounds between evaluations
	globalStep    int // inner steps of the reference model
	clock         float64
	bytesUp       int64
	bytesDown     int64
	tokens        int64
	computeS      float64 // simulated compute time summed over nodes
	lastEval      record.Eval
	prev          *flight        // overlap: the round whose aggregate is still in flight
	exchangeEnd   float64        // overlap: when the last finished round's exchange ended
	core          *Core          // a driven run's (Driver strategies)
	faultEvents   []record.Event // link faults, written with the node records
	faultErr      error          // from a fault acting during the run
	// separateOverlap gives each overlapping round a network of its own, as
	// before rounds shared one (tests compare the two).
	separateOverlap bool
	lastTrainLoss   float64
	inc             *incentiveLayer // the incentive layer, nil when off

	// Timing, in wall-clock seconds, when Options.Now is set.
	now    func() time.Time
	Timing Timing
}

// Timing is where a run's wall-clock time went.
type Timing struct {
	Workers     int     // goroutines training nodes
	Local       float64 // training and compressing, all nodes (parallel)
	CompressCPU float64 // compress+encode CPU time summed over nodes
	Network     float64 // the discrete-event network simulation
	Aggregate   float64 // decoding, aggregating and applying payloads
	Eval        float64 // evaluating the global model
}

// Training estimates the wall time spent training: the parallel local phase
// less its share of compression.
func (t Timing) Training() float64 {
	return t.Local - t.CompressCPU/float64(max(t.Workers, 1))
}

// Options are a run's inputs beyond its configuration.
type Options struct {
	// Now, if set, is used to measure where wall-clock time goes; it
	// changes no result.
	Now func() time.Time
	// Faults are installed through the fault seam after the configured
	// ones (cluster.churn, faults.*): a researcher's own failure model.
	Faults []Fault
}

// NewRun builds the cluster, the replicas' states and the network.
func NewRun(cfg Config, opts Options) (*Run, error) {
	if err := cfg.ValidateRun(); err != nil {
		return nil, err
	}
	corpus, err := data.Open(cfg.Data, cfg.Seed)
	if err != nil {
		return nil, err
	}
	if corpus.Vocab() > cfg.Model.Vocab {
		return nil, fmt.Errorf("corpus vocabulary %d exceeds model.vocab %d", corpus.Vocab(), cfg.Model.Vocab)
	}
	// Availability comes in through the fault seam with the other faults.
	ccfg := cfg.Cluster
	ccfg.Churn = netmodel.ChurnConfig{}
	cluster, err := netmodel.Build(ccfg, cfg.Seed)
	if err != nil {
		return nil, err
	}
	eng := des.New()
	net, err := netmodel.NewNetwork(cluster, eng, cfg.Seed)
	if err != nil {
		return nil, err
	}
	pattern, err := cfg.exchangeConfig().Build(cluster.Len())
	if err != nil {
		return nil, err
	}
	global, err := model.New(cfg.Model, cfg.Seed)
	if err != nil {
		return nil, err
	}
	comp, err := compress.New(cfg.CompressorConfig(), global.Layout())
	if err != nil {
		return nil, err
	}
	r := &Run{cfg: cfg, corpus: corpus, comp: comp, eng: eng, net: net, pattern: pattern, cluster: cluster,
		global: global, now: opts.Now, lastTrainLoss: math.NaN()}

	n := cluster.Len()
	H := cfg.Train.InnerSteps
	if r.alg, err = lookup(cfg.Strategy.Kind); err != nil {
		return nil, err
	}
	section, err := cfg.Section(cfg.Strategy.Kind)
	if err != nil {
		return nil, err
	}
	k, err := r.alg.roundsPerPeriod(&cfg, section)
	if err != nil {
		return nil, err
	}
	r.stepsPerRound, r.rounds, r.evalEvery = H/k, cfg.Train.OuterRounds*k, cfg.Train.EvalEvery*k
	opt := cfg.Train.schedule(cfg.Train.OuterRounds * H)
	if r.strat, err = r.alg.New(&Env{Config: cfg, Theta: global, Compressor: comp, Optimizer: opt, Section: section}); err != nil {
		return nil, fmt.Errorf("strategy %s: %w", cfg.Strategy.Kind, err)
	}
	if _, enc := r.strat.(Encoder); enc && cfg.Faults.MaliciousShare > 0 {
		return nil, fmt.Errorf("faults.malicious_share: %s encodes its own payloads, which tampering cannot reach", cfg.Strategy.Kind)
	}
	if _, driven := r.strat.(Driver); driven && (cfg.Sync.Mode != SyncFixed || cfg.Sync.Overlap) {
		return nil, fmt.Errorf("sync.mode %s, sync.overlap %v: %s schedules its nodes itself (use sync.mode fixed, no overlap)",
			cfg.Sync.Mode, cfg.Sync.Overlap, cfg.Strategy.Kind)
	}

	shape := data.Shape{Batch: cfg.Train.BatchSize, SeqLen: cfg.Model.SeqLen}
	for i := range n {
		st, err := corpus.NodeStream(i, n, shape)
		if err != nil {
			return nil, err
		}
		nd := &Node{ID: i, State: comp.NewState(), Stream: st,
			Rand: rand.New(rand.NewPCG(cfg.Seed, 0x6e6f6465<<32|uint64(i)))} // "node"
		if r.alg.NodeParams {
			nd.Params = slices.Clone(global.Params())
		}
		if r.alg.NodeOptimizer {
			if nd.Opt, err = model.NewAdamW(opt, global.Layout()); err != nil {
				return nil, err
			}
		}
		r.nodes = append(r.nodes, nd)
	}
	seam := &FaultSeam{r: r, factors: map[linkKey][]float64{}}
	for _, f := range append(cfg.faults(), opts.Faults...) {
		if err := f.Install(seam); err != nil {
			return nil, fmt.Errorf("fault %T: %w", f, err)
		}
	}
	r.faultEvents = seam.events
	if r.inc, err = r.newIncentive(); err != nil {
		return nil, err
	}
	workers := cfg.Train.Workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	for range min(workers, n) {
		ws, err := model.NewWorkspace(cfg.Model, cfg.Train.BatchSize, 1)
		if err != nil {
			return nil, err
		}
		r.workers = append(r.workers, &Worker{Model: global.Clone(), Workspace: ws, Batch: data.NewBatch(shape),
			Delta: make([]float32, len(global.Params()))})
	}
	r.Timing.Workers = len(r.workers)
	if r.evalWS, err = model.NewWorkspace(cfg.Model, cfg.Train.BatchSize, workers); err != nil {
		return nil, err
	}
	if r.evals, err = corpus.EvalBatches(cfg.Train.EvalBatches, shape); err != nil {
		return nil, err
	}
	floor, ok := corpus.Floor(cfg.Model.SeqLen)
	if !ok {
		floor = math.NaN()
	}
	r.floor = floor

	// Projection: the clock may answer for a bigger model than the one trained.
	p := cfg.Projection
	params := float64(cfg.Model.NumParams())
	fpt := cfg.Model.FLOPsPerToken()
	if p.Params > 0 {
		r.bytesScale = p.Params / params
		params = p.Params
		fpt = 6 * p.Params
	} else {
		r.bytesScale = 1
	}
	if p.FlopsPerToken > 0 {
		fpt = p.FlopsPerToken
	}
	tps := float64(shape.Tokens())
	if p.TokensPerStep > 0 {
		tps = p.TokensPerStep
	}
	r.flopsPerStep = fpt * tps
	r.modelBytes = int64(math.Ceil(params * 4))
	return r, nil
}

// Config is the run's configuration.
func (r *Run) Config() Config { return r.cfg }

// Corpus is the data the nodes train on.
func (r *Run) Corpus() data.Corpus { return r.corpus }

// Cluster is the simulated cluster.
func (r *Run) Cluster() *netmodel.Cluster { return r.cluster }

// Model is the global model θ.
func (r *Run) Model() *model.Model { return r.global }

// FlopsPerStep is the (projected) training cost of one inner step of one
// node, which the nodes' speeds turn into simulated time.
func (r *Run) FlopsPerStep() float64 { return r.flopsPerStep }

// Floor is the corpus's lowest achievable eval loss, or NaN.
func (r *Run) Floor() float64 { return r.floor }

// Rounds returns the communication rounds done and planned.
func (r *Run) Rounds() (done, total int) { return r.round, r.rounds }

// Done reports whether every round has run.
func (r *Run) Done() bool { return r.round >= r.rounds }

// SimTimeS is the simulated time so far.
func (r *Run) SimTimeS() float64 { return r.clock }

// Last is the latest evaluation.
func (r *Run) Last() record.Eval { return r.lastEval }

// ComputeUtilization is the share of node-time spent computing so far.
func (r *Run) ComputeUtilization() float64 {
	if r.clock <= 0 {
		return math.NaN()
	}
	return r.computeS / (r.clock * float64(len(r.nodes)))
}

// Totals returns bytes uploaded, bytes downloaded and tokens trained so far.
func (r *Run) Totals() (up, down, tokens int64) { return r.bytesUp, r.bytesDown, r.tokens }

// Nodes emits one record per node profile.
func (r *Run) Nodes(sink Sink) error {
	for i, p := range r.cluster.Nodes {
		err := sink.Node(record.Node{
			Node: int64(i), Class: p.Class, Flops: p.PeakFlops, Utilization: p.Utilization,
			BwUpMbps: p.BwUpMbps, BwDownMbps: p.BwDownMbps, LatencyMs: p.AccessLatencyMs,
			XMs: p.XMs, YMs: p.YMs, DataShard: int64(r.nodes[i].Stream.Node()), Malicious: r.nodes[i].tamper != nil,
			Role: r.role(i),
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// role is node i's role: the incentive layer's, or a poisoner for a node
// that tampers with its payloads (faults.malicious_share).
func (r *Run) role(i int) string {
	switch {
	case r.inc != nil:
		return r.inc.roles[i]
	case r.nodes[i].tamper != nil:
		return record.RolePoisoner
	}
	return record.RoleHonest
}

func (r *Run) since(t time.Time) float64 {
	if r.now == nil {
		return 0
	}
	return r.now().Sub(t).Seconds()
}

func (r *Run) start() time.Time {
	if r.now == nil {
		return time.Time{}
	}
	return r.now()
}

// Evaluate emits an evaluation of the global model now.
func (r *Run) Evaluate(sink Sink) (record.Eval, error) {
	t := r.start()
	loss, err := evalLoss(r.global, r.evalWS, r.evals)
	r.Timing.Eval += r.since(t)
	if err != nil {
		return record.Eval{}, err
	}
	e := record.Eval{
		Round: int64(r.round), Step: int64(r.globalStep), SimTimeS: r.clock, Tokens: r.tokens,
		BytesTotal: r.bytesUp + r.bytesDown, BytesUp: r.bytesUp, BytesDown: r.bytesDown,
		EvalLoss: loss, ExcessLoss: record.ExcessOver(loss, r.floor), TrainLoss: r.lastTrainLoss,
		LR: r.strat.LR(r.globalStep),
	}
	e.FillMissing(e.AddedColumns()) // the nodes' columns: not measured, unless below
	if r.alg.NodeParams {
		t := r.start()
		err := r.evaluateNodes(&e)
		r.Timing.Eval += r.since(t)
		if err != nil {
			return record.Eval{}, err
		}
	}
	r.lastEval = e
	return e, sink.Eval(e)
}

// evaluateNodes fills in how far apart the nodes' own weights are (θ is
// their mean) and, with train.eval_nodes, each node's held-out loss.
func (r *Run) evaluateNodes(e *record.Eval) error {
	theta := r.global.Params()
	var norm, spread float64
	for _, x := range theta {
		norm += float64(x) * float64(x)
	}
	for _, n := range r.nodes {
		var d2 float64
		for k, x := range n.Params {
			d := float64(x) - float64(theta[k])
			d2 += d * d
		}
		spread += d2
	}
	if norm > 0 {
		e.WeightSpread = math.Sqrt(spread/float64(len(r.nodes))) / math.Sqrt(norm)
	}
	if !r.cfg.Train.EvalNodes {
		return nil
	}
	if r.nodeEval == nil {
		r.nodeEval = r.global.Clone()
	}
	losses := make([]float64, len(r.nodes))
	for i, n := range r.nodes {
		if err := r.nodeEval.SetParams(n.Params); err != nil {
			return err
		}
		l, err := evalLoss(r.nodeEval, r.evalWS, r.evals)
		if err != nil {
			return fmt.Errorf("node %d: %w", i, err)
		}
		losses[i] = l
	}
	var sum float64
	e.NodeLossMin, e.NodeLossMax = math.Inf(1), math.Inf(-1)
	for _, l := range losses {
		sum += l
		e.NodeLossMin = math.Min(e.NodeLossMin, l)
		e.NodeLossMax = math.Max(e.NodeLossMax, l)
	}
	e.NodeLossMean = sum / float64(len(losses))
	var v float64
	for _, l := range losses {
		v += (l - e.NodeLossMean) * (l - e.NodeLossMean)
	}
	e.NodeLossStd = math.Sqrt(v / float64(len(losses)))
	return nil
}

// Run evaluates, then runs every round, evaluating every eval_every rounds
// and after the last. onEval, if set, sees each evaluation.
func (r *Run) Run(ctx context.Context, sink Sink, onEval func(record.Eval)) (record.Eval, error) {
	if r.round == 0 {
		if err := r.Nodes(sink); err != nil {
			return record.Eval{}, err
		}
		for _, e := range r.faultEvents {
			if err := sink.Event(e); err != nil {
				return record.Eval{}, err
			}
		}
		e, err := r.Evaluate(sink)
		if err != nil {
			return e, err
		}
		if onEval != nil {
			onEval(e)
		}
	}
	for !r.Done() {
		if err := ctx.Err(); err != nil {
			return r.lastEval, err
		}
		if err := r.Step(sink); err != nil {
			return r.lastEval, err
		}
		if r.round%r.evalEvery == 0 || r.Done() {
			e, err := r.Evaluate(sink)
			if err != nil {
				return e, err
			}
			if onEval != nil {
				onEval(e)
			}
		}
	}
	return r.lastEval, nil
}

// predictSteps is the inner steps node i will do this round if it computes
// from the round start, or -1 when that cannot be known before the network
// runs (a node that must first download the model in window mode).
func (r *Run) predictSteps(i int, start float64, stale bool) int {
	p := &r.cluster.Nodes[i]
	if !p.UpAt(start) {
		return 0
	}
	if r.cfg.Sync.Mode != SyncWindow {
		return r.stepsPerRound
	}
	if stale {
		return -1
	}
	steps, _ := p.StepsWithin(start, start+r.cfg.Sync.WindowS, r.flopsPerStep, r.cfg.Sync.MaxSteps)
	return steps
}

// flight is a round whose records or aggregate are still to come.
type flight struct {
	round int
	start float64
	step  int // the reference model's inner steps at its start
	rr    *roundRun
	pool  *pool
	res   *roundResult
	// scores are the validator's rows for the round (incentive layer).
	scores []record.Score
}

// Step runs one communication round.
func (r *Run) Step(sink Sink) error {
	if r.Done() {
		return errors.New("sim: every round has run")
	}
	if _, driven := r.strat.(Driver); driven {
		return r.stepDriven(sink)
	}
	if _, ok := sink.(ScoreSink); r.inc != nil && !ok {
		return errors.New("sim: incentive.enabled: the sink takes no score rows (it is no ScoreSink)")
	}
	start := r.clock
	t := r.start()
	// A node must fetch θ before it computes if it lost it: down or crashed
	// in a finished round, or (with overlap) in the round still in flight.
	stale := make([]bool, len(r.nodes))
	for i, n := range r.nodes {
		if r.prev != nil {
			// The previous round is still exchanging, but every node has
			// computed it: one that did not fail holds θ; one that failed
			// lost its state (a failure still to come in that round hits
			// this one too).
			switch {
			case !r.prev.rr.lost[i]:
				n.stale = false
			case !n.stale:
				n.stale = true
				n.reset()
				r.strat.Reset(n)
			}
		}
		stale[i] = n.stale
	}
	var waitFor []int
	var fetchS []float64
	if r.inc != nil {
		waitFor, fetchS = r.startIncentiveRound(r.round, start, stale)
	}
	p := r.newPool(stale)
	// Work whose steps are known at the round's start is requested at once,
	// so that the workers train while the network is simulated.
	for i := range r.nodes {
		if steps := r.predictSteps(i, start, stale[i]); steps > 0 {
			p.request(i, steps)
		}
	}
	spec := roundSpec{round: r.round, startS: start, sync: r.cfg.Sync.Mode, steps: r.stepsPerRound,
		windowS: r.cfg.Sync.WindowS, maxSteps: r.cfg.Sync.MaxSteps, flops: r.flopsPerStep, catchUp: make([]int64, len(r.nodes)),
		waitFor: waitFor, fetchS: fetchS}
	if r.cfg.Sync.DeadlineS > 0 {
		spec.deadline = start + r.cfg.Sync.DeadlineS
	}
	for i := range r.nodes {
		if stale[i] {
			spec.catchUp[i] = r.modelBytes
		}
	}
	net := r.net
	if r.cfg.Sync.Overlap && r.separateOverlap {
		// Before rounds shared one network: each overlapping round got a
		// network of its own (kept for tests that compare the two).
		eng, err := des.NewAt(start)
		if err == nil {
			net, err = netmodel.NewNetwork(r.cluster, eng, r.cfg.Seed)
		}
		if err != nil {
			p.close()
			return err
		}
	}
	last := r.round+1 == r.rounds
	prev := r.prev
	r.prev = nil
	cur := &flight{round: r.round, start: start, step: r.globalStep, pool: p}
	rr, err := startRound(net, r.pattern, spec, p.work())
	if err == nil {
		cur.rr = rr
		// With overlap the next round starts once this round's nodes have
		// computed and the previous round's exchange is over, while this
		// round's exchange goes on, on the same links. Otherwise, and
		// after the last round, everything in flight runs to its end.
		prevDone := func() bool { return prev == nil || prev.rr.done() || r.separateOverlap }
		cond := func() bool { return rr.done() && prevDone() }
		if r.cfg.Sync.Overlap && !last && !r.separateOverlap {
			cond = func() bool { return rr.computed() && prevDone() }
		}
		err = rr.runUntil(cond)
		if err == nil && prev != nil {
			err = prev.rr.x.Err()
		}
	}
	loop := r.since(t)
	if perr := p.close(); err == nil && perr != nil {
		err = perr
	}
	for _, q := range p.all {
		r.Timing.CompressCPU += q.compressT
	}
	if err == nil && prev != nil && prev.res == nil {
		prev.res, err = prev.rr.finish()
	}
	overlapping := r.cfg.Sync.Overlap && !last && !r.separateOverlap
	if err == nil && !overlapping {
		cur.res, err = rr.finish()
	}
	if err != nil {
		return fmt.Errorf("round %d: %w", r.round, err)
	}
	// The network is simulated while the workers train: the time the event
	// loop spent blocked on a result, and any training left after it, is
	// training's.
	wait := rr.waitS
	r.Timing.Network += loop - wait
	r.Timing.Local += r.since(t) - (loop - wait)

	if prev != nil {
		// One round late: the previous round's aggregate has arrived while
		// this round computed.
		if err := r.apply(prev); err != nil {
			return err
		}
		if r.separateOverlap {
			// Its records went out with it.
		} else if err := r.record(prev, sink, false); err != nil {
			return err
		}
		r.exchangeEnd = prev.res.endS
	}
	switch {
	case overlapping:
		r.prev = cur
	case r.cfg.Sync.Overlap && r.separateOverlap:
		if err := r.record(cur, sink, true); err != nil {
			return err
		}
		if last {
			if err := r.apply(cur); err != nil {
				return err
			}
		} else {
			r.prev = cur
		}
	default:
		if err := r.apply(cur); err != nil {
			return err
		}
		// With overlap, staleness is settled when the next round starts.
		if err := r.record(cur, sink, !r.cfg.Sync.Overlap); err != nil {
			return err
		}
	}
	if r.faultErr != nil {
		return fmt.Errorf("round %d: %w", r.round, r.faultErr)
	}
	r.globalStep += r.stepsPerRound
	r.round++
	if r.prev == nil {
		end := cur.res.endS
		if prev != nil {
			end = math.Max(end, prev.res.endS)
		}
		r.clock = math.Max(end, math.Max(start, r.exchangeEnd))
		return nil
	}
	// The next round starts when every node has computed this one and holds
	// the previous round's aggregate.
	next := math.Max(start, r.exchangeEnd)
	for i, nr := range rr.nodes {
		if !rr.down[i] {
			next = math.Max(next, nr.ComputeEndS)
		}
	}
	if r.cfg.Sync.Mode == SyncWindow {
		next = math.Max(next, start+r.cfg.Sync.WindowS)
	}
	if r.separateOverlap {
		r.exchangeEnd = cur.res.endS
	}
	r.clock = next
	return nil
}

// apply moves θ by the aggregate of what every finishing node of round f
// holds, in node order (nothing gathered: no outer step).
func (r *Run) apply(f *flight) error {
	t := r.start()
	defer func() { r.Timing.Aggregate += r.since(t) }()
	var payloads [][]byte
	for _, j := range f.res.aggregate {
		payloads = append(payloads, f.pool.byNode[j].wire) // decoded while aggregated
	}
	if r.alg.NodeParams {
		// A global step first (on what every finishing node holds), then
		// each node's own.
		if len(payloads) > 0 {
			if err := r.strat.Apply(payloads, f.step); err != nil {
				return fmt.Errorf("round %d: %w", f.round, err)
			}
		}
		return r.applyNodes(f)
	}
	if r.inc != nil {
		// The validator decides which payloads form the aggregate.
		gathered, rows, err := r.validate(f)
		if err != nil {
			return fmt.Errorf("round %d: %w", f.round, err)
		}
		f.scores = rows
		f.res.aggregate = gathered
		payloads = payloads[:0]
		for i := range f.res.nodes {
			_, in := slices.BinarySearch(gathered, i)
			f.res.nodes[i].InAggregate = in
			if in {
				payloads = append(payloads, f.pool.byNode[i].wire)
			}
		}
	}
	if len(payloads) == 0 {
		return nil
	}
	if err := r.strat.Apply(payloads, f.step); err != nil {
		return fmt.Errorf("round %d: %w", f.round, err)
	}
	return nil
}

// applyNodes moves each node that finished round f by the payloads it
// holds, then makes θ the mean of the nodes' weights.
func (r *Run) applyNodes(f *flight) error {
	na, ok := r.strat.(NodeApplier)
	if !ok {
		return fmt.Errorf("strategy %s: its nodes hold weights but it has no ApplyNode", r.alg.Name)
	}
	for i, nr := range f.res.nodes {
		if nr.Status == record.StatusDown || nr.Status == record.StatusCrashed {
			continue
		}
		var payloads [][]byte
		for _, j := range f.res.received[i] {
			if q := f.pool.trained(j); q != nil {
				payloads = append(payloads, q.wire)
			}
		}
		if err := na.ApplyNode(r.nodes[i], payloads, f.step); err != nil {
			return fmt.Errorf("round %d: node %d: %w", f.round, i, err)
		}
	}
	// Summed node by node (the same order for every weight), then scaled.
	theta := r.global.Params()
	copy(theta, r.nodes[0].Params)
	for _, n := range r.nodes[1:] {
		for k, x := range n.Params {
			theta[k] += x
		}
	}
	inv := 1 / float32(len(r.nodes))
	for k := range theta {
		theta[k] *= inv
	}
	return nil
}

// record accounts round f's bytes, tokens and losses, updates which nodes
// lost their state (if stale), and emits its round and event records.
func (r *Run) record(f *flight, sink Sink, stale bool) error {
	var lossSum float64
	var lossN int
	fragment := int64(-1)
	if fr, ok := r.strat.(Fragmenter); ok {
		fragment = int64(fr.Fragment(f.round))
	}
	for i, nr := range f.res.nodes {
		n := r.nodes[i]
		q := f.pool.trained(i)
		r.bytesUp += nr.BytesUp
		r.bytesDown += nr.BytesDown
		r.computeS += nr.ComputeEndS - nr.ComputeStartS
		trainLoss := math.NaN()
		if nr.Steps > 0 && q != nil && q.steps == nr.Steps && !q.idle {
			r.tokens += int64(nr.Steps) * int64(r.cfg.Train.BatchSize*r.cfg.Model.SeqLen)
			trainLoss = q.lossSum / float64(q.steps)
			lossSum += q.lossSum
			lossN += q.steps
		}
		switch {
		case !stale:
		case nr.Status == record.StatusDown || nr.Status == record.StatusCrashed:
			if !n.stale {
				n.stale = true
				n.reset() // what a crash loses
				r.strat.Reset(n)
			}
		default:
			n.stale = false
		}
		var payloadBytes int64
		var ideal float64
		if q != nil && nr.Steps > 0 {
			payloadBytes = r.projectBytes(len(q.wire))
			ideal = q.size.IdealBits * r.bytesScale
		}
		if err := sink.Round(record.Round{
			Round: int64(f.round), Node: int64(i), InnerSteps: int64(nr.Steps),
			PayloadBytes: payloadBytes, PayloadIdealBits: ideal,
			UploadStartS: nr.UploadStartS, UploadEndS: nr.UploadEndS,
			DownloadStartS: nr.DownloadStartS, DownloadEndS: nr.DownloadEndS,
			ComputeS: nr.ComputeEndS - nr.ComputeStartS, WaitS: nr.WaitS,
			Status: nr.Status, InAggregate: nr.InAggregate, TrainLoss: trainLoss, Staleness: math.NaN(), Fragment: fragment,
		}); err != nil {
			return err
		}
	}
	for _, a := range f.res.activities {
		if err := sink.Event(record.Event{Node: int64(a.Node), Round: int64(f.round), Kind: a.Kind,
			StartS: a.StartS, EndS: a.EndS, Bytes: a.Bytes}); err != nil {
			return err
		}
	}
	if lossN > 0 {
		r.lastTrainLoss = lossSum / float64(lossN)
	}
	if len(f.scores) > 0 {
		ss := sink.(ScoreSink) // Step checked
		for _, row := range f.scores {
			if err := ss.Score(row); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *Run) projectBytes(n int) int64 {
	return int64(math.Ceil(float64(n) * r.bytesScale))
}

// local does node n's work for this round on worker w: steps inner steps from
// θ, then the payload, encoded.
func (r *Run) local(w *Worker, n *Node, q *request) error {
	if r.inc != nil {
		done, restore, err := r.localIncentive(w, n, q)
		if err != nil {
			return fmt.Errorf("node %d: %w", n.ID, err)
		}
		if done {
			return nil
		}
		if restore != nil {
			defer restore()
		}
	}
	switch {
	case q.start != nil:
		w.Start = q.start
	case n.Params != nil:
		if q.fetch {
			copy(n.Params, r.global.Params()) // what a stale node downloads
		}
		w.Start = n.Params
	default:
		w.Start = r.global.Params()
	}
	if r.inc != nil && r.inc.roles[n.ID] == record.RoleStale {
		w.Start, _ = r.inc.staleStart(q.round)
	}
	copy(w.Model.Params(), w.Start)
	n.lossSum = 0
	delta, err := r.strat.Local(w, n, q.from, q.steps)
	if err != nil {
		return fmt.Errorf("node %d: %w", n.ID, err)
	}
	q.lossSum = n.lossSum
	var t time.Time
	if r.now != nil {
		t = r.now()
	}
	if enc, ok := r.strat.(Encoder); ok {
		if q.wire, q.size, err = enc.Encode(n, delta, q.round); err != nil {
			return fmt.Errorf("node %d: %w", n.ID, err)
		}
		if r.now != nil {
			q.compressT = r.now().Sub(t).Seconds()
		}
		return nil
	}
	return r.compressLocal(n, q, delta)
}

// compressLocal compresses node n's delta with its compressor state into
// q's payload (tampered with if the node tampers), encoded.
func (r *Run) compressLocal(n *Node, q *request, delta []float32) error {
	var t time.Time
	if r.now != nil {
		t = r.now()
	}
	p, err := r.comp.Compress(n.State, delta, compress.DeriveSeed(r.cfg.Seed, n.ID, q.round))
	if err != nil {
		return fmt.Errorf("node %d: %w", n.ID, err)
	}
	if n.tamper != nil {
		n.tamper(p, q.round)
	}
	if q.size, err = r.comp.Size(p); err != nil {
		return fmt.Errorf("node %d: %w", n.ID, err)
	}
	if q.wire, err = r.comp.Encode(p); err != nil {
		return fmt.Errorf("node %d: %w", n.ID, err)
	}
	if r.now != nil {
		q.compressT += r.now().Sub(t).Seconds()
	}
	return nil
}
