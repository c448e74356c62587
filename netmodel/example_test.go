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

// One Templar round on the default 72-node internet: every node computes
// 50 inner steps, uploads a 40 MB payload to the object store, and gathers
// the payloads of 20 peers.
func ExampleRunRound() {
	cluster, err := netmodel.Build(netmodel.DefaultConfig(), 1)
	if err != nil {
		panic(err)
	}
	net, _ := netmodel.NewNetwork(cluster, des.New(), 1)
	res, err := netmodel.RunRound(net, netmodel.RoundSpec{
		Sync:         netmodel.SyncFixed,
		InnerSteps:   50,
		FlopsPerStep: []float64{5e13},
		PayloadBytes: []int64{40_000_000},
		Pattern:      netmodel.TemplarGather(),
	})
	if err != nil {
		panic(err)
	}
	n := res.Nodes[0]
	fmt.Printf("round took %.0f s; %d payloads in the aggregate; %d transfers\n",
		res.EndS-res.StartS, len(res.Aggregate), res.Transfers)
	fmt.Printf("node 0 (%s): computed %.1f s, uploaded %.1f s, gathered %.1f s\n",
		cluster.Nodes[0].Class, n.ComputeEndS-n.ComputeStartS, n.UploadEndS-n.UploadStartS,
		n.DownloadEndS-n.DownloadStartS)
	// Output:
	// round took 209 s; 20 payloads in the aggregate; 1492 transfers
	// node 0 (consumer-gpu): computed 43.3 s, uploaded 15.0 s, gathered 23.0 s
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
		netmodel.Exchange{ReadyS: ready, PayloadBytes: []int64{100_000_000}})
	fmt.Printf("%.4f s (closed form %.4f s)\n", res.EndS, 2*7*(0.020+100e6/(8*125e6)))
	// Output: 1.6800 s (closed form 1.6800 s)
}
