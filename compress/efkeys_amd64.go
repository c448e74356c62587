//go:build amd64 && !amd64.v3 && !purego

package compress

import (
	"math/bits"

	"golang.org/x/sys/cpu"
)

// The AVX2 kernels give the same bits as the Go loops they replace; see
// TestKernelsMatchGo.
var useAVX2 = cpu.X86.HasAVX2

//go:noescape
func efKeysAVX2(e, d []float32, beta, alpha float32, keys []uint32)

//go:noescape
func orBitsAVX2(x []float32) uint32

func efKeys(e, d []float32, beta, alpha float32, keys []uint32) {
	if !useAVX2 {
		efKeysGo(e, d, beta, alpha, keys)
		return
	}
	d, keys = d[:len(e)], keys[:len(e)]
	efKeysAVX2(e, d, beta, alpha, keys)
	m := len(e) &^ 7
	efKeysGo(e[m:], d[m:], beta, alpha, keys[m:])
}

func orBits(x []float32) uint32 {
	if !useAVX2 {
		return orBitsGo(x)
	}
	m := len(x) &^ 31
	return orBitsAVX2(x) | orBitsGo(x[m:])
}

//go:noescape
func geMaskAVX2(keys []uint32, t uint32, mask []uint64)

// atLeast writes to all (len(keys)+1 long) the indices of the keys >= lo,
// in order, and returns how many there are.
func atLeast(keys []uint32, lo uint32, all []int32) int {
	if !useAVX2 || len(keys) < 64 {
		return atLeastGo(keys, lo, all, 0)
	}
	var buf [64]uint64
	words := len(keys) / 64
	mask := buf[:]
	if words > len(buf) {
		mask = make([]uint64, words)
	}
	mask = mask[:words]
	geMaskAVX2(keys, lo, mask)
	c := 0
	for w, m := range mask {
		for ; m != 0; m &= m - 1 {
			all[c] = int32(w*64 + bits.TrailingZeros64(m))
			c++
		}
	}
	m := words * 64
	return c + atLeastGo(keys[m:], lo, all[c:], int32(m))
}
