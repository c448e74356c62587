// Package config resolves locosim's configuration strictly.
//
// A configuration is a Go struct whose fields carry `mapstructure` and `yaml`
// tags with the same snake_case names. Resolve layers, from lowest to highest
// precedence: the struct's defaults, a YAML file, LOCOSIM_ environment variables
// and key=value overrides. Every layer is checked against the keys the defaults
// define, so a typo is an error that names the key (and suggests the closest
// known one) rather than a setting that silently does nothing.
package config

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"reflect"
	"sort"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"
)

// EnvPrefix starts every environment override: train.inner_steps is read from
// LOCOSIM_TRAIN_INNER_STEPS.
const EnvPrefix = "LOCOSIM_"

// Source lists the layers to apply on top of the defaults.
type Source struct {
	// File is a YAML file to read; empty for none.
	File string
	// YAML is inline YAML applied before File (a sweep's base, say).
	YAML []byte
	// Environ holds "NAME=value" pairs as os.Environ returns them; only
	// names starting with EnvPrefix are read.
	Environ []string
	// Sets holds "dotted.key=value" overrides, applied last, in order.
	// Values are parsed as YAML scalars or flow sequences ("[1, 2]").
	Sets []string
}

// Validator is implemented by configurations that check their own values.
type Validator interface{ Validate() error }

// Resolve returns defaults overlaid with every layer of src, then validated.
func Resolve[T any](defaults T, src Source) (T, error) {
	var zero T
	base, err := toMap(defaults)
	if err != nil {
		return zero, fmt.Errorf("config: encoding defaults: %w", err)
	}
	known := leafKeys(base, "")

	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.MergeConfigMap(base); err != nil {
		return zero, fmt.Errorf("config: %w", err)
	}
	merge := func(name string, data []byte) error {
		var m map[string]any
		if err := yaml.Unmarshal(data, &m); err != nil {
			return fmt.Errorf("config %s: %w", name, err)
		}
		if err := checkKeys(m, "", known, name); err != nil {
			return err
		}
		if err := v.MergeConfig(bytes.NewReader(data)); err != nil {
			return fmt.Errorf("config %s: %w", name, err)
		}
		return nil
	}
	if len(src.YAML) > 0 {
		if err := merge("(inline)", src.YAML); err != nil {
			return zero, err
		}
	}
	if src.File != "" {
		data, err := os.ReadFile(src.File)
		if err != nil {
			return zero, fmt.Errorf("config: %w", err)
		}
		if err := merge(src.File, data); err != nil {
			return zero, err
		}
	}
	envKeys := make(map[string]string, len(known))
	for k := range known {
		envKeys[EnvName(k)] = k
	}
	for _, kv := range src.Environ {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) {
			continue
		}
		key, ok := envKeys[name]
		if !ok {
			return zero, fmt.Errorf("config: environment variable %s names no config key%s", name, suggest(strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(name, EnvPrefix), "_", ".")), known))
		}
		x, err := parseValue(val)
		if err != nil {
			return zero, fmt.Errorf("config: %s: %w", name, err)
		}
		v.Set(key, x)
	}
	for _, kv := range src.Sets {
		key, val, ok := strings.Cut(kv, "=")
		key = strings.ToLower(strings.TrimSpace(key))
		if !ok || key == "" {
			return zero, fmt.Errorf("config: override %q is not key=value", kv)
		}
		if !known[key] {
			return zero, fmt.Errorf("config override: unknown key %q%s", key, suggest(key, known))
		}
		x, err := parseValue(val)
		if err != nil {
			return zero, fmt.Errorf("config: override %s: %w", key, err)
		}
		v.Set(key, x)
	}

	out := zero
	hook := viper.DecodeHook(mapstructure.ComposeDecodeHookFunc(
		strictNumberHook,
		mapstructure.StringToTimeDurationHookFunc(),
	))
	if err := v.UnmarshalExact(&out, hook); err != nil {
		return zero, fmt.Errorf("config: %w", err)
	}
	if val, ok := any(&out).(Validator); ok {
		if err := val.Validate(); err != nil {
			return zero, err
		}
	} else if val, ok := any(out).(Validator); ok {
		if err := val.Validate(); err != nil {
			return zero, err
		}
	}
	return out, nil
}

