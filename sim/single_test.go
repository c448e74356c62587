package sim

import (
	"context"
	"math"
	"testing"

	"github.com/locosim/locosim/model"
)

// TestSingleLearns is the trainer's acceptance test: on the synthetic corpus
// the small model's excess loss over the entropy floor falls below half its
// starting value within a few hundred steps.
func TestSingleLearns(t *testing.T) {
	if testing.Short() {
		t.Skip("trains the small model for a few hundred steps")
	}
	cfg := DefaultConfig()
	cfg.Model = model.Small()
	cfg.Train.BatchSize = 8
	cfg.Train.Optimizer.WarmupSteps = 50
	cfg.Train.InnerSteps = 50
	cfg.Train.OuterRounds = 6
	cfg.Train.EvalEvery = 2
	s, err := NewSingle(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mem := &Memory{}
	last, err := s.Run(context.Background(), mem, nil)
	if err != nil {
		t.Fatal(err)
	}
	first := mem.Evals[0]
	if math.IsNaN(first.ExcessLoss) {
		t.Fatal("synthetic corpus has no floor")
	}
	for _, e := range mem.Evals {
		t.Logf("step %4d eval %.4f excess %.4f", e.Step, e.EvalLoss, e.ExcessLoss)
	}
	if !(last.ExcessLoss < first.ExcessLoss/2) {
		t.Fatalf("excess loss %.3f after %d steps, want < half of %.3f", last.ExcessLoss, last.Step, first.ExcessLoss)
	}
	if len(mem.Evals) != 4 || last.Step != 300 {
		t.Fatalf("got %d evaluations ending at step %d, want 4 ending at 300", len(mem.Evals), last.Step)
	}
}
