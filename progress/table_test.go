package progress

import (
	"bytes"
	"strings"
	"testing"
)

func TestTable(t *testing.T) {
	tb := NewTable("strategy", "loss", "bytes", "note")
	tb.Row("ddp", 3.14159, 123456789)
	tb.Row("sparseloco", 3.2, 1024, "with\ttab")
	var buf bytes.Buffer
	if err := tb.Write(&buf); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"strategy    loss   bytes      note\n" +
		"--------    ----   -----      ----\n" +
		"ddp         3.142  123456789\n" +
		"sparseloco  3.2    1024       with tab\n"
	if buf.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", buf.String(), want)
	}
	if tb.Len() != 2 {
		t.Errorf("Len = %d", tb.Len())
	}
	tb.Row(1, 2, 3, 4, 5)
	if err := tb.Write(&bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "row 2") {
		t.Errorf("too many cells: err = %v", err)
	}
}
