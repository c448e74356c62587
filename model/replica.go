package model

import "fmt"

// Replica is what one simulated node keeps between steps: its model, its
// optimizer moments and its inner step count. It owns no workspace.
type Replica struct {
	Model *Model
	Opt   *AdamW
	Step  int // inner steps taken; the learning-rate schedule reads it
}

// NewReplica returns a freshly initialised replica.
func NewReplica(cfg Config, opt AdamWConfig, seed uint64) (*Replica, error) {
	m, err := New(cfg, seed)
	if err != nil {
		return nil, err
	}
	o, err := NewAdamW(opt, m.Layout())
	if err != nil {
		return nil, err
	}
	return &Replica{Model: m, Opt: o}, nil
}

// TrainStep runs forward, backward and one AdamW update on a batch, using ws
// for the activations and gradients, and advances Step. It returns the loss
// before the update.
func (r *Replica) TrainStep(ws *Workspace, inputs, targets []int32) (float64, StepStats, error) {
	loss, err := r.Model.ForwardBackward(ws, inputs, targets)
	if err != nil {
		return 0, StepStats{}, err
	}
	r.Opt.SetWorkers(ws.Workers())
	st, err := r.Opt.Step(r.Model.Params(), ws.Grads(), r.Step)
	if err != nil {
		return loss, st, fmt.Errorf("model: replica step %d: %w", r.Step, err)
	}
	r.Step++
	return loss, st, nil
}

// Clone returns an independent copy of the replica (parameters, moments and
// step count).
func (r *Replica) Clone() *Replica {
	return &Replica{Model: r.Model.Clone(), Opt: r.Opt.Clone(), Step: r.Step}
}
