package progress

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// A Table collects rows and prints them with aligned columns, for the summary
// at the end of a run or sweep.
type Table struct {
	header []string
	rows   [][]string
}

// NewTable starts a table with the given column headers.
func NewTable(header ...string) *Table {
	return &Table{header: header}
}

// Row appends a row; cells are formatted with FormatValue. Missing cells
// print empty; extra cells are an error at Write time.
func (t *Table) Row(cells ...any) {
	row := make([]string, len(cells))
	for i, c := range cells {
		row[i] = FormatValue(c)
	}
	t.rows = append(t.rows, row)
}

// Len is the number of rows added.
func (t *Table) Len() int { return len(t.rows) }

// Write prints the header, a rule, and the rows, columns separated by two
// spaces.
func (t *Table) Write(w io.Writer) error {
	for i, r := range t.rows {
		if len(r) > len(t.header) {
			return fmt.Errorf("progress: table row %d has %d cells for %d columns", i, len(r), len(t.header))
		}
	}
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	rule := make([]string, len(t.header))
	for i, h := range t.header {
		rule[i] = strings.Repeat("-", max(len([]rune(h)), 1))
	}
	writeRow(tw, t.header)
	writeRow(tw, rule)
	for _, r := range t.rows {
		cells := make([]string, len(t.header))
		copy(cells, r)
		writeRow(tw, cells)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// Padding before an empty last cell would end lines in spaces.
	out := buf.Bytes()
	var trimmed []byte
	for len(out) > 0 {
		line, rest, _ := bytes.Cut(out, []byte("\n"))
		trimmed = append(append(trimmed, bytes.TrimRight(line, " ")...), '\n')
		out = rest
	}
	_, err := w.Write(trimmed)
	return err
}

// writeRow separates cells by tabs, tabwriter's column marker; a tab inside
// a cell would start a new column, so it becomes a space.
func writeRow(tw *tabwriter.Writer, cells []string) {
	clean := make([]string, len(cells))
	for i, c := range cells {
		clean[i] = strings.ReplaceAll(c, "\t", " ")
	}
	fmt.Fprintln(tw, strings.Join(clean, "\t"))
}
