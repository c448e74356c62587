package compress

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/locosim/locosim/tensor"
)

// dctDefinition is the orthonormal DCT-II straight from its definition.
func dctDefinition(x []float64) []float64 {
	n := len(x)
	y := make([]float64, n)
	for k := range n {
		var s float64
		for i, v := range x {
			s += v * math.Cos(math.Pi*float64(k)*float64(2*i+1)/float64(2*n))
		}
		if k == 0 {
			y[k] = s * math.Sqrt(1/float64(n))
		} else {
			y[k] = s * math.Sqrt(2/float64(n))
		}
	}
	return y
}

func TestDCTMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 5))
	for _, n := range []int{1, 2, 5, 48, 64} {
		b := newDCTBasis(n)
		x := make([]float64, n)
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		want := dctDefinition(x)
		for k := range n {
			var got float64
			for i := range n {
				got += float64(b.d[k*n+i]) * x[i]
			}
			if math.Abs(got-want[k]) > 1e-5 {
				t.Fatalf("n=%d: coefficient %d = %v, want %v", n, k, got, want[k])
			}
		}
	}
}

func TestDCT2RoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 5))
	for _, hw := range [][2]int{{64, 64}, {1, 64}, {50, 24}, {3, 1}} {
		h, w := hw[0], hw[1]
		bh, bw := newDCTBasis(h), newDCTBasis(w)
		x := randn(rng, h*w, 1)
		y, back, tmp := make([]float32, h*w), make([]float32, h*w), make([]float32, h*w)
		dct2(y, x, tmp, bh, bw)
		// Parseval: an orthonormal transform keeps the norm.
		var nx, ny float64
		for i := range x {
			nx += float64(x[i]) * float64(x[i])
			ny += float64(y[i]) * float64(y[i])
		}
		if !near(nx, ny, 1e-5) {
			t.Fatalf("%dx%d: |x|² = %v, |DCT x|² = %v", h, w, nx, ny)
		}
		// The 2-D transform is the 1-D one along rows, then columns.
		col := make([]float64, h)
		for v := range w {
			rowsDone := make([]float64, h)
			for r := range h {
				row := make([]float64, w)
				for c := range w {
					row[c] = float64(x[r*w+c])
				}
				rowsDone[r] = dctDefinition(row)[v]
			}
			copy(col, dctDefinition(rowsDone))
			for u := range h {
				if math.Abs(col[u]-float64(y[u*w+v])) > 1e-4 {
					t.Fatalf("%dx%d: coefficient (%d,%d) = %v, want %v", h, w, u, v, y[u*w+v], col[u])
				}
			}
		}
		idct2(back, y, tmp, bh, bw)
		for i := range x {
			if math.Abs(float64(back[i]-x[i])) > 1e-5 {
				t.Fatalf("%dx%d: IDCT(DCT(x))[%d] = %v, want %v", h, w, i, back[i], x[i])
			}
		}
	}
}

// TestDeMoMomentum: m after + IDCT(what was sent) == β·m before + g, the
// sent part is the top-k per block in DCT space, and one payload
// aggregates to the sign of what it sent.
func TestDeMoMomentum(t *testing.T) {
	l := tensor.Pack([]string{"w", "b"}, [][]int{{128, 64}, {96}})
	cfg := DefaultConfig()
	cfg.Kind, cfg.DeMoBeta = DeMo, 0.9
	c := mustNew(t, cfg, l)
	st := c.NewState()
	rng := rand.New(rand.NewPCG(3, 5))
	for step := range 3 {
		before := slices.Clone(st.Momentum)
		g := randn(rng, l.Size(), 1)
		p, err := c.Compress(st, g, 0)
		if err != nil {
			t.Fatal(err)
		}
		// Dense coefficient tensor of what was sent, then its inverse per block.
		sent := make([]float32, l.Size())
		for ti, pl := range c.plans {
			coef := make([]float32, pl.size)
			for j, pos := range p.Tensors[ti].Indices {
				coef[pos] = p.Tensors[ti].Values[j]
			}
			n := pl.h * pl.w
			blk, out, tmp := make([]float32, n), make([]float32, n), make([]float32, n)
			for ch := range pl.nChunks {
				base, _, k := pl.chunk(ch)
				if want := min(32, n); k != want {
					t.Fatalf("k = %d, want %d", k, want)
				}
				for r := range pl.h {
					copy(blk[r*pl.w:(r+1)*pl.w], coef[base+r*pl.cols:])
				}
				idct2(out, blk, tmp, c.dct[pl.h], c.dct[pl.w])
				for r := range pl.h {
					copy(sent[pl.offset+base+r*pl.cols:], out[r*pl.w:(r+1)*pl.w])
				}
			}
		}
		for j := range sent {
			lhs := float64(st.Momentum[j]) + float64(sent[j])
			rhs := 0.9*float64(before[j]) + float64(g[j])
			if math.Abs(lhs-rhs) > 1e-5*math.Max(1, math.Abs(rhs)) {
				t.Fatalf("step %d element %d: m + sent = %v, β·m + g = %v", step, j, lhs, rhs)
			}
		}
		dst := make([]float32, l.Size())
		if _, err := c.Aggregate(dst, []*Payload{p}); err != nil {
			t.Fatal(err)
		}
		for j, x := range sent {
			want := float32(0)
			if x > 1e-6 {
				want = 1
			} else if x < -1e-6 {
				want = -1
			} else {
				continue
			}
			if dst[j] != want {
				t.Fatalf("step %d: aggregate[%d] = %v, want sign(%v)", step, j, dst[j], x)
			}
		}
	}
}

func TestDeMoKeepsLargestCoefficients(t *testing.T) {
	l := tensor.Pack([]string{"w"}, [][]int{{64, 64}})
	cfg := DefaultConfig()
	cfg.Kind = DeMo
	c := mustNew(t, cfg, l)
	g := randn(rand.New(rand.NewPCG(4, 5)), l.Size(), 1)
	y, tmp := make([]float32, 4096), make([]float32, 4096)
	dct2(y, g, tmp, c.dct[64], c.dct[64])
	p, _ := c.Compress(c.NewState(), g, 0)
	mags := make([]float64, len(y))
	for i, v := range y {
		mags[i] = math.Abs(float64(v))
	}
	slices.Sort(mags)
	thr := mags[len(mags)-32]
	for j, pos := range p.Tensors[0].Indices {
		if math.Abs(float64(y[pos])) < thr || p.Tensors[0].Values[j] != y[pos] {
			t.Fatalf("coefficient %d (%v) is not among the top 32", pos, y[pos])
		}
	}
}
