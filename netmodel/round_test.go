package netmodel

import (
	"math"
	"slices"
	"testing"

	"github.com/locosim/locosim/des"
	"github.com/locosim/locosim/record"
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

func plain() Sharing { return noWindow(CM02()) }

func TestRingAllReduceClosedForm(t *testing.T) {
	for _, sh := range []Sharing{Raw(), plain()} {
		for _, p := range []int{2, 3, 8, 24} {
			const accessMs, mb = 10, 100.0
			S := int64(p) * 1_000_000
			net := netFor(t, flat(p, mb, 2*mb, accessMs, 0, sh))
			ring := RingAllReduce{Order: RingByIndex}
			res, err := ring.Run(net, Exchange{ReadyS: readyAt(p, 0), PayloadBytes: []int64{S}})
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
	byIndex, _ := RingAllReduce{Order: RingByIndex}.Run(netFor(t, c), Exchange{ReadyS: readyAt(4, 0), PayloadBytes: S})
	byBW, _ := RingAllReduce{Order: RingByBandwidth}.Run(netFor(t, c), Exchange{ReadyS: readyAt(4, 0), PayloadBytes: S})
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
	res, err := g.Run(netFor(t, c), Exchange{ReadyS: readyAt(n, 1), PayloadBytes: []int64{S}})
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
		if nr.Status != record.StatusOK {
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
	res, err := g.Run(netFor(t, c), Exchange{ReadyS: readyAt(n, 0), PayloadBytes: []int64{S}})
	if err != nil {
		t.Fatal(err)
	}
	if st := res.Nodes[0].Status; st != record.StatusCrashed {
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
	var fails int
	for _, a := range res.Activities {
		if a.Node == 0 && a.Kind == record.KindFail && a.StartS == 2 {
			fails++
		}
	}
	if fails != 1 {
		t.Errorf("%d fail activities for node 0 at 2 s, want 1", fails)
	}
}

func TestLateUploadDroppedReserveUsed(t *testing.T) {
	const n, S = 5, 1_000_000
	c := flat(n, 80, 100, 5, 5, plain())
	c.Nodes[1].BwUpMbps = 0.8 // 10 s upload
	g := TemplarGather()
	g.PeerList, g.ReserveList = []int{0, 1}, []int{2, 3}
	res, err := g.Run(netFor(t, c), Exchange{ReadyS: readyAt(n, 0), PayloadBytes: []int64{S}, DeadlineS: 5})
	if err != nil {
		t.Fatal(err)
	}
	if st := res.Nodes[1].Status; st != record.StatusLate {
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
	run := func(c *Cluster) *RoundResult {
		g := TemplarGather()
		g.PeerList = []int{0, 1, 2, 3, 4, 5}
		res, err := g.Run(netFor(t, c), Exchange{ReadyS: readyAt(n, 0), PayloadBytes: []int64{1_000_000}, DeadlineS: 30})
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
			bounded := a.Node == k && ((which == "up" && a.Kind == record.KindUpload) || (which == "down" && a.Kind == record.KindDownload))
			switch {
			case bounded:
				if !(a.EndS-a.StartS < b.EndS-b.StartS) {
					t.Errorf("%s: %+v did not get shorter than %+v", which, a, b)
				}
				changed++
			case a.Kind == record.KindWait:
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
	res, err := P2PAllGather(TemplarGather()).Run(netFor(t, c), Exchange{ReadyS: readyAt(n, 0), PayloadBytes: []int64{S}})
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
	res, err = g.Run(netFor(t, c), Exchange{ReadyS: readyAt(n, 0), PayloadBytes: []int64{S}})
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
	res, err := ParameterServer{Server: -1}.Run(netFor(t, c), Exchange{ReadyS: readyAt(n, 0), PayloadBytes: []int64{S}})
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
	res, err = ParameterServer{Server: 0}.Run(netFor(t, c), Exchange{ReadyS: readyAt(n, 0), PayloadBytes: []int64{S}})
	if err != nil {
		t.Fatal(err)
	}
	want = 2 * ((n-1)*S/(C*BytesPerMbps) + 0)
	if !near(res.EndS, want, 1e-9) || len(res.Received[0]) != n {
		t.Fatalf("node server: %.9g s (want %.9g), server holds %v", res.EndS, want, res.Received[0])
	}
}

func TestRunRoundComputeAndSync(t *testing.T) {
	const n = 4
	c := flat(n, 100, 100, 5, 5, plain())
	// 1 TFLOP/s nodes; node 2 runs at half speed from t=0 to t=3.
	c.Nodes[2].Slowdowns = []Slowdown{{Interval{0, 3}, 2}}
	spec := RoundSpec{StartS: 0, Sync: SyncFixed, InnerSteps: 4, FlopsPerStep: []float64{1e12},
		PayloadBytes: []int64{1000}, Pattern: TemplarGather()}
	res, err := RunRound(netFor(t, c), spec)
	if err != nil {
		t.Fatal(err)
	}
	if res.Nodes[0].ComputeEndS != 4 {
		t.Errorf("node 0 computed until %g, want 4", res.Nodes[0].ComputeEndS)
	}
	// Node 2: 1.5 steps by t=3 at half speed, then 2.5 s: ends at 5.5.
	if !near(res.Nodes[2].ComputeEndS, 5.5, 1e-12) {
		t.Errorf("slowed node computed until %g, want 5.5", res.Nodes[2].ComputeEndS)
	}
	// Window: 3.2 s fits 3 steps; the slowed node does one (2 s) and is
	// half-way through its second (done at 3.5 s) when the window closes.
	spec.Sync, spec.WindowS, spec.InnerSteps = SyncWindow, 3.2, 0
	res, err = RunRound(netFor(t, c), spec)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{3, 3, 1, 3} {
		if res.Nodes[i].Steps != want {
			t.Errorf("window: node %d did %d steps, want %d", i, res.Nodes[i].Steps, want)
		}
		if res.Nodes[i].UploadStartS != 3.2 {
			t.Errorf("window: node %d uploaded at %g, want at the window's end", i, res.Nodes[i].UploadStartS)
		}
	}
	// Deadline: node 2's payload (ready at 5.5) misses a 5 s deadline.
	spec.Sync, spec.WindowS, spec.InnerSteps, spec.DeadlineS = SyncDeadline, 0, 4, 5
	res, err = RunRound(netFor(t, c), spec)
	if err != nil {
		t.Fatal(err)
	}
	if res.Nodes[2].Status != record.StatusLate || res.Nodes[2].InAggregate {
		t.Errorf("deadline: node 2 %+v", res.Nodes[2])
	}
	if !res.Nodes[0].InAggregate {
		t.Error("deadline: node 0 missing from the aggregate")
	}
	// Wait time fills the gaps: node 0 waits from its upload to the deadline.
	if w := res.Nodes[0].WaitS; !(w > 0.9 && w < 1.1+res.EndS-5) {
		t.Errorf("node 0 waited %g s", w)
	}
}

func TestRunRoundCatchUpAndFailures(t *testing.T) {
	const n = 4
	c := flat(n, 100, 80, 5, 5, plain())
	c.Nodes[1].Outages = []Interval{{0, 50}}          // down at the start
	c.Nodes[3].Outages = []Interval{{2, math.Inf(1)}} // fails while computing
	spec := RoundSpec{StartS: 0, Sync: SyncFixed, InnerSteps: 4, FlopsPerStep: []float64{1e12},
		PayloadBytes: []int64{1000}, CatchUpBytes: []int64{10_000_000, 0, 0, 0}, Pattern: TemplarGather()}
	res, err := RunRound(netFor(t, c), spec)
	if err != nil {
		t.Fatal(err)
	}
	catch := 0.010 + 10e6/(80*BytesPerMbps)
	if !near(res.Nodes[0].ComputeStartS, catch, 1e-9) || res.Nodes[0].Status != record.StatusRejoined {
		t.Errorf("rejoining node: compute from %g (want %g), status %s", res.Nodes[0].ComputeStartS, catch, res.Nodes[0].Status)
	}
	if res.Nodes[1].Status != record.StatusDown || res.Received[1] != nil {
		t.Errorf("down node: %+v", res.Nodes[1])
	}
	if res.Nodes[3].Status != record.StatusCrashed || res.Nodes[3].ComputeEndS != 2 {
		t.Errorf("crashed node: %+v", res.Nodes[3])
	}
	if !slices.Equal(res.Aggregate, []int{0, 2}) {
		t.Errorf("aggregate %v, want [0 2]", res.Aggregate)
	}
	for i, got := range res.Received {
		if !slices.IsSorted(got) {
			t.Errorf("node %d received %v, not sorted", i, got)
		}
	}
	kinds := map[string]bool{}
	for _, a := range res.Activities {
		kinds[a.Kind] = true
		if a.EndS < a.StartS || a.StartS < 0 || a.EndS > res.EndS+1e-9 {
			t.Errorf("activity out of the round: %+v (round ends %g)", a, res.EndS)
		}
	}
	for _, k := range record.Kinds {
		if !kinds[k] {
			t.Errorf("no %s activity", k)
		}
	}
}

func TestRingCrashRebuilds(t *testing.T) {
	const p = 5
	c := flat(p, 8, 8, 5, 0, plain())
	c.Nodes[2].Outages = []Interval{{1, math.Inf(1)}}
	res, err := RingAllReduce{Order: RingByIndex, RestartS: 3}.Run(netFor(t, c), Exchange{ReadyS: readyAt(p, 0), PayloadBytes: []int64{5_000_000}})
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

func TestRoundSpecErrors(t *testing.T) {
	net := netFor(t, flat(3, 10, 10, 1, 1, plain()))
	ok := RoundSpec{StartS: 0, Sync: SyncFixed, InnerSteps: 1, FlopsPerStep: []float64{1}, PayloadBytes: []int64{1}, Pattern: TemplarGather()}
	for name, mut := range map[string]func(*RoundSpec){
		"unknown sync":         func(s *RoundSpec) { s.Sync = "eventually" },
		"deadline mode, no dl": func(s *RoundSpec) { s.Sync = SyncDeadline },
		"deadline before start": func(s *RoundSpec) {
			s.Sync, s.WindowS, s.DeadlineS = SyncWindow, 1, -2
		},
		"deadline inside window": func(s *RoundSpec) { s.Sync, s.WindowS, s.DeadlineS = SyncWindow, 10, 5 },
		"fixed with deadline":    func(s *RoundSpec) { s.DeadlineS = 3 },
		"no steps":               func(s *RoundSpec) { s.InnerSteps = 0 },
		"bad lengths":            func(s *RoundSpec) { s.PayloadBytes = []int64{1, 2} },
		"negative payload":       func(s *RoundSpec) { s.PayloadBytes = []int64{-1} },
		"negative flops":         func(s *RoundSpec) { s.FlopsPerStep = []float64{-1} },
		"nil pattern":            func(s *RoundSpec) { s.Pattern = nil },
		"bad gather":             func(s *RoundSpec) { g := TemplarGather(); g.RetryS = 0; s.Pattern = g },
		"bad peer":               func(s *RoundSpec) { g := TemplarGather(); g.PeerList = []int{7}; s.Pattern = g },
		"bad ring":               func(s *RoundSpec) { s.Pattern = RingAllReduce{Order: "spiral"} },
		"bad server":             func(s *RoundSpec) { s.Pattern = ParameterServer{Server: 3} },
		"start in the past":      func(s *RoundSpec) { s.StartS = -1 },
	} {
		s := ok
		mut(&s)
		if _, err := RunRound(net, s); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := RunRound(net, ok); err != nil {
		t.Fatalf("valid spec: %v", err)
	}
	if _, err := (RingAllReduce{Order: RingByIndex}).Run(net, Exchange{StartS: 5, ReadyS: []float64{6, 4, 6}, PayloadBytes: []int64{1}}); err == nil {
		t.Error("ready before the round start accepted")
	}
	if _, err := (RingAllReduce{Order: RingByIndex}).Run(net, Exchange{StartS: 5, ReadyS: readyAt(3, 6), PayloadBytes: []int64{1}, DeadlineS: 4}); err == nil {
		t.Error("deadline before the round start accepted")
	}
}

func TestRunRoundMaxStepsAndPayloadCallback(t *testing.T) {
	const n = 3
	c := flat(n, 100, 100, 5, 5, plain())
	sizes := []int64{1000, 2000, 3000}
	var calls []int
	spec := RoundSpec{Sync: SyncWindow, WindowS: 10, MaxSteps: 4, FlopsPerStep: []float64{1e12},
		PayloadBytes: []int64{0}, Pattern: TemplarGather(),
		Payload: func(i, steps int) (int64, error) {
			calls = append(calls, i)
			if steps != 4 {
				t.Errorf("node %d: payload asked for %d steps, want 4", i, steps)
			}
			return sizes[i], nil
		}}
	res, err := RunRound(netFor(t, c), spec)
	if err != nil {
		t.Fatal(err)
	}
	for i, nr := range res.Nodes {
		if nr.Steps != 4 || nr.BytesUp != sizes[i] {
			t.Errorf("node %d: %d steps, %d bytes up; want 4 and %d", i, nr.Steps, nr.BytesUp, sizes[i])
		}
	}
	if !slices.Equal(calls, []int{0, 1, 2}) {
		t.Errorf("payload callback calls %v", calls)
	}
	spec.Payload = func(int, int) (int64, error) { return -1, nil }
	if _, err := RunRound(netFor(t, c), spec); err == nil {
		t.Error("negative payload from the callback accepted")
	}
	spec.MaxSteps = -1
	if _, err := RunRound(netFor(t, c), spec); err == nil {
		t.Error("negative MaxSteps accepted")
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
		res, err := p.Run(netFor(t, c), Exchange{ReadyS: readyAt(n, 0), PayloadBytes: []int64{10_000_000}})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(res.Aggregate, []int{0, 1, 2, 3}) {
			t.Errorf("%s: aggregate %v, want every node", p.Name(), res.Aggregate)
		}
		if res.EndS < 200 {
			t.Errorf("%s: round ended at %g s, before the slow payload could arrive", p.Name(), res.EndS)
		}
		res, err = p.Run(netFor(t, c), Exchange{ReadyS: readyAt(n, 0), PayloadBytes: []int64{10_000_000}, DeadlineS: 30})
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(res.Aggregate, 2) || res.Nodes[2].Status != record.StatusLate {
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
	res, err := g.Run(netFor(t, c), Exchange{ReadyS: readyAt(n, 0), PayloadBytes: []int64{1_000_000}})
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
	res, err := RingAllReduce{Order: RingByIndex}.Run(netFor(t, c), Exchange{ReadyS: ready, PayloadBytes: []int64{3_000_000}, DeadlineS: 10})
	if err != nil {
		t.Fatal(err)
	}
	if res.Nodes[3].Status != record.StatusLate || len(res.Received[3]) != 0 {
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
	res, err = ParameterServer{Server: -1}.Run(netFor(t, c), Exchange{ReadyS: ready, PayloadBytes: []int64{3_000_000}, DeadlineS: 10})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{record.StatusOK, record.StatusOK, record.StatusLate, record.StatusLate} {
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