// Decode copies a section resolved as nested maps (a plug-in's section, held
// by the configuration as a map) into out, a pointer to its struct, as
// strictly as Resolve: a key out does not define is an error that names it,
// and numbers are never truncated.
func Decode(in, out any) error {
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		Result:      out,
		ErrorUnused: true,
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			strictNumberHook,
			mapstructure.StringToTimeDurationHookFunc(),
		),
	})
	if err != nil {
		return err
	}
	return dec.Decode(in)
}

// Map renders a section struct (with mapstructure and yaml tags) as the
// nested maps Resolve produces for it.
func Map(v any) (map[string]any, error) { return toMap(v) }

// Keys lists every configuration key the defaults define, sorted.
func Keys[T any](defaults T) ([]string, error) {
	m, err := toMap(defaults)
	if err != nil {
		return nil, err
	}
	var ks []string
	for k := range leafKeys(m, "") {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks, nil
}

// EnvName is the environment variable that overrides key.
func EnvName(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// Marshal renders a resolved configuration as YAML.
func Marshal(cfg any) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(cfg); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func toMap(v any) (map[string]any, error) {
	data, err := yaml.Marshal(v)
	if err != nil {
		return nil, err
	}
	m := map[string]any{}
	if err := yaml.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// leafKeys flattens nested maps into dotted keys. Lists are leaves: a list is
// replaced whole, never merged element by element.
func leafKeys(m map[string]any, prefix string) map[string]bool {
	out := map[string]bool{}
	for k, v := range m {
		key := strings.ToLower(prefix + k)
		if sub, ok := v.(map[string]any); ok && len(sub) > 0 {
			for kk := range leafKeys(sub, key+".") {
				out[kk] = true
			}
			continue
		}
		out[key] = true
	}
	return out
}

func checkKeys(m map[string]any, prefix string, known map[string]bool, source string) error {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		key := strings.ToLower(prefix + k)
		if known[key] {
			continue
		}
		sub, isMap := m[k].(map[string]any)
		if isMap && hasPrefix(known, key+".") {
			if err := checkKeys(sub, key+".", known, source); err != nil {
				return err
			}
			continue
		}
		if hasPrefix(known, key+".") {
			return fmt.Errorf("config %s: key %q is a section, not a value", source, key)
		}
		return fmt.Errorf("config %s: unknown key %q%s", source, key, suggest(key, known))
	}
	return nil
}

func hasPrefix(known map[string]bool, p string) bool {
	for k := range known {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

func parseValue(s string) (any, error) {
	var x any
	if err := yaml.Unmarshal([]byte(s), &x); err != nil {
		// Not YAML ("*.go" reads as an alias): take the text as it is; a
		// field that is not a string will refuse it by name.
		return s, nil
	}
	if x == nil && strings.TrimSpace(s) == "" {
		return "", nil
	}
	return x, nil
}

// strictNumberHook refuses to truncate: 30.5 is not a valid step count.
func strictNumberHook(from, to reflect.Type, data any) (any, error) {
	switch to.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if f, ok := data.(float64); ok && (f != math.Trunc(f) || math.IsInf(f, 0)) {
			return nil, fmt.Errorf("%v is not an integer", f)
		}
		if b, ok := data.(bool); ok {
			return nil, fmt.Errorf("%v is not an integer", b)
		}
	case reflect.Bool:
		switch data.(type) {
		case bool, string:
		default:
			return nil, fmt.Errorf("%v is not a boolean", data)
		}
	}
	return data, nil
}

// suggest returns ` (did you mean "x"?)` for the closest known key, if close.
func suggest(key string, known map[string]bool) string {
	best, bestD := "", math.MaxInt
	for k := range known {
		d := editDistance(key, k)
		if d < bestD || (d == bestD && k < best) {
			best, bestD = k, d
		}
	}
	if best == "" || bestD > max(2, len(key)/3) {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
