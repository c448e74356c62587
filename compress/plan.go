package compress

import (
	"math"
	"math/bits"

	"github.com/locosim/locosim/tensor"
)

// plan is how one tensor is cut into chunks and how many values each keeps.
//
// Blocks follow the reference: a matrix of R x C is tiled exactly by blocks
// of h x w, where h and w are the largest divisors of R and C not above the
// target side (64); a vector is cut into runs of the largest divisor of its
// length not above the side. Chunks are numbered row of blocks by row of
// blocks, and a position inside a block is r·w + c. Flat chunking cuts the
// flattened tensor into runs of chunk_size, the last one possibly shorter.
type plan struct {
	name   string
	index  int // in the codec's plans
	shape  []int
	offset int // in the flat parameter buffer
	size   int

	cols    int    // row length of the matrix view (blocks)
	colsInv uint64 // ⌈2^64/cols⌉ for divRow (0 when cols is 1)
	h, w    int    // chunk geometry; h == 1 for runs
	nbx     int    // chunks per row of blocks
	nChunks int
	run     int // run length for flat chunking
	flat    bool

	k, kLast     int // values kept per full chunk and in the last chunk
	lenLast      int
	total        int     // values kept in the whole tensor
	offs         []int32 // local index -> offset from the chunk's base (h > 1)
	idealIdxBits float64 // Σ over chunks of log2 C(len, k)
	wireHdr      []byte  // the tensor's header on the wire, up to its value count

	// Where the tensor lies in a payload of the codec's fixedLen (when
	// that is not 0): its header and index section length (fixedHdr) at
	// fixedOff, then secLen bytes of indices and vbLen of values.
	fixedHdr                []byte
	fixedOff, secLen, vbLen int
	// small: the tensor is in codec.small, its sums at smallOff there.
	small    bool
	smallOff int
}

func largestDivisor(n, atMost int) int {
	for d := min(n, atMost); d > 1; d-- {
		if n%d == 0 {
			return d
		}
	}
	return 1
}

func newPlan(s tensor.Spec, cfg Config, chunked bool) *plan {
	p := &plan{name: s.Name, shape: append([]int(nil), s.Shape...), offset: s.Offset, size: s.Size()}
	if !chunked {
		return p
	}
	switch {
	case cfg.Kind == TopK:
		// One chunk per tensor.
		p.flat, p.run, p.h, p.w, p.cols = true, p.size, 1, p.size, p.size
	case cfg.Chunking == ChunkFlat && cfg.Kind != DeMo:
		p.flat, p.run, p.h, p.w, p.cols = true, min(cfg.ChunkSize, p.size), 1, min(cfg.ChunkSize, p.size), p.size
	default:
		side := isqrt(cfg.ChunkSize)
		if len(s.Shape) <= 1 {
			p.cols, p.h, p.w = p.size, 1, largestDivisor(p.size, side)
		} else {
			rows := s.Rows()
			p.cols = s.Cols()
			p.h, p.w = largestDivisor(rows, side), largestDivisor(p.cols, side)
		}
	}
	if p.flat {
		p.nChunks = (p.size + p.run - 1) / p.run
		p.nbx = p.nChunks
		p.lenLast = p.size - (p.nChunks-1)*p.run
	} else {
		p.nbx = p.cols / p.w
		p.nChunks = (p.size / p.cols / p.h) * p.nbx
		p.lenLast = p.h * p.w
	}
	full := p.h * p.w
	if p.flat {
		full = p.run
	}
	p.k = cfg.chunkK(full)
	p.kLast = cfg.chunkK(p.lenLast)
	p.total = p.k*(p.nChunks-1) + p.kLast
	p.idealIdxBits = float64(p.nChunks-1)*log2Binomial(full, p.k) + log2Binomial(p.lenLast, p.kLast)
	if p.cols > 1 {
		p.colsInv = ^uint64(0)/uint64(p.cols) + 1
	}
	if p.h > 1 {
		p.offs = make([]int32, full)
		for i := range p.offs {
			p.offs[i] = int32(i/p.w*p.cols + i%p.w)
		}
	}
	return p
}

// divRow is d / cols for 0 ≤ d < 2^32, by a multiplication: with
// c = ⌈2^64/cols⌉ and 32-bit d and cols, ⌊c·d / 2^64⌋ = ⌊d / cols⌋
// (Lemire, Kaser and Kurz, "Faster remainder by direct computation").
func (p *plan) divRow(d int) int {
	if p.colsInv == 0 {
		return d / p.cols
	}
	hi, _ := bits.Mul64(p.colsInv, uint64(d))
	return int(hi)
}

// chunk returns the base offset (inside the tensor), length and k of chunk c.
func (p *plan) chunk(c int) (base, n, k int) {
	if p.flat {
		base = c * p.run
		if c == p.nChunks-1 {
			return base, p.lenLast, p.kLast
		}
		return base, p.run, p.k
	}
	by, bx := c/p.nbx, c%p.nbx
	return by*p.h*p.cols + bx*p.w, p.h * p.w, p.k
}

// pos maps a local index inside the chunk at base to a position in the tensor.
func (p *plan) pos(base int, local int) int {
	if p.offs == nil {
		return base + local
	}
	return base + int(p.offs[local])
}

// local maps a position in the tensor back to (chunk, local index).
func (p *plan) local(pos int) (c, i int) {
	if p.flat {
		return pos / p.run, pos % p.run
	}
	r, col := pos/p.cols, pos%p.cols
	by, bx := r/p.h, col/p.w
	return by*p.nbx + bx, (r-by*p.h)*p.w + (col - bx*p.w)
}

// log2Binomial is log2 C(n, k), the information floor of a k-subset of n.
func log2Binomial(n, k int) float64 {
	if k < 0 || k > n {
		return 0
	}
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return (a - b - c) / math.Ln2
}
