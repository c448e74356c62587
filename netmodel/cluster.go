package netmodel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"sort"

	"gonum.org/v1/gonum/stat/distuv"
)

// Interval is a span of simulated time [StartS, EndS); EndS may be +Inf.
type Interval struct {
	StartS float64
	EndS   float64
}

// Slowdown makes compute Factor times slower during an interval.
type Slowdown struct {
	Interval
	Factor float64
}

// Profile is one node as built: its compute, links, place in latency space
// and its outages and slowdowns over time.
type Profile struct {
	ID              int
	Class           string
	PeakFlops       float64 // FLOP/s
	Utilization     float64 // achieved fraction of peak
	BwUpMbps        float64
	BwDownMbps      float64
	AccessLatencyMs float64
	XMs, YMs        float64
	// Outages are sorted, disjoint spans when the node is down.
	Outages []Interval
	// Slowdowns may overlap; their factors multiply.
	Slowdowns []Slowdown
}

// Flops is the node's sustained rate: peak times utilisation, FLOP/s.
func (p *Profile) Flops() float64 { return p.PeakFlops * p.Utilization }

// UpAt reports whether the node is available at time t.
func (p *Profile) UpAt(t float64) bool {
	_, in := p.outageAt(t)
	return !in
}

// outageAt returns the index of the first outage ending after t and whether
// t lies inside it.
func (p *Profile) outageAt(t float64) (int, bool) {
	i := sort.Search(len(p.Outages), func(i int) bool { return p.Outages[i].EndS > t })
	return i, i < len(p.Outages) && p.Outages[i].StartS <= t
}

// NextFailure returns the first time ≥ t at which the node goes down, +Inf if
// never; t itself if it is down at t.
func (p *Profile) NextFailure(t float64) float64 {
	i, in := p.outageAt(t)
	if in {
		return t
	}
	if i < len(p.Outages) {
		return p.Outages[i].StartS
	}
	return math.Inf(1)
}

// NextUp returns the first time ≥ t at which the node is available (+Inf if
// it never comes back).
func (p *Profile) NextUp(t float64) float64 {
	if i, in := p.outageAt(t); in {
		return p.Outages[i].EndS
	}
	return t
}

// slowAt returns the slowdown factor in force at t and the next time ≥ t at
// which it may change.
func (p *Profile) slowAt(t float64) (factor, until float64) {
	factor, until = 1, math.Inf(1)
	for _, s := range p.Slowdowns {
		switch {
		case s.StartS > t:
			until = math.Min(until, s.StartS)
		case s.EndS > t:
			factor *= s.Factor
			until = math.Min(until, s.EndS)
		}
	}
	return factor, until
}

// ComputeEnd returns when a job of flops FLOPs started at start finishes,
// following the node's slowdowns (outages are not considered here).
func (p *Profile) ComputeEnd(start, flops float64) float64 {
	t, left := start, flops
	rate := p.Flops()
	for left > 0 {
		f, until := p.slowAt(t)
		r := rate / f
		if need := left / r; t+need <= until {
			return t + need
		}
		left -= r * (until - t)
		t = until
	}
	return t
}

// StepsWithin counts the steps of flopsPerStep FLOPs each that complete
// between from and limit (at most max of them when max > 0), following the
// node's slowdowns, and returns when the last one ends (from if none does).
// Steps that cost nothing count once: they cannot fill a window.
func (p *Profile) StepsWithin(from, limit, flopsPerStep float64, max int) (steps int, end float64) {
	end = from
	for max <= 0 || steps < max {
		next := p.ComputeEnd(end, flopsPerStep)
		if next > limit {
			break
		}
		end = next
		steps++
		if flopsPerStep == 0 {
			break
		}
	}
	return steps, end
}

// Cluster is a built configuration: every node's profile, the object store,
// the latency model and the sharing model.
type Cluster struct {
	Nodes   []Profile
	Store   StoreConfig
	Sharing Sharing
	// matrixMs, when set, gives node-to-node one-way latency.
	matrixMs [][]float64
}

// Len is the number of nodes.
func (c *Cluster) Len() int { return len(c.Nodes) }

// StoreID is the endpoint id of the object store (one past the last node).
func (c *Cluster) StoreID() int { return len(c.Nodes) }

// Endpoints is the number of endpoints: nodes plus the store.
func (c *Cluster) Endpoints() int { return len(c.Nodes) + 1 }

