package compress

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/locosim/locosim/tensor"
)

// TestAggregateEncodedMatchesDecode: for every configuration, aggregating
// wire payloads directly gives, bit for bit, what decoding them and
// calling Aggregate gives, and the same report.
func TestAggregateEncodedMatchesDecode(t *testing.T) {
	inAggregateModes(t, testAggregateEncodedMatchesDecode)
}

func testAggregateEncodedMatchesDecode(t *testing.T) {
	for _, l := range []struct {
		name   string
		layout tensor.Layout
	}{{"odd", oddLayout()}, {"gpt", gptLayout(1)}} {
		layout := l.layout
		for name, cfg := range allConfigs() {
			if l.name == "gpt" && name != "sparseloco" && name != "sparseloco-entropy" && name != "sparseloco-k128" {
				continue // the small layout covers the rest
			}
			c := mustNew(t, cfg, layout)
			rng := rand.New(rand.NewPCG(6, uint64(len(name))))
			var wires [][]byte
			var ps []*Payload
			for node := range 7 {
				st := c.NewState()
				var b []byte
				for round := range 2 {
					p, err := c.Compress(st, randn(rng, layout.Size(), 1), uint64(node+round))
					if err != nil {
						t.Fatal(err)
					}
					if b, err = c.Encode(p); err != nil {
						t.Fatal(err)
					}
				}
				q, err := c.Decode(b)
				if err != nil {
					t.Fatal(err)
				}
				wires, ps = append(wires, b), append(ps, q)
				// Honest payloads take the fixed layout's path.
				if fixed := c.streamable() && cfg.IndexEncoding != IndexEntropy; fixed != (c.fixedLen != 0) || fixed && !c.fixedLayout(b) {
					t.Fatalf("%s/%s: fixedLen %d, payload of %d bytes has the fixed layout: %v", l.name, name, c.fixedLen, len(b), c.fixedLen != 0 && c.fixedLayout(b))
				}
			}
			// The GPT layer's 8 vectors and the final 2 are added first.
			if l.name == "gpt" && name == "sparseloco" && len(c.small) != 10 {
				t.Fatalf("gpt/sparseloco: %d small tensors, want 10", len(c.small))
			}
			for _, R := range []int{0, 1, 2, 7} {
				want := make([]float32, layout.Size())
				wrep, werr := c.Aggregate(want, ps[:R])
				got := make([]float32, layout.Size())
				for i := range got {
					got[i] = 9 // AggregateEncoded must overwrite everything
				}
				grep, gerr := c.AggregateEncoded(got, wires[:R])
				if werr != nil || gerr != nil {
					t.Fatalf("%s/%s R=%d: Aggregate: %v; AggregateEncoded: %v", l.name, name, R, werr, gerr)
				}
				if !slices.EqualFunc(got, want, func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }) {
					t.Fatalf("%s/%s R=%d: AggregateEncoded differs from Decode + Aggregate", l.name, name, R)
				}
				if !reflect.DeepEqual(grep, wrep) {
					t.Fatalf("%s/%s R=%d: report %+v, want %+v", l.name, name, R, grep, wrep)
				}
			}
		}
	}
}

// TestAggregateEncodedRejects: a payload that Decode rejects, anywhere
// among several, makes AggregateEncoded fail; so does a non-finite sum.
func TestAggregateEncodedRejects(t *testing.T) {
	inAggregateModes(t, testAggregateEncodedRejects)
}

