package trace_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/locosim/locosim/record"
	"github.com/locosim/locosim/trace"
)

func Example() {
	dir, err := os.MkdirTemp("", "run")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "evals.parquet")

	w, err := trace.Create[record.Eval](path)
	if err != nil {
		log.Fatal(err)
	}
	defer w.Abort() // cleans up if anything below fails; no-op after Close
	for r := range int64(3) {
		err := w.Write(record.Eval{Round: r, SimTimeS: 60 * float64(r), EvalLoss: 5.5 - float64(r)})
		if err != nil {
			log.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}

	evals, err := trace.ReadAll[record.Eval](path)
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range evals {
		fmt.Printf("round %d at %4.0f s: loss %.1f\n", e.Round, e.SimTimeS, e.EvalLoss)
	}
	info, _ := trace.Stat(path)
	fmt.Println(info.Rows, "rows in", len(info.RowGroupRows), "row group;", info.Columns[:3])
	// Output:
	// round 0 at    0 s: loss 5.5
	// round 1 at   60 s: loss 4.5
	// round 2 at  120 s: loss 3.5
	// 3 rows in 1 row group; [round step sim_time_s]
}

func ExampleWriteJSON() {
	dir, _ := os.MkdirTemp("", "run")
	defer os.RemoveAll(dir)
	manifest := map[string]any{"seed": 1, "strategy": "sparseloco"}
	if err := trace.WriteJSON(filepath.Join(dir, "manifest.json"), manifest); err != nil {
		log.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "manifest.json"))
	fmt.Print(string(b))
	// Output:
	// {
	//   "seed": 1,
	//   "strategy": "sparseloco"
	// }
}
