package data

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
)

// symbolOrder lists the 95 printable ASCII bytes in the order the synthetic
// alphabet takes them: space and lower-case letters by English frequency
// first, so small alphabets look like text.
var symbolOrder = func() []byte {
	const lead = " etaoinsrhldcumfpgwybvkxjqzETAOINSRHLDCUMFPGWYBVKXJQZ0123456789"
	out := []byte(lead)
	seen := make(map[byte]bool)
	for _, b := range out {
		seen[b] = true
	}
	for b := byte(0x20); b < 0x7f; b++ {
		if !seen[b] {
			out = append(out, b)
		}
	}
	return out
}()

// Seed domains, so that the language, the training rows and the evaluation
// rows never draw from the same random sequence.
const (
	domainLanguage = 1 + iota
	domainTrain
	domainEval
	domainGenerate
)

const (
	stationaryTol      = 1e-14 // L1 change per iteration at convergence
	stationaryMaxIters = 1 << 18
	stationaryLaziness = 0.05 // mixing in the identity makes the chain aperiodic
)

// Synthetic is the generated corpus: a sparse Markov chain of order k over an
// alphabet of A printable bytes. A context is the last k symbols, numbered in
// base A with the oldest symbol most significant.
//
// Every context's successors include the next symbol of a de Bruijn sequence
// of order k, so following those successors visits every context: the chain
// is irreducible, its stationary distribution unique and its entropy rate
// that of every long sample path.
type Synthetic struct {
	cfg      SyntheticConfig
	seed     uint64 // run seed: sample paths of the node streams
	alphabet []byte // symbol index -> byte
	k, a     int
	contexts int
	stride   int       // successor slots per context
	count    []uint8   // successors of each context
	thr      []uint32  // cumulative sampling thresholds; slot r is chosen if u < thr[r] (the last slot always)
	prob     []float64 // exact probability of each slot, as sampled
	symIdx   []uint8   // symbol index of each slot
	symTok   []int32   // token (byte) of each slot
	next     []int32   // context after each slot
	pi       []float64 // stationary distribution over contexts
	piCDF    []float64
	rate     float64     // nats per token
	blocks   [][]float64 // blocks[m-1][x]: stationary probability of the m oldest symbols of a context
	blockH   []float64   // blockH[m-1]: entropy of blocks[m-1]
	residual float64     // L1 norm of pi*P - pi
	digest   string
}

// NewSynthetic builds the language of cfg and computes its stationary
// distribution and entropy rate; seed is the run seed that drives the node
// streams' sample paths.
func NewSynthetic(cfg SyntheticConfig, seed uint64) (*Synthetic, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Synthetic{
		cfg:      cfg,
		seed:     seed,
		alphabet: symbolOrder[:cfg.Alphabet],
		k:        cfg.Order,
		a:        cfg.Alphabet,
		contexts: contextCount(cfg.Alphabet, cfg.Order),
		stride:   min(cfg.Alphabet, 2*cfg.Branching), // up to 2*Branching-1 drawn, plus the de Bruijn successor
	}
	s.buildTransitions()
	if err := s.solveStationary(); err != nil {
		return nil, err
	}
	s.computeEntropies()
	s.computeDigest()
	return s, nil
}

