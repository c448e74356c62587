package compress

import (
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// AggregateEncoded spreads the tensors over GOMAXPROCS goroutines. Each
// tensor is still aggregated by one of them, chunk by chunk and peer by
// peer in order, so the bits do not depend on how many there are.

// parallelMin is how many values (peers × values kept per payload) make
// a parallel aggregation worth its goroutines; tests lower it.
var parallelMin = 1 << 17

// aggregateWorkers is how many goroutines AggregateEncoded may use.
var aggregateWorkers = func() int { return runtime.GOMAXPROCS(0) }

// parallel reports whether R streamed payloads are worth aggregating on
// several goroutines.
func (c *codec) parallel(R int) bool {
	return len(c.order) > 0 && R*c.kept >= parallelMin && aggregateWorkers() > 1
}

// aggregateParallel aggregates streamed payloads (st, whose headers were
// checked) into dst, on up to aggregateWorkers goroutines that take the
// small tensors (all at once) and then the others, largest first. Payloads
// without the fixed layout are parsed first, into their streams' secs
// (allFixed: there are none). It reports false, with dst garbage, if some
// payload or tensor fails a check: the serial path then names the first
// problem.
func (c *codec) aggregateParallel(s *scratch, dst []float32, st []stream, entropy, allFixed bool) bool {
	if !allFixed && !c.parseSections(s, st) {
		return false
	}
	var next atomic.Int32
	var failed atomic.Bool
	work := func(s *scratch, st []stream) {
		for !failed.Load() {
			t := int(next.Add(1)) - 1
			switch {
			case t == 0 && allFixed:
				if c.small == nil {
					continue
				}
				nonFinite := reuse(s.nonFinite, len(c.small))
				s.nonFinite = nonFinite
				s.luts = reuse(s.luts, 1<<c.bits)
				if !c.addSmall(s, dst, st, nonFinite) || slices.Contains(nonFinite, true) {
					failed.Store(true)
				}
			case t == 0:
				for _, pl := range c.small {
					if c.aggregatePlan(s, pl, dst[pl.offset:pl.offset+pl.size], st, entropy) != nil {
						failed.Store(true)
						break
					}
				}
			case t <= len(c.order):
				pl := c.order[t-1]
				if c.aggregatePlan(s, pl, dst[pl.offset:pl.offset+pl.size], st, entropy) != nil {
					failed.Store(true)
				}
			default:
				return
			}
		}
	}
	var wg sync.WaitGroup
	for range min(aggregateWorkers(), len(c.order)+1) - 1 {
		// Each goroutine reads the tensors through streams of its own,
		// copied before any of them moves.
		ws := c.pool.Get().(*scratch)
		own := reuse(ws.streams, len(st))
		ws.streams = own
		copy(own, st)
		wg.Go(func() {
			work(ws, own)
			for r := range own {
				own[r].secs = nil
			}
			c.pool.Put(ws)
		})
	}
	work(s, st)
	wg.Wait()
	return !failed.Load()
}

// parseSections reads every tensor's sections of the payloads in st
// without the fixed layout into their secs, and reports whether all of
// them parse, with no trailing bytes.
func (c *codec) parseSections(s *scratch, st []stream) bool {
	P := len(c.plans)
	table := reuse(s.sections, P*len(st))
	s.sections = table
	for r := range st {
		x := &st[r]
		if x.fixed {
			continue
		}
		d := x.d
		secs := table[r*P : (r+1)*P : (r+1)*P]
		for i, pl := range c.plans {
			sec, vb, err := c.tensorSections(&d, pl, false)
			if err != nil || d.err != nil {
				return false
			}
			secs[i] = sections{sec, vb}
		}
		if len(d.b) != 0 {
			return false
		}
		x.secs = secs
	}
	return true
}
