package netmodel

import (
	"fmt"
	"math"
)

// Sections under which the integrator mounts Config and ExchangeConfig;
// ConfigError prints keys under them (DESIGN.md's cluster.nodes).
var (
	ClusterSection  = "cluster"
	ExchangeSection = "exchange"
)

// ConfigError names the configuration key that holds a bad value.
type ConfigError struct {
	Section *string // ClusterSection or ExchangeSection
	Key     string  // relative to the section, e.g. "classes[1].bw_up_mbps"
	Msg     string
}

func (e *ConfigError) Error() string {
	k := e.Key
	if e.Section != nil && *e.Section != "" {
		k = *e.Section + "." + k
	}
	return k + ": " + e.Msg
}

func cfgErr(key, format string, args ...any) error {
	return &ConfigError{Section: &ClusterSection, Key: key, Msg: fmt.Sprintf(format, args...)}
}

// Config describes a simulated cluster: its nodes, their links and the
// network between them. Bandwidths are in Mbit/s, latencies in ms, compute
// in TFLOP/s (peak) and a utilisation fraction, times in simulated seconds.
type Config struct {
	// Nodes is the number of nodes drawn from Classes. With a node table it
	// must be 0 or equal to the table's row count.
	Nodes int `mapstructure:"nodes" yaml:"nodes"`
	// Classes are the kinds of node, drawn in proportion to their shares.
	Classes []ClassConfig `mapstructure:"classes" yaml:"classes"`
	// NodeTablePath names a CSV or YAML file with one row per node (see
	// ParseNodeTable); empty draws the nodes from Classes.
	NodeTablePath string          `mapstructure:"node_table_path" yaml:"node_table_path"`
	Latency       LatencyConfig   `mapstructure:"latency" yaml:"latency"`
	Sharing       SharingConfig   `mapstructure:"sharing" yaml:"sharing"`
	Store         StoreConfig     `mapstructure:"store" yaml:"store"`
	Churn         ChurnConfig     `mapstructure:"churn" yaml:"churn"`
	Slowdowns     []SlowdownEntry `mapstructure:"slowdowns" yaml:"slowdowns"`
}

// ClassConfig is one kind of node. Bandwidths are log-normal around their
// median (sigma is the standard deviation of the natural log; 0 gives every
// node of the class exactly the median).
type ClassConfig struct {
	Name            string  `mapstructure:"name" yaml:"name"`
	Share           float64 `mapstructure:"share" yaml:"share"`
	PeakTflops      float64 `mapstructure:"peak_tflops" yaml:"peak_tflops"`
	Utilization     float64 `mapstructure:"utilization" yaml:"utilization"`
	BwUpMbps        float64 `mapstructure:"bw_up_mbps" yaml:"bw_up_mbps"`
	BwUpSigma       float64 `mapstructure:"bw_up_sigma" yaml:"bw_up_sigma"`
	BwDownMbps      float64 `mapstructure:"bw_down_mbps" yaml:"bw_down_mbps"`
	BwDownSigma     float64 `mapstructure:"bw_down_sigma" yaml:"bw_down_sigma"`
	AccessLatencyMs float64 `mapstructure:"access_latency_ms" yaml:"access_latency_ms"`
}

// Latency models.
const (
	LatencyCoords = "coords" // Euclidean distance of 2-D coordinates + access latencies
	LatencyMatrix = "matrix" // explicit node-to-node matrix
)

// LatencyConfig chooses how one-way latency between two nodes is found.
type LatencyConfig struct {
	// Model is "coords" (Vivaldi-style: distance between the nodes'
	// coordinates, which are in ms, plus both access latencies) or "matrix".
	Model string `mapstructure:"model" yaml:"model"`
	// SpanMs is the side of the square in which coordinates are drawn
	// uniformly (nodes from a table keep their own coordinates).
	SpanMs float64 `mapstructure:"span_ms" yaml:"span_ms"`
	// MatrixMs is the node-to-node one-way latency in ms (model "matrix"),
	// inline; MatrixPath names a CSV file with the same numbers instead.
	MatrixMs   [][]float64 `mapstructure:"matrix_ms" yaml:"matrix_ms"`
	MatrixPath string      `mapstructure:"matrix_path" yaml:"matrix_path"`
}