// buildTransitions draws every context's successors and their weights.
//
// The draw is hierarchical, like natural text where the last symbol already
// says much about the next and longer contexts refine it. A context of j
// symbols (j = 1..k) draws its successors without replacement from the pool
// of its (j-1)-symbol suffix, each draw in proportion to the suffix's weight
// of the symbol raised to the hierarchy exponent, and weights them by a Zipf
// law over the draw order; level 0 is the whole alphabet, drawn uniformly.
// Pools shrink geometrically from the alphabet to 1..maxCount successors at
// level k. So the loss falls in steps as a model learns to use 1, 2, ..., k
// previous symbols, instead of staying at the unigram entropy until it finds
// all k at once (a plateau that stalls small transformers at some learning
// rates).
func (s *Synthetic) buildTransitions() {
	n, a, k, w := s.contexts, s.a, s.k, s.stride
	maxCount := min(a, 2*s.cfg.Branching-1)
	s.count = make([]uint8, n)
	s.thr = make([]uint32, n*w)
	s.prob = make([]float64, n*w)
	s.symIdx = make([]uint8, n*w)
	s.symTok = make([]int32, n*w)
	s.next = make([]int32, n*w)

	designated := deBruijnSuccessors(a, k)
	rng := splitmix{derive(domainLanguage, s.cfg.Seed)}
	zipf := make([]float64, a)
	for r := range zipf {
		zipf[r] = math.Pow(float64(r+1), -s.cfg.ZipfExponent)
	}

	// Level 0: one context holding every symbol, all equally likely to be
	// drawn, so each last symbol gets its own random successor pool.
	pool := a
	parentSym := make([]uint8, a)
	for i := range parentSym {
		parentSym[i] = uint8(i)
	}
	parentCount := []uint8{uint8(a)}
	parentWeight := make([]float64, a)
	for r := range parentWeight {
		parentWeight[r] = 1
	}
	// Deeper levels draw in proportion to the parent's weight raised to the
	// hierarchy exponent: 0 ignores the parent's ranking, large values
	// nearly copy it.
	inherited := make([]float64, a)
	for r := range inherited {
		inherited[r] = math.Pow(zipf[r], s.cfg.Hierarchy)
	}
	type keyed struct {
		key float64
		sym uint8
	}
	keys := make([]keyed, 0, a)
	// draw appends to dst up to m symbols of the parent context's pool,
	// without replacement, each draw in proportion to its parent weight:
	// ascending exponential keys E/w (Efraimidis-Spirakis).
	draw := func(dst []uint8, parent, parentPool, m int) []uint8 {
		keys = keys[:0]
		base := parent * parentPool
		for r := range int(parentCount[parent]) {
			u := (float64(rng.next()>>11) + 0.5) * 0x1p-53 // (0, 1): the key is positive or +Inf
			keys = append(keys, keyed{-math.Log(u) / parentWeight[r], parentSym[base+r]})
		}
		for i := 1; i < len(keys); i++ { // insertion sort: pools are small
			for j := i; j > 0 && keys[j].key < keys[j-1].key; j-- {
				keys[j], keys[j-1] = keys[j-1], keys[j]
			}
		}
		for _, kv := range keys[:min(m, len(keys))] {
			dst = append(dst, kv.sym)
		}
		return dst
	}

	chosen := make([]uint8, 0, a)
	levelContexts := 1
	for j := 1; j < k; j++ {
		levelContexts *= a
		size := int(math.Round(float64(a) * math.Pow(float64(maxCount)/float64(a), float64(j)/float64(k))))
		size = max(maxCount, min(a, size))
		syms := make([]uint8, levelContexts*size)
		counts := make([]uint8, levelContexts)
		for c := range levelContexts {
			chosen = draw(chosen[:0], c%(levelContexts/a), pool, size)
			copy(syms[c*size:], chosen)
			counts[c] = uint8(len(chosen))
		}
		parentSym, parentCount, pool, parentWeight = syms, counts, size, inherited
	}

	for c := range n {
		chosen = draw(chosen[:0], c%(n/a), pool, 1+rng.intn(maxCount))
		if d := uint8(designated[c]); !slices.Contains(chosen, d) {
			chosen = append(chosen, d) // last rank: keeps the chain irreducible
		}
		cnt := len(chosen)
		total := 0.0
		for r := range cnt {
			total += zipf[r]
		}
		base := c * w
		s.count[c] = uint8(cnt)
		var cum float64
		prev := uint64(0)
		for r, sym := range chosen {
			cum += zipf[r]
			t := uint64(1) << 32
			if r < cnt-1 {
				t = uint64(math.Floor(cum / total * (1 << 32)))
				// Every successor keeps a positive probability and room
				// remains for the ones after it.
				t = max(t, prev+1)
				t = min(t, 1<<32-uint64(cnt-1-r))
				s.thr[base+r] = uint32(t)
			}
			s.prob[base+r] = float64(t-prev) * 0x1p-32
			prev = t
			s.symIdx[base+r] = sym
			s.symTok[base+r] = int32(s.alphabet[sym])
			s.next[base+r] = int32((c*a + int(sym)) % n)
		}
	}
}

// deBruijnSuccessors returns, for every context of order k over a symbols,
// the symbol that follows it in a de Bruijn sequence B(a, k); following these
// successors from any context visits all a^k contexts in one cycle.
func deBruijnSuccessors(a, k int) []int {
	seq := deBruijn(a, k)
	n := len(seq)
	succ := make([]int, n)
	ctx := 0
	for i := range k {
		ctx = ctx*a + seq[i%n]
	}
	for i := range n {
		nxt := seq[(i+k)%n]
		succ[ctx] = nxt
		ctx = (ctx*a + nxt) % n
	}
	return succ
}

