package data

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"math"
	"os"
	"sort"
)

// More seed domains (see synthetic.go).
const (
	domainSplit = 16 + iota
	domainAssign
	domainOrder
	domainEvalOrder
)

// finiteCorpus is a corpus read from files: one token sequence (documents
// concatenated in sorted path order), cut into chunks of data.chunk_tokens.
// A deterministic, seed-independent subset of chunks is held out for
// evaluation; the rest are dealt to the nodes by the run seed.
type finiteCorpus struct {
	cfg    Config
	seed   uint64
	vocab  int
	bytes  []byte   // byte corpora (text, parquet)
	tokens []uint16 // token shards
	n      int64
	train  []int // chunk indices, ascending
	val    []int
	digest string
}

func openFinite(cfg Config, seed uint64) (*finiteCorpus, error) {
	files, err := listFiles(cfg.Path, cfg.pattern())
	if err != nil {
		return nil, err
	}
	f := &finiteCorpus{cfg: cfg, seed: seed, vocab: cfg.vocab()}
	h := sha256.New()
	fmt.Fprintf(h, "locosim finite v1 kind=%s column=%q format=%s vocab=%d val=%v chunk=%d sep=%d max=%d\n",
		cfg.Kind, cfg.TextColumn, cfg.TokenFormat, f.vocab, cfg.ValFraction, cfg.ChunkTokens, cfg.DocSeparator, cfg.MaxTokens)
	if err := f.load(files, h); err != nil {
		return nil, err
	}
	if f.n == 0 {
		return nil, fmt.Errorf("data: %s: no tokens in %d file(s) matching %q", cfg.Path, len(files), cfg.pattern())
	}
	switch {
	case f.bytes != nil:
		h.Write(f.bytes)
	default:
		buf := make([]byte, 2*len(f.tokens))
		for i, t := range f.tokens {
			binary.LittleEndian.PutUint16(buf[2*i:], t)
		}
		h.Write(buf)
	}
	f.digest = hex.EncodeToString(h.Sum(nil))
	if err := f.split(); err != nil {
		return nil, err
	}
	return f, nil
}

// load reads every file into the token sequence, recording in h each file's
// name and token count.
func (f *finiteCorpus) load(files []inputFile, h hash.Hash) error {
	limit := f.cfg.MaxTokens
	if limit == 0 {
		limit = math.MaxInt64
	}
	if f.cfg.Kind == KindTokens {
		for _, in := range files {
			raw, err := os.ReadFile(in.path)
			if err != nil {
				return fmt.Errorf("data: %w", err)
			}
			toks, err := decodeTokenShard(in.path, raw, f.cfg.TokenFormat, f.vocab)
			if err != nil {
				return err
			}
			if room := limit - int64(len(f.tokens)); int64(len(toks)) > room {
				toks = toks[:room]
			}
			f.tokens = append(f.tokens, toks...)
			fmt.Fprintf(h, "%s %d\n", in.rel, len(toks))
			if int64(len(f.tokens)) >= limit {
				break
			}
		}
		f.n = int64(len(f.tokens))
		return nil
	}

	f.bytes = []byte{}
	// add appends one document and its separator, up to the limit.
	add := func(doc []byte) error {
		room := limit - int64(len(f.bytes))
		if int64(len(doc)) >= room {
			f.bytes = append(f.bytes, doc[:room]...)
			return errStop
		}
		f.bytes = append(f.bytes, doc...)
		if f.cfg.DocSeparator >= 0 {
			f.bytes = append(f.bytes, byte(f.cfg.DocSeparator))
		}
		if int64(len(f.bytes)) >= limit {
			f.bytes = f.bytes[:limit]
			return errStop
		}
		return nil
	}
	for _, in := range files {
		before := len(f.bytes)
		var err error
		switch f.cfg.Kind {
		case KindParquet:
			err = readParquetText(in.path, f.cfg.TextColumn, add)
		default:
			var raw []byte
			raw, err = os.ReadFile(in.path)
			switch {
			case err != nil:
				err = fmt.Errorf("data: %w", err)
			case len(raw) == 0 && in.explicit:
				err = fmt.Errorf("data: %s: empty file", in.path)
			case len(raw) == 0:
				// An empty file found by a walk adds nothing (the Go tree
				// holds such files); an all-empty corpus fails below.
				continue
			default:
				err = add(raw)
			}
		}
		fmt.Fprintf(h, "%s %d\n", in.rel, len(f.bytes)-before)
		if errors.Is(err, errStop) {
			break
		}
		if err != nil {
			return err
		}
	}
	f.n = int64(len(f.bytes))
	return nil
}

