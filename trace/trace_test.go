package trace

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

type row struct {
	ID    int64   `parquet:"id"`
	Count int32   `parquet:"count"`
	X     float64 `parquet:"x_s"`
	F     float32 `parquet:"f"`
	Name  string  `parquet:"name"`
	OK    bool    `parquet:"ok"`
}

func makeRows(n int) []row {
	rows := make([]row, n)
	for i := range rows {
		rows[i] = row{
			ID:    int64(i) * 1_000_003,
			Count: int32(i % 977),
			X:     float64(i) / 7,
			F:     float32(i) * 0.5,
			Name:  fmt.Sprintf("node-%d", i%1234),
			OK:    i%3 == 0,
		}
	}
	return rows
}

func writeFile[T any](t testing.TB, path string, rows []T, opts ...Option) {
	t.Helper()
	w, err := Create[T](path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	if err := w.Write(rows...); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// dirNames lists the directory, to check that no temporary files are left.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestRoundTrip(t *testing.T) {
	special := []row{
		{ID: math.MinInt64, Count: math.MaxInt32, X: math.NaN(), F: float32(math.Inf(1)), Name: "", OK: true},
		{ID: math.MaxInt64, Count: math.MinInt32, X: math.Inf(-1), F: float32(math.Copysign(0, -1)), Name: "ünïcode ✓ \x00 nul", OK: false},
		{ID: 0, X: math.SmallestNonzeroFloat64, F: math.MaxFloat32, Name: strings.Repeat("long ", 1000)},
	}
	tests := []struct {
		name string
		rows []row
		opts []Option
	}{
		{"empty", nil, nil},
		{"one", makeRows(1), nil},
		{"special values", special, nil},
		{"many row groups", makeRows(1000), []Option{RowGroupRows(7)}},
		// More rows than one read chunk: strings must survive buffer reuse.
		{"several read chunks", makeRows(3*readChunk + 17), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "rows.parquet")
			writeFile(t, path, tc.rows, tc.opts...)
			got, err := ReadAll[row](path)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.rows) {
				t.Fatalf("read %d rows, wrote %d", len(got), len(tc.rows))
			}
			for i := range got {
				if !sameRow(got[i], tc.rows[i]) {
					t.Fatalf("row %d: got %+v, want %+v", i, got[i], tc.rows[i])
				}
			}
			if names := dirNames(t, dir); len(names) != 1 {
				t.Errorf("directory holds %v, want only rows.parquet", names)
			}
		})
	}
}

// sameRow compares bit patterns of floats, so NaN and -0 round trips count.
func sameRow(a, b row) bool {
	return a.ID == b.ID && a.Count == b.Count && a.Name == b.Name && a.OK == b.OK &&
		math.Float64bits(a.X) == math.Float64bits(b.X) &&
		math.Float32bits(a.F) == math.Float32bits(b.F)
}

func TestDeterministic(t *testing.T) {
	dir := t.TempDir()
	rows := makeRows(25_000)
	a, b := filepath.Join(dir, "a.parquet"), filepath.Join(dir, "b.parquet")
	writeFile(t, a, rows, RowGroupRows(10_000), Metadata("schema", "eval/1"), Metadata("corpus", "synthetic"))
	// Same rows written in pieces, options in another order.
	w, err := Create[row](b, Metadata("corpus", "synthetic"), Metadata("schema", "eval/1"), RowGroupRows(10_000))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(rows); i += 333 {
		if err := w.Write(rows[i:min(i+333, len(rows))]...); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	ba, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if !bytes.Equal(ba, bb) {
		t.Fatalf("identical rows gave different files (%d and %d bytes)", len(ba), len(bb))
	}
	// And under another GOMAXPROCS.
	c := filepath.Join(dir, "c.parquet")
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	writeFile(t, c, rows, RowGroupRows(10_000), Metadata("schema", "eval/1"), Metadata("corpus", "synthetic"))
	if bc, _ := os.ReadFile(c); !bytes.Equal(ba, bc) {
		t.Fatal("GOMAXPROCS=1 gave a different file")
	}
	info, err := Stat(a)
	if err != nil {
		t.Fatal(err)
	}
	if info.Metadata["schema"] != "eval/1" || info.Metadata["corpus"] != "synthetic" {
		t.Errorf("metadata = %v", info.Metadata)
	}
	if info.CreatedBy != CreatedBy {
		t.Errorf("created_by = %q, want %q", info.CreatedBy, CreatedBy)
	}
}

func TestAbortLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "events.parquet")
	w, err := Create[row](path)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(makeRows(100)...); err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("after Abort the directory holds %v", names)
	}
	if err := w.Write(makeRows(1)...); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Abort: %v, want ErrClosed", err)
	}
	if err := w.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("Close after Abort: %v, want ErrClosed", err)
	}
}

