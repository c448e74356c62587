// Package tensor describes named float32 tensors that live in one flat buffer.
//
// A Layout is the contract between the model, which owns a flat parameter buffer,
// and the compressors and aggregators, which walk that buffer tensor by tensor
// without knowing anything about the model.
package tensor

import (
	"errors"
	"fmt"
)

// Spec names one tensor: its shape and where it starts in the flat buffer.
type Spec struct {
	Name   string
	Shape  []int
	Offset int
}

// Size is the number of elements (the product of the shape).
func (s Spec) Size() int {
	n := 1
	for _, d := range s.Shape {
		n *= d
	}
	return n
}

// Rows and Cols view the tensor as a matrix: a 1-D tensor is one row;
// higher ranks fold every leading dimension into the rows.
func (s Spec) Rows() int {
	if len(s.Shape) <= 1 {
		return 1
	}
	return s.Size() / s.Shape[len(s.Shape)-1]
}

// Cols is the length of the last dimension (1 for a scalar).
func (s Spec) Cols() int {
	if len(s.Shape) == 0 {
		return 1
	}
	return s.Shape[len(s.Shape)-1]
}

// Layout is an ordered list of tensors packed into one flat buffer.
type Layout []Spec

// Size is the total number of elements the buffer must hold.
func (l Layout) Size() int {
	end := 0
	for _, s := range l {
		if e := s.Offset + s.Size(); e > end {
			end = e
		}
	}
	return end
}

// View returns the slice of buf that holds tensor i.
func (l Layout) View(buf []float32, i int) []float32 {
	s := l[i]
	return buf[s.Offset : s.Offset+s.Size() : s.Offset+s.Size()]
}

// Index returns the position of the tensor called name, or -1.
func (l Layout) Index(name string) int {
	for i, s := range l {
		if s.Name == name {
			return i
		}
	}
	return -1
}

// Validate checks that names are unique and non-empty, dimensions positive,
// and tensors do not overlap.
func (l Layout) Validate() error {
	if len(l) == 0 {
		return errors.New("tensor: empty layout")
	}
	seen := make(map[string]bool, len(l))
	type span struct{ lo, hi int }
	var spans []span
	for _, s := range l {
		if s.Name == "" {
			return errors.New("tensor: tensor with empty name")
		}
		if seen[s.Name] {
			return fmt.Errorf("tensor: duplicate tensor name %q", s.Name)
		}
		seen[s.Name] = true
		if s.Offset < 0 {
			return fmt.Errorf("tensor %q: negative offset %d", s.Name, s.Offset)
		}
		for _, d := range s.Shape {
			if d <= 0 {
				return fmt.Errorf("tensor %q: non-positive dimension in shape %v", s.Name, s.Shape)
			}
		}
		sp := span{s.Offset, s.Offset + s.Size()}
		for _, o := range spans {
			if sp.lo < o.hi && o.lo < sp.hi {
				return fmt.Errorf("tensor %q: overlaps another tensor", s.Name)
			}
		}
		spans = append(spans, sp)
	}
	return nil
}

// Pack builds a contiguous layout from names and shapes, in order.
func Pack(names []string, shapes [][]int) Layout {
	l := make(Layout, len(names))
	off := 0
	for i := range names {
		l[i] = Spec{Name: names[i], Shape: append([]int(nil), shapes[i]...), Offset: off}
		off += l[i].Size()
	}
	return l
}
