package compress

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Report says what Aggregate did beyond writing the update.
type Report struct {
	// Payloads is the number of payloads aggregated (R).
	Payloads int
	// Skipped lists the tensors whose aggregate was not finite; robust
	// aggregation leaves their update at zero.
	Skipped []string
	// Scales[r][t] is the factor robust aggregation applied to payload r's
	// tensor t (nil unless robust).
	Scales [][]float32
}

// Aggregate writes the dense update made of payloads into dst, tensor by
// tensor and payload by payload in the order given:
//
//   - contributors: dst[j] = mean of the values sent for j, over the
//     payloads that sent it (0 where none did);
//   - replicas: dst[j] = (1/R)·Σ values sent for j;
//   - robust: before adding, payload r's tensor is scaled by
//     min(1, median_r' ‖v_r'‖ / ‖v_r‖) (the lower median, as torch.median
//     takes), and a tensor whose aggregate is not finite is left at zero
//     and named in the report;
//   - DeMo: the mean is taken in DCT space, each block transformed back,
//     and dst is the sign of the result.
//
// Payloads should have passed Validate (Decode does it); Aggregate still
// returns an error rather than index out of range. With no payloads dst is
// zero. On error dst holds garbage.
func (c *codec) Aggregate(dst []float32, ps []*Payload) (Report, error) {
	rep := Report{Payloads: len(ps)}
	if len(dst) != c.size {
		return rep, fmt.Errorf("compress: aggregate into %d elements, layout has %d", len(dst), c.size)
	}
	if len(ps) > math.MaxUint16 {
		return rep, fmt.Errorf("compress: %d payloads, at most %d can be aggregated", len(ps), math.MaxUint16)
	}
	for r, p := range ps {
		if err := c.checkShape(p); err != nil {
			return rep, fmt.Errorf("compress: aggregate payload %d: %w", r, err)
		}
	}
	if c.cfg.Robust {
		rep.Scales = make([][]float32, len(ps))
		for r := range ps {
			rep.Scales[r] = make([]float32, len(c.plans))
		}
	}
	s := c.pool.Get().(*scratch)
	defer c.pool.Put(s)
	norms := make([]float64, len(ps))
	for ti, pl := range c.plans {
		out := dst[pl.offset : pl.offset+pl.size]
		clear(out)
		if len(ps) == 0 {
			continue
		}
		if c.cfg.Robust {
			robustScales(ps, ti, norms)
			for r := range ps {
				rep.Scales[r][ti] = float32(norms[r])
			}
		}
		scale := func(r int) float32 {
			if rep.Scales == nil {
				return 1
			}
			return rep.Scales[r][ti]
		}
		var finite bool
		if !c.sparse {
			for r, p := range ps {
				v := p.Tensors[ti].Values
				if f := scale(r); f == 1 {
					for j, x := range v {
						out[j] += x
					}
				} else {
					for j, x := range v {
						out[j] += float32(f * x)
					}
				}
			}
			n := float32(len(ps))
			for j := range out {
				out[j] /= n
			}
			finite = firstNonFinite(out) < 0
		} else {
			var err error
			finite, err = c.aggregateChunks(s, pl, ti, out, ps, scale)
			if err != nil {
				return rep, fmt.Errorf("compress: aggregate tensor %q: %w", pl.name, err)
			}
		}
		if !finite {
			i := max(firstNonFinite(out), 0)
			if !c.cfg.Robust {
				return rep, fmt.Errorf("compress: aggregate of tensor %q is not finite at element %d", pl.name, i)
			}
			clear(out)
			rep.Skipped = append(rep.Skipped, pl.name)
			continue
		}
		if c.cfg.Kind == DeMo {
			c.demoSign(s, pl, out)
		}
	}
	return rep, nil
}

// aggregateChunks sums the payloads chunk by chunk, so that the running
// sums and counts of one chunk stay in the first-level cache, then writes
// each chunk's means into out. It reports whether out is finite.
func (c *codec) aggregateChunks(s *scratch, pl *plan, ti int, out []float32, ps []*Payload, scale func(int) float32) (bool, error) {
	// Divide by multiplying with a rounded 1/count: a division per element
	// would cost more than the whole scatter.
	recip := c.recips(s, len(ps))
	views := s.views[:0]
	for r, p := range ps {
		t := &p.Tensors[ti]
		if len(t.Indices) != pl.total || len(t.Values) != pl.total {
			return false, fmt.Errorf("payload %d has %d indices and %d values, want %d", r, len(t.Indices), len(t.Values), pl.total)
		}
		views = append(views, view{t.Indices, t.Values, scale(r)})
	}
	s.views = views
	// A chunk spans (h−1)·cols + w positions from its base.
	span := (pl.h-1)*pl.cols + pl.w
	if pl.flat {
		span = pl.run
	}
	sum, cnt := grow(s.sum, span), grow(s.cnt, span)
	s.sum, s.cnt = sum, cnt
	var mx uint32
	for ch := range pl.nChunks {
		base, n, k := pl.chunk(ch)
		j0 := ch * pl.k
		for r, v := range views {
			if err := scatterChunk(sum, cnt, v.idx[j0:j0+k], v.vals[j0:j0+k], base, v.f); err != nil {
				clear(sum)
				clear(cnt)
				return false, fmt.Errorf("payload %d: %w", r, err)
			}
		}
		// Write the chunk's rows, resetting the sums and counts as we go;
		// the counts must add up, or an index strayed outside its chunk.
		rowLen := n / pl.h
		seen := 0
		for row := range pl.h {
			d := row * pl.cols
			top, n := finishRow(out[base+d:base+d+rowLen], sum[d:d+rowLen], cnt[d:d+rowLen], recip)
			mx = max(mx, top)
			seen += n
		}
		if seen != k*len(ps) {
			clear(sum)
			clear(cnt)
			return false, fmt.Errorf("chunk %d: an index lies outside its chunk", ch)
		}
	}
	return finiteTop(mx), nil
}

