package netmodel

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/locosim/locosim/des"
)

// BenchmarkAllGather times one Templar round (G = 20 through the object
// store) on the default heterogeneous internet, reporting the cost per flow.
func BenchmarkAllGather(b *testing.B) {
	for _, n := range []int{72, 1000, 10000} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.Nodes = n
			c, err := Build(cfg, 1)
			if err != nil {
				b.Fatal(err)
			}
			ready := make([]float64, n)
			for i := range ready {
				ready[i] = float64(i%7) * 0.25 // staggered finish of compute
			}
			g := TemplarGather()
			flows := 0
			b.ResetTimer()
			start, cpu0 := time.Now(), cpuTime()
			for range b.N {
				net, err := NewNetwork(c, des.New(), 1)
				if err != nil {
					b.Fatal(err)
				}
				res, err := g.Run(net, ExchangeSpec{ReadyS: ready, PayloadBytes: []int64{50_000_000}})
				if err != nil {
					b.Fatal(err)
				}
				flows += res.Transfers
			}
			el, cpu := time.Since(start), cpuTime()-cpu0
			b.ReportMetric(float64(el.Nanoseconds())/float64(flows), "ns/flow")
			// The machine is shared: CPU time is steadier than wall time.
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(flows), "cpu-ns/flow")
			b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/round")
			b.ReportMetric(float64(flows)/float64(b.N), "flows/round")
		})
	}
}

// BenchmarkSharedStore is BenchmarkAllGather at 1,000 nodes through a store
// with finite links: 100 Gbit/s is a bottleneck that couples every transfer
// (each change re-solves them all); 3 Tbit/s has spare capacity, so changes
// stay local.
func BenchmarkSharedStore(b *testing.B) {
	for _, gbps := range []float64{100, 3000} {
		b.Run(fmt.Sprintf("gbps=%g", gbps), func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.Nodes = 1000
			cfg.Store.BwUpMbps, cfg.Store.BwDownMbps = gbps*1000, gbps*1000
			c, err := Build(cfg, 1)
			if err != nil {
				b.Fatal(err)
			}
			ready := make([]float64, cfg.Nodes)
			flows := 0
			start, cpu0 := time.Now(), cpuTime()
			for range b.N {
				net, _ := NewNetwork(c, des.New(), 1)
				res, err := TemplarGather().Run(net, ExchangeSpec{ReadyS: ready, PayloadBytes: []int64{50_000_000}})
				if err != nil {
					b.Fatal(err)
				}
				flows += res.Transfers
			}
			b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(flows), "ns/flow")
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(flows), "cpu-ns/flow")
		})
	}
}

// BenchmarkPatterns times one round of each pattern on the default 72
// nodes (LV08 sharing, so cross-traffic couples most flows).
func BenchmarkPatterns(b *testing.B) {
	c, err := Build(DefaultConfig(), 1)
	if err != nil {
		b.Fatal(err)
	}
	ready := make([]float64, c.Len())
	g := TemplarGather()
	for _, p := range []struct {
		p     Pattern
		bytes int64
	}{
		{g, 50_000_000},
		{P2PAllGather(g), 50_000_000},
		{RingAllReduce{Order: RingByBandwidth}, 200_000_000},
		{ParameterServer{Server: -1}, 200_000_000},
	} {
		b.Run(p.p.Name(), func(b *testing.B) {
			flows := 0
			start, cpu0 := time.Now(), cpuTime()
			for range b.N {
				net, _ := NewNetwork(c, des.New(), 1)
				res, err := p.p.Run(net, ExchangeSpec{ReadyS: ready, PayloadBytes: []int64{p.bytes}})
				if err != nil {
					b.Fatal(err)
				}
				flows += res.Transfers
			}
			b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(flows), "ns/flow")
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(flows), "cpu-ns/flow")
			b.ReportMetric(float64(flows)/float64(b.N), "flows/round")
		})
	}
}

// cpuTime is the CPU time (user + system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
