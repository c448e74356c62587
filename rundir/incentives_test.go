package rundir

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/locosim/locosim/record"
)

// scoreRows makes one score row per round and peer from a matrix of raw
// weights (weights[round][peer]); a NaN weight leaves the row out.
func scoreRows(weights [][]float64) []record.Score {
	var out []record.Score
	for r, row := range weights {
		for p, w := range row {
			if !math.IsNaN(w) {
				out = append(out, record.Score{Round: int64(r), Peer: int64(p), Weight: w})
			}
		}
	}
	return out
}

func nodesWithRoles(roles ...string) []record.Node {
	out := make([]record.Node, len(roles))
	for i, r := range roles {
		out[i] = record.Node{Node: int64(i), Role: r}
	}
	return out
}

func TestIncentiveMetrics(t *testing.T) {
	const h, fr, co = record.RoleHonest, record.RoleFreeRider, record.RoleCopier
	nan := math.NaN()
	tests := []struct {
		name    string
		roles   []string
		weights [][]float64 // raw weights; each round's sum is 0.2 (burn 0.8) unless a round tests a zero total
		share   float64     // attacker_weight_share
		caught  float64
		spread  float64
	}{
		{
			name:  "caught at round 2, honest peers paid a little unequally",
			roles: []string{h, h, fr},
			weights: [][]float64{
				{0.05, 0.05, 0.1}, {0.08, 0.08, 0.04}, {0.1, 0.1, 0},
				{0.1, 0.1, 0}, {0.12, 0.08, 0}, {0.1, 0.1, 0},
			},
			// Last half, rounds 3-5: the honest peers' shares average 1.6/3
			// and 1.4/3, mean 0.5, population std 0.1/3.
			share: 0, caught: 2, spread: (0.1 / 3) / 0.5,
		},
		{
			name:    "never caught: the attacker earns again in the last round",
			roles:   []string{h, h, co},
			weights: [][]float64{{0.1, 0.1, 0}, {0.1, 0.1, 0}, {0.1, 0.1, 0}, {0.05, 0.05, 0.1}},
			share:   0.25, caught: nan, spread: 0,
		},
		{
			name:  "a relapse restarts the count",
			roles: []string{h, fr},
			weights: [][]float64{
				{0.1, 0.1}, {0.2, 0}, {0.19, 0.01}, {0.2, 0}, {0.2, 0.001},
			},
			// 0.001 of 0.201 is below 1 %; rounds 2-4 are the last half (⌈5/2⌉ = 3).
			share: (0.01/0.2 + 0 + 0.001/0.201) / 3, caught: 3, spread: 0,
		},
		{
			name:    "just at 1 % is not caught",
			roles:   []string{h, fr},
			weights: [][]float64{{0.198, 0.002}, {0.198, 0.002}},
			share:   0.01, caught: nan, spread: 0,
		},
		{
			name:    "caught from the first round",
			roles:   []string{h, h, fr, co},
			weights: [][]float64{{0.1, 0.1, 0, 0}, {0.15, 0.05, 0, 0}},
			share:   0, caught: 0, spread: 0.5,
		},
		{
			name:  "rounds whose total weight is 0 count for nothing",
			roles: []string{h, h, fr},
			weights: [][]float64{
				{0.05, 0.05, 0.1}, {0, 0, 0}, {0.1, 0.1, 0}, {0, 0, 0},
			},
			share: 0, caught: 2, spread: 0,
		},
		{
			name:    "a peer without a row in a round holds nothing",
			roles:   []string{h, h, fr},
			weights: [][]float64{{0.1, 0.1, nan}, {0.2, nan, 0}},
			// Last half is round 1: peer 1 holds 0 there.
			share: 0, caught: 0, spread: 1,
		},
		{
			name:    "no attackers",
			roles:   []string{h, h},
			weights: [][]float64{{0.1, 0.1}, {0.12, 0.08}},
			share:   nan, caught: nan, spread: 0.2,
		},
		{
			name:    "no honest peers",
			roles:   []string{fr, co},
			weights: [][]float64{{0.1, 0.1}},
			share:   1, caught: nan, spread: nan,
		},
		{
			name:    "every round's total is 0",
			roles:   []string{h, fr},
			weights: [][]float64{{0, 0}, {0, 0}},
			share:   nan, caught: nan, spread: nan,
		},
		{
			name:  "no rows",
			roles: []string{h, fr},
			share: nan, caught: nan, spread: nan,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := IncentiveMetrics(scoreRows(tc.weights), nodesWithRoles(tc.roles...))
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]float64{
				MetricAttackerWeightShare: tc.share,
				MetricCaughtRound:         tc.caught,
				MetricHonestWeightSpread:  tc.spread,
			}
			for _, k := range IncentiveMetricNames {
				if g, w := got[k], want[k]; !(math.IsNaN(g) && math.IsNaN(w)) && !(math.Abs(g-w) <= 1e-12) {
					t.Errorf("%s = %v, want %v", k, g, w)
				}
			}
			if len(got) != len(IncentiveMetricNames) {
				t.Errorf("metrics %v, want exactly %v", got, IncentiveMetricNames)
			}
		})
	}
}