// split cuts the sequence into chunks and holds out the validation chunks:
// round(val_fraction * chunks) of them (at least one if the fraction is
// positive), chosen by a fixed hash of the chunk index, so the split depends
// on the data and its configuration only.
func (f *finiteCorpus) split() error {
	c := int64(f.cfg.ChunkTokens)
	chunks := int((f.n + c - 1) / c)
	nVal := 0
	if f.cfg.ValFraction > 0 {
		nVal = max(1, int(math.Round(f.cfg.ValFraction*float64(chunks))))
		if nVal >= chunks {
			return fmt.Errorf("data.val_fraction: %v of %d chunk(s) of %d tokens leaves no training data; lower data.chunk_tokens or data.val_fraction",
				f.cfg.ValFraction, chunks, c)
		}
	}
	order := rankedChunks(chunks, derive(domainSplit))
	isVal := make([]bool, chunks)
	for _, i := range order[:nVal] {
		isVal[i] = true
	}
	for i := range chunks {
		if isVal[i] {
			f.val = append(f.val, i)
		} else {
			f.train = append(f.train, i)
		}
	}
	return nil
}

// rankedChunks returns 0..n-1 ordered by a keyed hash: a deterministic
// pseudo-random permutation.
func rankedChunks(n int, key uint64) []int {
	out := make([]int, n)
	keys := make([]uint64, n)
	for i := range out {
		out[i] = i
		keys[i] = derive(key, uint64(i))
	}
	sort.Slice(out, func(a, b int) bool { return keys[out[a]] < keys[out[b]] })
	return out
}

// chunkSpan returns the token range of chunk i.
func (f *finiteCorpus) chunkSpan(i int) (start, end int64) {
	c := int64(f.cfg.ChunkTokens)
	return int64(i) * c, min(f.n, int64(i+1)*c)
}

// windows appends the start of every window of seqLen+1 tokens in the given
// chunks, windows seqLen apart (consecutive windows share one token, the
// last target of one being the first input of the next).
func (f *finiteCorpus) windows(dst []int64, chunks []int, seqLen int) []int64 {
	t := int64(seqLen)
	for _, i := range chunks {
		start, end := f.chunkSpan(i)
		for w := start; w+t+1 <= end; w += t {
			dst = append(dst, w)
		}
	}
	return dst
}

// copyWindow writes tokens start..start+len(in) to in and the next ones to tg.
func (f *finiteCorpus) copyWindow(in, tg []int32, start int64) {
	if f.bytes != nil {
		src := f.bytes[start : start+int64(len(in))+1]
		for i := range in {
			in[i] = int32(src[i])
			tg[i] = int32(src[i+1])
		}
		return
	}
	src := f.tokens[start : start+int64(len(in))+1]
	for i := range in {
		in[i] = int32(src[i])
		tg[i] = int32(src[i+1])
	}
}

func (f *finiteCorpus) Kind() string                     { return f.cfg.Kind }
func (f *finiteCorpus) Vocab() int                       { return f.vocab }
func (f *finiteCorpus) EntropyRate() (float64, bool)     { return 0, false }
func (f *finiteCorpus) Floor(seqLen int) (float64, bool) { return 0, false }
func (f *finiteCorpus) Digest() string                   { return f.digest }

func (f *finiteCorpus) String() string {
	return fmt.Sprintf("%s corpus %s: %d tokens in %d chunks of %d (%d held out), vocab %d",
		f.cfg.Kind, f.cfg.Path, f.n, len(f.train)+len(f.val), f.cfg.ChunkTokens, len(f.val), f.vocab)
}

func (f *finiteCorpus) TrainTokens() int64 {
	var n int64
	for _, i := range f.train {
		s, e := f.chunkSpan(i)
		n += e - s
	}
	return n
}

// nodeChunks deals the training chunks, in an order set by the run seed,
// round-robin to the nodes, and returns node's.
func (f *finiteCorpus) nodeChunks(node, nodes int) []int {
	order := rankedChunks(len(f.train), derive(domainAssign, f.seed))
	var mine []int
	for p := node; p < len(order); p += nodes {
		mine = append(mine, f.train[order[p]])
	}
	return mine
}

