package netmodel

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/locosim/locosim/des"
)

const mbps = 1e6 / 8 // bytes/s in one Mbit/s

func newFabric(t testing.TB, sh Sharing, caps ...float64) (*des.Engine, *Fabric) {
	t.Helper()
	eng := des.New()
	f, err := NewFabric(eng, sh)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range caps {
		if _, err := f.AddLink(c); err != nil {
			t.Fatal(err)
		}
	}
	return eng, f
}

func start(t testing.TB, f *Fabric, spec FlowSpec, end *float64) FlowID {
	t.Helper()
	id, err := f.Start(spec, func(at float64) { *end = at })
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func near(a, b, rel float64) bool {
	return math.Abs(a-b) <= rel*math.Max(math.Abs(a), math.Abs(b))+1e-12
}

func noWindow(s Sharing) Sharing { s.TCPGammaBytes = 0; return s }

func TestSingleFlowClosedForm(t *testing.T) {
	const S, B, L = 5e6, 10 * mbps, 0.04
	for _, sh := range []Sharing{Raw(), CM02()} {
		eng, f := newFabric(t, sh, B, 100*B)
		var end float64
		start(t, f, FlowSpec{Route: []LinkID{0, 1}, Bytes: S, LatencyS: L}, &end)
		eng.Run()
		if want := L + S/B; !near(end, want, 1e-12) {
			t.Errorf("%s: one flow took %.9g s, want L+S/B = %.9g", sh.Model, end, want)
		}
	}
}

func TestEqualFlowsShareOneLink(t *testing.T) {
	const S, B, L = 1e6, 8 * mbps, 0.01
	for _, n := range []int{1, 2, 5, 40} {
		eng, f := newFabric(t, noWindow(CM02()), B)
		ends := make([]float64, n)
		for i := range n {
			start(t, f, FlowSpec{Node: i, Route: []LinkID{0}, Bytes: S, LatencyS: L}, &ends[i])
		}
		eng.Run()
		for i, e := range ends {
			if want := L + float64(n)*S/B; !near(e, want, 1e-12) {
				t.Errorf("n=%d flow %d ended at %.9g, want L+n·S/B = %.9g", n, i, e, want)
			}
		}
	}
	// Raw does not share: every flow takes L+S/B.
	eng, f := newFabric(t, Raw(), B)
	ends := make([]float64, 3)
	for i := range ends {
		start(t, f, FlowSpec{Route: []LinkID{0}, Bytes: S, LatencyS: L}, &ends[i])
	}
	eng.Run()
	for _, e := range ends {
		if !near(e, L+S/B, 1e-12) {
			t.Errorf("raw flow ended at %g, want %g", e, L+S/B)
		}
	}
}

// rates starts long flows with no latency and returns their rates once the
// solver has run.
func rates(t *testing.T, sh Sharing, caps []float64, specs []FlowSpec) []float64 {
	t.Helper()
	eng, f := newFabric(t, sh, caps...)
	ids := make([]FlowID, len(specs))
	var sink float64
	for i, s := range specs {
		if s.Bytes == 0 {
			s.Bytes = 1e18
		}
		ids[i] = start(t, f, s, &sink)
	}
	eng.RunUntil(0)
	out := make([]float64, len(ids))
	for i, id := range ids {
		out[i] = f.Rate(id)
	}
	return out
}

func TestMaxMinTextbook(t *testing.T) {
	r := func(ls ...LinkID) FlowSpec { return FlowSpec{Route: ls} }
	for _, tc := range []struct {
		name  string
		caps  []float64
		flows []FlowSpec
		want  []float64
	}{
		{"shared bottleneck", []float64{10, 4, 100},
			[]FlowSpec{r(0), r(0, 1), r(1, 2)}, []float64{8, 2, 2}},
		// Parking lot: a long flow over 3 unit links, one short flow per link.
		{"parking lot", []float64{1, 1, 1},
			[]FlowSpec{r(0, 1, 2), r(0), r(1), r(2)}, []float64{0.5, 0.5, 0.5, 0.5}},
		// Parking lot with a wider middle link: the long flow is still held
		// to 1/2 by the ends, the middle short flow takes the rest.
		{"parking lot, wide middle", []float64{1, 3, 1},
			[]FlowSpec{r(0, 1, 2), r(0), r(1), r(2)}, []float64{0.5, 0.5, 2.5, 0.5}},
		// Bertsekas & Gallager style: links A=1 (f0,f1,f2), B=2 (f2,f3).
		{"two levels", []float64{1, 2},
			[]FlowSpec{r(0), r(0), r(0, 1), r(1)}, []float64{1. / 3, 1. / 3, 1. / 3, 5. / 3}},
		{"rate cap frees capacity", []float64{9},
			[]FlowSpec{{Route: []LinkID{0}, MaxRate: 1}, r(0), r(0)}, []float64{1, 4, 4}},
	} {
		got := rates(t, noWindow(CM02()), tc.caps, tc.flows)
		for i := range got {
			if !near(got[i], tc.want[i], 1e-12) {
				t.Errorf("%s: rates %v, want %v", tc.name, got, tc.want)
				break
			}
		}
	}
}

func TestWeightsFavourShortRTT(t *testing.T) {
	// CM02 weights are path latencies: rates ∝ 1/latency.
	eng, f := newFabric(t, noWindow(CM02()), 100)
	var sink float64
	a := start(t, f, FlowSpec{Route: []LinkID{0}, LatencyS: 0.01, Bytes: 1e9}, &sink)
	b := start(t, f, FlowSpec{Route: []LinkID{0}, LatencyS: 0.03, Bytes: 1e9}, &sink)
	eng.RunUntil(0.05)
	if ra, rb := f.Rate(a), f.Rate(b); !near(ra, 75, 1e-12) || !near(rb, 25, 1e-12) {
		t.Fatalf("rates %g, %g; want 75, 25", ra, rb)
	}
}

func TestTCPWindowBound(t *testing.T) {
	// 1 GB over a 10 Gbit/s link 50 ms away: the 4 MiB window allows
	// 4194304/0.1 = 41.9 MB/s, far below the link.
	const S, L = 1e9, 0.05
	eng, f := newFabric(t, CM02(), 10000*mbps)
	var end float64
	start(t, f, FlowSpec{Route: []LinkID{0}, Bytes: S, LatencyS: L}, &end)
	eng.Run()
	if want := L + S/(4194304/(2*L)); !near(end, want, 1e-12) {
		t.Fatalf("took %.9g s, want %.9g", end, want)
	}
}

func TestLV08DocumentedExample(t *testing.T) {
	// SimGrid's documentation: 100 kB over one 1 Mbit/s, 10 ms link used in
	// both directions takes 0.01·13.01 + 8e5/(0.97e6/1.05) = 0.996079 s.
	eng, f := newFabric(t, LV08(), 1*mbps)
	var end float64
	start(t, f, FlowSpec{Route: []LinkID{0}, Reverse: []LinkID{0}, Bytes: 100e3, LatencyS: 0.01}, &end)
	eng.Run()
	want := 0.01*13.01 + 8e5/(0.97e6/1.05)
	if !near(end, want, 1e-12) || math.Abs(end-0.996079) > 5e-7 {
		t.Fatalf("LV08 example took %.7f s, want %.7f (documented 0.996079)", end, want)
	}
	// Without the reverse route (separate up and down links) only λ and β act.
	eng, f = newFabric(t, LV08(), 1*mbps, 1*mbps)
	start(t, f, FlowSpec{Route: []LinkID{0}, Reverse: []LinkID{1}, Bytes: 100e3, LatencyS: 0.01}, &end)
	eng.Run()
	if want := 0.1301 + 8e5/0.97e6; !near(end, want, 1e-12) {
		t.Fatalf("LV08 full-duplex took %.7f s, want %.7f", end, want)
	}
}

func TestStaggeredFlows(t *testing.T) {
	// Flow A (8 MB) alone on a 1 MB/s link; B (2 MB) joins at t=2. From
	// then on both get 0.5 MB/s: B ends at 2+4=6 having A at 2+2=4 MB done;
	// A's last 4 MB at 1 MB/s end at 10.
	eng, f := newFabric(t, noWindow(CM02()), 1e6)
	var ea, eb float64
	start(t, f, FlowSpec{Route: []LinkID{0}, Bytes: 8e6}, &ea)
	eng.Schedule(2, des.Node(0), func() { start(t, f, FlowSpec{Route: []LinkID{0}, Bytes: 2e6}, &eb) })
	eng.Run()
	if !near(eb, 6, 1e-12) || !near(ea, 10, 1e-12) {
		t.Fatalf("ends A=%g B=%g, want 10 and 6", ea, eb)
	}
}

func TestAbort(t *testing.T) {
	eng, f := newFabric(t, noWindow(CM02()), 1e6)
	var ea, eb float64
	a := start(t, f, FlowSpec{Route: []LinkID{0}, Bytes: 4e6}, &ea)
	start(t, f, FlowSpec{Route: []LinkID{0}, Bytes: 4e6}, &eb)
	var got float64
	eng.Schedule(2, des.Node(0), func() { got = f.Abort(a) })
	eng.Run()
	if ea != 0 {
		t.Fatal("aborted flow called done")
	}
	if !near(got, 1e6, 1e-12) {
		t.Fatalf("aborted flow had moved %g bytes, want 1e6", got)
	}
	// B: 1 MB by t=2 at half rate, then 3 MB alone: ends at 5.
	if !near(eb, 5, 1e-12) {
		t.Fatalf("B ended at %g, want 5", eb)
	}
	if f.Abort(a) != got || f.Active(a) {
		t.Fatal("second abort changed state")
	}
	if f.ActiveFlows() != 0 {
		t.Fatalf("%d flows still active", f.ActiveFlows())
	}
	// Aborting during the latency phase cancels the join.
	eng, f = newFabric(t, CM02(), 1e6)
	c := start(t, f, FlowSpec{Route: []LinkID{0}, Bytes: 1, LatencyS: 1}, &ea)
	f.Abort(c)
	eng.Run()
	if ea != 0 || eng.Now() != 0 {
		t.Fatalf("flow aborted in latency phase still ran (end %g, now %g)", ea, eng.Now())
	}
}

func TestIncrementalTouchesOnlyComponent(t *testing.T) {
	// Two disjoint groups of 10 flows; adding a flow to one re-solves only it.
	eng, f := newFabric(t, noWindow(CM02()), 1e6, 1e6)
	var sink float64
	for i := range 20 {
		start(t, f, FlowSpec{Route: []LinkID{LinkID(i % 2)}, Bytes: 1e9}, &sink)
	}
	eng.RunUntil(0)
	before := f.Stats()
	eng.Schedule(1, des.Node(0), func() { start(t, f, FlowSpec{Route: []LinkID{0}, Bytes: 1e9}, &sink) })
	eng.RunUntil(1)
	after := f.Stats()
	if n := after.FlowsVisited - before.FlowsVisited; n != 11 {
		t.Fatalf("re-solved %d flows, want the 11 on link 0", n)
	}
	if after.Solves-before.Solves != 1 {
		t.Fatalf("%d solver passes, want 1", after.Solves-before.Solves)
	}
}

// TestMaxMinProperty checks random instances against the definition of
// weighted max-min fairness: rates are feasible, and every flow is either at
// its cap or has a saturated link on which no flow has a larger weighted rate.
func TestMaxMinProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for trial := range 300 {
		nl := 1 + rng.IntN(8)
		caps := make([]float64, nl)
		for i := range caps {
			caps[i] = 1 + 99*rng.Float64()
		}
		nf := 1 + rng.IntN(15)
		specs := make([]FlowSpec, nf)
		w := make([]float64, nf)
		for i := range specs {
			perm := rng.Perm(nl)[:1+rng.IntN(min(nl, 3))]
			for _, l := range perm {
				specs[i].Route = append(specs[i].Route, LinkID(l))
			}
			if rng.IntN(4) == 0 {
				specs[i].MaxRate = 1 + 30*rng.Float64()
			}
			// Weights: latencies, applied without the latency phase by
			// setting the factor below.
			w[i] = 0.001 + 0.1*rng.Float64()
			specs[i].LatencyS = w[i]
		}
		sh := noWindow(CM02())
		eng, f := newFabric(t, sh, caps...)
		f.sh.LatencyFactor = 1e-300 // weights from latency, no latency phase
		ids := make([]FlowID, nf)
		var sink float64
		for i, s := range specs {
			s.Bytes = 1e18
			ids[i] = start(t, f, s, &sink)
		}
		eng.RunUntil(1e-200)
		r := make([]float64, nf)
		for i := range ids {
			r[i] = f.Rate(ids[i])
		}
		load := make([]float64, nl)
		maxw := make([]float64, nl)
		for i, s := range specs {
			for _, l := range s.Route {
				load[l] += r[i]
				maxw[l] = math.Max(maxw[l], r[i]*w[i])
			}
		}
		for l := range load {
			if load[l] > caps[l]*(1+1e-9) {
				t.Fatalf("trial %d: link %d carries %g > capacity %g", trial, l, load[l], caps[l])
			}
		}
		for i, s := range specs {
			if s.MaxRate > 0 && near(r[i], s.MaxRate, 1e-9) {
				continue
			}
			ok := false
			for _, l := range s.Route {
				if near(load[l], caps[l], 1e-9) && r[i]*w[i] >= maxw[l]*(1-1e-9) {
					ok = true
				}
			}
			if !ok {
				t.Fatalf("trial %d: flow %d (rate %g) has no bottleneck", trial, i, r[i])
			}
		}
	}
}