// deBruijn returns the lexicographically least de Bruijn sequence B(a, k)
// (Fredricksen-Kessler-Maiorana: concatenated Lyndon words whose length
// divides k).
func deBruijn(a, k int) []int {
	seq := make([]int, 0, contextCount(a, k))
	w := make([]int, k+1)
	var gen func(t, p int)
	gen = func(t, p int) {
		if t > k {
			if k%p == 0 {
				seq = append(seq, w[1:p+1]...)
			}
			return
		}
		w[t] = w[t-p]
		gen(t+1, p)
		for j := w[t-p] + 1; j < a; j++ {
			w[t] = j
			gen(t+1, t)
		}
	}
	gen(1, 1)
	return seq
}

// solveStationary finds pi = pi*P by power iteration on the slightly lazy
// chain, which has the same stationary distribution and is aperiodic, so the
// iteration converges for every irreducible chain.
func (s *Synthetic) solveStationary() error {
	n := s.contexts
	pi := make([]float64, n)
	nxt := make([]float64, n)
	for i := range pi {
		pi[i] = 1 / float64(n)
	}
	converged := false
	for range stationaryMaxIters {
		s.step(pi, nxt, stationaryLaziness)
		diff, sum := 0.0, 0.0
		for i := range nxt {
			diff += math.Abs(nxt[i] - pi[i])
			sum += nxt[i]
		}
		for i := range nxt {
			nxt[i] /= sum
		}
		pi, nxt = nxt, pi
		if diff < stationaryTol {
			converged = true
			break
		}
	}
	if !converged {
		return fmt.Errorf("data: synthetic language (order %d, alphabet %d): stationary distribution did not converge in %d iterations",
			s.k, s.a, stationaryMaxIters)
	}
	s.pi = pi
	s.step(pi, nxt, 0)
	s.residual = 0
	for i := range nxt {
		s.residual += math.Abs(nxt[i] - pi[i])
	}
	s.piCDF = make([]float64, n)
	cum := 0.0
	for i, p := range pi {
		cum += p
		s.piCDF[i] = cum
	}
	s.piCDF[n-1] = 1
	return nil
}

// step sets out = lazy*in + (1-lazy)*in*P.
func (s *Synthetic) step(in, out []float64, lazy float64) {
	w := s.stride
	for i, p := range in {
		out[i] = lazy * p
	}
	for c, p := range in {
		p *= 1 - lazy
		base := c * w
		for r := range int(s.count[c]) {
			out[s.next[base+r]] += p * s.prob[base+r]
		}
	}
}

// computeEntropies sets the entropy rate sum_c pi(c) H(next | c) and the
// entropies of the stationary blocks of 1..k symbols.
func (s *Synthetic) computeEntropies() {
	w := s.stride
	s.rate = 0
	for c, p := range s.pi {
		base := c * w
		h := 0.0
		for r := range int(s.count[c]) {
			q := s.prob[base+r]
			h -= q * math.Log(q)
		}
		s.rate += p * h
	}
	s.blocks = make([][]float64, s.k)
	s.blockH = make([]float64, s.k)
	s.blocks[s.k-1] = s.pi
	for m := s.k - 1; m >= 1; m-- {
		finer := s.blocks[m]
		coarse := make([]float64, len(finer)/s.a)
		for x, p := range finer {
			coarse[x/s.a] += p
		}
		s.blocks[m-1] = coarse
	}
	for m, b := range s.blocks {
		h := 0.0
		for _, p := range b {
			if p > 0 {
				h -= p * math.Log(p)
			}
		}
		s.blockH[m] = h
	}
}

func (s *Synthetic) computeDigest() {
	h := sha256.New()
	fmt.Fprintf(h, "locosim synthetic v2 order=%d alphabet=%d branching=%d zipf=%v hierarchy=%v seed=%d\n",
		s.k, s.a, s.cfg.Branching, s.cfg.ZipfExponent, s.cfg.Hierarchy, s.cfg.Seed)
	var buf [4]byte
	for c := range s.contexts {
		base := c * s.stride
		for r := range int(s.count[c]) {
			binary.LittleEndian.PutUint32(buf[:], s.thr[base+r])
			h.Write(buf[:])
			h.Write([]byte{s.symIdx[base+r]})
		}
	}
	s.digest = hex.EncodeToString(h.Sum(nil))
}

