package compress

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
)

// Top-k by selection, not sorting: the key of a value is its float32 bit
// pattern with the sign cleared, which orders finite magnitudes like the
// magnitudes themselves. A radix select on the top 11 bits of the key finds
// the bucket that holds the k-th largest; two 10-bit rounds on the few
// candidates in that bucket pin the exact threshold. Ties at the threshold
// go to the lower index, so the choice is deterministic.

const absMask = 0x7fffffff

// selector holds the scratch of one selection; it is not safe for
// concurrent use.
type selector struct {
	keys   []uint32
	hist   [2048]uint32
	hist2  [1024]uint32
	hist8  [256]uint32
	cand   []int32
	ckeys  []uint32
	top    []uint32
	bucket []int32
	bits   []uint64
	gmax   [256]uint32
	iota   []int32 // 0, 1, …, 255
}

// topK appends to out the local indices of the k largest keys in ascending
// order.
func (s *selector) topK(keys []uint32, k int, out []int32) []int32 {
	clear(s.hist[:])
	var or uint32
	for _, x := range keys {
		s.hist[x>>20]++ // keys are < 2^31: 2048 buckets of the top 11 bits
		or |= x
	}
	return s.topKHist(keys, k, or, out)
}

// topKHist is topK once s.hist holds the histogram of keys>>20 and or is
// the bitwise or of the keys (an upper bound of the largest).
func (s *selector) topKHist(keys []uint32, k int, or uint32, out []int32) []int32 {
	n := len(keys)
	if k >= n {
		for i := range n {
			out = append(out, int32(i))
		}
		return out
	}
	h := &s.hist
	b := int(or >> 20)
	cum := 0
	for ; b > 0 && cum+int(h[b]) < k; b-- {
		cum += int(h[b])
	}
	need := k - cum
	lo := uint32(b) << 20
	// One pass collects every key in or above the boundary bucket, in index
	// order; the rest of the work is on these few.
	// Branch-free: write every index, advance only past the kept ones.
	if cap(s.cand) < n+1 {
		s.cand = make([]int32, n+1)
	}
	cand := s.cand[:atLeast(keys, lo, s.cand[:n+1])]
	if int(h[b]) == need {
		return append(out, cand...)
	}
	// Refine the boundary bucket 10 bits at a time down to one exact key t;
	// need is then the number of keys equal to t to take.
	bucket := s.bucket[:0]
	for _, i := range cand {
		if keys[i] < lo+1<<20 {
			bucket = append(bucket, i)
		}
	}
	const mask = 1023
	for _, shift := range [...]uint{10, 0} {
		h2 := &s.hist2
		clear(h2[:])
		top := 0
		for _, i := range bucket {
			v := int(keys[i] >> shift & mask)
			h2[v]++
			top = max(top, v)
		}
		bb, cum := top, 0
		for ; bb > 0 && cum+int(h2[bb]) < need; bb-- {
			cum += int(h2[bb])
		}
		need -= cum
		next := bucket[:0]
		for _, i := range bucket {
			if int(keys[i]>>shift&mask) == bb {
				next = append(next, i)
			}
		}
		bucket = next
	}
	s.bucket = bucket
	t := keys[bucket[0]] // every remaining key equals t
	for _, i := range cand {
		if x := keys[i]; x > t {
			out = append(out, i)
		} else if x == t && need > 0 {
			out = append(out, i)
			need--
		}
	}
	return out
}

// atLeastGo writes to all (len(keys)+1 long) the indices l0+i of the keys
// >= lo, in order, and returns how many there are (atLeast, which may use
// a vector kernel, is this with l0 = 0). Branch-free: it writes every
// index and advances only past the kept ones.
func atLeastGo(keys []uint32, lo uint32, all []int32, l0 int32) int {
	all = all[:len(keys)+1]
	c := 0
	for i, x := range keys {
		all[c] = l0 + int32(i)
		c += int(uint32(int32(lo-1-x)) >> 31) // 1 iff x >= lo (keys and lo are < 2^31)
	}
	return c
}

