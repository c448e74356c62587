package data_test

import (
	"encoding/binary"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/locosim/locosim/data"
)

// The default corpus is a generated language whose entropy floor is known
// exactly, so every loss can be reported as excess over it.
func ExampleOpen() {
	corpus, err := data.Open(data.DefaultConfig(), 42)
	if err != nil {
		log.Fatal(err)
	}
	rate, _ := corpus.EntropyRate()
	floor, _ := corpus.Floor(64)
	fmt.Printf("vocab %d, entropy rate %.4f nats/token, floor at T=64 %.4f\n", corpus.Vocab(), rate, floor)

	stream, err := corpus.NodeStream(3, 72, data.Shape{Batch: 8, SeqLen: 64})
	if err != nil {
		log.Fatal(err)
	}
	var batch data.Batch
	stream.Next(&batch)
	inputs, targets := batch.Row(0)
	fmt.Println(len(batch.Inputs), inputs[1] == targets[0])
	// Output:
	// vocab 256, entropy rate 1.1191 nats/token, floor at T=64 1.1429
	// 512 true
}

// A folder of text files, walked recursively in sorted order.
func ExampleOpen_text() {
	dir, err := os.MkdirTemp("", "corpus")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	for i := range 4 {
		text := fmt.Sprintf("package p%d\n\nfunc F%d() int { return %d }\n", i, i, i*i)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%d.go", i)), []byte(text), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	cfg := data.DefaultConfig()
	cfg.Kind = data.KindText
	cfg.Path = dir
	cfg.Pattern = "*.go"
	cfg.ChunkTokens = 32
	cfg.ValFraction = 0.25
	corpus, err := data.Open(cfg, 1)
	if err != nil {
		log.Fatal(err)
	}
	shape := data.Shape{Batch: 1, SeqLen: 16}
	eval, err := corpus.EvalBatches(1, shape)
	if err != nil {
		log.Fatal(err)
	}
	text, _ := data.Bytes{}.Decode(eval[0].Inputs)
	fmt.Printf("%d training tokens; an evaluation row: %q\n", corpus.TrainTokens(), text)
	// Output:
	// 128 training tokens; an evaluation row: "rn 0 }\n\x00package "
}

// The batch a node sees at any step can be recomputed, and the batches of
// several nodes stacked into the union batch of one larger replica.
func ExampleConcat() {
	corpus, _ := data.Open(data.DefaultConfig(), 7)
	shape := data.Shape{Batch: 2, SeqLen: 8}
	var parts []*data.Batch
	for node := range 3 {
		s, _ := corpus.NodeStream(node, 3, shape)
		b := data.NewBatch(shape)
		s.BatchAt(10, b) // what node saw at its step 10
		parts = append(parts, b)
	}
	union, _ := data.Concat(parts...)
	fmt.Println(union.Shape, len(union.Inputs))
	// Output: {6 8} 48
}

func ExampleBytes() {
	var tok data.Bytes
	ids := tok.EncodeString("hi!")
	text, _ := tok.Decode(ids)
	fmt.Println(ids, string(text))
	// Output: [104 105 33] hi!
}

func ExampleSynthetic_Generate() {
	lang, _ := data.NewSynthetic(data.DefaultConfig().Synthetic, 0)
	fmt.Println(lang)
	fmt.Printf("%.3f bits/token over %q\n", lang.EntropyRateBits(), lang.Alphabet())
	fmt.Printf("%q\n", lang.Generate(40, 1))
	// Output:
	// synthetic order 3 over 16 symbols (4096 contexts), entropy rate 1.1191 nats (1.6145 bits) per token
	// 1.614 bits/token over " etaoinsrhldcumf"
	// "lhaelhaltnmlhmdhmcnmrerlhrehheosihltnmhl"
}

// Token shards in the llm.c layout: a header of 256 little-endian int32
// (magic 20240520, version 1, token count) followed by uint16 tokens.
// Without the magic (format "auto"), a file is read as nanoGPT's raw uint16.
func ExampleOpen_tokens() {
	dir, err := os.MkdirTemp("", "shards")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	tokens := make([]uint16, 4096)
	for i := range tokens {
		tokens[i] = uint16(i % 50257)
	}
	shard := make([]byte, 1024+2*len(tokens))
	binary.LittleEndian.PutUint32(shard[0:], 20240520)
	binary.LittleEndian.PutUint32(shard[4:], 1)
	binary.LittleEndian.PutUint32(shard[8:], uint32(len(tokens)))
	for i, t := range tokens {
		binary.LittleEndian.PutUint16(shard[1024+2*i:], t)
	}
	if err := os.WriteFile(filepath.Join(dir, "fineweb_train_000001.bin"), shard, 0o644); err != nil {
		log.Fatal(err)
	}
	cfg := data.DefaultConfig()
	cfg.Kind = data.KindTokens
	cfg.Path = dir
	cfg.Vocab = 50257
	cfg.ChunkTokens = 256
	corpus, err := data.Open(cfg, 1)
	if err != nil {
		log.Fatal(err)
	}
	s, err := corpus.NodeStream(0, 4, data.Shape{Batch: 2, SeqLen: 8})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(corpus.Vocab(), corpus.TrainTokens(), s.Tokens())
	// Output: 50257 3840 1024
}
