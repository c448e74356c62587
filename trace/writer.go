package trace

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// A Writer streams rows of type T into a Parquet file. It is not safe for
// concurrent use.
//
// The usual pattern makes every error path clean up:
//
//	w, err := trace.Create[record.Eval](path)
//	if err != nil { return err }
//	defer w.Abort() // no-op after a successful Close
//	... w.Write(rows...) ...
//	return w.Close()
type Writer[T any] struct {
	path string
	tmp  *os.File
	pw   *parquet.GenericWriter[T]
	rows int64
	err  error // first write error; Close reports it and removes the temporary file
	done bool
}

// CreatedBy is the writer name recorded in every file's footer. It is a
// constant rather than the library's default, which is read from the build
// information and so differs between a test binary and the CLI: files must
// not depend on which binary wrote them.
const CreatedBy = "locosim (github.com/parquet-go/parquet-go)"

// Create starts a Parquet file that will appear at path when Close succeeds.
// The directory must exist. T must be a struct type whose fields Parquet can
// represent; an unsupported type is reported as an error.
func Create[T any](path string, opts ...Option) (w *Writer[T], err error) {
	o := options{rowGroupRows: DefaultRowGroupRows}
	for _, opt := range opts {
		opt(&o)
	}
	var zero T
	schema, err := schemaOf(zero)
	if err != nil {
		return nil, fmt.Errorf("trace: create %s: %w", path, err)
	}
	tmp, err := createTemp(path)
	if err != nil {
		return nil, fmt.Errorf("trace: create %s: %w", path, err)
	}
	wopts := []parquet.WriterOption{
		schema,
		&parquet.WriterConfig{CreatedBy: CreatedBy},
		parquet.Compression(&zstd.Codec{}),
		parquet.MaxRowsPerRowGroup(o.rowGroupRows),
	}
	for k, v := range o.metadata {
		wopts = append(wopts, parquet.KeyValueMetadata(k, v)) // the writer sorts keys
	}
	defer func() {
		if r := recover(); r != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			w, err = nil, fmt.Errorf("trace: create %s: %v", path, r)
		}
	}()
	pw := parquet.NewGenericWriter[T](tmp, wopts...)
	return &Writer[T]{path: path, tmp: tmp, pw: pw}, nil
}

// schemaOf derives the Parquet schema of a row type, turning the library's
// panic on an unsupported type into an error.
func schemaOf(row any) (s *parquet.Schema, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("row type %T: %v", row, r)
		}
	}()
	s = parquet.SchemaOf(row)
	if len(s.Columns()) == 0 {
		return nil, fmt.Errorf("row type %T has no columns", row)
	}
	return s, nil
}

// Path is the final path of the file.
func (w *Writer[T]) Path() string { return w.path }

// Rows is the number of rows written so far.
func (w *Writer[T]) Rows() int64 { return w.rows }

// Write appends rows. After an error the writer is unusable: Close reports
// the error and leaves no file.
func (w *Writer[T]) Write(rows ...T) (err error) {
	if w.done {
		return ErrClosed
	}
	if w.err != nil {
		return w.err
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("trace: write %s: %v", w.path, r)
		}
		if err != nil {
			w.err = err
		}
	}()
	n, err := w.pw.Write(rows)
	w.rows += int64(n)
	if err != nil {
		return fmt.Errorf("trace: write %s: %w", w.path, err)
	}
	return nil
}

// Close writes the footer, flushes the file to stable storage and renames it
// to its final path. On any error the temporary file is removed and nothing
// appears at the final path. Closing twice returns ErrClosed.
func (w *Writer[T]) Close() (err error) {
	if w.done {
		return ErrClosed
	}
	w.done = true
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("trace: close %s: %v", w.path, r)
		}
		if err != nil {
			w.tmp.Close()
			os.Remove(w.tmp.Name())
		}
	}()
	if w.err != nil {
		return w.err
	}
	if err := w.pw.Close(); err != nil {
		return fmt.Errorf("trace: close %s: %w", w.path, err)
	}
	return commit(w.tmp, w.path)
}

// Abort discards the file. It is a no-op after Close (successful or not), so
// it can be deferred unconditionally.
func (w *Writer[T]) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.tmp.Close()
	if err := os.Remove(w.tmp.Name()); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("trace: abort %s: %w", w.path, err)
	}
	return nil
}

// Temporary files are named "." + final base name + ".tmp-" + a random
// suffix. A process killed before Close leaves one behind; RemoveTemp
// deletes them.
const tempInfix = ".tmp-"

func createTemp(path string) (*os.File, error) {
	dir, base := filepath.Split(path)
	if base == "" {
		return nil, fmt.Errorf("path %q names a directory", path)
	}
	if dir == "" {
		dir = "."
	}
	return os.CreateTemp(dir, "."+base+tempInfix+"*")
}

// commit makes the complete temporary file visible at path: sync, close,
// set ordinary permissions, rename, and sync the directory so the rename
// itself survives a crash.
func commit(tmp *os.File, path string) error {
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("trace: sync %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("trace: chmod %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("trace: close %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("trace: %w", err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync() // best effort: not every file system supports syncing a directory
		d.Close()
	}
	return nil
}

// RemoveTemp deletes temporary files left in dir by writers that never
// finished (a killed process). It must not run while a writer in the same
// directory is still open. It returns the names removed.
func RemoveTemp(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	var removed []string
	for _, e := range entries {
		name := e.Name()
		if e.Type().IsRegular() && isTempName(name) {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				return removed, fmt.Errorf("trace: %w", err)
			}
			removed = append(removed, name)
		}
	}
	return removed, nil
}

func isTempName(name string) bool {
	i := strings.LastIndex(name, tempInfix)
	return strings.HasPrefix(name, ".") && i > 1 && i+len(tempInfix) < len(name)
}
