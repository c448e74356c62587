package compress

import (
	"bytes"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/locosim/locosim/tensor"
)

var updateCorpus = flag.Bool("update", false, "rewrite the FuzzDecode seed corpus under testdata")

// TestEntropyNearFloor: Rice-coded index sets of uniformly random k-subsets
// (which is what top-k of i.i.d. values selects) land within 5 % of
// log2 C(4096, k) at K = 64 and 128, and packed12 costs 12 bits an index.
func TestEntropyNearFloor(t *testing.T) {
	const chunks = 256
	for _, K := range []int{64, 128} {
		cfg := DefaultConfig()
		cfg.Chunking, cfg.TopKPerChunk = ChunkFlat, K
		pl := newPlan(tensor.Spec{Name: "x", Shape: []int{chunks * 4096}}, cfg, true)
		rng := rand.New(rand.NewPCG(uint64(K), 1))
		var s selector
		var idx []int32
		for ch := range chunks {
			for _, l := range s.randomK(4096, K, rng, nil) {
				idx = append(idx, int32(ch*4096)+l)
			}
		}
		var w bitWriter
		pl.encodeIndices(&w, idx, true)
		bits := float64(len(w.flush()) * 8)
		floor := pl.idealIdxBits
		perIndex := floor / float64(chunks*K)
		if over := bits/floor - 1; over > 0.05 {
			t.Errorf("K=%d: %.0f bits, floor %.0f (%.2f bits/index): %.1f %% over", K, bits, floor, perIndex, 100*over)
		} else {
			t.Logf("K=%d: entropy coding %.3f bits/index, floor %.3f: %.1f %% over", K, bits/float64(chunks*K), perIndex, 100*over)
		}
		got := make([]int32, len(idx))
		if err := pl.decodeIndices(w.buf, got, true); err != nil || !slices.Equal(got, idx) {
			t.Fatalf("K=%d: entropy round trip failed: %v", K, err)
		}
		w = bitWriter{}
		pl.encodeIndices(&w, idx, false)
		if n := len(w.flush()); n != chunks*K*12/8 {
			t.Errorf("K=%d: packed12 took %d bytes, want %d", K, n, chunks*K*12/8)
		}
	}
}

// TestPublishedRatio: 12-bit indices + 2-bit codes at K = 64 give about
// 0.219 bits per parameter, the published 146x, on a GPT-shaped layout
// (plus small per-tensor overheads).
func TestPublishedRatio(t *testing.T) {
	l := gptLayout(2)
	c := mustNew(t, DefaultConfig(), l)
	p, _ := c.Compress(c.NewState(), randn(rand.New(rand.NewPCG(1, 1)), l.Size(), 1), 0)
	s, err := c.Size(p)
	if err != nil {
		t.Fatal(err)
	}
	// Vectors keep one value per 64-run (1/64 rather than 1/64 of 4096/64),
	// so the ratio is a little below 146.
	if s.Ratio() < 120 || s.Ratio() > 150 {
		t.Errorf("ratio %.1f, want about 146: %v", s.Ratio(), s)
	}
	cfg := DefaultConfig()
	cfg.IndexEncoding = IndexEntropy
	ce := mustNew(t, cfg, l)
	se, _ := ce.Size(p)
	if saved := 1 - float64(se.EncodedBytes)/float64(s.EncodedBytes); saved < 0.2 {
		t.Errorf("entropy coding saves %.0f %% of the bytes, want a substantial saving", 100*saved)
	}
	t.Logf("packed12: %v; entropy: %v", s, se)
}

// fuzzCodecs are the compressors FuzzDecode tries every input on: every
// kind and wire variant, on a small layout with 8x8 blocks, and the
// default one keeping 16 per block.
func fuzzCodecs(t testing.TB) []*codec {
	l := tensor.Pack([]string{"m", "v", "s"}, [][]int{{16, 24}, {10}, {1}})
	var cs []*codec
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range allConfigs() {
			if !yield(n) {
				return
			}
		}
	})
	for _, n := range names {
		cfg := allConfigs()[n]
		cfg.ChunkSize = 64
		cfg.DeMoTopK = 4
		if cfg.Density == 0 {
			cfg.TopKPerChunk = 256 // 4 per 8x8 block
		}
		cs = append(cs, mustNew(t, cfg, l))
	}
	// 16 of each 64: AggregateEncoded adds all peers' chunks in one call
	// (add12x2Peers).
	cfg := DefaultConfig()
	cfg.ChunkSize = 64
	cfg.TopKPerChunk = 1024
	cs = append(cs, mustNew(t, cfg, l))
	return cs
}

