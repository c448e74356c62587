package sim_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"github.com/locosim/locosim/sim/simtest"
	_ "github.com/locosim/locosim/strategy"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/locosim/locosim/config"
	"github.com/locosim/locosim/record"
	"github.com/locosim/locosim/sim"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/traces.txt")

// goldenRuns are small runs that together reach every path of the core:
// each strategy, each sync mode, overlap, churn with catch-up, attacks and
// robust aggregation, every exchange pattern, and the 72-node default
// network. Their records are pinned bit for bit, so that reshaping the
// core cannot move a result unnoticed; a deliberate change updates the file
// with -update, in its own commit.
var goldenRuns = []struct {
	name string
	sets []string
}{
	{"sparseloco", nil},
	{"diloco", []string{"strategy.kind=diloco", "strategy.outer_lr=0.7"}},
	{"diloco-plain", []string{"strategy.kind=diloco", "strategy.diloco.outer_momentum=0", "strategy.diloco.nesterov=false"}},
	{"ddp", []string{"strategy.kind=ddp", "train.inner_steps=2"}},
	{"demo", []string{"strategy.kind=demo", "train.inner_steps=2"}},
	{"window", []string{"sync.mode=window", "sync.window_s=3", "sync.max_steps=6"}},
	{"deadline", []string{"sync.mode=deadline", "sync.deadline_s=8"}},
	{"overlap", []string{"sync.overlap=true"}},
	{"overlap-diloco", []string{"strategy.kind=diloco", "sync.overlap=true"}},
	{"overlap-churn-window", []string{"sync.overlap=true", "cluster.churn.mtbf_s=60", "cluster.churn.mean_downtime_s=8",
		"sync.mode=window", "sync.window_s=3", "sync.max_steps=6"}},
	{"churn-window", []string{"cluster.churn.mtbf_s=60", "cluster.churn.mean_downtime_s=8",
		"sync.mode=window", "sync.window_s=3", "sync.max_steps=6"}},
	{"churn-fixed", []string{"cluster.churn.mtbf_s=60", "cluster.churn.mean_downtime_s=8"}},
	{"attack-robust", []string{"faults.malicious_share=0.34", "faults.attack=random", "strategy.compressor.robust=true"}},
	{"p2p", []string{"exchange.pattern=p2p"}},
	{"ps", []string{"strategy.kind=diloco", "exchange.pattern=ps"}},
	{"ps-node", []string{"exchange.pattern=ps", "exchange.ps.server=1"}},
	{"ring-sparse", []string{"exchange.pattern=ring", "cluster.churn.mtbf_s=150", "cluster.churn.mean_downtime_s=10"}},
	{"default-72", []string{"cluster.nodes=72", "projection.params=1e9", "projection.tokens_per_step=65536",
		"train.outer_rounds=2", "cluster.churn.mtbf_s=30000", "cluster.churn.mean_downtime_s=1800"}},
}

// digestSink hashes every record in the order the run emits it; floats are
// printed in their shortest exact form, so equal digests mean equal bits.
type digestSink struct {
	h      [4]hashWriter
	last   record.Eval
	status map[string]int
}

type hashWriter struct {
	n   int
	sum interface {
		Write([]byte) (int, error)
		Sum([]byte) []byte
	}
}

func (w *hashWriter) add(v any) error {
	if w.sum == nil {
		w.sum = sha256.New()
	}
	w.n++
	_, err := fmt.Fprintf(w.sum, "%+v\n", v)
	return err
}

func (d *digestSink) Eval(r record.Eval) error { d.last = r; return d.h[0].add(r) }
func (d *digestSink) Round(r record.Round) error {
	if d.status == nil {
		d.status = map[string]int{}
	}
	d.status[r.Status]++
	return d.h[1].add(r)
}
func (d *digestSink) Event(r record.Event) error { return d.h[2].add(r) }
func (d *digestSink) Node(r record.Node) error   { return d.h[3].add(r) }

func (d *digestSink) line(name string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s loss=%v sim_time_s=%v bytes=%v", name, d.last.EvalLoss, d.last.SimTimeS, d.last.BytesTotal)
	for _, st := range []string{record.StatusOK, record.StatusLate, record.StatusCrashed, record.StatusDown, record.StatusRejoined} {
		if n := d.status[st]; n > 0 {
			fmt.Fprintf(&b, " %s=%d", st, n)
		}
	}
	for i, what := range []string{"evals", "rounds", "events", "nodes"} {
		sum := "-"
		if d.h[i].sum != nil {
			sum = fmt.Sprintf("%x", d.h[i].sum.Sum(nil)[:8])
		}
		fmt.Fprintf(&b, " %s=%d:%s", what, d.h[i].n, sum)
	}
	return b.String()
}

func TestGoldenTraces(t *testing.T) {
	if testing.Short() {
		t.Skip("golden traces take a while")
	}
	path := filepath.Join("testdata", "golden", "traces.txt")
	var got []string
	for _, g := range goldenRuns {
		cfg, err := config.Resolve(sim.DefaultConfig(), config.Source{Sets: append(append([]string{}, simtest.Base...), g.sets...)})
		if err != nil {
			t.Fatalf("%s: %v", g.name, err)
		}
		r, err := sim.NewRun(cfg, sim.Options{})
		if err != nil {
			t.Fatalf("%s: %v", g.name, err)
		}
		d := &digestSink{}
		if _, err := r.Run(context.Background(), d, nil); err != nil {
			t.Fatalf("%s: %v", g.name, err)
		}
		got = append(got, d.line(g.name))
	}
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(strings.Join(got, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	defer f.Close()
	var want []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		want = append(want, sc.Text())
	}
	if len(want) != len(got) {
		t.Fatalf("%d golden runs, want %d (run with -update after adding one)", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("golden run moved:\n got  %s\n want %s", got[i], want[i])
		}
	}
}
