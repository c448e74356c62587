package model

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckpointRoundTrip(t *testing.T) {
	m := perturbed(t, tiny, 11)
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Config() != tiny {
		t.Fatalf("config %+v, want %+v", got.Config(), tiny)
	}
	if i := bitsEqual(got.Params(), m.Params()); i >= 0 {
		t.Fatalf("parameter %d differs", i)
	}
	other, _ := New(tiny, 12)
	if err := other.LoadParams(path); err != nil {
		t.Fatal(err)
	}
	if i := bitsEqual(other.Params(), m.Params()); i >= 0 {
		t.Fatalf("LoadParams: parameter %d differs", i)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("directory holds %d files after Save, want only the checkpoint", len(entries))
	}
}

func TestLoadParamsRefusesOtherConfig(t *testing.T) {
	m := perturbed(t, tiny, 13)
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	bigger := tiny
	bigger.Channels = 16
	o, _ := New(bigger, 1)
	before := append([]float32(nil), o.Params()...)
	err := o.LoadParams(path)
	if err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("err = %v, want a config mismatch", err)
	}
	if bitsEqual(before, o.Params()) >= 0 {
		t.Fatal("a refused load changed the parameters")
	}
}

// corrupt builds a checkpoint whose JSON header is header (data as for tiny).
func corrupt(t *testing.T, header string, data []byte) string {
	t.Helper()
	buf := make([]byte, 8, 8+len(header)+len(data))
	binary.LittleEndian.PutUint64(buf, uint64(len(header)))
	buf = append(append(buf, header...), data...)
	path := filepath.Join(t.TempDir(), "bad.safetensors")
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadMalformed(t *testing.T) {
	m := perturbed(t, tiny, 14)
	good := filepath.Join(t.TempDir(), "m.safetensors")
	if err := m.Save(good); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(good)
	n := binary.LittleEndian.Uint64(raw)
	header, data := string(raw[8:8+n]), raw[8+n:]
	write := func(b []byte) string {
		p := filepath.Join(t.TempDir(), "x.safetensors")
		os.WriteFile(p, b, 0o644)
		return p
	}
	huge := append([]byte(nil), raw...)
	binary.LittleEndian.PutUint64(huge, 1<<62)
	cases := []struct {
		name, path, want string
	}{
		{"empty", write(nil), "too short"},
		{"truncated header", write(raw[:20]), "header length"},
		{"truncated data", write(raw[:len(raw)-5]), "data_offsets"},
		{"huge header length", write(huge), "header length"},
		{"bad json", corrupt(t, "{not json", data), "bad JSON"},
		{"no metadata", corrupt(t, `{"wte":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, data), "__metadata__"},
		{"bad config", corrupt(t, strings.Replace(header, `"heads":"2"`, `"heads":"3"`, 1), data), "divisible"},
		{"non-integer config", corrupt(t, strings.Replace(header, `"vocab":"11"`, `"vocab":"eleven"`, 1), data), "not an integer"},
		{"missing tensor", corrupt(t, strings.Replace(header, `"lnf.b"`, `"lnf.x"`, 1), data), `"lnf.b" is missing`},
		{"wrong shape", corrupt(t, strings.Replace(header, `"shape":[11,8]`, `"shape":[8,11]`, 1), data), "shape"},
		{"wrong dtype", corrupt(t, strings.Replace(header, `"F32"`, `"F16"`, 1), data), "dtype"},
		{"offsets out of range", corrupt(t, strings.Replace(header, `"data_offsets":[0,352]`, `"data_offsets":[999999,1000351]`, 1), data), "data_offsets"},
		{"missing file", filepath.Join(t.TempDir(), "nope"), "no such file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(c.path)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to mention %q", err, c.want)
			}
		})
	}
}

// TestCheckpointPython reads a checkpoint with the reference safetensors
// implementation when python3 has it; the test never installs anything.
func TestCheckpointPython(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found")
	}
	if exec.Command(py, "-c", "import safetensors, numpy").Run() != nil {
		t.Skip("python3 lacks safetensors or numpy; cross-check skipped")
	}
	m := perturbed(t, tiny, 15)
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	script := `
import sys
from safetensors.numpy import load_file
from safetensors import safe_open
t = load_file(sys.argv[1])
with safe_open(sys.argv[1], "np") as f:
    meta = f.metadata()
print(meta["channels"], t["wte"].shape, repr(float(t["h.1.mlp.fc.w"][3, 5])))
`
	out, err := exec.Command(py, "-c", script, path).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	l := m.Layout()
	s := l[l.Index("h.1.mlp.fc.w")]
	want := float64(m.Params()[s.Offset+3*s.Shape[1]+5])
	var ch int
	var a, b int
	var v float64
	if _, err := sscanf(string(out), &ch, &a, &b, &v); err != nil || ch != 8 || a != 11 || b != 8 || v != want {
		t.Fatalf("python read %q; want channels 8, wte (11, 8), value %v", out, want)
	}
}

func sscanf(s string, ch, a, b *int, v *float64) (int, error) {
	return fmt.Sscanf(strings.NewReplacer("(", "", ")", "", ",", "").Replace(s), "%d %d %d %g", ch, a, b, v)
}
