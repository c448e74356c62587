package experiments

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/locosim/locosim/config"
	"github.com/locosim/locosim/sim"
)

// Canonical lists the canonical experiments' spec files, in this directory.
var canonical = []string{"density_h.yaml", "ablations.yaml", "strategies.yaml", "network.yaml", "scale.yaml", "replicas.yaml",
	"streaming.yaml", "sparta.yaml", "noloco.yaml", "async.yaml", "incentives.yaml", "demo_bytes.yaml"}

// Every canonical spec is valid at both sizes and documented.
func TestCanonicalSpecsExpand(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range canonical {
		s, err := Load(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSuffix(f, ".yaml") != s.Name {
			t.Errorf("%s is named %q", f, s.Name)
		}
		if len(s.Description) < 200 {
			t.Errorf("%s: the description should say what it shows and what the published work claims", f)
		}
		if !strings.Contains(string(readme), "`"+f+"`") {
			t.Errorf("README.md does not document %s", f)
		}
		for _, size := range []string{"quick", "full"} {
			p, err := s.Expand(size)
			if err != nil {
				t.Fatalf("%s at %s: %v", f, size, err)
			}
			if len(p.Points) < 2 {
				t.Errorf("%s at %s: %d points", f, size, len(p.Points))
			}
		}
	}
}

// The quick size of every canonical experiment runs end to end (CI).
func TestCanonicalQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every canonical experiment at quick size")
	}
	for _, f := range canonical {
		if raceEnabled && f != "strategies.yaml" && f != "incentives.yaml" {
			// Under the race detector two sweeps of parallel runs (every
			// algorithm; the incentive layer) show what a data race would;
			// the plain test runs them all.
			continue
		}
		t.Run(strings.TrimSuffix(f, ".yaml"), func(t *testing.T) {
			s, err := Load(f)
			if err != nil {
				t.Fatal(err)
			}
			p, err := s.Expand("quick")
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			res, err := Run(context.Background(), s, p, dir, Options{Jobs: 2, Prune: true})
			if err != nil {
				t.Fatal(err)
			}
			if res.Ran != len(p.Points) {
				t.Fatalf("%+v", res)
			}
			if _, err := os.Stat(filepath.Join(dir, "plots", "pareto.png")); err != nil {
				t.Error(err)
			}
		})
	}
}

// The Covenant-72B configuration is a valid run.
func TestCovenantConfig(t *testing.T) {
	cfg, err := config.Resolve(sim.DefaultConfig(), config.Source{File: "covenant72b.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.ValidateRun(); err != nil {
		t.Fatal(err)
	}
	if cfg.Projection.Params != 72e9 || cfg.Train.InnerSteps != 30 || cfg.Exchange.Gather.Peers != 20 {
		t.Errorf("covenant72b.yaml drifted from the published setting: %+v %+v", cfg.Projection, cfg.Train)
	}
}
