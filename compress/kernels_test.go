package compress

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestKernelsMatchGo: efKeys, atLeast and orBits (vector kernels where the machine
// has them) give the same bits as their plain Go loops, for every length
// around the vector widths and for awkward values: signed zeros,
// subnormals, huge values that overflow, infinities, NaN.
func TestKernelsMatchGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 10))
	special := []float32{0, float32(math.Copysign(0, -1)), 1e-45, -3e-39, math.MaxFloat32, -math.MaxFloat32,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 1, -1}
	value := func() float32 {
		if rng.IntN(8) == 0 {
			return special[rng.IntN(len(special))]
		}
		return float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(20)-10)))
	}
	for n := range 300 {
		if n > 100 {
			n = 100 + rng.IntN(5000)
		}
		e, d := make([]float32, n), make([]float32, n)
		for i := range e {
			e[i], d[i] = value(), value()
		}
		beta, alpha := float32(0.95), float32(rng.Float64()*2)
		e1, e2 := append([]float32(nil), e...), append([]float32(nil), e...)
		k1, k2 := make([]uint32, n), make([]uint32, n)
		efKeys(e1, d, beta, alpha, k1)
		efKeysGo(e2, d, beta, alpha, k2)
		for i := range e1 {
			if math.Float32bits(e1[i]) != math.Float32bits(e2[i]) || k1[i] != k2[i] {
				t.Fatalf("n=%d: efKeys differs from the Go loop at %d: %v/%x, want %v/%x", n, i, e1[i], k1[i], e2[i], k2[i])
			}
		}
		los := []uint32{0, 1, 0x3f800000, 0x7f800000, 0x7fffffff}
		if n > 0 {
			los = append(los, k2[0], k2[n/2], k2[n-1])
		}
		for _, lo := range los {
			a1, a2 := make([]int32, n+1), make([]int32, n+1)
			c1, c2 := atLeast(k2, lo, a1), atLeastGo(k2, lo, a2, 0)
			if c1 != c2 || !slices.Equal(a1[:c1], a2[:c2]) {
				t.Fatalf("n=%d lo=%x: atLeast keeps %d, want %d (or other indices)", n, lo, c1, c2)
			}
		}
		for _, x := range [][]float32{e, d, e[:n/2], d[n/3:]} {
			if got, want := orBits(x), orBitsGo(x); got != want {
				t.Fatalf("n=%d: orBits %x, want %x", len(x), got, want)
			}
		}
	}
}

// TestAdd12x2MatchesGo: the kernel that adds a chunk of 12-bit indices and
// 2-bit codes accepts and rejects what the Go loop does and leaves the
// same sums and counts, for ascending, repeated, descending and
// out-of-range indices.
func TestAdd12x2MatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 12))
	lut := []float32{-1.5, -0.25, 0.5, 3}
	for trial := range 500 {
		n := 1 + rng.IntN(4096)
		groups := rng.IntN(1 + min(n/4, 40))
		idx := make([]int, 4*groups)
		for i := range idx {
			idx[i] = rng.IntN(n)
		}
		slices.Sort(idx)
		switch trial % 5 {
		case 1:
			if len(idx) > 0 {
				idx[rng.IntN(len(idx))] = n + rng.IntN(4096-n+1) // may reach 4096: wraps to 0 in 12 bits
			}
		case 2:
			slices.Reverse(idx)
		}
		src := make([]byte, 6*groups)
		for g := range groups {
			var x uint64
			for j := range 4 {
				x |= uint64(idx[4*g+j]&0xfff) << (12 * j)
			}
			for b := range 6 {
				src[6*g+b] = byte(x >> (8 * b))
			}
		}
		codes := make([]byte, groups)
		for i := range codes {
			codes[i] = byte(rng.IntN(256))
		}
		s1, s2 := make([]float32, 4096), make([]float32, 4096)
		c1, c2 := make([]uint16, 4096), make([]uint16, 4096)
		for i := range s1 {
			s1[i] = float32(rng.NormFloat64())
			s2[i] = s1[i]
		}
		var pf [64]byte
		ok1 := add12x2(s1[:n], c1[:n], src, codes, lut, &pf[0], &pf[1])
		ok2 := add12x2Go(s2[:n], c2[:n], src, codes, lut)
		if ok1 != ok2 || !slices.Equal(c1, c2) || !slices.EqualFunc(s1, s2, func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }) {
			t.Fatalf("trial %d (n=%d, %d groups): add12x2 says %v, the Go loop %v, or their sums differ", trial, n, groups, ok1, ok2)
		}
	}
}

