package gemm

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

var updateGolden = flag.Bool("update", false, "rewrite testdata/gemm.golden from the current code")

// goldenShapes are testShapes' long list plus a BackwardWeight that takes
// several blocks of rows.
var goldenShapes = []shape{
	{1, 1, 1}, {1, 1, 2}, {2, 1, 1}, {1, 7, 1}, {3, 5, 7}, {13, 11, 17}, {31, 37, 41},
	{5, 8, 6}, {6, 9, 15}, {7, 16, 16}, {8, 7, 17}, {9, 15, 31}, {12, 17, 32},
	{16, 24, 33}, {17, 31, 47}, {18, 33, 48}, {24, 32, 49}, {25, 64, 63}, {33, 63, 64},
	{47, 65, 65}, {49, 1, 97}, {64, 128, 96}, {97, 40, 129}, {67, 129, 71},
	{9, 300, 5}, {7, 5, 300}, {300, 20, 37},
	{128, 128, 384}, {130, 256, 100}, {64, 1024, 40}, {600, 1024, 20},
}

// gemmGoldenHash runs the three products (with and without bias, on 1 and 2
// workers) on seeded inputs and returns the sha256 of the outputs' bits.
func gemmGoldenHash(s shape) string {
	m, k, n := s.m, s.k, s.n
	r := rand.New(rand.NewPCG(uint64(m)*7919+uint64(k), uint64(n)))
	a, w, bias, dout := randSlice(r, m*k), randSlice(r, n*k), randSlice(r, n), randSlice(r, m*n)
	da0, dw0, db0 := randSlice(r, m*k), randSlice(r, n*k), randSlice(r, n)
	h := sha256.New()
	var buf [4]byte
	put := func(s []float32) {
		for _, v := range s {
			binary.LittleEndian.PutUint32(buf[:], math.Float32bits(v))
			h.Write(buf[:])
		}
	}
	for _, workers := range []int{1, 2} {
		for _, b := range [][]float32{nil, bias} {
			out := randSlice(r, m*n)
			ForwardPar(workers, out, a, w, b, m, k, n)
			put(out)
			dw, db := append([]float32(nil), dw0...), append([]float32(nil), db0...)
			if b == nil {
				db = nil
			}
			BackwardWeightPar(workers, dw, db, dout, a, m, k, n)
			put(dw)
			put(db)
		}
		da := append([]float32(nil), da0...)
		BackwardInputPar(workers, da, dout, w, m, k, n)
		put(da)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestGolden pins the bits of the AVX2 kernels' products. Regenerate with
// -update only after a deliberate change to the arithmetic: results
// elsewhere depend on them.
func TestGolden(t *testing.T) {
	useImpl(t, "avx2")
	defer func(g int) { parGrain = g }(parGrain)
	parGrain = 1 // let small products split too
	file := filepath.Join("testdata", "gemm.golden")
	if *updateGolden {
		var sb strings.Builder
		for _, s := range goldenShapes {
			fmt.Fprintf(&sb, "%v %s\n", s, gemmGoldenHash(s))
		}
		if err := os.WriteFile(file, []byte(sb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatalf("%v (run go test -run TestGolden -update)", err)
	}
	defer f.Close()
	want := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if name, hash, ok := strings.Cut(sc.Text(), " "); ok {
			want[name] = hash
		}
	}
	for _, s := range goldenShapes {
		w, ok := want[s.String()]
		if !ok {
			t.Errorf("%v: not in %s", s, file)
			continue
		}
		if got := gemmGoldenHash(s); got != w {
			t.Errorf("%v: hash %s, golden %s", s, got, w)
		}
	}
}
