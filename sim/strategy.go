package sim

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/locosim/locosim/compress"
	"github.com/locosim/locosim/config"
	"github.com/locosim/locosim/data"
	"github.com/locosim/locosim/model"
)

// A Strategy is a training algorithm's part of a synchronous round: what a
// node computes and hands to its compressor, and how the aggregate of what
// the nodes sent moves the shared model θ. The round machinery (work on the
// worker pool, the network, decoding, records, faults) is the core's, so an
// algorithm is one implementation of this interface plus a Register call.
type Strategy interface {
	// Local does node n's inner steps of a round on worker w, whose model
	// holds the node's starting weights (θ), beginning at inner step from.
	// It returns the tensor to compress (a pseudo-gradient or a gradient),
	// which may alias w.Delta or the workspace's gradients. It must touch
	// no state but n's and w's: nodes run in parallel.
	Local(w *Worker, n *Node, from, steps int) ([]float32, error)
	// Apply moves θ by the aggregate of the encoded payloads that every
	// finishing node holds; step is the reference model's inner steps so
	// far. It is called only with at least one payload.
	Apply(payloads [][]byte, step int) error
	// Reset drops what node n loses when it crashes, beyond its optimizer
	// and compressor state, which the core resets.
	Reset(n *Node)
	// LR is the inner learning rate at step, for the evaluation records.
	LR(step int) float64
}

// roundsPerPeriod is how many rounds a period of train.inner_steps holds.
func (a Algorithm) roundsPerPeriod(cfg *Config, section any) (int, error) {
	H := cfg.Train.InnerSteps
	switch {
	case a.EveryStep:
		return H, nil
	case a.RoundsPerPeriod == nil:
		return 1, nil
	}
	k, err := a.RoundsPerPeriod(cfg, section)
	if err != nil {
		return 0, err
	}
	if k < 1 || H%k != 0 {
		return 0, fmt.Errorf("train.inner_steps %d: %s needs a multiple of its %d rounds per period", H, a.Name, k)
	}
	return k, nil
}

// An Encoder is a strategy that makes its nodes' payloads itself (say,
// from a fragment of the model only) instead of the core compressing all
// of what Local returns with strategy.compressor. Encode runs on the node's
// worker, after Local; round is the node's round, for seeds.
type Encoder interface {
	Encode(n *Node, local []float32, round int) ([]byte, compress.Size, error)
}

// A Fragmenter is a strategy whose rounds each synchronise one fragment
// of the model; rounds.parquet's fragment column says which.
type Fragmenter interface {
	Fragment(round int) int
}

// NodeApplier is implemented by the strategies of algorithms whose nodes
// hold weights of their own (Algorithm.NodeParams). After every round the
// core calls Apply with what every finishing node holds (a global step, if
// the algorithm keeps one), then ApplyNode, in node order, for each node
// that finished the round, with the payloads that node holds (its own
// included when it sent one); the strategy moves n.Params by them.
type NodeApplier interface {
	ApplyNode(n *Node, payloads [][]byte, step int) error
}

// Env is what a strategy is built with.
type Env struct {
	Config     Config
	Theta      *model.Model        // the shared model θ
	Compressor compress.Compressor // what nodes send, with its aggregation
	Optimizer  model.AdamWConfig   // the inner AdamW, total_steps filled in
	Section    any                 // the algorithm's decoded section, or nil
}

// Algorithm describes a strategy to the core: how to build it and the few
// facts the core's schedule and configuration need.
type Algorithm struct {
	// Name is the value of strategy.kind that selects it.
	Name string
	// Compressor is the compressor kind strategy.compressor.kind "auto"
	// resolves to (compress.Dense, compress.SparseLoCo, ...).
	Compressor compress.Kind
	// EveryStep: the algorithm communicates after every inner step, so a
	// round is one step (window mode and overlap do not apply).
	EveryStep bool
	// RoundsPerPeriod, if set, splits every period of train.inner_steps
	// into that many rounds (which must divide it): an algorithm that
	// synchronises a fragment of the model at a time.
	RoundsPerPeriod func(cfg *Config, section any) (int, error)
	// NodeOptimizer: each node keeps an AdamW state of its own (Node.Opt).
	NodeOptimizer bool
	// NodeParams: each node holds weights of its own (Node.Params), which
	// its work starts from; the strategy must implement NodeApplier, and
	// the shared θ (what is evaluated) is the mean of the nodes' weights.
	NodeParams bool
	// OverlapNodes lets an algorithm with NodeParams run with sync.overlap:
	// a round's exchange goes on while the nodes compute the next round,
	// and ApplyNode then mixes its result into weights that have trained
	// on for that round (Streaming DiLoCo's overlap of communication with
	// τ inner steps, τ = one round). Without it such algorithms reject
	// overlap, since a round-late result is not what they define.
	OverlapNodes bool
	// Exchange is the exchange pattern exchange.pattern "auto" resolves to
	// ("" : a ring all-reduce for dense payloads, the object store's
	// all-gather for the others).
	Exchange string
	// Section, if set, returns the algorithm's own configuration with its
	// defaults: a pointer to a struct whose fields carry mapstructure and
	// yaml tags. Its keys are strategy.<Name>.*, as strict as any other.
	Section func() any
	// Check, if set, validates the run's configuration for this algorithm;
	// section is the decoded Section (nil without one). Errors name keys.
	Check func(cfg *Config, section any) error
	// New builds the strategy for one run.
	New func(env *Env) (Strategy, error)
}

