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
		if !c.sparse {
			for r, p := range ps {
				v := p.Tensors[ti].Values
				if f := scale(r); f == 1 {
					for j, x := range v {
						out[j] += x
					}
				} else {
					for j, x := range v {
						out[j] += f * x
					}
				}
			}
			n := float32(len(ps))
			for j := range out {
				out[j] /= n
			}
		} else {
			// Sums and counts side by side: one cache line per scattered value.
			acc := grow(s.acc, pl.size)
			s.acc = acc
			for r, p := range ps {
				t := &p.Tensors[ti]
				if err := scatter(acc, t.Indices, t.Values, scale(r)); err != nil {
					clear(acc)
					return rep, fmt.Errorf("compress: aggregate payload %d, tensor %q: %w", r, pl.name, err)
				}
			}
			// Divide by multiplying with a rounded 1/k: a division per element
			// costs more than the whole scatter.
			recip := s.recip[:0]
			for k := range len(ps) + 1 {
				switch {
				case c.cfg.Aggregation == MeanReplicas:
					recip = append(recip, 1/float32(len(ps)))
				case k == 0:
					recip = append(recip, 0)
				default:
					recip = append(recip, 1/float32(k))
				}
			}
			s.recip = recip
			finish(out, acc, recip)
		}
		if i := firstNonFinite(out); i >= 0 {
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

// cell is one coordinate's running sum and number of contributions.
type cell struct {
	sum float32
	n   uint32
}

func scatter(acc []cell, idx []int32, vals []float32, f float32) error {
	vals = vals[:len(idx)]
	n := uint(len(acc))
	for i, pos := range idx {
		if uint(pos) >= n {
			return fmt.Errorf("index %d out of range", pos)
		}
		c := &acc[pos]
		c.sum += f * vals[i]
		c.n++
	}
	return nil
}

// finish writes out[j] = sum·recip[n] and zeroes acc for the next use.
func finish(out []float32, acc []cell, recip []float32) {
	acc = acc[:len(out)]
	for j, c := range acc {
		out[j] = c.sum * recip[min(int(c.n), len(recip)-1)]
	}
	clear(acc)
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
