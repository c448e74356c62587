//go:build !amd64 || purego

package compress

func efKeys(e, d []float32, beta, alpha float32, keys []uint32) {
	efKeysGo(e, d, beta, alpha, keys)
}

func orBits(x []float32) uint32 { return orBitsGo(x) }

func atLeast(keys []uint32, lo uint32, all []int32) int { return atLeastGo(keys, lo, all, 0) }

func add12x2(sum []float32, cnt []uint16, src, codes []byte, lut []float32, _, _ *byte) bool {
	return add12x2Go(sum, cnt, src, codes, lut)
}

func finishMeanRows(o []float32, stride, rows, rowLen int, sum []float32, cnt []uint16, recip []float32) uint32 {
	return finishRows(o, stride, rows, rowLen, sum, cnt, recip)
}

func add12x2Peers(sum []float32, cnt []uint16, ps peerSet, idxOff, codeOff, k int, _ outRows) int {
	return add12x2PeersGo(sum, cnt, ps.src, idxOff, codeOff, k)
}

func prefetch(*byte) {}

func efKeysBlocks(e, d []float32, beta, alpha float32, keys []uint32, rows, segs, w, n int) {
	efKeysBlocksGo(e, d, beta, alpha, keys, rows, segs, w, n)
}

func groupMax256(keys []uint32, m *[256]uint32) { groupMax256Go(keys, m) }

func countGE(x []uint32, t uint32) int { return countGEGo(x, t) }
