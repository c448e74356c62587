//go:build amd64 && !purego

package gemm

import (
	"math/rand/v2"
	"testing"
)

func TestPackRows(t *testing.T) {
	if len(kernels()) == 0 {
		t.Skip("no fast path on this CPU")
	}
	r := rand.New(rand.NewPCG(7, 8))
	for _, s := range []shape{{1, 0, 1}, {3, 0, 16}, {5, 0, 17}, {8, 0, 32}, {9, 0, 33}, {4, 0, 64}, {7, 0, 100}} {
		for _, nr := range []int{16, 32} {
			for _, pad := range []int{0, 5} {
				rows, cols, ld := s.m, s.n, s.n+pad
				src := randSlice(r, rows*ld)
				np := (cols + nr - 1) / nr
				got := randSlice(r, np*rows*nr) // garbage that must be overwritten
				packRows(got, src, ld, rows, cols, nr, 0, np)
				for q := 0; q < np; q++ {
					for i := 0; i < rows; i++ {
						for jj := 0; jj < nr; jj++ {
							var want float32
							if j := q*nr + jj; j < cols {
								want = src[i*ld+j]
							}
							if g := got[(q*rows+i)*nr+jj]; g != want {
								t.Fatalf("rows=%d cols=%d ld=%d nr=%d: panel %d [%d][%d] = %g, want %g", rows, cols, ld, nr, q, i, jj, g, want)
							}
						}
					}
				}
			}
		}
	}
}

func TestPackTransposedStrided(t *testing.T) {
	if len(kernels()) == 0 {
		t.Skip("no fast path on this CPU")
	}
	r := rand.New(rand.NewPCG(9, 10))
	for _, s := range []shape{{0, 1, 1}, {0, 9, 17}, {0, 16, 32}, {0, 23, 40}, {0, 64, 33}} {
		for _, nr := range []int{16, 32} {
			k, n, ld := s.k, s.n, s.k+7
			w := randSlice(r, n*ld)
			np := (n + nr - 1) / nr
			got := randSlice(r, np*k*nr)
			packTransposed(got, w, ld, n, k, nr, 0, np)
			for q := 0; q < np; q++ {
				for p := 0; p < k; p++ {
					for jj := 0; jj < nr; jj++ {
						var want float32
						if j := q*nr + jj; j < n {
							want = w[j*ld+p]
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

// TestMulPackedMatchesPublic checks that products with Packed operands, read
// and written through strides, have the bits of the public functions.
func TestMulPackedMatchesPublic(t *testing.T) {
	for _, impl := range []string{"avx2", "avx512"} {
		t.Run(impl, func(t *testing.T) {
			useImpl(t, impl)
			r := rand.New(rand.NewPCG(11, 12))
			var p Packed
			for _, s := range testShapes() {
				m, k, n := s.m, s.k, s.n
				const pad = 3 // operands live in wider matrices
				a, w, dout := randSlice(r, m*k), randSlice(r, n*k), randSlice(r, m*n)
				wide := func(x []float32, rows, cols int) []float32 {
					y := randSlice(r, rows*(cols+pad)+pad)
					for i := 0; i < rows; i++ {
						copy(y[pad+i*(cols+pad):], x[i*cols:(i+1)*cols])
					}
					return y
				}
				aw, ww, dw := wide(a, m, k), wide(w, n, k), wide(dout, m, n)
				check := func(what string, want, got []float32, rows, cols int, before []float32) {
					t.Helper()
					for i := range got {
						ri, ci := (i-pad)/(cols+pad), (i-pad)%(cols+pad)
						inside := i >= pad && ri < rows && ci < cols
						w := before[i]
						if inside {
							w = want[ri*cols+ci]
						}
						if !equalBits(got[i:i+1], []float32{w}) {
							t.Fatalf("%v %s: element %d (inside=%v) = %v, want %v", s, what, i, inside, got[i], w)
						}
					}
				}

				// Forward: out = a·wᵀ.
				want := make([]float32, m*n)
				Forward(want, a, w, nil, m, k, n)
				got := randSlice(r, m*(n+pad)+pad)
				before := append([]float32(nil), got...)
				p.PackCols(ww[pad:], k+pad, k, n)
				MulPacked(got[pad:], n+pad, aw[pad:], k+pad, 1, m, &p, 0, k, n, false)
				check("Forward", want, got, m, n, before)

				// BackwardInput: da += dout·w.
				want = randSlice(r, m*k)
				got = wide(want, m, k)
				before = append([]float32(nil), got...)
				BackwardInput(want, dout, w, m, k, n)
				p.PackRows(ww[pad:], k+pad, n, k)
				MulPacked(got[pad:], k+pad, dw[pad:], n+pad, 1, m, &p, 0, n, k, true)
				check("BackwardInput", want, got, m, k, before)

				// BackwardWeight: dw += doutᵀ·a, A read transposed.
				want = randSlice(r, n*k)
				got = wide(want, n, k)
				before = append([]float32(nil), got...)
				BackwardWeight(want, nil, dout, a, m, k, n)
				p.PackRows(aw[pad:], k+pad, m, k)
				MulPacked(got[pad:], k+pad, dw[pad:], 1, n+pad, n, &p, 0, m, k, true)
				check("BackwardWeight", want, got, n, k, before)

				// A later block of rows of B, continuing a chain: the two
				// halves of BackwardWeight's sum over rows.
				if m >= 2 {
					h := m / 2
					want = randSlice(r, n*k)
					got = wide(want, n, k)
					before = append([]float32(nil), got...)
					BackwardWeight(want, nil, dout, a, m, k, n)
					MulPacked(got[pad:], k+pad, dw[pad:], 1, n+pad, n, &p, 0, h, k, true)
					MulPacked(got[pad:], k+pad, dw[pad+h*(n+pad):], 1, n+pad, n, &p, h, m, k, true)
					check("BackwardWeight in two blocks", want, got, n, k, before)
				}
			}
		})
	}
}

func TestMulPackedPanics(t *testing.T) {
	if len(kernels()) == 0 {
		t.Skip("no fast path on this CPU")
	}
	var p Packed
	p.PackRows(make([]float32, 12), 4, 3, 4) // B is 3x4
	for name, f := range map[string]func(){
		"c short":    func() { MulPacked(make([]float32, 7), 4, make([]float32, 6), 3, 1, 2, &p, 0, 3, 4, false) },
		"a short":    func() { MulPacked(make([]float32, 8), 4, make([]float32, 5), 3, 1, 2, &p, 0, 3, 4, false) },
		"q1 > k":     func() { MulPacked(make([]float32, 8), 4, make([]float32, 8), 4, 1, 2, &p, 0, 4, 4, false) },
		"n > B's n":  func() { MulPacked(make([]float32, 10), 5, make([]float32, 6), 3, 1, 2, &p, 0, 3, 5, false) },
		"src short":  func() { p.PackRows(make([]float32, 11), 4, 3, 4) },
		"cols short": func() { p.PackCols(make([]float32, 11), 4, 4, 3) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}