// TestUnclosedIsInvisible stands for a process killed mid-run: the rows went
// to a temporary file; nothing exists under the final name, and RemoveTemp
// clears the leftover.
func TestUnclosedIsInvisible(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rounds.parquet")
	w, err := Create[row](path, RowGroupRows(10))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(makeRows(1000)...); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("final path exists before Close: %v", err)
	}
	// A reader that stumbles on the temporary file gets an error, not rows.
	names := dirNames(t, dir)
	if len(names) != 1 || !strings.HasPrefix(names[0], ".rounds.parquet.tmp-") {
		t.Fatalf("directory holds %v, want one temporary file", names)
	}
	if _, err := ReadAll[row](filepath.Join(dir, names[0])); err == nil {
		t.Error("reading an unfinished file succeeded")
	}
	w.tmp.Close() // the process dies
	removed, err := RemoveTemp(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(removed, names) {
		t.Errorf("RemoveTemp removed %v, want %v", removed, names)
	}
	if left := dirNames(t, dir); len(left) != 0 {
		t.Errorf("left %v", left)
	}
}

func TestCloseLifecycle(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.parquet")
	if err := os.WriteFile(path, []byte("an older trace"), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := Create[row](path)
	if err != nil {
		t.Fatal(err)
	}
	if w.Path() != path {
		t.Errorf("Path = %q", w.Path())
	}
	if err := w.Write(makeRows(5)...); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(); err != nil { // writing nothing is fine
		t.Fatal(err)
	}
	if w.Rows() != 5 {
		t.Errorf("Rows = %d, want 5", w.Rows())
	}
	// Until Close the old file stays in place, intact.
	if b, _ := os.ReadFile(path); string(b) != "an older trace" {
		t.Fatalf("old file changed before Close")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close: %v, want ErrClosed", err)
	}
	if err := w.Abort(); err != nil {
		t.Errorf("Abort after Close: %v", err)
	}
	got, err := ReadAll[row](path)
	if err != nil || len(got) != 5 {
		t.Fatalf("ReadAll after replace: %d rows, %v", len(got), err)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode().Perm())
	}
}

func TestCreateErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Create[row](filepath.Join(dir, "missing", "x.parquet")); err == nil {
		t.Error("Create in a missing directory succeeded")
	}
	if _, err := Create[row](dir + "/"); err == nil {
		t.Error("Create on a directory path succeeded")
	}
	type bad struct {
		C chan int `parquet:"c"`
	}
	_, err := Create[bad](filepath.Join(dir, "bad.parquet"))
	if err == nil {
		t.Error("Create with a channel column succeeded")
	} else if !strings.Contains(err.Error(), "bad.parquet") {
		t.Errorf("error %q does not name the file", err)
	}
	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("failed Create left %v", names)
	}
}

func TestReadTruncated(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "full.parquet")
	writeFile(t, path, makeRows(5000), RowGroupRows(1000))
	full, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 3, 4, 8, len(full) / 3, len(full) / 2, len(full) - 9, len(full) - 4, len(full) - 1} {
		cut := filepath.Join(dir, fmt.Sprintf("cut%d.parquet", n))
		if err := os.WriteFile(cut, full[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		if rows, err := ReadAll[row](cut); err == nil {
			t.Errorf("truncated to %d of %d bytes: read %d rows without error", n, len(full), len(rows))
		}
		if _, err := Stat(cut); err == nil {
			t.Errorf("truncated to %d bytes: Stat succeeded", n)
		}
	}
}

// TestReadCorrupt overwrites stretches of a valid file with junk. Some
// corruptions may go unnoticed by the format (it has no mandatory
// checksums), but none may panic, and breaking the footer must be an error.
func TestReadCorrupt(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "full.parquet")
	writeFile(t, path, makeRows(3000), RowGroupRows(500))
	full, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 64; i++ {
		b := bytes.Clone(full)
		at := (i * 7919) % len(b)
		for j := at; j < min(at+16, len(b)); j++ {
			b[j] ^= 0xA5 + byte(i)
		}
		p := filepath.Join(dir, fmt.Sprintf("bad%d.parquet", i))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		ReadAll[row](p) // must not panic
	}
	b := bytes.Clone(full)
	copy(b[len(b)-4:], "JUNK")
	p := filepath.Join(dir, "badmagic.parquet")
	os.WriteFile(p, b, 0o644)
	if _, err := ReadAll[row](p); err == nil {
		t.Error("file without trailing magic read without error")
	}
}

func TestReadSchemaMismatch(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rows.parquet")
	writeFile(t, path, makeRows(10))

	type subset struct {
		Name string  `parquet:"name"`
		X    float64 `parquet:"x_s"`
	}
	got, err := ReadAll[subset](path)
	if err != nil {
		t.Fatalf("reading a subset of columns: %v", err)
	}
	if got[3].Name != "node-3" || got[3].X != 3.0/7 {
		t.Errorf("subset row 3 = %+v", got[3])
	}

	type missing struct {
		Name  string  `parquet:"name"`
		LossX float64 `parquet:"eval_loss"`
	}
	if _, err := ReadAll[missing](path); err == nil || !strings.Contains(err.Error(), `"eval_loss"`) {
		t.Errorf("missing column: err = %v, want one naming eval_loss", err)
	}
	type wrongType struct {
		X string `parquet:"x_s"`
	}
	if _, err := ReadAll[wrongType](path); err == nil || !strings.Contains(err.Error(), `"x_s"`) {
		t.Errorf("wrong type: err = %v, want one naming x_s", err)
	}
	if _, err := ReadAll[row](filepath.Join(dir, "nope.parquet")); err == nil {
		t.Error("reading a missing file succeeded")
	}
}

