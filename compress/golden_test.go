package compress

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/locosim/locosim/tensor"
)

// TestGoldenWire pins wire format version 1: each file under
// testdata/golden is a payload of one kind, which must still decode and
// re-encode to the same bytes. On amd64 the same seeded compression must
// also still produce those bytes (DeMo excepted: its DCT goes through the
// gemm kernels, whose rounding may change with their fast paths).
// Regenerate with -update after a deliberate change, and bump wireVersion
// if old payloads no longer decode.
func TestGoldenWire(t *testing.T) {
	l := tensor.Pack([]string{"w", "b", "s"}, [][]int{{64, 96}, {40}, {1}})
	dir := filepath.Join("testdata", "golden")
	if *updateCorpus {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{
		"sparseloco", "sparseloco-entropy", "sparseloco-bytecodes", "sparseloco-fp32",
		"sparseloco-3bit", "dense", "bf16", "demo", "topk", "quantize",
	} {
		c := mustNew(t, allConfigs()[name], l)
		rng := rand.New(rand.NewPCG(2026, 11))
		st := c.NewState()
		var b []byte
		for round := range 2 {
			p, err := c.Compress(st, randn(rng, l.Size(), 0.01), uint64(round))
			if err != nil {
				t.Fatal(err)
			}
			if b, err = c.Encode(p); err != nil {
				t.Fatal(err)
			}
		}
		file := filepath.Join(dir, name+".bin")
		if *updateCorpus {
			if err := os.WriteFile(file, b, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		golden, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%s: %v (run go test -run TestGoldenWire -update)", name, err)
		}
		p, err := c.Decode(golden)
		if err != nil {
			t.Fatalf("%s: golden payload no longer decodes: %v", name, err)
		}
		again, _ := c.Encode(p)
		if !bytes.Equal(again, golden) {
			t.Fatalf("%s: golden payload re-encodes differently", name)
		}
		if runtime.GOARCH == "amd64" && c.cfg.Kind != DeMo && !bytes.Equal(b, golden) {
			t.Errorf("%s: compressing the seeded input no longer gives the golden bytes", name)
		}
	}
}
