package compress

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/locosim/locosim/tensor"
)

// TestSelectKMatchesSort: selectK (the groups path for multiples of 256,
// the sampled one otherwise) keeps what a stable sort by descending key
// keeps, for gaussian, tied, clustered and zero keys.
func TestSelectKMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	var s selector
	for trial := range 2000 {
		var n int
		switch trial % 3 {
		case 0:
			n = 256 * (1 + rng.IntN(20))
		case 1:
			n = 4096
		default:
			n = 1 + rng.IntN(5000)
		}
		k := 1 + rng.IntN(min(n, 300))
		if trial%5 == 0 {
			k = min(n, 64)
		}
		keys := make([]uint32, n)
		for i := range keys {
			switch trial % 7 {
			case 0, 1: // gaussian magnitudes
				keys[i] = math.Float32bits(float32(math.Abs(rng.NormFloat64()))) & absMask
			case 2: // heavy ties
				keys[i] = uint32(rng.IntN(4)) << 20
			case 3: // ties in the low bits only
				keys[i] = 0x3f800000 | uint32(rng.IntN(3))
			case 4: // the large ones in a few groups, the rest tied
				if i%256 < 3 {
					keys[i] = 0x40000000 + uint32(rng.IntN(1000))
				} else {
					keys[i] = 0x3f000000
				}
			case 5: // the extremes: NaN and infinity keys, zeros
				keys[i] = []uint32{0, 0x7f800000, 0x7fffffff, 0x7fc00000, 1}[rng.IntN(5)]
			default: // all zero
			}
		}
		got := s.selectK(keys, k, []int32{-7})
		order := make([]int32, n)
		for i := range order {
			order[i] = int32(i)
		}
		sort.SliceStable(order, func(a, b int) bool { return keys[order[a]] > keys[order[b]] })
		want := append([]int32{-7}, order[:k]...)
		slices.Sort(want[1:])
		if !slices.Equal(got, want) {
			t.Fatalf("trial %d (n=%d k=%d): selectK differs from a stable sort", trial, n, k)
		}
	}
}

// TestSelectKernelsMatchGo: efKeysBlocks, groupMax256 and countGE give
// what their Go loops give.
func TestSelectKernelsMatchGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for trial := range 300 {
		rows, segs := 1+rng.IntN(70), 1+rng.IntN(9)
		w := []int{8, 16, 64, 24, 5, 1, 67}[rng.IntN(7)]
		n := rows * w
		size := rows * segs * w
		e, d := make([]float32, size), make([]float32, size)
		for i := range e {
			e[i] = float32(rng.NormFloat64())
			d[i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(80)-40)))
			if rng.IntN(50) == 0 {
				e[i] = float32(math.Inf(1 - 2*rng.IntN(2)))
			}
		}
		beta, alpha := float32(0.95), float32(rng.Float64()*2)
		if trial%7 == 0 {
			beta = 0
		}
		e1, e2 := slices.Clone(e), slices.Clone(e)
		k1, k2 := make([]uint32, segs*n), make([]uint32, segs*n)
		efKeysBlocks(e1, d, beta, alpha, k1, rows, segs, w, n)
		efKeysBlocksGo(e2, d, beta, alpha, k2, rows, segs, w, n)
		for i := range e1 {
			if math.Float32bits(e1[i]) != math.Float32bits(e2[i]) {
				t.Fatalf("trial %d: efKeysBlocks differs from the Go loop at element %d", trial, i)
			}
		}
		if !slices.Equal(k1, k2) {
			t.Fatalf("trial %d (%dx%dx%d): efKeysBlocks keys differ from the Go loop", trial, rows, segs, w)
		}
		// The keys of each block are those efKeys gives row by row.
		e3 := slices.Clone(e)
		for b := range segs {
			for r := range rows {
				o := (r*segs + b) * w
				kk := make([]uint32, w)
				efKeysGo(e3[o:o+w], d[o:o+w], beta, alpha, kk)
				if !slices.Equal(kk, k2[b*n+r*w:b*n+(r+1)*w]) {
					t.Fatalf("trial %d: block %d row %d keys misplaced", trial, b, r)
				}
			}
		}

		nk := 256 * (1 + rng.IntN(20))
		keys := make([]uint32, nk)
		for i := range keys {
			switch trial % 3 {
			case 0:
				keys[i] = rng.Uint32() & absMask
			case 1:
				keys[i] = uint32(rng.IntN(5))
			default:
				keys[i] = 0x7fffffff - uint32(rng.IntN(3))
			}
		}
		var m1, m2 [256]uint32
		groupMax256(keys, &m1)
		groupMax256Go(keys, &m2)
		if m1 != m2 {
			t.Fatalf("trial %d: groupMax256 differs from the Go loop", trial)
		}
		for _, x := range [][]uint32{keys, keys[:rng.IntN(nk)], keys[rng.IntN(nk):]} {
			ts := []uint32{0, 1, 2, 3, 0x7fffffff, 0x80000000, rng.Uint32() & absMask}
			if len(x) > 0 {
				ts = append(ts, x[0], x[len(x)-1], x[len(x)/2]+1)
			}
			for _, th := range ts {
				want := 0
				for _, v := range x {
					if v >= th {
						want++
					}
				}
				if got := countGE(x, th); got != want || countGEGo(x, th) != want {
					t.Fatalf("trial %d: countGE(%d keys, %#x) = %d (Go %d), want %d", trial, len(x), th, got, countGEGo(x, th), want)
				}
			}
		}
	}
}

