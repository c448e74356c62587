package trace

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
)

// WriteFileAtomic writes data to path through a temporary file in the same
// directory and a rename, so readers see either the old file or the complete
// new one, never a partial write.
func WriteFileAtomic(path string, data []byte) (err error) {
	tmp, err := createTemp(path)
	if err != nil {
		return fmt.Errorf("trace: write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("trace: write %s: %w", path, err)
	}
	return commit(tmp, path)
}

// WriteJSON writes v as indented JSON (two spaces, trailing newline) with
// WriteFileAtomic. Map keys are sorted by encoding/json, so equal values give
// equal files. Floats that JSON cannot represent (NaN, ±Inf) are an error;
// callers store them as null or strings.
func WriteJSON(path string, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("trace: encode %s: %w", path, err)
	}
	return WriteFileAtomic(path, buf.Bytes())
}