func TestLargeWriteBoundsRowGroups(t *testing.T) {
	n := 1_000_000
	if testing.Short() {
		n = 250_000
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "big.parquet")
	w, err := Create[row](path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	const batch = 10_000
	buf := makeRows(batch)
	for i := 0; i < n; i += batch {
		for j := range buf {
			buf[j].ID = int64(i + j)
		}
		if err := w.Write(buf...); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	info, err := Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Rows != int64(n) {
		t.Errorf("Rows = %d, want %d", info.Rows, n)
	}
	var sum int64
	for i, r := range info.RowGroupRows {
		if r > DefaultRowGroupRows || r <= 0 {
			t.Errorf("row group %d holds %d rows, limit %d", i, r, DefaultRowGroupRows)
		}
		sum += r
	}
	if sum != int64(n) || len(info.RowGroupRows) != (n+DefaultRowGroupRows-1)/DefaultRowGroupRows {
		t.Errorf("row groups %v do not add up to %d rows", info.RowGroupRows, n)
	}
	for i, c := range info.Codecs {
		if c != "ZSTD" {
			t.Errorf("column %s codec %s, want ZSTD", info.Columns[i], c)
		}
	}
	want := []string{"id", "count", "x_s", "f", "name", "ok"}
	if !reflect.DeepEqual(info.Columns, want) {
		t.Errorf("Columns = %v, want %v", info.Columns, want)
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "notes.txt")
	for _, s := range []string{"first", "second, longer"} {
		if err := WriteFileAtomic(path, []byte(s)); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(path); string(b) != s {
			t.Errorf("read %q, want %q", b, s)
		}
	}
	if names := dirNames(t, dir); len(names) != 1 {
		t.Errorf("directory holds %v", names)
	}
	if err := WriteFileAtomic(filepath.Join(dir, "no", "such"), nil); err == nil {
		t.Error("write into a missing directory succeeded")
	}
}

func TestWriteJSON(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "manifest.json")
	v := map[string]any{"seed": 7, "config": map[string]any{"b": 1.5, "a": "<x>"}}
	if err := WriteJSON(path, v); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	want := "{\n  \"config\": {\n    \"a\": \"<x>\",\n    \"b\": 1.5\n  },\n  \"seed\": 7\n}\n"
	if string(got) != want {
		t.Errorf("WriteJSON wrote\n%s\nwant\n%s", got, want)
	}
	var back map[string]any
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(path, map[string]float64{"loss": math.NaN()}); err == nil {
		t.Error("NaN encoded without error")
	}
	if b, _ := os.ReadFile(path); string(b) != want {
		t.Error("failed WriteJSON changed the existing file")
	}
	if names := dirNames(t, dir); len(names) != 1 {
		t.Errorf("directory holds %v", names)
	}
}

func TestIsTempName(t *testing.T) {
	for name, want := range map[string]bool{
		".evals.parquet.tmp-123": true,
		"evals.parquet.tmp-123":  false,
		".evals.parquet":         false,
		"..tmp-1":                false,
		".x.tmp-":                false,
	} {
		if got := isTempName(name); got != want {
			t.Errorf("isTempName(%q) = %v, want %v", name, got, want)
		}
	}
}

// grown is a row type that gained a column: files written before it read,
// with the column filled in; a column it did not declare added still
// fails.
type grown struct {
	Name  string  `parquet:"name"`
	X     float64 `parquet:"x_s"`
	Later float64 `parquet:"later"`
	Never float64 `parquet:"never"`
}

func (*grown) AddedColumns() []string { return []string{"later"} }
func (g *grown) FillMissing(missing []string) {
	for _, c := range missing {
		if c == "later" {
			g.Later = -7
		}
	}
}

type grownOnly struct {
	Name  string  `parquet:"name"`
	Later float64 `parquet:"later"`
}

func (*grownOnly) AddedColumns() []string { return []string{"later"} }
func (g *grownOnly) FillMissing(missing []string) {
	for _, c := range missing {
		if c == "later" {
			g.Later = -7
		}
	}
}

func TestReadAddedColumns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rows.parquet")
	writeFile(t, path, makeRows(10))
	got, err := ReadAll[grownOnly](path)
	if err != nil {
		t.Fatalf("reading a file written before a column was added: %v", err)
	}
	if got[3].Name != "node-3" || got[3].Later != -7 {
		t.Errorf("row 3 = %+v, want its name and the added column filled in", got[3])
	}
	if _, err := ReadAll[grown](path); err == nil || !strings.Contains(err.Error(), `"never"`) {
		t.Errorf("a missing column not declared added: err = %v, want one naming it", err)
	}
}
