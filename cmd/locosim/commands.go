package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/locosim/locosim/config"
	"github.com/locosim/locosim/model"
	"github.com/locosim/locosim/progress"
	"github.com/locosim/locosim/record"
	"github.com/locosim/locosim/rundir"
	"github.com/locosim/locosim/sim"
	"github.com/spf13/cobra"
)

func resolve(f configFlags) (sim.Config, error) {
	return config.Resolve(sim.DefaultConfig(), config.Source{File: f.file, Sets: f.sets, Environ: os.Environ()})
}

func newConfigCmd() *cobra.Command {
	var f configFlags
	var keys bool
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Print the fully resolved configuration as YAML",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if keys {
				ks, err := config.Keys(sim.DefaultConfig())
				if err != nil {
					return err
				}
				for _, k := range ks {
					fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\n", k, config.EnvName(k))
				}
				return nil
			}
			cfg, err := resolve(f)
			if err != nil {
				return err
			}
			b, err := config.Marshal(cfg)
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(b)
			return err
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&keys, "keys", false, "list every config key and its environment variable instead")
	return cmd
}

func newRunCmd() *cobra.Command {
	var f configFlags
	var out string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "One simulated training run of many nodes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := resolve(f)
			if err != nil {
				return err
			}
			if out == "" {
				out = defaultOut("run")
			}
			return run(cmd.Context(), cfg, out, cmd.ErrOrStderr(), cmd.OutOrStdout())
		},
	}
	f.register(cmd)
	cmd.Flags().StringVarP(&out, "out", "o", "", "run directory (default results/runs/run-<time>)")
	return cmd
}

func newTrainCmd() *cobra.Command {
	var f configFlags
	var out string
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train one replica with no network (the baseline, and a speed check)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := resolve(f)
			if err != nil {
				return err
			}
			if out == "" {
				out = defaultOut("train")
			}
			return train(cmd.Context(), cfg, out, cmd.ErrOrStderr(), cmd.OutOrStdout())
		},
	}
	f.register(cmd)
	cmd.Flags().StringVarP(&out, "out", "o", "", "run directory (default results/runs/train-<time>)")
	return cmd
}

func newPlotCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "plot DIR",
		Short: "Redraw the figures of a run directory",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			names, err := rundir.Plot(args[0])
			for _, n := range names {
				fmt.Fprintln(cmd.OutOrStdout(), filepath.Join(args[0], rundir.PlotsDir, n+".png"))
			}
			return err
		},
	}
}

func defaultOut(command string) string {
	return filepath.Join("results", "runs", command+"-"+time.Now().Format("20060102-150405"))
}

