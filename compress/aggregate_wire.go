package compress

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
)

// AggregateEncoded is Decode of every wire payload followed by Aggregate,
// with the same result bit for bit and the same checks: it fails if any
// payload would fail Decode or the aggregate would fail Aggregate (the
// error may name a different problem when there are several). For
// SparseLoCo and topk with bit-packed codes and without robust aggregation
// it never builds the payloads: it reads each peer's indices and codes
// straight from its bytes, chunk by chunk, into the running sums; when
// there is enough work, it spreads the tensors over GOMAXPROCS goroutines
// (see aggregateParallel: the bits and the errors are the same). Other
// configurations decode into reused payloads and aggregate those.
func (c *codec) AggregateEncoded(dst []float32, wires [][]byte) (Report, error) {
	rep := Report{Payloads: len(wires)}
	if len(dst) != c.size {
		return rep, fmt.Errorf("compress: aggregate into %d elements, layout has %d", len(dst), c.size)
	}
	if len(wires) > math.MaxUint16 {
		return rep, fmt.Errorf("compress: %d payloads, at most %d can be aggregated", len(wires), math.MaxUint16)
	}
	s := c.pool.Get().(*scratch)
	defer c.pool.Put(s)
	if !c.streamable() {
		s.decoded = reuse(s.decoded, len(wires))
		for r, b := range wires {
			if s.decoded[r] == nil {
				s.decoded[r] = new(Payload)
			}
			if err := c.DecodeTo(s.decoded[r], b); err != nil {
				return rep, fmt.Errorf("compress: payload %d: %w", r, err)
			}
		}
		// Aggregate takes scratch of its own from the pool.
		return c.Aggregate(dst, s.decoded)
	}
	return rep, c.aggregateStreams(s, dst, wires)
}

// streamable reports whether AggregateEncoded can read payloads straight
// from their bytes.
func (c *codec) streamable() bool {
	return c.sparse && c.cfg.Kind != DeMo && c.bits > 0 && c.cfg.CodeLayout == CodesPacked && !c.cfg.Robust
}

// stream is one peer's payload being read tensor by tensor.
type stream struct {
	d     decoder
	w     []byte // the whole payload
	fixed bool   // w has the fixed layout (codec.fixedLayout)
	rd    idxReader
	codes []byte // the current tensor's packed codes
	lut   []float32
	// secs, when not nil, are every tensor's index section and value
	// bytes, parsed beforehand (aggregateParallel without the fixed
	// layout).
	secs []sections
}

// sections are one tensor's index section and value bytes in a payload.
type sections struct{ sec, vb []byte }

func (c *codec) aggregateStreams(s *scratch, dst []float32, wires [][]byte) error {
	st := reuse(s.streams, len(wires))
	s.streams = st
	entropy := false
	for r, b := range wires {
		d, e, _, err := c.header(b)
		if err != nil {
			return fmt.Errorf("compress: payload %d: decode: %w", r, err)
		}
		st[r].d, entropy = d, e
		st[r].w = b
		st[r].fixed = c.fixedLen != 0 && c.fixedLayout(b)
		st[r].secs = nil // from an earlier call
	}
	allFixed := len(st) > 0
	for r := range st {
		allFixed = allFixed && st[r].fixed
	}
	if c.parallel(len(st)) {
		ok := c.aggregateParallel(s, dst, st, entropy, allFixed)
		for r := range st {
			st[r].secs = nil
		}
		if ok {
			return nil
		}
	}
	// Serial, also after a parallel attempt failed: this names the
	// first problem in tensor order. With every payload of the fixed
	// layout, the small tensors first.
	smallDone := c.small != nil && allFixed
	nonFinite := reuse(s.nonFinite, len(c.small))
	s.nonFinite = nonFinite
	if smallDone {
		s.luts = reuse(s.luts, 1<<c.bits)
		smallDone = c.addSmall(s, dst, st, nonFinite)
	}
	small := 0
	for _, pl := range c.plans {
		out := dst[pl.offset : pl.offset+pl.size]
		if pl.small && smallDone {
			// Checked, added and written by addSmall.
			small++
			if nonFinite[small-1] {
				return fmt.Errorf("compress: aggregate of tensor %q is not finite at element %d", pl.name, max(firstNonFinite(out), 0))
			}
			continue
		}
		if err := c.aggregatePlan(s, pl, out, st, entropy); err != nil {
			return err
		}
	}
	for r := range st {
		// A payload of the fixed layout ends with its last tensor.
		if n := len(st[r].d.b); n != 0 && !st[r].fixed {
			return fmt.Errorf("compress: payload %d: decode: %d trailing bytes", r, n)
		}
	}
	return nil
}

