package rundir

import (
	"context"
	"errors"
	"math"
	"os"
	"time"

	"github.com/locosim/locosim/model"
	"github.com/locosim/locosim/record"
	"github.com/locosim/locosim/sim"
	_ "github.com/locosim/locosim/strategy" // the algorithms a run directory offers
)

// Options tune how a run is executed; none of them changes its results.
type Options struct {
	// OnStart, if set, learns the number of progress units (rounds or steps).
	OnStart func(total int)
	// OnEval, if set, sees every evaluation as it is made (progress).
	OnEval func(record.Eval)
}

// Simulate runs cfg as a multi-node simulation, writing the run directory
// dir: traces, manifest, figures. On error or cancellation nothing but
// complete files is left behind, and no manifest.
func Simulate(ctx context.Context, cfg sim.Config, dir string, opts Options) (*Manifest, error) {
	start := time.Now()
	r, err := sim.NewRun(cfg, sim.Options{Now: time.Now})
	if err != nil {
		return nil, err
	}
	_, total := r.Rounds()
	w, last, setup, wall, err := execute(ctx, dir, start, total, opts, r.Run)
	if err != nil {
		return nil, err
	}
	defer w.Abort()

	up, down, tokens := r.Totals()
	m := NewManifest("run", cfg.Seed, cfg)
	m.CorpusDigest = r.Corpus().Digest()
	m.SetFloor(r.Floor())
	m.SetFinal("eval_loss", last.EvalLoss)
	m.SetFinal("excess_loss", last.ExcessLoss)
	m.SetFinal("train_loss", last.TrainLoss)
	m.SetFinal("sim_time_s", last.SimTimeS)
	m.SetFinal("bytes_total", float64(up+down))
	m.SetFinal("bytes_up", float64(up))
	m.SetFinal("bytes_down", float64(down))
	m.SetFinal("tokens", float64(tokens))
	m.SetFinal("rounds", float64(last.Round))
	m.SetFinal("compute_utilization", r.ComputeUtilization())
	m.SetFinal("round_time_s", last.SimTimeS/math.Max(float64(last.Round), 1))
	m.Info["nodes"] = r.Cluster().Len()
	m.Info["params"] = cfg.Model.NumParams()
	m.Info["kernels"] = model.Kernels()
	tm := r.Timing
	m.Timing["setup"] = setup.Seconds()
	m.Timing["run"] = wall.Seconds()
	m.Timing["training"] = tm.Training()
	m.Timing["compression"] = tm.CompressCPU
	m.Timing["network_simulation"] = tm.Network
	m.Timing["aggregation"] = tm.Aggregate
	m.Timing["evaluation"] = tm.Eval
	return m, finish(w, m, dir)
}

// Train trains one replica of cfg with no network, writing the run directory
// dir. Its manifest reports the replica's memory and tokens per second.
func Train(ctx context.Context, cfg sim.Config, dir string, opts Options) (*Manifest, error) {
	start := time.Now()
	s, err := sim.NewSingle(cfg)
	if err != nil {
		return nil, err
	}
	_, total := s.Steps()
	w, last, setup, wall, err := execute(ctx, dir, start, total, opts, s.Run)
	if err != nil {
		return nil, err
	}
	defer w.Abort()

	mem := model.Memory(cfg.Model, cfg.Train.BatchSize, max(cfg.Train.Workers, 1))
	m := NewManifest("train", cfg.Seed, cfg)
	m.CorpusDigest = s.Corpus().Digest()
	m.SetFloor(s.Floor())
	m.SetFinal("eval_loss", last.EvalLoss)
	m.SetFinal("excess_loss", last.ExcessLoss)
	m.SetFinal("train_loss", last.TrainLoss)
	m.SetFinal("tokens", float64(last.Tokens))
	m.SetFinal("steps", float64(last.Step))
	m.SetFinal("sim_time_s", 0)
	m.SetFinal("bytes_total", 0)
	m.Info["params"] = cfg.Model.NumParams()
	m.Info["kernels"] = model.Kernels()
	m.Info["replica_bytes"] = mem.ReplicaBytes()
	m.Info["workspace_bytes"] = mem.WorkspaceBytes()
	m.Info["memory"] = mem.String()
	m.Info["tokens_per_s"] = float64(last.Tokens) / wall.Seconds()
	m.Timing["setup"] = setup.Seconds()
	m.Timing["training"] = wall.Seconds()
	return m, finish(w, m, dir)
}

// execute opens dir's writer and runs job into it, timing the setup (since
// start) and the run. On error the writer is already aborted.
func execute(ctx context.Context, dir string, start time.Time, total int, opts Options,
	job func(context.Context, sim.Sink, func(record.Eval)) (record.Eval, error),
) (w *Writer, last record.Eval, setup, wall time.Duration, err error) {
	if w, err = Create(dir); err != nil {
		return nil, last, 0, 0, err
	}
	if opts.OnStart != nil {
		opts.OnStart(total)
	}
	setup = time.Since(start)
	t0 := time.Now()
	if last, err = job(ctx, w, opts.OnEval); err != nil {
		w.Abort()
		return nil, last, 0, 0, err
	}
	return w, last, setup, time.Since(t0), nil
}

// finish completes the traces, the incentive metrics and the figures, then
// writes the manifest last, so a directory with a manifest always holds a
// whole run.
func finish(w *Writer, m *Manifest, dir string) error {
	t := time.Now()
	if err := w.closeTraces(); err != nil {
		return err
	}
	if err := setIncentiveFinals(dir, m); err != nil {
		return err
	}
	if _, err := plotWith(dir, m.EntropyFloorNats); err != nil {
		return err
	}
	m.Timing["writing"] = time.Since(t).Seconds()
	return writeManifest(dir, m)
}

// setIncentiveFinals records the incentive metrics of a run that has scores
// (those that are defined: the manifest holds no NaN), so that sweeps and
// claims find them even after the traces are pruned.
func setIncentiveFinals(dir string, m *Manifest) error {
	w, err := ReadWeightShares(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for k, v := range w.Metrics() {
		m.SetFinal(k, v)
	}
	return nil
}