func FuzzDecode(f *testing.F) {
	cs := fuzzCodecs(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, c := range cs {
			p, err := c.Decode(b)
			fused := make([]float32, c.size)
			_, ferr := c.AggregateEncoded(fused, [][]byte{b, b})
			// Spread over goroutines: the same bits, the same error.
			spread := make([]float32, c.size)
			if _, serr := aggregateSpread(c, spread, [][]byte{b, b}); fmt.Sprint(serr) != fmt.Sprint(ferr) ||
				ferr == nil && !slices.EqualFunc(spread, fused, func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) }) {
				t.Fatalf("%s: spread over goroutines: %v, on one: %v (or the sums differ)", c.cfg.Kind, serr, ferr)
			}
			if err != nil {
				if ferr == nil {
					t.Fatalf("%s: AggregateEncoded accepted what Decode rejects: %v", c.cfg.Kind, err)
				}
				continue
			}
			if err := c.Validate(p); err != nil {
				t.Fatalf("%s: decoded payload fails Validate: %v", c.cfg.Kind, err)
			}
			again, err := c.Encode(p)
			if err != nil || !bytes.Equal(again, b) {
				t.Fatalf("%s: re-encoding differs (%v)", c.cfg.Kind, err)
			}
			dst := make([]float32, c.size)
			_, err = c.Aggregate(dst, []*Payload{p, p})
			if err != nil && !c.cfg.Robust {
				// Only an overflowing sum may fail.
				t.Logf("%s: aggregate: %v", c.cfg.Kind, err)
			}
			if (err == nil) != (ferr == nil) {
				t.Fatalf("%s: Aggregate says %v, AggregateEncoded %v", c.cfg.Kind, err, ferr)
			}
			if err == nil && !slices.EqualFunc(dst, fused, func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) }) {
				t.Fatalf("%s: AggregateEncoded differs from Decode + Aggregate", c.cfg.Kind)
			}
		}
	})
}

// TestFuzzCorpus regenerates (with -update) or checks the seed corpus: one
// honest payload per compressor, plus a few truncated and corrupted ones.
func TestFuzzCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecode")
	if !*updateCorpus {
		entries, err := os.ReadDir(dir)
		if err != nil || len(entries) < 20 {
			t.Fatalf("seed corpus missing or small (%d files, %v): run go test -run TestFuzzCorpus -update", len(entries), err)
		}
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(9, 9))
	for i, c := range fuzzCodecs(t) {
		st := c.NewState()
		for round := range 2 {
			p, err := c.Compress(st, randn(rng, c.size, 1), uint64(round))
			if err != nil {
				t.Fatal(err)
			}
			b, err := c.Encode(p)
			if err != nil {
				t.Fatal(err)
			}
			seeds := [][]byte{b}
			if round == 1 {
				seeds = append(seeds, b[:len(b)/2], append(slices.Clone(b), 0))
				flip := slices.Clone(b)
				flip[len(flip)/3] ^= 0x5a
				seeds = append(seeds, flip)
			}
			for j, s := range seeds {
				name := filepath.Join(dir, fmt.Sprintf("seed-%02d-%s-%d-%d", i, c.cfg.Kind, round, j))
				body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s)
				if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// TestDecodeToReuses: decoding into a used payload gives the same result
// as a fresh decode, for every kind, and allocates nothing once warm.
func TestDecodeToReuses(t *testing.T) {
	l := oddLayout()
	for name, cfg := range allConfigs() {
		c := mustNew(t, cfg, l)
		rng := rand.New(rand.NewPCG(5, 5))
		st := c.NewState()
		var wire [][]byte
		for round := range 3 {
			p, _ := c.Compress(st, randn(rng, l.Size(), 1), uint64(round))
			b, _ := c.Encode(p)
			wire = append(wire, b)
		}
		into := new(Payload)
		for _, b := range wire {
			if err := c.DecodeTo(into, b); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			fresh, _ := c.Decode(b)
			if !reflect.DeepEqual(into, fresh) {
				t.Fatalf("%s: DecodeTo into a used payload differs from Decode", name)
			}
		}
		if cfg.Kind == SparseLoCo && cfg.QuantBits == 2 {
			if n := testing.AllocsPerRun(5, func() { c.DecodeTo(into, wire[0]) }); n > 0 {
				t.Errorf("%s: DecodeTo allocates %v times once warm", name, n)
			}
		}
	}
}

// TestUnpackUniformMatchesDecode: the one-loop reading of a packed index
// section accepts what decodeIndices accepts, with the same positions, and
// rejects the rest (flipped bits, truncation, trailing bytes).
func TestUnpackUniformMatchesDecode(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 16))
	tried := 0
	for _, l := range []tensor.Layout{gptLayout(1), oddLayout()} {
		for _, name := range []string{"sparseloco", "sparseloco-flat", "sparseloco-k128", "sparseloco-density"} {
			c := mustNew(t, allConfigs()[name], l)
			p, _ := c.Compress(c.NewState(), randn(rng, l.Size(), 1), 0)
			for i, pl := range c.plans {
				var w bitWriter
				pl.encodeIndices(&w, p.Tensors[i].Indices, false)
				sec := w.flush()
				for trial := range 30 {
					b := slices.Clone(sec)
					switch {
					case trial == 1 && len(b) > 0:
						b = b[:len(b)-1]
					case trial == 2:
						b = append(b, 0)
					case trial > 2 && len(b) > 0:
						b[rng.IntN(len(b))] ^= byte(1 << rng.IntN(8))
					}
					want, got := make([]int32, pl.total), make([]int32, pl.total)
					err := pl.decodeIndices(b, want, false)
					if !pl.unpackUniform(b, got) {
						continue // not a uniform plan, or garbage: decodeIndices decides
					}
					tried++
					if err != nil || !slices.Equal(got, want) {
						t.Fatalf("%s %s trial %d: unpackUniform accepts, decodeIndices says %v (or other positions)", name, pl.name, trial, err)
					}
				}
			}
		}
	}
	if tried < 100 {
		t.Fatalf("only %d sections read by unpackUniform", tried)
	}
}

