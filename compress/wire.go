package compress

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
)

// Wire format, version 1 (all integers little-endian or unsigned varints):
//
//	magic "LCZ", version byte 1
//	kind byte (1 dense, 2 bf16, 3 sparseloco, 4 demo, 5 topk, 6 quantize)
//	index encoding byte (0 packed12, 1 entropy)
//	code layout byte (0 packed, 1 byte)
//	quant bits byte (0: values are floats)
//	uvarint tensor count, then per tensor, in layout order:
//	  uvarint name length, name; uvarint rank, uvarint dims
//	  uvarint value count
//	  sparse kinds: uvarint index-section length, index section
//	  quantized: float32 mean, std, scale, 2^bits centroids; the codes
//	  otherwise: the values (fp32, or bf16 for kind bf16)
//
// Index sections hold, chunk after chunk, the chunk's k local indices in
// ascending order: packed12 writes each in 12 bits (more for chunks larger
// than 4096); entropy writes the gaps between them Rice-coded, with a
// parameter fixed by the chunk's length and k. A chunk that keeps all its
// elements writes nothing. Bit streams are LSB first and padded with zero
// bits to a byte. Codes are packed LSB first at quant_bits each, or one byte
// each. The encoding is canonical: Decode rejects anything Encode would not
// have written, so Encode(Decode(b)) == b.

const wireVersion = 1

var wireMagic = [3]byte{'L', 'C', 'Z'}

const headerLen = 8

func kindCode(k Kind) byte {
	for i, x := range kindCodes {
		if x == k {
			return byte(i + 1)
		}
	}
	return 0
}

func packedWidth(n int) uint {
	if n <= 4096 {
		return 12
	}
	return uint(bits.Len(uint(n - 1)))
}

// riceParam is the largest r with 2^r ≤ ln2·(n−k)/(k+1), the mean gap
// scaled to the Rice code that suits a geometric distribution of gaps.
func riceParam(n, k int) uint {
	r := uint(0)
	for r < 30 && (int64(k+1)<<(r+1))*1_000_000 <= int64(n-k)*693_147 {
		r++
	}
	return r
}

type bitWriter struct {
	buf []byte
	acc uint64
	n   uint
}

// write appends the low nbits (≤ 32) of v.
func (w *bitWriter) write(v uint64, nbits uint) {
	w.acc |= v << w.n
	w.n += nbits
	if w.n >= 32 {
		w.buf = binary.LittleEndian.AppendUint32(w.buf, uint32(w.acc))
		w.acc >>= 32
		w.n -= 32
	}
}

func (w *bitWriter) ones(q int) {
	for q >= 32 {
		w.write(math.MaxUint32, 32)
		q -= 32
	}
	w.write(1<<q-1, uint(q))
}

func (w *bitWriter) flush() []byte {
	for w.n > 0 {
		w.buf = append(w.buf, byte(w.acc))
		w.acc >>= 8
		w.n = w.n - min(w.n, 8)
	}
	return w.buf
}

type bitReader struct {
	b   []byte
	acc uint64
	n   uint
}

func (r *bitReader) refill() {
	for r.n <= 56 && len(r.b) > 0 {
		r.acc |= uint64(r.b[0]) << r.n
		r.b = r.b[1:]
		r.n += 8
	}
}

// read returns the next nbits (≤ 32) bits.
func (r *bitReader) read(nbits uint) (uint64, bool) {
	if r.n < nbits {
		r.refill()
		if r.n < nbits {
			return 0, false
		}
	}
	v := r.acc & (1<<nbits - 1)
	r.acc >>= nbits
	r.n -= nbits
	return v, true
}

// unary counts one bits up to the next zero, giving up past limit.
func (r *bitReader) unary(limit int) (int, bool) {
	q := 0
	for {
		if r.n == 0 {
			r.refill()
			if r.n == 0 {
				return 0, false
			}
		}
		t := uint(bits.TrailingZeros64(^r.acc))
		if t < r.n {
			q += int(t)
			r.acc >>= t + 1
			r.n -= t + 1
			return q, q <= limit
		}
		q += int(r.n)
		r.acc, r.n = 0, 0
		if q > limit {
			return 0, false
		}
	}
}

