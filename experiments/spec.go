// Package experiments runs sweeps: grids of simulated training runs described
// by a YAML spec, each point a run directory, summarised in one Parquet table
// and drawn as figures with an index page.
//
// A spec names a base configuration, the keys to vary and how:
//
//	name: density_h
//	description: what the experiment shows and what the published work claims
//	base: {train: {outer_rounds: 12}}   # inline config, or a file path relative to the spec
//	grid:                               # cartesian product of the lists
//	  strategy.density: [0.0156, 0.0312]
//	  train.inner_steps: [10, 30]
//	zip:                                # lists varied together, crossed with the grid
//	  - {strategy.outer_lr: [0.7, 1.0], strategy.diloco.outer_momentum: [0.9, 0.0]}
//	seeds: 2                            # 1..2, or a list [1, 7]
//	more_seeds:                         # more seeds for some points only
//	  - {where: {train.inner_steps: [30, 50]}, seeds: 6}
//	sizes:                              # variants chosen with --size
//	  quick: {set: {cluster.nodes: 8}, grid: {train.inner_steps: [5]}, seeds: 1}
//	figures: {heatmap: {x: train.inner_steps, y: strategy.density}}
//
// more_seeds gives the points its where matches (each key equal to the
// value, or to one of a list's values) its own seeds instead of seeds: where
// a comparison's interval straddles its margin, the settings compared get more
// seeds without rerunning the whole sweep with them. The first entry that
// matches a point wins. A size that sets seeds drops the spec's more_seeds
// (it may give its own).
//
// figures may also ask for final (final loss against one key), curves (which
// runs the loss curves show) and incentives: for a sweep of attacks on the
// incentive layer, with keys incentive.mechanism, label.attack (none,
// free_rider, copier, ...) and label.share (0.1, 0.2, ...), the final loss
// against the attackers' share per attack with the mechanism on and off,
// and the round each attack was caught (incentives: {} takes those keys;
// mechanism, attack and share name others).
//
// grid may also be a list of such maps: the union of several products (a
// density grid for SparseLoCo beside an outer-rate grid for DiLoCo). Keys are
// dotted config keys; keys starting with "label." are not config keys but
// columns of the summary only (a name for a whole list value, say). Every
// point is resolved and validated before anything runs.
package experiments

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/locosim/locosim/config"
	"github.com/locosim/locosim/sim"
	"go.yaml.in/yaml/v3"
)

// LabelPrefix starts keys that name a summary column but no config key.
const LabelPrefix = "label."

// Spec is a sweep as written in its YAML file.
type Spec struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	// Base is an inline config (a mapping) or the path of a config file,
	// relative to the spec's directory.
	Base  yaml.Node          `yaml:"base"`
	Grid  yaml.Node          `yaml:"grid"`
	Zip   []map[string][]any `yaml:"zip"`
	Seeds yaml.Node          `yaml:"seeds"`
	// MoreSeeds gives some points other seeds than Seeds.
	MoreSeeds []MoreSeeds         `yaml:"more_seeds"`
	Sizes     map[string]SizeSpec `yaml:"sizes"`
	Figures   Figures             `yaml:"figures"`

	// Dir is the directory relative paths in the spec are read from.
	Dir string `yaml:"-"`
	// Source is the spec's text as given.
	Source []byte `yaml:"-"`
}

// SizeSpec adjusts a spec to one size (quick, full, ...).
type SizeSpec struct {
	// Set holds dotted config keys applied to every point, after the base.
	Set map[string]any `yaml:"set"`
	// Grid replaces the values of grid keys wherever they appear.
	Grid map[string][]any `yaml:"grid"`
	// Zip replaces the values of zip keys; group lengths must still agree.
	Zip map[string][]any `yaml:"zip"`
	// Seeds replaces the spec's seeds.
	Seeds yaml.Node `yaml:"seeds"`
	// MoreSeeds replaces the spec's more_seeds; when Seeds is set and
	// MoreSeeds is not, there are none.
	MoreSeeds []MoreSeeds `yaml:"more_seeds"`
}

