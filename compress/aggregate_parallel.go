package compress

import (
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// AggregateEncoded spreads the tensors of payloads of the fixed layout
// over GOMAXPROCS goroutines. Each tensor is still aggregated by one of
// them, chunk by chunk and peer by peer in order, so the bits do not
// depend on how many there are.

// parallelMin is how many values (peers × values kept per payload) make
// a parallel aggregation worth its goroutines; tests lower it.
var parallelMin = 1 << 17

// aggregateWorkers is how many goroutines AggregateEncoded may use.
var aggregateWorkers = func() int { return runtime.GOMAXPROCS(0) }

// parallel reports whether R payloads of the fixed layout are worth
// aggregating on several goroutines.
func (c *codec) parallel(R int) bool {
	return c.fixedLen != 0 && len(c.order) > 0 && R*c.kept >= parallelMin && aggregateWorkers() > 1
}

// aggregateParallel aggregates payloads of the fixed layout (st, whose
// headers were checked) into dst, on up to aggregateWorkers goroutines
// that take the small tensors (all at once) and then the others, largest
// first. It reports false, with dst garbage, if some payload or tensor
// fails a check: the serial path then names the first problem.
func (c *codec) aggregateParallel(s *scratch, dst []float32, st []stream, entropy bool) bool {
	var next atomic.Int32
	var failed atomic.Bool
	work := func(s *scratch, st []stream) {
		for !failed.Load() {
			t := int(next.Add(1)) - 1
			switch {
			case t == 0:
				if c.small == nil {
					continue
				}
				nonFinite := reuse(s.nonFinite, len(c.small))
				s.nonFinite = nonFinite
				s.luts = reuse(s.luts, 1<<c.bits)
				if !c.addSmall(s, dst, st, nonFinite) || slices.Contains(nonFinite, true) {
					failed.Store(true)
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
			defer c.pool.Put(ws)
			work(ws, own)
		})
	}
	work(s, st)
	wg.Wait()
	return !failed.Load()
}