// done reports whether only zero padding (less than a byte) is left.
func (r *bitReader) done() bool {
	return len(r.b) == 0 && r.n < 8 && r.acc == 0
}

func (c *codec) wireFlags() (idx, codes byte) {
	if c.cfg.IndexEncoding == IndexEntropy {
		idx = 1
	}
	if c.cfg.CodeLayout == CodesByte {
		codes = 1
	}
	return idx, codes
}

// Encode returns the wire form of p, which must pass Validate.
func (c *codec) Encode(p *Payload) ([]byte, error) {
	if err := c.Validate(p); err != nil {
		return nil, err
	}
	idxEnc, codeLayout := c.wireFlags()
	b := append(make([]byte, 0, c.encodedCap(p)), wireMagic[:]...)
	b = append(b, wireVersion, kindCode(p.Kind), idxEnc, codeLayout, byte(c.bits))
	b = binary.AppendUvarint(b, uint64(len(p.Tensors)))
	var w bitWriter
	for i, pl := range c.plans {
		t := &p.Tensors[i]
		b = binary.AppendUvarint(b, uint64(len(t.Name)))
		b = append(b, t.Name...)
		b = binary.AppendUvarint(b, uint64(len(t.Shape)))
		for _, d := range t.Shape {
			b = binary.AppendUvarint(b, uint64(d))
		}
		b = binary.AppendUvarint(b, uint64(len(t.Values)))
		if c.sparse {
			w = bitWriter{buf: w.buf[:0]}
			pl.encodeIndices(&w, t.Indices, idxEnc == 1)
			sec := w.flush()
			b = binary.AppendUvarint(b, uint64(len(sec)))
			b = append(b, sec...)
		}
		switch {
		case c.bits > 0:
			q := t.Quant
			for _, v := range append([]float32{q.Mean, q.Std, q.Scale}, q.Centroids...) {
				b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
			}
			if codeLayout == 1 {
				b = append(b, t.Codes...)
			} else {
				w = bitWriter{buf: b}
				for _, code := range t.Codes {
					w.write(uint64(code), uint(c.bits))
				}
				b = w.flush()
				w.buf = nil
			}
		case c.cfg.Kind == BF16:
			for _, v := range t.Values {
				b = binary.LittleEndian.AppendUint16(b, uint16(math.Float32bits(v)>>16))
			}
		default:
			for _, v := range t.Values {
				b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
			}
		}
	}
	return b, nil
}

// encodedCap is a generous guess of the encoded length.
func (c *codec) encodedCap(p *Payload) int {
	n := 64
	for _, t := range p.Tensors {
		n += 64 + len(t.Name) + len(t.Indices)*2 + 48
		switch {
		case c.bits > 0:
			n += len(t.Codes) + 4*len(t.Quant.Centroids)
		default:
			n += 4 * len(t.Values)
		}
	}
	return n
}

func (pl *plan) encodeIndices(w *bitWriter, idx []int32, entropy bool) {
	j := 0
	for ch := range pl.nChunks {
		base, n, k := pl.chunk(ch)
		chunk := idx[j : j+k]
		j += k
		if k == n {
			continue
		}
		width, r := packedWidth(n), riceParam(n, k)
		prev := -1
		for _, pos := range chunk {
			l := pl.localIn(base, int(pos))
			if entropy {
				gap := l - prev - 1
				w.ones(gap >> r)
				w.write(uint64(gap&(1<<r-1))<<1, r+1) // a zero ends the unary part
			} else {
				w.write(uint64(l), width)
			}
			prev = l
		}
	}
}

// localIn maps a position known to lie in the chunk at base to its local index.
func (pl *plan) localIn(base, pos int) int {
	d := pos - base
	if pl.h == 1 {
		return d
	}
	r := d / pl.cols
	return r*pl.w + d - r*pl.cols
}