// aggregatePlan reads tensor pl of every peer's stream (st, positioned at
// its header) and writes its aggregate to out.
func (c *codec) aggregatePlan(s *scratch, pl *plan, out []float32, st []stream, entropy bool) error {
	nb := 1 << c.bits
	luts := reuse(s.luts, nb*len(st))
	s.luts = luts
	var q QuantStats
	// Two passes over the peers, so that the cache can fetch each
	// peer's statistics while the others' headers are read.
	for r := range st {
		x := &st[r]
		var sec, vb []byte
		if x.secs != nil {
			sec, vb = x.secs[pl.index].sec, x.secs[pl.index].vb
		} else if x.fixed {
			// What tensorSections would read.
			o := pl.fixedOff + len(pl.fixedHdr)
			sec = x.w[o : o+pl.secLen : o+pl.secLen]
			o += pl.secLen
			vb = x.w[o : o+pl.vbLen : o+pl.vbLen]
			x.d.b = x.w[o+pl.vbLen:]
		} else {
			var err error
			sec, vb, err = c.tensorSections(&x.d, pl, false)
			if err == nil {
				err = x.d.err
			}
			if err != nil {
				return fmt.Errorf("compress: payload %d: decode: tensor %q: %w", r, pl.name, err)
			}
		}
		x.rd = idxReader{sec: sec, entropy: entropy}
		x.codes = vb
		prefetch(&vb[0]) // the length was checked
	}
	for r := range st {
		x := &st[r]
		x.lut = luts[r*nb : (r+1)*nb : (r+1)*nb]
		if !quantLUT(x.codes, x.lut) {
			// readQuant names the problem.
			err := c.readQuant(x.codes, &q)
			if err == nil {
				err = errors.New("quantization statistics rejected")
			}
			return fmt.Errorf("compress: payload %d: decode: tensor %q: %w", r, pl.name, err)
		}
		x.codes = x.codes[4*(3+nb):]
		// Only zero padding may follow the last code.
		if used := pl.total * c.bits % 8; used != 0 && x.codes[len(x.codes)-1]>>used != 0 {
			return fmt.Errorf("compress: payload %d: decode: tensor %q: non-zero padding after the codes", r, pl.name)
		}
		// The next tensor's header, read after this one's chunks.
		if len(x.d.b) > 0 {
			prefetch(&x.d.b[0])
		}
	}
	if len(st) == 0 {
		clear(out)
		return nil
	}
	// The chunks tile the tensor: streamChunks writes all of out.
	finite, err := c.streamChunks(s, pl, out, st)
	if err != nil {
		return fmt.Errorf("compress: %w", err)
	}
	if !finite {
		return fmt.Errorf("compress: aggregate of tensor %q is not finite at element %d", pl.name, max(firstNonFinite(out), 0))
	}
	return nil
}

// quantLUT is readQuant and the check of its statistics for the
// len(lut) centroids at the start of vb (whose length was checked), in one
// pass over the words: it writes lut[b] = centroid b + mean and reports
// whether readQuant would accept them.
func quantLUT(vb []byte, lut []float32) bool {
	if len(lut) == 4 {
		return quantLUT2((*[28]byte)(vb), (*[4]float32)(lut))
	}
	return quantLUTN(vb, lut)
}

// quantLUTN is quantLUT for any number of centroids.
func quantLUTN(vb []byte, lut []float32) bool {
	w := vb[:4*(3+len(lut))]
	mean := math.Float32frombits(binary.LittleEndian.Uint32(w))
	std := math.Float32frombits(binary.LittleEndian.Uint32(w[4:]))
	scale := math.Float32frombits(binary.LittleEndian.Uint32(w[8:]))
	// Bit 31 of (bits & exponent) + one exponent step is set iff the
	// exponent is all ones: infinite or NaN.
	const exp, step = 0x7f800000, 0x00800000
	bad := uint32(0)
	for i := range 3 {
		bad |= binary.LittleEndian.Uint32(w[4*i:])&exp + step
	}
	for b := range lut {
		u := binary.LittleEndian.Uint32(w[4*(3+b):])
		v := math.Float32frombits(u) + mean
		lut[b] = v
		bad |= (u&exp + step) | (math.Float32bits(v)&exp + step)
	}
	return bad>>31 == 0 && std >= 0 && scale > 0
}

