package netmodel

import (
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/locosim/locosim/des"
)

// knobKeys lists a config struct's keys: nested structs by dotted path,
// lists as one key plus, for lists of structs, one key per element field
// ("classes[].share").
func knobKeys(t reflect.Type, prefix string) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		k := prefix + f.Tag.Get("yaml")
		switch {
		case f.Type.Kind() == reflect.Struct:
			out = append(out, knobKeys(f.Type, k+".")...)
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
			out = append(out, k)
			out = append(out, knobKeys(f.Type.Elem(), k+"[].")...)
		default:
			out = append(out, k)
		}
	}
	return out
}

func cloneConfig(c Config) Config {
	c.Classes = slices.Clone(c.Classes)
	c.Churn.Events = slices.Clone(c.Churn.Events)
	c.Slowdowns = slices.Clone(c.Slowdowns)
	return c
}

type knob struct {
	pre, mut func(*Config)
}

// clusterPrints returns what a config builds (profiles) and how long a few
// exchanges with every pattern take on it (timing), each node's payload
// ready when it has computed 2e15 FLOPs from the exchange's start (so that
// speeds and slowdowns move the timing, as churn does through the crashes).
func clusterPrints(t *testing.T, cfg Config) (profiles, timing string) {
	t.Helper()
	c, err := Build(cfg, 5)
	if err != nil {
		t.Fatal(err)
	}
	profiles = fmt.Sprintf("%v", c.Nodes)
	eng := des.New()
	net, err := NewNetwork(c, eng, 5)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	start := 0.0
	g := TemplarGather()
	g.Peers = 4
	for _, p := range []Pattern{g, P2PAllGather(g), RingAllReduce{Order: RingByBandwidth, RestartS: 10}, ParameterServer{Server: -1}} {
		res, err := p.Run(net, ExchangeSpec{StartS: start, ReadyS: computeReady(c, start, 2*1e15),
			PayloadBytes: []int64{3_000_000}})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%v %v\n", res.EndS, res.Nodes)
		start = res.EndS
	}
	return profiles, b.String()
}

