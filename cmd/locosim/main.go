// Command locosim runs simulations of communication-efficient distributed
// training: real replicas of a small GPT on simulated time.
//
//	locosim run    [-c FILE] [--set key=value]... [-o DIR]   one simulated training run
//	locosim sweep  -c FILE [-o DIR] [--shard I/N] [-j JOBS]  a grid of runs
//	locosim plot   DIR                                       redraw figures
//	locosim claims [DIR]                                     published claims against results/, into DIR/CLAIMS.md
//	locosim train  [-c FILE] [--set ...] [-o DIR]            one replica, no network
//	locosim config [-c FILE] [--set ...]                     print the resolved config
//
// Configuration comes from the embedded default, then the file, then
// LOCOSIM_ environment variables, then --set overrides; unknown keys are errors.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRoot().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "locosim:", err)
		os.Exit(1)
	}
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "locosim",
		Short:         "Simulate communication-efficient distributed training with real models on simulated time",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newRunCmd(), newTrainCmd(), newConfigCmd(), newPlotCmd())
	for _, c := range extraCommands {
		root.AddCommand(c())
	}
	return root
}

// extraCommands are added by the files that define them, in their init
// functions, so each command lives in a file of its own.
var extraCommands []func() *cobra.Command

// configFlags are the flags every command that resolves a config shares.
type configFlags struct {
	file string
	sets []string
}

func (f *configFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.file, "config", "c", "", "YAML config file (default: the embedded default)")
	cmd.Flags().StringArrayVar(&f.sets, "set", nil, "override a config key: --set train.inner_steps=50 (repeatable)")
}
