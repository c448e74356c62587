package data

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/snappy"
)

// writeFiles creates files (slash-separated relative path -> content) under dir.
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

type textRow struct {
	ID   int64   `parquet:"id"`
	Text *string `parquet:"text,optional"`
	URL  string  `parquet:"url"`
}

type numberRow struct {
	Text int64 `parquet:"text"`
}

func writeParquet[T any](t testing.TB, path string, rows []T) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	// Small row groups, so reading crosses row groups.
	if err := parquet.WriteFile(path, rows, parquet.MaxRowsPerRowGroup(2)); err != nil {
		t.Fatal(err)
	}
}

func textRows(texts ...string) []textRow {
	rows := make([]textRow, len(texts))
	for i := range texts {
		rows[i] = textRow{ID: int64(i), Text: &texts[i], URL: "u"}
	}
	return rows
}

// llmcShard returns an llm.c token shard: header then uint16 tokens;
// count is written to the header as given.
func llmcShard(count int32, tokens []uint16) []byte {
	buf := make([]byte, llmcHeaderBytes+2*len(tokens))
	binary.LittleEndian.PutUint32(buf[0:], llmcMagic)
	binary.LittleEndian.PutUint32(buf[4:], llmcVersion)
	binary.LittleEndian.PutUint32(buf[8:], uint32(count))
	for i, t := range tokens {
		binary.LittleEndian.PutUint16(buf[llmcHeaderBytes+2*i:], t)
	}
	return buf
}

func rawShard(tokens []uint16) []byte {
	buf := make([]byte, 2*len(tokens))
	for i, t := range tokens {
		binary.LittleEndian.PutUint16(buf[2*i:], t)
	}
	return buf
}

func seqTokens(n int, from uint16) []uint16 {
	out := make([]uint16, n)
	for i := range out {
		out[i] = from + uint16(i)
	}
	return out
}

func openOK(t testing.TB, cfg Config, seed uint64) *finiteCorpus {
	t.Helper()
	c, err := Open(cfg, seed)
	if err != nil {
		t.Fatal(err)
	}
	return c.(*finiteCorpus)
}

func finiteConfig(kind, path string) Config {
	cfg := DefaultConfig()
	cfg.Kind = kind
	cfg.Path = path
	cfg.ChunkTokens = 64
	return cfg
}