// quantLUT2 is quantLUT for 2-bit codes, unrolled: it runs once per
// tensor and payload.
func quantLUT2(w *[28]byte, lut *[4]float32) bool {
	const exp, step = 0x7f800000, 0x00800000
	le := binary.LittleEndian
	m, sd, sc := le.Uint32(w[0:]), le.Uint32(w[4:]), le.Uint32(w[8:])
	c0, c1, c2, c3 := le.Uint32(w[12:]), le.Uint32(w[16:]), le.Uint32(w[20:]), le.Uint32(w[24:])
	mean := math.Float32frombits(m)
	v0, v1 := math.Float32frombits(c0)+mean, math.Float32frombits(c1)+mean
	v2, v3 := math.Float32frombits(c2)+mean, math.Float32frombits(c3)+mean
	lut[0], lut[1], lut[2], lut[3] = v0, v1, v2, v3
	bad := (m&exp + step) | (sd&exp + step) | (sc&exp + step) |
		(c0&exp + step) | (c1&exp + step) | (c2&exp + step) | (c3&exp + step) |
		(math.Float32bits(v0)&exp + step) | (math.Float32bits(v1)&exp + step) |
		(math.Float32bits(v2)&exp + step) | (math.Float32bits(v3)&exp + step)
	return bad>>31 == 0 && math.Float32frombits(sd) >= 0 && math.Float32frombits(sc) > 0
}

// streamChunks is aggregateChunks reading every peer's indices and codes
// from its stream: chunk by chunk, so that the sums and counts of one
// chunk stay in the first-level cache. They are kept by local index
// inside the chunk (dense, unlike the chunk's span in the tensor), which
// is what the wire says. It reports whether out is finite.
func (c *codec) streamChunks(s *scratch, pl *plan, out []float32, st []stream) (bool, error) {
	recip := c.recips(s, len(st))
	full := pl.h * pl.w
	if pl.flat {
		full = pl.run
	}
	// At least 4096 long: add12x2 indexes them as arrays.
	sum, cnt := grow(s.sum, max(full, 4096)), grow(s.cnt, max(full, 4096))
	s.sum, s.cnt = sum, cnt
	s.loc = grow(s.loc, max(pl.k, pl.kLast))
	peers := c.peerSources(s, pl, st)
	if peers == nil && pl.size <= len(sum) && pl.nChunks > 1 {
		return c.streamSmall(s, pl, out, st)
	}
	set := newPeerSet(peers)
	var mx uint32
	for ch := range pl.nChunks {
		base, n, k := pl.chunk(ch)
		var err error
		if peers != nil {
			// Every peer's chunk in one call.
			// The kernel also fetches the rows that the finish below writes.
			next := outRows{o: out[base:], rows: pl.h, stride: pl.cols, rowLen: n / pl.h}
			if pl.h == 1 {
				next.rows, next.stride, next.rowLen = (n+63)/64, 64, 64
			}
			if r := add12x2Peers(sum[:n:len(sum)], cnt[:n:len(cnt)], set, ch*3*k/2, ch*k/4, k, next); r >= 0 {
				// Invalid indices: let readChunk name the problem.
				x := &st[r]
				x.rd.p, x.rd.acc, x.rd.nb = ch*3*k/2, 0, 0
				if err = pl.readChunk(&x.rd, ch, s.loc[:k], true); err == nil {
					err = fmt.Errorf("chunk %d: indices not ascending or out of range %d", ch, n)
				}
				err = fmt.Errorf("payload %d: decode: tensor %q: %w", r, pl.name, err)
			}
		} else {
			err = c.addChunk(s, pl, ch, sum, cnt, st)
		}
		if err != nil {
			clear(sum)
			clear(cnt)
			return false, err
		}
		// Write the chunk's rows, zeroing the sums and counts.
		if c.cfg.Aggregation == MeanContributors {
			mx = max(mx, finishMeanRows(out[base:], pl.cols, pl.h, n/pl.h, sum[:n], cnt[:n], recip))
		} else {
			mx = max(mx, finishRows(out[base:], pl.cols, pl.h, n/pl.h, sum[:n], cnt[:n], recip))
		}
	}
	for r := range st {
		if peers != nil {
			st[r].rd.p = len(st[r].rd.sec) // peerSources checked the length
		}
		if err := st[r].rd.finish(); err != nil {
			return false, fmt.Errorf("payload %d: decode: tensor %q: %w", r, pl.name, err)
		}
	}
	return finiteTop(mx), nil
}

