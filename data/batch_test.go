package data

import (
	"slices"
	"strings"
	"testing"
)

func TestBytesRoundTrip(t *testing.T) {
	var tok Bytes
	for _, s := range []string{"", "hello, world", "\x00\xff\x80 ünïcödé"} {
		enc := tok.EncodeString(s)
		if !slices.Equal(enc, tok.Encode([]byte(s))) || len(enc) != len(s) {
			t.Fatalf("Encode and EncodeString disagree on %q", s)
		}
		dec, err := tok.Decode(enc)
		if err != nil || string(dec) != s {
			t.Fatalf("round trip of %q gave %q, %v", s, dec, err)
		}
	}
	if _, err := tok.Decode([]int32{65, 256}); err == nil || !strings.Contains(err.Error(), "position 1") {
		t.Errorf("Decode(256): %v", err)
	}
	if _, err := tok.Decode([]int32{-1}); err == nil {
		t.Error("Decode(-1): no error")
	}
	if tok.Vocab() != 256 {
		t.Error("vocab")
	}
}

func TestConcat(t *testing.T) {
	a := &Batch{Shape: Shape{Batch: 1, SeqLen: 2}, Inputs: []int32{1, 2}, Targets: []int32{2, 3}}
	b := &Batch{Shape: Shape{Batch: 2, SeqLen: 2}, Inputs: []int32{4, 5, 6, 7}, Targets: []int32{5, 6, 7, 8}}
	u, err := Concat(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if u.Shape != (Shape{Batch: 3, SeqLen: 2}) || !slices.Equal(u.Inputs, []int32{1, 2, 4, 5, 6, 7}) ||
		!slices.Equal(u.Targets, []int32{2, 3, 5, 6, 7, 8}) {
		t.Errorf("Concat = %+v", u)
	}
	in, tg := u.Row(2)
	if !slices.Equal(in, []int32{6, 7}) || !slices.Equal(tg, []int32{7, 8}) {
		t.Errorf("Row(2) = %v %v", in, tg)
	}
	for _, bad := range [][]*Batch{
		nil,
		{a, {Shape: Shape{Batch: 1, SeqLen: 3}, Inputs: make([]int32, 3), Targets: make([]int32, 3)}},
		{{Shape: Shape{Batch: 2, SeqLen: 2}, Inputs: make([]int32, 3), Targets: make([]int32, 4)}},
	} {
		if _, err := Concat(bad...); err == nil {
			t.Errorf("Concat(%v): no error", bad)
		}
	}
	// reshape reuses storage.
	big := NewBatch(Shape{Batch: 4, SeqLen: 8})
	p := &big.Inputs[0]
	big.reshape(Shape{Batch: 2, SeqLen: 8})
	if &big.Inputs[0] != p || len(big.Inputs) != 16 {
		t.Error("reshape reallocated a large enough batch")
	}
}