// NodeStream deals the training chunks to the nodes (disjoint, sizes within
// one chunk of each other) and returns node's stream, which visits every
// window of its chunks once per epoch in an order drawn from (seed, node,
// epoch).
func (f *finiteCorpus) NodeStream(node, nodes int, shape Shape) (Stream, error) {
	if err := checkNode(node, nodes); err != nil {
		return nil, err
	}
	if err := shape.validate(); err != nil {
		return nil, err
	}
	if len(f.train) < nodes {
		return nil, fmt.Errorf("data: %s: %d training chunk(s) of %d tokens cannot be shared by %d nodes; lower data.chunk_tokens or add data",
			f.cfg.Path, len(f.train), f.cfg.ChunkTokens, nodes)
	}
	chunks := f.nodeChunks(node, nodes)
	st := &finiteStream{f: f, node: node, shape: shape, epoch: -1}
	st.starts = f.windows(nil, chunks, shape.SeqLen)
	if len(st.starts) == 0 {
		return nil, fmt.Errorf("data: %s: node %d's %d chunk(s) hold no window of %d tokens; raise data.chunk_tokens above the sequence length",
			f.cfg.Path, node, len(chunks), shape.SeqLen+1)
	}
	for _, i := range chunks {
		s, e := f.chunkSpan(i)
		st.tokens += e - s
	}
	return st, nil
}

// EvalBatches takes count*Batch windows of the validation chunks, in an order
// fixed by the data alone.
func (f *finiteCorpus) EvalBatches(count int, shape Shape) ([]*Batch, error) {
	if err := shape.validate(); err != nil {
		return nil, err
	}
	if count < 1 {
		return nil, fmt.Errorf("data: %d evaluation batches requested, want at least 1", count)
	}
	if len(f.val) == 0 {
		return nil, fmt.Errorf("data.val_fraction: 0 holds out no data to evaluate on")
	}
	starts := f.windows(nil, f.val, shape.SeqLen)
	need := count * shape.Batch
	if len(starts) < need {
		return nil, fmt.Errorf("data: %s: the validation chunks hold %d windows of %d tokens; %d batches of %d need %d; raise data.val_fraction or evaluate on fewer batches",
			f.cfg.Path, len(starts), shape.SeqLen+1, count, shape.Batch, need)
	}
	order := rankedChunks(len(starts), derive(domainEvalOrder))
	out := make([]*Batch, count)
	for b := range out {
		out[b] = NewBatch(shape)
		for r := range shape.Batch {
			in, tg := out[b].Row(r)
			f.copyWindow(in, tg, starts[order[b*shape.Batch+r]])
		}
	}
	return out, nil
}

type finiteStream struct {
	f      *finiteCorpus
	node   int
	shape  Shape
	step   int64
	starts []int64 // window starts of the node's chunks
	tokens int64
	epoch  int64 // epoch whose order perm holds, -1 for none
	perm   []int32
}

func (st *finiteStream) Node() int          { return st.node }
func (st *finiteStream) Shape() Shape       { return st.shape }
func (st *finiteStream) Step() int64        { return st.step }
func (st *finiteStream) SetStep(step int64) { st.step = step }
func (st *finiteStream) Tokens() int64      { return st.tokens }

func (st *finiteStream) Next(dst *Batch) {
	st.BatchAt(st.step, dst)
	st.step++
}

func (st *finiteStream) BatchAt(step int64, dst *Batch) {
	dst.reshape(st.shape)
	for r := range st.shape.Batch {
		in, tg := dst.Row(r)
		st.f.copyWindow(in, tg, st.windowStart(step*int64(st.shape.Batch)+int64(r)))
	}
}

// windowStart is the start of the g-th window the stream yields: window
// perm_e[g mod W] of epoch e = g / W.
func (st *finiteStream) windowStart(g int64) int64 {
	w := int64(len(st.starts))
	e := g / w
	if g%w < 0 { // floor division: negative steps are valid, earlier epochs
		e--
	}
	if e != st.epoch {
		st.shuffle(e)
	}
	return st.starts[st.perm[g-e*w]]
}

// shuffle sets perm to epoch e's order (Fisher-Yates from (seed, node, e)).
func (st *finiteStream) shuffle(e int64) {
	w := len(st.starts)
	if st.perm == nil {
		st.perm = make([]int32, w)
	}
	for i := range st.perm {
		st.perm[i] = int32(i)
	}
	rng := splitmix{derive(domainOrder, st.f.seed, uint64(st.node), uint64(e))}
	for i := w - 1; i > 0; i-- {
		j := rng.intn(i + 1)
		st.perm[i], st.perm[j] = st.perm[j], st.perm[i]
	}
	st.epoch = e
}