// decodeIndices reads one tensor's index section into idx (len total).
func (pl *plan) decodeIndices(sec []byte, idx []int32, entropy bool) error {
	rd := bitReader{b: sec}
	j := 0
	for ch := range pl.nChunks {
		base, n, k := pl.chunk(ch)
		out := idx[j : j+k]
		j += k
		if k == n {
			for l := range out {
				out[l] = int32(pl.pos(base, l))
			}
			continue
		}
		width, r := packedWidth(n), riceParam(n, k)
		prev := -1
		for i := range out {
			var l int
			if entropy {
				q, ok := rd.unary(n >> r)
				if !ok {
					return fmt.Errorf("chunk %d: bad or truncated Rice code", ch)
				}
				low, ok := rd.read(r)
				if !ok {
					return fmt.Errorf("chunk %d: truncated index section", ch)
				}
				l = prev + 1 + q<<r + int(low)
			} else {
				v, ok := rd.read(width)
				if !ok {
					return fmt.Errorf("chunk %d: truncated index section", ch)
				}
				l = int(v)
				if l <= prev {
					return fmt.Errorf("chunk %d: index %d not ascending", ch, l)
				}
			}
			if l >= n {
				return fmt.Errorf("chunk %d: index %d out of range %d", ch, l, n)
			}
			out[i] = int32(pl.pos(base, l))
			prev = l
		}
	}
	if !rd.done() {
		return errors.New("index section has trailing data")
	}
	return nil
}

// decoder reads a byte slice and remembers the first error.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf(format, args...)
	}
}