// randomK appends k distinct indices of [0, n) drawn uniformly, ascending.
func (s *selector) randomK(n, k int, rng *rand.Rand, out []int32) []int32 {
	if k >= n {
		for i := range n {
			out = append(out, int32(i))
		}
		return out
	}
	words := (n + 63) / 64
	if cap(s.bits) < words {
		s.bits = make([]uint64, words)
	}
	set := s.bits[:words]
	clear(set)
	// Draw the smaller of the kept set and its complement.
	m, keep := k, true
	if k > n/2 {
		m, keep = n-k, false
	}
	for drawn := 0; drawn < m; {
		r := rng.IntN(n)
		if set[r/64]&(1<<(r%64)) == 0 {
			set[r/64] |= 1 << (r % 64)
			drawn++
		}
	}
	for w, word := range set {
		if !keep {
			word = ^word
			if w == words-1 && n%64 != 0 {
				word &= 1<<(n%64) - 1
			}
		}
		for word != 0 {
			out = append(out, int32(w*64+bits.TrailingZeros64(word)))
			word &= word - 1
		}
	}
	return out
}

// efTopK is SparseLoCo's per-chunk step for the chunk at base (n elements
// in h rows of n/h at stride cols): it does e ← β·e + α·d there and appends
// the chunk-local indices of the k largest |e|, ascending, ties to the
// lower index. (compressEF does the update a row of blocks at a time with
// efKeysBlocks, then selectK per block: the same thing.)
func (s *selector) efTopK(e, d []float32, base, n, h, cols, k int, beta, alpha float32, out []int32) []int32 {
	rowLen := n / h
	keys := grow(s.keys, n)
	s.keys = keys
	for r := range h {
		row := base + r*cols
		efKeys(e[row:row+rowLen], d[row:row+rowLen], beta, alpha, keys[r*rowLen:(r+1)*rowLen])
	}
	return s.selectK(keys, k, out)
}

// selectK appends to out the local indices of the k largest keys (each
// below 2^31), ascending, ties to the lower index.
//
// For a chunk of a multiple of 256 keys (4096 in 64x64 blocks) with k at
// most a quarter of them and at most 256, topKGroups; for at most 256
// keys, bisectTop on all of them. Otherwise every 16th
// key gives a threshold t0 that for any but contrived data about 3k keys
// reach, one branch-free pass collects those keys, and an exact select
// among them follows. The threshold is only a guess: should fewer than k
// keys reach it, every key becomes a candidate. The result is the exact
// top-k either way.
func (s *selector) selectK(keys []uint32, k int, out []int32) []int32 {
	n := len(keys)
	if k >= n {
		for i := range n {
			out = append(out, int32(i))
		}
		return out
	}
	if n%256 == 0 && 4*k <= n && k <= 256 {
		return s.topKGroups(keys, k, out)
	}
	if n <= 256 {
		// Few keys: every one is a candidate.
		if len(s.iota) < n {
			s.iota = make([]int32, 256)
			for i := range s.iota {
				s.iota[i] = int32(i)
			}
		}
		lo := keys[0]
		for _, x := range keys {
			lo = min(lo, x)
		}
		return bisectTop(s.iota[:n], keys, lo, k, out)
	}
	var t0 uint32
	if 4*k < n && n >= 512 {
		t0 = s.sampleThreshold(keys, k)
	}
	if cap(s.cand) < n+1 {
		s.cand = make([]int32, n+1)
	}
	c := atLeast(keys, t0, s.cand[:n+1])
	if c < k {
		c = atLeast(keys, 0, s.cand[:n+1])
	}
	cand := s.cand[:c]
	ck := grow(s.ckeys, c)
	s.ckeys = ck
	for j, l := range cand {
		ck[j] = keys[l]
	}
	return s.selectTop(cand, ck, k, out)
}