// aggregateSpread is c.AggregateEncoded with payloads of the fixed layout
// spread over three goroutines whatever their size.
func aggregateSpread(c *codec, dst []float32, wires [][]byte) (Report, error) {
	defer func(m int, fw func() int) { parallelMin, aggregateWorkers = m, fw }(parallelMin, aggregateWorkers)
	parallelMin, aggregateWorkers = 0, func() int { return 3 }
	return c.AggregateEncoded(dst, wires)
}

// TestUnriceMatchesFrom: unrice's fast loop decodes what the loop that
// refills only when it must (unriceFrom) decodes, fails where it fails
// with the same error, and stops at the same place in the stream: on
// honest, damaged, truncated and extended sections, with long unary
// parts (small r) among them.
func TestUnriceMatchesFrom(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 19))
	failed := 0
	for trial := range 4000 {
		n := 2 + rng.IntN(4095)
		k := 1 + rng.IntN(min(n-1, 200))
		r := riceParam(n, k)
		if trial%5 == 0 {
			r = uint(rng.IntN(int(r) + 1))
		}
		chunks := 1 + rng.IntN(3)
		var w bitWriter
		for range chunks {
			l := rng.Perm(n)[:k]
			slices.Sort(l)
			prev := -1
			for _, x := range l {
				gap := x - prev - 1
				w.ones(gap >> r)
				w.write(uint64(gap&(1<<r-1))<<1, r+1)
				prev = x
			}
		}
		sec := w.flush()
		switch rng.IntN(4) {
		case 0:
			sec[rng.IntN(len(sec))] ^= 1 << rng.IntN(8)
		case 1:
			sec = sec[:rng.IntN(len(sec))]
		case 2:
			for range 1 + rng.IntN(12) {
				sec = append(sec, byte(rng.IntN(256)))
			}
		}
		var offs []int32
		if trial%2 == 0 {
			offs = make([]int32, n)
			for i := range offs {
				offs[i] = int32(3*i + 1)
			}
		}
		p1, p2 := 0, 0
		var a1, a2 uint64
		var n1, n2 uint
		for ch := range chunks {
			out1, out2 := make([]int32, k), make([]int32, k)
			var e1, e2 error
			p1, a1, n1, e1 = unrice(sec, p1, a1, n1, out1, offs, 5*ch, n, r)
			p2, a2, n2, e2 = unriceFrom(sec, p2, a2, n2, out2, offs, 5*ch, n, r, -1)
			if fmt.Sprint(e1) != fmt.Sprint(e2) {
				t.Fatalf("trial %d chunk %d: unrice says %v, unriceFrom %v", trial, ch, e1, e2)
			}
			if e1 != nil {
				failed++
				break
			}
			if !slices.Equal(out1, out2) {
				t.Fatalf("trial %d chunk %d: unrice decodes %v, unriceFrom %v", trial, ch, out1, out2)
			}
			// The same bit position, and the same bits buffered there.
			m := min(n1, n2)
			if 8*p1-int(n1) != 8*p2-int(n2) || a1&(1<<m-1) != a2&(1<<m-1) {
				t.Fatalf("trial %d chunk %d: unrice stops at byte %d with %d bits, unriceFrom at %d with %d", trial, ch, p1, n1, p2, n2)
			}
		}
	}
	if failed < 500 || failed > 3500 {
		t.Fatalf("%d of 4000 trials failed: want a mix of good and bad sections", failed)
	}
}
