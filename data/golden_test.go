package data

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.txt")

// TestGolden pins the default corpus: its digest, entropy figures and a
// hash of the first batches of two nodes and of the evaluation set. A change
// here changes every run's data; update deliberately with -update.
func TestGolden(t *testing.T) {
	c, err := Open(DefaultConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	rate, _ := c.EntropyRate()
	floor, _ := c.Floor(64)
	fmt.Fprintf(&b, "digest %s\nrate_nats %.12f\nfloor64_nats %.12f\n", c.Digest(), rate, floor)
	shape := Shape{Batch: 8, SeqLen: 64}
	for _, node := range []int{0, 71} {
		s, err := c.NodeStream(node, 72, shape)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		var batch Batch
		for range 4 {
			s.Next(&batch)
			h.Write(int32Bytes(batch.Inputs))
			h.Write(int32Bytes(batch.Targets))
		}
		fmt.Fprintf(&b, "node%d_batches0-3 %s\n", node, hex.EncodeToString(h.Sum(nil)))
	}
	ev, err := c.EvalBatches(4, shape)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	for _, e := range ev {
		h.Write(int32Bytes(e.Inputs))
	}
	fmt.Fprintf(&b, "eval0-3 %s\n", hex.EncodeToString(h.Sum(nil)))

	path := filepath.Join("testdata", "golden.txt")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("default corpus changed:\n%s\nwant:\n%s", got, want)
	}
}
