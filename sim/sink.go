// Package sim runs locosim's simulations: real replicas of a small GPT that
// train on their own data while a deterministic discrete-event engine (package
// des) and a flow-level network model (package netmodel) decide how long
// everything takes.
//
// The package does no I/O. A run emits records (package record) into a Sink
// that the caller provides; the CLI's sink writes Parquet traces and figures.
// Time is the simulator's own; nothing here reads a clock.
package sim

import "github.com/locosim/locosim/record"

// Sink receives the records a run emits, in a deterministic order.
type Sink interface {
	Eval(record.Eval) error
	Round(record.Round) error
	Event(record.Event) error
	Node(record.Node) error
}

// Discard is a Sink that keeps nothing.
var Discard Sink = discard{}

type discard struct{}

func (discard) Eval(record.Eval) error   { return nil }
func (discard) Round(record.Round) error { return nil }
func (discard) Event(record.Event) error { return nil }
func (discard) Node(record.Node) error   { return nil }

// Memory is a Sink that keeps every record, for tests and notebooks' helpers.
type Memory struct {
	Evals  []record.Eval
	Rounds []record.Round
	Events []record.Event
	Nodes  []record.Node
}

func (m *Memory) Eval(r record.Eval) error   { m.Evals = append(m.Evals, r); return nil }
func (m *Memory) Round(r record.Round) error { m.Rounds = append(m.Rounds, r); return nil }
func (m *Memory) Event(r record.Event) error { m.Events = append(m.Events, r); return nil }
func (m *Memory) Node(r record.Node) error   { m.Nodes = append(m.Nodes, r); return nil }