func TestFabricErrors(t *testing.T) {
	eng := des.New()
	if _, err := NewFabric(eng, Sharing{Model: "fluid"}); err == nil {
		t.Error("unknown model accepted")
	}
	if _, err := NewFabric(nil, CM02()); err == nil {
		t.Error("nil engine accepted")
	}
	_, f := newFabric(t, CM02(), 1)
	for _, c := range []float64{0, -1, math.NaN()} {
		if _, err := f.AddLink(c); err == nil {
			t.Errorf("capacity %g accepted", c)
		}
	}
	for _, s := range []FlowSpec{
		{Route: []LinkID{3}, Bytes: 1},
		{Route: []LinkID{0}, Bytes: -1},
		{Route: []LinkID{0}, Bytes: 1, LatencyS: -1},
		{Route: []LinkID{0}, Bytes: math.Inf(1)},
	} {
		if _, err := f.Start(s, nil); err == nil {
			t.Errorf("spec %+v accepted", s)
		}
	}
}

func TestZeroByteFlow(t *testing.T) {
	for _, sh := range []Sharing{Raw(), CM02(), LV08()} {
		eng, f := newFabric(t, sh, 1e6)
		var a, b float64
		start(t, f, FlowSpec{Route: []LinkID{0}, Bytes: 0, LatencyS: 0.01}, &a)
		start(t, f, FlowSpec{Route: []LinkID{0}, Bytes: 0}, &b)
		eng.Run()
		if want := 0.01 * f.Sharing().LatencyFactor; a != want || b != 0 {
			t.Errorf("%s: zero-byte flows ended at %g and %g, want %g and 0", sh.Model, a, b, want)
		}
	}
}

