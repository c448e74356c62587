package netmodel

import (
	"math"
	"testing"

	"github.com/locosim/locosim/des"
)

// A link whose capacity halves for a while slows exactly the transfers on
// it, by exactly the capacity they lost.
func TestSetBandwidthClosedForm(t *testing.T) {
	for _, sh := range []Sharing{Raw(), plain()} {
		// 80 Mbit/s = 10 MB/s everywhere, access latency 0 (a lone flow
		// then takes S/B).
		c := flat(3, 80, 80, 0, 0, sh)
		net := netFor(t, c)
		eng := net.Engine()
		var end01, end21 float64
		if _, err := net.Transfer(0, 1, 10e6, func(at float64) { end01 = at }); err != nil {
			t.Fatal(err)
		}
		if _, err := net.Transfer(2, c.StoreID(), 10e6, func(at float64) { end21 = at }); err != nil {
			t.Fatal(err)
		}
		// Node 0's uplink runs at half speed from 0.2 s to 0.6 s: by 0.2 s
		// 2 MB are through, 2 MB more by 0.6 s, the last 6 MB take 0.6 s.
		eng.Schedule(0.2, des.Node(-1), func() {
			if err := net.SetBandwidth(0, true, 40); err != nil {
				t.Error(err)
			}
		})
		eng.Schedule(0.6, des.Node(-1), func() {
			if err := net.SetBandwidth(0, true, net.Bandwidth(0, true)); err != nil {
				t.Error(err)
			}
		})
		eng.Run()
		if !near(end01, 1.2, 1e-9) {
			t.Errorf("%s: the degraded transfer ended at %.12g, want 1.2", sh.Model, end01)
		}
		if !near(end21, 1.0, 1e-9) {
			t.Errorf("%s: a transfer off the degraded link ended at %.12g, want 1", sh.Model, end21)
		}
	}
	net := netFor(t, flat(2, 80, 80, 0, 0, plain()))
	for _, bad := range []float64{0, -1, math.Inf(1), math.NaN()} {
		if err := net.SetBandwidth(0, true, bad); err == nil {
			t.Errorf("bandwidth %g accepted", bad)
		}
	}
	if err := net.SetBandwidth(9, true, 1); err == nil {
		t.Error("a missing endpoint accepted")
	}
}

// A partition between two sides delays exactly the transfers that cross it,
// by exactly how long it lasts while they are under way; transfers within a
// side, on other links, do not move.
func TestPartitionDelaysOnlyCrossingFlows(t *testing.T) {
	for _, sh := range []Sharing{Raw(), plain()} {
		c := flat(4, 80, 80, 5, 5, sh)
		side := make([]bool, c.Endpoints())
		side[0], side[1] = true, true // {0, 1} against {2, 3, store}
		ends := func(partition bool) [3]float64 {
			net := netFor(t, c)
			eng := net.Engine()
			var e [3]float64
			// 0→2 crosses; 1→0 and 3→store stay within a side, on other links.
			for k, p := range [][2]int{{0, 2}, {1, 0}, {3, c.StoreID()}} {
				if _, err := net.Transfer(p[0], p[1], 10e6, func(at float64) { e[k] = at }); err != nil {
					t.Fatal(err)
				}
			}
			if partition {
				eng.Schedule(0.3, des.Node(-1), func() {
					id, err := net.Partition(side)
					if err != nil {
						t.Fatal(err)
					}
					eng.Schedule(0.8, des.Node(-1), func() { net.Heal(id) })
				})
			}
			eng.Run()
			return e
		}
		a, b := ends(false), ends(true)
		if !near(b[0], a[0]+0.5, 1e-9) {
			t.Errorf("%s: the crossing transfer ended at %.12g, want %.12g + 0.5", sh.Model, b[0], a[0])
		}
		if b[1] != a[1] || b[2] != a[2] {
			t.Errorf("%s: transfers within a side moved: %v vs %v", sh.Model, b[1:], a[1:])
		}
	}
	// Alone, a crossing flow is delayed by the partition's length exactly.
	c := flat(2, 80, 80, 0, 0, plain())
	net := netFor(t, c)
	var end float64
	if _, err := net.Transfer(0, 1, 10e6, func(at float64) { end = at }); err != nil {
		t.Fatal(err)
	}
	side := []bool{true, false, false}
	net.Engine().Schedule(0.25, des.Node(-1), func() {
		id, _ := net.Partition(side)
		net.Engine().Schedule(0.75, des.Node(-1), func() { net.Heal(id) })
	})
	net.Engine().Run()
	if !near(end, 1.5, 1e-9) {
		t.Errorf("a lone crossing transfer ended at %.12g, want 1 + 0.5", end)
	}
	// One that starts during the partition waits for it to heal.
	net = netFor(t, c)
	id, _ := net.Partition(side)
	if _, err := net.Transfer(1, 0, 10e6, func(at float64) { end = at }); err != nil {
		t.Fatal(err)
	}
	net.Engine().Schedule(2, des.Node(-1), func() { net.Heal(id) })
	net.Engine().Run()
	if !near(end, 3, 1e-9) {
		t.Errorf("a transfer started during the partition ended at %.12g, want 2 + 1", end)
	}
	if _, err := net.Partition([]bool{true}); err == nil {
		t.Error("a partition of the wrong length accepted")
	}
}
