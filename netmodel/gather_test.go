package netmodel

import (
	"math"
	"slices"
	"testing"
)

// With start=own a node gathers as soon as its own upload is done: it
// fetches the peers that are ready at once, and a late peer's payload at
// the first poll after it lands; with start=barrier nobody downloads before
// every payload has landed.
func TestGatherStartOwn(t *testing.T) {
	const n = 3
	c := flat(n, 80, 80, 5, 5, plain()) // 10 MB/s; node-store 10 ms
	ready := []float64{0, 0, 10}
	const bytes = 1_000_000
	up := 0.010 + bytes/(80*BytesPerMbps) // an upload: 0.11 s
	for _, tc := range []struct {
		start                 string
		firstDown, lastEndMin float64
	}{
		{GatherBarrier, 10 + up, 10 + up},
		{GatherOwn, up, 10 + up},
	} {
		g := TemplarGather()
		g.Start = tc.start
		res, err := g.Run(netFor(t, c), ExchangeSpec{ReadyS: ready, PayloadBytes: []int64{bytes}})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(res.Aggregate, []int{0, 1, 2}) {
			t.Errorf("%s: aggregate %v", tc.start, res.Aggregate)
		}
		nr := res.Nodes[0]
		if !near(nr.DownloadStartS, tc.firstDown, 1e-9) {
			t.Errorf("%s: node 0 starts downloading at %.9g, want %.9g", tc.start, nr.DownloadStartS, tc.firstDown)
		}
		// Node 2's payload lands at 10.11; with start=own node 0 has been
		// polling for it every 0.5 s since 0.11, so it fetches it at 10.61.
		var fetch2 float64
		for _, a := range res.Activities {
			if a.Node == 0 && a.Kind == Download && a.Peer == c.StoreID() && a.StartS >= 10 {
				fetch2 = a.StartS
			}
		}
		want := 10 + up
		if tc.start == GatherOwn {
			want = up + math.Ceil((10+up-up)/0.5)*0.5
		}
		if !near(fetch2, want, 1e-9) {
			t.Errorf("%s: node 0 fetches node 2's payload at %.9g, want %.9g", tc.start, fetch2, want)
		}
	}

	// A peer that lands after the per-peer timeout is dropped by start=own,
	// and waited for by start=barrier.
	ready[2] = 200
	for _, tc := range []struct {
		start string
		agg   []int
	}{{GatherBarrier, []int{0, 1, 2}}, {GatherOwn, []int{0, 1}}} {
		g := TemplarGather()
		g.Start = tc.start
		res, err := g.Run(netFor(t, c), ExchangeSpec{ReadyS: ready, PayloadBytes: []int64{bytes}})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(res.Received[0], tc.agg) {
			t.Errorf("%s: node 0 holds %v, want %v", tc.start, res.Received[0], tc.agg)
		}
	}
	g := TemplarGather()
	g.Start = "whenever"
	if _, err := g.Run(netFor(t, c), ExchangeSpec{ReadyS: ready, PayloadBytes: []int64{bytes}}); err == nil {
		t.Error("an unknown start was accepted")
	}
}
