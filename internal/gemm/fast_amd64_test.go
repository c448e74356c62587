//go:build amd64 && !purego

package gemm

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestPacking(t *testing.T) {
	if len(kernels()) == 0 {
		t.Skip("no fast path on this CPU")
	}
	r := rand.New(rand.NewPCG(3, 4))
	for _, s := range []shape{{0, 1, 1}, {0, 8, 8}, {0, 9, 17}, {0, 16, 32}, {0, 23, 40}, {0, 64, 33}} {
		for _, nr := range []int{16, 32} {
			k, n := s.k, s.n
			w := randSlice(r, n*k)
			np := (n + nr - 1) / nr
			got := randSlice(r, np*k*nr) // garbage that must be overwritten
			packTransposed(got, w, k, n, k, nr, 0, np)
			for q := 0; q < np; q++ {
				for p := 0; p < k; p++ {
					for jj := 0; jj < nr; jj++ {
						var want float32
						if j := q*nr + jj; j < n {
							want = w[j*k+p]
						}
						if g := got[(q*k+p)*nr+jj]; g != want {
							t.Fatalf("k=%d n=%d nr=%d: panel %d [%d][%d] = %g, want %g", k, n, nr, q, p, jj, g, want)
						}
					}
				}
			}
		}
	}
}

func TestTransposeBlock(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, s := range []shape{{1, 0, 1}, {8, 0, 8}, {9, 0, 17}, {16, 0, 31}, {23, 0, 40}, {40, 0, 7}} {
		rows, cols := s.m, s.n
		srcLd, off := cols+5, 3 // a block inside a wider matrix
		ld := (rows+7)&^7 + 16
		src := randSlice(r, off+rows*srcLd)
		got := randSlice(r, cols*ld)
		before := append([]float32(nil), got...)
		transposeBlock(got, ld, src[off:], srcLd, rows, cols)
		for j := 0; j < cols; j++ {
			for i := 0; i < ld; i++ {
				want := before[j*ld+i] // padding is left alone
				if i < rows {
					want = src[off+i*srcLd+j]
				}
				if g := got[j*ld+i]; g != want {
					t.Fatalf("%dx%d: dst[%d][%d] = %g, want %g", rows, cols, j, i, g, want)
				}
			}
		}
	}
}

// TestGeneratedAssemblyIsCurrent regenerates the kernels and compares them
// with the committed kernels_amd64.s.
func TestGeneratedAssemblyIsCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the generator")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	out := filepath.Join(t.TempDir(), "kernels_amd64.s")
	cmd := exec.Command(goTool, "run", "./asm/gen.go", "-out", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run ./asm/gen.go: %v\n%s", err, msg)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("kernels_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("kernels_amd64.s is stale: run go generate in internal/gemm")
	}
}

// TestSelfCheckCatchesWrongKernels runs the start-up check on kernel sets
// built from the AVX2 kernel: an exact copy must pass, one that is off by a
// rounding step in one lane of one tile row must fail.
func TestSelfCheckCatchesWrongKernels(t *testing.T) {
	useImpl(t, "avx2") // skips where the CPU has no AVX2
	same := *avx2Kernel
	if !selfCheck(&same) {
		t.Error("selfCheck rejects a copy of the AVX2 kernels")
	}
	wrong := *avx2Kernel
	wrong.run = func(a *float32, rs, cs uintptr, kk int, b *float32, pstride uintptr, c *float32, ldc uintptr, np int, mask uint64, mode int, bias *float32, mr int) {
		kernAVX2(a, rs, cs, kk, b, pstride, c, ldc, np, mask, mode, bias, mr)
		if mr == 3 { // only some tiles, as a bug in one kernel variant would
			*c = math.Nextafter32(*c, float32(math.Inf(1)))
		}
	}
	if selfCheck(&wrong) {
		t.Error("selfCheck accepts kernels that disagree with AVX2 in a few elements")
	}
}