// MoreSeeds gives the points Where matches their own seeds.
type MoreSeeds struct {
	// Where maps grid and zip keys to a value or a list of values.
	Where map[string]any `yaml:"where"`
	// Seeds is a count (1..n) or a list, as the spec's seeds.
	Seeds yaml.Node `yaml:"seeds"`
}

// seedRule is a MoreSeeds entry parsed.
type seedRule struct {
	where map[string][]string // key: formatted values, any of which matches
	seeds []uint64
	used  bool
}

func parseMoreSeeds(entries []MoreSeeds, field string) ([]seedRule, error) {
	var out []seedRule
	for i, e := range entries {
		at := fmt.Sprintf("%s[%d]", field, i)
		if len(e.Where) == 0 {
			return nil, fmt.Errorf("%s.where: missing (which points get these seeds?)", at)
		}
		seeds, err := parseSeeds(e.Seeds)
		if err != nil {
			return nil, fmt.Errorf("%s.%w", at, err)
		}
		if len(seeds) == 0 {
			return nil, fmt.Errorf("%s.seeds: missing", at)
		}
		r := seedRule{where: map[string][]string{}, seeds: seeds}
		for k, v := range e.Where {
			if list, ok := v.([]any); ok {
				for _, x := range list {
					r.where[k] = append(r.where[k], FormatValue(scalar(x)))
				}
			} else {
				r.where[k] = []string{FormatValue(scalar(v))}
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// match reports whether the point with these values is one r applies to.
func (r *seedRule) match(values map[string]any) bool {
	for k, want := range r.where {
		v, ok := values[k]
		if !ok || !contains(want, FormatValue(v)) {
			return false
		}
	}
	return true
}

// Figures chooses the sweep's figures beyond the defaults.
type Figures struct {
	// Tune lists keys over which each figure keeps only the best setting
	// (lowest mean final eval loss across seeds): "DiLoCo tuned per H"
	// tunes over strategy.outer_lr.
	Tune []string `yaml:"tune"`
	// Heatmap draws a mean final metric over two keys; Heatmaps draws more.
	Heatmap  *Heatmap  `yaml:"heatmap"`
	Heatmaps []Heatmap `yaml:"heatmaps"`
	// Final draws mean final eval loss against one key, one line per
	// setting of the other varied keys.
	Final *Final `yaml:"final"`
	// Curves filters the runs drawn in loss-vs-bytes and loss-vs-time.
	Curves *Curves `yaml:"curves"`
	// Incentives draws what attacks on the incentive layer cost and how
	// soon the mechanism catches them.
	Incentives *Incentives `yaml:"incentives"`
}

// Incentives are the figures of a sweep of attacks on the incentive layer:
// incentives_loss, mean final eval loss against the attackers' share, one
// colour per attack, solid with the mechanism on and dashed with it off,
// the runs without attackers as grey horizontal references; and
// incentives_caught, the mean caught_round per attack and share with the
// mechanism on; and per attack incentives_curves_<attack>, its loss curves
// at its largest share and those without attackers, mechanism on and off.
// Runs without attackers are those whose attack is "none" or
// whose share is 0. Runs that differ in other varied keys than these three
// (and the seed) are averaged together: where picks among them. Each key
// names a grid or zip key; empty takes the default in brackets.
type Incentives struct {
	// Mechanism turns the mechanism on (true) and off (false)
	// [incentive.mechanism].
	Mechanism string `yaml:"mechanism"`
	// Attack names a run's attack [label.attack].
	Attack string `yaml:"attack"`
	// Share is the attackers' share of the peers, a number [label.share].
	Share string         `yaml:"share"`
	Where map[string]any `yaml:"where"`
}

// withDefaults fills the keys left empty.
func (in Incentives) withDefaults() Incentives {
	if in.Mechanism == "" {
		in.Mechanism = "incentive.mechanism"
	}
	if in.Attack == "" {
		in.Attack = LabelPrefix + "attack"
	}
	if in.Share == "" {
		in.Share = LabelPrefix + "share"
	}
	return in
}

// Heatmap is a figure of final loss over two keys.
type Heatmap struct {
	// Metric is a final metric (default eval_loss).
	Metric string         `yaml:"metric"`
	X      string         `yaml:"x"`
	Y      string         `yaml:"y"`
	Where  map[string]any `yaml:"where"`
}

// Final is a figure of final loss against one key.
type Final struct {
	X     string         `yaml:"x"`
	LogX  bool           `yaml:"log_x"`
	Where map[string]any `yaml:"where"`
}

// Curves filters the loss curves.
type Curves struct {
	Where map[string]any `yaml:"where"`
}

// Load reads a spec file.
func Load(path string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sweep spec: %w", err)
	}
	s, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("sweep spec %s: %w", path, err)
	}
	s.Dir = filepath.Dir(path)
	return s, nil
}

// Parse reads a spec from its YAML text; unknown fields are errors.
func Parse(b []byte) (*Spec, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var s Spec
	if err := dec.Decode(&s); err != nil {
		return nil, err
	}
	s.Source = b
	if s.Name == "" {
		return nil, errors.New("name: a sweep needs a name")
	}
	return &s, nil
}

// Point is one run of a sweep.
type Point struct {
	// Name is the run directory's name: the point's values and seed.
	Name string `json:"run"`
	Seed uint64 `json:"seed"`
	// Values maps each grid and zip key of the point to its value.
	Values map[string]any `json:"values"`
	// Config is the point's resolved configuration.
	Config sim.Config `json:"-"`
}

// Plan is a spec expanded at one size: every point, resolved and validated.
type Plan struct {
	Name string `json:"name"`
	Size string `json:"size"`
	// Keys are every grid and zip key, sorted.
	Keys []string `json:"keys"`
	Tune []string `json:"tune,omitempty"`
	// Axes lists each key's values, formatted, in the order the spec gives
	// them: the order of tables and legends.
	Axes   map[string][]string `json:"axes"`
	Points []Point             `json:"points"`
}

// Expand resolves every point of s at the given size ("" for none) and
// validates each configuration, so a bad value fails before anything runs.
func (s *Spec) Expand(size string) (*Plan, error) {
	var sz SizeSpec
	if size != "" {
		var ok bool
		if sz, ok = s.Sizes[size]; !ok {
			return nil, fmt.Errorf("sweep %s: no size %q (have %s)", s.Name, size, strings.Join(sortedKeys(s.Sizes), ", "))
		}
	}
	grids, err := s.grids()
	if err != nil {
		return nil, err
	}
	if err := overrideGrid(grids, sz.Grid); err != nil {
		return nil, err
	}
	zips, err := s.zips(sz.Zip)
	if err != nil {
		return nil, err
	}
	seedNode := s.Seeds
	if !sz.Seeds.IsZero() {
		seedNode = sz.Seeds
	}
	seeds, err := parseSeeds(seedNode)
	if err != nil {
		return nil, err
	}
	moreField, more := "more_seeds", s.MoreSeeds
	if !sz.Seeds.IsZero() || sz.MoreSeeds != nil {
		moreField, more = "sizes."+size+".more_seeds", sz.MoreSeeds
	}
	rules, err := parseMoreSeeds(more, moreField)
	if err != nil {
		return nil, err
	}
	base, file, err := s.base()
	if err != nil {
		return nil, err
	}
	var sets []string
	for _, k := range sortedKeys(sz.Set) {
		if strings.HasPrefix(k, LabelPrefix) {
			return nil, fmt.Errorf("sizes.%s.set: %s is a label, not a config key", size, k)
		}
		v, err := encode(sz.Set[k])
		if err != nil {
			return nil, fmt.Errorf("sizes.%s.set.%s: %w", size, k, err)
		}
		sets = append(sets, k+"="+v)
	}

	hidden := namedByLabel(zips)
	plan := &Plan{Name: s.Name, Size: size, Tune: s.Figures.Tune, Axes: axes(grids, zips)}
	keys := map[string]bool{}
	seen := map[string]int{}
	for _, g := range grids {
		for _, values := range product(g, zips) {
			for k := range values {
				keys[k] = true
			}
			var pointSets []string
			for _, k := range sortedKeys(values) {
				if strings.HasPrefix(k, LabelPrefix) {
					continue
				}
				if k == "seed" {
					return nil, errors.New("grid: vary the seed with seeds, not as a key")
				}
				v, err := encode(values[k])
				if err != nil {
					return nil, fmt.Errorf("%s: %w", k, err)
				}
				pointSets = append(pointSets, k+"="+v)
			}
			seedList := seeds
			for i := range rules {
				if rules[i].match(values) {
					seedList, rules[i].used = rules[i].seeds, true
					break
				}
			}
			fromConfig := len(seedList) == 0
			if fromConfig {
				seedList = []uint64{0} // the base config's seed
			}
			for _, seed := range seedList {
				all := append(append([]string(nil), sets...), pointSets...)
				if !fromConfig {
					all = append(all, "seed="+strconv.FormatUint(seed, 10))
				}
				cfg, err := config.Resolve(sim.DefaultConfig(), config.Source{YAML: base, File: file, Sets: all})
				if err != nil {
					return nil, fmt.Errorf("sweep %s, point %s: %w", s.Name, describe(values, seed), err)
				}
				seed = cfg.Seed
				if err := cfg.ValidateRun(); err != nil {
					return nil, fmt.Errorf("sweep %s, point %s: %w", s.Name, describe(values, seed), err)
				}
				named := map[string]any{}
				for k, v := range values {
					if !hidden[k] {
						named[k] = v
					}
				}
				name := RunName(named, seed)
				if i, dup := seen[name]; dup {
					if describe(plan.Points[i].Values, seed) != describe(values, seed) {
						return nil, fmt.Errorf("sweep %s: points %s and %s share the run name %s", s.Name,
							describe(plan.Points[i].Values, seed), describe(values, seed), name)
					}
					continue // the same point from two grids runs once
				}
				seen[name] = len(plan.Points)
				plan.Points = append(plan.Points, Point{Name: name, Seed: seed, Values: values, Config: cfg})
			}
		}
	}
	for _, k := range plan.Tune {
		if !keys[k] {
			return nil, fmt.Errorf("figures.tune: %s is not a grid or zip key", k)
		}
	}
	for i, r := range rules {
		for _, k := range sortedKeys(r.where) {
			if !keys[k] {
				return nil, fmt.Errorf("%s[%d].where: %s is not a grid or zip key", moreField, i, k)
			}
		}
		if !r.used {
			return nil, fmt.Errorf("%s[%d].where matches no point that an earlier entry does not take", moreField, i)
		}
	}
	plan.Keys = sortedKeys(keys)
	sort.Slice(plan.Points, func(i, j int) bool { return plan.Points[i].Name < plan.Points[j].Name })
	if err := s.Figures.check(keys); err != nil {
		return nil, err
	}
	return plan, nil
}

func (f Figures) heatmaps() []Heatmap {
	out := f.Heatmaps
	if f.Heatmap != nil {
		out = append([]Heatmap{*f.Heatmap}, out...)
	}
	for i := range out {
		if out[i].Metric == "" {
			out[i].Metric = "eval_loss"
		}
	}
	return out
}

func (f Figures) check(keys map[string]bool) error {
	need := func(fig, axis, k string) error {
		if k == "" {
			return fmt.Errorf("figures.%s.%s: missing", fig, axis)
		}
		if !keys[k] {
			return fmt.Errorf("figures.%s.%s: %s is not a grid or zip key", fig, axis, k)
		}
		return nil
	}
	for _, h := range f.heatmaps() {
		if h.Metric != "" && !contains(Metrics, h.Metric) {
			return fmt.Errorf("figures.heatmap.metric %q: want one of %s", h.Metric, strings.Join(Metrics, ", "))
		}
		if err := need("heatmap", "x", h.X); err != nil {
			return err
		}
		if err := need("heatmap", "y", h.Y); err != nil {
			return err
		}
	}
	if fl := f.Final; fl != nil {
		if err := need("final", "x", fl.X); err != nil {
			return err
		}
	}
	if f.Incentives != nil {
		in := f.Incentives.withDefaults()
		for _, k := range [][2]string{{"mechanism", in.Mechanism}, {"attack", in.Attack}, {"share", in.Share}} {
			if err := need("incentives", k[0], k[1]); err != nil {
				return err
			}
		}
	}
	return nil
}

// base returns the inline base config or the path of the base file.
func (s *Spec) base() (inline []byte, file string, err error) {
	switch s.Base.Kind {
	case 0:
		return nil, "", nil
	case yaml.ScalarNode:
		if s.Base.Value == "" {
			return nil, "", nil
		}
		p := s.Base.Value
		if !filepath.IsAbs(p) {
			p = filepath.Join(s.Dir, p)
		}
		return nil, p, nil
	case yaml.MappingNode:
		b, err := yaml.Marshal(&s.Base)
		return b, "", err
	}
	return nil, "", errors.New("base: want an inline config or a file path")
}

// grids returns the spec's grid as a list of products.
func (s *Spec) grids() ([]map[string][]any, error) {
	var out []map[string][]any
	switch s.Grid.Kind {
	case 0:
		return []map[string][]any{{}}, nil
	case yaml.MappingNode:
		var g map[string][]any
		if err := s.Grid.Decode(&g); err != nil {
			return nil, fmt.Errorf("grid: %w", err)
		}
		out = append(out, g)
	case yaml.SequenceNode:
		if err := s.Grid.Decode(&out); err != nil {
			return nil, fmt.Errorf("grid: %w", err)
		}
	default:
		return nil, errors.New("grid: want a map of key: [values] or a list of such maps")
	}
	for i, g := range out {
		for k, vs := range g {
			if len(vs) == 0 {
				return nil, fmt.Errorf("grid[%d].%s: no values", i, k)
			}
		}
	}
	return out, nil
}

func axes(grids, zips []map[string][]any) map[string][]string {
	out := map[string][]string{}
	seen := map[string]bool{}
	for _, g := range append(append([]map[string][]any(nil), grids...), zips...) {
		for k, vs := range g {
			for _, v := range vs {
				f := FormatValue(v)
				if !seen[k+"\x00"+f] {
					seen[k+"\x00"+f] = true
					out[k] = append(out[k], f)
				}
			}
		}
	}
	return out
}

// namedByLabel lists the keys of zip groups that carry a label with a
// distinct value per row: the label alone names such a row in run names.
func namedByLabel(zips []map[string][]any) map[string]bool {
	hidden := map[string]bool{}
	for _, z := range zips {
		for _, k := range sortedKeys(z) {
			vs := z[k]
			if !strings.HasPrefix(k, LabelPrefix) {
				continue
			}
			distinct := map[string]bool{}
			for _, v := range vs {
				distinct[FormatValue(v)] = true
			}
			if len(distinct) < len(vs) {
				continue
			}
			for other := range z {
				if other != k {
					hidden[other] = true
				}
			}
			break
		}
	}
	return hidden
}

func overrideGrid(grids []map[string][]any, with map[string][]any) error {
	for k, vs := range with {
		if len(vs) == 0 {
			return fmt.Errorf("size grid %s: no values", k)
		}
		found := false
		for _, g := range grids {
			if _, ok := g[k]; ok {
				g[k] = vs
				found = true
			}
		}
		if !found {
			return fmt.Errorf("size grid %s: not a key of the spec's grid", k)
		}
	}
	return nil
}

func (s *Spec) zips(with map[string][]any) ([]map[string][]any, error) {
	used := map[string]bool{}
	var out []map[string][]any
	for i, z := range s.Zip {
		g := map[string][]any{}
		n := -1
		for _, k := range sortedKeys(z) {
			vs := z[k]
			if o, ok := with[k]; ok {
				vs = o
				used[k] = true
			}
			if n >= 0 && len(vs) != n {
				return nil, fmt.Errorf("zip[%d]: %s has %d values, others %d", i, k, len(vs), n)
			}
			n = len(vs)
			g[k] = vs
		}
		if n == 0 {
			return nil, fmt.Errorf("zip[%d]: no values", i)
		}
		out = append(out, g)
	}
	for k := range with {
		if !used[k] {
			return nil, fmt.Errorf("size zip %s: not a key of the spec's zip", k)
		}
	}
	return out, nil
}

// product lists every combination of the grid's lists crossed with each
// zip group's rows, in a fixed order.
func product(grid map[string][]any, zips []map[string][]any) []map[string]any {
	out := []map[string]any{{}}
	extend := func(rows []map[string]any) {
		var next []map[string]any
		for _, o := range out {
			for _, r := range rows {
				m := make(map[string]any, len(o)+len(r))
				for k, v := range o {
					m[k] = v
				}
				for k, v := range r {
					m[k] = v
				}
				next = append(next, m)
			}
		}
		out = next
	}
	for _, k := range sortedKeys(grid) {
		var rows []map[string]any
		for _, v := range grid[k] {
			rows = append(rows, map[string]any{k: v})
		}
		extend(rows)
	}
	for _, z := range zips {
		var rows []map[string]any
		for k, vs := range z {
			for i, v := range vs {
				if i >= len(rows) {
					rows = append(rows, map[string]any{})
				}
				rows[i][k] = v
			}
		}
		extend(rows)
	}
	return out
}

func parseSeeds(n yaml.Node) ([]uint64, error) {
	switch n.Kind {
	case 0:
		return nil, nil
	case yaml.ScalarNode:
		var k int
		if err := n.Decode(&k); err != nil || k < 1 {
			return nil, fmt.Errorf("seeds: want a count >= 1 or a list of seeds, got %q", n.Value)
		}
		out := make([]uint64, k)
		for i := range out {
			out[i] = uint64(i + 1)
		}
		return out, nil
	case yaml.SequenceNode:
		var out []uint64
		if err := n.Decode(&out); err != nil || len(out) == 0 {
			return nil, errors.New("seeds: want a non-empty list of non-negative integers")
		}
		seen := map[uint64]bool{}
		for _, s := range out {
			if seen[s] {
				return nil, fmt.Errorf("seeds: %d appears twice", s)
			}
			seen[s] = true
		}
		return out, nil
	}
	return nil, errors.New("seeds: want a count or a list")
}

// encode renders a value as a --set value: JSON is valid YAML flow syntax.
func encode(v any) (string, error) {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "", fmt.Errorf("value %v is not finite", x)
		}
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	case string:
		b, err := json.Marshal(x)
		return string(b), err
	}
	b, err := json.Marshal(jsonable(v))
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// jsonable turns YAML's map[any]any, if any, into JSON-encodable maps.
func jsonable(v any) any {
	switch x := v.(type) {
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = jsonable(e)
		}
		return m
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = jsonable(e)
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonable(e)
		}
		return out
	}
	return v
}

