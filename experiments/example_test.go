package experiments_test

import (
	"fmt"

	"github.com/locosim/locosim/experiments"
)

func ExampleSpec_Expand() {
	spec, err := experiments.Parse([]byte(`
name: example
grid:
  strategy.kind: [diloco, sparseloco]
zip:
  - train.inner_steps: [10, 30]
    train.outer_rounds: [30, 10]
seeds: 1
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	plan, err := spec.Expand("")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range plan.Points {
		fmt.Println(p.Name, p.Config.Train.InnerSteps*p.Config.Train.OuterRounds)
	}
	// Output:
	// strategy.kind=diloco,train.inner_steps=10,train.outer_rounds=30,seed=1 300
	// strategy.kind=diloco,train.inner_steps=30,train.outer_rounds=10,seed=1 300
	// strategy.kind=sparseloco,train.inner_steps=10,train.outer_rounds=30,seed=1 300
	// strategy.kind=sparseloco,train.inner_steps=30,train.outer_rounds=10,seed=1 300
}

func ExampleRunName() {
	fmt.Println(experiments.RunName(map[string]any{"strategy.density": 0.0156, "strategy.kind": "sparseloco"}, 1))
	// Output: strategy.density=0.0156,strategy.kind=sparseloco,seed=1
}
