package data

import "fmt"

// Shape is the size of a batch: Batch sequences of SeqLen input tokens, each
// with SeqLen next-token targets.
type Shape struct {
	Batch  int
	SeqLen int
}

// Tokens is the number of input tokens in a batch of this shape.
func (s Shape) Tokens() int { return s.Batch * s.SeqLen }

func (s Shape) validate() error {
	if s.Batch < 1 || s.SeqLen < 1 {
		return fmt.Errorf("data: batch shape %dx%d, want at least 1x1", s.Batch, s.SeqLen)
	}
	return nil
}

// Batch holds Batch rows of SeqLen tokens, row-major: Inputs[r*SeqLen+i] is
// token i of row r and Targets[r*SeqLen+i] is the token that follows it.
type Batch struct {
	Shape
	Inputs  []int32
	Targets []int32
}

// NewBatch allocates a batch of shape s.
func NewBatch(s Shape) *Batch {
	b := &Batch{}
	b.reshape(s)
	return b
}

// Row returns the inputs and targets of row r.
func (b *Batch) Row(r int) (inputs, targets []int32) {
	lo, hi := r*b.SeqLen, (r+1)*b.SeqLen
	return b.Inputs[lo:hi], b.Targets[lo:hi]
}

// reshape sets the shape and sizes the slices, reusing their storage.
func (b *Batch) reshape(s Shape) {
	b.Shape = s
	n := s.Tokens()
	if cap(b.Inputs) < n {
		b.Inputs = make([]int32, n)
	}
	if cap(b.Targets) < n {
		b.Targets = make([]int32, n)
	}
	b.Inputs, b.Targets = b.Inputs[:n], b.Targets[:n]
}

// Concat stacks the rows of batches with the same SeqLen into one batch, in
// argument order: the union batch that one replica would see where several
// replicas each see one part.
func Concat(batches ...*Batch) (*Batch, error) {
	if len(batches) == 0 {
		return nil, fmt.Errorf("data: Concat of no batches")
	}
	s := Shape{SeqLen: batches[0].SeqLen}
	for i, b := range batches {
		if b.SeqLen != s.SeqLen {
			return nil, fmt.Errorf("data: Concat: batch %d has SeqLen %d, batch 0 has %d", i, b.SeqLen, s.SeqLen)
		}
		if len(b.Inputs) != b.Tokens() || len(b.Targets) != b.Tokens() {
			return nil, fmt.Errorf("data: Concat: batch %d holds %d inputs and %d targets, want %d",
				i, len(b.Inputs), len(b.Targets), b.Tokens())
		}
		s.Batch += b.Batch
	}
	out := &Batch{Shape: s, Inputs: make([]int32, 0, s.Tokens()), Targets: make([]int32, 0, s.Tokens())}
	for _, b := range batches {
		out.Inputs = append(out.Inputs, b.Inputs...)
		out.Targets = append(out.Targets, b.Targets...)
	}
	return out, nil
}
