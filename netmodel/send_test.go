package netmodel

import (
	"slices"
	"testing"
)

// Each node sends to the next: every send takes the node-to-node latency
// plus S/B, and each node holds its own payload and its predecessor's.
func TestPointToPointClosedForm(t *testing.T) {
	const n, bytes = 3, 5_000_000
	c := flat(n, 80, 80, 5, 5, plain()) // 10 MB/s, 10 ms between nodes
	res, err := PointToPoint{}.Run(netFor(t, c), ExchangeSpec{ReadyS: readyAt(n, 0), PayloadBytes: []int64{bytes}})
	if err != nil {
		t.Fatal(err)
	}
	want := 0.010 + bytes/(80*BytesPerMbps)
	for i := range n {
		if !near(res.Nodes[i].EndS, want, 1e-9) {
			t.Errorf("node %d ended at %.9g, want %.9g", i, res.Nodes[i].EndS, want)
		}
		prev := (i + n - 1) % n
		if got, w := res.Received[i], []int{min(i, prev), max(i, prev)}; !slices.Equal(got, w) {
			t.Errorf("node %d holds %v, want %v", i, got, w)
		}
	}
	if len(res.Aggregate) != 0 {
		t.Errorf("aggregate %v: no payload is held by everyone", res.Aggregate)
	}
	// A node with no receiver only receives.
	res, err = PointToPoint{Dest: []int{1, -1, 1}}.Run(netFor(t, c), ExchangeSpec{ReadyS: readyAt(n, 0), PayloadBytes: []int64{bytes}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Received[1], []int{0, 1, 2}) || res.Nodes[1].BytesUp != 0 || res.Nodes[1].BytesDown != 2*bytes {
		t.Errorf("node 1: holds %v, %+v", res.Received[1], res.Nodes[1])
	}
	// Two payloads share node 1's downlink: 2S/B.
	if want := 0.010 + 2*bytes/(80*BytesPerMbps); !near(res.Nodes[1].EndS, want, 1e-9) {
		t.Errorf("node 1 ended at %.9g, want %.9g", res.Nodes[1].EndS, want)
	}
	for _, bad := range [][]int{{1, 2}, {0, 2, 1}, {1, 3, 0}} {
		if _, err := (PointToPoint{Dest: bad}).Run(netFor(t, c), ExchangeSpec{ReadyS: readyAt(n, 0), PayloadBytes: []int64{1}}); err == nil {
			t.Errorf("destinations %v accepted", bad)
		}
	}
}

// Gossip pairs the nodes that are up at random, each round anew; partners
// swap payloads in L + S/B.
func TestPairwiseGossip(t *testing.T) {
	const n, bytes = 6, 5_000_000
	c := flat(n, 80, 80, 5, 5, plain())
	net := netFor(t, c)
	var pairings [][]int
	start := 0.0
	for round := range 4 {
		res, err := PairwiseGossip{}.Run(net, ExchangeSpec{Round: round, StartS: start, ReadyS: readyAt(n, start), PayloadBytes: []int64{bytes}})
		if err != nil {
			t.Fatal(err)
		}
		partner := make([]int, n)
		for i := range n {
			got := res.Received[i]
			if len(got) != 2 || !slices.Contains(got, i) {
				t.Fatalf("round %d: node %d holds %v", round, i, got)
			}
			partner[i] = got[0] + got[1] - i
		}
		for i, p := range partner {
			if partner[p] != i {
				t.Fatalf("round %d: %d's partner is %d, whose partner is %d", round, i, p, partner[p])
			}
		}
		if want := start + 0.010 + bytes/(80*BytesPerMbps); !near(res.EndS, want, 1e-9) {
			t.Errorf("round %d ended at %.9g, want %.9g", round, res.EndS, want)
		}
		pairings = append(pairings, partner)
		start = res.EndS
	}
	if slices.Equal(pairings[0], pairings[1]) && slices.Equal(pairings[1], pairings[2]) && slices.Equal(pairings[2], pairings[3]) {
		t.Error("the pairing never changed")
	}
	// With an odd count one node sits out and holds its own payload only.
	res, err := PairwiseGossip{}.Run(netFor(t, flat(3, 80, 80, 5, 5, plain())), ExchangeSpec{ReadyS: readyAt(3, 0), PayloadBytes: []int64{bytes}})
	if err != nil {
		t.Fatal(err)
	}
	alone := 0
	for _, got := range res.Received {
		if len(got) == 1 {
			alone++
		}
	}
	if alone != 1 {
		t.Errorf("three nodes: %v", res.Received)
	}
}
