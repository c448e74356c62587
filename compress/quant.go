package compress

import (
	"math"
	"slices"
)

// roundMagic is 1.5·2^23: x + roundMagic − roundMagic rounds a float32 of
// magnitude below 2^22 to the nearest integer, ties to even.
const roundMagic float32 = 12582912

// quantize replaces vals by their quantized values and returns the codes and
// statistics, as the reference does for one tensor:
//
//	μ = mean(v); c = v − μ; σ = std(c) with n−1; s = range·σ / 2^bits (1 if 0)
//	q = clamp(round_half_even(c/s + 2^(bits−1)), 0, 2^bits − 1)
//	centroid[b] = mean of c where q = b (0 if none); v̂ = centroid[q] + μ
//
// With bits = 2 and range = 6 that is s = 6σ/4 and four codes. Sums are
// taken in float64.
func quantize(vals []float32, bits int, rangeSigmas float64, codes []uint8) ([]uint8, *QuantStats) {
	nb := 1 << bits
	q := &QuantStats{Bits: bits, Centroids: make([]float32, nb)}
	n := len(vals)
	codes = codes[:0]
	if n == 0 {
		q.Scale = 1
		return codes, q
	}
	var sum float64
	for _, v := range vals {
		sum += float64(v)
	}
	mu := float32(sum / float64(n))
	var ss float64
	for _, v := range vals {
		c := float64(v - mu)
		ss += c * c
	}
	var std float64
	if n > 1 {
		std = math.Sqrt(ss / float64(n-1))
	}
	scale := float32(rangeSigmas * std / float64(nb))
	if scale == 0 || !finite(float64(scale)) {
		scale = 1
	}
	q.Mean, q.Std, q.Scale = mu, float32(std), scale
	offset := float32(nb / 2)
	top := float32(nb - 1)
	var sums [256]float64
	var counts [256]int
	codes = slices.Grow(codes, n)[:n]
	for i, v := range vals {
		c := v - mu
		// Divide, as the reference does; clamp, then round half to even by
		// adding and subtracting 1.5·2^23 (exact for |x| < 2^22). Plain
		// comparisons: Go's float min and max also order NaNs and zeros.
		x := c/scale + offset
		if x < 0 {
			x = 0
		} else if x > top {
			x = top
		}
		b := uint8((x + roundMagic) - roundMagic)
		codes[i] = b
		sums[b] += float64(c)
		counts[b]++
	}
	lut := make([]float32, nb)
	for b := range nb {
		if counts[b] > 0 {
			q.Centroids[b] = float32(sums[b] / float64(counts[b]))
		}
		lut[b] = q.Centroids[b] + mu
	}
	for i, b := range codes {
		vals[i] = lut[b]
	}
	return codes, q
}
