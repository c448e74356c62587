package data

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// readParquetText calls doc with the value of the string column of every row
// of the Parquet file at path, in file order; null values are skipped. The
// slice passed to doc is only valid during the call. doc may return errStop
// to end the read early. Errors name the file.
func readParquetText(path, column string, doc func([]byte) error) (err error) {
	// The decoder runs on untrusted bytes; a panic in it must become an
	// error naming the file, not bring the run down.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("data: %s: malformed Parquet file: %v", path, r)
		}
	}()
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	if info.Size() == 0 {
		return fmt.Errorf("data: %s: empty file", path)
	}
	pf, err := parquet.OpenFile(f, info.Size())
	if err != nil {
		return fmt.Errorf("data: %s: not a readable Parquet file: %w", path, err)
	}
	leaf, ok := pf.Schema().Lookup(column)
	if !ok {
		var names []string
		for _, p := range pf.Schema().Columns() {
			names = append(names, strings.Join(p, "."))
		}
		return fmt.Errorf("data: %s: no column %q (data.text_column); columns: %s", path, column, strings.Join(names, ", "))
	}
	if kind := leaf.Node.Type().Kind(); kind != parquet.ByteArray {
		return fmt.Errorf("data: %s: column %q holds %s values, not strings", path, column, kind)
	}
	if leaf.MaxRepetitionLevel > 0 {
		return fmt.Errorf("data: %s: column %q is repeated, not one string per row", path, column)
	}
	values := make([]parquet.Value, 256)
	for g, rg := range pf.RowGroups() {
		chunks := rg.ColumnChunks()
		if leaf.ColumnIndex >= len(chunks) {
			return fmt.Errorf("data: %s: row group %d lacks column %q", path, g, column)
		}
		r := parquet.NewColumnChunkValueReader(chunks[leaf.ColumnIndex])
		for {
			n, rerr := r.ReadValues(values)
			for _, v := range values[:n] {
				if v.IsNull() {
					continue
				}
				if err := doc(v.ByteArray()); err != nil {
					r.Close()
					return err
				}
			}
			if errors.Is(rerr, io.EOF) {
				break
			}
			if rerr != nil {
				r.Close()
				return fmt.Errorf("data: %s: row group %d, column %q: %w", path, g, column, rerr)
			}
		}
		if err := r.Close(); err != nil {
			return fmt.Errorf("data: %s: row group %d: %w", path, g, err)
		}
	}
	return nil
}