func train(ctx context.Context, cfg sim.Config, out string, logw, stdout io.Writer) error {
	start := time.Now()
	s, err := sim.NewSingle(cfg)
	if err != nil {
		return err
	}
	mem := model.Memory(cfg.Model, cfg.Train.BatchSize, max(cfg.Train.Workers, 1))
	fmt.Fprintf(logw, "locosim train: %d parameters; memory per replica: %s\n", cfg.Model.NumParams(), mem)
	w, err := rundir.Create(out)
	if err != nil {
		return err
	}
	defer w.Abort()
	_, total := s.Steps()
	bar := progress.New(logw, total, "train")
	setup := time.Since(start)
	t0 := time.Now()
	last, err := s.Run(ctx, w, func(e record.Eval) {
		bar.Update(int(e.Step), "loss", e.EvalLoss, "excess", e.ExcessLoss)
	})
	bar.Finish()
	if err != nil {
		return err
	}
	trainWall := time.Since(t0)

	m := rundir.NewManifest("train", cfg.Seed, cfg)
	m.CorpusDigest = s.Corpus().Digest()
	m.SetFloor(s.Floor())
	m.SetFinal("eval_loss", last.EvalLoss)
	m.SetFinal("excess_loss", last.ExcessLoss)
	m.SetFinal("train_loss", last.TrainLoss)
	m.SetFinal("tokens", float64(last.Tokens))
	m.SetFinal("steps", float64(last.Step))
	m.SetFinal("sim_time_s", 0)
	m.SetFinal("bytes_total", 0)
	tokensPerS := float64(last.Tokens) / trainWall.Seconds()
	m.Info["params"] = cfg.Model.NumParams()
	m.Info["replica_bytes"] = mem.ReplicaBytes()
	m.Info["workspace_bytes"] = mem.WorkspaceBytes()
	m.Info["tokens_per_s"] = tokensPerS
	m.Timing["setup"] = setup.Seconds()
	m.Timing["training"] = trainWall.Seconds()
	t1 := time.Now()
	if err := w.Close(m); err != nil {
		return err
	}
	if _, err := rundir.Plot(out); err != nil {
		return err
	}
	writing := time.Since(t1)

	tab := progress.NewTable("metric", "value")
	tab.Row("eval loss (nats)", last.EvalLoss)
	if !math.IsNaN(last.ExcessLoss) {
		tab.Row("excess over floor", last.ExcessLoss)
	}
	tab.Row("steps", last.Step)
	tab.Row("tokens", last.Tokens)
	tab.Row("tokens/s", tokensPerS)
	tab.Row("wall: training (s)", trainWall.Seconds())
	tab.Row("wall: writing (s)", writing.Seconds())
	tab.Row("run directory", out)
	return tab.Write(stdout)
}

func run(ctx context.Context, cfg sim.Config, out string, logw, stdout io.Writer) error {
	start := time.Now()
	r, err := sim.NewRun(cfg, sim.Options{Now: time.Now})
	if err != nil {
		return err
	}
	n := r.Cluster().Len()
	fmt.Fprintf(logw, "locosim run: %s on %d nodes, %d parameters per replica, sync %s\n",
		cfg.Strategy.Kind, n, cfg.Model.NumParams(), cfg.Sync.Mode)
	w, err := rundir.Create(out)
	if err != nil {
		return err
	}
	defer w.Abort()
	_, total := r.Rounds()
	bar := progress.New(logw, total, "run")
	setup := time.Since(start)
	t0 := time.Now()
	last, err := r.Run(ctx, w, func(e record.Eval) {
		bar.Update(int(e.Round), "loss", e.EvalLoss, "sim_time_s", e.SimTimeS)
	})
	bar.Finish()
	if err != nil {
		return err
	}
	wall := time.Since(t0)

	up, down, tokens := r.Totals()
	m := rundir.NewManifest("run", cfg.Seed, cfg)
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
	m.Info["nodes"] = n
	m.Info["params"] = cfg.Model.NumParams()
	tm := r.Timing
	training := tm.Training()
	m.Timing["setup"] = setup.Seconds()
	m.Timing["run"] = wall.Seconds()
	m.Timing["training"] = training
	m.Timing["compression"] = tm.CompressCPU
	m.Timing["network_simulation"] = tm.Network
	m.Timing["aggregation"] = tm.Aggregate
	m.Timing["evaluation"] = tm.Eval
	t1 := time.Now()
	if err := w.Close(m); err != nil {
		return err
	}
	if _, err := rundir.Plot(out); err != nil {
		return err
	}
	writing := time.Since(t1)

	tab := progress.NewTable("metric", "value")
	tab.Row("eval loss (nats)", last.EvalLoss)
	if !math.IsNaN(last.ExcessLoss) {
		tab.Row("excess over floor", last.ExcessLoss)
	}
	tab.Row("rounds", last.Round)
	tab.Row("simulated time (s)", last.SimTimeS)
	tab.Row("bytes moved", up+down)
	tab.Row("compute utilisation", r.ComputeUtilization())
	tab.Row("wall: total (s)", time.Since(start).Seconds())
	tab.Row("wall: training share", training/wall.Seconds())
	tab.Row("wall: writing (s)", writing.Seconds())
	tab.Row("run directory", out)
	return tab.Write(stdout)
}