// TestFiniteContent checks what each loader reads, in which order.
func TestFiniteContent(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"text/b.go":         "package b",
		"text/a.go":         "package a",
		"text/sub/c.go":     "package c",
		"text/sub/notes.md": "# notes",
		"text/empty.go":     "",
		"text/dir.go/x.txt": "a directory named like a match",
	})
	writeParquet(t, filepath.Join(dir, "pq/part-1.parquet"), textRows("third", "fourth", "fifth"))
	writeParquet(t, filepath.Join(dir, "pq/part-0.parquet"), append(textRows("first", "second"), textRow{ID: 9, URL: "null text"}))
	writeFiles(t, dir, map[string]string{
		"tok/b.bin": string(rawShard([]uint16{7, 8, 9})),
		"tok/a.bin": string(llmcShard(2, []uint16{50000, 3})),
	})
	for _, tc := range []struct {
		name   string
		cfg    func(*Config)
		bytes  string
		tokens []uint16
	}{
		{"text walk, pattern, sorted, empty skipped", func(c *Config) {
			c.Kind, c.Path, c.Pattern, c.DocSeparator = KindText, filepath.Join(dir, "text"), "*.go", '|'
		}, "package a|package b|package c|", nil},
		{"text default pattern takes every file", func(c *Config) {
			c.Kind, c.Path, c.DocSeparator = KindText, filepath.Join(dir, "text"), -1
		}, "package apackage ba directory named like a matchpackage c# notes", nil},
		{"text single file ignores pattern", func(c *Config) {
			c.Kind, c.Path, c.Pattern = KindText, filepath.Join(dir, "text/sub/notes.md"), "*.go"
		}, "# notes\x00", nil},
		{"text max_tokens", func(c *Config) {
			c.Kind, c.Path, c.Pattern, c.MaxTokens = KindText, filepath.Join(dir, "text"), "*.go", 12
		}, "package a\x00pa", nil},
		{"parquet rows in file order, nulls skipped", func(c *Config) {
			c.Kind, c.Path, c.DocSeparator = KindParquet, filepath.Join(dir, "pq"), '\n'
		}, "first\nsecond\nthird\nfourth\nfifth\n", nil},
		{"parquet max_tokens", func(c *Config) {
			c.Kind, c.Path, c.MaxTokens = KindParquet, filepath.Join(dir, "pq"), 8
		}, "first\x00se", nil},
		{"parquet other column", func(c *Config) {
			c.Kind, c.Path, c.TextColumn, c.DocSeparator = KindParquet, filepath.Join(dir, "pq/part-0.parquet"), "url", -1
		}, "uunull text", nil},
		{"tokens auto: llm.c then raw", func(c *Config) {
			c.Kind, c.Path = KindTokens, filepath.Join(dir, "tok")
		}, "", []uint16{50000, 3, 7, 8, 9}},
		{"tokens raw reads the header as tokens", func(c *Config) {
			c.Kind, c.Path, c.TokenFormat = KindTokens, filepath.Join(dir, "tok/a.bin"), TokenFormatRaw
		}, "", rawTokens(llmcShard(2, []uint16{50000, 3}))},
		{"tokens max_tokens", func(c *Config) {
			c.Kind, c.Path, c.MaxTokens = KindTokens, filepath.Join(dir, "tok"), 3
		}, "", []uint16{50000, 3, 7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.ChunkTokens = 4
			cfg.ValFraction = 0
			tc.cfg(&cfg)
			f := openOK(t, cfg, 1)
			if tc.tokens == nil {
				if string(f.bytes) != tc.bytes {
					t.Errorf("read %q, want %q", f.bytes, tc.bytes)
				}
				if f.Vocab() != 256 {
					t.Errorf("Vocab %d", f.Vocab())
				}
			} else if !slices.Equal(f.tokens, tc.tokens) {
				t.Errorf("read %v, want %v", f.tokens, tc.tokens)
			}
		})
	}
}

