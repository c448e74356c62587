package model

import (
	"math"
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{DefaultConfig(), Small(), Medium(), tiny} {
		if err := c.Validate(); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
	for _, tc := range []struct {
		key string
		mod func(*Config)
	}{
		{"layers", func(c *Config) { c.Layers = 0 }},
		{"heads", func(c *Config) { c.Heads = -1 }},
		{"channels", func(c *Config) { c.Channels = 0 }},
		{"seq_len", func(c *Config) { c.SeqLen = 0 }},
		{"vocab", func(c *Config) { c.Vocab = 1 << 30 }},
		{"parameters", func(c *Config) { c.Vocab, c.Channels = 1<<20, 1<<12 }},
		{"divisible by heads", func(c *Config) { c.Heads = 3 }},
	} {
		c := Small()
		tc.mod(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%s: err = %v", tc.key, err)
		}
		if _, err := New(c, 1); err == nil {
			t.Errorf("%s: New accepted an invalid config", tc.key)
		}
	}
	if _, err := Preset("huge"); err == nil {
		t.Error("unknown preset accepted")
	}
	if c, _ := Preset("medium"); c != Medium() {
		t.Error("preset medium")
	}
}

func TestParamCounts(t *testing.T) {
	// The reference C trainer's small model has 834k parameters (its LM head
	// is tied too); the block formula is 12C²+13C per layer.
	if n := Small().NumParams(); n != 256*128+64*128+4*(12*128*128+13*128)+2*128 {
		t.Errorf("small: %d parameters", n)
	}
	if n := Small().NumParams(); n < 830_000 || n > 840_000 {
		t.Errorf("small: %d parameters, want about 834k", n)
	}
	if err := Layout(Medium()).Validate(); err != nil {
		t.Error(err)
	}
}

func TestInit(t *testing.T) {
	cfg := Small()
	a, _ := New(cfg, 42)
	b, _ := New(cfg, 42)
	c, _ := New(cfg, 43)
	if bitsEqual(a.Params(), b.Params()) >= 0 {
		t.Fatal("same seed, different parameters")
	}
	if bitsEqual(a.Params(), c.Params()) < 0 {
		t.Fatal("different seeds, same parameters")
	}
	l := a.Layout()
	std := func(name string) float64 {
		v := l.View(a.Params(), l.Index(name))
		var s float64
		for _, x := range v {
			s += float64(x) * float64(x)
		}
		return math.Sqrt(s / float64(len(v)))
	}
	proj := 0.02 / math.Sqrt(8)
	for name, want := range map[string]float64{
		"wte": 0.02, "h.0.attn.qkv.w": 0.02, "h.3.mlp.fc.w": 0.02,
		"h.1.attn.proj.w": proj, "h.2.mlp.proj.w": proj,
		"h.0.ln1.g": 1, "h.0.attn.qkv.b": 0, "lnf.b": 0,
	} {
		if got := std(name); math.Abs(got-want) > 0.05*want+1e-9 {
			t.Errorf("%s: rms %v, want %v", name, got, want)
		}
	}
	cl := a.Clone()
	cl.Params()[0]++
	if a.Params()[0] == cl.Params()[0] {
		t.Fatal("Clone shares parameters")
	}
	if err := cl.CopyParamsFrom(a); err != nil || bitsEqual(a.Params(), cl.Params()) >= 0 {
		t.Fatalf("CopyParamsFrom: %v", err)
	}
	if err := cl.CopyParamsFrom(perturbed(t, tiny, 1)); err == nil {
		t.Fatal("CopyParamsFrom across configs accepted")
	}
	if err := cl.SetParams(make([]float32, 3)); err == nil {
		t.Fatal("SetParams with a wrong length accepted")
	}
}

func TestBadInputs(t *testing.T) {
	m := perturbed(t, tiny, 31)
	ws := mustWorkspace(t, tiny, 2, 1)
	T := tiny.SeqLen
	ok := randomTokens(1, T, tiny.Vocab)
	bad := append([]int32(nil), ok...)
	bad[2] = int32(tiny.Vocab)
	neg := append([]int32(nil), ok...)
	neg[0] = -1
	other := mustWorkspace(t, Config{Layers: 1, Heads: 1, Channels: 4, SeqLen: T, Vocab: 11}, 2, 1)
	for _, tc := range []struct {
		name          string
		ws            *Workspace
		inputs, targs []int32
		want          string
	}{
		{"empty", ws, nil, nil, "whole number"},
		{"partial sequence", ws, ok[:T-1], ok[:T-1], "whole number"},
		{"batch too large", ws, randomTokens(1, 3*T, 11), randomTokens(1, 3*T, 11), "whole number"},
		{"length mismatch", ws, ok, ok[:T-1], "targets"},
		{"token too large", ws, bad, ok, "input token 11 at position 2"},
		{"negative target", ws, ok, neg, "target token -1"},
		{"other config", other, ok, ok, "workspace is for config"},
		{"nil workspace", nil, ok, ok, "nil workspace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := m.ForwardBackward(tc.ws, tc.inputs, tc.targs)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	x := make([]float32, T*tiny.Channels)
	if _, err := m.ForwardBlocks(ws, 1, 0, x); err == nil {
		t.Error("reversed block range accepted")
	}
	if _, err := m.ForwardBlocks(ws, 0, tiny.Layers+1, x); err == nil {
		t.Error("block range past the end accepted")
	}
	if _, err := m.ForwardBlocks(ws, 0, 1, x[:5]); err == nil {
		t.Error("short activation accepted")
	}
	if _, err := m.HeadBackward(mustWorkspace(t, tiny, 1, 1)); err == nil {
		t.Error("HeadBackward without a forward pass accepted")
	}
	if _, err := m.ForwardBackward(ws, ok, ok); err != nil {
		t.Fatal(err)
	}
	if _, err := m.HeadBackward(ws); err == nil {
		t.Error("a second HeadBackward after one forward pass accepted")
	}
	if _, err := NewWorkspace(tiny, 0, 1); err == nil {
		t.Error("zero batch accepted")
	}
	if _, err := NewWorkspace(Small(), 1<<19, 1); err == nil {
		t.Error("a 100 GiB workspace accepted")
	}
	if _, err := NewWorkspace(tiny, 1, 0); err == nil {
		t.Error("zero workers accepted")
	}
}

func TestMemory(t *testing.T) {
	r := Memory(Small(), 8, 2)
	p := int64(Small().NumParams()) * 4
	if r.ParamsBytes != p || r.OptimizerBytes != 2*p || r.GradsBytes != p || r.ReplicaBytes() != 3*p {
		t.Fatalf("%+v", r)
	}
	if r.ActivationsBytes < 8*64*128*4*4*16 { // at least 16 [N,C] tensors per layer
		t.Fatalf("activations %d bytes is implausibly small", r.ActivationsBytes)
	}
	if r.Total(72, 2) != 72*r.ReplicaBytes()+2*r.WorkspaceBytes() {
		t.Fatal("Total")
	}
	if !strings.Contains(r.String(), "per replica") {
		t.Fatal(r.String())
	}
	t.Logf("small, batch 8, 2 workers: %v", r)
	t.Logf("medium, batch 16, 2 workers: %v", Memory(Medium(), 16, 2))
}

// TestSmallerBatchThanWorkspace uses a workspace with room for more sequences
// than a step feeds it: the loss must equal that of an exactly sized one.
func TestSmallerBatchThanWorkspace(t *testing.T) {
	m := perturbed(t, tiny, 41)
	in, tg := randomTokens(1, 2*tiny.SeqLen, tiny.Vocab), randomTokens(2, 2*tiny.SeqLen, tiny.Vocab)
	a, _ := m.ForwardBackward(mustWorkspace(t, tiny, 2, 1), in, tg)
	big := mustWorkspace(t, tiny, 7, 1)
	b, _ := m.ForwardBackward(big, in, tg)
	if a != b {
		t.Fatalf("loss %v with batch-2 workspace, %v with batch-7", a, b)
	}
}

func TestKernels(t *testing.T) {
	k := Kernels()
	if !strings.HasPrefix(k, "gemm=") || !strings.Contains(k, " kernels=") {
		t.Fatalf("Kernels() = %q", k)
	}
	t.Log(k)
}
