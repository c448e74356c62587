package netmodel

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestDefaultConfigBuilds(t *testing.T) {
	cfg := DefaultConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	c, err := Build(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	if c.Len() != 72 {
		t.Fatalf("%d nodes, want 72", c.Len())
	}
	count := map[string]int{}
	for _, p := range c.Nodes {
		count[p.Class]++
		if p.BwUpMbps <= 0 || p.BwDownMbps <= 0 || p.Flops() <= 0 {
			t.Fatalf("node %d: %+v", p.ID, p)
		}
	}
	// 0.5/0.35/0.15 of 72 = 36/25.2/10.8: the largest remainder goes to the servers.
	if count["consumer-gpu"] != 36 || count["datacenter-gpu"] != 25 || count["server-8gpu"] != 11 {
		t.Fatalf("class counts %v", count)
	}
	again, _ := Build(cfg, 1)
	if !reflect.DeepEqual(c, again) {
		t.Fatal("same seed built different clusters")
	}
	other, _ := Build(cfg, 2)
	if reflect.DeepEqual(c.Nodes, other.Nodes) {
		t.Fatal("different seeds built the same cluster")
	}
	// Latencies fall within the span plus access links.
	for a := range c.Len() {
		for b := range c.Len() {
			if l := c.LatencyS(a, b); l < 0 || l > (120*math.Sqrt2+24)/1000 {
				t.Fatalf("latency %d→%d = %g s", a, b, l)
			}
		}
	}
}

func TestNodeDrawsIndependentOfCount(t *testing.T) {
	// A node's draws come from its own streams: growing the cluster does not
	// change the bandwidth of node 3 if it keeps its class.
	cfg := DefaultConfig()
	cfg.Classes = cfg.Classes[:1]
	a, _ := Build(cfg, 9)
	cfg.Nodes = 200
	b, _ := Build(cfg, 9)
	if a.Nodes[3].BwUpMbps != b.Nodes[3].BwUpMbps || a.Nodes[3].XMs != b.Nodes[3].XMs {
		t.Fatal("node 3 changed when nodes were added")
	}
}

func TestValidateNamesKey(t *testing.T) {
	for _, tc := range []struct {
		key string
		mut func(*Config)
	}{
		{"cluster.nodes", func(c *Config) { c.Nodes = 0 }},
		{"cluster.nodes", func(c *Config) { c.Nodes = -3 }},
		{"cluster.classes", func(c *Config) { c.Classes = nil }},
		{"cluster.classes[1].bw_up_mbps", func(c *Config) { c.Classes[1].BwUpMbps = -5 }},
		{"cluster.classes[0].utilization", func(c *Config) { c.Classes[0].Utilization = 1.5 }},
		{"cluster.classes[2].name", func(c *Config) { c.Classes[2].Name = c.Classes[0].Name }},
		{"cluster.classes[0].peak_tflops", func(c *Config) { c.Classes[0].PeakTflops = math.NaN() }},
		{"cluster.classes", func(c *Config) {
			for i := range c.Classes {
				c.Classes[i].Share = 0
			}
		}},
		{"cluster.latency.model", func(c *Config) { c.Latency.Model = "teleport" }},
		{"cluster.latency.matrix_ms", func(c *Config) { c.Latency.Model = LatencyMatrix }},
		{"cluster.latency.matrix_ms", func(c *Config) {
			c.Latency.Model, c.Nodes, c.Latency.MatrixMs = LatencyMatrix, 2, [][]float64{{0, 1}, {1}}
		}},
		{"cluster.sharing.model", func(c *Config) { c.Sharing.Model = "fluid" }},
		{"cluster.sharing.latency_factor", func(c *Config) { c.Sharing.Model, c.Sharing.LatencyFactor = ModelRaw, 2 }},
		{"cluster.sharing.tcp_gamma_bytes", func(c *Config) { c.Sharing.TCPGammaBytes = -1 }},
		{"cluster.store.bw_up_mbps", func(c *Config) { c.Store.BwUpMbps = -1 }},
		{"cluster.churn.mean_downtime_s", func(c *Config) { c.Churn.MtbfS = 100 }},
		{"cluster.churn.mean_downtime_s", func(c *Config) { c.Churn.MeanDowntimeS = 100 }},
		{"cluster.churn.events[0].node", func(c *Config) { c.Churn.Events = []ChurnEvent{{Node: 72, CrashS: 1}} }},
		{"cluster.churn.events[0].rejoin_s", func(c *Config) { c.Churn.Events = []ChurnEvent{{Node: 1, CrashS: 10, RejoinS: 5}} }},
		{"cluster.slowdowns[0].factor", func(c *Config) { c.Slowdowns = []SlowdownEntry{{Node: 1, Factor: 0}} }},
		{"cluster.slowdowns[0].node", func(c *Config) { c.Slowdowns = []SlowdownEntry{{Node: -2, Factor: 2}} }},
	} {
		cfg := DefaultConfig()
		tc.mut(&cfg)
		err := cfg.Validate()
		var ce *ConfigError
		if err == nil || !errors.As(err, &ce) || !strings.HasPrefix(err.Error(), tc.key+":") {
			t.Errorf("want an error naming %s, got %v", tc.key, err)
		}
		if _, berr := Build(cfg, 1); berr == nil {
			t.Errorf("%s: Build accepted what Validate rejects", tc.key)
		}
	}
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	writeTo(t, p, text)
	return p
}

func writeTo(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestNodeTable(t *testing.T) {
	csv := "node,class,bw_up_mbps,x_ms,y_ms\n1,consumer-gpu,55,10,0\n0,server-8gpu,,0,0\n2,datacenter-gpu,7,3,4\n"
	yml := "- {node: 1, class: consumer-gpu, bw_up_mbps: 55, x_ms: 10}\n- {node: 0, class: server-8gpu}\n- {node: 2, class: datacenter-gpu, bw_up_mbps: 7, x_ms: 3, y_ms: 4}\n"
	for _, path := range []string{writeFile(t, "nodes.csv", csv), writeFile(t, "nodes.yaml", yml)} {
		cfg := DefaultConfig()
		cfg.Nodes = 0
		cfg.NodeTablePath = path
		c, err := Build(cfg, 1)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if c.Len() != 3 || c.Nodes[0].Class != "server-8gpu" || c.Nodes[1].BwUpMbps != 55 {
			t.Fatalf("%s: %+v", path, c.Nodes)
		}
		// Unset fields come from the class median.
		if c.Nodes[0].BwUpMbps != 2500 || c.Nodes[1].BwDownMbps != 300 || c.Nodes[2].PeakFlops != 989e12 {
			t.Fatalf("%s: class defaults not applied: %+v", path, c.Nodes)
		}
		// Node 2 is 5 ms from node 0 plus both access links (1 + 2 ms).
		if l := c.LatencyS(0, 2); !near(l, 0.008, 1e-12) {
			t.Fatalf("%s: latency 0→2 = %g", path, l)
		}
	}
	for name, text := range map[string]string{
		"bad.csv":     "node,colour\n0,red\n",
		"class.csv":   "class\nquantum\n",
		"missing.csv": "bw_up_mbps\n5\n",
		"dup.csv":     "node,class\n0,consumer-gpu\n0,consumer-gpu\n",
		"field.yaml":  "- {node: 0, class: consumer-gpu, colour: red}\n",
		"empty.yaml":  "",
		"nodes.txt":   "node\n0\n",
	} {
		cfg := DefaultConfig()
		cfg.Nodes = 0
		cfg.NodeTablePath = writeFile(t, name, text)
		if _, err := Build(cfg, 1); err == nil || !strings.Contains(err.Error(), "cluster.node_table_path") {
			t.Errorf("%s: want an error naming node_table_path, got %v", name, err)
		}
	}
	cfg := DefaultConfig()
	cfg.NodeTablePath = writeFile(t, "n.csv", csv)
	if _, err := Build(cfg, 1); err == nil || !strings.Contains(err.Error(), "cluster.nodes") {
		t.Errorf("72 nodes with a 3-row table: %v", err)
	}
}

func TestLatencyMatrix(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Nodes = 3
	cfg.Latency = LatencyConfig{Model: LatencyMatrix, MatrixMs: [][]float64{{0, 10, 20}, {11, 0, 30}, {21, 31, 0}}}
	c, err := Build(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	if c.LatencyS(1, 0) != 0.011 || c.LatencyS(2, 1) != 0.031 {
		t.Fatalf("matrix latencies %g %g", c.LatencyS(1, 0), c.LatencyS(2, 1))
	}
	cfg.Latency.MatrixMs = nil
	cfg.Latency.MatrixPath = writeFile(t, "m.csv", "0,10,20\n11,0,30\n21,31,0\n")
	c2, err := Build(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	if c2.LatencyS(1, 0) != 0.011 {
		t.Fatal("matrix file not used")
	}
	cfg.Latency.MatrixPath = writeFile(t, "m.csv", "0,10\n11,0\n")
	if _, err := Build(cfg, 1); err == nil {
		t.Fatal("2x2 matrix accepted for 3 nodes")
	}
}

func TestChurn(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Nodes = 50
	cfg.Churn = ChurnConfig{MtbfS: 1000, MeanDowntimeS: 100, HorizonS: 2e6,
		Events: []ChurnEvent{{Node: 4, CrashS: 10, RejoinS: 20}, {Node: 5, CrashS: 30}}}
	c, err := Build(cfg, 3)
	if err != nil {
		t.Fatal(err)
	}
	p5 := &c.Nodes[5]
	if p5.UpAt(31) || !math.IsInf(p5.NextUp(31), 1) {
		t.Fatal("node 5 came back after a permanent crash")
	}
	p4 := &c.Nodes[4]
	if p4.UpAt(15) || p4.NextUp(15) < 20 || p4.NextFailure(5) > 10 {
		t.Fatalf("node 4 outages %v", p4.Outages[:3])
	}
	// Up times are exponential with mean MTBF: about 2000 outages per node
	// over 2e6 s with 1100 s cycles; the mean gap is within a few percent.
	var up, n float64
	for i := 6; i < 50; i++ {
		prev := 0.0
		for _, o := range c.Nodes[i].Outages {
			up += o.StartS - prev
			prev = o.EndS
			n++
		}
	}
	if m := up / n; math.Abs(m-1000)/1000 > 0.03 {
		t.Fatalf("mean up time %g s, want about 1000", m)
	}
}

func TestComputeEnd(t *testing.T) {
	p := Profile{PeakFlops: 2e12, Utilization: 0.5,
		Slowdowns: []Slowdown{{Interval{10, 20}, 2}, {Interval{15, 30}, 2}}}
	// 1 TFLOP/s; 0.5 until 15, 0.25 until 20, 0.5 until 30.
	for _, tc := range []struct{ start, flops, want float64 }{
		{0, 5e12, 5},
		{0, 10e12, 10},
		// 10 by t=10, 2.5 more by 15, 1.25 by 20 (13.75); 0.25 more at 0.5.
		{0, 14e12, 20.5},
		{20, 1e12, 22},
		{30, 1e12, 31},
	} {
		if got := p.ComputeEnd(tc.start, tc.flops); !near(got, tc.want, 1e-12) {
			t.Errorf("ComputeEnd(%g, %g) = %g, want %g", tc.start, tc.flops, got, tc.want)
		}
	}
}

func TestSharingResolve(t *testing.T) {
	sh, err := SharingConfig{Model: ModelLV08, TCPGammaBytes: 1}.Resolve()
	if err != nil || sh != (Sharing{ModelLV08, 13.01, 0.97, 20537, 0.05, 1}) {
		t.Fatalf("lv08: %+v %v", sh, err)
	}
	sh, err = SharingConfig{Model: ModelMaxMin, LatencyFactor: 2, CrossTraffic: 0.1}.Resolve()
	if err != nil || sh.LatencyFactor != 2 || sh.BandwidthFactor != 1 || sh.CrossTraffic != 0.1 {
		t.Fatalf("maxmin with factors: %+v %v", sh, err)
	}
}

func TestStepsWithin(t *testing.T) {
	// 1 TFLOP/s, half speed in [2, 4): one-TFLOP steps run 0-1, 1-2, 2-4,
	// 4-5, 5-6, ... 9-10.
	p := Profile{PeakFlops: 1e12, Utilization: 1, Slowdowns: []Slowdown{{Interval{2, 4}, 2}}}
	for _, tc := range []struct {
		from, limit float64
		max, want   int
		end         float64
	}{
		{0, 1.5, 0, 1, 1},
		{0, 10, 0, 9, 10},
		{0, 10, 3, 3, 4},
		{0, 3.9, 0, 2, 2},
		{0, 0.5, 0, 0, 0},
	} {
		n, end := p.StepsWithin(tc.from, tc.limit, 1e12, tc.max)
		if n != tc.want || !near(end, tc.end, 1e-12) {
			t.Errorf("StepsWithin(%g, %g, max %d) = %d, %g; want %d, %g", tc.from, tc.limit, tc.max, n, end, tc.want, tc.end)
		}
	}
}
