// Package data provides the corpora that locosim's simulated nodes train on:
// a generated synthetic language whose entropy rate is known exactly, text
// files, Parquet text shards and uint16 token shards, a byte-level tokenizer,
// one disjoint deterministic batch stream per node, and a fixed evaluation set.
//
// A corpus is opened from a Config and a run seed:
//
//	c, err := data.Open(data.DefaultConfig(), seed)
//	s, err := c.NodeStream(node, nodes, data.Shape{Batch: 8, SeqLen: 64})
//	var b data.Batch
//	s.Next(&b) // b.Inputs and b.Targets hold Batch*SeqLen tokens each, row-major
//
// Every stream is random access: s.BatchAt(k, &b) yields exactly the batch that
// the k-th call of Next yields, which is what a data-parallel equivalence test
// or a validator re-scoring a peer's assigned data needs. Row r of step k is
// the stream's row k*Batch+r, so one stream of batch 2B yields the union of
// two consecutive batches of a stream of batch B (see Concat).
//
// The synthetic language is a sparse Markov chain of configurable order over a
// printable alphabet, drawn so that longer contexts refine shorter ones. Its
// entropy rate is computed exactly from the stationary distribution, so losses
// can be reported as excess over the floor; Floor gives the exact best mean
// loss over the positions of a window of finite length, slightly above the
// rate because the first positions of a window lack their full context, and
// ConditionalEntropies the plateaus on the way down. Each node's stream is an
// endless sequence of independent stationary sample paths.
//
// A finite corpus (text, Parquet or token shards) is read whole, documents in
// sorted path order, and cut into chunks of chunk_tokens. A fixed, seed-free
// choice of chunks is held out for evaluation; the others are dealt to the
// nodes, so no two nodes and no evaluator ever read the same window. Each node
// visits every window of its chunks once per epoch, in an order drawn from
// (seed, node, epoch).
//
// Determinism: the same Config and seed give the same tokens at any GOMAXPROCS
// and on any machine of one architecture (nothing runs in parallel; random
// draws come from SplitMix64, defined here, not from math/rand). Across
// architectures the synthetic transition table goes through math.Pow, whose
// last bit may differ where a compiler fuses multiply-adds; testdata/golden.txt
// pins the default corpus on amd64. Evaluation batches do not depend on the
// run seed, so evaluation losses are comparable across runs and seeds.
package data
