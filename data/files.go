package data

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// inputFile is one file of a finite corpus.
type inputFile struct {
	path     string // as opened
	rel      string // relative to the corpus root, slash-separated; the base name for a single file
	explicit bool   // named directly by data.path rather than found by a walk
}

// listFiles returns root itself if it is a file, or every regular file under
// it whose base name matches pattern, sorted by path. Symbolic links and
// other non-regular files are skipped, so the walk cannot loop.
func listFiles(root, pattern string) ([]inputFile, error) {
	info, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("data.path: %w", err)
	}
	if !info.IsDir() {
		if !info.Mode().IsRegular() {
			return nil, fmt.Errorf("data.path: %s is not a regular file or folder", root)
		}
		return []inputFile{{path: root, rel: filepath.Base(root), explicit: true}}, nil
	}
	var files []inputFile
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		ok, err := filepath.Match(pattern, d.Name())
		if err != nil {
			return fmt.Errorf("data.pattern: %q: %w", pattern, err)
		}
		if ok {
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			files = append(files, inputFile{path: path, rel: filepath.ToSlash(rel)})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("data: walking %s: %w", root, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("data: no files matching %q under %s", pattern, root)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].rel < files[j].rel })
	return files, nil
}

// llm.c token shard header: 256 little-endian int32, then uint16 tokens.
const (
	llmcMagic       = 20240520
	llmcVersion     = 1
	llmcHeaderInts  = 256
	llmcHeaderBytes = llmcHeaderInts * 4
)

// decodeTokenShard returns the uint16 tokens of one shard in the given
// format, checked against vocab. name is used in errors.
func decodeTokenShard(name string, raw []byte, format string, vocab int) ([]uint16, error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("data: %s: empty file", name)
	}
	hasMagic := len(raw) >= 4 && binary.LittleEndian.Uint32(raw) == llmcMagic
	if format == TokenFormatAuto {
		format = TokenFormatRaw
		if hasMagic {
			format = TokenFormatLLMC
		}
	}
	body := raw
	if format == TokenFormatLLMC {
		if len(raw) < llmcHeaderBytes {
			return nil, fmt.Errorf("data: %s: truncated llm.c header: %d bytes, want %d", name, len(raw), llmcHeaderBytes)
		}
		if m := binary.LittleEndian.Uint32(raw); m != llmcMagic {
			return nil, fmt.Errorf("data: %s: wrong magic %d, want %d (llm.c token shard)", name, int32(m), llmcMagic)
		}
		if v := int32(binary.LittleEndian.Uint32(raw[4:])); v != llmcVersion {
			return nil, fmt.Errorf("data: %s: unsupported llm.c shard version %d, want %d", name, v, llmcVersion)
		}
		count := int64(int32(binary.LittleEndian.Uint32(raw[8:])))
		body = raw[llmcHeaderBytes:]
		have := int64(len(body))
		switch {
		case count < 0:
			return nil, fmt.Errorf("data: %s: negative token count %d in header", name, count)
		case have < 2*count:
			return nil, fmt.Errorf("data: %s: truncated: header says %d tokens, file holds %d bytes of tokens (%d tokens)",
				name, count, have, have/2)
		case have > 2*count:
			return nil, fmt.Errorf("data: %s: token count mismatch: header says %d tokens, file holds %d bytes of tokens",
				name, count, have)
		}
	}
	if len(body)%2 != 0 {
		return nil, fmt.Errorf("data: %s: odd length %d bytes: not uint16 tokens", name, len(body))
	}
	if len(body) == 0 {
		return nil, fmt.Errorf("data: %s: no tokens", name)
	}
	toks := make([]uint16, len(body)/2)
	for i := range toks {
		t := binary.LittleEndian.Uint16(body[2*i:])
		if int(t) >= vocab {
			return nil, fmt.Errorf("data: %s: token %d at index %d is outside the vocabulary (data.vocab %d)", name, t, i, vocab)
		}
		toks[i] = t
	}
	return toks, nil
}

// errStop ends a read early once data.max_tokens is reached.
var errStop = errors.New("data: enough tokens")