// TestLV08WindowBoundClosedForm moves one 20,000,000-byte transfer between
// two nodes of 1 Gbit/s up and down, 40 ms access latency each (route
// latency 0.08 s), through the Network. The TCP window bound γ/(2L) holds
// the rate before the bandwidth factor (as in SimGrid), so under LV08 the
// flow gets β·γ/(2L), not γ/(2L): 13.01·0.08 + 20e6/(0.97·4194304/0.16) =
// 1.827335 s, where SimGrid 3.32 gives 1.827336 s (and the unscaled bound
// gave 1.803739 s).
func TestLV08WindowBoundClosedForm(t *testing.T) {
	const S, gamma = 20e6, 4194304.0
	for _, tc := range []struct {
		name     string
		sh       Sharing
		accessMs float64
		want     float64 // closed form
		simgrid  float64 // SimGrid 3.32's time, when known
	}{
		// The window binds: 0.97·γ/0.16 = 25.4 MB/s < 0.97·125 MB/s.
		{"lv08, window-bound", LV08(), 40, 13.01*0.08 + S/(0.97*gamma/(2*0.08)), 1.827336},
		// CM02 has no bandwidth factor: γ/(2L) itself.
		{"maxmin, window-bound", CM02(), 40, 0.08 + S/(gamma/(2*0.08)), 0},
		// 2 ms: 0.97·γ/0.004 = 1017 MB/s exceeds the links, which bind.
		{"lv08, link-bound", LV08(), 1, 13.01*0.002 + S/(0.97*1000*BytesPerMbps), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sh := tc.sh
			sh.TCPGammaBytes = gamma
			net := netFor(t, flat(2, 1000, 1000, tc.accessMs, 0, sh))
			if L := net.Cluster().LatencyS(0, 1); L != 2*tc.accessMs/1000 {
				t.Fatalf("route latency %g s, want %g", L, 2*tc.accessMs/1000)
			}
			end := -1.0
			if _, err := net.Transfer(0, 1, S, func(at float64) { end = at }); err != nil {
				t.Fatal(err)
			}
			net.Engine().Run()
			if !near(end, tc.want, 1e-6) {
				t.Errorf("transfer took %.7f s, want %.7f", end, tc.want)
			}
			if tc.simgrid != 0 && !near(end, tc.simgrid, 1e-6) {
				t.Errorf("transfer took %.7f s, SimGrid 3.32 gives %.6f", end, tc.simgrid)
			}
			if alone := net.AloneS(0, 1, S); !near(alone, tc.want, 1e-6) {
				t.Errorf("AloneS says %.7f s, want %.7f", alone, tc.want)
			}
		})
	}
}

