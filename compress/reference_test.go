package compress

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/locosim/locosim/tensor"
)

// refSparseLoCo is SparseLoCo written the plain way, as the reference
// describes it, to check the fast implementation against: explicit 2-D
// blocks, top-k by a stable sort, the quantizer by the formula.
type refSparseLoCo struct {
	beta, alpha float32
	K           int
	bits        int
	e           []float32
}

type refTensor struct {
	pos       []int // chunk by chunk, ascending inside a chunk
	codes     []uint8
	mean      float32
	centroids []float32
	values    []float32
}

func refDivisor(n, atMost int) int {
	best := 1
	for d := 1; d <= n && d <= atMost; d++ {
		if n%d == 0 {
			best = d
		}
	}
	return best
}

func (r *refSparseLoCo) step(l tensor.Layout, delta []float32) []refTensor {
	var out []refTensor
	for _, s := range l {
		e := r.e[s.Offset : s.Offset+s.Size()]
		d := delta[s.Offset : s.Offset+s.Size()]
		for i := range e {
			e[i] = float32(r.beta*e[i]) + float32(r.alpha*d[i])
		}
		rows, cols := 1, s.Size()
		if len(s.Shape) >= 2 {
			rows, cols = s.Rows(), s.Cols()
		}
		h, w := refDivisor(rows, 64), refDivisor(cols, 64)
		var t refTensor
		for by := 0; by < rows/h; by++ {
			for bx := 0; bx < cols/w; bx++ {
				var block []int // positions in the tensor, row-major inside the block
				for i := range h {
					for j := range w {
						block = append(block, (by*h+i)*cols+bx*w+j)
					}
				}
				k := int(math.RoundToEven(float64(len(block)*r.K) / 4096))
				k = max(1, min(k, len(block)))
				order := slices.Clone(block)
				sort.SliceStable(order, func(a, b int) bool {
					return math.Abs(float64(e[order[a]])) > math.Abs(float64(e[order[b]]))
				})
				top := order[:k]
				slices.Sort(top)
				t.pos = append(t.pos, top...)
			}
		}
		vals := make([]float32, len(t.pos))
		for i, p := range t.pos {
			vals[i] = e[p]
		}
		// Quantize: μ, σ (n−1), s = 6σ/2^bits, codes, centroids.
		var sum float64
		for _, v := range vals {
			sum += float64(v)
		}
		mu := float32(sum / float64(len(vals)))
		var ss float64
		for _, v := range vals {
			ss += float64(v-mu) * float64(v-mu)
		}
		sd := 0.0
		if len(vals) > 1 {
			sd = math.Sqrt(ss / float64(len(vals)-1))
		}
		nb := 1 << r.bits
		scale := float32(6 * sd / float64(nb))
		if scale == 0 {
			scale = 1
		}
		sums, counts := make([]float64, nb), make([]int, nb)
		for _, v := range vals {
			x := math.RoundToEven(float64((v-mu)/scale + float32(nb/2)))
			b := uint8(max(0, min(float64(nb-1), x)))
			t.codes = append(t.codes, b)
			sums[b] += float64(v - mu)
			counts[b]++
		}
		t.mean = mu
		t.centroids = make([]float32, nb)
		for b := range nb {
			if counts[b] > 0 {
				t.centroids[b] = float32(sums[b] / float64(counts[b]))
			}
		}
		for i, p := range t.pos {
			v := t.centroids[t.codes[i]] + mu
			t.values = append(t.values, v)
			e[p] -= v
		}
		out = append(out, t)
	}
	return out
}

// TestSparseLoCoMatchesReference runs the fast compressor and the plain
// reference side by side for several rounds and compares everything they
// produce, bit for bit.
func TestSparseLoCoMatchesReference(t *testing.T) {
	l := tensor.Pack([]string{"w", "v", "c", "p"}, [][]int{{128, 192}, {100}, {3, 10, 24}, {97}})
	for _, K := range []int{64, 128} {
		cfg := DefaultConfig()
		cfg.TopKPerChunk, cfg.ErrorDecay, cfg.OuterLR = K, 0.95, 0.8
		c := mustNew(t, cfg, l)
		st := c.NewState()
		ref := &refSparseLoCo{beta: 0.95, alpha: 0.8, K: K, bits: 2, e: make([]float32, l.Size())}
		rng := rand.New(rand.NewPCG(uint64(K), 3))
		for round := range 4 {
			delta := randn(rng, l.Size(), 0.01)
			p, err := c.Compress(st, delta, 0)
			if err != nil {
				t.Fatal(err)
			}
			want := ref.step(l, delta)
			for ti, tp := range p.Tensors {
				w := want[ti]
				got := make([]int, len(tp.Indices))
				for i, v := range tp.Indices {
					got[i] = int(v)
				}
				if !slices.Equal(got, w.pos) {
					t.Fatalf("K=%d round %d %s: indices differ from the reference", K, round, tp.Name)
				}
				if !slices.Equal(tp.Codes, w.codes) || tp.Quant.Mean != w.mean || !slices.Equal(tp.Quant.Centroids, w.centroids) || !slices.Equal(tp.Values, w.values) {
					t.Fatalf("K=%d round %d %s: quantization differs from the reference", K, round, tp.Name)
				}
			}
			if !slices.Equal(st.Error, ref.e) {
				t.Fatalf("K=%d round %d: error-feedback buffers differ", K, round)
			}
		}
	}
}
