package netmodel

import (
	"crypto/sha256"
	"encoding/binary"
	"flag"
	"fmt"
	"hash"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/locosim/locosim/des"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// scenario runs two exchanges of every pattern, timed as the fixed, window
// and deadline sync modes would, on the default cluster with churn and
// slowdowns, hashing every event the engine fires and every result.
func scenario(t *testing.T) string {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Nodes = 30
	cfg.Churn.MtbfS, cfg.Churn.MeanDowntimeS = 1500, 400
	cfg.Slowdowns = []SlowdownEntry{{Node: -1, StartS: 100, EndS: 200, Factor: 1.5}, {Node: 7, Factor: 3}}
	c, err := Build(cfg, 42)
	if err != nil {
		t.Fatal(err)
	}
	eng := des.New()
	h := sha256.New()
	var buf [8]byte
	put := func(h hash.Hash, v uint64) {
		binary.LittleEndian.PutUint64(buf[:], v)
		h.Write(buf[:])
	}
	eng.Trace = func(ev des.Event) {
		put(h, math.Float64bits(ev.Time))
		// Keys hash as the node ids that encoded them before classes
		// existed (barriers MaxInt−1, the settle MaxInt), so the golden
		// also shows that the classes kept the order.
		switch ev.Class {
		case des.ClassBarrier:
			put(h, uint64(math.MaxInt-1))
		case des.ClassSettle:
			put(h, uint64(math.MaxInt))
		default:
			put(h, uint64(ev.Node))
		}
		put(h, ev.Seq)
	}
	net, err := NewNetwork(c, eng, 42)
	if err != nil {
		t.Fatal(err)
	}
	g := TemplarGather()
	patterns := []Pattern{g, P2PAllGather(g), RingAllReduce{Order: RingByBandwidth, RestartS: 20}, ParameterServer{Server: -1}}
	start := 0.0
	for round := range 8 {
		ex := ExchangeSpec{Round: round, StartS: start, PayloadBytes: []int64{30_000_000}}
		switch round % 3 {
		case 0: // as a fixed round: 30 steps of 2e14 FLOPs, wait for the slowest
			ex.ReadyS = computeReady(c, start, 30*2e14)
		case 1: // as a window round: every payload due at the window's end
			ex.ReadyS = readyAt(c.Len(), start+20)
		case 2: // as a deadline round: 30 steps, payloads due 60 s in
			ex.ReadyS = computeReady(c, start, 30*2e14)
			ex.DeadlineS = start + 60
		}
		res, err := patterns[round%4].Run(net, ex)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(h, "%v|%v|%v|%v|%v\n", res.EndS, res.Nodes, res.Received, res.Aggregate, res.Activities)
		start = res.EndS + 1
	}
	return fmt.Sprintf("%x events=%d end=%.6f", h.Sum(nil), eng.Fired(), start)
}

func TestDeterminism(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	runtime.GOMAXPROCS(1)
	a := scenario(t)
	runtime.GOMAXPROCS(8)
	b := scenario(t)
	if a != b {
		t.Fatalf("GOMAXPROCS changed the run:\n%s\n%s", a, b)
	}
	golden := filepath.Join("testdata", "determinism.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(a+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run Determinism -update)", err)
	}
	if got := a; got != strings.TrimSpace(string(want)) {
		t.Errorf("the event sequence changed:\n got %s\nwant %s\nIf the change is intended, run go test ./netmodel -run Determinism -update", got, want)
	}
}