func TestEveryClusterKnobMovesSomething(t *testing.T) {
	base := DefaultConfig()
	base.Nodes = 12
	base.Churn = ChurnConfig{MtbfS: 1e5, MeanDowntimeS: 3600, HorizonS: 1e6, Events: []ChurnEvent{}}
	base.Slowdowns = []SlowdownEntry{}
	dir := t.TempDir()
	table := filepath.Join(dir, "t.csv")
	writeTo(t, table, "class\nconsumer-gpu\nserver-8gpu\nserver-8gpu\n")
	matA, matB := filepath.Join(dir, "a.csv"), filepath.Join(dir, "b.csv")
	var sa, sb strings.Builder
	for i := range 12 {
		for j := range 12 {
			sep := ","
			if j == 11 {
				sep = "\n"
			}
			fmt.Fprintf(&sa, "%d%s", 10+i+j, sep)
			fmt.Fprintf(&sb, "%d%s", 90+i*j, sep)
		}
	}
	writeTo(t, matA, sa.String())
	writeTo(t, matB, sb.String())
	matrix := func(v float64) [][]float64 {
		m := make([][]float64, 12)
		for i := range m {
			m[i] = make([]float64, 12)
			for j := range m[i] {
				m[i][j] = v + float64(i+j)
			}
		}
		return m
	}
	event := func(c *Config) { c.Churn.Events = []ChurnEvent{{Node: 1, CrashS: 3, RejoinS: 500}} }
	slow := func(c *Config) { c.Slowdowns = []SlowdownEntry{{Node: 2, StartS: 0, EndS: 100, Factor: 3}} }
	knobs := map[string]knob{
		"nodes":                       {mut: func(c *Config) { c.Nodes = 13 }},
		"classes":                     {mut: func(c *Config) { c.Classes = c.Classes[:2] }},
		"classes[].name":              {mut: func(c *Config) { c.Classes[0].Name = "gamer" }},
		"classes[].share":             {mut: func(c *Config) { c.Classes[0].Share = 2 }},
		"classes[].peak_tflops":       {mut: func(c *Config) { c.Classes[0].PeakTflops = 50 }},
		"classes[].utilization":       {mut: func(c *Config) { c.Classes[0].Utilization = 0.9 }},
		"classes[].bw_up_mbps":        {mut: func(c *Config) { c.Classes[0].BwUpMbps = 5 }},
		"classes[].bw_up_sigma":       {mut: func(c *Config) { c.Classes[0].BwUpSigma = 1.2 }},
		"classes[].bw_down_mbps":      {mut: func(c *Config) { c.Classes[0].BwDownMbps = 9 }},
		"classes[].bw_down_sigma":     {mut: func(c *Config) { c.Classes[0].BwDownSigma = 1.1 }},
		"classes[].access_latency_ms": {mut: func(c *Config) { c.Classes[0].AccessLatencyMs = 80 }},
		"node_table_path":             {mut: func(c *Config) { c.Nodes, c.NodeTablePath = 0, table }},
		"latency.model": {mut: func(c *Config) {
			c.Latency.Model, c.Latency.MatrixMs = LatencyMatrix, matrix(100)
		}},
		"latency.span_ms": {mut: func(c *Config) { c.Latency.SpanMs = 400 }},
		"latency.matrix_ms": {
			pre: func(c *Config) { c.Latency.Model, c.Latency.MatrixMs = LatencyMatrix, matrix(5) },
			mut: func(c *Config) { c.Latency.MatrixMs = matrix(150) }},
		"latency.matrix_path": {
			pre: func(c *Config) { c.Latency.Model, c.Latency.MatrixPath = LatencyMatrix, matA },
			mut: func(c *Config) { c.Latency.MatrixPath = matB }},
		"sharing.model":            {mut: func(c *Config) { c.Sharing.Model = ModelMaxMin }},
		"sharing.tcp_gamma_bytes":  {mut: func(c *Config) { c.Sharing.TCPGammaBytes = 65536 }},
		"sharing.latency_factor":   {mut: func(c *Config) { c.Sharing.LatencyFactor = 2 }},
		"sharing.bandwidth_factor": {mut: func(c *Config) { c.Sharing.BandwidthFactor = 0.5 }},
		"sharing.weight_s_bytes":   {mut: func(c *Config) { c.Sharing.WeightSBytes = 1e8 }},
		"sharing.cross_traffic":    {mut: func(c *Config) { c.Sharing.CrossTraffic = 0.5 }},
		"store.bw_up_mbps":         {mut: func(c *Config) { c.Store.BwUpMbps = 40 }},
		"store.bw_down_mbps":       {mut: func(c *Config) { c.Store.BwDownMbps = 40 }},
		"store.access_latency_ms":  {mut: func(c *Config) { c.Store.AccessLatencyMs = 90 }},
		"store.x_ms":               {mut: func(c *Config) { c.Store.XMs = 900 }},
		"store.y_ms":               {mut: func(c *Config) { c.Store.YMs = 900 }},
		"churn.mtbf_s":             {mut: func(c *Config) { c.Churn.MtbfS = 5e4 }},
		"churn.mean_downtime_s":    {mut: func(c *Config) { c.Churn.MeanDowntimeS = 60 }},
		"churn.horizon_s":          {mut: func(c *Config) { c.Churn.HorizonS = 1e5 }},
		"churn.events":             {mut: event},
		"churn.events[].node":      {pre: event, mut: func(c *Config) { c.Churn.Events[0].Node = 2 }},
		"churn.events[].crash_s":   {pre: event, mut: func(c *Config) { c.Churn.Events[0].CrashS = 4 }},
		"churn.events[].rejoin_s":  {pre: event, mut: func(c *Config) { c.Churn.Events[0].RejoinS = 0 }},
		"slowdowns":                {mut: slow},
		"slowdowns[].node":         {pre: slow, mut: func(c *Config) { c.Slowdowns[0].Node = -1 }},
		"slowdowns[].start_s":      {pre: slow, mut: func(c *Config) { c.Slowdowns[0].StartS = 1 }},
		"slowdowns[].end_s":        {pre: slow, mut: func(c *Config) { c.Slowdowns[0].EndS = 0 }},
		"slowdowns[].factor":       {pre: slow, mut: func(c *Config) { c.Slowdowns[0].Factor = 1.5 }},
	}
	// Speeds, slowdowns and crashes reach the exchanges through the ready
	// times (ComputeEnd) and the crash timers.
	timed := map[string]bool{"classes[].peak_tflops": true, "classes[].utilization": true,
		"slowdowns": true, "slowdowns[].node": true, "slowdowns[].start_s": true, "slowdowns[].end_s": true,
		"slowdowns[].factor": true, "churn.events": true, "churn.events[].node": true, "churn.events[].crash_s": true}
	keys := knobKeys(reflect.TypeOf(Config{}), "")
	for _, k := range keys {
		if _, ok := knobs[k]; !ok {
			t.Errorf("no test shows that key %s moves anything", k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		kn, ok := knobs[k]
		if !ok {
			continue
		}
		a := cloneConfig(base)
		if kn.pre != nil {
			kn.pre(&a)
		}
		b := cloneConfig(a)
		kn.mut(&b)
		pa, ta := clusterPrints(t, a)
		pb, tb := clusterPrints(t, b)
		if pa == pb && ta == tb {
			t.Errorf("changing %s changed neither the profiles nor the timing", k)
		}
		if strings.HasPrefix(k, "sharing.") || strings.HasPrefix(k, "store.") || timed[k] {
			if ta == tb {
				t.Errorf("changing %s did not change the timing", k)
			}
		}
	}
}

func TestEveryExchangeKnobMovesTheRound(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Nodes = 10
	cfg.Classes = cfg.Classes[:1] // consumer GPUs: uploads take seconds
	cfg.Churn.Events = []ChurnEvent{{Node: 4, CrashS: 5}}
	c, err := Build(cfg, 2)
	if err != nil {
		t.Fatal(err)
	}
	round := func(x ExchangeConfig, deadlineS float64) string {
		t.Helper()
		p, err := x.Build(c.Len())
		if err != nil {
			t.Fatal(err)
		}
		net, err := NewNetwork(c, des.New(), 2)
		if err != nil {
			t.Fatal(err)
		}
		ex := ExchangeSpec{ReadyS: computeReady(c, 0, 1e13), PayloadBytes: []int64{20_000_000}}
		if deadlineS > 0 {
			ex.DeadlineS = deadlineS // absolute: the exchange starts at 0
		}
		res, err := p.Run(net, ex)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%v %v %v", res.EndS, res.Nodes, res.Received)
	}
	type xknob struct {
		pre, mut  func(*ExchangeConfig)
		deadlineS float64 // run with this deadline (late uploads are polled for)
	}
	store := func(x *ExchangeConfig) { x.Pattern, x.Gather.Peers, x.Gather.ReservePeers = PatternStore, 9, 1 }
	ring := func(x *ExchangeConfig) { x.Pattern = PatternRing }
	ps := func(x *ExchangeConfig) { x.Pattern = PatternPS }
	knobs := map[string]xknob{
		"pattern":              {mut: func(x *ExchangeConfig) { x.Pattern = PatternP2P }},
		"gather.start":         {pre: store, mut: func(x *ExchangeConfig) { x.Gather.Start = GatherOwn }},
		"gather.peers":         {pre: store, mut: func(x *ExchangeConfig) { x.Gather.Peers = 3 }},
		"gather.reserve_peers": {pre: store, mut: func(x *ExchangeConfig) { x.Gather.ReservePeers = 0 }},
		"gather.retry_s": {pre: func(x *ExchangeConfig) { store(x); x.Gather.Peers, x.Gather.ReservePeers = 5, 5 },
			mut: func(x *ExchangeConfig) { x.Gather.RetryS = 7 }, deadlineS: 5},
		"gather.peer_timeout_s":   {pre: store, mut: func(x *ExchangeConfig) { x.Gather.PeerTimeoutS = 20 }},
		"gather.gather_timeout_s": {pre: store, mut: func(x *ExchangeConfig) { x.Gather.GatherTimeoutS = 30 }},
		"ring.order":              {pre: ring, mut: func(x *ExchangeConfig) { x.Ring.Order = RingByIndex }},
		"ring.restart_s":          {pre: ring, mut: func(x *ExchangeConfig) { x.Ring.RestartS = 2 }},
		"ps.server":               {pre: ps, mut: func(x *ExchangeConfig) { x.PS.Server = 0 }},
		"ps.aggregate_bytes":      {pre: ps, mut: func(x *ExchangeConfig) { x.PS.AggregateBytes = 1000 }},
		"send.dest": {pre: func(x *ExchangeConfig) { x.Pattern = PatternSend },
			mut: func(x *ExchangeConfig) { x.Send.Dest = []int{9, 0, 1, 2, 3, 4, 5, 6, 7, 8} }},
	}
	for _, k := range knobKeys(reflect.TypeOf(ExchangeConfig{}), "") {
		kn, ok := knobs[k]
		if !ok {
			t.Errorf("no test shows that key %s moves anything", k)
			continue
		}
		a := DefaultExchangeConfig()
		if kn.pre != nil {
			kn.pre(&a)
		}
		b := a
		kn.mut(&b)
		if round(a, kn.deadlineS) == round(b, kn.deadlineS) {
			t.Errorf("changing %s did not change the round", k)
		}
	}
	bad := DefaultExchangeConfig()
	bad.Gather.RetryS = 0
	if err := bad.Validate(); err == nil || !strings.HasPrefix(err.Error(), "exchange.gather.retry_s:") {
		t.Errorf("bad retry_s: %v", err)
	}
	bad = DefaultExchangeConfig()
	bad.Pattern = "telepathy"
	if err := bad.Validate(); err == nil || !strings.HasPrefix(err.Error(), "exchange.pattern:") {
		t.Errorf("bad pattern: %v", err)
	}
}