// Kind is "synthetic".
func (s *Synthetic) Kind() string { return KindSynthetic }

// Vocab is 256: the language's symbols are bytes.
func (s *Synthetic) Vocab() int { return 256 }

// Config is the configuration the language was built from.
func (s *Synthetic) Config() SyntheticConfig { return s.cfg }

// Alphabet returns the bytes the language uses, in symbol order.
func (s *Synthetic) Alphabet() []byte { return append([]byte(nil), s.alphabet...) }

// EntropyRate is the exact entropy rate in nats per token.
func (s *Synthetic) EntropyRate() (nats float64, ok bool) { return s.rate, true }

// EntropyRateBits is the entropy rate in bits per token.
func (s *Synthetic) EntropyRateBits() float64 { return s.rate / math.Ln2 }

// ConditionalEntropies returns, for j = 0..order, the exact entropy in nats
// of the next symbol given the j previous ones, under the stationary
// distribution: the unigram entropy first, the entropy rate last. They are
// the plateaus of a model that has learnt to use j symbols of context.
func (s *Synthetic) ConditionalEntropies() []float64 {
	out := make([]float64, s.k+1)
	out[0] = s.blockH[0]
	for j := 1; j < s.k; j++ {
		out[j] = s.blockH[j] - s.blockH[j-1]
	}
	out[s.k] = s.rate
	return out
}

// Floor is the exact mean over the seqLen targets of a stationary window of
// the loss of the true model that sees only the window: position i pays
// H(x[i+1] | x[0..i]), which is the entropy rate once i+1 >= order and the
// block-entropy difference H(i+2) - H(i+1) before.
func (s *Synthetic) Floor(seqLen int) (nats float64, ok bool) {
	if seqLen < 1 {
		return 0, false
	}
	h1 := s.blockH[0]
	if seqLen+1 <= s.k {
		return (s.blockH[seqLen] - h1) / float64(seqLen), true
	}
	return (s.blockH[s.k-1] - h1 + float64(seqLen-s.k+1)*s.rate) / float64(seqLen), true
}

// String describes the language in one line.
func (s *Synthetic) String() string {
	return fmt.Sprintf("synthetic order %d over %d symbols (%d contexts), entropy rate %.4f nats (%.4f bits) per token",
		s.k, s.a, s.contexts, s.rate, s.EntropyRateBits())
}

// TrainTokens is -1: every node's stream is an unbounded sample path.
func (s *Synthetic) TrainTokens() int64 { return -1 }

// Digest hashes the language's transition table and knobs.
func (s *Synthetic) Digest() string { return s.digest }

// Generate returns a sample path of n bytes that starts from the stationary
// distribution, drawn from seed.
func (s *Synthetic) Generate(n int, seed uint64) []byte {
	if n <= 0 {
		return nil
	}
	toks := make([]int32, n)
	s.fillPath(toks, nil, derive(domainGenerate, seed))
	out := make([]byte, n)
	for i, t := range toks {
		out[i] = byte(t)
	}
	return out
}

// CrossEntropy is the mean loss in nats of the true model that sees only
// tokens: the mean over i >= 1 of -ln P(tokens[i] | tokens[0..i-1]), using
// the stationary block marginals while fewer than order tokens are known. Its
// expectation over stationary windows of seqLen+1 tokens is Floor(seqLen).
// It fails on a token the language cannot produce at that position.
func (s *Synthetic) CrossEntropy(tokens []int32) (nats float64, err error) {
	if len(tokens) < 2 {
		return 0, fmt.Errorf("data: CrossEntropy needs at least 2 tokens, got %d", len(tokens))
	}
	index := make(map[int32]int, s.a)
	for i, b := range s.alphabet {
		index[int32(b)] = i
	}
	sum := 0.0
	ctx := 0
	for i, t := range tokens {
		sym, ok := index[t]
		if !ok {
			return 0, fmt.Errorf("data: token %d at position %d is not in the synthetic alphabet", t, i)
		}
		switch {
		case i == 0:
			ctx = sym
			continue
		case i < s.k:
			prev := s.blocks[i-1][ctx]
			ctx = ctx*s.a + sym
			p := s.blocks[i][ctx] / prev
			if !(p > 0) {
				return 0, fmt.Errorf("data: token %d at position %d is impossible after its prefix", t, i)
			}
			sum -= math.Log(p)
		default:
			base := ctx * s.stride
			p := 0.0
			for r := range int(s.count[ctx]) {
				if int(s.symIdx[base+r]) == sym {
					p = s.prob[base+r]
					ctx = int(s.next[base+r])
					break
				}
			}
			if p == 0 {
				return 0, fmt.Errorf("data: token %d at position %d cannot follow its context", t, i)
			}
			sum -= math.Log(p)
		}
	}
	return sum / float64(len(tokens)-1), nil
}

