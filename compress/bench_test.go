package compress

import (
	"math/rand/v2"
	"testing"
	"time"
)

// The benchmarks use a GPT-shaped tensor set of about 1M parameters and
// report GB/s of fp32 input (4 bytes per parameter per payload).

// reportGBs reports throughput against wall-clock time (GB/s) and against
// the CPU time the process used (cpu-GB/s, and cpu-ms/op), which is the
// steadier figure on a shared machine. cpu0 is cpuSeconds() before the loop.
func reportGBs(b *testing.B, bytes int, cpu0 float64) {
	cpu := cpuSeconds() - cpu0
	b.ReportMetric(float64(bytes)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
	if cpu > 0 {
		b.ReportMetric(float64(bytes)*float64(b.N)/cpu/1e9, "cpu-GB/s")
		b.ReportMetric(cpu/float64(b.N)*1e3, "cpu-ms/op")
	}
}

func BenchmarkCompress(b *testing.B) {
	l := gptLayout(5)
	n := l.Size()
	delta := randn(rand.New(rand.NewPCG(1, 2)), n, 1e-3)
	for _, name := range []string{
		"sparseloco", "sparseloco-entropy", "sparseloco-bytecodes", "sparseloco-flat",
		"sparseloco-fp32", "sparseloco-randomk", "sparseloco-k128",
		"dense", "bf16", "demo", "topk", "quantize",
	} {
		cfg := allConfigs()[name]
		b.Run(name, func(b *testing.B) {
			c := mustNew(b, cfg, l)
			st := c.NewState()
			b.SetBytes(int64(4 * n))
			cpu0 := cpuSeconds()
			for i := 0; b.Loop(); i++ {
				p, err := c.Compress(st, delta, uint64(i))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := c.Encode(p); err != nil {
					b.Fatal(err)
				}
			}
			reportGBs(b, 4*n, cpu0)
		})
	}
}

// BenchmarkBaselineSum is a 4-way unrolled float32 sum over the same 4 MB:
// on a shared machine, read the other figures against it.
func BenchmarkBaselineSum(b *testing.B) {
	x := randn(rand.New(rand.NewPCG(1, 1)), gptLayout(5).Size(), 1)
	cpu0 := cpuSeconds()
	for b.Loop() {
		var s0, s1, s2, s3 float32
		for i := 0; i+3 < len(x); i += 4 {
			s0 += x[i]
			s1 += x[i+1]
			s2 += x[i+2]
			s3 += x[i+3]
		}
		sink = s0 + s1 + s2 + s3
	}
	reportGBs(b, 4*len(x), cpu0)
}

var sink float32

// BenchmarkAggregate decodes 72 payloads (K = 64 per 4096) and aggregates
// them into one dense update ("decode+aggregate"), does the same from the
// wire bytes in one pass ("aggregate-encoded", what the simulator calls),
// or only aggregates already decoded ones ("aggregate").
func BenchmarkAggregate(b *testing.B) {
	l := gptLayout(5)
	n := l.Size()
	for _, name := range []string{"sparseloco", "sparseloco-entropy", "sparseloco-k128", "demo"} {
		c := mustNew(b, allConfigs()[name], l)
		rng := rand.New(rand.NewPCG(3, 4))
		const peers = 72
		wire := make([][]byte, peers)
		for r := range wire {
			p, err := c.Compress(c.NewState(), randn(rng, n, 1e-3), 0)
			if err != nil {
				b.Fatal(err)
			}
			wire[r], _ = c.Encode(p)
		}
		dst := make([]float32, n)
		// A receiver keeps one payload per peer and decodes into it.
		ps := make([]*Payload, peers)
		for r := range ps {
			ps[r] = new(Payload)
			if err := c.DecodeTo(ps[r], wire[r]); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(name+"/decode+aggregate", func(b *testing.B) {
			b.SetBytes(int64(4 * n * peers))
			cpu0 := cpuSeconds()
			for b.Loop() {
				for r, w := range wire {
					if err := c.DecodeTo(ps[r], w); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := c.Aggregate(dst, ps); err != nil {
					b.Fatal(err)
				}
			}
			reportGBs(b, 4*n*peers, cpu0)
		})
		b.Run(name+"/aggregate-encoded", func(b *testing.B) {
			b.SetBytes(int64(4 * n * peers))
			cpu0 := cpuSeconds()
			for b.Loop() {
				if _, err := c.AggregateEncoded(dst, wire); err != nil {
					b.Fatal(err)
				}
			}
			reportGBs(b, 4*n*peers, cpu0)
		})
		b.Run(name+"/aggregate", func(b *testing.B) {
			b.SetBytes(int64(4 * n * peers))
			cpu0 := cpuSeconds()
			for b.Loop() {
				if _, err := c.Aggregate(dst, ps); err != nil {
					b.Fatal(err)
				}
			}
			reportGBs(b, 4*n*peers, cpu0)
		})
	}
}

// BenchmarkAddSmall is the part of AggregateEncoded that adds the small
// tensors (the GPT's vectors) of 72 payloads of the fixed layout, all of
// a payload's at once: per tensor and payload work, not per value.
func BenchmarkAddSmall(b *testing.B) {
	l := gptLayout(5)
	n := l.Size()
	c := mustNew(b, allConfigs()["sparseloco"], l)
	rng := rand.New(rand.NewPCG(3, 4))
	st := make([]stream, 72)
	for r := range st {
		p, err := c.Compress(c.NewState(), randn(rng, n, 1e-3), 0)
		if err != nil {
			b.Fatal(err)
		}
		st[r].w, _ = c.Encode(p)
		if st[r].fixed = c.fixedLayout(st[r].w); !st[r].fixed {
			b.Fatal("payload without the fixed layout")
		}
	}
	dst := make([]float32, n)
	s := c.pool.Get().(*scratch)
	s.luts = reuse(s.luts, 4)
	nonFinite := make([]bool, len(c.small))
	for b.Loop() {
		if !c.addSmall(s, dst, st, nonFinite) {
			b.Fatal("a payload failed a check")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(st)*len(c.small)), "ns/tensor")
}

// BenchmarkAggregateVsCompress alternates one SparseLoCo compress+encode
// of a pseudo-gradient with the aggregation of 72 payloads (K = 64) from
// their bytes, and reports the ratio of their wall times measured in the
// same rounds (below 1: aggregating is the faster), which a busy machine
// disturbs less than two separate benchmarks.
func BenchmarkAggregateVsCompress(b *testing.B) {
	l := gptLayout(5)
	n := l.Size()
	c := mustNew(b, allConfigs()["sparseloco"], l)
	rng := rand.New(rand.NewPCG(3, 4))
	// Pseudo-gradients of the size BenchmarkAggregate uses.
	wires := make([][]byte, 72)
	for r := range wires {
		p, err := c.Compress(c.NewState(), randn(rng, n, 1e-3), 0)
		if err != nil {
			b.Fatal(err)
		}
		wires[r], _ = c.Encode(p)
	}
	delta := randn(rng, n, 1e-3)
	st := c.NewState()
	dst := make([]float32, n)
	var comp, agg time.Duration
	for i := 0; b.Loop(); i++ {
		t0 := time.Now()
		p, err := c.Compress(st, delta, uint64(i))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Encode(p); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := c.AggregateEncoded(dst, wires); err != nil {
			b.Fatal(err)
		}
		comp, agg = comp+t1.Sub(t0), agg+time.Since(t1)
	}
	b.ReportMetric(float64(comp.Microseconds())/1e3/float64(b.N), "compress-ms")
	b.ReportMetric(float64(agg.Microseconds())/1e3/float64(b.N), "aggregate-ms")
	b.ReportMetric(agg.Seconds()/comp.Seconds(), "aggregate/compress")
}
