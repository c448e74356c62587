package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type inner struct {
	InnerSteps int     `mapstructure:"inner_steps" yaml:"inner_steps"`
	LR         float64 `mapstructure:"lr" yaml:"lr"`
	Nesterov   bool    `mapstructure:"nesterov" yaml:"nesterov"`
}

type testConfig struct {
	Seed  uint64   `mapstructure:"seed" yaml:"seed"`
	Name  string   `mapstructure:"name" yaml:"name"`
	Train inner    `mapstructure:"train" yaml:"train"`
	List  []int    `mapstructure:"list" yaml:"list"`
	Tags  []string `mapstructure:"tags" yaml:"tags"`
}

func (c testConfig) Validate() error {
	if c.Train.InnerSteps < 1 {
		return errors.New("train.inner_steps must be >= 1")
	}
	return nil
}

func defaults() testConfig {
	return testConfig{Seed: 1, Name: "x", Train: inner{InnerSteps: 30, LR: 1e-3}, List: []int{1, 2}, Tags: []string{"a"}}
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestResolveLayers(t *testing.T) {
	file := writeFile(t, "seed: 7\ntrain:\n  inner_steps: 50\n")
	for _, tc := range []struct {
		name string
		src  Source
		want func(*testConfig)
	}{
		{"defaults", Source{}, func(c *testConfig) {}},
		{"file", Source{File: file}, func(c *testConfig) { c.Seed = 7; c.Train.InnerSteps = 50 }},
		{"inline", Source{YAML: []byte("name: y")}, func(c *testConfig) { c.Name = "y" }},
		{"env over file", Source{File: file, Environ: []string{"LOCOSIM_TRAIN_INNER_STEPS=30", "HOME=/x"}},
			func(c *testConfig) { c.Seed = 7 }},
		{"set over env", Source{Environ: []string{"LOCOSIM_TRAIN_INNER_STEPS=12"}, Sets: []string{"train.inner_steps=13"}},
			func(c *testConfig) { c.Train.InnerSteps = 13 }},
		{"case insensitive", Source{Sets: []string{"Train.LR=0.5"}}, func(c *testConfig) { c.Train.LR = 0.5 }},
		{"bool", Source{Sets: []string{"train.nesterov=true"}}, func(c *testConfig) { c.Train.Nesterov = true }},
		{"list", Source{Sets: []string{"list=[3, 4, 5]"}}, func(c *testConfig) { c.List = []int{3, 4, 5} }},
		{"env list", Source{Environ: []string{"LOCOSIM_TAGS=[b, c]"}}, func(c *testConfig) { c.Tags = []string{"b", "c"} }},
		{"string that looks numeric", Source{Sets: []string{"name=42"}}, func(c *testConfig) { c.Name = "42" }},
		{"string that is not yaml", Source{Sets: []string{"name=*.go"}}, func(c *testConfig) { c.Name = "*.go" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Resolve(defaults(), tc.src)
			if err != nil {
				t.Fatal(err)
			}
			want := defaults()
			tc.want(&want)
			a, _ := Marshal(got)
			b, _ := Marshal(want)
			if string(a) != string(b) {
				t.Errorf("got\n%s\nwant\n%s", a, b)
			}
		})
	}
}

func TestResolveErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  Source
		want string // substring of the error
	}{
		{"file typo", Source{File: writeFile(t, "train:\n  inner_step: 5\n")}, `unknown key "train.inner_step" (did you mean "train.inner_steps"?)`},
		{"top typo", Source{File: writeFile(t, "sead: 5\n")}, `unknown key "sead"`},
		{"section as value", Source{File: writeFile(t, "train: 5\n")}, `"train" is a section`},
		{"bad yaml", Source{File: writeFile(t, "train: [\n")}, "c.yaml"},
		{"missing file", Source{File: "/nonexistent/c.yaml"}, "/nonexistent/c.yaml"},
		{"set typo", Source{Sets: []string{"train.lrr=1"}}, `unknown key "train.lrr" (did you mean "train.lr"?)`},
		{"set malformed", Source{Sets: []string{"train.lr"}}, "not key=value"},
		{"env typo", Source{Environ: []string{"LOCOSIM_TRAIN_INNER_STEP=3"}}, "LOCOSIM_TRAIN_INNER_STEP names no config key"},
		{"fraction into int", Source{Sets: []string{"train.inner_steps=30.5"}}, "not an integer"},
		{"word into int", Source{Sets: []string{"train.inner_steps=many"}}, "inner_steps"},
		{"number into bool", Source{Sets: []string{"train.nesterov=3"}}, "not a boolean"},
		{"broken list", Source{Sets: []string{"list=[1, 2"}}, "list"},
		{"validate", Source{Sets: []string{"train.inner_steps=0"}}, "train.inner_steps must be >= 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Resolve(defaults(), tc.src)
			if err == nil {
				t.Fatalf("no error, want one containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestKeysAndEnvName(t *testing.T) {
	ks, err := Keys(defaults())
	if err != nil {
		t.Fatal(err)
	}
	want := "list name seed tags train.inner_steps train.lr train.nesterov"
	if got := strings.Join(ks, " "); got != want {
		t.Fatalf("Keys = %s, want %s", got, want)
	}
	if got := EnvName("train.inner_steps"); got != "LOCOSIM_TRAIN_INNER_STEPS" {
		t.Fatal(got)
	}
}
