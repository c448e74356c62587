package sim

import (
	"errors"
	"sync"

	"github.com/locosim/locosim/compress"
)

// A request is work the core hands to the pool: node runs steps inner
// steps from θ, beginning at inner step from, and encodes its payload for
// round. Its result is taken at the simulated moment the payload is due;
// which worker ran it, and when in wall time, changes nothing.
type request struct {
	node, steps, from, round int
	fetch                    bool      // the node fetched θ first (it was stale)
	start                    []float32 // the weights it starts from (nil: θ, or the node's own)

	done chan struct{}
	err  error
	// Its result.
	lossSum   float64
	wire      []byte
	size      compress.Size
	compressT float64 // wall seconds compressing and encoding
	// The incentive layer's attackers: idle work trained nothing, and a
	// copier's payload is made from its source's when it is taken.
	idle, copyPending bool
}

// pool runs one round's requests on the run's workers, one goroutine each,
// in the order they were made (raft's Ready/Advance: the event loop goes on
// while they run, and blocks only when it needs a result that is not there
// yet). θ must not change while a pool is open.
type pool struct {
	r      *Run
	round  int
	from   int
	queue  chan *request
	stale  []bool           // nodes that fetch θ before they compute
	byNode map[int]*request // the latest request of each node
	all    []*request
	wg     sync.WaitGroup
	closed bool
	works  map[int]int // requests made per node (driven runs)
}

func (r *Run) newPool(stale []bool) *pool {
	p := &pool{r: r, round: r.round, from: r.globalStep, stale: stale, queue: make(chan *request, 2*len(r.nodes)+1), byNode: map[int]*request{}}
	for _, w := range r.workers {
		p.wg.Add(1)
		go func(w *Worker) {
			defer p.wg.Done()
			for q := range p.queue {
				q.err = r.local(w, r.nodes[q.node], q)
				close(q.done)
			}
		}(w)
	}
	return p
}

// request asks for node's work of steps inner steps.
func (p *pool) request(node, steps int) *request {
	q := &request{node: node, steps: steps, from: p.from, round: p.round, fetch: p.stale[node], done: make(chan struct{})}
	p.byNode[node] = q
	p.all = append(p.all, q)
	p.queue <- q
	return q
}

// requestFrom asks for node's work of steps inner steps from the given
// weights, beginning at inner step from (driven runs, whose pool lives as
// long as the run: it keeps only each node's latest request, and a driver
// takes each result, or drops it with a failed node, itself).
func (p *pool) requestFrom(node, steps int, start []float32, from int) *request {
	if p.works == nil {
		p.works = map[int]int{}
	}
	q := &request{node: node, steps: steps, from: from, round: p.works[node], start: start, done: make(chan struct{})}
	p.works[node]++
	p.byNode[node] = q
	p.queue <- q
	return q
}

// wait waits for node's latest request to be over.
func (p *pool) wait(node int) {
	if q := p.byNode[node]; q != nil {
		<-q.done
	}
}

// work is the pool as the round's source of payloads: a node's request is
// made unless one was made earlier for the same work.
func (p *pool) work() work { return poolWork{p} }

type poolWork struct{ p *pool }

func (w poolWork) request(node, steps int) func() (int64, float64, error) {
	q, ok := w.p.byNode[node]
	if !ok || q.steps != steps {
		q = w.p.request(node, steps)
	}
	return func() (int64, float64, error) { return w.p.result(q) }
}

// result waits for q and returns its payload's (projected) size and how
// long, in wall time, the caller was blocked.
func (p *pool) result(q *request) (bytes int64, waitS float64, err error) {
	t := p.r.start()
	<-q.done
	if q.err == nil && q.copyPending {
		q.err = p.fillCopy(q)
	}
	waitS = p.r.since(t)
	if q.err != nil {
		return 0, waitS, q.err
	}
	return p.r.projectBytes(len(q.wire)), waitS, nil
}

// close waits for every request and stops the workers; it returns the
// requests' errors.
func (p *pool) close() error {
	if p.closed {
		return nil
	}
	p.closed = true
	close(p.queue)
	p.wg.Wait()
	var errs []error
	for _, q := range p.all {
		errs = append(errs, q.err)
	}
	return errors.Join(errs...)
}

// trained returns node's finished work, or nil.
func (p *pool) trained(node int) *request {
	if q := p.byNode[node]; q != nil && q.err == nil && q.wire != nil {
		return q
	}
	return nil
}