func (d *decoder) uvarint(what string, max uint64) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad %s", what)
		return 0
	}
	if n != len(binary.AppendUvarint(nil, v)) {
		d.fail("non-canonical %s", what)
		return 0
	}
	if v > max {
		d.fail("%s %d exceeds %d", what, v, max)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes(what string, n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b) {
		d.fail("truncated %s", what)
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

// Decode parses b, checks it against the layout and configuration, and
// returns the payload. Any malformed input gives an error, never a panic,
// and allocation is bounded by the layout's size.
func (c *codec) Decode(b []byte) (*Payload, error) {
	p, err := c.decode(b)
	if err != nil {
		return nil, fmt.Errorf("compress: decode: %w", err)
	}
	return p, nil
}

func (c *codec) decode(b []byte) (*Payload, error) {
	if len(b) < headerLen {
		return nil, errors.New("payload shorter than its header")
	}
	if [3]byte(b[:3]) != wireMagic {
		return nil, errors.New("bad magic")
	}
	if b[3] != wireVersion {
		return nil, fmt.Errorf("wire version %d, want %d", b[3], wireVersion)
	}
	if b[4] != kindCode(c.cfg.Kind) {
		return nil, fmt.Errorf("kind code %d, want %d (%s)", b[4], kindCode(c.cfg.Kind), c.cfg.Kind)
	}
	idxEnc, codeLayout, qbits := b[5], b[6], int(b[7])
	// Peers agree on one format; anything else is rejected, which also
	// keeps the encoding canonical.
	if wantIdx, wantCodes := c.wireFlags(); idxEnc != wantIdx || codeLayout != wantCodes {
		return nil, fmt.Errorf("index encoding %d and code layout %d, want %d and %d (%s, %s)",
			idxEnc, codeLayout, wantIdx, wantCodes, c.cfg.IndexEncoding, c.cfg.CodeLayout)
	}
	if qbits != c.bits {
		return nil, fmt.Errorf("quantized to %d bits, want %d", qbits, c.bits)
	}
	d := &decoder{b: b[headerLen:]}
	nt := d.uvarint("tensor count", uint64(len(c.plans)))
	if d.err == nil && int(nt) != len(c.plans) {
		return nil, fmt.Errorf("%d tensors, layout has %d", nt, len(c.plans))
	}
	p := &Payload{Kind: c.cfg.Kind, Tensors: make([]TensorPayload, 0, len(c.plans))}
	for _, pl := range c.plans {
		if d.err != nil {
			break
		}
		t, err := c.decodeTensor(d, pl, idxEnc == 1, codeLayout == 1)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", pl.name, err)
		}
		if d.err != nil {
			return nil, fmt.Errorf("tensor %q: %w", pl.name, d.err)
		}
		p.Tensors = append(p.Tensors, t)
	}
	if d.err != nil {
		return nil, d.err
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("%d trailing bytes", len(d.b))
	}
	return p, nil
}

func (c *codec) decodeTensor(d *decoder, pl *plan, entropy, byteCodes bool) (TensorPayload, error) {
	var t TensorPayload
	name := d.bytes("name", int(d.uvarint("name length", uint64(len(pl.name)))))
	if d.err != nil {
		return t, nil
	}
	if string(name) != pl.name {
		return t, fmt.Errorf("payload names it %q", name)
	}
	rank := int(d.uvarint("rank", uint64(len(pl.shape))))
	if d.err == nil && rank != len(pl.shape) {
		return t, fmt.Errorf("rank %d, want %d", rank, len(pl.shape))
	}
	for _, want := range pl.shape {
		if got := d.uvarint("dimension", math.MaxInt32); d.err == nil && int(got) != want {
			return t, fmt.Errorf("shape differs from %v", pl.shape)
		}
	}
	want := pl.size
	if c.sparse {
		want = pl.total
	}
	if got := d.uvarint("value count", uint64(pl.size)); d.err == nil && int(got) != want {
		return t, fmt.Errorf("%d values, want %d", got, want)
	}
	if d.err != nil {
		return t, nil
	}
	var sec []byte
	if c.sparse {
		sec = d.bytes("index section", int(d.uvarint("index section length", uint64(len(d.b)))))
		if d.err != nil {
			return t, nil
		}
	}
	// Check the value section's length before allocating anything.
	var need int
	switch {
	case c.bits > 0 && byteCodes:
		need = 4*(3+1<<c.bits) + want
	case c.bits > 0:
		need = 4*(3+1<<c.bits) + (want*c.bits+7)/8
	case c.cfg.Kind == BF16:
		need = 2 * want
	default:
		need = 4 * want
	}
	vb := d.bytes("values", need)
	if d.err != nil {
		return t, nil
	}
	t.Name, t.Shape = pl.name, append([]int(nil), pl.shape...)
	if c.sparse {
		t.Indices = make([]int32, want)
		if err := pl.decodeIndices(sec, t.Indices, entropy); err != nil {
			return t, err
		}
	}
	t.Values = make([]float32, want)
	switch {
	case c.bits > 0:
		q := &QuantStats{Bits: c.bits, Centroids: make([]float32, 1<<c.bits)}
		f := func(i int) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(vb[4*i:])) }
		q.Mean, q.Std, q.Scale = f(0), f(1), f(2)
		for i := range q.Centroids {
			q.Centroids[i] = f(3 + i)
		}
		if err := q.check(c.bits); err != nil {
			return t, err
		}
		t.Quant = q
		cb := vb[4*(3+1<<c.bits):]
		t.Codes = make([]uint8, want)
		if byteCodes {
			copy(t.Codes, cb)
			for i, code := range t.Codes {
				if int(code)>>c.bits != 0 {
					return t, fmt.Errorf("code %d is %d, out of range for %d bits", i, code, c.bits)
				}
			}
		} else {
			rd := bitReader{b: cb}
			for i := range t.Codes {
				v, _ := rd.read(uint(c.bits)) // length checked above
				t.Codes[i] = uint8(v)
			}
			if !rd.done() {
				return t, errors.New("non-zero padding after the codes")
			}
		}
		lut := q.lut()
		for i, code := range t.Codes {
			t.Values[i] = lut[code]
		}
	case c.cfg.Kind == BF16:
		for i := range t.Values {
			t.Values[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(vb[2*i:])) << 16)
		}
	default:
		for i := range t.Values {
			t.Values[i] = math.Float32frombits(binary.LittleEndian.Uint32(vb[4*i:]))
		}
	}
	if i := firstNonFinite(t.Values); i >= 0 {
		return t, fmt.Errorf("value %d is not finite", i)
	}
	return t, nil
}

// Size encodes p and reports its ideal and actual size.
func (c *codec) Size(p *Payload) (Size, error) {
	b, err := c.Encode(p)
	if err != nil {
		return Size{}, err
	}
	s := Size{Params: c.size, Values: p.Count(), EncodedBytes: len(b)}
	for _, pl := range c.plans {
		if c.sparse {
			s.IdealBits += pl.idealIdxBits
		}
	}
	switch {
	case c.bits > 0:
		s.IdealBits += float64(s.Values*c.bits + 32*len(c.plans)*(3+1<<c.bits))
	case c.cfg.Kind == BF16:
		s.IdealBits += float64(16 * s.Values)
	default:
		s.IdealBits += float64(32 * s.Values)
	}
	return s, nil
}