// topKGroups is selectK for len(keys) a multiple of 256 and k ≤ 256.
//
// The keys fall in 256 groups (i mod 256); a threshold that k of the
// group maxima reach, k keys reach, as the maxima are different keys. A
// bisection on the maxima, with vector counts, raises the threshold until
// at most k + k/8 of them reach it: for independent keys about 1.15k keys
// do, which one vector pass collects. A bisection on the count of these
// candidates then finds the k-th largest key exactly.
func (s *selector) topKGroups(keys []uint32, k int, out []int32) []int32 {
	n := len(keys)
	m := &s.gmax
	groupMax256(keys, m)
	lo, hi := m[0], m[0]
	for _, x := range m[1:] {
		lo, hi = min(lo, x), max(hi, x)
	}
	// Invariant: at least cnt ≥ k maxima are ≥ lo, fewer than k are > hi.
	for cnt := len(m); lo < hi && cnt > k+k/8; {
		mid := lo + (hi-lo+1)/2
		if c := countGE(m[:], mid); c >= k {
			lo, cnt = mid, c
		} else {
			hi = mid - 1
		}
	}
	if cap(s.cand) < n+4 {
		s.cand = make([]int32, n+4)
	}
	c := atLeast(keys, lo, s.cand[:n+4])
	cand := s.cand[:c]
	if c == k {
		return append(out, cand...)
	}
	ck := grow(s.ckeys, c)
	s.ckeys = ck
	for j, l := range cand {
		ck[j] = keys[l]
	}
	return bisectTop(cand, ck, lo, k, out)
}

// bisectTop appends to out the candidates (ascending local indices cand,
// keys ck, all ≥ lo) that hold the k largest keys, ties to the lower
// index, in order. A bisection on the vector count of the keys that reach
// a threshold finds the k-th largest key (or a threshold exactly k reach).
func bisectTop(cand []int32, ck []uint32, lo uint32, k int, out []int32) []int32 {
	hi := lo
	for _, x := range ck {
		hi = max(hi, x)
	}
	// Invariant: at least cnt ≥ k keys are ≥ lo, fewer than k are > hi.
	for cnt := len(ck); lo < hi && cnt > k; {
		mid := lo + (hi-lo+1)/2
		if cm := countGE(ck, mid); cm >= k {
			lo, cnt = mid, cm
		} else {
			hi = mid - 1
		}
	}
	return takeTop(cand, ck, lo, k-countGE(ck, lo+1), out)
}

// takeTop appends to out, in order, the candidates (local indices cand,
// keys ck) whose key is above t, and the first need of those equal to t.
// Branch-free.
func takeTop(cand []int32, ck []uint32, t uint32, need int, out []int32) []int32 {
	o := len(out)
	out = slices.Grow(out, len(cand))[:o+len(cand)]
	dst := out[o:]
	ck = ck[:len(cand)]
	j := 0
	for i, l := range cand {
		x := ck[i]
		var gt, eq, more int
		if x > t {
			gt = 1
		}
		if x == t {
			eq = 1
		}
		if need > 0 {
			more = 1
		}
		take := gt | eq&more
		dst[j] = l
		j += take
		need -= eq & take
	}
	return out[:o+j]
}

// efKeysBlocksGo is efKeys over rows·segs·w contiguous elements seen as
// rows of segs segments of w, with the keys of segment b of row r at
// keys[b·n + r·w:]: each block's keys together, in its local order
// (efKeysBlocks, which may use a vector kernel, is this).
func efKeysBlocksGo(e, d []float32, beta, alpha float32, keys []uint32, rows, segs, w, n int) {
	for r := range rows {
		for b := range segs {
			o := (r*segs + b) * w
			efKeysGo(e[o:o+w], d[o:o+w], beta, alpha, keys[b*n+r*w:b*n+(r+1)*w])
		}
	}
}

