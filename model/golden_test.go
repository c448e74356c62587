package model

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/locosim/locosim/internal/gemm"
	"github.com/locosim/locosim/model/internal/kernel"
)

var update = flag.Bool("update", false, "rewrite testdata/numerics.golden from the current code")

// TestGoldenNumerics pins the bits of training: the loss, the gradients and
// the parameters after two AdamW steps, for several shapes and worker counts,
// as sha256 digests in testdata/numerics.golden. Reference results elsewhere
// in the repository (sweeps, experiments) are exact only while these hold, so
// a speed-up must leave them unchanged; regenerate with -update only after a
// deliberate change of the arithmetic. The digests are those of the amd64
// fast paths (AVX2 or AVX-512 FMA kernels, which agree bit for bit); other
// platforms skip.
func TestGoldenNumerics(t *testing.T) {
	if runtime.GOARCH != "amd64" || !kernel.Accelerated() || gemm.Impl() == "go" {
		t.Skip("the golden digests are those of the amd64 fast paths")
	}
	cases := []struct {
		name    string
		cfg     Config
		batch   int // workspace capacity
		b       int // sequences in the step
		workers []int
	}{
		{"small", Small(), 8, 8, []int{1, 2, 3}},
		{"small-b3", Small(), 8, 3, []int{1, 2}},
		{"odd", Config{Layers: 3, Heads: 3, Channels: 48, SeqLen: 37, Vocab: 100}, 5, 5, []int{1, 2, 4}},
		{"wide-head", Config{Layers: 1, Heads: 2, Channels: 128, SeqLen: 20, Vocab: 256}, 2, 1, []int{1, 2}},
	}
	var lines []string
	for _, c := range cases {
		want := ""
		for _, w := range c.workers {
			got := trainDigest(t, c.cfg, c.batch, c.b, w)
			if want == "" {
				want = got
				lines = append(lines, c.name+" "+got)
			} else if got != want {
				t.Errorf("%s: workers=%d gives %s, workers=%d gave %s", c.name, w, got, c.workers[0], want)
			}
		}
	}
	file := filepath.Join("testdata", "numerics.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatalf("%v (run go test ./model -run GoldenNumerics -update to create it)", err)
	}
	defer f.Close()
	var golden []string
	for s := bufio.NewScanner(f); s.Scan(); {
		golden = append(golden, s.Text())
	}
	if len(golden) != len(lines) {
		t.Fatalf("%s has %d lines, the test makes %d", file, len(golden), len(lines))
	}
	for i := range lines {
		if lines[i] != golden[i] {
			t.Errorf("digest changed:\n got  %s\n want %s", lines[i], golden[i])
		}
	}
}

// trainDigest runs ForwardBackward, then two TrainSteps, on seeded data and
// hashes every loss, gradient and parameter bit on the way.
func trainDigest(t *testing.T, cfg Config, batch, b, workers int) string {
	t.Helper()
	m := perturbed(t, cfg, 11)
	ws := mustWorkspace(t, cfg, batch, workers)
	h := sha256.New()
	put := func(xs []float32) {
		var buf [4]byte
		for _, x := range xs {
			binary.LittleEndian.PutUint32(buf[:], math.Float32bits(x))
			h.Write(buf[:])
		}
	}
	putLoss := func(l float64) {
		var buf [8]byte
		binary.LittleEndian.PutUint64(buf[:], math.Float64bits(l))
		h.Write(buf[:])
	}
	n := b * cfg.SeqLen
	in, tg := randomTokens(21, n, cfg.Vocab), randomTokens(22, n, cfg.Vocab)
	l, err := m.ForwardBackward(ws, in, tg)
	if err != nil {
		t.Fatal(err)
	}
	putLoss(l)
	put(ws.Grads())
	opt, err := NewAdamW(DefaultAdamWConfig(), m.Layout())
	if err != nil {
		t.Fatal(err)
	}
	r := &Replica{Model: m, Opt: opt}
	for step := range 2 {
		in, tg := randomTokens(uint64(30+step), n, cfg.Vocab), randomTokens(uint64(40+step), n, cfg.Vocab)
		l, _, err := r.TrainStep(ws, in, tg)
		if err != nil {
			t.Fatal(err)
		}
		putLoss(l)
	}
	put(m.Params())
	return fmt.Sprintf("%x", h.Sum(nil))
}
