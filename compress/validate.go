package compress

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Validate checks that p is a payload this compressor could have produced
// (up to its values): kind, tensor set and shapes, counts, index bounds and
// order, code range, finite statistics and values, and that quantized
// values match their codes.
func (c *codec) Validate(p *Payload) error {
	if p == nil {
		return errors.New("compress: nil payload")
	}
	if p.Kind != c.cfg.Kind {
		return fmt.Errorf("compress: payload kind %q, want %q", p.Kind, c.cfg.Kind)
	}
	if len(p.Tensors) != len(c.plans) {
		return fmt.Errorf("compress: payload has %d tensors, layout has %d", len(p.Tensors), len(c.plans))
	}
	for i, pl := range c.plans {
		if err := c.validateTensor(pl, &p.Tensors[i]); err != nil {
			return fmt.Errorf("compress: tensor %q: %w", pl.name, err)
		}
	}
	return nil
}

func (c *codec) validateTensor(pl *plan, t *TensorPayload) error {
	if t.Name != pl.name {
		return fmt.Errorf("payload names it %q", t.Name)
	}
	if !slices.Equal(t.Shape, pl.shape) {
		return fmt.Errorf("shape %v, want %v", t.Shape, pl.shape)
	}
	want := pl.size
	if c.sparse {
		want = pl.total
		if len(t.Indices) != want {
			return fmt.Errorf("%d indices, want %d", len(t.Indices), want)
		}
		if err := pl.checkIndices(t.Indices); err != nil {
			return err
		}
	} else if t.Indices != nil {
		return errors.New("indices in a dense payload")
	}
	if len(t.Values) != want {
		return fmt.Errorf("%d values, want %d", len(t.Values), want)
	}
	if i := firstNonFinite(t.Values); i >= 0 {
		return fmt.Errorf("value %d is not finite", i)
	}
	if c.bits == 0 {
		if t.Codes != nil || t.Quant != nil {
			return errors.New("quantization codes in an unquantized payload")
		}
		if c.cfg.Kind == BF16 {
			for i, v := range t.Values {
				if math.Float32bits(v)&0xffff != 0 {
					return fmt.Errorf("value %d is not a bfloat16", i)
				}
			}
		}
		return nil
	}
	q := t.Quant
	if q == nil {
		return errors.New("missing quantization statistics")
	}
	if err := q.check(c.bits); err != nil {
		return err
	}
	if len(t.Codes) != want {
		return fmt.Errorf("%d codes, want %d", len(t.Codes), want)
	}
	lut := q.lut()
	for i, b := range t.Codes {
		if int(b) >= len(lut) {
			return fmt.Errorf("code %d is %d, out of range for %d bits", i, b, c.bits)
		}
		if math.Float32bits(t.Values[i]) != math.Float32bits(lut[b]) {
			return fmt.Errorf("value %d does not match its code", i)
		}
	}
	return nil
}

func (q *QuantStats) check(bits int) error {
	if q.Bits != bits {
		return fmt.Errorf("quantized to %d bits, want %d", q.Bits, bits)
	}
	if len(q.Centroids) != 1<<bits {
		return fmt.Errorf("%d centroids, want %d", len(q.Centroids), 1<<bits)
	}
	if !finite(float64(q.Mean)) || !finite(float64(q.Std)) || !finite(float64(q.Scale)) {
		return errors.New("non-finite quantization statistic")
	}
	for _, v := range q.Centroids {
		if !finite(float64(v)) || !finite(float64(v+q.Mean)) {
			return errors.New("non-finite quantization centroid")
		}
	}
	if q.Std < 0 || q.Scale <= 0 {
		return fmt.Errorf("quantization std %v, scale %v: want std >= 0, scale > 0", q.Std, q.Scale)
	}
	return nil
}

// checkIndices verifies that idx holds, chunk after chunk, that chunk's k
// positions in ascending order.
func (pl *plan) checkIndices(idx []int32) error {
	j := 0
	for ch := range pl.nChunks {
		base, n, k := pl.chunk(ch)
		prev := -1
		for _, v := range idx[j : j+k] {
			pos := int(v)
			d := pos - base
			ok := d >= 0 && pos > prev
			if ok && pl.h > 1 {
				r := pl.divRow(d)
				ok = r < pl.h && d-r*pl.cols < pl.w
			} else if ok {
				ok = d < n
			}
			if !ok {
				if pos <= prev && d >= 0 {
					return fmt.Errorf("chunk %d: index %d not ascending", ch, pos)
				}
				return fmt.Errorf("chunk %d: index %d outside the chunk", ch, pos)
			}
			prev = pos
		}
		j += k
	}
	return nil
}