// streamSmall is streamChunks for a tensor that fits in the sums and
// counts: peer after peer, all its indices (as positions in the tensor)
// and codes at once, which saves the per-chunk work of small chunks.
func (c *codec) streamSmall(s *scratch, pl *plan, out []float32, st []stream) (bool, error) {
	recip := c.recips(s, len(st))
	sum, cnt := s.sum[:pl.size], s.cnt[:pl.size]
	loc := grow(s.loc, pl.total)[:pl.total]
	s.loc = loc
	for r := range st {
		x := &st[r]
		if x.rd.entropy || !pl.unpackUniform(x.rd.sec, loc) {
			if err := pl.decodeIndices(x.rd.sec, loc, x.rd.entropy); err != nil {
				clear(sum)
				clear(cnt)
				return false, fmt.Errorf("payload %d: decode: tensor %q: %w", r, pl.name, err)
			}
		}
		x.rd.p, x.rd.acc, x.rd.nb = len(x.rd.sec), 0, 0
		if c.bits == 2 {
			scatter2(sum, cnt, loc, x.codes, 0, x.lut)
		} else {
			scatterCodes(sum, cnt, loc, x.codes, 0, c.bits, x.lut)
		}
	}
	var mx uint32
	if c.cfg.Aggregation == MeanContributors {
		mx = finishMeanRows(out, pl.size, 1, pl.size, sum, cnt, recip)
	} else {
		mx = finishRows(out, pl.size, 1, pl.size, sum, cnt, recip)
	}
	return finiteTop(mx), nil
}

// addChunk adds chunk ch of every peer, read from its stream, into sum and
// cnt (at least 4096 long).
func (c *codec) addChunk(s *scratch, pl *plan, ch int, sum []float32, cnt []uint16, st []stream) error {
	_, n, k := pl.chunk(ch)
	j0 := ch * pl.k
	// The common case: 12-bit indices starting on a byte, whole
	// groups of four, codes starting on a byte.
	fast := c.bits == 2 && k%4 == 0 && j0%4 == 0 && k < n && packedWidth(n) == 12
	loc := s.loc[:k]
	for r := range st {
		x := &st[r]
		if fast && !x.rd.entropy && x.rd.nb%8 == 0 {
			q := x.rd.p - int(x.rd.nb/8)
			if q+3*k/2 <= len(x.rd.sec) {
				// Ask for the peer after next's section of this chunk
				// (or, past the last peer, of the next chunk).
				y := &st[(r+2)%len(st)]
				pf1, pf2 := &x.rd.sec[q], &x.codes[j0/4]
				if y.rd.p < len(y.rd.sec) {
					pf1 = &y.rd.sec[y.rd.p]
				}
				if j0/4 < len(y.codes) {
					pf2 = &y.codes[j0/4]
				}
				if add12x2(sum[:n:len(sum)], cnt[:n:len(cnt)], x.rd.sec[q:q+3*k/2], x.codes[j0/4:j0/4+k/4], x.lut, pf1, pf2) {
					x.rd.p, x.rd.acc, x.rd.nb = q+3*k/2, 0, 0
					continue
				}
				// Invalid indices: let readChunk name the problem.
				err := pl.readChunk(&x.rd, ch, loc, true)
				if err == nil {
					err = fmt.Errorf("chunk %d: indices not ascending or out of range %d", ch, n)
				}
				return fmt.Errorf("payload %d: decode: tensor %q: %w", r, pl.name, err)
			}
			// Truncated: readChunk names the problem.
		}
		if err := pl.readChunk(&x.rd, ch, loc, true); err != nil {
			return fmt.Errorf("payload %d: decode: tensor %q: %w", r, pl.name, err)
		}
		if c.bits == 2 {
			scatter2(sum[:n], cnt[:n], loc, x.codes, j0, x.lut)
		} else {
			scatterCodes(sum[:n], cnt[:n], loc, x.codes, j0, c.bits, x.lut)
		}
	}
	return nil
}

