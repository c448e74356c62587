package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/locosim/locosim/config"
	"github.com/locosim/locosim/experiments"
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
			if err := cfg.ValidateRun(); err != nil {
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
	return newJobCmd("run", "One simulated training run of many nodes", run)
}

func newTrainCmd() *cobra.Command {
	return newJobCmd("train", "Train one replica with no network (the baseline, and a speed check)", train)
}

// newJobCmd is a command that resolves a config and writes one run directory.
func newJobCmd(use, short string, job func(ctx context.Context, cfg sim.Config, out string, logw, stdout io.Writer) error) *cobra.Command {
	var f configFlags
	var out string
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := resolve(f)
			if err != nil {
				return err
			}
			if out == "" {
				out = defaultOut(use)
			}
			return job(cmd.Context(), cfg, out, cmd.ErrOrStderr(), cmd.OutOrStdout())
		},
	}
	f.register(cmd)
	cmd.Flags().StringVarP(&out, "out", "o", "", "run directory (default results/runs/"+use+"-<time>)")
	return cmd
}

func newPlotCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "plot DIR",
		Short: "Redraw the figures and index page of a run or sweep directory",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			plotDir, index := rundir.Plot, rundir.WriteIndex
			if experiments.IsSweep(args[0]) {
				plotDir, index = experiments.Plot, func(string) error { return nil }
			}
			names, err := plotDir(args[0])
			for _, n := range names {
				fmt.Fprintln(cmd.OutOrStdout(), filepath.Join(args[0], rundir.PlotsDir, n+".png"))
			}
			if err == nil {
				err = index(args[0])
			}
			return err
		},
	}
}

func defaultOut(command string) string {
	return filepath.Join("results", "runs", command+"-"+time.Now().Format("20060102-150405"))
}

// progressOptions draws progress on logw: a bar on a terminal, lines otherwise.
func progressOptions(logw io.Writer, label string, field string) (rundir.Options, func()) {
	var bar *progress.Reporter
	opts := rundir.Options{
		OnStart: func(total int) { bar = progress.New(logw, total, label) },
		OnEval: func(e record.Eval) {
			done := int(e.Round)
			if field == "step" {
				done = int(e.Step)
			}
			bar.Update(done, "loss", e.EvalLoss, "excess", e.ExcessLoss, "sim_time_s", e.SimTimeS)
		},
	}
	return opts, func() {
		if bar != nil {
			bar.Finish()
		}
	}
}

func train(ctx context.Context, cfg sim.Config, out string, logw, stdout io.Writer) error {
	mem := model.Memory(cfg.Model, cfg.Train.BatchSize, max(cfg.Train.Workers, 1))
	fmt.Fprintf(logw, "locosim train: %d parameters (kernels: %s); memory %s\n", cfg.Model.NumParams(), model.Kernels(), mem)
	opts, done := progressOptions(logw, "train", "step")
	m, err := rundir.Train(ctx, cfg, out, opts)
	done()
	if err != nil {
		return err
	}
	return summary(stdout, m, out, "eval_loss", "excess_loss", "steps", "tokens")
}

func run(ctx context.Context, cfg sim.Config, out string, logw, stdout io.Writer) error {
	fmt.Fprintf(logw, "locosim run: %s over %d nodes, %d parameters per replica, sync %s\n",
		cfg.Strategy.Kind, cfg.Cluster.Nodes, cfg.Model.NumParams(), cfg.Sync.Mode)
	opts, done := progressOptions(logw, "run", "round")
	m, err := rundir.Simulate(ctx, cfg, out, opts)
	done()
	if err != nil {
		return err
	}
	// The incentive metrics print only for runs that have them.
	return summary(stdout, m, out, append([]string{"eval_loss", "excess_loss", "rounds", "sim_time_s", "round_time_s",
		"bytes_total", "compute_utilization"}, rundir.IncentiveMetricNames...)...)
}

// summary prints the final metrics and where the time went.
func summary(w io.Writer, m *rundir.Manifest, dir string, keys ...string) error {
	tab := progress.NewTable("metric", "value")
	for _, k := range keys {
		if v, ok := m.Final[k]; ok {
			tab.Row(k, v)
		}
	}
	if v, ok := m.Info["tokens_per_s"]; ok {
		tab.Row("tokens_per_s", v)
	}
	// "run" holds the phases of a simulation; a single replica has only "training".
	busy, ok := m.Timing["run"]
	if !ok {
		busy = m.Timing["training"]
	}
	total := m.Timing["setup"] + busy + m.Timing["writing"]
	for _, k := range []string{"training", "compression", "network_simulation", "aggregation", "evaluation", "writing"} {
		if v, ok := m.Timing[k]; ok && total > 0 {
			tab.Row("wall "+k, fmt.Sprintf("%.1f s (%.0f %%)", v, 100*v/total))
		}
	}
	tab.Row("run directory", dir)
	return tab.Write(w)
}
