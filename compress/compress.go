// Package compress turns a node's pseudo-gradient into the bytes it sends,
// and any set of received payloads back into one dense update.
//
// Every compressor has the same life cycle, driven by the simulator once
// per round (DeMo: once per step) and node:
//
//	c, _ := compress.New(cfg, layout)
//	st := c.NewState()                          // per node, kept across rounds
//	p, _ := c.Compress(st, delta, compress.DeriveSeed(seed, node, round))
//	b, _ := c.Encode(p)                         // len(b) travels on the network
//	q, _ := c.Decode(b)                         // receiver side; validates everything
//	rep, _ := c.Aggregate(update, []*compress.Payload{q, ...})
//	rep, _ = c.AggregateEncoded(update, [][]byte{b, ...}) // same, without q
//
// The kinds are dense fp32 and bf16 (DiLoCo's dense average), SparseLoCo
// with its ablations (quantization width or off, random-k, no error
// feedback, mean over contributors or replicas, robust aggregation, the
// production k rule), DeMo (momentum, block DCT, top-k, sign of the
// aggregate), and two baselines: a top-k over each whole tensor and
// quantization of every element.
//
// What the update means depends on the kind, and the strategy applies it:
//
//   - sparseloco, topk, quantize fold the outer learning rate α into the
//     error feedback (e ← β·e + α·Δ), so the aggregate is in units of α·Δ and
//     SparseLoCo's outer step is θ ← θ0 − α·update, as in the reference;
//   - dense and bf16 send Δ itself (α and β do not apply): the update is
//     mean Δ, on which DiLoCo runs its own outer optimizer;
//   - demo sends fp32 DCT coefficients and the update is the sign of the
//     inverse transform of their mean: θ ← θ − lr·update.
//
// A round in which a node gathered nothing can zero its state with
// State.Reset, as production does. Per-peer payloads stay separate values
// with exported fields, so a validator can compare index sets between
// peers, and a simulator can make malicious ones (Payload.Scale, Clone,
// Dequantize) and check them with Validate.
//
// compress knows tensors only as a flat []float32 described by a
// tensor.Layout. Everything is deterministic: random-k draws from the seed
// it is given, ties in top-k go to the lower index, and aggregation adds
// payloads in the order given. Only AggregateEncoded uses other goroutines
// (GOMAXPROCS of them, each tensor on one): its result does not depend on
// how many there are.
package compress

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/locosim/locosim/tensor"
)

// Compressor is the interface every kind implements. It is safe for
// concurrent use; a State belongs to one node and must not be shared.
type Compressor interface {
	// Config returns the configuration the compressor was built with.
	Config() Config
	// Layout returns the tensors it compresses.
	Layout() tensor.Layout
	// NewState returns a node's zero state (error feedback, momentum).
	NewState() *State
	// Compress turns delta (the pseudo-gradient, or for DeMo the
	// learning-rate-scaled gradient) into a payload, updating st.
	// seed drives random-k only; derive it with DeriveSeed.
	Compress(st *State, delta []float32, seed uint64) (*Payload, error)
	// Validate checks that p is a well-formed payload for this compressor.
	Validate(p *Payload) error
	// Encode returns the wire form of a valid payload.
	Encode(p *Payload) ([]byte, error)
	// Decode parses and validates a wire payload; it never panics.
	Decode(b []byte) (*Payload, error)
	// DecodeTo is Decode into p, reusing p's slices: a receiver that keeps
	// one Payload per peer decodes without allocating.
	DecodeTo(p *Payload, b []byte) error
	// Aggregate writes into dst (len Layout().Size()) the dense update made
	// from payloads, added in the order given.
	Aggregate(dst []float32, payloads []*Payload) (Report, error)
	// AggregateEncoded is Decode of each wire payload then Aggregate, with
	// the same result and checks, reading the common SparseLoCo formats
	// straight from the bytes: what a receiver that only sums should call.
	// It may use GOMAXPROCS goroutines; the result does not depend on how
	// many.
	AggregateEncoded(dst []float32, wires [][]byte) (Report, error)
	// Size reports a payload's ideal and encoded size.
	Size(p *Payload) (Size, error)
}

