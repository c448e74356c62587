package tensor

import "testing"

func TestPackAndView(t *testing.T) {
	l := Pack([]string{"w", "b"}, [][]int{{3, 4}, {4}})
	if got := l.Size(); got != 16 {
		t.Fatalf("Size = %d, want 16", got)
	}
	if err := l.Validate(); err != nil {
		t.Fatal(err)
	}
	buf := make([]float32, l.Size())
	v := l.View(buf, 1)
	v[0] = 7
	if buf[12] != 7 || len(v) != 4 || cap(v) != 4 {
		t.Fatalf("view of b does not alias buf[12:16]")
	}
	if l[0].Rows() != 3 || l[0].Cols() != 4 || l[1].Rows() != 1 || l[1].Cols() != 4 {
		t.Fatal("Rows/Cols wrong")
	}
	if l.Index("b") != 1 || l.Index("x") != -1 {
		t.Fatal("Index wrong")
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		l    Layout
	}{
		{"empty", Layout{}},
		{"noname", Layout{{Name: "", Shape: []int{1}}}},
		{"dup", Layout{{Name: "a", Shape: []int{1}}, {Name: "a", Shape: []int{1}, Offset: 1}}},
		{"zero dim", Layout{{Name: "a", Shape: []int{0}}}},
		{"overlap", Layout{{Name: "a", Shape: []int{4}}, {Name: "b", Shape: []int{4}, Offset: 2}}},
		{"negative", Layout{{Name: "a", Shape: []int{4}, Offset: -1}}},
	} {
		if err := tc.l.Validate(); err == nil {
			t.Errorf("%s: Validate accepted an invalid layout", tc.name)
		}
	}
}
