package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestWeightMatchesPublic checks a packed Weight's products against
// ForwardPar and BackwardInputPar on the same operands, bit for bit, on
// every path, including the overwriting BackwardInput against clearing
// first, and shapes with zero dimensions.
func TestWeightMatchesPublic(t *testing.T) {
	shapes := append(testShapes(), shape{0, 3, 4}, shape{3, 0, 4}, shape{3, 4, 0})
	for _, impl := range impls {
		t.Run(impl, func(t *testing.T) {
			useImpl(t, impl)
			r := rand.New(rand.NewPCG(5, 6))
			var wt Weight // reused across shapes, as a workspace does
			for _, s := range shapes {
				m, k, n := s.m, s.k, s.n
				w, a, bias, dout, da0 := randSlice(r, n*k), randSlice(r, m*k), randSlice(r, n), randSlice(r, m*n), randSlice(r, m*k)
				wt.Set(w, k, n)
				wt.PackForward(2)
				wt.PackBackward(3)
				if got := len(wt.fwd) + len(wt.bwd); impl != "go" && k > 0 && n > 0 && got != WeightFloats(k, n) {
					t.Fatalf("%v: packed %d floats, WeightFloats says %d", s, got, WeightFloats(k, n))
				}
				for _, workers := range []int{1, 2, 3} {
					for _, b := range [][]float32{nil, bias} {
						want, got := randSlice(r, m*n), randSlice(r, m*n)
						ForwardPar(workers, want, a, w, b, m, k, n)
						wt.Forward(workers, got, a, b, m)
						mustSameBits(t, fmt.Sprintf("%v Forward workers=%d bias=%v", s, workers, b != nil), got, want)
					}
					want, got := append([]float32(nil), da0...), append([]float32(nil), da0...)
					BackwardInputPar(workers, want, dout, w, m, k, n)
					wt.BackwardInput(workers, got, dout, m, true)
					mustSameBits(t, fmt.Sprintf("%v BackwardInput workers=%d", s, workers), got, want)
					clear(want)
					BackwardInputPar(workers, want, dout, w, m, k, n)
					copy(got, da0) // garbage that the overwrite must not see
					wt.BackwardInput(workers, got, dout, m, false)
					mustSameBits(t, fmt.Sprintf("%v BackwardInput overwrite workers=%d", s, workers), got, want)
				}
			}
		})
	}
}

func mustSameBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: element %d is %v, want %v", what, i, got[i], want[i])
		}
	}
}

// TestWeightNeedsPacking: a product before its Pack call, or after Set
// changed the matrix, is a programming error that panics with a message.
func TestWeightNeedsPacking(t *testing.T) {
	w := make([]float32, 6)
	var wt Weight
	wt.Set(w, 2, 3)
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"Forward", func() { wt.Forward(1, make([]float32, 3), make([]float32, 2), nil, 1) }},
		{"BackwardInput", func() { wt.BackwardInput(1, make([]float32, 2), make([]float32, 3), 1, true) }},
		{"short w", func() { wt.Set(w, 3, 3) }},
	} {
		func() {
			defer func() {
				msg, _ := recover().(string)
				if !strings.Contains(msg, "gemm: Weight.") {
					t.Errorf("%s: recovered %q, want a gemm: Weight. panic", tc.name, msg)
				}
			}()
			tc.f()
		}()
	}
	wt.PackForward(1)
	wt.Forward(1, make([]float32, 3), make([]float32, 2), nil, 1) // now fine
	wt.Set(w, 2, 3)
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Forward after Set without PackForward did not panic")
			}
		}()
		wt.Forward(1, make([]float32, 3), make([]float32, 2), nil, 1)
	}()
}

// TestBackwardWeightOverwrite: overwriting gives the bits of clearing and
// accumulating, on every path, whatever dw and dbias held.
func TestBackwardWeightOverwrite(t *testing.T) {
	shapes := append(testShapes(), shape{0, 3, 4}, shape{3, 0, 4}, shape{3, 4, 0}, shape{1100, 40, 24}, shape{700, 300, 9})
	for _, impl := range impls {
		t.Run(impl, func(t *testing.T) {
			useImpl(t, impl)
			r := rand.New(rand.NewPCG(7, 8))
			for _, s := range shapes {
				m, k, n := s.m, s.k, s.n
				dout, a := randSlice(r, m*n), randSlice(r, m*k)
				for _, bias := range []bool{false, true} {
					wantW, wantB := make([]float32, n*k), make([]float32, n)
					gotW, gotB := randSlice(r, n*k), randSlice(r, n)
					var wb, gb []float32
					if bias {
						wb, gb = wantB, gotB
					}
					BackwardWeight(wantW, wb, dout, a, m, k, n)
					BackwardWeightOverwrite(gotW, gb, dout, a, m, k, n)
					mustSameBits(t, fmt.Sprintf("%v dw bias=%v", s, bias), gotW, wantW)
					if bias {
						mustSameBits(t, fmt.Sprintf("%v dbias", s), gotB, wantB)
					}
				}
			}
		})
	}
}
