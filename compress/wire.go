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
//	(kind and these three must match the receiver's configuration)
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
		b = appendTensorHeader(b, t.Name, t.Shape, len(t.Values))
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
			} else if c.bits == 2 {
				b = pack2(b, t.Codes)
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

// appendTensorHeader appends a tensor's name, shape and value count.
func appendTensorHeader(b []byte, name string, shape []int, values int) []byte {
	b = binary.AppendUvarint(b, uint64(len(name)))
	b = append(b, name...)
	b = binary.AppendUvarint(b, uint64(len(shape)))
	for _, d := range shape {
		b = binary.AppendUvarint(b, uint64(d))
	}
	return binary.AppendUvarint(b, uint64(values))
}

// tensorHeader is the only header tensorSections accepts for tensor pl:
// the encoding is canonical.
func (c *codec) tensorHeader(pl *plan) []byte {
	return appendTensorHeader(nil, pl.name, pl.shape, c.valueCount(pl))
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
	r := pl.divRow(d)
	return r*pl.w + d - r*pl.cols
}

// decodeIndices reads one tensor's index section into idx (len total).
func (pl *plan) decodeIndices(sec []byte, idx []int32, entropy bool) error {
	rd := idxReader{sec: sec, entropy: entropy}
	j := 0
	for ch := range pl.nChunks {
		_, _, k := pl.chunk(ch)
		if err := pl.readChunk(&rd, ch, idx[j:j+k], false); err != nil {
			return err
		}
		j += k
	}
	return rd.finish()
}

// unpackUniform is decodeIndices of a packed section (not entropy coded)
// for a tensor whose chunks all keep the same k < n: one loop over the
// whole section. It returns false, having written garbage, where
// decodeIndices would fail.
func (pl *plan) unpackUniform(sec []byte, out []int32) bool {
	full := pl.h * pl.w
	if pl.flat {
		full = pl.run
	}
	if pl.lenLast != full || pl.kLast != pl.k || pl.k >= full || len(out) != pl.total {
		return false
	}
	n := full
	width := packedWidth(n)
	mask := uint64(1)<<width - 1
	p, acc, nb := 0, uint64(0), uint(0)
	j, k := 0, pl.k
	// pl.chunk's base, without its division: along a row of blocks,
	// then down to the next.
	base, bx := 0, 0
	for range pl.nChunks {
		prev := -1
		for range k {
			if nb < width {
				if p, acc, nb = refillBits(sec, p, acc, nb); nb < width {
					return false
				}
			}
			l := int(acc & mask)
			acc >>= width
			nb -= width
			if l <= prev || l >= n {
				return false
			}
			prev = l
			out[j] = int32(pl.pos(base, l))
			j++
		}
		base += pl.w
		if bx++; bx == pl.nbx {
			base, bx = base+(pl.h-1)*pl.cols, 0
		}
	}
	return p == len(sec) && nb < 8 && acc&(1<<nb-1) == 0
}

// idxReader reads an index section chunk by chunk. It keeps the bit
// buffer in plain fields that readChunk copies to locals: this is the
// receiver's hot path.
type idxReader struct {
	sec     []byte
	p       int    // next byte of sec to load
	acc     uint64 // unread bits, LSB first
	nb      uint   // number of valid bits in acc
	entropy bool
}

// finish checks that only zero padding, less than a byte of it, remains.
func (rd *idxReader) finish() error {
	if rd.p != len(rd.sec) || rd.nb >= 8 || rd.acc&(1<<rd.nb-1) != 0 {
		return errors.New("index section has trailing data")
	}
	return nil
}

// readChunk reads chunk ch's k = len(out) indices as tensor positions,
// or as local indices inside the chunk if local.
func (pl *plan) readChunk(rd *idxReader, ch int, out []int32, local bool) error {
	base, n, k := pl.chunk(ch)
	if k != len(out) {
		return fmt.Errorf("chunk %d: %d indices, want %d", ch, len(out), k)
	}
	if local {
		base = 0
	}
	if k == n {
		for l := range out {
			if local {
				out[l] = int32(l)
			} else {
				out[l] = int32(pl.pos(base, l))
			}
		}
		return nil
	}
	offs := pl.offs
	if offs != nil && !local {
		offs = offs[:n]
	} else {
		offs = nil
	}
	sec, p, acc, nb := rd.sec, rd.p, rd.acc, rd.nb
	if rd.entropy {
		var err error
		p, acc, nb, err = unrice(sec, p, acc, nb, out, offs, base, n, riceParam(n, k))
		rd.p, rd.acc, rd.nb = p, acc, nb
		if err != nil {
			return fmt.Errorf("chunk %d: %w", ch, err)
		}
		return nil
	}
	prev := -1
	width := packedWidth(n)
	mask := uint64(1)<<width - 1
	i0 := 0
	if width == 12 && nb%8 == 0 {
		// Byte-aligned: two indices in every three bytes.
		q := p - int(nb/8)
		pairs := k / 2
		if q+3*pairs > len(sec) {
			return fmt.Errorf("chunk %d: truncated index section", ch)
		}
		var ok bool
		if prev, ok = unpack12(sec[q:q+3*pairs], out[:2*pairs], offs, base, n, prev); !ok {
			return fmt.Errorf("chunk %d: indices not ascending or out of range %d", ch, n)
		}
		p, acc, nb, i0 = q+3*pairs, 0, 0, 2*pairs
	}
	for i := i0; i < len(out); i++ {
		if nb < width {
			p, acc, nb = refillBits(sec, p, acc, nb)
			if nb < width {
				return fmt.Errorf("chunk %d: truncated index section", ch)
			}
		}
		l := int(acc & mask)
		acc >>= width
		nb -= width
		if l <= prev || l >= n {
			if l <= prev {
				return fmt.Errorf("chunk %d: index %d not ascending", ch, l)
			}
			return fmt.Errorf("chunk %d: index %d out of range %d", ch, l, n)
		}
		prev = l
		if offs != nil {
			out[i] = int32(base + int(offs[l]))
		} else {
			out[i] = int32(base + l)
		}
	}
	rd.p, rd.acc, rd.nb = p, acc, nb
	return nil
}

// refillBits tops up the bit buffer acc (nb valid bits) from sec at byte
// p: eight bytes at a time while they last, then byte by byte.
func refillBits(sec []byte, p int, acc uint64, nb uint) (int, uint64, uint) {
	if p+8 <= len(sec) {
		acc |= binary.LittleEndian.Uint64(sec[p:]) << nb
		adv := (63 - nb) >> 3
		return p + int(adv), acc, nb + adv<<3
	}
	for nb <= 56 && p < len(sec) {
		acc |= uint64(sec[p]) << nb
		p++
		nb += 8
	}
	return p, acc, nb
}

// unrice decodes one chunk of Rice-coded gaps (parameter r) into tensor
// positions, continuing the bit stream at (p, acc, nb) and returning where
// it stopped. Not inlined, so that its loop lives in registers.
//
//go:noinline
func unrice(sec []byte, p int, acc uint64, nb uint, out, offs []int32, base, n int, r uint) (int, uint64, uint, error) {
	lowMask := uint64(1)<<r - 1
	prev := -1
	i := 0
	// While 8 bytes remain, refill to at least 56 bits before each code,
	// whatever the count, which leaves one rarely taken branch per code.
	// A unary part too long for that, a code out of range and the end of
	// the section go to unriceFrom, from the same place in the stream.
	for ; i < len(out) && p+8 <= len(sec) && r <= 32; i++ {
		acc |= binary.LittleEndian.Uint64(sec[p:]) << nb
		adv := (63 - nb) >> 3
		p += int(adv)
		nb += adv << 3
		t := uint(bits.TrailingZeros64(^acc))
		v := acc >> (t + 1)
		l := prev + 1 + int(t)<<r + int(v&lowMask)
		// A unary part over n>>r (out of range) also makes l ≥ n.
		if t+1+r > nb || l >= n {
			break
		}
		acc = v >> r
		nb -= t + 1 + r
		prev = l
		if offs != nil {
			out[i] = int32(base + int(offs[l]))
		} else {
			out[i] = int32(base + l)
		}
	}
	return unriceFrom(sec, p, acc, nb, out[i:], offs, base, n, r, prev)
}

// unriceFrom is unrice's loop one bit-buffer step at a time, after
// index prev: for the end of a section and for what unrice's fast loop
// leaves. Not inlined, so that its loop lives in registers.
//
//go:noinline
func unriceFrom(sec []byte, p int, acc uint64, nb uint, out, offs []int32, base, n int, r uint, prev int) (int, uint64, uint, error) {
	lowMask := uint64(1)<<r - 1
	limit := n >> r
	for i := range out {
		// Unary part: count ones up to a zero.
		q := 0
		for {
			if nb == 0 {
				if p, acc, nb = refillBits(sec, p, acc, nb); nb == 0 {
					return p, acc, nb, errors.New("truncated Rice code")
				}
			}
			t := uint(bits.TrailingZeros64(^acc))
			if t < nb {
				q += int(t)
				acc >>= t + 1
				nb -= t + 1
				break
			}
			q += int(nb)
			acc, nb = 0, 0
			if q > limit {
				break
			}
		}
		if q > limit {
			return p, acc, nb, errors.New("Rice code out of range")
		}
		if nb < r {
			if p, acc, nb = refillBits(sec, p, acc, nb); nb < r {
				return p, acc, nb, errors.New("truncated Rice code")
			}
		}
		l := prev + 1 + q<<r + int(acc&lowMask)
		acc >>= r
		nb -= r
		if l >= n {
			return p, acc, nb, fmt.Errorf("index %d out of range %d", l, n)
		}
		prev = l
		if offs != nil {
			out[i] = int32(base + int(offs[l]))
		} else {
			out[i] = int32(base + l)
		}
	}
	return p, acc, nb, nil
}

// unpack12 decodes len(out) (even) 12-bit local indices from src
// (3·len(out)/2 bytes) into tensor positions base + offs[l] (base + l when
// offs is nil). It returns the last local index, and false unless they
// ascend from prev and stay below n. Not inlined, so that its loops live
// in registers.
//
//go:noinline
func unpack12(src []byte, out []int32, offs []int32, base, n, prev int) (int, bool) {
	o := out
	// Four indices per 64-bit load while 8 bytes remain, then pairs.
	for len(src) >= 8 && len(o) >= 4 {
		x := binary.LittleEndian.Uint64(src)
		l0, l1, l2, l3 := int(x&0xfff), int(x>>12&0xfff), int(x>>24&0xfff), int(x>>36&0xfff)
		// All five differences are negative iff the indices ascend in range.
		if (prev-l0)&(l0-l1)&(l1-l2)&(l2-l3)&(l3-n) >= 0 {
			return prev, false
		}
		prev = l3
		if offs != nil {
			o[0], o[1], o[2], o[3] = int32(base+int(offs[l0])), int32(base+int(offs[l1])), int32(base+int(offs[l2])), int32(base+int(offs[l3]))
		} else {
			o[0], o[1], o[2], o[3] = int32(base+l0), int32(base+l1), int32(base+l2), int32(base+l3)
		}
		o, src = o[4:], src[6:]
	}
	for len(src) >= 3 && len(o) >= 2 {
		l0, l1 := int(src[0])|int(src[1]&15)<<8, int(src[1])>>4|int(src[2])<<4
		if (prev-l0)&(l0-l1)&(l1-n) >= 0 {
			return prev, false
		}
		prev = l1
		if offs != nil {
			o[0], o[1] = int32(base+int(offs[l0])), int32(base+int(offs[l1]))
		} else {
			o[0], o[1] = int32(base+l0), int32(base+l1)
		}
		o, src = o[2:], src[3:]
	}
	return prev, true
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
	if n != (bits.Len64(v|1)+6)/7 { // the shortest encoding of v
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
	p := new(Payload)
	if err := c.DecodeTo(p, b); err != nil {
		return nil, err
	}
	return p, nil
}

// DecodeTo is Decode into p, reusing its slices where they are large
// enough: a receiver that keeps one Payload per peer decodes without
// allocating. On error p holds garbage.
func (c *codec) DecodeTo(p *Payload, b []byte) error {
	if err := c.decode(p, b); err != nil {
		return fmt.Errorf("compress: decode: %w", err)
	}
	return nil
}

func (c *codec) decode(p *Payload, b []byte) error {
	d, entropy, byteCodes, err := c.header(b)
	if err != nil {
		return err
	}
	p.Kind = c.cfg.Kind
	p.Tensors = reuse(p.Tensors, len(c.plans))
	for i, pl := range c.plans {
		err := c.decodeTensor(&d, pl, &p.Tensors[i], entropy, byteCodes)
		if err == nil {
			err = d.err
		}
		if err != nil {
			return fmt.Errorf("tensor %q: %w", pl.name, err)
		}
	}
	if len(d.b) != 0 {
		return fmt.Errorf("%d trailing bytes", len(d.b))
	}
	return nil
}

// header checks b's header against the configuration and returns a
// decoder at the first tensor and the wire flags.
func (c *codec) header(b []byte) (d decoder, entropy, byteCodes bool, err error) {
	if len(b) < headerLen {
		return d, false, false, errors.New("payload shorter than its header")
	}
	if [3]byte(b[:3]) != wireMagic {
		return d, false, false, errors.New("bad magic")
	}
	if b[3] != wireVersion {
		return d, false, false, fmt.Errorf("wire version %d, want %d", b[3], wireVersion)
	}
	if b[4] != kindCode(c.cfg.Kind) {
		return d, false, false, fmt.Errorf("kind code %d, want %d (%s)", b[4], kindCode(c.cfg.Kind), c.cfg.Kind)
	}
	idxEnc, codeLayout, qbits := b[5], b[6], int(b[7])
	// Peers agree on one format; anything else is rejected, which also
	// keeps the encoding canonical.
	if wantIdx, wantCodes := c.wireFlags(); idxEnc != wantIdx || codeLayout != wantCodes {
		return d, false, false, fmt.Errorf("index encoding %d and code layout %d, want %d and %d (%s, %s)",
			idxEnc, codeLayout, wantIdx, wantCodes, c.cfg.IndexEncoding, c.cfg.CodeLayout)
	}
	if qbits != c.bits {
		return d, false, false, fmt.Errorf("quantized to %d bits, want %d", qbits, c.bits)
	}
	d = decoder{b: b[headerLen:]}
	nt := d.uvarint("tensor count", uint64(len(c.plans)))
	if d.err == nil && int(nt) != len(c.plans) {
		return d, false, false, fmt.Errorf("%d tensors, layout has %d", nt, len(c.plans))
	}
	if d.err != nil {
		return d, false, false, d.err
	}
	return d, idxEnc == 1, codeLayout == 1, nil
}

// reuse returns s resized to n, reallocating only when it is too small.
func reuse[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// tensorSections parses the header of tensor pl and returns its index
// section (sparse kinds) and its value bytes, whose lengths it checked.
// On malformed input it returns an error, or sets d.err.
func (c *codec) tensorSections(d *decoder, pl *plan, byteCodes bool) (sec, vb []byte, err error) {
	if h := pl.wireHdr; d.err == nil && len(d.b) >= len(h) && string(d.b[:len(h)]) == string(h) {
		// The expected header (the common case, and the only one
		// tensorHeaderSlow accepts).
		d.b = d.b[len(h):]
	} else if err := c.tensorHeaderSlow(d, pl); err != nil || d.err != nil {
		return nil, nil, err
	}
	want := c.valueCount(pl)
	if c.sparse {
		sec = d.bytes("index section", int(d.uvarint("index section length", uint64(len(d.b)))))
		if d.err != nil {
			return nil, nil, nil
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
	vb = d.bytes("values", need)
	if d.err != nil {
		return nil, nil, nil
	}
	return sec, vb, nil
}

// tensorHeaderSlow reads tensor pl's name, shape and value count field by
// field and checks them. On malformed input it returns an error, or sets
// d.err.
func (c *codec) tensorHeaderSlow(d *decoder, pl *plan) error {
	name := d.bytes("name", int(d.uvarint("name length", uint64(len(pl.name)))))
	if d.err != nil {
		return nil
	}
	if string(name) != pl.name {
		return fmt.Errorf("payload names it %q", name)
	}
	rank := int(d.uvarint("rank", uint64(len(pl.shape))))
	if d.err == nil && rank != len(pl.shape) {
		return fmt.Errorf("rank %d, want %d", rank, len(pl.shape))
	}
	for _, want := range pl.shape {
		if got := d.uvarint("dimension", math.MaxInt32); d.err == nil && int(got) != want {
			return fmt.Errorf("shape differs from %v", pl.shape)
		}
	}
	want := c.valueCount(pl)
	if got := d.uvarint("value count", uint64(pl.size)); d.err == nil && int(got) != want {
		return fmt.Errorf("%d values, want %d", got, want)
	}
	return nil
}

// valueCount is the number of values a payload carries for tensor pl.
func (c *codec) valueCount(pl *plan) int {
	if c.sparse {
		return pl.total
	}
	return pl.size
}

// readQuant reads the statistics at the start of a quantized tensor's
// value bytes into q and checks them.
func (c *codec) readQuant(vb []byte, q *QuantStats) error {
	q.Bits, q.Centroids = c.bits, reuse(q.Centroids, 1<<c.bits)
	f := func(i int) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(vb[4*i:])) }
	q.Mean, q.Std, q.Scale = f(0), f(1), f(2)
	for i := range q.Centroids {
		q.Centroids[i] = f(3 + i)
	}
	return q.check(c.bits)
}

func (c *codec) decodeTensor(d *decoder, pl *plan, t *TensorPayload, entropy, byteCodes bool) error {
	var lutBuf [256]float32
	sec, vb, err := c.tensorSections(d, pl, byteCodes)
	if err != nil || d.err != nil {
		return err
	}
	want := c.valueCount(pl)
	t.Name, t.Shape = pl.name, append(t.Shape[:0], pl.shape...)
	if !c.sparse {
		t.Indices = nil
	}
	if c.bits == 0 {
		t.Codes, t.Quant = nil, nil
	}
	if c.sparse {
		t.Indices = reuse(t.Indices, want)
		if err := pl.decodeIndices(sec, t.Indices, entropy); err != nil {
			return err
		}
	}
	t.Values = reuse(t.Values, want)
	switch {
	case c.bits > 0:
		q := t.Quant
		if q == nil {
			q = new(QuantStats)
		}
		if err := c.readQuant(vb, q); err != nil {
			return err
		}
		t.Quant = q
		cb := vb[4*(3+1<<c.bits):]
		t.Codes = reuse(t.Codes, want)
		if byteCodes {
			copy(t.Codes, cb)
			for i, code := range t.Codes {
				if int(code)>>c.bits != 0 {
					return fmt.Errorf("code %d is %d, out of range for %d bits", i, code, c.bits)
				}
			}
		} else if c.bits == 2 {
			if err := unpack2(t.Codes, t.Values, cb, q.lutInto(&lutBuf)); err != nil {
				return err
			}
			return nil // the centroids were checked finite
		} else if err := unpackCodes(t.Codes, cb, c.bits); err != nil {
			return err
		}
		lut := q.lutInto(&lutBuf)
		for i, code := range t.Codes {
			t.Values[i] = lut[code]
		}
		return nil
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
		return fmt.Errorf("value %d is not finite", i)
	}
	return nil
}

// pack2 appends 2-bit codes (each < 4), four to a byte, LSB first.
func pack2(b []byte, codes []uint8) []byte {
	full := len(codes) / 4
	for i := range full {
		c := codes[4*i : 4*i+4 : 4*i+4]
		b = append(b, c[0]|c[1]<<2|c[2]<<4|c[3]<<6)
	}
	if rest := codes[4*full:]; len(rest) > 0 {
		var x byte
		for j, c := range rest {
			x |= c << (2 * j)
		}
		b = append(b, x)
	}
	return b
}

// spread2[x] holds the four 2-bit codes of byte x in four bytes.
var spread2 = func() (t [256]uint32) {
	for x := range t {
		t[x] = uint32(x&3) | uint32(x>>2&3)<<8 | uint32(x>>4&3)<<16 | uint32(x>>6)<<24
	}
	return t
}()

// unpack2 is unpackCodes for 2-bit codes, four to a byte, also writing
// the dequantized values.
func unpack2(codes []uint8, vals []float32, b []byte, lut []float32) error {
	lut = lut[:4]
	n := len(codes)
	vals = vals[:n]
	full := n / 4
	c, v := codes[:4*full], vals[:4*full]
	for _, x := range b[:full] {
		binary.LittleEndian.PutUint32(c, spread2[x])
		v[0], v[1], v[2], v[3] = lut[x&3], lut[x>>2&3], lut[x>>4&3], lut[x>>6]
		c, v = c[4:], v[4:]
	}
	if rest := n - 4*full; rest > 0 {
		x := b[full]
		for j := range rest {
			c := x >> (2 * j) & 3
			codes[4*full+j], vals[4*full+j] = c, lut[c]
		}
		if x>>(2*rest) != 0 {
			return errors.New("non-zero padding after the codes")
		}
	}
	return nil
}

// unpackCodes reads len(codes) codes of nbits each, LSB first, from b
// (whose length the caller checked) and rejects non-zero padding.
func unpackCodes(codes []uint8, b []byte, nbits int) error {
	mask := uint64(1)<<nbits - 1
	var acc uint64
	var nb int
	p := 0
	for i := range codes {
		if nb < nbits {
			if p+8 <= len(b) {
				acc |= binary.LittleEndian.Uint64(b[p:]) << nb
				adv := (63 - nb) >> 3
				p += adv
				nb += adv << 3
			} else {
				for nb <= 56 && p < len(b) {
					acc |= uint64(b[p]) << nb
					p++
					nb += 8
				}
			}
		}
		codes[i] = uint8(acc & mask)
		acc >>= nbits
		nb -= nbits
	}
	if p != len(b) || nb >= 8 || acc&(1<<nb-1) != 0 {
		return errors.New("non-zero padding after the codes")
	}
	return nil
}

// Size reports p's ideal size and the length Encode would give it,
// computed without encoding (see TestSizeMatchesEncode).
func (c *codec) Size(p *Payload) (Size, error) {
	if err := c.Validate(p); err != nil {
		return Size{}, err
	}
	s := Size{Params: c.size, Values: p.Count(), EncodedBytes: c.encodedLen(p)}
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

// encodedLen is len(Encode(p)) for a valid p.
func (c *codec) encodedLen(p *Payload) int {
	entropy := c.cfg.IndexEncoding == IndexEntropy
	byteCodes := c.cfg.CodeLayout == CodesByte
	n := headerLen + uvarintLen(uint64(len(p.Tensors)))
	for i, pl := range c.plans {
		t := &p.Tensors[i]
		// A valid payload has the plan's name, shape and value count.
		n += len(pl.wireHdr)
		if c.sparse {
			sec := int((pl.indexBits(t.Indices, entropy) + 7) / 8)
			n += uvarintLen(uint64(sec)) + sec
		}
		switch {
		case c.bits > 0 && byteCodes:
			n += 4*(3+1<<c.bits) + len(t.Codes)
		case c.bits > 0:
			n += 4*(3+1<<c.bits) + (len(t.Codes)*c.bits+7)/8
		case c.cfg.Kind == BF16:
			n += 2 * len(t.Values)
		default:
			n += 4 * len(t.Values)
		}
	}
	return n
}

// indexBits is the number of bits encodeIndices writes for idx.
func (pl *plan) indexBits(idx []int32, entropy bool) uint64 {
	var nb uint64
	j := 0
	for ch := range pl.nChunks {
		base, n, k := pl.chunk(ch)
		chunk := idx[j : j+k]
		j += k
		if k == n {
			continue
		}
		if !entropy {
			nb += uint64(k) * uint64(packedWidth(n))
			continue
		}
		// Each gap takes gap>>r ones, a zero and r low bits.
		r := riceParam(n, k)
		prev := -1
		for _, pos := range chunk {
			l := pl.localIn(base, int(pos))
			nb += uint64((l-prev-1)>>r) + 1 + uint64(r)
			prev = l
		}
	}
	return nb
}

// uvarintLen is the length of the uvarint encoding of v.
func uvarintLen(v uint64) int { return (bits.Len64(v|1) + 6) / 7 }
