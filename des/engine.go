// Package des is a deterministic discrete-event engine: a priority queue of
// callbacks ordered by an explicit key — simulated time, then the event's
// class, then the node it acts for, then the order of scheduling.
//
// The engine owns no clock but its own, does no I/O and starts no goroutines,
// so a run is a pure function of what is scheduled on it. Tests drive it one
// event at a time with Step; simulations call Run or RunUntil.
//
// It is a leaf: the network model (package netmodel) and the run (package
// sim) both schedule on one engine.
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

// Class orders events that fall at the same instant: every event of a lower
// class runs before any of a higher one.
type Class uint8

const (
	// ClassNode is a node's own activity (compute done, a flow's latency
	// elapsed, a timer); at one instant nodes go in increasing id.
	ClassNode Class = iota
	// ClassBarrier is an action that must see every node's events of its
	// instant first: a deadline, a collective launched at a cut-off.
	ClassBarrier
	// ClassSettle comes last: work that settles the consequences of
	// everything else at the instant (the network recomputing its rates).
	ClassSettle
)

// Key is an event's place among events at the same time.
type Key struct {
	Class Class
	Node  int // within a class, lower first
}

// Node is the key of node i's own events.
func Node(i int) Key { return Key{Class: ClassNode, Node: i} }

// Barrier is the key of an event that runs after every node's events at its
// time.
var Barrier = Key{Class: ClassBarrier}

// Settle is the key of an event that runs after everything else at its time.
var Settle = Key{Class: ClassSettle}

// Event describes a fired or pending event: when, its key, and its
// scheduling sequence number (unique, increasing).
type Event struct {
	Time float64 // simulated seconds
	Key          // tie-breaker after Time
	Seq  uint64  // tie-breaker after Key: scheduling order
}

// Engine is a discrete-event engine. The zero value is not usable; call New.
type Engine struct {
	now   float64
	seq   uint64
	heap  []entry // 4-ary min-heap; keys are inline so comparisons stay in cache
	live  int     // queued events not cancelled
	dead  int     // cancelled entries still in the heap
	free  []*item
	fired uint64

	// Trace, when set, is called with every event just before its callback
	// runs. Tests use it to compare event sequences.
	Trace func(Event)
}

// An item carries a scheduled callback. Cancelling only clears it: the
// heap entry stays until it reaches the top and is dropped, which keeps
// cancellation O(1) and the heap free of back-pointers.
type item struct {
	seq uint64 // of the event it holds; 0 once fired, cancelled or free
	fn  func()
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
func (e *Engine) Len() int { return e.live }

// Fired is the number of events run so far.
func (e *Engine) Fired() uint64 { return e.fired }

// Schedule queues fn to run at time at with key k. Events at equal times run
// in increasing key (class, then node), then in scheduling order. Scheduling
// at the current time is allowed; scheduling in the past, at a non-finite
// time or with a nil callback is an error.
func (e *Engine) Schedule(at float64, k Key, fn func()) (ID, error) {
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
	it.seq, it.fn = e.seq, fn
	e.heap = append(e.heap, entry{Event{Time: at, Key: k, Seq: e.seq}, it})
	e.up(len(e.heap) - 1)
	e.live++
	return ID{it: it, seq: e.seq}, nil
}

// After schedules fn delay seconds from now; see Schedule.
func (e *Engine) After(delay float64, k Key, fn func()) (ID, error) {
	if delay < 0 {
		return ID{}, fmt.Errorf("des: negative delay %g", delay)
	}
	return e.Schedule(e.now+delay, k, fn)
}

// Pending reports whether id is still queued.
func (e *Engine) Pending(id ID) bool {
	return id.it != nil && id.seq != 0 && id.it.seq == id.seq
}

// Cancel removes a pending event. It reports whether the event was pending;
// cancelling a fired, cancelled or zero ID is a no-op that returns false.
func (e *Engine) Cancel(id ID) bool {
	if !e.Pending(id) {
		return false
	}
	id.it.seq, id.it.fn = 0, nil
	e.live--
	e.dead++
	if e.dead > 1024 && e.dead > e.live {
		e.compact()
	}
	return true
}

// compact drops cancelled entries and rebuilds the heap, so that events
// cancelled far in the future do not pile up.
func (e *Engine) compact() {
	h := e.heap[:0]
	for _, x := range e.heap {
		if x.it.seq == x.ev.Seq {
			h = append(h, x)
		} else {
			e.release(x.it)
		}
	}
	clear(e.heap[len(h):])
	e.heap = h
	e.dead = 0
	for i := (len(h) - 2) / 4; i >= 0; i-- {
		e.down(i)
	}
}

// top drops cancelled entries from the top of the heap and reports whether
// a live event remains.
func (e *Engine) top() bool {
	for len(e.heap) > 0 {
		h := e.heap[0]
		if h.it.seq == h.ev.Seq {
			return true
		}
		e.pop()
		e.release(h.it)
		e.dead--
	}
	return false
}

func (e *Engine) pop() {
	last := len(e.heap) - 1
	e.heap[0] = e.heap[last]
	e.heap[last] = entry{}
	e.heap = e.heap[:last]
	if last > 0 {
		e.down(0)
	}
}

// Peek returns the next event without running it.
func (e *Engine) Peek() (Event, bool) {
	if !e.top() {
		return Event{}, false
	}
	return e.heap[0].ev, true
}

// Step runs the earliest pending event, advancing the clock to its time. It
// reports false when nothing is pending.
func (e *Engine) Step() bool {
	if !e.top() {
		return false
	}
	h := e.heap[0]
	e.pop()
	fn := h.it.fn
	h.it.seq, h.it.fn = 0, nil
	e.release(h.it)
	e.live--
	e.now = h.ev.Time
	e.fired++
	if e.Trace != nil {
		e.Trace(h.ev)
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
	for e.top() && e.heap[0].ev.Time <= t {
		e.Step()
	}
	if t > e.now && !math.IsInf(t, 1) {
		e.now = t
	}
	return nil
}

// release returns an item to the pool once no heap entry refers to it.
func (e *Engine) release(it *item) {
	e.free = append(e.free, it)
}

func less(a, b *Event) bool {
	if a.Time != b.Time {
		return a.Time < b.Time
	}
	if a.Class != b.Class {
		return a.Class < b.Class
	}
	if a.Node != b.Node {
		return a.Node < b.Node
	}
	return a.Seq < b.Seq
}

func (e *Engine) up(j int) {
	h := e.heap
	x := h[j]
	for j > 0 {
		i := (j - 1) / 4
		if !less(&x.ev, &h[i].ev) {
			break
		}
		h[j] = h[i]
		j = i
	}
	h[j] = x
}

func (e *Engine) down(i int) {
	h := e.heap
	n := len(h)
	x := h[i]
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		m := c
		for k := c + 1; k < c+4 && k < n; k++ {
			if less(&h[k].ev, &h[m].ev) {
				m = k
			}
		}
		if !less(&h[m].ev, &x.ev) {
			break
		}
		h[i] = h[m]
		i = m
	}
	h[i] = x
}
