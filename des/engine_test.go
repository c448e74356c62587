package des

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestTieOrder(t *testing.T) {
	e := New()
	var got []string
	add := func(at float64, node int, name string) {
		t.Helper()
		if _, err := e.Schedule(at, Node(node), func() { got = append(got, name) }); err != nil {
			t.Fatal(err)
		}
	}
	add(2, 0, "t2n0")
	add(1, 5, "t1n5a")
	add(1, 3, "t1n3")
	add(1, 5, "t1n5b")
	add(0.5, 9, "t.5n9")
	e.Run()
	want := []string{"t.5n9", "t1n3", "t1n5a", "t1n5b", "t2n0"}
	if !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	if e.Now() != 2 || e.Fired() != 5 {
		t.Fatalf("now %g fired %d", e.Now(), e.Fired())
	}
}

func TestCancel(t *testing.T) {
	e := New()
	var got []int
	ids := make([]ID, 10)
	for i := range ids {
		ids[i], _ = e.Schedule(float64(i), Node(0), func() { got = append(got, i) })
	}
	if !e.Cancel(ids[3]) || !e.Cancel(ids[0]) || !e.Cancel(ids[9]) {
		t.Fatal("cancel of pending event reported false")
	}
	if e.Cancel(ids[3]) {
		t.Fatal("second cancel reported true")
	}
	if e.Cancel(ID{}) {
		t.Fatal("cancel of zero ID reported true")
	}
	e.Run()
	if want := []int{1, 2, 4, 5, 6, 7, 8}; !slices.Equal(got, want) {
		t.Fatalf("ran %v, want %v", got, want)
	}
	// Items are reused: a stale ID must not cancel the new event.
	var ran bool
	id2, _ := e.Schedule(20, Node(0), func() { ran = true })
	if e.Cancel(ids[1]) {
		t.Fatal("stale ID cancelled a reused item")
	}
	if !e.Pending(id2) {
		t.Fatal("new event not pending")
	}
	e.Run()
	if !ran {
		t.Fatal("event did not run")
	}
}

func TestCallbackSchedulesAtNow(t *testing.T) {
	e := New()
	var got []string
	e.Schedule(1, Node(2), func() {
		got = append(got, "a")
		// Same time, lower node: still runs (after a, since a already ran).
		e.Schedule(1, Node(0), func() { got = append(got, "c") })
	})
	e.Schedule(1, Node(3), func() { got = append(got, "b") })
	e.Run()
	if want := []string{"a", "c", "b"}; !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
}

func TestErrors(t *testing.T) {
	e := New()
	e.Schedule(5, Node(0), func() {})
	e.Step()
	for _, tc := range []struct {
		name string
		at   float64
		fn   func()
	}{
		{"past", 4, func() {}},
		{"nan", math.NaN(), func() {}},
		{"inf", math.Inf(1), func() {}},
		{"nil", 6, nil},
	} {
		if _, err := e.Schedule(tc.at, Node(0), tc.fn); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	if _, err := e.Schedule(4, Node(0), func() {}); !errors.Is(err, ErrPast) {
		t.Errorf("past: %v, want ErrPast", err)
	}
	if _, err := e.After(-1, Node(0), func() {}); err == nil {
		t.Error("negative delay accepted")
	}
	if _, err := NewAt(math.Inf(-1)); err == nil {
		t.Error("NewAt(-Inf) accepted")
	}
}

func TestRunUntil(t *testing.T) {
	e := New()
	n := 0
	for i := 1; i <= 5; i++ {
		e.Schedule(float64(i), Node(0), func() { n++ })
	}
	e.RunUntil(3)
	if n != 3 || e.Now() != 3 || e.Len() != 2 {
		t.Fatalf("n=%d now=%g len=%d", n, e.Now(), e.Len())
	}
	e.RunUntil(3.5)
	if e.Now() != 3.5 {
		t.Fatalf("now=%g, want 3.5", e.Now())
	}
	if ev, ok := e.Peek(); !ok || ev.Time != 4 {
		t.Fatalf("peek %v %v", ev, ok)
	}
}

// TestAgainstSort schedules and cancels random events and checks that the
// engine fires the survivors in the order a plain sort gives.
func TestAgainstSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	e := New()
	type rec struct {
		ev Event
		id ID
	}
	var all []rec
	var fired []Event
	e.Trace = func(ev Event) { fired = append(fired, ev) }
	for i := 0; i < 5000; i++ {
		// Few distinct times and nodes, so ties are common.
		at := float64(rng.IntN(50)) / 4
		k := Key{Class: Class(rng.IntN(3)), Node: rng.IntN(7)}
		id, err := e.Schedule(at, k, func() {})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, rec{Event{at, k, uint64(i + 1)}, id})
	}
	var want []Event
	for _, r := range all {
		if rng.IntN(3) == 0 {
			if !e.Cancel(r.id) {
				t.Fatal("cancel failed")
			}
			continue
		}
		want = append(want, r.ev)
	}
	slices.SortFunc(want, func(a, b Event) int {
		switch {
		case a.Time != b.Time:
			if a.Time < b.Time {
				return -1
			}
			return 1
		case a.Class != b.Class:
			return int(a.Class) - int(b.Class)
		case a.Node != b.Node:
			return a.Node - b.Node
		case a.Seq < b.Seq:
			return -1
		case a.Seq > b.Seq:
			return 1
		}
		return 0
	})
	e.Run()
	if !slices.Equal(fired, want) {
		t.Fatalf("fired %d events in a different order than sorted (%d)", len(fired), len(want))
	}
}