// LatencyS is the one-way latency between two endpoints (nodes or StoreID),
// in seconds: with coordinates, their distance plus both access latencies;
// with a matrix, the matrix entry (the store still uses coordinates).
func (c *Cluster) LatencyS(a, b int) float64 {
	if a == b {
		return 0
	}
	if c.matrixMs != nil && a < len(c.Nodes) && b < len(c.Nodes) {
		return c.matrixMs[a][b] / 1000
	}
	ax, ay, al := c.coords(a)
	bx, by, bl := c.coords(b)
	return (math.Hypot(ax-bx, ay-by) + al + bl) / 1000
}

func (c *Cluster) coords(e int) (x, y, access float64) {
	if e == len(c.Nodes) {
		return c.Store.XMs, c.Store.YMs, c.Store.AccessLatencyMs
	}
	p := &c.Nodes[e]
	return p.XMs, p.YMs, p.AccessLatencyMs
}

// Streams of the seeded generator: each (purpose, node) pair has its own, so
// one node's draws do not depend on how many others there are.
const (
	streamAssign = iota + 1
	streamBwUp
	streamBwDown
	streamCoords
	streamChurn
)

func source(seed uint64, stream, node int) rand.Source {
	// splitmix64 of (stream, node) as the PCG sequence keeps streams apart.
	z := uint64(stream)<<40 ^ uint64(node) + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return rand.NewPCG(seed, z)
}

// Build draws a cluster from cfg. The same cfg and seed always give the same
// cluster. A node table (NodeTablePath) or latency matrix file is read here.
func Build(cfg Config, seed uint64) (*Cluster, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var rows []NodeRow
	if cfg.NodeTablePath != "" {
		f, err := os.Open(cfg.NodeTablePath)
		if err != nil {
			return nil, cfgErr("node_table_path", "%v", err)
		}
		rows, err = ParseNodeTable(f, cfg.NodeTablePath)
		f.Close()
		if err != nil {
			return nil, cfgErr("node_table_path", "%v", err)
		}
		if cfg.Nodes != 0 && cfg.Nodes != len(rows) {
			return nil, cfgErr("nodes", "is %d but the node table has %d rows", cfg.Nodes, len(rows))
		}
	}
	sh, _ := cfg.Sharing.Resolve()
	c := &Cluster{Store: cfg.Store, Sharing: sh}
	classes := map[string]*ClassConfig{}
	for i := range cfg.Classes {
		classes[cfg.Classes[i].Name] = &cfg.Classes[i]
	}
	if rows != nil {
		for i, r := range rows {
			p, err := r.profile(i, classes)
			if err != nil {
				return nil, cfgErr("node_table_path", "%v", err)
			}
			c.Nodes = append(c.Nodes, p)
		}
	} else {
		assign := assignClasses(cfg.Classes, cfg.Nodes, seed)
		for i, ci := range assign {
			cl := &cfg.Classes[ci]
			p := Profile{ID: i, Class: cl.Name, PeakFlops: cl.PeakTflops * 1e12, Utilization: cl.Utilization,
				BwUpMbps:        logNormal(cl.BwUpMbps, cl.BwUpSigma, source(seed, streamBwUp, i)),
				BwDownMbps:      logNormal(cl.BwDownMbps, cl.BwDownSigma, source(seed, streamBwDown, i)),
				AccessLatencyMs: cl.AccessLatencyMs}
			u := distuv.Uniform{Min: 0, Max: cfg.Latency.SpanMs, Src: source(seed, streamCoords, i)}
			if cfg.Latency.SpanMs > 0 {
				p.XMs, p.YMs = u.Rand(), u.Rand()
			}
			c.Nodes = append(c.Nodes, p)
		}
	}
	n := len(c.Nodes)
	if n == 0 {
		return nil, cfgErr("node_table_path", "the node table has no rows")
	}
	if cfg.Latency.Model == LatencyMatrix {
		m := cfg.Latency.MatrixMs
		if cfg.Latency.MatrixPath != "" {
			f, err := os.Open(cfg.Latency.MatrixPath)
			if err != nil {
				return nil, cfgErr("latency.matrix_path", "%v", err)
			}
			m, err = ParseMatrix(f)
			f.Close()
			if err != nil {
				return nil, cfgErr("latency.matrix_path", "%v", err)
			}
		}
		if len(m) != n {
			return nil, cfgErr("latency.matrix_ms", "has %d rows for %d nodes", len(m), n)
		}
		if err := checkMatrix(m, n); err != nil {
			return nil, err
		}
		c.matrixMs = m
	}
	outages, err := cfg.Churn.Outages(n, seed)
	if err != nil {
		return nil, err
	}
	for i := range c.Nodes {
		c.Nodes[i].Outages = outages[i]
	}
	for i, s := range cfg.Slowdowns {
		if s.Node >= n {
			return nil, cfgErr(fmt.Sprintf("slowdowns[%d].node", i), "node %d out of range [0, %d)", s.Node, n)
		}
		end := s.EndS
		if end == 0 {
			end = math.Inf(1)
		}
		sl := Slowdown{Interval{s.StartS, end}, s.Factor}
		for j := range c.Nodes {
			if s.Node == -1 || s.Node == j {
				c.Nodes[j].Slowdowns = append(c.Nodes[j].Slowdowns, sl)
			}
		}
	}
	return c, nil
}