// FormatValue renders a grid value for names, labels and tables.
func FormatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case bool:
		return strconv.FormatBool(x)
	}
	s, err := encode(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return s
}

func describe(values map[string]any, seed uint64) string {
	var parts []string
	for _, k := range sortedKeys(values) {
		parts = append(parts, k+"="+FormatValue(values[k]))
	}
	return strings.Join(append(parts, "seed="+strconv.FormatUint(seed, 10)), ",")
}

// MaxNameLen bounds a run directory's name; longer names are cut and end in
// a hash of the whole.
const MaxNameLen = 120

// RunName is the stable, filesystem-safe name of a point's run directory:
// its values in key order and its seed, "key=value,...,seed=N". Characters
// other than letters, digits and ._=,+- become "_"; a long name is cut and
// ends in a hash of the full description, so names stay unique.
func RunName(values map[string]any, seed uint64) string {
	full := describe(values, seed)
	var b strings.Builder
	for _, r := range full {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("._=,+-", r):
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	name := b.String()
	if len(name) > MaxNameLen || name != full {
		sum := sha256.Sum256([]byte(full))
		h := hex.EncodeToString(sum[:5])
		if len(name) > MaxNameLen-len(h)-1 {
			name = name[:MaxNameLen-len(h)-1]
		}
		name += "-" + h
	}
	return name
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
