package trace

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// readChunk is how many rows ReadAll decodes at a time. Reading in chunks
// and appending (rather than trusting the row count in the footer for one
// allocation) keeps a corrupt footer from asking for an absurd allocation.
const readChunk = 4096

// Evolving is a row type that gained columns after files were first
// written with it. A file that lacks some of AddedColumns still reads, and
// FillMissing (on each row, a pointer) sets their values, which would
// otherwise read as zero (say NaN: not measured).
type Evolving interface {
	AddedColumns() []string
	FillMissing(missing []string)
}

// ReadAll reads every row of the Parquet file at path into memory.
//
// Every column of T must be present in the file with the same physical
// type; a missing column is an error rather than silently zero, unless T
// is Evolving and names it as added. Extra columns in the file are ignored.
// A truncated or corrupt file gives an error, never a panic.
func ReadAll[T any](path string) (rows []T, err error) {
	pf, f, err := openParquet(path, "read")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	defer func() {
		if r := recover(); r != nil {
			rows, err = nil, fmt.Errorf("trace: read %s: corrupt file: %v", path, r)
		}
	}()
	var zero T
	want, err := schemaOf(zero)
	if err != nil {
		return nil, fmt.Errorf("trace: read %s: %w", path, err)
	}
	var added []string
	if e, ok := any(&zero).(Evolving); ok {
		added = e.AddedColumns()
	}
	missing, err := compatible(want, pf.Schema(), added)
	if err != nil {
		return nil, fmt.Errorf("trace: read %s: %w", path, err)
	}
	r := parquet.NewGenericReader[T](pf)
	defer r.Close()
	// Trust the footer's row count for the allocation only up to a bound.
	rows = make([]T, 0, max(0, min(pf.NumRows(), 1<<20)))
	buf := make([]T, readChunk)
	for {
		n, err := r.Read(buf)
		rows = append(rows, buf[:n]...)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("trace: read %s: %w", path, err)
		}
		if n == 0 {
			return nil, fmt.Errorf("trace: read %s: reader made no progress after %d rows", path, len(rows))
		}
	}
	if int64(len(rows)) != pf.NumRows() {
		return nil, fmt.Errorf("trace: read %s: footer promises %d rows, data holds %d", path, pf.NumRows(), len(rows))
	}
	if len(missing) > 0 {
		for i := range rows {
			any(&rows[i]).(Evolving).FillMissing(missing)
		}
	}
	return rows, nil
}

// compatible checks that every leaf column of want exists in got with the
// same physical type and repetition, except those of added, which may be
// missing: it returns the ones that are.
func compatible(want, got *parquet.Schema, added []string) (missing []string, err error) {
	for _, path := range want.Columns() {
		w, _ := want.Lookup(path...)
		g, ok := got.Lookup(path...)
		name := strings.Join(path, ".")
		if !ok {
			if slices.Contains(added, name) {
				missing = append(missing, name)
				continue
			}
			return nil, fmt.Errorf("column %q missing from file", name)
		}
		wk, gk := w.Node.Type().Kind(), g.Node.Type().Kind()
		if wk != gk {
			return nil, fmt.Errorf("column %q is %v in the file, want %v", name, gk, wk)
		}
		if w.Node.Optional() != g.Node.Optional() || w.Node.Repeated() != g.Node.Repeated() {
			return nil, fmt.Errorf("column %q has a different repetition in the file", name)
		}
	}
	return missing, nil
}

// Info describes a Parquet file without reading its data.
type Info struct {
	Rows         int64             // total rows
	RowGroupRows []int64           // rows in each row group, in file order
	Columns      []string          // leaf column paths, dot-joined, in schema order
	Codecs       []string          // compression codec of each column in the first row group
	CreatedBy    string            // the writing library, from the footer
	Metadata     map[string]string // footer key/value metadata
}

// Stat reads the footer of the Parquet file at path.
func Stat(path string) (info Info, err error) {
	pf, f, err := openParquet(path, "stat", parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return Info{}, err
	}
	defer f.Close()
	defer func() {
		if r := recover(); r != nil {
			info, err = Info{}, fmt.Errorf("trace: stat %s: corrupt file: %v", path, r)
		}
	}()
	md := pf.Metadata()
	info.Rows = md.NumRows
	info.CreatedBy = md.CreatedBy
	for _, rg := range md.RowGroups {
		info.RowGroupRows = append(info.RowGroupRows, rg.NumRows)
	}
	for _, p := range pf.Schema().Columns() {
		info.Columns = append(info.Columns, strings.Join(p, "."))
	}
	if len(md.RowGroups) > 0 {
		for _, c := range md.RowGroups[0].Columns {
			info.Codecs = append(info.Codecs, c.MetaData.Codec.String())
		}
	}
	if len(md.KeyValueMetadata) > 0 {
		info.Metadata = make(map[string]string, len(md.KeyValueMetadata))
		for _, kv := range md.KeyValueMetadata {
			info.Metadata[kv.Key] = kv.Value
		}
	}
	return info, nil
}

// openParquet opens the Parquet file at path and reads its footer; verb
// ("read", "stat") names the operation in errors. A footer that makes the
// library panic is an error. The caller closes the returned file.
func openParquet(path, verb string, opts ...parquet.FileOption) (pf *parquet.File, f *os.File, err error) {
	if f, err = os.Open(path); err != nil {
		return nil, nil, fmt.Errorf("trace: %w", err)
	}
	defer func() {
		if r := recover(); r != nil {
			pf, err = nil, fmt.Errorf("trace: %s %s: corrupt file: %v", verb, path, r)
		}
		if err != nil {
			f.Close()
			f = nil
		}
	}()
	st, err := f.Stat()
	if err != nil {
		return nil, f, fmt.Errorf("trace: %w", err)
	}
	if pf, err = parquet.OpenFile(f, st.Size(), opts...); err != nil {
		return nil, f, fmt.Errorf("trace: %s %s: not a complete Parquet file: %w", verb, path, err)
	}
	return pf, f, nil
}
