package data

import "math/bits"

// Seeds are derived by hashing with the SplitMix64 finaliser, and every random
// draw comes from a SplitMix64 sequence: tiny, fast, and specified here, so
// the same seed gives the same tokens under any Go release.

const golden = 0x9e3779b97f4a7c15

// mix is the SplitMix64 finaliser, a bijection with good avalanche.
func mix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// derive hashes a sequence of words into a seed; distinct sequences of the
// same length give (practically) distinct seeds.
func derive(words ...uint64) uint64 {
	h := uint64(0x6a09e667f3bcc909)
	for _, w := range words {
		h = mix(h + golden + w)
	}
	return h
}

// derive4 is derive for four words without the variadic slice (hot path).
func derive4(a, b, c, d uint64) uint64 {
	h := uint64(0x6a09e667f3bcc909)
	h = mix(h + golden + a)
	h = mix(h + golden + b)
	h = mix(h + golden + c)
	return mix(h + golden + d)
}

// splitmix is a SplitMix64 generator.
type splitmix struct{ s uint64 }

func (r *splitmix) next() uint64 {
	r.s += golden
	return mix(r.s)
}

// float64 returns a uniform value in [0, 1).
func (r *splitmix) float64() float64 { return float64(r.next()>>11) * 0x1p-53 }

// intn returns a uniform value in [0, n) for n > 0 (multiply-shift; the bias
// is below n/2^64).
func (r *splitmix) intn(n int) int {
	hi, _ := bits.Mul64(r.next(), uint64(n))
	return int(hi)
}
