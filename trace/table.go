package trace

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// A Column is one named column of a table whose shape is known only at run
// time, such as a sweep summary with one column per grid key. Values is a
// []float64, []int64, []string or []bool.
type Column struct {
	Name   string
	Values any
}

// Len is the number of values, or -1 if Values has an unsupported type.
func (c Column) Len() int {
	switch v := c.Values.(type) {
	case []float64:
		return len(v)
	case []int64:
		return len(v)
	case []string:
		return len(v)
	case []bool:
		return len(v)
	}
	return -1
}

func (c Column) node() parquet.Node {
	switch c.Values.(type) {
	case []float64:
		return parquet.Leaf(parquet.DoubleType)
	case []int64:
		return parquet.Leaf(parquet.Int64Type)
	case []string:
		return parquet.String()
	default:
		return parquet.Leaf(parquet.BooleanType)
	}
}

func (c Column) value(i int) parquet.Value {
	switch v := c.Values.(type) {
	case []float64:
		return parquet.DoubleValue(v[i])
	case []int64:
		return parquet.Int64Value(v[i])
	case []string:
		return parquet.ByteArrayValue([]byte(v[i]))
	default:
		return parquet.BooleanValue(c.Values.([]bool)[i])
	}
}

// WriteTable writes columns of equal length to a Parquet file at path, with
// the same guarantees as Writer: zstd, bounded row groups, temporary file
// and rename, deterministic bytes. Parquet keeps the columns of such a
// table in name order, which is the order ReadTable returns.
func WriteTable(path string, cols []Column, opts ...Option) (err error) {
	o := options{rowGroupRows: DefaultRowGroupRows}
	for _, opt := range opts {
		opt(&o)
	}
	if len(cols) == 0 {
		return fmt.Errorf("trace: table %s: no columns", path)
	}
	group := parquet.Group{}
	n := cols[0].Len()
	for _, c := range cols {
		if c.Name == "" {
			return fmt.Errorf("trace: table %s: a column has no name", path)
		}
		if _, dup := group[c.Name]; dup {
			return fmt.Errorf("trace: table %s: column %q appears twice", path, c.Name)
		}
		if c.Len() < 0 {
			return fmt.Errorf("trace: table %s: column %q holds %T, want []float64, []int64, []string or []bool", path, c.Name, c.Values)
		}
		if c.Len() != n {
			return fmt.Errorf("trace: table %s: column %q has %d values, column %q has %d", path, c.Name, c.Len(), cols[0].Name, n)
		}
		group[c.Name] = c.node()
	}
	schema := parquet.NewSchema("table", group)
	index := make([]int, len(cols)) // leaf column index of each input column
	for i, c := range cols {
		leaf, _ := schema.Lookup(c.Name)
		index[i] = leaf.ColumnIndex
	}

	tmp, err := createTemp(path)
	if err != nil {
		return fmt.Errorf("trace: table %s: %w", path, err)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("trace: table %s: %v", path, r)
		}
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	wopts := []parquet.WriterOption{
		schema,
		&parquet.WriterConfig{CreatedBy: CreatedBy},
		parquet.Compression(&zstd.Codec{}),
		parquet.MaxRowsPerRowGroup(o.rowGroupRows),
	}
	for k, v := range o.metadata {
		wopts = append(wopts, parquet.KeyValueMetadata(k, v))
	}
	w := parquet.NewWriter(tmp, wopts...)
	const batch = 1024
	rows := make([]parquet.Row, 0, batch)
	for i := 0; i < n; i++ {
		row := make(parquet.Row, len(cols))
		for j, c := range cols {
			row[index[j]] = c.value(i).Level(0, 0, index[j])
		}
		rows = append(rows, row)
		if len(rows) == batch || i == n-1 {
			if _, err := w.WriteRows(rows); err != nil {
				return fmt.Errorf("trace: table %s: %w", path, err)
			}
			rows = rows[:0]
		}
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("trace: table %s: %w", path, err)
	}
	return commit(tmp, path)
}

// ReadTable reads a flat Parquet file of double, int64, string (or other
// byte array) and boolean columns, such as one written by WriteTable, with
// its columns in file order. Float and int32 columns are widened to
// []float64 and []int64; other column types are an error.
func ReadTable(path string) (cols []Column, err error) {
	pf, f, err := openParquet(path, "read")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	defer func() {
		if r := recover(); r != nil {
			cols, err = nil, fmt.Errorf("trace: read %s: corrupt file: %v", path, r)
		}
	}()
	schema := pf.Schema()
	paths := schema.Columns()
	cols = make([]Column, len(paths))
	for i, p := range paths {
		if len(p) != 1 {
			return nil, fmt.Errorf("trace: read %s: nested column %v: not a flat table", path, p)
		}
		leaf, _ := schema.Lookup(p...)
		if leaf.MaxRepetitionLevel != 0 || leaf.MaxDefinitionLevel != 0 {
			return nil, fmt.Errorf("trace: read %s: column %q is optional or repeated: not a flat table", path, p[0])
		}
		cols[i].Name = p[0]
		switch k := leaf.Node.Type().Kind(); k {
		case parquet.Double, parquet.Float:
			cols[i].Values = []float64{}
		case parquet.Int64, parquet.Int32:
			cols[i].Values = []int64{}
		case parquet.ByteArray:
			cols[i].Values = []string{}
		case parquet.Boolean:
			cols[i].Values = []bool{}
		default:
			return nil, fmt.Errorf("trace: read %s: column %q has unsupported type %v", path, p[0], k)
		}
	}
	r := parquet.NewReader(pf)
	defer r.Close()
	buf := make([]parquet.Row, 1024)
	var read int64
	for {
		n, err := r.ReadRows(buf)
		for _, row := range buf[:n] {
			for _, v := range row {
				c := &cols[v.Column()]
				switch vals := c.Values.(type) {
				case []float64:
					if v.Kind() == parquet.Float {
						c.Values = append(vals, float64(v.Float()))
					} else {
						c.Values = append(vals, v.Double())
					}
				case []int64:
					if v.Kind() == parquet.Int32 {
						c.Values = append(vals, int64(v.Int32()))
					} else {
						c.Values = append(vals, v.Int64())
					}
				case []string:
					c.Values = append(vals, string(v.ByteArray()))
				case []bool:
					c.Values = append(vals, v.Boolean())
				}
			}
		}
		read += int64(n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("trace: read %s: %w", path, err)
		}
		if n == 0 {
			return nil, fmt.Errorf("trace: read %s: reader made no progress after %d rows", path, read)
		}
	}
	for _, c := range cols {
		if int64(c.Len()) != pf.NumRows() {
			return nil, fmt.Errorf("trace: read %s: column %q has %d values, footer promises %d rows", path, c.Name, c.Len(), pf.NumRows())
		}
	}
	return cols, nil
}

// ColumnByName returns the column with the given name, or false.
func ColumnByName(cols []Column, name string) (Column, bool) {
	i := slices.IndexFunc(cols, func(c Column) bool { return c.Name == name })
	if i < 0 {
		return Column{}, false
	}
	return cols[i], true
}
