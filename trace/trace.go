// Package trace writes and reads the Parquet traces of a run directory.
//
// A Writer streams rows of one record type into a zstd-compressed Parquet file
// with bounded row groups, so memory stays flat however long the run. The file
// appears under its final name only when Close succeeds: rows go to a
// temporary file in the same directory, which Close renames into place. A run
// that is killed, or a writer that is aborted, leaves no half-written file a
// reader could mistake for a trace.
//
// Output is deterministic: the same rows give byte-identical files. Nothing
// time- or host-dependent is written into the file metadata.
//
// Column names come from the `parquet:"..."` struct tags of the row type (see
// package record). Tables whose columns are known only at run time (a sweep
// summary with one column per grid key) go through WriteTable and
// ReadTable instead. WriteJSON and WriteFileAtomic give the other files of a
// run directory the same all-or-nothing behaviour.
package trace

import "errors"

// DefaultRowGroupRows bounds the rows per row group unless RowGroupRows says
// otherwise. The Parquet writer holds one row group in memory; 100k rows of
// a dozen columns is a few megabytes.
const DefaultRowGroupRows = 100_000

// ErrClosed is returned by Write on a writer that was closed or aborted.
var ErrClosed = errors.New("trace: writer is closed")

// An Option configures Create.
type Option func(*options)

type options struct {
	rowGroupRows int64
	metadata     map[string]string
}

// RowGroupRows sets the maximum rows per row group (default
// DefaultRowGroupRows). Non-positive values keep the default.
func RowGroupRows(n int64) Option {
	return func(o *options) {
		if n > 0 {
			o.rowGroupRows = n
		}
	}
}

// Metadata adds a key/value pair to the file's footer metadata (for
// example the record schema version). Keys are written in sorted order, so
// metadata does not disturb determinism; never put wall-clock time here.
func Metadata(key, value string) Option {
	return func(o *options) {
		if o.metadata == nil {
			o.metadata = map[string]string{}
		}
		o.metadata[key] = value
	}
}
