package compress

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/locosim/locosim/tensor"
)

// smallSparse is a compressor over one 8-element vector, flat chunks of 8,
// k = 2, fp32 values: small enough to write payloads by hand.
func smallSparse(t *testing.T, mean string, robust bool) *codec {
	cfg := DefaultConfig()
	cfg.Chunking, cfg.ChunkSize, cfg.TopKPerChunk, cfg.QuantBits = ChunkFlat, 8, 1024, 0
	cfg.Aggregation, cfg.Robust = mean, robust
	return mustNew(t, cfg, tensor.Pack([]string{"v"}, [][]int{{8}}))
}

func sp(idx []int32, vals []float32) *Payload {
	return &Payload{Kind: SparseLoCo, Tensors: []TensorPayload{{Name: "v", Shape: []int{8}, Indices: idx, Values: vals}}}
}

func TestAggregateHandComputed(t *testing.T) {
	a := sp([]int32{1, 3}, []float32{2, 4})
	b := sp([]int32{3, 5}, []float32{6, 10})
	c := sp([]int32{0, 7}, []float32{-1, 8})
	for _, tc := range []struct {
		name   string
		mean   string
		robust bool
		ps     []*Payload
		want   []float32
	}{
		{"overlap, contributors", MeanContributors, false, []*Payload{a, b}, []float32{0, 2, 0, 5, 0, 10, 0, 0}},
		{"overlap, replicas", MeanReplicas, false, []*Payload{a, b}, []float32{0, 1, 0, 5, 0, 5, 0, 0}},
		{"disjoint, contributors", MeanContributors, false, []*Payload{a, c}, []float32{-1, 2, 0, 4, 0, 0, 0, 8}},
		{"disjoint, replicas", MeanReplicas, false, []*Payload{a, c}, []float32{-0.5, 1, 0, 2, 0, 0, 0, 4}},
		{"three, contributors", MeanContributors, false, []*Payload{a, b, c}, []float32{-1, 2, 0, 5, 0, 10, 0, 8}},
		{"three, replicas", MeanReplicas, false, []*Payload{a, b, c}, []float32{-1.0 / 3, 2.0 / 3, 0, 10.0 / 3, 0, 10.0 / 3, 0, 8.0 / 3}},
		{"none", MeanContributors, false, nil, make([]float32, 8)},
		// Norms 5, 10, 500: the median is 10, so the huge peer is scaled by 0.02.
		{"robust, one huge peer", MeanContributors, true, []*Payload{
			sp([]int32{0, 1}, []float32{3, 4}),
			sp([]int32{0, 1}, []float32{6, 8}),
			sp([]int32{0, 1}, []float32{300, 400}),
		}, []float32{5, 20.0 / 3, 0, 0, 0, 0, 0, 0}},
		{"not robust, one huge peer", MeanContributors, false, []*Payload{
			sp([]int32{0, 1}, []float32{3, 4}),
			sp([]int32{0, 1}, []float32{6, 8}),
			sp([]int32{0, 1}, []float32{300, 400}),
		}, []float32{103, 412.0 / 3, 0, 0, 0, 0, 0, 0}},
	} {
		c := smallSparse(t, tc.mean, tc.robust)
		for _, p := range tc.ps {
			if err := c.Validate(p); err != nil {
				t.Fatalf("%s: hand payload invalid: %v", tc.name, err)
			}
		}
		dst := []float32{9, 9, 9, 9, 9, 9, 9, 9}
		rep, err := c.Aggregate(dst, tc.ps)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for j := range dst {
			if !near(float64(dst[j]), float64(tc.want[j]), 1e-6) {
				t.Fatalf("%s: got %v, want %v", tc.name, dst, tc.want)
			}
		}
		if tc.robust {
			if got := rep.Scales; got[0][0] != 1 || got[1][0] != 1 || !near(float64(got[2][0]), 0.02, 1e-6) {
				t.Fatalf("%s: scales %v, want [1] [1] [0.02]", tc.name, got)
			}
		}
	}
}

func TestAggregateSkipsNonFinite(t *testing.T) {
	big := float32(math.MaxFloat32)
	ps := []*Payload{sp([]int32{0, 1}, []float32{big, 1}), sp([]int32{0, 1}, []float32{big, 1})}
	c := smallSparse(t, MeanReplicas, true)
	dst := make([]float32, 8)
	rep, err := c.Aggregate(dst, ps)
	if err != nil || !slices.Equal(rep.Skipped, []string{"v"}) || slices.ContainsFunc(dst, func(x float32) bool { return x != 0 }) {
		t.Fatalf("robust: err %v skipped %v dst %v; want the tensor skipped and zero", err, rep.Skipped, dst)
	}
	c = smallSparse(t, MeanReplicas, false)
	if _, err := c.Aggregate(dst, ps); err == nil {
		t.Fatal("a non-finite aggregate passed without robust aggregation")
	}
}