// peerSources returns every peer's index section and codes for tensor pl
// when add12x2Peers can read each chunk of all of them from fixed offsets:
// 2-bit codes, chunks of at most 4096 that all keep the same k < n
// (a multiple of 16), 12-bit indices (byte-aligned, 3k/2 bytes a chunk),
// and sections of exactly the length that makes. Otherwise nil.
func (c *codec) peerSources(s *scratch, pl *plan, st []stream) []peerSrc {
	full := pl.h * pl.w
	if pl.flat {
		full = pl.run
	}
	if c.bits != 2 || pl.k%16 != 0 || pl.k >= full || full > 4096 || pl.lenLast != full || pl.kLast != pl.k || len(st) == 0 {
		return nil
	}
	idxLen, codesLen := pl.nChunks*3*pl.k/2, pl.nChunks*pl.k/4
	peers := reuse(s.peers, len(st))
	s.peers = peers
	for r := range st {
		x := &st[r]
		if x.rd.entropy || x.rd.p != 0 || x.rd.nb != 0 || len(x.rd.sec) != idxLen || len(x.codes) < codesLen {
			return nil
		}
		peers[r] = peerSrc{idx: x.rd.sec, codes: x.codes, lut: [4]float32(x.lut)}
	}
	return peers
}

// add12x2Go adds one peer's chunk, given as 12-bit local indices (src, three
// bytes per two) and 2-bit codes (one byte per four), into the sums and
// counts (len n, the chunk's length). It returns false, having added
// garbage, unless the indices ascend and stay below n (add12x2, which
// may use an assembly kernel, is this). Not inlined.
//
//go:noinline
func add12x2Go(sum []float32, cnt []uint16, src, codes []byte, lut []float32) bool {
	n := len(sum)
	// 12-bit indices are below 4096: as array indices they need no
	// bounds checks. The check below keeps them below n.
	sa := (*[4096]float32)(sum[:4096])
	ca := (*[4096]uint16)(cnt[:4096])
	la := (*[4]float32)(lut)
	prev := -1
	// Four indices per 64-bit load while 8 bytes remain, the last four from
	// the final six bytes.
	for len(codes) > 0 {
		var x uint64
		if len(src) >= 8 {
			x = binary.LittleEndian.Uint64(src)
		} else if len(src) >= 6 {
			x = uint64(binary.LittleEndian.Uint32(src)) | uint64(binary.LittleEndian.Uint16(src[4:]))<<32
		} else {
			return false
		}
		l0, l1, l2, l3 := x&0xfff, x>>12&0xfff, x>>24&0xfff, x>>36&0xfff
		// All five differences are negative iff the indices ascend in range.
		if (prev-int(l0))&int(l0-l1)&int(l1-l2)&int(l2-l3)&(int(l3)-n) >= 0 {
			return false
		}
		prev = int(l3)
		cb := codes[0]
		sa[l0] += la[cb&3]
		ca[l0]++
		sa[l1] += la[cb>>2&3]
		ca[l1]++
		sa[l2] += la[cb>>4&3]
		ca[l2]++
		sa[l3] += la[cb>>6]
		ca[l3]++
		src, codes = src[6:], codes[1:]
	}
	return true
}

// outRows is where the finish of a chunk writes: rows rows of rowLen
// elements, row i starting stride elements after row i−1 in o. The
// kernels only prefetch them (they may reach past the end of o).
type outRows struct {
	o                    []float32
	rows, stride, rowLen int
}

// peerSrc is one peer's index section and codes for a tensor, and its
// table of values by code.
type peerSrc struct {
	idx, codes []byte
	lut        [4]float32
}

// peerSet is peers' sources with the shortest index section and codes
// among them, measured once per tensor rather than per chunk.
type peerSet struct {
	src              []peerSrc
	idxLen, codesLen int
}

func newPeerSet(src []peerSrc) peerSet {
	ps := peerSet{src: src}
	for i, p := range src {
		if i == 0 || len(p.idx) < ps.idxLen {
			ps.idxLen = len(p.idx)
		}
		if i == 0 || len(p.codes) < ps.codesLen {
			ps.codesLen = len(p.codes)
		}
	}
	return ps
}

// add12x2PeersGo adds one chunk of every peer in turn, as add12x2Go: peer
// r's k 12-bit indices start idxOff bytes into peers[r].idx, its 2-bit
// codes codeOff bytes into peers[r].codes. It returns the first peer whose
// indices do not ascend below len(sum), having added garbage, or −1.
func add12x2PeersGo(sum []float32, cnt []uint16, peers []peerSrc, idxOff, codeOff, k int) int {
	for r := range peers {
		p := &peers[r]
		if !add12x2Go(sum, cnt, p.idx[idxOff:idxOff+3*k/2], p.codes[codeOff:codeOff+k/4], p.lut[:]) {
			return r
		}
	}
	return -1
}

