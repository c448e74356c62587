package netmodel

import "fmt"

// Pattern names for ExchangeConfig.Pattern.
const (
	PatternStore  = "store"  // ObjectStoreAllGather
	PatternP2P    = "p2p"    // P2PAllGather
	PatternRing   = "ring"   // RingAllReduce
	PatternPS     = "ps"     // ParameterServer
	PatternSend   = "send"   // PointToPoint
	PatternGossip = "gossip" // PairwiseGossip
)

// ExchangeConfig selects and tunes an exchange pattern. Each sub-section
// tunes the patterns named in its comment.
type ExchangeConfig struct {
	Pattern string       `mapstructure:"pattern" yaml:"pattern"` // store, p2p, ring, ps, send or gossip
	Gather  GatherConfig `mapstructure:"gather" yaml:"gather"`   // store and p2p
	Ring    RingConfig   `mapstructure:"ring" yaml:"ring"`       // ring
	PS      PSConfig     `mapstructure:"ps" yaml:"ps"`           // ps
	Send    SendConfig   `mapstructure:"send" yaml:"send"`       // send
}

// SendConfig tunes the point-to-point send.
type SendConfig struct {
	// Dest lists each node's receiver (−1: none); empty: each node sends to
	// the next (i+1 mod n).
	Dest []int `mapstructure:"dest" yaml:"dest"`
}

// GatherConfig holds Templar's gather rules.
type GatherConfig struct {
	// Start is when a node starts downloading: GatherBarrier (once every
	// payload has landed or failed, or at the deadline) or GatherOwn (as
	// soon as its own upload is done, each download once that peer's
	// payload has landed, polled every retry_s).
	Start          string  `mapstructure:"start" yaml:"start"`
	Peers          int     `mapstructure:"peers" yaml:"peers"`
	ReservePeers   int     `mapstructure:"reserve_peers" yaml:"reserve_peers"`
	RetryS         float64 `mapstructure:"retry_s" yaml:"retry_s"`
	PeerTimeoutS   float64 `mapstructure:"peer_timeout_s" yaml:"peer_timeout_s"`
	GatherTimeoutS float64 `mapstructure:"gather_timeout_s" yaml:"gather_timeout_s"`
}

// RingConfig tunes ring all-reduce.
type RingConfig struct {
	Order    string  `mapstructure:"order" yaml:"order"` // bandwidth or index
	RestartS float64 `mapstructure:"restart_s" yaml:"restart_s"`
}

// PSConfig tunes the parameter server.
type PSConfig struct {
	Server         int   `mapstructure:"server" yaml:"server"` // node id, -1 for the object store
	AggregateBytes int64 `mapstructure:"aggregate_bytes" yaml:"aggregate_bytes"`
}

// DefaultExchangeConfig is Templar's object-store all-gather with its
// published rules; a bandwidth-ordered ring that rebuilds 30 s after a
// failure; a parameter server in the object store.
func DefaultExchangeConfig() ExchangeConfig {
	g := TemplarGather()
	return ExchangeConfig{
		Pattern: PatternStore,
		Gather: GatherConfig{Start: GatherBarrier, Peers: g.Peers, ReservePeers: g.Reserve, RetryS: g.RetryS,
			PeerTimeoutS: g.PeerTimeoutS, GatherTimeoutS: g.GatherTimeoutS},
		Ring: RingConfig{Order: RingByBandwidth, RestartS: 30},
		PS:   PSConfig{Server: -1},
		Send: SendConfig{Dest: []int{}},
	}
}

// Validate checks the configuration; errors name the key (relative to the
// section the integrator mounts it under).
func (c ExchangeConfig) Validate() error {
	_, err := c.Build(0)
	return err
}

// Build returns the configured pattern. nodes bounds node ids (0 skips
// that check).
func (c ExchangeConfig) Build(nodes int) (Pattern, error) {
	g := c.Gather
	gather := ObjectStoreAllGather{Start: g.Start, Peers: g.Peers, Reserve: g.ReservePeers, RetryS: g.RetryS,
		PeerTimeoutS: g.PeerTimeoutS, GatherTimeoutS: g.GatherTimeoutS}
	for _, p := range []struct {
		key string
		bad bool
		msg string
	}{
		{"gather.start", g.Start != GatherBarrier && g.Start != GatherOwn, "must be barrier or own"},
		{"gather.peers", g.Peers < 0, "must be ≥ 0 (0: every node)"},
		{"gather.reserve_peers", g.ReservePeers < 0, "must be ≥ 0"},
		{"gather.retry_s", !finite(g.RetryS) || g.RetryS <= 0, "must be positive"},
		{"gather.peer_timeout_s", !finite(g.PeerTimeoutS) || g.PeerTimeoutS <= 0, "must be positive"},
		{"gather.gather_timeout_s", !finite(g.GatherTimeoutS) || g.GatherTimeoutS <= 0, "must be positive"},
		{"ring.order", c.Ring.Order != RingByBandwidth && c.Ring.Order != RingByIndex, "must be bandwidth or index"},
		{"ring.restart_s", !finite(c.Ring.RestartS) || c.Ring.RestartS < 0, "must be non-negative"},
		{"ps.server", c.PS.Server < -1 || (nodes > 0 && c.PS.Server >= nodes), "must be a node id or -1 for the object store"},
		{"ps.aggregate_bytes", c.PS.AggregateBytes < 0, "must be non-negative (0: the largest payload)"},
	} {
		if p.bad {
			return nil, &ConfigError{Section: &ExchangeSection, Key: p.key, Msg: p.msg}
		}
	}
	switch c.Pattern {
	case PatternStore:
		return gather, nil
	case PatternP2P:
		return P2PAllGather(gather), nil
	case PatternRing:
		return RingAllReduce{Order: c.Ring.Order, RestartS: c.Ring.RestartS}, nil
	case PatternPS:
		return ParameterServer{Server: c.PS.Server, AggregateBytes: c.PS.AggregateBytes}, nil
	case PatternSend:
		p := PointToPoint{}
		if len(c.Send.Dest) > 0 {
			p.Dest = c.Send.Dest
			if nodes > 0 {
				if err := p.validate(nodes); err != nil {
					return nil, &ConfigError{Section: &ExchangeSection, Key: "send.dest", Msg: err.Error()}
				}
			}
		}
		return p, nil
	case PatternGossip:
		return PairwiseGossip{}, nil
	}
	return nil, &ConfigError{Section: &ExchangeSection, Key: "pattern", Msg: fmt.Sprintf("unknown exchange pattern %q (want store, p2p, ring, ps, send or gossip)", c.Pattern)}
}
