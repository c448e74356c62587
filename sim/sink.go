// Package sim runs locosim's simulations: real replicas of a small GPT that
// train on their own data while a deterministic discrete-event engine
// (package des) and a flow-level network model (package netmodel) decide
// how long everything takes.
//
// # The core
//
// A Run holds one engine and one network for the whole run, the nodes'
// own state (data stream, optimizer, compressor state), and the shared
// model θ. Step runs one synchronous round on simulated time: nodes down at
// its start sit it out, stale nodes first fetch θ, each node computes as
// its speed and the sync mode (fixed, window, deadline) allow, and its
// payload goes into the exchange (package netmodel's patterns). Training is
// a work request: when a node's work is determined the core hands it to a
// pool of workers (one goroutine each, replica parallelism), goes on with
// the events, and takes the result at the simulated moment the payload is
// due, so results never depend on which worker ran what or on GOMAXPROCS.
// With sync.overlap the next round starts once this round's nodes have
// computed, while its exchange goes on on the same links.
//
// # Algorithms
//
// The core knows no algorithm by name. An algorithm implements Strategy
// (what a node computes and how the aggregate moves θ) and registers an
// Algorithm under its name, with its own configuration section
// (strategy.<name>.*); package strategy holds DDP, DiLoCo, SparseLoCo,
// DeMo and gossip, and sim/simtest is the conformance suite each runs.
// ExampleRegister writes one. An algorithm in which nobody waits for
// anybody is a Driver instead: it schedules its nodes itself through a
// Core (work on a node, a payload sent), one event at a time.
//
// # Faults
//
// Availability (crashes, churn), link capacity over time (degradation,
// partitions) and payload tampering enter through one seam: each is a
// Fault installed on a FaultSeam before the run starts.
//
// The package does no I/O. A run emits records (package record) into a
// Sink that the caller provides; the CLI's sink writes Parquet traces and
// figures. Time is the simulator's own; nothing here reads a clock except
// Options.Now, which only measures where wall time goes.
package sim

import "github.com/locosim/locosim/record"

// Sink receives the records a run emits, in a deterministic order.
type Sink interface {
	Eval(record.Eval) error
	Round(record.Round) error
	Event(record.Event) error
	Node(record.Node) error
}

// A ScoreSink is a Sink that also takes the incentive layer's score rows
// (one per peer and validator round); a run with the layer on needs one.
type ScoreSink interface {
	Sink
	Score(record.Score) error
}

// Discard is a Sink that keeps nothing.
var Discard Sink = discard{}

type discard struct{}

func (discard) Eval(record.Eval) error   { return nil }
func (discard) Round(record.Round) error { return nil }
func (discard) Event(record.Event) error { return nil }
func (discard) Node(record.Node) error   { return nil }
func (discard) Score(record.Score) error { return nil }

// Memory is a Sink that keeps every record, for tests and notebooks' helpers.
type Memory struct {
	Evals  []record.Eval
	Rounds []record.Round
	Events []record.Event
	Nodes  []record.Node
	Scores []record.Score
}

func (m *Memory) Eval(r record.Eval) error   { m.Evals = append(m.Evals, r); return nil }
func (m *Memory) Round(r record.Round) error { m.Rounds = append(m.Rounds, r); return nil }
func (m *Memory) Event(r record.Event) error { m.Events = append(m.Events, r); return nil }
func (m *Memory) Node(r record.Node) error   { m.Nodes = append(m.Nodes, r); return nil }
func (m *Memory) Score(r record.Score) error { m.Scores = append(m.Scores, r); return nil }