// finishLocal writes o[j] = sum[j]·recip[cnt[j]] and returns the
// outputs' largest magnitude bits (see finiteTop). Not inlined, so that
// its loop lives in registers.
//
//go:noinline
func finishLocal(o, sum []float32, cnt []uint16, recip []float32) (mag uint32) {
	sum = sum[:len(o)]
	cnt = cnt[:len(o)]
	for j, s := range sum {
		v := s * recip[cnt[j]]
		o[j] = v
		mag = max(mag, math.Float32bits(v)<<1)
	}
	return mag
}

// finiteTop reports whether values whose largest magnitude bits (a
// float32's bits shifted left by one, dropping the sign) are mag are all
// finite: the exponent of infinities and NaNs is all ones.
func finiteTop(mag uint32) bool { return mag < 0xff000000 }

// finishRows writes rows rows of rowLen outputs o[j] = sum[j]·recip[cnt[j]],
// row i starting stride elements after row i−1 in o (and rowLen after in
// sum and cnt), zeroes sum and cnt, and returns the outputs' largest
// magnitude bits (see finiteTop; finishMeanRows may use a vector kernel
// for this).
func finishRows(o []float32, stride, rows, rowLen int, sum []float32, cnt []uint16, recip []float32) (mag uint32) {
	for row := range rows {
		s, c := sum[row*rowLen:(row+1)*rowLen], cnt[row*rowLen:(row+1)*rowLen]
		mag = max(mag, finishLocal(o[row*stride:row*stride+rowLen], s, c, recip))
		clear(s)
		clear(c)
	}
	return mag
}

// recips returns the table count -> 1/count (or 1/R for the mean over
// replicas) that aggregation multiplies the sums by, for R payloads.
func (c *codec) recips(s *scratch, R int) []float32 {
	recip := s.recip[:0]
	for k := range R + 1 {
		switch {
		case c.cfg.Aggregation == MeanReplicas:
			recip = append(recip, 1/float32(R))
		case k == 0:
			recip = append(recip, 0)
		default:
			recip = append(recip, 1/float32(k))
		}
	}
	s.recip = recip
	return recip
}

// scatter2 adds the values of 2-bit codes j0, j0+1, ... (packed four to a
// byte in codes) at local indices loc into a chunk's sums and counts. The
// indices were checked. Not inlined, so that its loop lives in registers.
//
//go:noinline
func scatter2(sum []float32, cnt []uint16, loc []int32, codes []byte, j0 int, lut []float32) {
	lut = lut[:4]
	cnt = cnt[:len(sum)]
	for i, l := range loc {
		j := j0 + i
		sum[l] += lut[codes[j>>2]>>(2*(j&3))&3]
		cnt[l]++
	}
}

// scatterCodes is scatter2 for codes of any width up to 8, packed LSB
// first.
func scatterCodes(sum []float32, cnt []uint16, loc []int32, codes []byte, j0, bits int, lut []float32) {
	mask := uint(1)<<bits - 1
	cnt = cnt[:len(sum)]
	for i, l := range loc {
		bit := uint((j0 + i) * bits)
		x := uint(codes[bit>>3])
		if bit&7+uint(bits) > 8 {
			x |= uint(codes[bit>>3+1]) << 8
		}
		sum[l] += lut[x>>(bit&7)&mask]
		cnt[l]++
	}
}

