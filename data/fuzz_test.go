package data

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecodeTokenShard: any bytes decode to tokens below the vocabulary or
// to an error, never a panic.
func FuzzDecodeTokenShard(f *testing.F) {
	f.Add(llmcShard(3, []uint16{1, 2, 3}), 0, 50257)
	f.Add(llmcShard(5, []uint16{1, 2, 3}), 1, 256)
	f.Add(rawShard([]uint16{9, 8}), 2, 10)
	f.Add([]byte{1}, 0, 2)
	formats := []string{TokenFormatAuto, TokenFormatLLMC, TokenFormatRaw}
	f.Fuzz(func(t *testing.T, raw []byte, format, vocab int) {
		if format < 0 || vocab < 2 || vocab > 1<<16 {
			return
		}
		toks, err := decodeTokenShard("fuzz.bin", raw, formats[format%3], vocab)
		if err != nil {
			return
		}
		for _, tok := range toks {
			if int(tok) >= vocab {
				t.Fatalf("token %d passed vocab %d", tok, vocab)
			}
		}
	})
}

// FuzzParquet: a corrupted Parquet file is an error naming the file, never
// a panic.
func FuzzParquet(f *testing.F) {
	dir := f.TempDir()
	path := filepath.Join(dir, "seed.parquet")
	writeParquet(f, path, textRows("hello", "world", "third row"))
	good, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good, 0, byte(0))
	f.Add(good, len(good)-9, byte(0xff))
	f.Add(good, len(good)/2, byte(7))
	f.Fuzz(func(t *testing.T, raw []byte, at int, b byte) {
		if len(raw) > 0 && at >= 0 {
			raw[at%len(raw)] ^= b
		}
		p := filepath.Join(t.TempDir(), "f.parquet")
		if err := os.WriteFile(p, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		_ = readParquetText(p, "text", func([]byte) error { return nil })
	})
}