func TestAggregateRejects(t *testing.T) {
	c := smallSparse(t, MeanContributors, false)
	dst := make([]float32, 8)
	for name, p := range map[string]*Payload{
		"out of range": sp([]int32{1, 8}, []float32{1, 1}),
		"negative":     sp([]int32{-1, 2}, []float32{1, 1}),
		"lengths":      sp([]int32{1, 2}, []float32{1}),
		"nil":          nil,
	} {
		if _, err := c.Aggregate(dst, []*Payload{p}); err == nil {
			t.Errorf("%s: Aggregate accepted it", name)
		}
	}
	if _, err := c.Aggregate(dst[:3], nil); err == nil {
		t.Error("Aggregate accepted a short dst")
	}
}

// TestAggregateDenseKinds: dense and bf16 average the payloads.
func TestAggregateDenseKinds(t *testing.T) {
	l := oddLayout()
	rng := rand.New(rand.NewPCG(4, 4))
	d1, d2 := randn(rng, l.Size(), 1), randn(rng, l.Size(), 1)
	for _, kind := range []Kind{Dense, BF16} {
		cfg := DefaultConfig()
		cfg.Kind = kind
		c := mustNew(t, cfg, l)
		p1, _ := c.Compress(c.NewState(), d1, 0)
		p2, _ := c.Compress(c.NewState(), d2, 0)
		dst := make([]float32, l.Size())
		if _, err := c.Aggregate(dst, []*Payload{p1, p2}); err != nil {
			t.Fatal(err)
		}
		tol := 1e-6
		if kind == BF16 {
			tol = 1.0 / 128 // 8 bits of mantissa
		}
		for j := range dst {
			if want := (float64(d1[j]) + float64(d2[j])) / 2; math.Abs(float64(dst[j])-want) > tol*(math.Abs(float64(d1[j]))+math.Abs(float64(d2[j]))) {
				t.Fatalf("%s: element %d = %v, want %v", kind, j, dst[j], want)
			}
		}
	}
}

// TestAggregateIsOrderedSum: the sparse aggregate equals a plain reference
// computed from the payloads, for real compressed payloads.
func TestAggregateMatchesReference(t *testing.T) {
	l := gptLayout(1)
	for _, mean := range []string{MeanContributors, MeanReplicas} {
		cfg := DefaultConfig()
		cfg.Aggregation = mean
		c := mustNew(t, cfg, l)
		rng := rand.New(rand.NewPCG(8, 8))
		var ps []*Payload
		for range 5 {
			p, _ := c.Compress(c.NewState(), randn(rng, l.Size(), 1), 0)
			ps = append(ps, p)
		}
		dst := make([]float32, l.Size())
		if _, err := c.Aggregate(dst, ps); err != nil {
			t.Fatal(err)
		}
		sum := make([]float64, l.Size())
		cnt := make([]int, l.Size())
		for _, p := range ps {
			for ti, tp := range p.Tensors {
				for j, pos := range tp.Indices {
					sum[l[ti].Offset+int(pos)] += float64(tp.Values[j])
					cnt[l[ti].Offset+int(pos)]++
				}
			}
		}
		for j := range sum {
			want := 0.0
			if mean == MeanReplicas {
				want = sum[j] / float64(len(ps))
			} else if cnt[j] > 0 {
				want = sum[j] / float64(cnt[j])
			}
			if !near(float64(dst[j]), want, 1e-5) {
				t.Fatalf("%s: element %d = %v, want %v", mean, j, dst[j], want)
			}
		}
	}
}

// TestAggregateStrayIndex: an index inside a chunk's span but in another
// block is caught, not silently added to the wrong mean.
func TestAggregateStrayIndex(t *testing.T) {
	cfg := DefaultConfig()
	cfg.QuantBits = 0
	l := tensor.Pack([]string{"w"}, [][]int{{64, 128}}) // two 64x64 blocks
	c := mustNew(t, cfg, l)
	p, _ := c.Compress(c.NewState(), randn(rand.New(rand.NewPCG(1, 1)), l.Size(), 1), 0)
	bad := p.Clone()
	// Block 0 holds columns 0..63; position 70 is row 0, column 70: block 1.
	bad.Tensors[0].Indices[0] = 70
	slices.Sort(bad.Tensors[0].Indices[:64])
	if err := c.Validate(bad); err == nil {
		t.Fatal("Validate accepted an index in the wrong block")
	}
	dst := make([]float32, l.Size())
	if _, err := c.Aggregate(dst, []*Payload{p, bad}); err == nil {
		t.Fatal("Aggregate accepted an index in the wrong block")
	}
	// The scratch is clean again: a good aggregate still works.
	if _, err := c.Aggregate(dst, []*Payload{p}); err != nil {
		t.Fatal(err)
	}
	for j, pos := range p.Tensors[0].Indices {
		if dst[pos] != p.Tensors[0].Values[j] {
			t.Fatalf("after a rejected aggregate, dst[%d] = %v, want %v", pos, dst[pos], p.Tensors[0].Values[j])
		}
	}
}