// SharingConfig chooses the bandwidth-sharing model. Factors left at 0 take
// the model's standard values (maxmin: 1, 1, 0, 0; lv08: 13.01, 0.97,
// 20537, 0.05); a non-zero factor overrides them, so maxmin with factors is
// any blend of CM02 and LV08. The raw model takes no factors.
type SharingConfig struct {
	Model           string  `mapstructure:"model" yaml:"model"` // raw, maxmin or lv08
	TCPGammaBytes   float64 `mapstructure:"tcp_gamma_bytes" yaml:"tcp_gamma_bytes"`
	LatencyFactor   float64 `mapstructure:"latency_factor" yaml:"latency_factor"`
	BandwidthFactor float64 `mapstructure:"bandwidth_factor" yaml:"bandwidth_factor"`
	WeightSBytes    float64 `mapstructure:"weight_s_bytes" yaml:"weight_s_bytes"`
	CrossTraffic    float64 `mapstructure:"cross_traffic" yaml:"cross_traffic"`
}

// StoreConfig is the object store that all-gathers and parameter servers go
// through: one more endpoint with its own links (0 Mbit/s: unlimited).
type StoreConfig struct {
	BwUpMbps        float64 `mapstructure:"bw_up_mbps" yaml:"bw_up_mbps"`     // store egress (downloads)
	BwDownMbps      float64 `mapstructure:"bw_down_mbps" yaml:"bw_down_mbps"` // store ingress (uploads)
	AccessLatencyMs float64 `mapstructure:"access_latency_ms" yaml:"access_latency_ms"`
	XMs             float64 `mapstructure:"x_ms" yaml:"x_ms"`
	YMs             float64 `mapstructure:"y_ms" yaml:"y_ms"`
}

// ChurnConfig makes nodes fail and come back: random failures with a mean
// time between failures (exponential up and down times) plus explicit events.
type ChurnConfig struct {
	MtbfS         float64      `mapstructure:"mtbf_s" yaml:"mtbf_s"` // 0: no random failures
	MeanDowntimeS float64      `mapstructure:"mean_downtime_s" yaml:"mean_downtime_s"`
	HorizonS      float64      `mapstructure:"horizon_s" yaml:"horizon_s"` // random failures are drawn up to here
	Events        []ChurnEvent `mapstructure:"events" yaml:"events"`
}

// ChurnEvent crashes a node at CrashS; it rejoins at RejoinS (0: never).
type ChurnEvent struct {
	Node    int     `mapstructure:"node" yaml:"node"`
	CrashS  float64 `mapstructure:"crash_s" yaml:"crash_s"`
	RejoinS float64 `mapstructure:"rejoin_s" yaml:"rejoin_s"`
}

// SlowdownEntry makes a node's compute Factor times slower between StartS
// and EndS (EndS 0: for ever). Node -1 slows every node.
type SlowdownEntry struct {
	Node   int     `mapstructure:"node" yaml:"node"`
	StartS float64 `mapstructure:"start_s" yaml:"start_s"`
	EndS   float64 `mapstructure:"end_s" yaml:"end_s"`
	Factor float64 `mapstructure:"factor" yaml:"factor"`
}

