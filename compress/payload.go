package compress

import (
	"fmt"
	"math"
	"slices"
)

// Payload is what one node sends in one round: one entry per tensor of the
// layout, in layout order. Its fields are exported so that a simulator can
// build faulty or malicious payloads by transforming an honest one (see
// Scale, Clone and Dequantize); Validate says whether the result is still
// well formed.
type Payload struct {
	Kind    Kind
	Tensors []TensorPayload
}

// TensorPayload is one tensor's part of a payload.
type TensorPayload struct {
	Name  string
	Shape []int
	// Indices are positions in the tensor (row-major; for DeMo, positions of
	// DCT coefficients in the block-transformed tensor), grouped by chunk in
	// chunk order and ascending inside a chunk. Nil for the dense kinds and
	// quantize, which send every element.
	Indices []int32
	// Values are what receivers add up: one per index, or one per element.
	// For a quantized tensor they are Quant.Mean + Quant.Centroids[code],
	// and the codes, not the values, travel on the wire.
	Values []float32
	// Codes and Quant are the quantized form; nil when values travel as
	// floating point.
	Codes []uint8
	Quant *QuantStats
}

// QuantStats are a quantized tensor's statistics, one set per tensor.
type QuantStats struct {
	Bits  int     // bits per code
	Mean  float32 // μ, added back to every centroid
	Std   float32 // σ of the centred values (n−1 denominator)
	Scale float32 // bin width: range_sigmas·σ / 2^bits
	// Centroids[b] is the mean of the centred values that got code b.
	Centroids []float32
}

// Dequantize recomputes every quantized tensor's Values from its Codes and
// Quant (after a caller changed them).
func (p *Payload) Dequantize() {
	for i := range p.Tensors {
		t := &p.Tensors[i]
		if t.Quant == nil {
			continue
		}
		lut := t.Quant.lut()
		t.Values = slices.Grow(t.Values[:0], len(t.Codes))[:len(t.Codes)]
		for j, c := range t.Codes {
			t.Values[j] = lut[c&byte(len(lut)-1)]
		}
	}
}

// lut is the table of dequantized values, code -> μ + centroid.
func (q *QuantStats) lut() []float32 {
	var buf [256]float32
	return slices.Clone(q.lutInto(&buf))
}

func (q *QuantStats) lutInto(buf *[256]float32) []float32 {
	lut := buf[:1<<min(max(q.Bits, 0), 8)]
	for b := range lut {
		lut[b] = 0
		if b < len(q.Centroids) {
			lut[b] = q.Centroids[b] + q.Mean
		}
	}
	return lut
}

// Clone returns a deep copy.
func (p *Payload) Clone() *Payload {
	c := &Payload{Kind: p.Kind, Tensors: make([]TensorPayload, len(p.Tensors))}
	for i, t := range p.Tensors {
		c.Tensors[i] = TensorPayload{
			Name:    t.Name,
			Shape:   slices.Clone(t.Shape),
			Indices: slices.Clone(t.Indices),
			Values:  slices.Clone(t.Values),
			Codes:   slices.Clone(t.Codes),
		}
		if t.Quant != nil {
			q := *t.Quant
			q.Centroids = slices.Clone(q.Centroids)
			c.Tensors[i].Quant = &q
		}
	}
	return c
}

// Scale multiplies everything the payload says by f (f = −1 flips its sign),
// keeping quantized tensors consistent: their mean and centroids are scaled
// and their values recomputed.
func (p *Payload) Scale(f float32) {
	for i := range p.Tensors {
		t := &p.Tensors[i]
		if t.Quant == nil {
			for j := range t.Values {
				t.Values[j] *= f
			}
			continue
		}
		a := float32(math.Abs(float64(f)))
		t.Quant.Mean *= f
		t.Quant.Std *= a
		t.Quant.Scale *= a
		for b := range t.Quant.Centroids {
			t.Quant.Centroids[b] *= f
		}
	}
	p.Dequantize()
}

// Count is the number of values the payload carries.
func (p *Payload) Count() int {
	n := 0
	for _, t := range p.Tensors {
		n += len(t.Values)
	}
	return n
}

// Size is a payload's cost on the wire.
type Size struct {
	Params int // elements in the layout
	Values int // values sent
	// IdealBits is the information floor of the index sets (Σ log2 C(chunk, k))
	// plus the value bits and the per-tensor statistics.
	IdealBits float64
	// EncodedBytes is the length of the actual encoding.
	EncodedBytes int
}

// DenseBytes is the size of the same tensors as dense fp32.
func (s Size) DenseBytes() int { return 4 * s.Params }

// Ratio is DenseBytes / EncodedBytes, the compression factor on the wire.
func (s Size) Ratio() float64 { return float64(s.DenseBytes()) / float64(s.EncodedBytes) }

// IdealRatio is the compression factor an ideal encoding would reach.
func (s Size) IdealRatio() float64 { return float64(s.DenseBytes()) * 8 / s.IdealBits }

// BitsPerParam is the encoded size in bits per element of the layout.
func (s Size) BitsPerParam() float64 { return float64(s.EncodedBytes) * 8 / float64(s.Params) }

func (s Size) String() string {
	return fmt.Sprintf("%d values, %d bytes (ideal %.0f), %.1fx smaller than fp32, %.3f bits/param",
		s.Values, s.EncodedBytes, math.Ceil(s.IdealBits/8), s.Ratio(), s.BitsPerParam())
}
