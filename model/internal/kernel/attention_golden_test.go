package kernel

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/attention.golden from the current code")

// goldenCase is one seeded attention problem: shape, how many batch rows the
// calls process (run <= b), worker count and input scale. zeros sets about a
// tenth of the inputs to +0 or -0, which pins the signs of zero results.
type goldenCase struct {
	b, t, c, nh, run, workers int
	scale                     float64
	zeros                     bool
}

func (g goldenCase) name() string {
	s := fmt.Sprintf("b%d_t%d_c%d_nh%d_hs%d_run%d_w%d_s%g", g.b, g.t, g.c, g.nh, g.c/g.nh, g.run, g.workers, g.scale)
	if g.zeros {
		s += "_zeros"
	}
	return s
}

var goldenCases = []goldenCase{
	// The small and medium models.
	{8, 64, 128, 4, 8, 1, 1, false},
	{8, 64, 128, 4, 8, 2, 1, false},
	{16, 128, 256, 4, 16, 2, 1, false},
	// Odd lengths (around the 32-row blocks) and head sizes.
	{1, 1, 4, 1, 1, 1, 1, false},
	{2, 5, 6, 2, 2, 1, 1, false},
	{3, 9, 12, 3, 3, 2, 1, false},
	{2, 17, 40, 4, 2, 1, 1, false},
	{1, 32, 32, 4, 1, 1, 1, false},
	{2, 33, 48, 2, 2, 1, 1, false},
	{3, 37, 32, 4, 3, 1, 1, false},
	{3, 37, 64, 4, 2, 1, 1, false},
	{2, 37, 96, 4, 2, 3, 1, false},
	{1, 37, 128, 4, 1, 1, 1, false},
	{2, 37, 128, 2, 2, 1, 1, false},
	{2, 37, 60, 5, 2, 1, 1, false},
	{2, 37, 120, 3, 2, 1, 1, false},
	{1, 37, 5, 5, 1, 1, 1, false},
	{1, 37, 15, 5, 1, 1, 1, false},
	{2, 70, 24, 3, 2, 2, 1, false},
	{1, 100, 72, 1, 1, 1, 1, false},
	{1, 300, 32, 1, 1, 1, 1, false},
	// Large scores (near-one-hot probabilities) and exact zeros.
	{2, 37, 64, 2, 2, 1, 4, false},
	{2, 64, 128, 4, 2, 1, 1, true},
	{2, 37, 24, 1, 2, 1, 3, true},
}

// goldenHash runs Forward and Backward on the case's seeded inputs and
// returns the sha256 of the bits of out, att and dqkv.
func goldenHash(g goldenCase) string {
	r := rand.New(rand.NewPCG(uint64(g.t)*1000+uint64(g.c), uint64(g.b)*100+uint64(g.nh)))
	gen := func(n int) []float32 {
		s := randSlice(r, n, g.scale)
		if g.zeros {
			for i := range s {
				switch r.IntN(20) {
				case 0:
					s[i] = 0
				case 1:
					s[i] = float32(math.Copysign(0, -1))
				}
			}
		}
		return s
	}
	qkv, dout := gen(g.b*g.t*3*g.c), gen(g.b*g.t*g.c)
	// Outputs start as garbage, which the calls overwrite where they must.
	out, att, dqkv := gen(g.b*g.t*g.c), gen(g.b*g.nh*g.t*g.t), gen(g.b*g.t*3*g.c)
	a := NewAttention(g.b, g.t, g.c, g.nh, g.workers)
	a.Forward(out, att, qkv, g.run)
	a.Backward(dqkv, dout, att, qkv, g.run)
	h := sha256.New()
	var buf [4]byte
	for _, s := range [][]float32{out, att, dqkv} {
		for _, v := range s {
			binary.LittleEndian.PutUint32(buf[:], math.Float32bits(v))
			h.Write(buf[:])
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestAttentionGolden pins the bits of the fast path's Forward and Backward
// (out, att and dqkv) on seeded inputs. Regenerate with -update only after
// a deliberate change to the arithmetic: results elsewhere depend on them.
func TestAttentionGolden(t *testing.T) {
	if !Accelerated() {
		t.Skip("the golden hashes are those of the AVX2 fast path")
	}
	file := filepath.Join("testdata", "attention.golden")
	if *updateGolden {
		var sb strings.Builder
		for _, g := range goldenCases {
			fmt.Fprintf(&sb, "%s %s\n", g.name(), goldenHash(g))
		}
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(sb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatalf("%v (run go test -run TestAttentionGolden -update)", err)
	}
	defer f.Close()
	want := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if name, hash, ok := strings.Cut(sc.Text(), " "); ok {
			want[name] = hash
		}
	}
	for _, g := range goldenCases {
		w, ok := want[g.name()]
		if !ok {
			t.Errorf("%s: not in %s", g.name(), file)
			continue
		}
		if got := goldenHash(g); got != w {
			t.Errorf("%s: hash %s, golden %s", g.name(), got, w)
		}
	}
}
