package progress_test

import (
	"os"

	"github.com/locosim/locosim/progress"
)

// On a non-terminal writer (here stdout of the test) the reporter prints
// plain lines: one per 10 % of progress (DefaultConfig) plus a final line. The
// elapsed time is the wall clock, so this example is not checked.
func ExampleNew() {
	p := progress.New(os.Stdout, 4, "rounds")
	for r := 1; r <= 4; r++ {
		p.Update(r, "round", r, "loss", 4.0/float64(r))
	}
	p.Finish()
}

func ExampleTable() {
	t := progress.NewTable("run", "eval_loss", "bytes_total")
	t.Row("ddp", 2.71828, 1<<30)
	t.Row("sparseloco", 2.8, 1<<24)
	t.Write(os.Stdout)
	// Output:
	// run         eval_loss  bytes_total
	// ---         ---------  -----------
	// ddp         2.718      1073741824
	// sparseloco  2.8        16777216
}