// finishRow writes o[j] = sum[j]·recip[cnt[j]], zeroes sum and cnt, and
// returns the outputs' largest magnitude bits (see finiteTop) and the
// total count. Not inlined, so that its loop lives in registers.
//
//go:noinline
func finishRow(o, sum []float32, cnt []uint16, recip []float32) (mag uint32, seen int) {
	sum = sum[:len(cnt)]
	o = o[:len(cnt)]
	top := len(recip) - 1
	for j, k := range cnt {
		v := sum[j] * recip[min(int(k), top)]
		o[j] = v
		mag = max(mag, math.Float32bits(v)<<1)
		seen += int(k)
	}
	clear(sum)
	clear(cnt)
	return mag, seen
}

// view is one payload's part of one tensor.
type view struct {
	idx  []int32
	vals []float32
	f    float32
}

// scatterChunk adds f·vals at idx (positions in the tensor) into the
// running sums and counts of the chunk at base.
func scatterChunk(sum []float32, cnt []uint16, idx []int32, vals []float32, base int, f float32) error {
	vals = vals[:len(idx)]
	n := uint(len(sum))
	cnt = cnt[:n]
	for i, pos := range idx {
		d := uint(int(pos) - base)
		if d >= n {
			return fmt.Errorf("index %d outside chunk at %d", pos, base)
		}
		sum[d] += float32(f * vals[i])
		cnt[d]++
	}
	return nil
}

// robustScales sets scales[r] = min(1, median norm / norm of payload r) for
// tensor ti.
func robustScales(ps []*Payload, ti int, scales []float64) {
	for r, p := range ps {
		var ss float64
		for _, v := range p.Tensors[ti].Values {
			ss += float64(v) * float64(v)
		}
		scales[r] = math.Sqrt(ss)
	}
	sorted := slices.Clone(scales)
	slices.Sort(sorted)
	med := sorted[(len(sorted)-1)/2]
	for r, n := range scales {
		scales[r] = 1
		if n > med {
			scales[r] = med / n
		}
	}
}

// demoSign turns a tensor of mean DCT coefficients into the sign of its
// inverse transform, block by block.
func (c *codec) demoSign(s *scratch, pl *plan, out []float32) {
	bh, bw := c.dct[pl.h], c.dct[pl.w]
	n := pl.h * pl.w
	s.blk, s.tmp, s.coef = grow(s.blk, n), grow(s.tmp, n), grow(s.coef, n)
	for ch := range pl.nChunks {
		base, _, _ := pl.chunk(ch)
		for r := range pl.h {
			copy(s.coef[r*pl.w:(r+1)*pl.w], out[base+r*pl.cols:])
		}
		idct2(s.blk, s.coef, s.tmp, bh, bw)
		for r := range pl.h {
			row := out[base+r*pl.cols : base+r*pl.cols+pl.w]
			for j, x := range s.blk[r*pl.w : (r+1)*pl.w] {
				switch {
				case x > 0:
					row[j] = 1
				case x < 0:
					row[j] = -1
				default:
					row[j] = 0
				}
			}
		}
	}
}

// checkShape verifies what Aggregate relies on: kind, tensor count, and
// matching lengths.
func (c *codec) checkShape(p *Payload) error {
	if p == nil {
		return errors.New("nil payload")
	}
	if p.Kind != c.cfg.Kind {
		return fmt.Errorf("kind %q, want %q", p.Kind, c.cfg.Kind)
	}
	if len(p.Tensors) != len(c.plans) {
		return fmt.Errorf("%d tensors, layout has %d", len(p.Tensors), len(c.plans))
	}
	for i, pl := range c.plans {
		t := &p.Tensors[i]
		if c.sparse {
			if len(t.Indices) != len(t.Values) {
				return fmt.Errorf("tensor %q: %d indices but %d values", pl.name, len(t.Indices), len(t.Values))
			}
		} else if len(t.Values) != pl.size {
			return fmt.Errorf("tensor %q: %d values, want %d", pl.name, len(t.Values), pl.size)
		}
	}
	return nil
}