func rawTokens(b []byte) []uint16 {
	out := make([]uint16, len(b)/2)
	for i := range out {
		out[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return out
}

// TestFiniteErrors: every bad input is an error naming the file (or key)
// and the problem.
func TestFiniteErrors(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"empty.txt":         "",
		"onlyempty/a.txt":   "",
		"small.txt":         strings.Repeat("x", 100),
		"raw/odd.bin":       "abc",
		"raw/empty.bin":     "",
		"garbage.parquet":   "this is not parquet at all, not even close",
		"notext/a.parquet":  "",
		"tok/big.bin":       string(rawShard([]uint16{1, 2, 300})),
		"magic/wrong.bin":   string(rawShard(seqTokens(600, 1))),
		"llmc/trunc.bin":    string(llmcShard(10, seqTokens(6, 1))),
		"llmc/extra.bin":    string(llmcShard(4, seqTokens(6, 1))),
		"llmc/short.bin":    string(llmcShard(4, nil)[:100]),
		"llmc/negative.bin": string(llmcShard(-3, nil)),
	})
	v2 := llmcShard(1, []uint16{5})
	binary.LittleEndian.PutUint32(v2[4:], 2)
	writeFiles(t, dir, map[string]string{"llmc/v2.bin": string(v2)})
	writeParquet(t, filepath.Join(dir, "nocol/a.parquet"), textRows("hello"))
	writeParquet(t, filepath.Join(dir, "numbers/a.parquet"), []numberRow{{1}, {2}})
	writeParquet(t, filepath.Join(dir, "good/a.parquet"), textRows("some text"))
	good, _ := os.ReadFile(filepath.Join(dir, "good/a.parquet"))
	writeFiles(t, dir, map[string]string{"trunc/a.parquet": string(good[:len(good)-10])})

	p := func(name string) string { return filepath.Join(dir, name) }
	for _, tc := range []struct {
		name string
		cfg  Config
		want []string // substrings of the error
	}{
		{"missing path", finiteConfig(KindText, p("nope")), []string{"nope", "no such file"}},
		{"no match", withPattern(finiteConfig(KindText, dir), "*.xyz"), []string{"no files matching", "*.xyz"}},
		{"empty explicit file", finiteConfig(KindText, p("empty.txt")), []string{"empty.txt", "empty file"}},
		{"only empty files", finiteConfig(KindText, p("onlyempty")), []string{"onlyempty", "no tokens"}},
		{"raw odd length", withFormat(finiteConfig(KindTokens, p("raw/odd.bin")), TokenFormatRaw), []string{"odd.bin", "odd length"}},
		{"raw empty", finiteConfig(KindTokens, p("raw/empty.bin")), []string{"empty.bin", "empty file"}},
		{"wrong magic", withFormat(finiteConfig(KindTokens, p("magic/wrong.bin")), TokenFormatLLMC), []string{"wrong.bin", "wrong magic"}},
		{"llm.c truncated", finiteConfig(KindTokens, p("llmc/trunc.bin")), []string{"trunc.bin", "truncated", "10 tokens"}},
		{"llm.c count mismatch", finiteConfig(KindTokens, p("llmc/extra.bin")), []string{"extra.bin", "count mismatch"}},
		{"llm.c short header", withFormat(finiteConfig(KindTokens, p("llmc/short.bin")), TokenFormatLLMC), []string{"short.bin", "header"}},
		{"llm.c negative count", finiteConfig(KindTokens, p("llmc/negative.bin")), []string{"negative.bin", "negative token count"}},
		{"llm.c version", finiteConfig(KindTokens, p("llmc/v2.bin")), []string{"v2.bin", "version 2"}},
		{"token outside vocab", withVocab(finiteConfig(KindTokens, p("tok/big.bin")), 256), []string{"big.bin", "token 300", "index 2", "data.vocab 256"}},
		{"parquet missing column", withColumn(finiteConfig(KindParquet, p("nocol")), "body"), []string{"a.parquet", `no column "body"`, "text"}},
		{"parquet non-string column", finiteConfig(KindParquet, p("numbers")), []string{"a.parquet", "INT64", "not strings"}},
		{"parquet garbage", finiteConfig(KindParquet, p("garbage.parquet")), []string{"garbage.parquet", "not a readable Parquet"}},
		{"parquet empty", finiteConfig(KindParquet, p("notext")), []string{"a.parquet", "empty file"}},
		{"parquet truncated", finiteConfig(KindParquet, p("trunc")), []string{"trunc", "a.parquet"}},
		{"val fraction leaves nothing", withChunk(finiteConfig(KindText, p("small.txt")), 200), []string{"data.val_fraction", "no training data"}},
		{"no path", finiteConfig(KindText, ""), []string{"data.path"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(tc.cfg, 1)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}

	// Errors found when streams are made.
	small := withChunk(finiteConfig(KindText, p("small.txt")), 10)
	small.DocSeparator = -1
	f := openOK(t, small, 1) // 10 chunks, 1 held out
	shape := Shape{Batch: 2, SeqLen: 4}
	if _, err := f.NodeStream(0, 10, shape); err == nil || !strings.Contains(err.Error(), "cannot be shared by 10 nodes") {
		t.Errorf("10 nodes on 9 chunks: %v", err)
	}
	if _, err := f.NodeStream(0, 2, Shape{Batch: 2, SeqLen: 10}); err == nil || !strings.Contains(err.Error(), "no window of 11 tokens") {
		t.Errorf("window longer than a chunk: %v", err)
	}
	if _, err := f.EvalBatches(3, shape); err == nil || !strings.Contains(err.Error(), "validation chunks hold 2 windows") {
		t.Errorf("too many eval batches: %v", err)
	}
	noVal := small
	noVal.ValFraction = 0
	if _, err := openOK(t, noVal, 1).EvalBatches(1, shape); err == nil || !strings.Contains(err.Error(), "data.val_fraction") {
		t.Errorf("eval without validation data: %v", err)
	}
}

func withPattern(c Config, p string) Config { c.Pattern = p; return c }
func withFormat(c Config, f string) Config  { c.TokenFormat = f; return c }
func withVocab(c Config, v int) Config      { c.Vocab = v; return c }
func withColumn(c Config, col string) Config {
	c.TextColumn = col
	return c
}
func withChunk(c Config, n int) Config { c.ChunkTokens = n; return c }

// windowsOf lists the window starts a stream yields over its first epoch.
func windowsOf(t *testing.T, s Stream) []int64 {
	t.Helper()
	st := s.(*finiteStream)
	var out []int64
	for g := range int64(len(st.starts)) {
		out = append(out, st.windowStart(g))
	}
	return out
}

// TestFinitePartition: nodes get disjoint chunks; a node's epoch visits each
// of its windows once; no training window touches a validation chunk; the
// split does not depend on the run seed but the assignment does.
func TestFinitePartition(t *testing.T) {
	dir := t.TempDir()
	var docs []string
	for i := range 40 {
		docs = append(docs, strings.Repeat(string(rune('a'+i%26)), 50+i*7))
	}
	writeParquet(t, filepath.Join(dir, "a.parquet"), textRows(docs[:20]...))
	writeParquet(t, filepath.Join(dir, "b.parquet"), textRows(docs[20:]...))
	cfg := finiteConfig(KindParquet, dir)
	cfg.ChunkTokens = 100
	cfg.ValFraction = 0.1
	const nodes = 7
	shape := Shape{Batch: 3, SeqLen: 16}
	f := openOK(t, cfg, 5)
	if len(f.val) != int(0.1*float64(len(f.val)+len(f.train))+0.5) {
		t.Errorf("%d validation chunks of %d", len(f.val), len(f.val)+len(f.train))
	}
	valChunk := make(map[int64]bool)
	for _, i := range f.val {
		valChunk[int64(i)] = true
	}
	owner := make(map[int64]int) // chunk -> node
	var total int64
	for node := range nodes {
		s, err := f.NodeStream(node, nodes, shape)
		if err != nil {
			t.Fatal(err)
		}
		total += s.Tokens()
		ws := windowsOf(t, s)
		st := s.(*finiteStream)
		if !slices.Equal(slices.Sorted(slices.Values(ws)), slices.Sorted(slices.Values(st.starts))) {
			t.Fatalf("node %d: an epoch is not a permutation of its windows", node)
		}
		for _, w := range ws {
			c := w / int64(cfg.ChunkTokens)
			if (w+int64(shape.SeqLen))/int64(cfg.ChunkTokens) != c {
				t.Fatalf("window at %d crosses a chunk edge", w)
			}
			if valChunk[c] {
				t.Fatalf("node %d trains on validation chunk %d", node, c)
			}
			if o, ok := owner[c]; ok && o != node {
				t.Fatalf("chunk %d read by nodes %d and %d", c, o, node)
			}
			owner[c] = node
		}
	}
	if total != f.TrainTokens() {
		t.Errorf("node streams hold %d tokens, corpus trains on %d", total, f.TrainTokens())
	}
	checkStreamContract(t, f, nodes, shape)

	// Epochs reshuffle: the second epoch starts elsewhere, yet covers the same windows.
	s, _ := f.NodeStream(0, nodes, shape)
	st := s.(*finiteStream)
	w := int64(len(st.starts))
	var e0, e1 []int64
	for g := range w {
		e0 = append(e0, st.windowStart(g))
		e1 = append(e1, st.windowStart(w+g))
	}
	if slices.Equal(e0, e1) {
		t.Error("epoch 1 repeats epoch 0's order")
	}
	slices.Sort(e0)
	slices.Sort(e1)
	if !slices.Equal(e0, e1) {
		t.Error("epoch 1 visits other windows than epoch 0")
	}
	var neg Batch
	s.BatchAt(-3, &neg) // negative steps are earlier epochs, not a panic
	if len(neg.Inputs) != shape.Tokens() {
		t.Error("BatchAt(-3) did not fill the batch")
	}

	// Another run seed: same split and eval set, another assignment.
	g := openOK(t, cfg, 6)
	if !slices.Equal(f.val, g.val) || f.Digest() != g.Digest() {
		t.Error("the run seed moved the validation split or the digest")
	}
	ef, _ := f.EvalBatches(2, shape)
	eg, _ := g.EvalBatches(2, shape)
	for i := range ef {
		if !slices.Equal(ef[i].Inputs, eg[i].Inputs) {
			t.Error("evaluation batches depend on the run seed")
		}
	}
	if slices.Equal(f.nodeChunks(0, nodes), g.nodeChunks(0, nodes)) {
		t.Error("the run seed did not move the chunk assignment")
	}
}

// TestFiniteKnobsMoveSomething: every knob of a finite corpus changes its
// digest (and so what it reads or how it splits).
func TestFiniteKnobsMoveSomething(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"t/a.go":  strings.Repeat("package a\n", 40),
		"t/b.txt": strings.Repeat("plain text\n", 40),
	})
	writeParquet(t, filepath.Join(dir, "p/a.parquet"), textRows("alpha beta", "gamma"))
	writeFiles(t, dir, map[string]string{"k/a.bin": string(llmcShard(300, seqTokens(300, 1)))})

	text := finiteConfig(KindText, filepath.Join(dir, "t"))
	pq := finiteConfig(KindParquet, filepath.Join(dir, "p"))
	pq.ChunkTokens = 2
	tok := finiteConfig(KindTokens, filepath.Join(dir, "k"))
	for _, tc := range []struct {
		key  string
		base Config
		mod  func(*Config)
	}{
		{"path", text, func(c *Config) { c.Path = filepath.Join(dir, "t/a.go") }},
		{"pattern", text, func(c *Config) { c.Pattern = "*.go" }},
		{"val_fraction", text, func(c *Config) { c.ValFraction = 0.2 }},
		{"chunk_tokens", text, func(c *Config) { c.ChunkTokens = 50 }},
		{"doc_separator", text, func(c *Config) { c.DocSeparator = -1 }},
		{"max_tokens", text, func(c *Config) { c.MaxTokens = 500 }},
		{"vocab", text, func(c *Config) { c.Vocab = 512 }},
		{"text_column", pq, func(c *Config) { c.TextColumn = "url" }},
		{"token_format", tok, func(c *Config) { c.TokenFormat = TokenFormatRaw }},
		{"kind", text, func(c *Config) { c.Kind = KindSynthetic }},
	} {
		t.Run(tc.key, func(t *testing.T) {
			a, err := Open(tc.base, 1)
			if err != nil {
				t.Fatal(err)
			}
			cfg := tc.base
			tc.mod(&cfg)
			b, err := Open(cfg, 1)
			if err != nil {
				t.Fatal(err)
			}
			if a.Digest() == b.Digest() {
				t.Errorf("%s: digest unchanged", tc.key)
			}
		})
	}
}

