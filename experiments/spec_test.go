package experiments

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tinyBase is a configuration whose runs take a fraction of a second.
const tinyBase = `
  model: {layers: 1, channels: 16, heads: 2, seq_len: 8}
  cluster: {nodes: 3}
  train: {batch_size: 1, inner_steps: 2, outer_rounds: 2, eval_every: 1, eval_batches: 1, optimizer: {warmup_steps: 1}}
`

func mustParse(t *testing.T, text string) *Spec {
	t.Helper()
	s, err := Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestExpand(t *testing.T) {
	s := mustParse(t, `
name: t
base:`+tinyBase+`
grid:
  - strategy.kind: [sparseloco]
    strategy.density: [0.01, 0.02]
  - strategy.kind: [diloco]
    strategy.outer_lr: [0.5, 1]
zip:
  - train.inner_steps: [2, 4]
    train.outer_rounds: [4, 2]
seeds: [3, 5]
sizes:
  small: {set: {cluster.nodes: 2}, grid: {strategy.density: [0.05]}, seeds: 1}
`)
	p, err := s.Expand("")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(p.Points), (2+2)*2*2; got != want {
		t.Fatalf("%d points, want %d", got, want)
	}
	want := []string{"strategy.density", "strategy.kind", "strategy.outer_lr", "train.inner_steps", "train.outer_rounds"}
	if strings.Join(p.Keys, " ") != strings.Join(want, " ") {
		t.Errorf("keys %v, want %v", p.Keys, want)
	}
	byName := map[string]Point{}
	for i, pt := range p.Points {
		if i > 0 && p.Points[i-1].Name >= pt.Name {
			t.Errorf("points not sorted by name: %s before %s", p.Points[i-1].Name, pt.Name)
		}
		byName[pt.Name] = pt
	}
	pt, ok := byName["strategy.kind=diloco,strategy.outer_lr=0.5,train.inner_steps=4,train.outer_rounds=2,seed=5"]
	if !ok {
		t.Fatalf("missing point; have %v", p.Points)
	}
	c := pt.Config
	if c.Strategy.Kind != "diloco" || c.Strategy.OuterLR != 0.5 || c.Train.InnerSteps != 4 || c.Train.OuterRounds != 2 || c.Seed != 5 || c.Cluster.Nodes != 3 {
		t.Errorf("point config not applied: %+v %+v seed %d", c.Strategy, c.Train, c.Seed)
	}

	p, err = s.Expand("small")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(p.Points), (1+2)*2; got != want {
		t.Fatalf("small: %d points, want %d", got, want)
	}
	for _, pt := range p.Points {
		if pt.Config.Cluster.Nodes != 2 || pt.Seed != 1 {
			t.Errorf("small: %s has %d nodes, seed %d", pt.Name, pt.Config.Cluster.Nodes, pt.Seed)
		}
	}
}

// Every mistake is found before anything runs, and the error names it.
func TestExpandRejects(t *testing.T) {
	head := "name: t\nbase:" + tinyBase
	for _, tc := range []struct{ name, spec, size, want string }{
		{"unknown spec field", head + "grids: {}\n", "", "grids"},
		{"unknown config key", head + "grid: {strategy.densty: [0.1]}\n", "", `"strategy.densty"`},
		{"impossible value", head + "grid: {strategy.kind: [sparseloco, telepathy]}\n", "", `strategy.kind "telepathy"`},
		{"not an integer", head + "grid: {train.inner_steps: [2.5]}\n", "", "train.inner_steps"},
		{"cross-key constraint", head + "grid: {sync.mode: [window]}\n", "", "sync.window_s"},
		{"empty list", head + "grid: {strategy.density: []}\n", "", "strategy.density: no values"},
		{"zip lengths", head + "zip: [{train.inner_steps: [1, 2], train.outer_rounds: [1]}]\n", "", "zip[0]"},
		{"seed as key", head + "grid: {seed: [1, 2]}\n", "", "seeds"},
		{"bad seeds", head + "seeds: 0\n", "", "seeds"},
		{"duplicate seeds", head + "seeds: [1, 1]\n", "", "appears twice"},
		{"no size", head + "sizes: {quick: {}}\n", "full", `no size "full"`},
		{"size grid key", head + "grid: {strategy.density: [0.1]}\nsizes: {q: {grid: {train.inner_steps: [1]}}}\n", "q", "train.inner_steps"},
		{"size set key", head + "sizes: {q: {set: {train.inner_step: 1}}}\n", "q", "train.inner_step"},
		{"figure key", head + "grid: {strategy.density: [0.1]}\nfigures: {heatmap: {x: strategy.density, y: train.inner_steps}}\n", "", "figures.heatmap.y"},
		{"figure metric", head + "grid: {strategy.density: [0.1]}\nfigures: {heatmap: {x: strategy.density, y: strategy.density, metric: loss}}\n", "", "metric"},
		{"tune key", head + "figures: {tune: [strategy.outer_lr]}\n", "", "figures.tune"},
		{"no name", "grid: {}\n", "", "name"},
		{"more_seeds key", head + "grid: {strategy.density: [0.1]}\nmore_seeds: [{where: {strategy.densty: 0.1}, seeds: 3}]\n", "", "more_seeds[0].where: strategy.densty"},
		{"more_seeds no match", head + "grid: {strategy.density: [0.1]}\nmore_seeds: [{where: {strategy.density: 0.2}, seeds: 3}]\n", "", "more_seeds[0].where matches no point"},
		{"more_seeds no where", head + "grid: {strategy.density: [0.1]}\nmore_seeds: [{seeds: 3}]\n", "", "more_seeds[0].where: missing"},
		{"more_seeds no seeds", head + "grid: {strategy.density: [0.1]}\nmore_seeds: [{where: {strategy.density: 0.1}}]\n", "", "more_seeds[0].seeds: missing"},
		{"more_seeds bad seeds", head + "grid: {strategy.density: [0.1]}\nmore_seeds: [{where: {strategy.density: 0.1}, seeds: [2, 2]}]\n", "", "more_seeds[0].seeds: 2 appears twice"},
		{"size more_seeds", head + "grid: {strategy.density: [0.1]}\nsizes: {q: {more_seeds: [{where: {strategy.density: 0.3}, seeds: 2}]}}\n", "q", "sizes.q.more_seeds[0].where matches no point"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse([]byte(tc.spec))
			if err == nil {
				_, err = s.Expand(tc.size)
			}
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestRunName(t *testing.T) {
	for _, tc := range []struct {
		values map[string]any
		seed   uint64
		want   string
	}{
		{map[string]any{"strategy.kind": "sparseloco", "strategy.density": 0.0156}, 1, "strategy.density=0.0156,strategy.kind=sparseloco,seed=1"},
		{map[string]any{}, 7, "seed=7"},
		{map[string]any{"train.nesterov": true, "cluster.nodes": 72}, 2, "cluster.nodes=72,train.nesterov=true,seed=2"},
	} {
		if got := RunName(tc.values, tc.seed); got != tc.want {
			t.Errorf("RunName(%v, %d) = %q, want %q", tc.values, tc.seed, got, tc.want)
		}
	}
	// Unsafe characters are replaced and a hash keeps names distinct.
	a := RunName(map[string]any{"label.x": "a/b"}, 1)
	b := RunName(map[string]any{"label.x": "a b"}, 1)
	if a == b || strings.ContainsAny(a, "/ ") || !strings.HasPrefix(a, "label.x=a_b,seed=1-") {
		t.Errorf("unsafe names: %q, %q", a, b)
	}
	// Long names are cut to MaxNameLen and stay distinct.
	long := map[string]any{"cluster.classes": strings.Repeat("x", 300)}
	long2 := map[string]any{"cluster.classes": strings.Repeat("x", 299) + "y"}
	n1, n2 := RunName(long, 1), RunName(long2, 1)
	if len(n1) > MaxNameLen || n1 == n2 {
		t.Errorf("long names: %d chars, distinct %v", len(n1), n1 != n2)
	}
}

// A zip group with a distinct label per row is named by the label alone.
func TestLabelNamesZipRow(t *testing.T) {
	s := mustParse(t, "name: t\nbase:"+tinyBase+`
zip:
  - label.variant: [base, no_ef]
    strategy.compressor.error_feedback: [true, false]
`)
	p, err := s.Expand("")
	if err != nil {
		t.Fatal(err)
	}
	got := []string{p.Points[0].Name, p.Points[1].Name}
	if got[0] != "label.variant=base,seed=1" || got[1] != "label.variant=no_ef,seed=1" {
		t.Fatalf("names %v", got)
	}
	if p.Points[1].Config.Strategy.Compressor.ErrorFeedback {
		t.Error("zip value not applied")
	}
}

// Expanding resolves and validates every point through the strict config
// layer; a large grid should still expand in well under a second.
func BenchmarkExpand(b *testing.B) {
	s, err := Load("density_h.yaml")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.Expand("full"); err != nil {
			b.Fatal(err)
		}
	}
}

// A base given as a path is read relative to the spec's directory.
func TestBaseFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "base.yaml"), []byte("cluster: {nodes: 5}\ntrain: {inner_steps: 7}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := filepath.Join(dir, "s.yaml")
	if err := os.WriteFile(spec, []byte("name: t\nbase: base.yaml\ngrid: {strategy.kind: [diloco]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Load(spec)
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Expand("")
	if err != nil {
		t.Fatal(err)
	}
	if c := p.Points[0].Config; c.Cluster.Nodes != 5 || c.Train.InnerSteps != 7 || c.Strategy.Kind != "diloco" {
		t.Fatalf("base file not applied: nodes %d, H %d, %s", c.Cluster.Nodes, c.Train.InnerSteps, c.Strategy.Kind)
	}
	os.WriteFile(filepath.Join(dir, "base.yaml"), []byte("cluster: {node: 5}\n"), 0o644)
	if _, err := s.Expand(""); err == nil || !strings.Contains(err.Error(), "cluster.node") {
		t.Fatalf("bad base file: %v", err)
	}
}

// more_seeds gives the settings it matches their own seeds, and the others
// keep the spec's; a size that sets seeds drops it.
func TestMoreSeeds(t *testing.T) {
	s := mustParse(t, `
name: t
base:`+tinyBase+`
grid:
  - strategy.kind: [sparseloco]
    strategy.density: [0.01, 0.02, 0.04]
  - strategy.kind: [diloco]
zip:
  - train.inner_steps: [2, 4]
    train.outer_rounds: [4, 2]
seeds: 2
more_seeds:
  - where: {strategy.density: [0.01, 0.04], train.inner_steps: 2}
    seeds: 4
  - where: {strategy.kind: diloco}
    seeds: [1, 2, 9]
  - where: {strategy.density: 0.01}
    seeds: [7]
sizes:
  q: {seeds: 1}
  r: {seeds: 1, more_seeds: [{where: {strategy.kind: diloco}, seeds: 2}]}
`)
	count := func(size string) map[string][]uint64 {
		t.Helper()
		p, err := s.Expand(size)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]uint64{}
		for _, pt := range p.Points {
			if pt.Config.Seed != pt.Seed {
				t.Errorf("%s: config seed %d, point seed %d", pt.Name, pt.Config.Seed, pt.Seed)
			}
			k := describe(pt.Values, 0)
			out[k] = append(out[k], pt.Seed)
		}
		return out
	}
	got := count("")
	for _, tc := range []struct {
		setting string
		seeds   string
	}{
		{"strategy.density=0.01,strategy.kind=sparseloco,train.inner_steps=2,train.outer_rounds=4,seed=0", "[1 2 3 4]"},
		{"strategy.density=0.04,strategy.kind=sparseloco,train.inner_steps=2,train.outer_rounds=4,seed=0", "[1 2 3 4]"},
		{"strategy.density=0.02,strategy.kind=sparseloco,train.inner_steps=2,train.outer_rounds=4,seed=0", "[1 2]"},
		// the first entry that matches wins: 0.01 at H = 4 falls to the third
		{"strategy.density=0.01,strategy.kind=sparseloco,train.inner_steps=4,train.outer_rounds=2,seed=0", "[7]"},
		{"strategy.density=0.04,strategy.kind=sparseloco,train.inner_steps=4,train.outer_rounds=2,seed=0", "[1 2]"},
		{"strategy.kind=diloco,train.inner_steps=2,train.outer_rounds=4,seed=0", "[1 2 9]"},
	} {
		if s := fmt.Sprint(got[tc.setting]); s != tc.seeds {
			t.Errorf("%s: seeds %s, want %s", tc.setting, s, tc.seeds)
		}
	}
	for k, seeds := range count("q") {
		if fmt.Sprint(seeds) != "[1]" {
			t.Errorf("size q, %s: seeds %v, want [1]", k, seeds)
		}
	}
	for k, seeds := range count("r") {
		want := "[1]"
		if strings.Contains(k, "diloco") {
			want = "[1 2]"
		}
		if fmt.Sprint(seeds) != want {
			t.Errorf("size r, %s: seeds %v, want %s", k, seeds, want)
		}
	}
}
