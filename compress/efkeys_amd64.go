//go:build amd64 && !amd64.v3 && !purego

package compress

import "golang.org/x/sys/cpu"

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