// groupMax256Go sets m[j] to the largest keys[i] with i mod 256 = j (0
// if none).
func groupMax256Go(keys []uint32, m *[256]uint32) {
	clear(m[:])
	for i, x := range keys {
		m[i&255] = max(m[i&255], x)
	}
}

// countGEGo is the number of keys >= t (keys below 2^31, t at most 2^31;
// countGE, which may use a vector kernel, is this).
func countGEGo(keys []uint32, t uint32) int {
	c := 0
	for _, x := range keys {
		c += int(uint32(int32(t-1-x)) >> 31)
	}
	return c
}

// efKeysGo does e ← β·e + α·d and stores the magnitude keys of the new e
// (efKeys, which may use a vector kernel, is this). Not inlined, so that
// its loop lives in registers.
//
//go:noinline
func efKeysGo(e, d []float32, beta, alpha float32, keys []uint32) {
	d = d[:len(e)]
	keys = keys[:len(e)]
	for i := range e {
		v := float32(beta*e[i]) + float32(alpha*d[i])
		e[i] = v
		keys[i] = math.Float32bits(v) & absMask
	}
}

// sampleThreshold returns the r-th largest of every 16th key, with r
// chosen so that about 3k + 32 keys should reach it; 0 (every key) when
// the sample is too small.
func (s *selector) sampleThreshold(keys []uint32, k int) uint32 {
	const stride = 16
	n := len(keys)
	ns := (n + stride - 1) / stride
	r := ((3*k+32)*ns + n - 1) / n
	if r >= ns || r <= 0 {
		return 0
	}
	top := grow(s.top, r)[:0] // descending
	for j := 0; j < n; j += stride {
		x := keys[j]
		if len(top) == r {
			if x <= top[r-1] {
				continue
			}
			top = top[:r-1]
		}
		// Insert x, keeping top descending.
		i := len(top)
		top = append(top, x)
		for i > 0 && top[i-1] < x {
			top[i] = top[i-1]
			i--
		}
		top[i] = x
	}
	s.top = top
	return top[r-1]
}

// selectTop appends to out the candidates (ascending local indices cand,
// keys ck) that hold the k largest keys, ties to the lower index, in
// order. It narrows the key range 256 buckets at a time down to the exact
// k-th largest key.
func (s *selector) selectTop(cand []int32, ck []uint32, k int, out []int32) []int32 {
	if k >= len(cand) {
		return append(out, cand...)
	}
	ck = ck[:len(cand)]
	lo, hi := ^uint32(0), uint32(0)
	for _, x := range ck {
		lo, hi = min(lo, x), max(hi, x)
	}
	need := k
	// act lists the positions in ck of the keys still in [lo, hi]; all of
	// them before the first round.
	act, all := s.bucket[:0], true
	for lo < hi {
		shift := uint(bits.Len32((hi - lo) >> 8)) // (hi−lo)>>shift < 256
		h := &s.hist8
		clear(h[:])
		if all {
			for _, x := range ck {
				h[(x-lo)>>shift&255]++
			}
		} else {
			for _, j := range act {
				h[(ck[j]-lo)>>shift&255]++
			}
		}
		b := (hi - lo) >> shift
		cum := 0
		for ; b > 0 && cum+int(h[b]) < need; b-- {
			cum += int(h[b])
		}
		need -= cum
		blo := lo + b<<shift
		bhi := blo + (1<<shift - 1)
		lo, hi = ^uint32(0), 0
		next := act[:0]
		if all {
			for j, x := range ck {
				if x >= blo && x <= bhi {
					next = append(next, int32(j))
					lo, hi = min(lo, x), max(hi, x)
				}
			}
		} else {
			for _, j := range act {
				if x := ck[j]; x >= blo && x <= bhi {
					next = append(next, j)
					lo, hi = min(lo, x), max(hi, x)
				}
			}
		}
		act, all = next, false
	}
	s.bucket = act
	// lo is the k-th largest key; take need of the keys equal to it.
	return takeTop(cand, ck, lo, need, out)
}
