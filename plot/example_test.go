package plot_test

import (
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"

	"github.com/locosim/locosim/plot"
)

// A loss curve with a confidence band across seeds and the entropy floor,
// saved as loss.png and loss.svg.
func ExampleLineChart() {
	dir, _ := os.MkdirTemp("", "plots")
	defer os.RemoveAll(dir)

	var s plot.Series
	s.Name = "sparseloco (3 seeds)"
	for r := range 50 {
		mean := 2 + 3*math.Exp(-float64(r)/10)
		s.X = append(s.X, float64(r))
		s.Y = append(s.Y, mean)
		s.Lower = append(s.Lower, mean-0.05)
		s.Upper = append(s.Upper, mean+0.05)
	}
	chart := plot.LineChart{
		Title:  "eval loss",
		XLabel: "outer round",
		YLabel: "loss (nats)",
		Series: []plot.Series{s},
		Ref:    &plot.RefLine{Y: 1.95, Label: "entropy floor"},
	}
	if err := plot.Save(filepath.Join(dir, "loss"), chart); err != nil {
		log.Fatal(err)
	}
	for _, ext := range plot.Formats {
		_, err := os.Stat(filepath.Join(dir, "loss."+ext))
		fmt.Println(ext, err == nil)
	}
	// Output:
	// png true
	// svg true
}

func ExampleParetoFront() {
	runs := []plot.Point{
		{X: 1e9, Y: 2.40, Group: "ddp"},
		{X: 1e7, Y: 2.55, Group: "sparseloco"},
		{X: 1e8, Y: 2.60, Group: "diloco"}, // more bytes and worse loss than sparseloco
		{X: 1e6, Y: 2.90, Group: "sparseloco"},
	}
	for _, i := range plot.ParetoFront(runs) {
		fmt.Println(runs[i].Group, runs[i].X, runs[i].Y)
	}
	// Output:
	// sparseloco 1e+06 2.9
	// sparseloco 1e+07 2.55
	// ddp 1e+09 2.4
}