// TestLV08WeightUsesNominalBandwidth shares one saturated link between two
// flows of different path latency that also cross access links of their
// own. Each flow's weight is its latency plus S_w/B over the links it
// crosses, B being a link's nominal capacity (before the bandwidth factor,
// as in SimGrid); the shared link's capacity after the factor splits in
// inverse proportion to the weights.
func TestLV08WeightUsesNominalBandwidth(t *testing.T) {
	blend := noWindow(CM02()) // maxmin with LV08's weight term and a stronger factor
	blend.WeightSBytes, blend.BandwidthFactor = 20537, 0.5
	for _, tc := range []struct {
		name  string
		sh    Sharing
		caps  []float64 // nominal bytes/s; link 0 is shared
		route [2][]LinkID
		lat   [2]float64
	}{
		{"lv08, one shared link", LV08(), []float64{1 * mbps},
			[2][]LinkID{{0}, {0}}, [2]float64{0.01, 0.1}},
		{"lv08, own access links", LV08(), []float64{1 * mbps, 10 * mbps, 4 * mbps},
			[2][]LinkID{{1, 0}, {2, 0}}, [2]float64{0.01, 0.1}},
		{"maxmin with S_w and β", blend, []float64{2 * mbps, 3 * mbps, 20 * mbps},
			[2][]LinkID{{1, 0}, {2, 0}}, [2]float64{0.005, 0.05}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eng, f := newFabric(t, tc.sh, tc.caps...)
			var w [2]float64
			var ids [2]FlowID
			var sink float64
			for i := range 2 {
				w[i] = tc.lat[i]
				for _, l := range tc.route[i] {
					w[i] += tc.sh.WeightSBytes / tc.caps[l]
				}
				ids[i] = start(t, f, FlowSpec{Node: i, Route: tc.route[i], Bytes: 1e12, LatencyS: tc.lat[i]}, &sink)
			}
			// After both latency phases, well before either flow ends.
			eng.RunUntil(tc.sh.LatencyFactor*max(tc.lat[0], tc.lat[1]) + 1)
			shared := tc.sh.BandwidthFactor * tc.caps[0]
			for i := range 2 {
				want := shared * (1 / w[i]) / (1/w[0] + 1/w[1])
				if got := f.Rate(ids[i]); !near(got, want, 1e-9) {
					t.Errorf("flow %d (latency %g s, weight %.6f): rate %.6f bytes/s, want %.6f", i, tc.lat[i], w[i], got, want)
				}
			}
		})
	}
}
