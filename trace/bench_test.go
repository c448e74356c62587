package trace

import (
	"path/filepath"
	"testing"
)

// event mirrors record.Event, the most numerous rows of a run.
type event struct {
	Node   int64   `parquet:"node"`
	Round  int64   `parquet:"round"`
	Kind   string  `parquet:"kind"`
	StartS float64 `parquet:"start_s"`
	EndS   float64 `parquet:"end_s"`
	Bytes  int64   `parquet:"bytes"`
}

// BenchmarkWrite reports rows/s for writing event-like rows, 10k per Write
// call, through to a closed file.
func BenchmarkWrite(b *testing.B) {
	kinds := []string{"compute", "upload", "download", "wait"}
	rows := make([]event, 10_000)
	for i := range rows {
		rows[i] = event{Node: int64(i % 72), Round: int64(i / 288), Kind: kinds[i%4],
			StartS: float64(i) * 0.37, EndS: float64(i)*0.37 + 0.2, Bytes: int64(i%4) * 1 << 20}
	}
	const perFile = 1_000_000
	dir := b.TempDir()
	b.ReportAllocs()
	b.ResetTimer()
	written := 0
	for written < b.N*len(rows) {
		w, err := Create[event](filepath.Join(dir, "events.parquet"))
		if err != nil {
			b.Fatal(err)
		}
		for n := 0; n < perFile && written < b.N*len(rows); n += len(rows) {
			if err := w.Write(rows...); err != nil {
				b.Fatal(err)
			}
			written += len(rows)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(written)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkReadAll(b *testing.B) {
	rows := make([]event, 1_000_000)
	for i := range rows {
		rows[i] = event{Node: int64(i % 72), Kind: "compute", StartS: float64(i), EndS: float64(i) + 1}
	}
	path := filepath.Join(b.TempDir(), "events.parquet")
	writeFile(b, path, rows)
	b.ResetTimer()
	for b.Loop() {
		got, err := ReadAll[event](path)
		if err != nil || len(got) != len(rows) {
			b.Fatal(len(got), err)
		}
	}
	b.ReportMetric(float64(b.N*len(rows))/b.Elapsed().Seconds(), "rows/s")
}