// fillPath writes a stationary sample path drawn from seed: tokens 0..T-1
// into inputs and, if targets is not nil, tokens 1..T into targets, where T
// is len(inputs). With targets nil the path has len(inputs) tokens.
func (s *Synthetic) fillPath(inputs, targets []int32, seed uint64) {
	rng := splitmix{seed}
	n := len(inputs)
	if targets != nil {
		n++
	}
	put := func(t int, tok int32) {
		if t < len(inputs) {
			inputs[t] = tok
		}
		if targets != nil && t > 0 {
			targets[t-1] = tok
		}
	}
	c := s.sampleContext(rng.float64())
	// The first k tokens are the context's own symbols, oldest first.
	div := s.contexts / s.a
	for t := 0; t < s.k && t < n; t++ {
		put(t, int32(s.alphabet[(c/div)%s.a]))
		div /= s.a
	}
	w := s.stride
	count, thr, tok, next := s.count, s.thr, s.symTok, s.next
	t := s.k
	// Hot loop: inputs and targets are written directly, without put.
	for ; t < n; t++ {
		u := uint32(rng.next() >> 32)
		base := c * w
		last := base + int(count[c]) - 1
		slot := base
		for slot < last && u >= thr[slot] {
			slot++
		}
		x := tok[slot]
		c = int(next[slot])
		if t < len(inputs) {
			inputs[t] = x
		}
		if targets != nil {
			targets[t-1] = x
		}
	}
}

// sampleContext returns the context whose stationary CDF interval holds u.
func (s *Synthetic) sampleContext(u float64) int {
	lo, hi := 0, len(s.piCDF)-1
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if s.piCDF[mid] > u {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// fillBatch fills rows first..first+Batch-1 of the row sequence of a domain.
func (s *Synthetic) fillBatch(dst *Batch, shape Shape, domain, key, node uint64, first int64) {
	dst.reshape(shape)
	for r := range shape.Batch {
		in, tg := dst.Row(r)
		s.fillPath(in, tg, derive4(domain, key, node, uint64(first)+uint64(r)))
	}
}

// NodeStream returns node's stream: row j of step k is an independent
// stationary sample path of SeqLen+1 tokens seeded by (run seed, node,
// k*Batch+j). It does not depend on nodes, which is only checked.
func (s *Synthetic) NodeStream(node, nodes int, shape Shape) (Stream, error) {
	if err := checkNode(node, nodes); err != nil {
		return nil, err
	}
	if err := shape.validate(); err != nil {
		return nil, err
	}
	return &syntheticStream{s: s, node: node, shape: shape}, nil
}

// EvalBatches returns count batches of sample paths drawn from the
// language's seed alone, in an evaluation domain that training never draws
// from.
func (s *Synthetic) EvalBatches(count int, shape Shape) ([]*Batch, error) {
	if err := shape.validate(); err != nil {
		return nil, err
	}
	if count < 1 {
		return nil, fmt.Errorf("data: %d evaluation batches requested, want at least 1", count)
	}
	out := make([]*Batch, count)
	for i := range out {
		out[i] = &Batch{}
		s.fillBatch(out[i], shape, domainEval, s.cfg.Seed, 0, int64(i)*int64(shape.Batch))
	}
	return out, nil
}

type syntheticStream struct {
	s     *Synthetic
	node  int
	shape Shape
	step  int64
}

func (st *syntheticStream) Node() int          { return st.node }
func (st *syntheticStream) Shape() Shape       { return st.shape }
func (st *syntheticStream) Step() int64        { return st.step }
func (st *syntheticStream) SetStep(step int64) { st.step = step }
func (st *syntheticStream) Tokens() int64      { return -1 }

func (st *syntheticStream) Next(dst *Batch) {
	st.BatchAt(st.step, dst)
	st.step++
}

func (st *syntheticStream) BatchAt(step int64, dst *Batch) {
	st.s.fillBatch(dst, st.shape, domainTrain, st.s.seed, uint64(st.node), step*int64(st.shape.Batch))
}
