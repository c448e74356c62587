package netmodel

import (
	"math"
	"slices"
	"testing"

	"github.com/locosim/locosim/des"
)

// flat builds n identical nodes at one point in latency space, each with
// the given access latency, so every pair is 2·access apart; the store sits
// at the same point with access latency storeMs.
func flat(n int, upMbps, downMbps, accessMs, storeMs float64, sh Sharing) *Cluster {
	c := &Cluster{Sharing: sh, Store: StoreConfig{AccessLatencyMs: storeMs}}
	for i := range n {
		c.Nodes = append(c.Nodes, Profile{ID: i, Class: "flat", PeakFlops: 1e12, Utilization: 1,
			BwUpMbps: upMbps, BwDownMbps: downMbps, AccessLatencyMs: accessMs})
	}
	return c
}

func netFor(t testing.TB, c *Cluster) *Network {
	t.Helper()
	n, err := NewNetwork(c, des.New(), 1)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func readyAt(n int, t float64) []float64 {
	r := make([]float64, n)
	for i := range r {
		r[i] = t
	}
	return r
}

// computeReady returns when each node finishes flops FLOPs of compute
// started at start, as its speed and slowdowns allow; +Inf for nodes down
// at start (they take no part).
func computeReady(c *Cluster, start, flops float64) []float64 {
	r := make([]float64, c.Len())
	for i := range r {
		if !c.Nodes[i].UpAt(start) {
			r[i] = math.Inf(1)
			continue
		}
		r[i] = c.Nodes[i].ComputeEnd(start, flops)
	}
	return r
}

func plain() Sharing { return noWindow(CM02()) }

func TestRingAllReduceClosedForm(t *testing.T) {
	for _, sh := range []Sharing{Raw(), plain()} {
		for _, p := range []int{2, 3, 8, 24} {
			const accessMs, mb = 10, 100.0
			S := int64(p) * 1_000_000
			net := netFor(t, flat(p, mb, 2*mb, accessMs, 0, sh))
			ring := RingAllReduce{Order: RingByIndex}
			res, err := ring.Run(net, ExchangeSpec{ReadyS: readyAt(p, 0), PayloadBytes: []int64{S}})
			if err != nil {
				t.Fatal(err)
			}
			L := 2 * accessMs / 1000.0
			B := mb * BytesPerMbps
			want := 2 * float64(p-1) * (L + float64(S)/(float64(p)*B))
			if !near(res.EndS, want, 1e-9) {
				t.Errorf("%s p=%d: ring took %.9g s, want 2(p−1)(L+S/(pB)) = %.9g", sh.Model, p, res.EndS, want)
			}
			if res.Transfers != 2*(p-1)*p {
				t.Errorf("p=%d: %d flows, want %d", p, res.Transfers, 2*(p-1)*p)
			}
			for i, got := range res.Received {
				if len(got) != p {
					t.Fatalf("node %d received %v", i, got)
				}
			}
			if len(res.Aggregate) != p {
				t.Errorf("aggregate %v", res.Aggregate)
			}
		}
	}
}

func TestRingBandwidthOrderBeatsBadOrder(t *testing.T) {
	// Two sites 200 ms apart; node 1 (site 2) has a slow uplink. In id
	// order node 1 sends across the ocean: slow link and long hop together.
	// The bandwidth-aware ring lets it send next door instead.
	c := flat(4, 100, 100, 1, 0, plain())
	for i, x := range []float64{0, 200, 0, 200} {
		c.Nodes[i].XMs = x
	}
	c.Nodes[1].BwUpMbps = 8
	S := []int64{400_000}
	byIndex, _ := RingAllReduce{Order: RingByIndex}.Run(netFor(t, c), ExchangeSpec{ReadyS: readyAt(4, 0), PayloadBytes: S})
	byBW, _ := RingAllReduce{Order: RingByBandwidth}.Run(netFor(t, c), ExchangeSpec{ReadyS: readyAt(4, 0), PayloadBytes: S})
	if !(byBW.EndS < 0.8*byIndex.EndS) {
		t.Fatalf("bandwidth-aware ring %.4g s is not clearly faster than id order %.4g s", byBW.EndS, byIndex.EndS)
	}
	ring := BandwidthRing(netFor(t, c), []int{0, 1, 2, 3}, 100_000)
	k := slices.Index(ring, 1)
	if next := ring[(k+1)%4]; next != 3 {
		t.Errorf("ring %v: slow node 1 sends to %d, want its neighbour 3", ring, next)
	}
}

func TestStoreAllGatherTiming(t *testing.T) {
	// Unlimited store, no factors: a node uploads (Ls + S/up) and downloads
	// the payloads of the peers other than itself concurrently on its
	// downlink: Ls + k·S/down.
	const n, S, up, down = 6, 2_000_000, 20.0, 80.0
	c := flat(n, up, down, 5, 5, plain())
	g := TemplarGather()
	g.PeerList = []int{0, 1, 2}
	g.ReserveList = []int{3}
	res, err := g.Run(netFor(t, c), ExchangeSpec{ReadyS: readyAt(n, 1), PayloadBytes: []int64{S}})
	if err != nil {
		t.Fatal(err)
	}
	Ls := 0.010
	upT := Ls + S/(up*BytesPerMbps)
	for i, nr := range res.Nodes {
		k := 3.0
		if i <= 2 {
			k = 2 // its own payload is already here
		}
		want := 1 + upT + Ls + k*S/(down*BytesPerMbps)
		if !near(nr.EndS, want, 1e-9) || !near(nr.UploadEndS, 1+upT, 1e-9) {
			t.Errorf("node %d: upload end %.9g end %.9g, want %.9g and %.9g", i, nr.UploadEndS, nr.EndS, 1+upT, want)
		}
		if !slices.Equal(res.Received[i], []int{0, 1, 2}) {
			t.Errorf("node %d received %v, want [0 1 2]", i, res.Received[i])
		}
		if nr.Status != OK {
			t.Errorf("node %d status %s", i, nr.Status)
		}
		if wantIn := i <= 2; nr.InAggregate != wantIn {
			t.Errorf("node %d InAggregate=%v", i, nr.InAggregate)
		}
	}
	if res.Transfers != n+3*n-3 {
		t.Errorf("%d transfers, want %d", res.Transfers, n+3*n-3)
	}
}

func TestCrashMidUploadDeliversNothing(t *testing.T) {
	const n, S = 5, 4_000_000
	c := flat(n, 8, 100, 5, 5, plain())
	// Node 0's 4 MB upload at 1 MB/s would end at 4.01 s; it fails at 2 s.
	c.Nodes[0].Outages = []Interval{{2, math.Inf(1)}}
	g := TemplarGather()
	g.PeerList, g.ReserveList = []int{0, 1}, []int{2}
	res, err := g.Run(netFor(t, c), ExchangeSpec{ReadyS: readyAt(n, 0), PayloadBytes: []int64{S}})
	if err != nil {
		t.Fatal(err)
	}
	if st := res.Nodes[0].Status; st != Crashed {
		t.Fatalf("node 0 status %s, want crashed", st)
	}
	if res.Nodes[0].BytesUp >= S || res.Nodes[0].BytesUp <= 0 {
		t.Fatalf("node 0 moved %d bytes, want part of its payload", res.Nodes[0].BytesUp)
	}
	for i := 1; i < n; i++ {
		if slices.Contains(res.Received[i], 0) {
			t.Errorf("node %d received the crashed node's payload", i)
		}
		if !slices.Equal(res.Received[i], []int{1, 2}) {
			t.Errorf("node %d received %v, want [1 2] (reserve peer 2 replaces 0)", i, res.Received[i])
		}
		// It waited PeerTimeoutS for node 0 before turning to the reserve.
		if res.Nodes[i].EndS < 4+g.PeerTimeoutS {
			t.Errorf("node %d ended at %g, before the peer timeout", i, res.Nodes[i].EndS)
		}
	}
	if res.Received[0] != nil || res.Nodes[0].InAggregate {
		t.Error("crashed node holds or contributed payloads")
	}
	// Its one transfer, the upload, was cut at the failure: 10 ms of
	// latency, then 1 MB/s until 2 s.
	var ups []Activity
	for _, a := range res.Activities {
		if a.Node == 0 {
			ups = append(ups, a)
		}
	}
	moved := int64((2 - 0.010) * S / 4)
	if len(ups) != 1 || ups[0].Kind != Upload || ups[0].StartS != 0 || ups[0].EndS != 2 ||
		ups[0].Bytes != res.Nodes[0].BytesUp || ups[0].Bytes < moved-1 || ups[0].Bytes > moved+1 {
		t.Errorf("node 0 activities %+v, want one upload over [0, 2] of %d bytes", ups, moved)
	}
	if nr := res.Nodes[0]; nr.EndS != 2 || nr.UploadEndS != 2 || !math.IsNaN(nr.DownloadStartS) {
		t.Errorf("node 0 %+v: want its part to end at the failure, with no download", nr)
	}
}

func TestLateUploadDroppedReserveUsed(t *testing.T) {
	const n, S = 5, 1_000_000
	c := flat(n, 80, 100, 5, 5, plain())
	c.Nodes[1].BwUpMbps = 0.8 // 10 s upload
	g := TemplarGather()
	g.PeerList, g.ReserveList = []int{0, 1}, []int{2, 3}
	res, err := g.Run(netFor(t, c), ExchangeSpec{ReadyS: readyAt(n, 0), PayloadBytes: []int64{S}, DeadlineS: 5})
	if err != nil {
		t.Fatal(err)
	}
	if st := res.Nodes[1].Status; st != Late {
		t.Fatalf("slow node status %s, want late", st)
	}
	for i := range n {
		if !slices.Equal(res.Received[i], []int{0, 2}) {
			t.Errorf("node %d received %v, want [0 2]", i, res.Received[i])
		}
		if res.Nodes[i].DownloadStartS < 5 && i != 1 {
			t.Errorf("node %d started downloading at %g, before the deadline", i, res.Nodes[i].DownloadStartS)
		}
	}
	if res.Nodes[1].InAggregate || !res.Nodes[2].InAggregate || res.Nodes[3].InAggregate {
		t.Errorf("aggregate %v", res.Aggregate)
	}
}

// TestDoublingBandwidthShortensOnlyItsTransfers: with a deadline, gathers
// start together, so a node's links only affect the transfers they carry.
func TestDoublingBandwidthShortensOnlyItsTransfers(t *testing.T) {
	const n, k = 6, 3
	base := flat(n, 10, 40, 5, 5, plain())
	for i := range base.Nodes {
		base.Nodes[i].BwUpMbps = 10 + float64(i)
		base.Nodes[i].BwDownMbps = 40 + 3*float64(i)
	}
	run := func(c *Cluster) *ExchangeResult {
		g := TemplarGather()
		g.PeerList = []int{0, 1, 2, 3, 4, 5}
		res, err := g.Run(netFor(t, c), ExchangeSpec{ReadyS: readyAt(n, 0), PayloadBytes: []int64{1_000_000}, DeadlineS: 30})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	ref := run(base)
	for _, which := range []string{"up", "down"} {
		c := *base
		c.Nodes = slices.Clone(base.Nodes)
		if which == "up" {
			c.Nodes[k].BwUpMbps *= 2
		} else {
			c.Nodes[k].BwDownMbps *= 2
		}
		got := run(&c)
		if len(got.Activities) != len(ref.Activities) {
			t.Fatalf("%s: activity count changed", which)
		}
		changed := 0
		for i, a := range got.Activities {
			b := ref.Activities[i]
			bounded := a.Node == k && ((which == "up" && a.Kind == Upload) || (which == "down" && a.Kind == Download))
			switch {
			case bounded:
				if !(a.EndS-a.StartS < b.EndS-b.StartS) {
					t.Errorf("%s: %+v did not get shorter than %+v", which, a, b)
				}
				changed++
			case a != b:
				t.Errorf("%s: unrelated activity changed: %+v → %+v", which, b, a)
			}
		}
		if changed == 0 {
			t.Errorf("%s: nothing changed", which)
		}
	}
}

func TestP2PAllGather(t *testing.T) {
	const n, S = 4, 1_000_000
	c := flat(n, 8, 80, 5, 5, plain())
	res, err := P2PAllGather(TemplarGather()).Run(netFor(t, c), ExchangeSpec{ReadyS: readyAt(n, 0), PayloadBytes: []int64{S}})
	if err != nil {
		t.Fatal(err)
	}
	// Every node serves 3 peers from its 1 MB/s uplink: 3 s; the receiving
	// downlinks (10 MB/s) are not the bottleneck.
	want := 0.010 + 3*S/(8*BytesPerMbps)
	for i, nr := range res.Nodes {
		if !near(nr.EndS, want, 1e-9) {
			t.Errorf("node %d ended at %.9g, want %.9g", i, nr.EndS, want)
		}
		if len(res.Received[i]) != n || nr.BytesUp != 3*S || nr.BytesDown != 3*S {
			t.Errorf("node %d: received %v, up %d down %d", i, res.Received[i], nr.BytesUp, nr.BytesDown)
		}
	}
	// A peer that fails mid-send is replaced from the reserve at once.
	c.Nodes[0].Outages = []Interval{{1, math.Inf(1)}}
	g := P2PAllGather(TemplarGather())
	g.PeerList, g.ReserveList = []int{0, 1}, []int{2}
	res, err = g.Run(netFor(t, c), ExchangeSpec{ReadyS: readyAt(n, 0), PayloadBytes: []int64{S}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < n; i++ {
		if !slices.Equal(res.Received[i], []int{1, 2}) {
			t.Errorf("node %d received %v, want [1 2]", i, res.Received[i])
		}
		if res.Nodes[i].EndS > 10 {
			t.Errorf("node %d waited for a timeout (%g s) instead of switching at the failure", i, res.Nodes[i].EndS)
		}
	}
}

func TestParameterServerClosedForm(t *testing.T) {
	// n uploads into a store ingress of C: n·S/C; then n downloads from its
	// egress of C: n·S/C again (the nodes' links are much faster).
	const n, S, C = 8, 1_000_000, 40.0
	c := flat(n, 1000, 1000, 0, 5, plain())
	c.Store.BwUpMbps, c.Store.BwDownMbps = C, C
	res, err := ParameterServer{Server: -1}.Run(netFor(t, c), ExchangeSpec{ReadyS: readyAt(n, 0), PayloadBytes: []int64{S}})
	if err != nil {
		t.Fatal(err)
	}
	want := 2 * (0.005 + n*S/(C*BytesPerMbps))
	if !near(res.EndS, want, 1e-9) {
		t.Fatalf("parameter server round took %.9g s, want %.9g", res.EndS, want)
	}
	if len(res.Aggregate) != n {
		t.Fatalf("aggregate %v", res.Aggregate)
	}
	// With a node as server, its own downlink takes the uploads.
	c.Store.BwUpMbps, c.Store.BwDownMbps = 0, 0
	c.Nodes[0].BwDownMbps, c.Nodes[0].BwUpMbps = C, C
	res, err = ParameterServer{Server: 0}.Run(netFor(t, c), ExchangeSpec{ReadyS: readyAt(n, 0), PayloadBytes: []int64{S}})
	if err != nil {
		t.Fatal(err)
	}
	want = 2 * ((n-1)*S/(C*BytesPerMbps) + 0)
	if !near(res.EndS, want, 1e-9) || len(res.Received[0]) != n {
		t.Fatalf("node server: %.9g s (want %.9g), server holds %v", res.EndS, want, res.Received[0])
	}
}

func TestRingCrashRebuilds(t *testing.T) {
	const p = 5
	c := flat(p, 8, 8, 5, 0, plain())
	c.Nodes[2].Outages = []Interval{{1, math.Inf(1)}}
	res, err := RingAllReduce{Order: RingByIndex, RestartS: 3}.Run(netFor(t, c), ExchangeSpec{ReadyS: readyAt(p, 0), PayloadBytes: []int64{5_000_000}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range p {
		if i == 2 {
			continue
		}
		if !slices.Equal(res.Received[i], []int{0, 1, 3, 4}) {
			t.Errorf("node %d received %v", i, res.Received[i])
		}
	}
	// Rebuilt at 4 s as a 4-ring: 6 steps of 10 ms + 1.25 MB/1 MB/s.
	want := 4 + 6*(0.010+1.25)
	if !near(res.EndS, want, 1e-9) {
		t.Errorf("ring ended at %.9g, want %.9g", res.EndS, want)
	}
}

func TestNoDeadlineWaitsForTheSlowest(t *testing.T) {
	// Node 2 needs 200 s to upload, longer than the 90 s peer timeout. With
	// no deadline the gather waits for every payload to settle, so nobody
	// drops it; with a deadline it is late and replaced. (In p2p the slow
	// uplink serves the pulls directly: only the gather timeout bounds them.)
	const n = 4
	for _, p := range []Pattern{TemplarGather()} {
		c := flat(n, 80, 800, 5, 5, plain())
		c.Nodes[2].BwUpMbps = 0.4 // 10 MB in 200 s
		res, err := p.Run(netFor(t, c), ExchangeSpec{ReadyS: readyAt(n, 0), PayloadBytes: []int64{10_000_000}})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(res.Aggregate, []int{0, 1, 2, 3}) {
			t.Errorf("%s: aggregate %v, want every node", p.Name(), res.Aggregate)
		}
		if res.EndS < 200 {
			t.Errorf("%s: round ended at %g s, before the slow payload could arrive", p.Name(), res.EndS)
		}
		res, err = p.Run(netFor(t, c), ExchangeSpec{ReadyS: readyAt(n, 0), PayloadBytes: []int64{10_000_000}, DeadlineS: 30})
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(res.Aggregate, 2) || res.Nodes[2].Status != Late {
			t.Errorf("%s with a deadline: aggregate %v, node 2 %s", p.Name(), res.Aggregate, res.Nodes[2].Status)
		}
	}
}

func TestAloneMatchesATransfer(t *testing.T) {
	for _, sh := range []Sharing{Raw(), CM02(), LV08()} {
		c := flat(3, 40, 400, 7, 3, sh)
		c.Nodes[1].XMs = 80
		for _, tc := range []struct{ src, dst int }{{0, 1}, {1, 2}, {2, 3}, {3, 0}} {
			net := netFor(t, c)
			var end float64
			if _, err := net.Transfer(tc.src, tc.dst, 3e6, func(at float64) { end = at }); err != nil {
				t.Fatal(err)
			}
			net.Engine().Run()
			if want := net.AloneS(tc.src, tc.dst, 3e6); !near(end, want, 1e-9) {
				t.Errorf("%s %d→%d: transfer took %.9g s, AloneS says %.9g", sh.Model, tc.src, tc.dst, end, want)
			}
		}
	}
	net := netFor(t, flat(2, 1, 1, 1, 1, plain()))
	if _, err := net.Transfer(0, 0, 1, func(float64) {}); err == nil {
		t.Error("transfer to itself accepted")
	}
	if _, err := net.Transfer(0, 9, 1, func(float64) {}); err == nil {
		t.Error("transfer to a missing endpoint accepted")
	}
}

func TestGatherTimeoutCutsDownloads(t *testing.T) {
	const n = 3
	c := flat(n, 80, 80, 5, 5, plain())
	c.Nodes[0].BwDownMbps = 0.8 // 2 payloads of 1 MB: 20 s
	g := TemplarGather()
	g.GatherTimeoutS = 5
	res, err := g.Run(netFor(t, c), ExchangeSpec{ReadyS: readyAt(n, 0), PayloadBytes: []int64{1_000_000}})
	if err != nil {
		t.Fatal(err)
	}
	nr := res.Nodes[0]
	gatherStart := 0.010 + 0.1 // upload of 1 MB at 10 MB/s, then the barrier
	if !near(nr.EndS, gatherStart+5, 1e-9) {
		t.Errorf("node 0 ended at %.9g, want the gather timeout at %.9g", nr.EndS, gatherStart+5)
	}
	if !slices.Equal(res.Received[0], []int{0}) || nr.BytesDown <= 0 || nr.BytesDown >= 2_000_000 {
		t.Errorf("node 0 received %v with %d bytes down", res.Received[0], nr.BytesDown)
	}
	if !slices.Equal(res.Aggregate, []int{0}) {
		t.Errorf("aggregate %v, want [0] (node 0 holds only its own)", res.Aggregate)
	}
}

func TestDeadlinesInRingAndParameterServer(t *testing.T) {
	const n = 4
	c := flat(n, 80, 80, 5, 5, plain())
	ready := []float64{0, 0, 0, 50} // node 3 is ready long after the deadline
	res, err := RingAllReduce{Order: RingByIndex}.Run(netFor(t, c), ExchangeSpec{ReadyS: ready, PayloadBytes: []int64{3_000_000}, DeadlineS: 10})
	if err != nil {
		t.Fatal(err)
	}
	if res.Nodes[3].Status != Late || len(res.Received[3]) != 0 {
		t.Errorf("ring: late node %+v received %v", res.Nodes[3], res.Received[3])
	}
	// Three members start at the deadline: 4 steps of 10 ms + 1 MB/10 MB/s.
	if want := 10 + 4*(0.010+0.1); !near(res.Nodes[0].EndS, want, 1e-9) {
		t.Errorf("ring: node 0 ended at %.9g, want %.9g", res.Nodes[0].EndS, want)
	}
	if !slices.Equal(res.Received[0], []int{0, 1, 2}) {
		t.Errorf("ring: node 0 received %v", res.Received[0])
	}

	c.Nodes[2].BwUpMbps = 0.8 // 3 MB upload takes 30 s
	res, err = ParameterServer{Server: -1}.Run(netFor(t, c), ExchangeSpec{ReadyS: ready, PayloadBytes: []int64{3_000_000}, DeadlineS: 10})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []Status{OK, OK, Late, Late} {
		if res.Nodes[i].Status != want {
			t.Errorf("ps: node %d status %s, want %s", i, res.Nodes[i].Status, want)
		}
		if !slices.Equal(res.Received[i], []int{0, 1}) {
			t.Errorf("ps: node %d received %v, want [0 1]", i, res.Received[i])
		}
	}
	if up := res.Nodes[2].BytesUp; up <= 0 || up >= 3_000_000 {
		t.Errorf("ps: the late upload moved %d bytes before it was cut", up)
	}
}

func TestExchangeSpecErrors(t *testing.T) {
	mk := func() *Network { return netFor(t, flat(3, 10, 10, 1, 1, plain())) }
	ok := ExchangeSpec{StartS: 5, ReadyS: readyAt(3, 6), PayloadBytes: []int64{1}}
	badRetry := TemplarGather()
	badRetry.RetryS = 0
	badPeer := TemplarGather()
	badPeer.PeerList = []int{7}
	for name, tc := range map[string]struct {
		p   Pattern
		mut func(*ExchangeSpec)
	}{
		"bad gather retry":      {p: badRetry},
		"bad peer list":         {p: badPeer},
		"bad ring order":        {p: RingAllReduce{Order: "spiral"}},
		"bad ring restart":      {p: RingAllReduce{Order: RingByIndex, RestartS: -1}},
		"bad server":            {p: ParameterServer{Server: 3}},
		"start in the past":     {mut: func(s *ExchangeSpec) { s.StartS, s.ReadyS = -1, readyAt(3, 0) }},
		"start not finite":      {mut: func(s *ExchangeSpec) { s.StartS = math.Inf(1) }},
		"bad ReadyS length":     {mut: func(s *ExchangeSpec) { s.ReadyS = []float64{6, 6} }},
		"bad payload length":    {mut: func(s *ExchangeSpec) { s.PayloadBytes = []int64{1, 2} }},
		"negative payload":      {mut: func(s *ExchangeSpec) { s.PayloadBytes = []int64{-1} }},
		"ready before start":    {mut: func(s *ExchangeSpec) { s.ReadyS = []float64{6, 4, 6} }},
		"ready NaN":             {mut: func(s *ExchangeSpec) { s.ReadyS = []float64{6, math.NaN(), 6} }},
		"deadline before start": {mut: func(s *ExchangeSpec) { s.DeadlineS = 4 }},
		"deadline at start":     {mut: func(s *ExchangeSpec) { s.DeadlineS = 5 }},
		"deadline NaN":          {mut: func(s *ExchangeSpec) { s.DeadlineS = math.NaN() }},
	} {
		s := ok
		if tc.mut != nil {
			tc.mut(&s)
		}
		p := tc.p
		if p == nil {
			p = TemplarGather()
		}
		net := mk()
		if _, err := p.Run(net, s); err == nil {
			t.Errorf("%s: no error", name)
		}
		// A rejected exchange does not advance the clock.
		if now := net.Engine().Now(); now != 0 {
			t.Errorf("%s: the clock moved to %g s", name, now)
		}
	}
	for _, p := range []Pattern{TemplarGather(), P2PAllGather(TemplarGather()), RingAllReduce{Order: RingByIndex}, ParameterServer{Server: -1}} {
		if _, err := p.Run(mk(), ok); err != nil {
			t.Errorf("%s: valid spec: %v", p.Name(), err)
		}
	}
	// The handle checks its pattern, deadline and down flags.
	net := mk()
	if err := net.Engine().RunUntil(2); err != nil {
		t.Fatal(err)
	}
	for name, start := range map[string]func() (*Exchange, error){
		"nil pattern":     func() (*Exchange, error) { return net.Start(nil, 0, 0, nil) },
		"bad pattern":     func() (*Exchange, error) { return net.Start(badRetry, 0, 0, nil) },
		"deadline now":    func() (*Exchange, error) { return net.Start(TemplarGather(), 0, net.Engine().Now(), nil) },
		"deadline past":   func() (*Exchange, error) { return net.Start(TemplarGather(), 0, 1, nil) },
		"deadline NaN":    func() (*Exchange, error) { return net.Start(TemplarGather(), 0, math.NaN(), nil) },
		"short down list": func() (*Exchange, error) { return net.Start(TemplarGather(), 0, 0, []bool{true}) },
	} {
		if x, err := start(); err == nil || x != nil {
			t.Errorf("%s: exchange %v, error %v", name, x, err)
		}
	}
	if _, err := TemplarGather().Run(nil, ok); err == nil {
		t.Error("nil network accepted")
	}
}

// stepUntil steps the engine until every exchange is done.
func stepUntil(t *testing.T, eng *des.Engine, xs ...*Exchange) {
	t.Helper()
	for {
		done := true
		for _, x := range xs {
			done = done && x.Done()
		}
		if done {
			return
		}
		if !eng.Step() {
			t.Fatal("the engine ran dry with exchanges in flight")
		}
	}
}

func TestExchangeHandle(t *testing.T) {
	const S = 1_000_000
	net := netFor(t, flat(3, 80, 80, 5, 5, plain()))
	eng := net.Engine()
	x, err := net.Start(TemplarGather(), 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.Finish(); err == nil {
		t.Error("Finish before Done accepted")
	}
	x.Ready(0, S)
	x.Ready(1, S)
	if _, err := eng.Schedule(3, des.Node(2), func() { x.Ready(2, S) }); err != nil {
		t.Fatal(err)
	}
	stepUntil(t, eng, x)
	res, err := x.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.Finish(); err == nil {
		t.Error("second Finish accepted")
	}
	if !slices.Equal(res.Aggregate, []int{0, 1, 2}) {
		t.Errorf("aggregate %v, want [0 1 2]", res.Aggregate)
	}
	// Uploads take 10 ms + 0.1 s; the gather waits for node 2's (3.11 s),
	// then every node downloads two payloads on its 10 MB/s downlink.
	up := 0.010 + S/(80*BytesPerMbps)
	if nr := res.Nodes[2]; nr.UploadStartS != 3 || !near(nr.UploadEndS, 3+up, 1e-9) {
		t.Errorf("node 2 uploaded over [%g, %g], want from 3 s to %g", nr.UploadStartS, nr.UploadEndS, 3+up)
	}
	if nr := res.Nodes[0]; nr.UploadStartS != 0 || !near(nr.UploadEndS, up, 1e-9) {
		t.Errorf("node 0 uploaded over [%g, %g], want from 0 s to %g", nr.UploadStartS, nr.UploadEndS, up)
	}
	want := 3 + up + 0.010 + 2*S/(80*BytesPerMbps)
	for i, nr := range res.Nodes {
		if nr.Status != OK || !near(nr.EndS, want, 1e-9) || !near(nr.DownloadStartS, 3+up, 1e-9) {
			t.Errorf("node %d: %+v, want ok, downloads from %g, done at %g", i, nr, 3+up, want)
		}
	}
	if res.StartS != 0 || !near(res.EndS, want, 1e-9) {
		t.Errorf("exchange [%g, %g], want [0, %g]", res.StartS, res.EndS, want)
	}
	if n := net.Fabric().ActiveFlows(); n != 0 {
		t.Errorf("%d flows left", n)
	}

	// Crash and Withdraw: node 1 fails before it is ready, node 2 has
	// nothing to contribute. Node 0 and 2 wait the peer timeout for node
	// 1's payload, and hold node 0's.
	x, err = net.Start(TemplarGather(), 1, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	t0 := eng.Now()
	x.Ready(0, S)
	if !x.Crash(1) {
		t.Error("crash of a busy node did not cut it short")
	}
	if x.Crash(1) || x.Alive(1) {
		t.Error("a crashed node crashed again or is alive")
	}
	x.Withdraw(2)
	x.Ready(2, 0)
	x.Ready(1, S) // a crashed node's Ready is ignored
	stepUntil(t, eng, x)
	res, err = x.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if st := []Status{res.Nodes[0].Status, res.Nodes[1].Status, res.Nodes[2].Status}; !slices.Equal(st, []Status{OK, Crashed, Late}) {
		t.Errorf("statuses %v, want [ok crashed late]", st)
	}
	if !slices.Equal(res.Aggregate, []int{0}) || res.Received[1] != nil || !slices.Equal(res.Received[2], []int{0}) {
		t.Errorf("aggregate %v, received %v", res.Aggregate, res.Received)
	}
	if res.EndS < t0+TemplarGather().PeerTimeoutS {
		t.Errorf("ended at %g, before the peer timeout for the crashed node", res.EndS)
	}
	if x.Crash(0) {
		t.Error("crash after Finish cut something")
	}

	// Misuse stops the exchange with an error.
	for name, misuse := range map[string]func(x *Exchange){
		"ready twice":          func(x *Exchange) { x.Ready(0, S); x.Ready(0, S) },
		"withdraw after ready": func(x *Exchange) { x.Ready(0, S); x.Withdraw(0) },
		"negative payload":     func(x *Exchange) { x.Ready(0, -1) },
		"node out of range":    func(x *Exchange) { x.Ready(3, S) },
		"negative fetch":       func(x *Exchange) { x.Fetch(0, -1, nil) },
	} {
		x, err := net.Start(TemplarGather(), 2, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		misuse(x)
		if !x.Done() || x.Err() == nil {
			t.Errorf("%s: done %v, error %v", name, x.Done(), x.Err())
		}
		if _, err := x.Finish(); err == nil {
			t.Errorf("%s: Finish reported no error", name)
		}
		// Its upload, if it had started, does not outlive it.
		if f := net.Fabric().ActiveFlows(); f != 0 {
			t.Errorf("%s: %d flows left", name, f)
		}
	}
}

// TestTwoExchangesShareALink runs two parameter-server exchanges in the
// store at once on one network: every node's uplink carries two uploads and
// its downlink two results, so each phase takes twice as long as alone.
func TestTwoExchangesShareALink(t *testing.T) {
	const n, S, up, down = 4, 2_000_000, 16.0, 40.0
	c := flat(n, up, down, 5, 5, plain())
	L := 0.010
	alone, err := ParameterServer{Server: -1}.Run(netFor(t, c), ExchangeSpec{ReadyS: readyAt(n, 0), PayloadBytes: []int64{S}})
	if err != nil {
		t.Fatal(err)
	}
	upT, downT := S/(up*BytesPerMbps), S/(down*BytesPerMbps)
	if want := 2*L + upT + downT; !near(alone.EndS, want, 1e-9) {
		t.Fatalf("alone: %.9g s, want %.9g", alone.EndS, want)
	}
	net := netFor(t, c)
	var xs []*Exchange
	for round := range 2 {
		x, err := net.Start(ParameterServer{Server: -1}, round, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		xs = append(xs, x)
	}
	for i := range n {
		for _, x := range xs {
			x.Ready(i, S)
		}
	}
	stepUntil(t, net.Engine(), xs...)
	for k, x := range xs {
		res, err := x.Finish()
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Aggregate) != n {
			t.Errorf("exchange %d: aggregate %v", k, res.Aggregate)
		}
		for i, nr := range res.Nodes {
			if !near(nr.UploadEndS-nr.UploadStartS, L+2*upT, 1e-9) || !near(nr.DownloadEndS-nr.DownloadStartS, L+2*downT, 1e-9) {
				t.Errorf("exchange %d node %d: upload %.9g s, download %.9g s; want %.9g and %.9g (alone %.9g and %.9g)",
					k, i, nr.UploadEndS-nr.UploadStartS, nr.DownloadEndS-nr.DownloadStartS, L+2*upT, L+2*downT,
					alone.Nodes[i].UploadEndS-alone.Nodes[i].UploadStartS, alone.Nodes[i].DownloadEndS-alone.Nodes[i].DownloadStartS)
			}
		}
		if want := 2*L + 2*upT + 2*downT; !near(res.EndS, want, 1e-9) {
			t.Errorf("exchange %d ended at %.9g, want %.9g", k, res.EndS, want)
		}
	}
	if f := net.Fabric().ActiveFlows(); f != 0 {
		t.Errorf("%d flows left", f)
	}
}

// TestRingNobodyReadyAtTheDeadline: the ring launches empty at the
// deadline; a node that crashes afterwards, still computing, has no ring to
// tear down, and the latecomers get nothing.
func TestRingNobodyReadyAtTheDeadline(t *testing.T) {
	c := flat(3, 80, 80, 5, 5, plain())
	c.Nodes[1].Outages = []Interval{{15, math.Inf(1)}}
	res, err := RingAllReduce{Order: RingByIndex, RestartS: 1}.Run(netFor(t, c),
		ExchangeSpec{ReadyS: readyAt(3, 20), PayloadBytes: []int64{1_000_000}, DeadlineS: 10})
	if err != nil {
		t.Fatal(err)
	}
	if st := []Status{res.Nodes[0].Status, res.Nodes[1].Status, res.Nodes[2].Status}; !slices.Equal(st, []Status{Late, Crashed, Late}) {
		t.Errorf("statuses %v, want [late crashed late]", st)
	}
	if len(res.Aggregate) != 0 || res.EndS != 20 || res.Transfers != 0 {
		t.Errorf("aggregate %v, end %g, %d transfers", res.Aggregate, res.EndS, res.Transfers)
	}
}