// DefaultConfig is a plausible 72-node heterogeneous internet: half the
// nodes are consumer GPUs on home links (tens of Mbit/s up, a few hundred
// down), a third datacentre GPUs on Gbit/s, the rest 8-GPU servers; all
// spread over 120 ms of latency space, sharing by SimGrid's LV08 model,
// through an object store that is not a bottleneck.
func DefaultConfig() Config {
	return Config{
		Nodes: 72,
		Classes: []ClassConfig{
			{Name: "consumer-gpu", Share: 0.5, PeakTflops: 165, Utilization: 0.35,
				BwUpMbps: 30, BwUpSigma: 0.6, BwDownMbps: 300, BwDownSigma: 0.5, AccessLatencyMs: 12},
			{Name: "datacenter-gpu", Share: 0.35, PeakTflops: 989, Utilization: 0.45,
				BwUpMbps: 1000, BwUpSigma: 0.3, BwDownMbps: 2000, BwDownSigma: 0.3, AccessLatencyMs: 2},
			{Name: "server-8gpu", Share: 0.15, PeakTflops: 7912, Utilization: 0.45,
				BwUpMbps: 2500, BwUpSigma: 0.3, BwDownMbps: 10000, BwDownSigma: 0.3, AccessLatencyMs: 1},
		},
		Latency:   LatencyConfig{Model: LatencyCoords, SpanMs: 120, MatrixMs: [][]float64{}},
		Sharing:   SharingConfig{Model: ModelLV08, TCPGammaBytes: 4194304},
		Store:     StoreConfig{AccessLatencyMs: 5, XMs: 60, YMs: 60},
		Churn:     ChurnConfig{HorizonS: 7 * 24 * 3600, Events: []ChurnEvent{}},
		Slowdowns: []SlowdownEntry{},
	}
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// Validate checks every value and names the offending key.
func (c Config) Validate() error {
	if c.Nodes < 0 {
		return cfgErr("nodes", "must not be negative, got %d", c.Nodes)
	}
	if c.NodeTablePath == "" {
		if c.Nodes == 0 {
			return cfgErr("nodes", "no nodes: set nodes ≥ 1 or node_table_path")
		}
		if len(c.Classes) == 0 {
			return cfgErr("classes", "no node classes to draw %d nodes from", c.Nodes)
		}
	}
	names := map[string]bool{}
	total := 0.0
	for i, cl := range c.Classes {
		k := fmt.Sprintf("classes[%d].", i)
		if cl.Name == "" {
			return cfgErr(k+"name", "empty class name")
		}
		if names[cl.Name] {
			return cfgErr(k+"name", "duplicate class name %q", cl.Name)
		}
		names[cl.Name] = true
		for _, p := range []struct {
			key string
			v   float64
			min float64 // value must be > min (or ≥ when incl)
			inc bool
		}{
			{"share", cl.Share, 0, true},
			{"peak_tflops", cl.PeakTflops, 0, false},
			{"utilization", cl.Utilization, 0, false},
			{"bw_up_mbps", cl.BwUpMbps, 0, false},
			{"bw_up_sigma", cl.BwUpSigma, 0, true},
			{"bw_down_mbps", cl.BwDownMbps, 0, false},
			{"bw_down_sigma", cl.BwDownSigma, 0, true},
			{"access_latency_ms", cl.AccessLatencyMs, 0, true},
		} {
			if !finite(p.v) || p.v < p.min || (!p.inc && p.v == p.min) {
				rel := "positive"
				if p.inc {
					rel = "non-negative"
				}
				return cfgErr(k+p.key, "must be %s and finite, got %g", rel, p.v)
			}
		}
		if cl.Utilization > 1 {
			return cfgErr(k+"utilization", "is a fraction of peak, got %g > 1", cl.Utilization)
		}
		total += cl.Share
	}
	if c.NodeTablePath == "" && total == 0 {
		return cfgErr("classes", "shares sum to 0")
	}
	switch c.Latency.Model {
	case LatencyCoords:
		if !finite(c.Latency.SpanMs) || c.Latency.SpanMs < 0 {
			return cfgErr("latency.span_ms", "must be non-negative, got %g", c.Latency.SpanMs)
		}
		if len(c.Latency.MatrixMs) > 0 || c.Latency.MatrixPath != "" {
			return cfgErr("latency.model", "is coords but a latency matrix is set")
		}
	case LatencyMatrix:
		if (len(c.Latency.MatrixMs) > 0) == (c.Latency.MatrixPath != "") {
			return cfgErr("latency.matrix_ms", "model matrix needs exactly one of matrix_ms and matrix_path")
		}
		if err := checkMatrix(c.Latency.MatrixMs, c.Nodes); err != nil {
			return err
		}
	default:
		return cfgErr("latency.model", "unknown latency model %q (want coords or matrix)", c.Latency.Model)
	}
	if _, err := c.Sharing.Resolve(); err != nil {
		return err
	}
	s := c.Store
	for _, p := range []struct {
		key string
		v   float64
	}{{"store.bw_up_mbps", s.BwUpMbps}, {"store.bw_down_mbps", s.BwDownMbps},
		{"store.access_latency_ms", s.AccessLatencyMs}} {
		if !finite(p.v) || p.v < 0 {
			return cfgErr(p.key, "must be non-negative (0: unlimited), got %g", p.v)
		}
	}
	if !finite(s.XMs) || !finite(s.YMs) {
		return cfgErr("store.x_ms", "store coordinates must be finite")
	}
	ch := c.Churn
	if !finite(ch.MtbfS) || ch.MtbfS < 0 {
		return cfgErr("churn.mtbf_s", "must be non-negative (0: no random failures), got %g", ch.MtbfS)
	}
	if ch.MtbfS > 0 {
		if !finite(ch.MeanDowntimeS) || ch.MeanDowntimeS <= 0 {
			return cfgErr("churn.mean_downtime_s", "must be positive when mtbf_s is set, got %g", ch.MeanDowntimeS)
		}
		if !finite(ch.HorizonS) || ch.HorizonS <= 0 {
			return cfgErr("churn.horizon_s", "must be positive when mtbf_s is set, got %g", ch.HorizonS)
		}
	} else if ch.MeanDowntimeS != 0 {
		return cfgErr("churn.mean_downtime_s", "is set but churn.mtbf_s is 0, so it would do nothing")
	}
	n := c.Nodes
	for i, e := range ch.Events {
		k := fmt.Sprintf("churn.events[%d].", i)
		if e.Node < 0 || (n > 0 && e.Node >= n) {
			return cfgErr(k+"node", "node %d out of range [0, %d)", e.Node, n)
		}
		if !finite(e.CrashS) || e.CrashS < 0 {
			return cfgErr(k+"crash_s", "must be a non-negative time, got %g", e.CrashS)
		}
		if !finite(e.RejoinS) || (e.RejoinS != 0 && e.RejoinS <= e.CrashS) {
			return cfgErr(k+"rejoin_s", "must be after crash_s (%g) or 0 for never, got %g", e.CrashS, e.RejoinS)
		}
	}
	for i, sl := range c.Slowdowns {
		k := fmt.Sprintf("slowdowns[%d].", i)
		if sl.Node < -1 || (n > 0 && sl.Node >= n) {
			return cfgErr(k+"node", "node %d out of range (-1 for all, or [0, %d))", sl.Node, n)
		}
		if !finite(sl.StartS) || sl.StartS < 0 {
			return cfgErr(k+"start_s", "must be a non-negative time, got %g", sl.StartS)
		}
		if !finite(sl.EndS) || (sl.EndS != 0 && sl.EndS <= sl.StartS) {
			return cfgErr(k+"end_s", "must be after start_s (%g) or 0 for ever, got %g", sl.StartS, sl.EndS)
		}
		if !finite(sl.Factor) || sl.Factor <= 0 {
			return cfgErr(k+"factor", "must be positive (2 = twice as slow), got %g", sl.Factor)
		}
	}
	return nil
}

func checkMatrix(m [][]float64, n int) error {
	if len(m) == 0 {
		return nil
	}
	if n > 0 && len(m) != n {
		return cfgErr("latency.matrix_ms", "has %d rows for %d nodes", len(m), n)
	}
	for i, row := range m {
		if len(row) != len(m) {
			return cfgErr("latency.matrix_ms", "row %d has %d entries, want %d", i, len(row), len(m))
		}
		for j, v := range row {
			if !finite(v) || v < 0 {
				return cfgErr("latency.matrix_ms", "entry [%d][%d] = %g must be a non-negative latency", i, j, v)
			}
		}
	}
	return nil
}

// Resolve turns the configuration into the sharing parameters it selects.
func (s SharingConfig) Resolve() (Sharing, error) {
	var sh Sharing
	switch s.Model {
	case ModelRaw:
		sh = Raw()
		for _, p := range []struct {
			key string
			v   float64
		}{{"latency_factor", s.LatencyFactor}, {"bandwidth_factor", s.BandwidthFactor},
			{"weight_s_bytes", s.WeightSBytes}, {"cross_traffic", s.CrossTraffic}} {
			if p.v != 0 {
				return sh, cfgErr("sharing."+p.key, "is set to %g but the raw model takes no factors", p.v)
			}
		}
	case ModelMaxMin:
		sh = CM02()
	case ModelLV08:
		sh = LV08()
	default:
		return sh, cfgErr("sharing.model", "unknown sharing model %q (want raw, maxmin or lv08)", s.Model)
	}
	for _, p := range []struct {
		key string
		v   float64
		dst *float64
	}{{"latency_factor", s.LatencyFactor, &sh.LatencyFactor}, {"bandwidth_factor", s.BandwidthFactor, &sh.BandwidthFactor},
		{"weight_s_bytes", s.WeightSBytes, &sh.WeightSBytes}, {"cross_traffic", s.CrossTraffic, &sh.CrossTraffic}} {
		if !finite(p.v) || p.v < 0 {
			return sh, cfgErr("sharing."+p.key, "must be non-negative (0: the model's value), got %g", p.v)
		}
		if p.v != 0 {
			*p.dst = p.v
		}
	}
	if !finite(s.TCPGammaBytes) || s.TCPGammaBytes < 0 {
		return sh, cfgErr("sharing.tcp_gamma_bytes", "must be non-negative (0: no window bound), got %g", s.TCPGammaBytes)
	}
	sh.TCPGammaBytes = s.TCPGammaBytes
	return sh, sh.Validate()
}
