package netmodel_test

import (
	"fmt"

	"github.com/locosim/locosim/des"
	"github.com/locosim/locosim/netmodel"
)

// SimGrid's documented LV08 example: 100 kB over one 1 Mbit/s, 10 ms link
// shared by the data and its acknowledgements.
func ExampleFabric() {
	eng := des.New()
	fab, _ := netmodel.NewFabric(eng, netmodel.LV08())
	link, _ := fab.AddLink(1e6 / 8) // bytes/s
	fab.Start(netmodel.FlowSpec{
		Route: []netmodel.LinkID{link}, Reverse: []netmodel.LinkID{link},
		Bytes: 100e3, LatencyS: 0.010,
	}, func(end float64) { fmt.Printf("done at %.6f s\n", end) })
	eng.Run()
	// Output: done at 0.996079 s
}

// Drive one exchange step by step, as a simulator does: start it, hand it
// each node's payload when the node is ready (here nodes 0 and 1 at once,
// node 2 when its compute ends at 3 s), and step the engine until it is
// done. Templar's gather waits for every payload, then each node downloads
// the two it lacks.
func ExampleNetwork_Start() {
	cluster := &netmodel.Cluster{Sharing: netmodel.CM02()}
	for i := range 3 {
		cluster.Nodes = append(cluster.Nodes, netmodel.Profile{ID: i, PeakFlops: 1e14, Utilization: 0.5,
			BwUpMbps: 80, BwDownMbps: 80, AccessLatencyMs: 5})
	}
	eng := des.New()
	net, _ := netmodel.NewNetwork(cluster, eng, 1)
	x, err := net.Start(netmodel.TemplarGather(), 0, 0, nil) // round 0, no deadline, nobody down
	if err != nil {
		panic(err)
	}
	x.Ready(0, 1_000_000)
	x.Ready(1, 1_000_000)
	eng.Schedule(3, des.Node(2), func() { x.Ready(2, 1_000_000) })
	for !x.Done() && eng.Step() {
	}
	res, err := x.Finish()
	if err != nil {
		panic(err)
	}
	fmt.Printf("aggregate %v at %.3f s; node 2 uploaded from %.3f s\n", res.Aggregate, res.EndS, res.Nodes[2].UploadStartS)
	// Output: aggregate [0 1 2] at 3.310 s; node 2 uploaded from 3.000 s
}

// A ring all-reduce of 100 MB over eight identical nodes 20 ms apart
// matches 2(p−1)·(L + S/(p·B)).
func ExampleRingAllReduce() {
	cfg := netmodel.DefaultConfig()
	cfg.Nodes = 8
	cfg.Classes = []netmodel.ClassConfig{{Name: "gpu", Share: 1, PeakTflops: 100, Utilization: 0.5,
		BwUpMbps: 1000, BwDownMbps: 1000, AccessLatencyMs: 10}}
	cfg.Latency.SpanMs = 0
	cfg.Sharing = netmodel.SharingConfig{Model: netmodel.ModelRaw}
	cluster, _ := netmodel.Build(cfg, 1)
	net, _ := netmodel.NewNetwork(cluster, des.New(), 1)
	ready := make([]float64, 8)
	res, _ := netmodel.RingAllReduce{Order: netmodel.RingByBandwidth}.Run(net,
		netmodel.ExchangeSpec{ReadyS: ready, PayloadBytes: []int64{100_000_000}})
	fmt.Printf("%.4f s (closed form %.4f s)\n", res.EndS, 2*7*(0.020+100e6/(8*125e6)))
	// Output: 1.6800 s (closed form 1.6800 s)
}