func ExampleEngine() {
	e := New()
	e.Schedule(1.5, Node(1), func() { fmt.Println("node 1 at", e.Now()) })
	e.Schedule(1.5, Node(0), func() { fmt.Println("node 0 at", e.Now()) })
	id, _ := e.Schedule(1.0, Node(0), func() { fmt.Println("never runs") })
	e.Cancel(id)
	for e.Step() {
	}
	// Output:
	// node 0 at 1.5
	// node 1 at 1.5
}

func BenchmarkScheduleStep(b *testing.B) {
	e := New()
	rng := rand.New(rand.NewPCG(1, 1))
	fn := func() {}
	for i := 0; i < 1000; i++ {
		e.Schedule(rng.Float64(), Node(i), fn)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.Schedule(e.Now()+rng.Float64(), Node(i&1023), fn)
		e.Step()
	}
}

func TestLenAndPeekSkipCancelled(t *testing.T) {
	e := New()
	a, _ := e.Schedule(1, Node(0), func() {})
	e.Schedule(2, Node(0), func() {})
	if e.Len() != 2 {
		t.Fatalf("Len %d, want 2", e.Len())
	}
	e.Cancel(a)
	if e.Len() != 1 || e.Pending(a) {
		t.Fatalf("after cancel: Len %d, pending %v", e.Len(), e.Pending(a))
	}
	if ev, ok := e.Peek(); !ok || ev.Time != 2 {
		t.Fatalf("Peek %+v %v, want the event at 2", ev, ok)
	}
	if !e.Step() || e.Now() != 2 || e.Step() || e.Len() != 0 {
		t.Fatal("cancelled event ran or the queue is not empty")
	}
}

// TestCompaction cancels most of many far-future events: the heap must shed
// them, and the survivors still run in order.
func TestCompaction(t *testing.T) {
	e := New()
	rng := rand.New(rand.NewPCG(3, 4))
	var ids []ID
	var want []float64
	for i := range 10000 {
		at := 1000 + rng.Float64()*1000
		id, _ := e.Schedule(at, Node(i), func() {})
		if i%10 == 0 {
			want = append(want, at)
		} else {
			ids = append(ids, id)
		}
	}
	for _, id := range ids {
		e.Cancel(id)
	}
	if len(e.heap) > 2*e.Len()+1025 {
		t.Fatalf("heap holds %d entries for %d live events", len(e.heap), e.Len())
	}
	var got []float64
	e.Trace = func(ev Event) { got = append(got, ev.Time) }
	e.Run()
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("ran %d events, want %d in time order", len(got), len(want))
	}
}
