package main

import (
	"fmt"
	"path/filepath"

	"github.com/locosim/locosim/claims"
	"github.com/spf13/cobra"
)

func init() { extraCommands = append(extraCommands, newClaimsCmd) }

func newClaimsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "claims [RESULTS-DIR]",
		Short: "Set the published claims against the experiments' results and write CLAIMS.md",
		Long: `claims reads every canonical experiment under RESULTS-DIR (default
results): each one's plan.json, runs/*/manifest.json and runs/*/evals.parquet.
For each published claim it pairs the runs of the two compared settings by
seed, takes the 95 % Student-t interval of the mean difference, and gives a
verdict (reproduced, not reproduced, inconclusive, or not run when the
settings are absent) and whether the verdict already held at half the runs'
length. It writes RESULTS-DIR/CLAIMS.md and prints how many claims got each
verdict.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "results"
			if len(args) == 1 {
				dir = args[0]
			}
			path := filepath.Join(dir, claims.File)
			rs, err := claims.WriteFile(dir, path, claims.Registry)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintln(w, path)
			n := claims.Count(rs)
			for _, v := range claims.Verdicts {
				fmt.Fprintf(w, "%-15s %d\n", v+":", n[v])
			}
			return nil
		},
	}
}