// fixLayout sets c.fixedLen and the plans' fixed fields when every honest
// payload that AggregateEncoded streams has the same layout: packed
// indices, whose sections' lengths depend only on the plans.
func (c *codec) fixLayout() {
	if !c.streamable() || c.cfg.IndexEncoding == IndexEntropy {
		return
	}
	off := headerLen + uvarintLen(uint64(len(c.plans)))
	for _, pl := range c.plans {
		var nb uint64
		for ch := range pl.nChunks {
			if _, n, k := pl.chunk(ch); k != n {
				nb += uint64(k) * uint64(packedWidth(n))
			}
		}
		pl.secLen = int((nb + 7) / 8)
		pl.vbLen = 4*(3+1<<c.bits) + (pl.total*c.bits+7)/8
		pl.fixedHdr = binary.AppendUvarint(slices.Clip(pl.wireHdr), uint64(pl.secLen))
		pl.fixedOff = off
		off += len(pl.fixedHdr) + pl.secLen + pl.vbLen
	}
	c.fixedLen = off
	for _, pl := range c.plans {
		full := pl.h * pl.w
		if pl.flat {
			full = pl.run
		}
		// What streamChunks does not give to add12x2Peers, in chunks all
		// alike (unpackUniform), at most the sums' minimum length.
		peerable := c.bits == 2 && pl.k%16 == 0 && full <= 4096
		if !peerable && pl.lenLast == full && pl.kLast == pl.k && pl.k < full && pl.size <= 4096 {
			pl.small, pl.smallOff = true, c.smallSize
			c.small = append(c.small, pl)
			c.smallSize += pl.size
		}
	}
}

// planWork sets c.kept and c.order (after fixLayout) when AggregateEncoded
// streams payloads: the work aggregateParallel hands out.
func (c *codec) planWork() {
	if !c.streamable() {
		return
	}
	for _, pl := range c.plans {
		c.kept += pl.total
		if !pl.small {
			c.order = append(c.order, pl)
		}
	}
	// Largest first, for an even split over goroutines.
	slices.SortStableFunc(c.order, func(a, b *plan) int { return b.size - a.size })
}

// addSmall aggregates the tensors of c.small from payloads of the fixed
// layout (len(st) > 0) payload by payload, all of a payload's at once, and
// writes them to dst. It reports false, with dst garbage but the sums and
// counts zero, when some payload fails a check (aggregateStreams then
// reads the tensors in turn and names the problem), and otherwise
// nonFinite[i] for each small tensor i whose aggregate is not finite.
func (c *codec) addSmall(s *scratch, dst []float32, st []stream, nonFinite []bool) bool {
	nb := 1 << c.bits
	sum, cnt := grow(s.sum, max(c.smallSize, 4096)), grow(s.cnt, max(c.smallSize, 4096))
	s.sum, s.cnt = sum, cnt
	lut := s.luts[:nb]
	for r := range st {
		w := st[r].w
		for _, pl := range c.small {
			o := pl.fixedOff + len(pl.fixedHdr)
			sec := w[o : o+pl.secLen : o+pl.secLen]
			vb := w[o+pl.secLen : o+pl.secLen+pl.vbLen : o+pl.secLen+pl.vbLen]
			loc := grow(s.loc, pl.total)[:pl.total]
			s.loc = loc
			codes := vb[4*(3+nb):]
			used := pl.total * c.bits % 8
			if !quantLUT(vb, lut) || used != 0 && codes[len(codes)-1]>>used != 0 || !pl.unpackUniform(sec, loc) {
				clear(sum[:c.smallSize])
				clear(cnt[:c.smallSize])
				return false
			}
			ps, pc := sum[pl.smallOff:pl.smallOff+pl.size], cnt[pl.smallOff:pl.smallOff+pl.size]
			if c.bits == 2 {
				scatter2(ps, pc, loc, codes, 0, lut)
			} else {
				scatterCodes(ps, pc, loc, codes, 0, c.bits, lut)
			}
		}
	}
	recip := c.recips(s, len(st))
	for i, pl := range c.small {
		out := dst[pl.offset : pl.offset+pl.size]
		ps, pc := sum[pl.smallOff:pl.smallOff+pl.size], cnt[pl.smallOff:pl.smallOff+pl.size]
		var mx uint32
		if c.cfg.Aggregation == MeanContributors {
			mx = finishMeanRows(out, pl.size, 1, pl.size, ps, pc, recip)
		} else {
			mx = finishRows(out, pl.size, 1, pl.size, ps, pc, recip)
		}
		nonFinite[i] = !finiteTop(mx)
	}
	return true
}

// fixedLayout reports whether payload b, whose header was checked, has
// the fixed layout (c.fixedLen is not 0): its length and every tensor's
// header and index section length as expected. Parsing it then finds each
// tensor at its plan's fixed offsets.
func (c *codec) fixedLayout(b []byte) bool {
	if len(b) != c.fixedLen {
		return false
	}
	for _, pl := range c.plans {
		h := pl.fixedHdr
		if string(b[pl.fixedOff:pl.fixedOff+len(h)]) != string(h) {
			return false
		}
	}
	return true
}
