package model

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
)

// Checkpoints use the safetensors format: an 8-byte little-endian header
// length, a JSON header mapping each tensor name to its dtype ("F32"), shape
// and data_offsets (byte range within the data that follows), and a
// "__metadata__" object of strings that here holds the model config. Tensors
// are stored in Layout order, little-endian.

// maxHeaderBytes bounds the JSON header a loader will read.
const maxHeaderBytes = 16 << 20

var configKeys = []string{"layers", "heads", "channels", "seq_len", "vocab"}

func (c *Config) fields() []*int {
	return []*int{&c.Layers, &c.Heads, &c.Channels, &c.SeqLen, &c.Vocab}
}

type tensorHeader struct {
	Dtype       string   `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// Save writes the model to path as a safetensors file. It writes a temporary
// file in the same directory and renames it, so a crash never leaves a
// partial checkpoint under path.
func (m *Model) Save(path string) error {
	header := map[string]any{}
	meta := map[string]string{"format": "locosim-gpt"}
	for i, f := range m.cfg.fields() {
		meta[configKeys[i]] = strconv.Itoa(*f)
	}
	header["__metadata__"] = meta
	for _, s := range m.layout {
		header[s.Name] = tensorHeader{Dtype: "F32", Shape: s.Shape,
			DataOffsets: [2]int64{int64(s.Offset) * 4, int64(s.Offset+s.Size()) * 4}}
	}
	js, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("model: checkpoint header: %w", err)
	}
	for len(js)%8 != 0 { // the format pads the header with spaces to 8 bytes
		js = append(js, ' ')
	}
	buf := make([]byte, 8+len(js)+4*len(m.params))
	binary.LittleEndian.PutUint64(buf, uint64(len(js)))
	copy(buf[8:], js)
	data := buf[8+len(js):]
	for i, v := range m.params {
		binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(v))
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("model: save checkpoint: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(buf)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("model: save checkpoint %s: %w", path, err)
	}
	return nil
}

// Load reads a checkpoint written by Save (or any safetensors file with the
// same metadata, tensor names, shapes and F32 data) and returns the model.
func Load(path string) (*Model, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("model: load checkpoint: %w", err)
	}
	m, err := decodeCheckpoint(raw, nil)
	if err != nil {
		return nil, fmt.Errorf("model: checkpoint %s: %w", path, err)
	}
	return m, nil
}

// LoadParams replaces m's parameters with those of the checkpoint at path,
// which must hold a model of the same config.
func (m *Model) LoadParams(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("model: load checkpoint: %w", err)
	}
	if _, err := decodeCheckpoint(raw, m); err != nil {
		return fmt.Errorf("model: checkpoint %s: %w", path, err)
	}
	return nil
}

// decodeCheckpoint parses raw; with into != nil it requires into's config and
// fills into's parameters, otherwise it builds a new model.
func decodeCheckpoint(raw []byte, into *Model) (*Model, error) {
	if len(raw) < 8 {
		return nil, fmt.Errorf("file of %d bytes is too short for a safetensors header", len(raw))
	}
	n := binary.LittleEndian.Uint64(raw)
	if n > maxHeaderBytes || n > uint64(len(raw)-8) {
		return nil, fmt.Errorf("header length %d does not fit in a file of %d bytes", n, len(raw))
	}
	var header map[string]json.RawMessage
	if err := json.Unmarshal(raw[8:8+n], &header); err != nil {
		return nil, fmt.Errorf("bad JSON header: %w", err)
	}
	data := raw[8+n:]
	var meta map[string]string
	if mj, ok := header["__metadata__"]; !ok {
		return nil, fmt.Errorf("no __metadata__ with the model config")
	} else if err := json.Unmarshal(mj, &meta); err != nil {
		return nil, fmt.Errorf("bad __metadata__: %w", err)
	}
	var cfg Config
	for i, f := range cfg.fields() {
		s, ok := meta[configKeys[i]]
		if !ok {
			return nil, fmt.Errorf("metadata lacks %q", configKeys[i])
		}
		v, err := strconv.Atoi(s)
		if err != nil {
			return nil, fmt.Errorf("metadata %s = %q is not an integer", configKeys[i], s)
		}
		*f = v
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config in metadata: %w", err)
	}
	if into != nil && into.cfg != cfg {
		return nil, fmt.Errorf("checkpoint config %+v does not match the model's %+v", cfg, into.cfg)
	}
	m := into
	if m == nil {
		m = newZero(cfg)
	}
	// Decode into a fresh buffer so a failure leaves into untouched.
	params := make([]float32, len(m.params))
	if len(header)-1 != len(m.layout) {
		return nil, fmt.Errorf("checkpoint has %d tensors, config %+v has %d", len(header)-1, cfg, len(m.layout))
	}
	for _, s := range m.layout {
		tj, ok := header[s.Name]
		if !ok {
			return nil, fmt.Errorf("tensor %q is missing", s.Name)
		}
		var th tensorHeader
		if err := json.Unmarshal(tj, &th); err != nil {
			return nil, fmt.Errorf("tensor %q: bad header: %w", s.Name, err)
		}
		if th.Dtype != "F32" {
			return nil, fmt.Errorf("tensor %q has dtype %q, want F32", s.Name, th.Dtype)
		}
		if !slices.Equal(th.Shape, s.Shape) {
			return nil, fmt.Errorf("tensor %q has shape %v, want %v", s.Name, th.Shape, s.Shape)
		}
		lo, hi := th.DataOffsets[0], th.DataOffsets[1]
		if lo < 0 || hi < lo || hi > int64(len(data)) || hi-lo != int64(s.Size())*4 {
			return nil, fmt.Errorf("tensor %q: data_offsets [%d,%d] do not hold %d float32s within %d data bytes",
				s.Name, lo, hi, s.Size(), len(data))
		}
		dst := params[s.Offset : s.Offset+s.Size()]
		src := data[lo:hi]
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
	}
	copy(m.params, params)
	return m, nil
}