func testAggregateEncodedRejects(t *testing.T) {
	l := oddLayout()
	for _, name := range []string{"sparseloco", "sparseloco-entropy", "sparseloco-3bit", "sparseloco-k128", "topk-2bit", "demo"} {
		c := mustNew(t, allConfigs()[name], l)
		rng := rand.New(rand.NewPCG(1, 9))
		wires := wirePayloads(c, rng, 3)
		dst := make([]float32, l.Size())
		if _, err := c.AggregateEncoded(dst, wires); err != nil {
			t.Fatalf("%s: honest payloads: %v", name, err)
		}
		good := wires[1]
		tried, rejected := 0, 0
		for cut := 0; cut < len(good); cut += max(1, len(good)/97) {
			for _, bad := range [][]byte{
				good[:cut],
				append(slices.Clone(good[:cut]), append([]byte{good[cut] ^ 0x24}, good[cut+1:]...)...),
				append(slices.Clone(good), byte(cut)),
			} {
				_, derr := c.Decode(bad)
				ws := [][]byte{wires[0], bad, wires[2]}
				_, aerr := c.AggregateEncoded(dst, ws)
				tried++
				if derr != nil {
					rejected++
					if aerr == nil {
						t.Fatalf("%s: AggregateEncoded accepted a payload Decode rejects (%v)", name, derr)
					}
					continue
				}
				// Decode accepted the changed bytes: the results must agree.
				want := make([]float32, l.Size())
				ps := make([]*Payload, 3)
				for i, w := range ws {
					ps[i], _ = c.Decode(w)
				}
				_, werr := c.Aggregate(want, ps)
				if (werr == nil) != (aerr == nil) {
					t.Fatalf("%s: Aggregate says %v, AggregateEncoded %v", name, werr, aerr)
				}
				if werr == nil && !slices.Equal(dst, want) {
					t.Fatalf("%s: AggregateEncoded differs from Decode + Aggregate on changed bytes", name)
				}
			}
		}
		if rejected < tried/2 {
			t.Fatalf("%s: only %d of %d corruptions rejected", name, rejected, tried)
		}
		// Scaled to overflow: each payload decodes, the sum is infinite.
		p, _ := c.Compress(c.NewState(), randn(rng, l.Size(), 1), 0)
		p.Scale(math.MaxFloat32 / 4)
		if err := c.Validate(p); err != nil {
			continue // the scaled statistics are not finite: nothing to sum
		}
		b, _ := c.Encode(p)
		if _, err := c.AggregateEncoded(dst, [][]byte{b, b, b, b, b}); err == nil && !c.cfg.Robust {
			t.Fatalf("%s: an overflowing aggregate passed", name)
		}
	}
}

// TestAggregateMatchesPlainSum pins Aggregate bit for bit to the plain
// formula: float32 sums in payload order, times the rounded 1/count.
func TestAggregateMatchesPlainSum(t *testing.T) {
	l := gptLayout(1)
	for _, name := range []string{"sparseloco", "sparseloco-k128", "sparseloco-flat", "topk-2bit", "sparseloco-fp32"} {
		c := mustNew(t, allConfigs()[name], l)
		rng := rand.New(rand.NewPCG(3, 3))
		var ps []*Payload
		var wires [][]byte
		for range 9 {
			p, _ := c.Compress(c.NewState(), randn(rng, l.Size(), 1), 0)
			b, _ := c.Encode(p)
			ps, wires = append(ps, p), append(wires, b)
		}
		sum := make([]float32, l.Size())
		cnt := make([]int, l.Size())
		for _, p := range ps {
			for ti, tp := range p.Tensors {
				for j, pos := range tp.Indices {
					sum[l[ti].Offset+int(pos)] += tp.Values[j]
					cnt[l[ti].Offset+int(pos)]++
				}
			}
		}
		want := make([]float32, l.Size())
		for j := range want {
			switch {
			case c.cfg.Aggregation == MeanReplicas:
				want[j] = sum[j] * (1 / float32(len(ps)))
			case cnt[j] > 0:
				want[j] = sum[j] * (1 / float32(cnt[j]))
			}
		}
		for _, encoded := range []bool{false, true} {
			got := make([]float32, l.Size())
			var err error
			if encoded {
				_, err = c.AggregateEncoded(got, wires)
			} else {
				_, err = c.Aggregate(got, ps)
			}
			if err != nil {
				t.Fatal(err)
			}
			for j := range got {
				if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
					t.Fatalf("%s (encoded %v): element %d = %v, want %v", name, encoded, j, got[j], want[j])
				}
			}
		}
	}
}

// TestQuantLUTMatchesReadQuant: quantLUT accepts exactly the statistics
// that readQuant accepts, and then gives the same table.
func TestQuantLUTMatchesReadQuant(t *testing.T) {
	c := mustNew(t, allConfigs()["sparseloco"], gptLayout(1))
	special := []float32{0, float32(math.Copysign(0, -1)), 1, -1, 1e-40, -1e-40, math.MaxFloat32, -math.MaxFloat32,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 3e38, -3e38}
	rng := rand.New(rand.NewPCG(4, 4))
	accepted := 0
	for trial := range 20000 {
		vb := make([]byte, 4*(3+4))
		for i := range 7 {
			v := float32(rng.NormFloat64())
			if rng.IntN(4) == 0 {
				v = special[rng.IntN(len(special))]
			}
			if trial%7 == 0 && i >= 3 {
				v = 2e38 // the sum with the mean may overflow
			}
			binary.LittleEndian.PutUint32(vb[4*i:], math.Float32bits(v))
		}
		var q QuantStats
		want := c.readQuant(vb, &q) == nil
		var lut, lutN [4]float32
		if got := quantLUT(vb, lut[:]); got != want {
			t.Fatalf("trial %d: quantLUT %v, readQuant accepts %v (%v)", trial, got, want, vb)
		}
		if got := quantLUTN(vb, lutN[:]); got != want || want && lutN != lut {
			t.Fatalf("trial %d: quantLUTN %v %v, quantLUT %v (readQuant accepts %v)", trial, got, lutN, lut, want)
		}
		if want {
			accepted++
			for b := range lut {
				if math.Float32bits(lut[b]) != math.Float32bits(q.Centroids[b]+q.Mean) {
					t.Fatalf("trial %d: lut[%d] = %v, want %v", trial, b, lut[b], q.Centroids[b]+q.Mean)
				}
			}
		}
	}
	if accepted < 1000 || accepted > 19000 {
		t.Fatalf("%d of 20000 accepted: too few of one kind", accepted)
	}
}