type dictRow struct {
	Text     string  `parquet:"text,dict,zstd"`
	Language string  `parquet:"language,dict"`
	Score    float64 `parquet:"language_score"`
}

// TestParquetCompressedPages reads a FineWeb-like layout: many row groups of
// many small pages, zstd and snappy, dictionary-encoded strings.
func TestParquetCompressedPages(t *testing.T) {
	dir := t.TempDir()
	var rows []dictRow
	var want strings.Builder
	for i := range 3000 {
		text := fmt.Sprintf("document %d says %s", i, strings.Repeat("la ", i%7))
		if i%5 == 0 {
			text = "a repeated document" // exercises the dictionary
		}
		rows = append(rows, dictRow{Text: text, Language: "en", Score: 0.9})
		want.WriteString(text)
		want.WriteByte('\n')
	}
	path := filepath.Join(dir, "000_00000.parquet")
	if err := parquet.WriteFile(path, rows, parquet.MaxRowsPerRowGroup(1000), parquet.PageBufferSize(512),
		parquet.Compression(&snappy.Codec{})); err != nil {
		t.Fatal(err)
	}
	if pf, err := parquet.ReadFile[dictRow](path); err != nil || len(pf) != len(rows) {
		t.Fatalf("writing the fixture: %d rows, %v", len(pf), err)
	}
	cfg := finiteConfig(KindParquet, dir)
	cfg.DocSeparator = '\n'
	f := openOK(t, cfg, 1)
	if string(f.bytes) != want.String() {
		t.Fatalf("read %d bytes, want %d; first %q", len(f.bytes), want.Len(), f.bytes[:min(80, len(f.bytes))])
	}
	cfg.TextColumn = "language_score"
	if _, err := Open(cfg, 1); err == nil || !strings.Contains(err.Error(), "DOUBLE") {
		t.Errorf("float column: %v", err)
	}
}

