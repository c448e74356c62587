// Package des is a deterministic discrete-event engine: a priority queue of
// callbacks ordered by simulated time, with ties broken by node id and then by
// the order in which events were scheduled.
//
// The engine owns no clock but its own, does no I/O and starts no goroutines,
// so a run is a pure function of what is scheduled on it. Tests drive it one
// event at a time with Step; simulations call Run or RunUntil.
//
// The engine lives in its own package under sim so that the network model
// (package netmodel) can schedule on it while package sim, which holds the
// training strategies, imports both.
package des

import (
	"errors"
	"fmt"
	"math"
)

// ID names a scheduled event so that it can be cancelled. The zero ID names
// no event.
type ID struct {
	it  *item
	seq uint64
}

// Valid reports whether id was returned by Schedule (it may have fired or been
// cancelled since).
func (id ID) Valid() bool { return id.it != nil }

// Event describes a fired or pending event: when, on behalf of which node, and
// its scheduling sequence number (unique, increasing).
type Event struct {
	Time float64 // simulated seconds
	Node int     // tie-breaker after Time; engine-internal events use large ids
	Seq  uint64  // tie-breaker after Node: scheduling order
}

// Engine is a discrete-event engine. The zero value is not usable; call New.
type Engine struct {
	now   float64
	seq   uint64
	heap  []entry // 4-ary min-heap; keys are inline so comparisons stay in cache
	free  []*item
	fired uint64

	// Trace, when set, is called with every event just before its callback
	// runs. Tests use it to compare event sequences.
	Trace func(Event)
}

type item struct {
	ev  Event
	fn  func()
	idx int // position in the heap, -1 when not queued
}

type entry struct {
	ev Event
	it *item
}

// ErrPast is returned when an event is scheduled before the current time.
var ErrPast = errors.New("des: event time is before the current time")

// New returns an engine whose clock reads 0.
func New() *Engine { return &Engine{} }

// NewAt returns an engine whose clock starts at t seconds.
func NewAt(t float64) (*Engine, error) {
	if math.IsNaN(t) || math.IsInf(t, 0) {
		return nil, fmt.Errorf("des: start time %v is not finite", t)
	}
	return &Engine{now: t}, nil
}

// Now is the current simulated time in seconds.
func (e *Engine) Now() float64 { return e.now }

// Len is the number of pending events.
func (e *Engine) Len() int { return len(e.heap) }

// Fired is the number of events run so far.
func (e *Engine) Fired() uint64 { return e.fired }

// Schedule queues fn to run at time at on behalf of node. Events at equal
// times run in increasing node order, then in scheduling order. Scheduling at
// the current time is allowed; scheduling in the past, at a non-finite time
// or with a nil callback is an error.
func (e *Engine) Schedule(at float64, node int, fn func()) (ID, error) {
	if math.IsNaN(at) || math.IsInf(at, 0) {
		return ID{}, fmt.Errorf("des: event time %v is not finite", at)
	}
	if at < e.now {
		return ID{}, fmt.Errorf("%w (%g < %g)", ErrPast, at, e.now)
	}
	if fn == nil {
		return ID{}, errors.New("des: nil event callback")
	}
	var it *item
	if n := len(e.free); n > 0 {
		it = e.free[n-1]
		e.free = e.free[:n-1]
	} else {
		it = new(item)
	}
	e.seq++
	it.ev = Event{Time: at, Node: node, Seq: e.seq}
	it.fn = fn
	it.idx = len(e.heap)
	e.heap = append(e.heap, entry{it.ev, it})
	e.up(it.idx)
	return ID{it: it, seq: e.seq}, nil
}

// After schedules fn delay seconds from now; see Schedule.
func (e *Engine) After(delay float64, node int, fn func()) (ID, error) {
	if delay < 0 {
		return ID{}, fmt.Errorf("des: negative delay %g", delay)
	}
	return e.Schedule(e.now+delay, node, fn)
}

// Pending reports whether id is still queued.
func (e *Engine) Pending(id ID) bool {
	return id.it != nil && id.it.ev.Seq == id.seq && id.it.idx >= 0
}

// Cancel removes a pending event. It reports whether the event was pending;
// cancelling a fired, cancelled or zero ID is a no-op that returns false.
func (e *Engine) Cancel(id ID) bool {
	if !e.Pending(id) {
		return false
	}
	it := id.it
	i := it.idx
	last := len(e.heap) - 1
	if i != last {
		e.swap(i, last)
	}
	e.heap = e.heap[:last]
	if i != last {
		if !e.down(i) {
			e.up(i)
		}
	}
	e.release(it)
	return true
}

// Peek returns the next event without running it.
func (e *Engine) Peek() (Event, bool) {
	if len(e.heap) == 0 {
		return Event{}, false
	}
	return e.heap[0].ev, true
}

// Step runs the earliest pending event, advancing the clock to its time. It
// reports false when nothing is pending.
func (e *Engine) Step() bool {
	if len(e.heap) == 0 {
		return false
	}
	it := e.heap[0].it
	last := len(e.heap) - 1
	e.swap(0, last)
	e.heap = e.heap[:last]
	if last > 0 {
		e.down(0)
	}
	ev, fn := it.ev, it.fn
	e.release(it)
	e.now = ev.Time
	e.fired++
	if e.Trace != nil {
		e.Trace(ev)
	}
	fn()
	return true
}

// Run steps until no event is pending.
func (e *Engine) Run() {
	for e.Step() {
	}
}

// RunUntil runs every event with time ≤ t and then sets the clock to t (if
// it is not already later). Events scheduled at t by those events also run.
func (e *Engine) RunUntil(t float64) error {
	if math.IsNaN(t) {
		return errors.New("des: RunUntil(NaN)")
	}
	for len(e.heap) > 0 && e.heap[0].ev.Time <= t {
		e.Step()
	}
	if t > e.now && !math.IsInf(t, 1) {
		e.now = t
	}
	return nil
}

func (e *Engine) release(it *item) {
	it.idx = -1
	it.fn = nil
	// Bump the sequence so stale IDs no longer match once the item is reused.
	it.ev.Seq = 0
	e.free = append(e.free, it)
}

func less(a, b *Event) bool {
	if a.Time != b.Time {
		return a.Time < b.Time
	}
	if a.Node != b.Node {
		return a.Node < b.Node
	}
	return a.Seq < b.Seq
}

func (e *Engine) swap(i, j int) {
	h := e.heap
	h[i], h[j] = h[j], h[i]
	h[i].it.idx = i
	h[j].it.idx = j
}

func (e *Engine) up(j int) {
	for j > 0 {
		i := (j - 1) / 4
		if !less(&e.heap[j].ev, &e.heap[i].ev) {
			break
		}
		e.swap(i, j)
		j = i
	}
}

func (e *Engine) down(i0 int) bool {
	i := i0
	n := len(e.heap)
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		m := c
		for k := c + 1; k < c+4 && k < n; k++ {
			if less(&e.heap[k].ev, &e.heap[m].ev) {
				m = k
			}
		}
		if !less(&e.heap[m].ev, &e.heap[i].ev) {
			break
		}
		e.swap(i, m)
		i = m
	}
	return i > i0
}