// inAggregateModes runs f with AggregateEncoded on one goroutine, then
// with payloads of the fixed layout spread over three whatever their size.
func inAggregateModes(t *testing.T, f func(t *testing.T)) {
	for _, w := range []int{1, 3} {
		t.Run(fmt.Sprintf("workers=%d", w), func(t *testing.T) {
			defer func(m int, fw func() int) { parallelMin, aggregateWorkers = m, fw }(parallelMin, aggregateWorkers)
			parallelMin, aggregateWorkers = 0, func() int { return w }
			f(t)
		})
	}
}

// TestAggregateParallelSameErrors: spread over goroutines or not,
// AggregateEncoded gives the same bits and, for damaged, truncated or
// extended payloads, the same error, whichever tensor or payload is
// damaged; with packed and with entropy-coded indices.
func TestAggregateParallelSameErrors(t *testing.T) {
	defer func(m int, fw func() int) { parallelMin, aggregateWorkers = m, fw }(parallelMin, aggregateWorkers)
	l := gptLayout(2)
	for _, name := range []string{"sparseloco", "sparseloco-entropy", "sparseloco-k128"} {
		c := mustNew(t, allConfigs()[name], l)
		rng := rand.New(rand.NewPCG(2, 7))
		wires := wirePayloads(c, rng, 4)
		run := func(workers int, ws [][]byte) ([]float32, string) {
			parallelMin, aggregateWorkers = 0, func() int { return workers }
			dst := make([]float32, l.Size())
			_, err := c.AggregateEncoded(dst, ws)
			if err != nil {
				return nil, err.Error()
			}
			return dst, ""
		}
		huge, _ := c.Compress(c.NewState(), randn(rng, l.Size(), 1), 0)
		huge.Scale(math.MaxFloat32 / 2)
		hb, _ := c.Encode(huge)
		good := wires[2]
		cases := [][][]byte{wires, {wires[0], hb, hb, wires[1]},
			{wires[0], good[:len(good)-1], wires[1]}, {wires[0], append(slices.Clone(good), 0), wires[1]}}
		for cut := 0; cut < len(good); cut += 1 + len(good)/157 {
			bad := slices.Clone(good)
			bad[cut] ^= 0x81
			cases = append(cases, [][]byte{wires[0], wires[1], bad, wires[3]}, [][]byte{bad, wires[1], bad, wires[3]})
		}
		failures := 0
		for i, ws := range cases {
			want, werr := run(1, ws)
			if c.parallel(len(ws)) {
				t.Fatal("one worker took the parallel path")
			}
			for _, w := range []int{2, 3, 8} {
				got, gerr := run(w, ws)
				if !c.parallel(len(ws)) {
					t.Fatalf("%s, %d workers: the parallel path is not taken", name, w)
				}
				if gerr != werr {
					t.Fatalf("%s case %d, %d workers: error %q, one worker: %q", name, i, w, gerr, werr)
				}
				if !slices.EqualFunc(got, want, func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }) {
					t.Fatalf("%s case %d, %d workers: aggregate differs from one worker's", name, i, w)
				}
			}
			if werr != "" {
				failures++
			}
		}
		if failures < len(cases)/4 {
			t.Fatalf("%s: only %d of %d cases failed: the damage is not reaching the checks", name, failures, len(cases))
		}
	}
}

// wirePayloads encodes n payloads of random pseudo-gradients (unit
// normal), each compressed from a fresh state.
func wirePayloads(c *codec, rng *rand.Rand, n int) [][]byte {
	var wires [][]byte
	for range n {
		p, _ := c.Compress(c.NewState(), randn(rng, c.size, 1), 0)
		b, _ := c.Encode(p)
		wires = append(wires, b)
	}
	return wires
}