func TestTokensCorpus(t *testing.T) {
	dir := t.TempDir()
	shards := map[string]string{}
	for i := range 4 {
		toks := seqTokens(5000, uint16(1000*i))
		if i%2 == 0 {
			shards[filepath.Join("shards", "train_"+string(rune('0'+i))+".bin")] = string(llmcShard(int32(len(toks)), toks))
		} else {
			shards[filepath.Join("shards", "train_"+string(rune('0'+i))+".bin")] = string(rawShard(toks))
		}
	}
	writeFiles(t, dir, shards)
	cfg := finiteConfig(KindTokens, filepath.Join(dir, "shards"))
	cfg.ChunkTokens = 512
	cfg.Vocab = 50257
	f := openOK(t, cfg, 3)
	if f.Vocab() != 50257 || f.n != 20000 {
		t.Fatalf("vocab %d, %d tokens", f.Vocab(), f.n)
	}
	if d := f.String(); !strings.Contains(d, "tokens corpus") || !strings.Contains(d, "20000 tokens in 40 chunks of 512 (2 held out)") {
		t.Errorf("String() = %q", d)
	}
	checkStreamContract(t, f, 8, Shape{Batch: 4, SeqLen: 64})
	// Batches are windows of the shards: consecutive token ids here.
	s, _ := f.NodeStream(2, 8, Shape{Batch: 4, SeqLen: 64})
	var b Batch
	s.Next(&b)
	for r := range b.Batch {
		in, tg := b.Row(r)
		for i := range in {
			if tg[i] != in[i]+1 {
				t.Fatalf("row %d is not a window of the shard: %v", r, in[:4])
			}
		}
	}
}

func TestTextCorpusGoSource(t *testing.T) {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Skip("no go command:", err)
	}
	src := filepath.Join(strings.TrimSpace(string(out)), "src")
	if _, err := os.Stat(filepath.Join(src, "fmt", "print.go")); err != nil {
		t.Skip("no Go source tree:", err)
	}
	cfg := finiteConfig(KindText, src)
	cfg.Pattern = "*.go"
	cfg.MaxTokens = 4 << 20
	cfg.ChunkTokens = 1 << 14
	c, err := Open(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	f := c.(*finiteCorpus)
	if f.n != cfg.MaxTokens {
		t.Fatalf("read %d bytes, want %d", f.n, cfg.MaxTokens)
	}
	checkStreamContract(t, c, 72, Shape{Batch: 8, SeqLen: 64})
	ev, err := c.EvalBatches(4, Shape{Batch: 8, SeqLen: 64})
	if err != nil {
		t.Fatal(err)
	}
	text, _ := Bytes{}.Decode(ev[0].Inputs)
	t.Logf("Go source: %d train tokens, %d validation chunks; eval row 0: %q", c.TrainTokens(), len(f.val), text[:64])
}
