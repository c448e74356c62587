package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/locosim/locosim/experiments"
	"github.com/locosim/locosim/progress"
	"github.com/spf13/cobra"
)

func init() { extraCommands = append(extraCommands, newSweepCmd) }

func newSweepCmd() *cobra.Command {
	var (
		specPath, out, size, shard, check string
		jobs                              int
		prune, noPlot, dryRun             bool
		tolerance                         float64
	)
	cmd := &cobra.Command{
		Use:   "sweep -c SPEC [-o DIR] | --check REFDIR",
		Short: "Run a grid of simulations (resumable, shardable), summarise and plot them",
		Long: `sweep runs every point of a sweep spec, several at a time (-j), one run
directory per point under DIR/runs; finished runs are skipped, half-finished
ones redone; DIR/summary.parquet, DIR/plots and DIR/index.md are rebuilt from
whatever runs exist.

--shard I/N runs the points whose index is I modulo N. --shard N takes I from
SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX, so one command serves as a Slurm
job array or a Kubernetes Indexed Job writing into shared storage.

--check REFDIR re-runs every run of a reference sweep and reports each final
metric that differs (exactly, or beyond --tolerance, relative); with --shard
it re-runs only that shard's runs (in run-name order), a spot check of a large
sweep or one task of a check spread over a job array.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logw := cmd.ErrOrStderr()
			if check != "" {
				i, n, err := parseShard(shard, os.Getenv)
				if err != nil {
					return err
				}
				return runCheck(cmd, check, out, tolerance, experiments.Options{Jobs: jobs, Shard: i, Shards: n, Log: cmd.ErrOrStderr()})
			}
			if specPath == "" {
				return fmt.Errorf("sweep: give a spec with -c (or --check REFDIR)")
			}
			spec, err := experiments.Load(specPath)
			if err != nil {
				return err
			}
			plan, err := spec.Expand(size)
			if err != nil {
				return err
			}
			if dryRun {
				for _, p := range plan.Points {
					fmt.Fprintln(cmd.OutOrStdout(), p.Name)
				}
				return nil
			}
			i, n, err := parseShard(shard, os.Getenv)
			if err != nil {
				return err
			}
			if out == "" {
				name := plan.Name
				if size != "" {
					name += "-" + size
				}
				out = filepath.Join("results", "runs", name)
			}
			start := time.Now()
			res, err := experiments.Run(cmd.Context(), spec, plan, out, experiments.Options{
				Jobs: jobs, Shard: i, Shards: n, Prune: prune, NoPlot: noPlot, Log: logw,
			})
			tab := progress.NewTable("sweep", plan.Name)
			tab.Row("points in this shard", res.Selected)
			tab.Row("ran", res.Ran)
			tab.Row("skipped (finished)", res.Skipped)
			tab.Row("failed", res.Failed)
			tab.Row("wall time", time.Since(start).Round(time.Second).String())
			tab.Row("sweep directory", out)
			if !noPlot {
				tab.Row("index", filepath.Join(out, experiments.IndexFile))
			}
			if werr := tab.Write(cmd.OutOrStdout()); werr != nil && err == nil {
				err = werr
			}
			return err
		},
	}
	cmd.Flags().StringVarP(&specPath, "config", "c", "", "sweep spec (YAML)")
	cmd.Flags().StringVarP(&out, "out", "o", "", "sweep directory (default results/runs/<name>[-<size>]; with --check, where re-runs go: default a temporary directory)")
	cmd.Flags().StringVar(&size, "size", "", "size variant of the spec (quick, full, ...)")
	cmd.Flags().IntVarP(&jobs, "jobs", "j", 1, "runs at a time; each trains with GOMAXPROCS/jobs workers")
	cmd.Flags().StringVar(&shard, "shard", "", "I/N: run every N-th point starting at I; N alone takes I from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX")
	cmd.Flags().BoolVar(&prune, "prune", false, "keep only manifest.json and evals.parquet of each finished run")
	cmd.Flags().BoolVar(&noPlot, "no-plot", false, "skip the sweep's figures and index page")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "validate every point and print the run names, run nothing")
	cmd.Flags().StringVar(&check, "check", "", "re-run the reference sweep in this directory and compare every metric")
	cmd.Flags().Float64Var(&tolerance, "tolerance", 0, "relative tolerance of --check (0: identical)")
	return cmd
}

// parseShard reads "I/N" or "N" (I from the array index in the
// environment); "" means no sharding. It also picks up the index alone
// from the environment when SLURM_ARRAY_TASK_COUNT gives N.
func parseShard(s string, getenv func(string) string) (i, n int, err error) {
	envIndex := func() (int, error) {
		for _, v := range []string{"SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"} {
			if x := getenv(v); x != "" {
				k, err := strconv.Atoi(x)
				if err != nil || k < 0 {
					return 0, fmt.Errorf("--shard: %s=%q is not a shard index", v, x)
				}
				return k, nil
			}
		}
		return 0, fmt.Errorf("--shard N: no SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX in the environment; give --shard I/N")
	}
	if s == "" {
		c := getenv("SLURM_ARRAY_TASK_COUNT")
		if c == "" || getenv("SLURM_ARRAY_TASK_ID") == "" {
			return 0, 0, nil
		}
		s = c
	}
	is, ns, hasIndex := strings.Cut(s, "/")
	if !hasIndex {
		ns = is
	}
	n, err = strconv.Atoi(ns)
	if err != nil || n < 1 {
		return 0, 0, fmt.Errorf("--shard %q: want I/N with N >= 1", s)
	}
	if hasIndex {
		i, err = strconv.Atoi(is)
		if err != nil {
			return 0, 0, fmt.Errorf("--shard %q: want I/N", s)
		}
	} else if i, err = envIndex(); err != nil {
		return 0, 0, err
	}
	if i < 0 || i >= n {
		return 0, 0, fmt.Errorf("--shard %d/%d: the index must be in 0..%d", i, n, n-1)
	}
	return i, n, nil
}

func runCheck(cmd *cobra.Command, ref, out string, tolerance float64, opts experiments.Options) error {
	if out == "" {
		dir, err := os.MkdirTemp("", "locosim-check-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		out = dir
	}
	diffs, err := experiments.Check(cmd.Context(), ref, out, tolerance, opts)
	if err != nil {
		return err
	}
	return reportDiffs(cmd.OutOrStdout(), ref, diffs, tolerance)
}

func reportDiffs(w io.Writer, ref string, diffs []experiments.Difference, tolerance float64) error {
	if len(diffs) == 0 {
		what := "identical to"
		if tolerance > 0 {
			what = fmt.Sprintf("within %g (relative) of", tolerance)
		}
		_, err := fmt.Fprintf(w, "every metric of every run is %s the reference %s\n", what, ref)
		return err
	}
	for _, d := range diffs {
		fmt.Fprintln(w, d)
	}
	return fmt.Errorf("check: %d metric(s) differ from the reference %s", len(diffs), ref)
}