// TestFinishMeanRowsMatchesGo: the vector finish of a chunk's rows gives
// the bits of the table-driven loop, writes only the rows, and zeroes the
// sums and counts.
func TestFinishMeanRowsMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 14))
	recip := []float32{0}
	for k := 1; k <= 300; k++ {
		recip = append(recip, 1/float32(k))
	}
	nonFinite := 0
	for trial := range 300 {
		rows, rowLen := rng.IntN(6), 8*rng.IntN(12)
		if trial%4 == 3 {
			rowLen += 1 + rng.IntN(7) // not a multiple of 8: the Go loop
		}
		stride := rowLen + rng.IntN(3)*8
		n := rows * rowLen
		sum, cnt := make([]float32, n), make([]uint16, n)
		for i := range sum {
			if cnt[i] = uint16(rng.IntN(301)); rng.IntN(3) == 0 {
				cnt[i] = 0
			}
			if cnt[i] > 0 {
				sum[i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(60)-30)))
			}
			if trial%5 == 0 && rng.IntN(200) == 0 {
				// Now and then an infinity or a NaN (of either sign).
				sum[i] = []float32{float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), -float32(math.NaN()), 3e38}[rng.IntN(5)]
				cnt[i] = 1
			}
		}
		sum2, cnt2 := slices.Clone(sum), slices.Clone(cnt)
		olen := max(0, (rows-1)*stride+rowLen) + rng.IntN(9)
		o1, o2 := make([]float32, olen), make([]float32, olen)
		for i := range o1 {
			o1[i] = float32(i) + 0.5
			o2[i] = o1[i]
		}
		or1 := finishMeanRows(o1, stride, rows, rowLen, sum, cnt, recip)
		or2 := finishRows(o2, stride, rows, rowLen, sum2, cnt2, recip)
		if or1 != or2 || !slices.EqualFunc(o1, o2, func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }) {
			t.Fatalf("trial %d (%d rows of %d, stride %d): finishMeanRows differs from finishRows", trial, rows, rowLen, stride)
		}
		// Their magnitude bits tell exactly whether every output is finite.
		finite := true
		for row := range rows {
			finite = finite && firstNonFinite(o1[row*stride:row*stride+rowLen]) < 0
		}
		if finiteTop(or1) != finite {
			t.Fatalf("trial %d: finiteTop says %v, the outputs are finite: %v", trial, finiteTop(or1), finite)
		}
		if !finite {
			nonFinite++
		}
		if slices.ContainsFunc(sum, func(v float32) bool { return v != 0 }) || slices.ContainsFunc(cnt, func(v uint16) bool { return v != 0 }) {
			t.Fatalf("trial %d: sums or counts not zeroed", trial)
		}
	}
	if nonFinite < 5 {
		t.Fatalf("only %d trials with a non-finite output", nonFinite)
	}
}

