package model

import (
	"math"
	"testing"
)

// Two replicas stepped through one shared workspace in turn must end exactly
// where each would with a workspace of its own.
func TestReplicasShareWorkspace(t *testing.T) {
	cfg := Config{Layers: 2, Heads: 2, Channels: 16, SeqLen: 8, Vocab: 20}
	ocfg := DefaultAdamWConfig()
	mk := func(seed uint64) *Replica {
		r, err := NewReplica(cfg, ocfg, seed)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	a, b := mk(1), mk(2)
	a2, b2 := a.Clone(), b.Clone()
	shared := mustWorkspace(t, cfg, 2, 1)
	wsA, wsB := mustWorkspace(t, cfg, 2, 1), mustWorkspace(t, cfg, 2, 2)
	for step := 0; step < 5; step++ {
		in, tg := randomTokens(uint64(step), 2*cfg.SeqLen, cfg.Vocab), randomTokens(uint64(step)+99, 2*cfg.SeqLen, cfg.Vocab)
		for _, p := range []struct {
			r  *Replica
			ws *Workspace
		}{{a, shared}, {b, shared}, {a2, wsA}, {b2, wsB}} {
			if _, _, err := p.r.TrainStep(p.ws, in, tg); err != nil {
				t.Fatal(err)
			}
		}
	}
	if a.Step != 5 || bitsEqual(a.Model.Params(), a2.Model.Params()) >= 0 || bitsEqual(b.Model.Params(), b2.Model.Params()) >= 0 {
		t.Fatal("sharing a workspace changed the result")
	}
	if bitsEqual(a.Model.Params(), b.Model.Params()) < 0 {
		t.Fatal("replicas with different seeds ended equal")
	}
}

func TestEvaluateChunks(t *testing.T) {
	m := perturbed(t, tiny, 51)
	n := 7 * tiny.SeqLen
	in, tg := randomTokens(1, n, tiny.Vocab), randomTokens(2, n, tiny.Vocab)
	whole, err := m.Loss(mustWorkspace(t, tiny, 7, 1), in, tg)
	if err != nil {
		t.Fatal(err)
	}
	chunked, err := m.Evaluate(mustWorkspace(t, tiny, 3, 1), in, tg)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(whole-chunked) > 1e-6*whole {
		t.Fatalf("chunked %v, whole %v", chunked, whole)
	}
	if _, err := m.Evaluate(mustWorkspace(t, tiny, 3, 1), in[:4], tg[:4]); err == nil {
		t.Fatal("partial sequence accepted")
	}
}