func logNormal(median, sigma float64, src rand.Source) float64 {
	if sigma == 0 {
		return median
	}
	return distuv.LogNormal{Mu: math.Log(median), Sigma: sigma, Src: src}.Rand()
}

// assignClasses apportions n nodes to classes by share (largest remainder,
// ties to the earlier class) and shuffles the assignment with the seed.
func assignClasses(classes []ClassConfig, n int, seed uint64) []int {
	total := 0.0
	for _, c := range classes {
		total += c.Share
	}
	counts := make([]int, len(classes))
	rem := make([]float64, len(classes))
	used := 0
	for i, c := range classes {
		q := c.Share / total * float64(n)
		counts[i] = int(math.Floor(q))
		rem[i] = q - float64(counts[i])
		used += counts[i]
	}
	order := make([]int, len(classes))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case rem[a] > rem[b]:
			return -1
		case rem[a] < rem[b]:
			return 1
		}
		return 0
	})
	for k := 0; used < n; k++ {
		counts[order[k%len(order)]]++
		used++
	}
	out := make([]int, 0, n)
	for i, k := range counts {
		for range k {
			out = append(out, i)
		}
	}
	rng := rand.New(source(seed, streamAssign, 0))
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// Outages returns when each of n nodes is down under this churn: the
// explicit events, then random failures drawn from seed (each node from a
// stream of its own), merged into sorted, disjoint intervals.
func (ch ChurnConfig) Outages(n int, seed uint64) ([][]Interval, error) {
	out := make([][]Interval, n)
	for i, e := range ch.Events {
		if e.Node < 0 || e.Node >= n {
			return nil, cfgErr(fmt.Sprintf("churn.events[%d].node", i), "node %d out of range [0, %d)", e.Node, n)
		}
		end := e.RejoinS
		if end == 0 {
			end = math.Inf(1)
		}
		out[e.Node] = append(out[e.Node], Interval{e.CrashS, end})
	}
	if ch.MtbfS > 0 {
		for i := range n {
			src := source(seed, streamChurn, i)
			up := distuv.Exponential{Rate: 1 / ch.MtbfS, Src: src}
			down := distuv.Exponential{Rate: 1 / ch.MeanDowntimeS, Src: src}
			for t := up.Rand(); t < ch.HorizonS; t += up.Rand() {
				d := down.Rand()
				out[i] = append(out[i], Interval{t, t + d})
				t += d
			}
		}
	}
	for i := range out {
		out[i] = mergeIntervals(out[i])
	}
	return out, nil
}

// AddOutage marks the node down over iv as well.
func (p *Profile) AddOutage(iv Interval) {
	p.Outages = mergeIntervals(append(p.Outages, iv))
}

func mergeIntervals(iv []Interval) []Interval {
	if len(iv) < 2 {
		return iv
	}
	slices.SortFunc(iv, func(a, b Interval) int {
		switch {
		case a.StartS < b.StartS:
			return -1
		case a.StartS > b.StartS:
			return 1
		}
		return 0
	})
	out := iv[:1]
	for _, x := range iv[1:] {
		last := &out[len(out)-1]
		if x.StartS <= last.EndS {
			last.EndS = math.Max(last.EndS, x.EndS)
			continue
		}
		out = append(out, x)
	}
	return out
}
