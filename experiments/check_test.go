package experiments

import (
	"path/filepath"
	"testing"

	"github.com/locosim/locosim/rundir"
	"github.com/locosim/locosim/strategy"
)

// Every committed reference run can be re-run: its manifest's configuration
// reads into today's (migrating keys that moved) and validates.
func TestCommittedManifestsResolve(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("..", "results", "*", RunsDir, "*", rundir.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Skip("no committed results")
	}
	for _, p := range paths {
		m, err := rundir.ReadManifest(filepath.Dir(p))
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := ConfigOf(m)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if cfg.Strategy.Kind != "diloco" {
			continue
		}
		sec, err := cfg.Section("diloco")
		if err != nil {
			t.Fatal(err)
		}
		if d := sec.(*strategy.DiLoCoConfig); d.OuterMomentum != 0.9 || !d.Nesterov {
			t.Errorf("%s: diloco section %+v, want the momentum and Nesterov the run used", p, *d)
		}
	}
}

// A manifest written before DiLoCo owned its section keeps its settings.
func TestMigrateDiLoCoKeys(t *testing.T) {
	cfg := map[string]any{"Strategy": map[string]any{"Kind": "diloco", "OuterMomentum": 0.5, "Nesterov": false}}
	migrate(cfg)
	st := cfg["Strategy"].(map[string]any)
	if _, left := st["OuterMomentum"]; left {
		t.Fatal("OuterMomentum stayed")
	}
	d := st["Sections"].(map[string]any)["diloco"].(map[string]any)
	if d["outer_momentum"] != 0.5 || d["nesterov"] != false {
		t.Fatalf("diloco section %v", d)
	}
	yamlForm := map[string]any{"strategy": map[string]any{"kind": "diloco", "outer_momentum": 0.5, "nesterov": false}}
	migrate(yamlForm)
	d = yamlForm["strategy"].(map[string]any)["diloco"].(map[string]any)
	if d["outer_momentum"] != 0.5 || d["nesterov"] != false {
		t.Fatalf("diloco section from config keys %v", d)
	}
}