var registry = struct {
	sync.RWMutex
	algs map[string]Algorithm
}{algs: map[string]Algorithm{}}

// Register makes an algorithm available by name, as image.RegisterFormat
// does for decoders; it is meant for init functions. Registering a name
// twice, or an algorithm without a name, compressor or constructor, panics.
func Register(a Algorithm) {
	if a.Name == "" || a.New == nil || a.Compressor == "" {
		panic("sim: Register needs a name, a compressor and a constructor")
	}
	if a.Section != nil {
		if _, err := config.Map(a.Section()); err != nil {
			panic(fmt.Sprintf("sim: algorithm %s: section: %v", a.Name, err))
		}
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.algs[a.Name]; dup {
		panic("sim: algorithm " + a.Name + " registered twice")
	}
	registry.algs[a.Name] = a
}

// Algorithms lists the registered algorithms' names, sorted.
func Algorithms() []string {
	registry.RLock()
	defer registry.RUnlock()
	return slices.Sorted(maps.Keys(registry.algs))
}

// Lookup returns the algorithm registered as name.
func Lookup(name string) (Algorithm, bool) {
	registry.RLock()
	defer registry.RUnlock()
	a, ok := registry.algs[name]
	return a, ok
}

func lookup(kind string) (Algorithm, error) {
	a, ok := Lookup(kind)
	if !ok {
		return Algorithm{}, fmt.Errorf("strategy.kind %q: unknown (registered: %v)", kind, Algorithms())
	}
	return a, nil
}

// sections returns every registered algorithm's section defaults as the
// nested maps a resolved configuration holds.
func sections() map[string]any {
	registry.RLock()
	defer registry.RUnlock()
	out := map[string]any{}
	for name, a := range registry.algs {
		if a.Section == nil {
			continue
		}
		m, err := config.Map(a.Section())
		if err != nil || len(m) == 0 {
			continue // Register checked it
		}
		out[name] = m
	}
	return out
}

// Section decodes the configuration's section of algorithm name into its
// struct (the algorithm's defaults, overlaid with what the configuration
// sets); nil when the algorithm has none.
func (c Config) Section(name string) (any, error) {
	a, err := lookup(name)
	if err != nil {
		return nil, err
	}
	if a.Section == nil {
		if v, ok := c.Strategy.Sections[name]; ok && v != nil {
			return nil, fmt.Errorf("strategy.%s: %s takes no options", name, name)
		}
		return nil, nil
	}
	out := a.Section()
	if v, ok := c.Strategy.Sections[name]; ok && v != nil {
		if err := config.Decode(v, out); err != nil {
			return nil, fmt.Errorf("strategy.%s: %w", name, err)
		}
	}
	return out, nil
}

// Worker is one training goroutine's replica and buffers. The core runs a
// node's work on some worker; results never depend on which.
type Worker struct {
	Model     *model.Model     // the replica being trained
	Workspace *model.Workspace // activations and gradients
	Batch     *data.Batch      // the current batch
	Delta     []float32        // a parameter-sized scratch buffer
	// Start is the weights the current work started from (θ, the node's
	// own, or for a Driver a snapshot taken when the work began); read it,
	// do not change it.
	Start []float32
}

// Node is one simulated node's training state: its data stream, its
// optimizer and its compressor's state (error feedback, momentum).
type Node struct {
	ID     int
	Params []float32       // its own weights; nil unless the algorithm has NodeParams
	Opt    *model.AdamW    // nil unless the algorithm has NodeOptimizer
	State  *compress.State // the compressor's per-node state
	Stream data.Stream     // the node's own data
	// Rand is the node's own random stream, drawn from the run's seed and
	// the node's id, for algorithms that choose at random (its PCG source
	// can be saved and restored). Only the node's own work may draw from it.
	Rand *rand.Rand

	tamper  func(p *compress.Payload, round int) // a fault's, or nil
	stale   bool                                 // was down or crashed: must download θ first
	lossSum float64                              // training loss summed over the current work's steps
}

// reset drops the optimizer and compressor state, as a crash does.
func (n *Node) reset() {
	if n.Opt != nil {
		n.Opt.Reset()
	}
	n.State.Reset()
}

// Train runs steps AdamW steps of the node's optimizer on w's replica,
// beginning at inner step from, on the node's next batches.
func (n *Node) Train(w *Worker, from, steps int) error {
	params := w.Model.Params()
	for k := range steps {
		if err := n.Gradient(w); err != nil {
			return err
		}
		if _, err := n.Opt.Step(params, w.Workspace.Grads(), from+k); err != nil {
			return err
		}
	}
	return nil
}

// Gradient computes, on w's replica, the gradient of the loss on the node's
// next batch into w.Workspace.Grads(), and counts the loss in the node's
// training loss.
func (n *Node) Gradient(w *Worker) error {
	n.Stream.Next(w.Batch)
	loss, err := w.Model.ForwardBackward(w.Workspace, w.Batch.Inputs, w.Batch.Targets)
	if err != nil {
		return err
	}
	n.lossSum += loss
	return nil
}
