//go:build amd64 && !purego

package compress

import (
	"math/bits"

	"golang.org/x/sys/cpu"
)

// The kernels give the same bits as the Go loops they replace; see
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

// atLeast writes to all (len(keys)+1 long, faster with len(keys)+4) the
// indices of the keys >= lo, in order, and returns how many there are.
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
	if len(all) >= len(keys)+4 {
		// Room for four writes past the last index: write four for each
		// word and advance past those that were set (a loop only for the
		// rare word with more), without a branch per bit.
		for w, m := range mask {
			base := int32(w * 64)
			p := bits.OnesCount64(m)
			if p > 4 {
				for ; m != 0; m &= m - 1 {
					all[c] = base + int32(bits.TrailingZeros64(m))
					c++
				}
				continue
			}
			a := all[c : c+4 : c+4]
			a[0] = base + int32(bits.TrailingZeros64(m))
			m &= m - 1
			a[1] = base + int32(bits.TrailingZeros64(m))
			m &= m - 1
			a[2] = base + int32(bits.TrailingZeros64(m))
			m &= m - 1
			a[3] = base + int32(bits.TrailingZeros64(m))
			c += p
		}
	} else {
		for w, m := range mask {
			for ; m != 0; m &= m - 1 {
				all[c] = int32(w*64 + bits.TrailingZeros64(m))
				c++
			}
		}
	}
	m := words * 64
	return c + atLeastGo(keys[m:], lo, all[c:], int32(m))
}

//go:noescape
func add12x2Kernel(sum *float32, cnt *uint16, src, codes *byte, groups, n int, lut *float32, pf1, pf2 *byte) bool

// add12x2 is add12x2Go; it also prefetches pf1 and pf2 (see the kernel).
func add12x2(sum []float32, cnt []uint16, src, codes []byte, lut []float32, pf1, pf2 *byte) bool {
	groups := len(codes)
	if groups == 0 {
		return true
	}
	// The kernel indexes 12-bit indices without checks: the bounds that
	// make that safe.
	sa, ca, _, _ := sum[:4096], cnt[:4096], src[6*groups-1], lut[3]
	return add12x2Kernel(&sa[0], &ca[0], &src[0], &codes[0], groups, len(sum), &lut[0], pf1, pf2)
}

//go:noescape
func finishMeanRowsAVX2(o *float32, stride, rows, rowLen int, sum *float32, cnt *uint16) uint32

// finishMeanRows is finishRows for the mean over contributors.
func finishMeanRows(o []float32, stride, rows, rowLen int, sum []float32, cnt []uint16, recip []float32) uint32 {
	if !useAVX2 || rowLen%8 != 0 || rows == 0 || rowLen == 0 {
		return finishRows(o, stride, rows, rowLen, sum, cnt, recip)
	}
	// The bounds the kernel relies on.
	_, _, _ = o[(rows-1)*stride+rowLen-1], sum[rows*rowLen-1], cnt[rows*rowLen-1]
	return finishMeanRowsAVX2(&o[0], stride, rows, rowLen, &sum[0], &cnt[0])
}

//go:noescape
func add12x2PeersKernel(sum *float32, cnt *uint16, peers *peerSrc, npeers, idxOff, codeOff, k, n int, pfIdx, pfCodes int, pfOut *float32, pfRows, pfStride, pfLines int) int

// add12x2Peers is add12x2PeersGo, with an AVX2 kernel for k a multiple
// of 16 and chunks of at most 4096. The kernel also asks the cache for
// ownership of the rows the caller writes next (see outRows).
func add12x2Peers(sum []float32, cnt []uint16, ps peerSet, idxOff, codeOff, k int, next outRows) int {
	n, peers := len(sum), ps.src
	// The kernel reads these bytes of every peer (the set's shortest) and
	// checks the indices against n before it adds.
	if !useAVX2 || k%16 != 0 || k == 0 || n > 4096 || len(cnt) < n ||
		idxOff < 0 || codeOff < 0 || ps.idxLen < idxOff+3*k/2 || ps.codesLen < codeOff+k/4 {
		return add12x2PeersGo(sum, cnt, peers, idxOff, codeOff, k)
	}
	if len(peers) == 0 {
		return -1
	}
	var pf *float32
	rows, lines := 0, 0
	if len(next.o) > 0 && next.rows > 0 && next.rowLen > 0 {
		pf, rows, lines = &next.o[0], next.rows, (4*next.rowLen+63)/64+1
	}
	return add12x2PeersKernel(&sum[0], &cnt[0], &peers[0], len(peers), idxOff, codeOff, k, n, 3*k/2, k/4, pf, rows, 4*next.stride, lines)
}

// prefetch asks the cache for the line holding p.
//
//go:noescape
func prefetch(p *byte)

//go:noescape
func efKeysBlocksAVX2(e, d *float32, keys *uint32, rows, segs, w, n int, beta, alpha float32)

// efKeysBlocks is efKeysBlocksGo.
func efKeysBlocks(e, d []float32, beta, alpha float32, keys []uint32, rows, segs, w, n int) {
	if rows == 1 || segs == 1 {
		// The keys are in the order of the elements.
		efKeys(e[:rows*segs*w], d[:rows*segs*w], beta, alpha, keys[:rows*segs*w])
		return
	}
	if !useAVX2 || w%8 != 0 || w == 0 || n < rows*w {
		efKeysBlocksGo(e, d, beta, alpha, keys, rows, segs, w, n)
		return
	}
	// The bounds the kernel relies on.
	_, _, _ = e[rows*segs*w-1], d[rows*segs*w-1], keys[(segs-1)*n+rows*w-1]
	efKeysBlocksAVX2(&e[0], &d[0], &keys[0], rows, segs, w, n, beta, alpha)
}

//go:noescape
func groupMax256AVX2(keys *uint32, rows int, m *uint32)

// groupMax256 is groupMax256Go.
func groupMax256(keys []uint32, m *[256]uint32) {
	if !useAVX2 || len(keys) < 256 || len(keys)%256 != 0 {
		groupMax256Go(keys, m)
		return
	}
	groupMax256AVX2(&keys[0], len(keys)/256, &m[0])
}

//go:noescape
func countGEAVX2(x *uint32, nvec int, t uint32) int

// countGE is countGEGo.
func countGE(x []uint32, t uint32) int {
	if !useAVX2 || len(x) < 8 || t > absMask {
		return countGEGo(x, t)
	}
	m := len(x) &^ 7
	return countGEAVX2(&x[0], m/8, t) + countGEGo(x[m:], t)
}