// TestAdd12x2PeersMatchesGo: the kernel that adds one chunk of every peer
// names the same first bad peer as the Go loop and, when all are good,
// leaves the same sums and counts.
func TestAdd12x2PeersMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 15))
	good, bad := 0, 0
	for trial := range 400 {
		k := 4 * (1 + rng.IntN(40))
		if trial%3 != 0 {
			k = 16 * (1 + rng.IntN(10))
		}
		n := k + 1 + rng.IntN(4096-k)
		chunks := 1 + rng.IntN(3)
		peers := make([]peerSrc, rng.IntN(9))
		for r := range peers {
			var idx, codes []byte
			for range chunks {
				l := rng.Perm(n)[:k]
				slices.Sort(l)
				switch rng.IntN(40) {
				case 0:
					l[rng.IntN(k)] = n + rng.IntN(4096-n+1) // may reach 4096: wraps to 0 in 12 bits
				case 1:
					i := rng.IntN(k - 1)
					l[i+1] = l[i]
				case 2:
					slices.Reverse(l)
				}
				for i := 0; i < k; i += 2 {
					a, b := l[i]&0xfff, l[i+1]&0xfff
					idx = append(idx, byte(a), byte(a>>8|b<<4), byte(b>>4))
				}
				for range k / 4 {
					codes = append(codes, byte(rng.IntN(256)))
				}
			}
			peers[r] = peerSrc{idx: idx, codes: codes}
			for b := range peers[r].lut {
				peers[r].lut[b] = float32(rng.NormFloat64())
			}
		}
		ch := rng.IntN(chunks)
		s1, s2 := make([]float32, 4096), make([]float32, 4096)
		c1, c2 := make([]uint16, 4096), make([]uint16, 4096)
		for i := range n {
			s1[i] = float32(rng.NormFloat64())
			s2[i] = s1[i]
		}
		r1 := add12x2Peers(s1[:n], c1[:n], newPeerSet(peers), ch*3*k/2, ch*k/4, k, outRows{o: s2, rows: 3, stride: 100, rowLen: 50})
		r2 := add12x2PeersGo(s2[:n], c2[:n], peers, ch*3*k/2, ch*k/4, k)
		if r1 != r2 {
			t.Fatalf("trial %d (k=%d, n=%d, %d peers): first bad peer %d, want %d", trial, k, n, len(peers), r1, r2)
		}
		if r1 < 0 && (!slices.Equal(c1, c2) || !slices.EqualFunc(s1, s2, func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) })) {
			t.Fatalf("trial %d (k=%d, n=%d, %d peers): the sums differ", trial, k, n, len(peers))
		}
		if r1 < 0 && len(peers) > 0 {
			good++
		} else if r1 >= 0 {
			bad++
		}
	}
	if good < 100 || bad < 50 {
		t.Fatalf("%d trials all good, %d with a bad peer: too few of one kind", good, bad)
	}
}

// BenchmarkFinishMeanRows writes one 64x64 block of a 128-column tensor
// from sums and counts like those of 72 peers at K = 64 (mostly 0 to 3).
func BenchmarkFinishMeanRows(b *testing.B) {
	rng := rand.New(rand.NewPCG(17, 17))
	recip := []float32{0}
	for k := 1; k <= 72; k++ {
		recip = append(recip, 1/float32(k))
	}
	const n = 4096
	sum, cnt := make([]float32, n), make([]uint16, n)
	s0, c0 := make([]float32, n), make([]uint16, n)
	for range 72 * 64 {
		i := rng.IntN(n)
		c0[i]++
		s0[i] += float32(rng.NormFloat64())
	}
	o := make([]float32, 64*128)
	b.SetBytes(4 * n)
	for b.Loop() {
		copy(sum, s0)
		copy(cnt, c0)
		finishMeanRows(o, 128, 64, 64, sum, cnt, recip)
	}
}

// BenchmarkAdd12x2Peers adds one 64x64 chunk (K = 64) of 72 peers into
// sums and counts that stay in the cache, the chunk taken in turn from 16
// (so that the peers' bytes come from the second-level cache, as they
// do from payloads). It reports ns per added value.
func BenchmarkAdd12x2Peers(b *testing.B) {
	rng := rand.New(rand.NewPCG(18, 18))
	const n, k, chunks, npeers = 4096, 64, 16, 72
	peers := make([]peerSrc, npeers)
	for r := range peers {
		var idx, codes []byte
		for range chunks {
			l := rng.Perm(n)[:k]
			slices.Sort(l)
			for i := 0; i < k; i += 2 {
				idx = append(idx, byte(l[i]), byte(l[i]>>8|l[i+1]<<4), byte(l[i+1]>>4))
			}
			for range k / 4 {
				codes = append(codes, byte(rng.IntN(256)))
			}
		}
		peers[r] = peerSrc{idx: idx, codes: codes, lut: [4]float32{-2e-3, -1e-3, 1e-3, 2e-3}}
	}
	sum, cnt := make([]float32, n), make([]uint16, n)
	set := newPeerSet(peers)
	i := 0
	for b.Loop() {
		ch := i % chunks
		if ch == 0 {
			clear(sum)
			clear(cnt)
		}
		if add12x2Peers(sum, cnt, set, ch*3*k/2, ch*k/4, k, outRows{}) >= 0 {
			b.Fatal("bad indices")
		}
		i++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(npeers*k), "ns/value")
}