func TestWeightSharesRoles(t *testing.T) {
	roles := []string{record.RoleSybil, record.RoleHonest, "gossiper", record.RoleFreeRider, record.RoleHonest, "archivist"}
	w, err := NewWeightShares(scoreRows([][]float64{{0, 0.1, 0, 0, 0.1, 0}}), nodesWithRoles(roles...))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{record.RoleHonest, record.RoleFreeRider, record.RoleSybil, "archivist", "gossiper"}
	if got := w.RolesPresent(); !slices.Equal(got, want) {
		t.Errorf("RolesPresent = %v, want %v", got, want)
	}
	if got := w.ShareOf(func(r string) bool { return r == record.RoleHonest }); !slices.Equal(got, []float64{1}) {
		t.Errorf("honest share %v, want [1]", got)
	}
	// A scored peer without a role cannot be told honest or not.
	_, err = NewWeightShares(scoreRows([][]float64{{0.1, 0.1}}), nodesWithRoles(record.RoleHonest))
	if err == nil || !strings.Contains(err.Error(), "peer 1") {
		t.Errorf("a peer without a role: err = %v", err)
	}
}

// writeIncentiveRun writes the run of writeRun with the incentive layer's
// files: roles in nodes.parquet and a free rider whose weight falls to 0.
func writeIncentiveRun(t *testing.T, dir string) {
	t.Helper()
	w, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	for r := int64(0); r <= 4; r++ {
		w.Eval(record.Eval{Round: r, Step: 10 * r, EvalLoss: 5 - float64(r)/2})
	}
	roles := []string{record.RoleHonest, record.RoleHonest, record.RoleFreeRider}
	for n, role := range roles {
		w.Node(record.Node{Node: int64(n), Class: "gpu", Role: role})
	}
	for r := int64(0); r < 4; r++ {
		rider := []float64{0.1, 0.01, 0.001, 0}[r] // half the weight, then 5 %, 0.5 %, 0
		for n := range roles {
			weight := (0.2 - rider) / 2
			if n == 2 {
				weight = rider
			}
			if err := w.Score(record.Score{Round: r, Peer: int64(n), Weight: weight}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(NewManifest("run", 1, nil)); err != nil {
		t.Fatal(err)
	}
}

func TestWeightsFigure(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	writeIncentiveRun(t, dir)
	names, err := Plot(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(names, "weights") {
		t.Fatalf("figures %v lack weights", names)
	}
	svg, err := os.ReadFile(filepath.Join(dir, PlotsDir, "weights.svg"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"weight by role", ">honest<", ">free_rider<", "validator round"} {
		if !strings.Contains(string(svg), want) {
			t.Errorf("weights.svg lacks %q", want)
		}
	}
	if err := WriteIndex(dir); err != nil {
		t.Fatal(err)
	}
	if page, _ := os.ReadFile(filepath.Join(dir, IndexFile)); !strings.Contains(string(page), "![weights](plots/weights.png)") {
		t.Errorf("index.md does not show the weights figure:\n%s", page)
	}
	// A run without scores draws no weights figure.
	plain := filepath.Join(t.TempDir(), "plain")
	writeRun(t, plain)
	if names, err := Plot(plain); err != nil || slices.Contains(names, "weights") {
		t.Errorf("a run without scores: figures %v, %v", names, err)
	}
}

// A simulated run with the incentive layer records its incentive metrics in
// the manifest, as they read from its files.
func TestSimulateIncentiveFinals(t *testing.T) {
	cfg := tinyConfig()
	cfg.Incentive.Enabled = true
	cfg.Incentive.EvalBatches = 1
	cfg.Incentive.Attack.FreeRider = 0.34
	cfg.Incentive.Gauntlet.GatherPeers, cfg.Incentive.Gauntlet.ReservePeers = 3, 1
	dir := filepath.Join(t.TempDir(), "run")
	m, err := Simulate(context.Background(), cfg, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := ReadWeightShares(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(w.Roles, record.RoleFreeRider) {
		t.Fatalf("no free rider among the roles %v", w.Roles)
	}
	for k, v := range w.Metrics() {
		got, ok := m.Final[k]
		if math.IsNaN(v) != !ok || (ok && got != v) {
			t.Errorf("manifest %s = %v (present %v), files give %v", k, got, ok, v)
		}
	}
	if _, ok := m.Final[MetricAttackerWeightShare]; !ok {
		t.Errorf("manifest lacks %s: %v", MetricAttackerWeightShare, m.Final)
	}
	if _, err := os.Stat(filepath.Join(dir, PlotsDir, "weights.png")); err != nil {
		t.Error(err)
	}
}
