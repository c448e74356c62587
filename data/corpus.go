package data

import "fmt"

// Corpus is an opened data source: the training data of every node, a
// held-out evaluation set and what is known about the data's entropy.
type Corpus interface {
	// Kind is the Config.Kind the corpus was opened with.
	Kind() string
	// Vocab is the model vocabulary the tokens fit in.
	Vocab() int
	// EntropyRate is the exact entropy rate in nats per token, if known
	// (synthetic corpora); no model can beat it on unbounded context.
	EntropyRate() (nats float64, ok bool)
	// Floor is the exact lowest achievable mean loss in nats over the SeqLen
	// target positions of a window, if known: the entropy rate plus the cost
	// of the window's first positions lacking context.
	Floor(seqLen int) (nats float64, ok bool)
	// NodeStream returns the training stream of node (0 <= node < nodes).
	// Streams of distinct nodes never share a batch; a finite corpus is
	// partitioned between the nodes, so nodes must be the total node count.
	NodeStream(node, nodes int, shape Shape) (Stream, error)
	// EvalBatches returns a fixed list of count batches from held-out data
	// that no node trains on. It depends only on the data configuration, not
	// on the run seed, so every evaluator in every run sees the same batches.
	EvalBatches(count int, shape Shape) ([]*Batch, error)
	// TrainTokens is the number of training tokens, or -1 if unbounded.
	TrainTokens() int64
	// Digest is a hex SHA-256 of the corpus content and the configuration
	// that shapes it, for the run manifest.
	Digest() string
	// String describes the corpus in one line for logs.
	String() string
}

// Stream is one node's deterministic sequence of training batches. A stream
// is not safe for concurrent use; streams of one corpus may be used from
// different goroutines.
type Stream interface {
	// Node is the node the stream belongs to.
	Node() int
	// Shape is the shape of every batch of the stream.
	Shape() Shape
	// Step is the index of the batch the next call of Next yields.
	Step() int64
	// SetStep sets Step, e.g. to resume from a checkpoint.
	SetStep(step int64)
	// Next fills dst with batch Step() and advances; dst's storage is reused
	// when large enough.
	Next(dst *Batch)
	// BatchAt fills dst with the batch of the given step without moving the
	// stream: the batch Next yields when Step() == step.
	BatchAt(step int64, dst *Batch)
	// Tokens is the number of distinct training tokens the stream draws
	// from, or -1 if unbounded.
	Tokens() int64
}

// Open validates cfg and opens the corpus it describes. The run seed sets
// the order in which nodes see their data (and, for the synthetic corpus,
// their sample paths); the synthetic language itself is fixed by
// cfg.Synthetic.Seed.
func Open(cfg Config, seed uint64) (Corpus, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Kind == KindSynthetic {
		return NewSynthetic(cfg.Synthetic, seed)
	}
	return openFinite(cfg, seed)
}

func checkNode(node, nodes int) error {
	if nodes < 1 || node < 0 || node >= nodes {
		return fmt.Errorf("data: node %d outside 0..%d", node, nodes-1)
	}
	return nil
}