// State is one node's persistent compressor state.
type State struct {
	// Error is the error-feedback buffer e (sparseloco, topk, quantize).
	// Without error feedback it holds the last round's residual, which the
	// next round overwrites.
	Error []float32
	// Momentum is DeMo's momentum m.
	Momentum []float32
}

// Reset zeroes the state (production zeroes the error feedback after a
// round in which no peer was gathered).
func (s *State) Reset() {
	clear(s.Error)
	clear(s.Momentum)
}

// DeriveSeed mixes a run seed, a node and a round into the seed of one
// Compress call.
func DeriveSeed(seed uint64, node, round int) uint64 {
	x := seed
	for _, v := range [...]uint64{uint64(node), uint64(round)} {
		x = splitmix(x ^ splitmix(v+0x632be59bd9b4e019))
	}
	return x
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

type codec struct {
	cfg    Config
	layout tensor.Layout
	plans  []*plan
	size   int
	sparse bool // payloads carry indices
	bits   int  // quantization bits on the wire (0: floats)
	dct    map[int]*dctBasis
	pool   sync.Pool // *scratch
	// fixedLen is the length of every honest payload when AggregateEncoded
	// streams it and its index sections have lengths fixed by the plans
	// (packed indices), which puts every tensor at a fixed offset (the
	// plans' fixed fields); 0 otherwise.
	fixedLen int
	// small are the plans, in order, whose sums AggregateEncoded adds
	// for payloads of the fixed layout in one pass before the others
	// (codec.addSmall); smallSize is their total size.
	small     []*plan
	smallSize int
	// order are the plans not in small, largest first, and kept the
	// values a payload keeps (when AggregateEncoded streams payloads, 0
	// otherwise): aggregateParallel's work.
	order []*plan
	kept  int
}

type scratch struct {
	sel       selector
	loc       []int32
	blk, tmp  []float32
	coef      []float32
	sum       []float32
	cnt       []uint16
	recip     []float32
	views     []view
	decoded   []*Payload
	streams   []stream
	luts      []float32
	peers     []peerSrc
	nonFinite []bool
	sections  []sections
}

// New builds the compressor cfg describes for the tensors of layout.
func New(cfg Config, layout tensor.Layout) (Compressor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := layout.Validate(); err != nil {
		return nil, fmt.Errorf("compress: %w", err)
	}
	c := &codec{cfg: cfg, layout: slices.Clone(layout), size: layout.Size()}
	switch cfg.Kind {
	case SparseLoCo, TopK, DeMo:
		c.sparse = true
	}
	switch cfg.Kind {
	case SparseLoCo, TopK, Quantize:
		c.bits = cfg.QuantBits
	}
	for _, s := range layout {
		if s.Size() > math.MaxInt32 {
			return nil, fmt.Errorf("compress: tensor %q: %d elements is too many", s.Name, s.Size())
		}
		pl := newPlan(s, cfg, c.sparse)
		pl.index = len(c.plans)
		c.plans = append(c.plans, pl)
	}
	for _, p := range c.plans {
		p.wireHdr = c.tensorHeader(p)
	}
	c.fixLayout()
	c.planWork()
	if cfg.Kind == DeMo {
		c.dct = map[int]*dctBasis{}
		for _, p := range c.plans {
			for _, n := range [...]int{p.h, p.w} {
				if c.dct[n] == nil {
					c.dct[n] = newDCTBasis(n)
				}
			}
		}
	}
	c.pool.New = func() any { return new(scratch) }
	return c, nil
}

func (c *codec) Config() Config        { return c.cfg }
func (c *codec) Layout() tensor.Layout { return slices.Clone(c.layout) }

func (c *codec) NewState() *State {
	s := &State{}
	switch c.cfg.Kind {
	case SparseLoCo, TopK, Quantize:
		s.Error = make([]float32, c.size)
	case DeMo:
		s.Momentum = make([]float32, c.size)
	}
	return s
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

func (c *codec) Compress(st *State, delta []float32, seed uint64) (*Payload, error) {
	if len(delta) != c.size {
		return nil, fmt.Errorf("compress: pseudo-gradient has %d elements, layout has %d", len(delta), c.size)
	}
	if st == nil {
		return nil, errors.New("compress: nil state")
	}
	switch c.cfg.Kind {
	case SparseLoCo, TopK, Quantize:
		if len(st.Error) != c.size {
			return nil, fmt.Errorf("compress: error-feedback buffer has %d elements, want %d", len(st.Error), c.size)
		}
	case DeMo:
		if len(st.Momentum) != c.size {
			return nil, fmt.Errorf("compress: momentum has %d elements, want %d", len(st.Momentum), c.size)
		}
	}
	// Reject non-finite input up front, so that no state is touched.
	for _, pl := range c.plans {
		if i := firstNonFinite(delta[pl.offset : pl.offset+pl.size]); i >= 0 {
			return nil, fmt.Errorf("compress: tensor %q: non-finite pseudo-gradient at element %d", pl.name, i)
		}
	}
	p := &Payload{Kind: c.cfg.Kind, Tensors: make([]TensorPayload, len(c.plans))}
	s := c.pool.Get().(*scratch)
	defer c.pool.Put(s)
	for ti, pl := range c.plans {
		t := &p.Tensors[ti]
		t.Name, t.Shape = pl.name, slices.Clone(pl.shape)
		d := delta[pl.offset : pl.offset+pl.size]
		switch c.cfg.Kind {
		case Dense:
			t.Values = slices.Clone(d)
		case BF16:
			t.Values = make([]float32, len(d))
			for i, v := range d {
				t.Values[i] = roundBF16(v)
			}
		case DeMo:
			c.compressDeMo(s, pl, st.Momentum[pl.offset:pl.offset+pl.size], d, t)
		default:
			var rng *rand.Rand
			if c.cfg.Selection == SelectRandomK {
				rng = rand.New(rand.NewPCG(seed, uint64(ti)))
			}
			c.compressEF(s, pl, st.Error[pl.offset:pl.offset+pl.size], d, rng, t)
		}
	}
	return p, nil
}

func firstNonFinite(x []float32) int {
	// The or of all bit patterns has an all-ones exponent whenever some
	// value does (and sometimes when none does): a cheap filter.
	if orBits(x)&0x7f800000 != 0x7f800000 {
		return -1
	}
	for i, v := range x {
		if math.Float32bits(v)&absMask >= 0x7f800000 {
			return i
		}
	}
	return -1
}

// orBitsGo is the bitwise or of the bit patterns of x (orBits, which may
// use a vector kernel, is this), in four independent chains.
func orBitsGo(x []float32) uint32 {
	var o0, o1, o2, o3 uint32
	for r := x; len(r) >= 4; r = r[4:] {
		o0 |= math.Float32bits(r[0])
		o1 |= math.Float32bits(r[1])
		o2 |= math.Float32bits(r[2])
		o3 |= math.Float32bits(r[3])
	}
	for _, v := range x[len(x)&^3:] {
		o0 |= math.Float32bits(v)
	}
	return o0 | o1 | o2 | o3
}

// roundBF16 rounds to the nearest bfloat16 (ties to even), kept as float32.
func roundBF16(v float32) float32 {
	b := math.Float32bits(v)
	b += 0x7fff + (b>>16)&1
	return math.Float32frombits(b &^ 0xffff)
}

// compressEF is SparseLoCo, its ablations, topk and quantize:
//
//	e ← β·e + α·Δ; select per chunk; quantize the selection per tensor;
//	e ← e − what was sent.
//
// Without error feedback β is 0, so nothing carries over.
func (c *codec) compressEF(s *scratch, pl *plan, e, d []float32, rng *rand.Rand, t *TensorPayload) {
	beta, alpha := float32(c.cfg.ErrorDecay), float32(c.cfg.OuterLR)
	if !c.cfg.ErrorFeedback {
		beta = 0
	}
	if c.cfg.Kind == Quantize {
		efUpdate(e, d, beta, alpha)
		t.Values = slices.Clone(e)
	} else {
		t.Indices = make([]int32, 0, pl.total)
		t.Values = make([]float32, 0, pl.total)
		// Top-k updates a row of blocks (contiguous) at a time, then
		// selects in each of its blocks; flat chunks go one at a time.
		var keys []uint32
		segs := 1
		if !pl.flat {
			segs = pl.nbx
		}
		for ch := range pl.nChunks {
			base, n, k := pl.chunk(ch)
			if rng != nil {
				for r := range pl.h {
					row := base + r*pl.cols
					efUpdate(e[row:row+n/pl.h], d[row:row+n/pl.h], beta, alpha)
				}
				s.loc = s.sel.randomK(n, k, rng, s.loc[:0])
			} else {
				b := ch % segs
				if b == 0 {
					keys = grow(s.sel.keys, segs*n)
					s.sel.keys = keys
					m := pl.h * segs * (n / pl.h)
					efKeysBlocks(e[base:base+m], d[base:base+m], beta, alpha, keys, pl.h, segs, n/pl.h, n)
				}
				s.loc = s.sel.selectK(keys[b*n:(b+1)*n], k, s.loc[:0])
			}
			for _, l := range s.loc {
				pos := pl.pos(base, int(l))
				t.Indices = append(t.Indices, int32(pos))
				t.Values = append(t.Values, e[pos])
			}
		}
	}
	if c.bits > 0 {
		t.Codes, t.Quant = quantize(t.Values, c.bits, c.cfg.QuantRangeSigmas, make([]uint8, 0, len(t.Values)))
	}
	if t.Indices == nil {
		for i, v := range t.Values {
			e[i] -= v
		}
	} else {
		for i, pos := range t.Indices {
			e[pos] -= t.Values[i]
		}
	}
}

// efUpdate does e ← β·e + α·d.
func efUpdate(e, d []float32, beta, alpha float32) {
	d = d[:len(e)]
	if beta == 0 {
		for i := range e {
			e[i] = alpha * d[i]
		}
		return
	}
	for i := range e {
		e[i] = float32(beta*e[i]) + float32(alpha*d[i])
	}
}

// compressDeMo is one DeMo step for one tensor:
//
//	m ← β·m + g; Y ← DCT(m) per block; keep the top-k of |Y| per block;
//	m ← m − IDCT(kept)   (computed as IDCT(Y with the kept part zeroed)).
func (c *codec) compressDeMo(s *scratch, pl *plan, m, g []float32, t *TensorPayload) {
	beta := float32(c.cfg.DeMoBeta)
	for i := range m {
		m[i] = float32(beta*m[i]) + g[i]
	}
	bh, bw := c.dct[pl.h], c.dct[pl.w]
	n := pl.h * pl.w
	s.blk, s.tmp, s.coef = grow(s.blk, n), grow(s.tmp, n), grow(s.coef, n)
	s.sel.keys = grow(s.sel.keys, n)
	t.Indices = make([]int32, 0, pl.total)
	t.Values = make([]float32, 0, pl.total)
	for ch := range pl.nChunks {
		base, _, k := pl.chunk(ch)
		for r := range pl.h {
			copy(s.blk[r*pl.w:(r+1)*pl.w], m[base+r*pl.cols:])
		}
		dct2(s.coef, s.blk, s.tmp, bh, bw)
		for i, v := range s.coef {
			s.sel.keys[i] = math.Float32bits(v) & absMask
		}
		s.loc = s.sel.topK(s.sel.keys, k, s.loc[:0])
		for _, l := range s.loc {
			t.Indices = append(t.Indices, int32(pl.pos(base, int(l))))
			t.Values = append(t.Values, s.coef[l])
			s.coef[l] = 0
		}
		idct2(s.blk, s.coef, s.tmp, bh, bw)
		for r := range pl.h {
			copy(m[base+r*pl.cols:base+r*pl.cols+pl.w], s.blk[r*pl.w:(r+1)*pl.w])
		}
	}
}