// TestDivRow: the multiplicative division is exact for every 32-bit
// dividend and divisor.
func TestDivRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	for trial := range 20000 {
		cols := 1 + rng.IntN(1<<uint(1+trial%31))
		if trial%97 == 0 {
			cols = math.MaxInt32
		}
		p := &plan{cols: cols}
		if cols > 1 {
			p.colsInv = ^uint64(0)/uint64(cols) + 1
		}
		// Dividends below 2^32 (below MaxInt where int has 32 bits).
		limit := int(min(uint64(1)<<32, uint64(math.MaxInt)))
		for _, d := range []int{0, 1, cols - 1, cols, cols + 1, 64*cols - 1, rng.IntN(limit), limit - 1, rng.IntN(int(min(int64(cols)*70, int64(limit))))} {
			if d < 0 || uint64(d) >= 1<<32 {
				continue
			}
			if got, want := p.divRow(d), d/cols; got != want {
				t.Fatalf("%d / %d: divRow %d, want %d", d, cols, got, want)
			}
		}
	}
}

// TestAtLeastWithRoom: atLeast with room for four writes past the end (the
// branch-free extraction) keeps what the Go loop keeps.
func TestAtLeastWithRoom(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 28))
	for trial := range 500 {
		n := rng.IntN(5000)
		keys := make([]uint32, n)
		density := rng.IntN(64) + 1
		for i := range keys {
			if rng.IntN(64) < density {
				keys[i] = 0x40000000 + uint32(rng.IntN(100))
			} else {
				keys[i] = uint32(rng.IntN(0x40000000))
			}
		}
		for _, lo := range []uint32{0, 1, 0x40000000, 0x40000032, 0x7fffffff} {
			a1, a2 := make([]int32, n+4), make([]int32, n+1)
			c1, c2 := atLeast(keys, lo, a1), atLeastGo(keys, lo, a2, 0)
			if c1 != c2 || !slices.Equal(a1[:c1], a2[:c2]) {
				t.Fatalf("trial %d n=%d lo=%x: atLeast keeps %d, want %d (or other indices)", trial, n, lo, c1, c2)
			}
		}
	}
}

// TestSizeMatchesEncode: Size, which computes the encoded length without
// encoding, agrees with Encode for every configuration and layout, over
// rounds, and rejects what Encode rejects.
func TestSizeMatchesEncode(t *testing.T) {
	rng := rand.New(rand.NewPCG(29, 30))
	for name, cfg := range allConfigs() {
		for li, lay := range []tensor.Layout{gptLayout(1), oddLayout()} {
			c := mustNew(t, cfg, lay)
			st := c.NewState()
			for round := range 3 {
				p, err := c.Compress(st, randn(rng, lay.Size(), math.Pow(10, float64(rng.IntN(6)-3))), uint64(round))
				if err != nil {
					t.Fatal(err)
				}
				b, err := c.Encode(p)
				if err != nil {
					t.Fatal(err)
				}
				s, err := c.Size(p)
				if err != nil {
					t.Fatal(err)
				}
				if s.EncodedBytes != len(b) {
					t.Fatalf("%s layout %d round %d: Size says %d bytes, Encode wrote %d", name, li, round, s.EncodedBytes, len(b))
				}
				if len(p.Tensors[0].Values) > 0 {
					p.Tensors[0].Values[0] = float32(math.NaN())
					if _, err := c.Size(p); err == nil {
						t.Fatalf("%s: Size accepts a payload Encode rejects", name)
					}
				}
			}
		}
	}
}
