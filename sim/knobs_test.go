package sim_test

import (
	"github.com/locosim/locosim/sim"
	"github.com/locosim/locosim/sim/simtest"
	_ "github.com/locosim/locosim/strategy"
	"strings"
	"testing"

	"github.com/locosim/locosim/config"
)

// fingerprint summarises everything a run emits.
func fingerprint(t *testing.T, cfg sim.Config) string {
	t.Helper()
	return simtest.RunConfig(t, cfg).Fingerprint()
}

func resolveTiny(t *testing.T, sets ...string) sim.Config {
	t.Helper()
	cfg, err := config.Resolve(tinyRun(), config.Source{Sets: sets})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// knobs lists, per strategy, a new value for every key the strategy reads
// outside the cluster and exchange sections (package netmodel's own knob
// test covers those); each must change what the run emits.
var knobs = map[string][]string{
	"common": {
		"seed=2",
		"model.layers=2", "model.heads=4", "model.channels=64", "model.seq_len=8", "model.vocab=300",
		"data.synthetic.seed=5", "data.synthetic.order=2", "data.synthetic.alphabet=20",
		"data.synthetic.branching=2", "data.synthetic.zipf_exponent=2", "data.synthetic.hierarchy=0",
		"train.batch_size=3", "train.inner_steps=3", "train.outer_rounds=1",
		"train.optimizer.lr=0.003", "train.optimizer.beta1=0.8", "train.optimizer.beta2=0.9",
		"train.optimizer.eps=0.01", "train.optimizer.weight_decay=0.5", "train.optimizer.grad_clip=0.1",
		"train.optimizer.warmup_steps=5", "train.optimizer.min_lr_frac=0.5", "train.optimizer.total_steps=20",
		"train.eval_every=2", "train.eval_batches=3",
		"sync.mode=deadline,sync.deadline_s=1e9|sync.deadline_s=1e-9",
		"sync.mode=window,sync.window_s=1e3,sync.max_steps=4|sync.max_steps=1",
		"sync.mode=window,sync.window_s=1e3,sync.max_steps=4|sync.window_s=1e-12",
		"sync.mode=window,sync.window_s=1e3,sync.max_steps=4|sync.mode=fixed,sync.window_s=0",
		"sync.overlap=true",
		"faults.malicious_share=0.5",
		"faults.links=[{node: 0, direction: up, factor: 0.1, start_s: 0, end_s: 0}]",
		"faults.partitions=[{nodes: [0, 1], store: false, start_s: 0, end_s: 30}]",
		"projection.params=1e9", "projection.tokens_per_step=1e6", "projection.flops_per_token=1e12",
		"cluster.nodes=5", "exchange.pattern=ps",
	},
	"sparseloco": {
		"strategy.density=0.5", "strategy.outer_lr=0.5",
		"strategy.compressor.topk_per_chunk=64", "strategy.compressor.chunking=flat",
		"strategy.compressor.chunk_size=256", "strategy.compressor.error_decay=0.5",
		"strategy.compressor.quant_bits=4", "strategy.compressor.quant_range_sigmas=2",
		"strategy.compressor.selection=randomk", "strategy.compressor.error_feedback=false",
		"strategy.compressor.aggregation=replicas", "strategy.compressor.robust=true",
		"strategy.compressor.k_rule=templar", "strategy.compressor.index_encoding=entropy",
		"strategy.compressor.code_layout=byte", "strategy.compressor.kind=topk",
		"faults.malicious_share=0.5|faults.attack=scale", "faults.malicious_share=0.5|faults.attack=random",
		"faults.malicious_share=0.5|faults.attack_scale=3",
		"incentive.enabled=true",
		"incentive.enabled=true,incentive.gauntlet.gather_peers=2|incentive.mechanism=false",
		"incentive.enabled=true|incentive.eval_batches=1",
		"incentive.enabled=true,incentive.validator.flops=4e7|incentive.eval_window_s=1e-9",
		"incentive.enabled=true|incentive.validator.flops=1",
		"incentive.enabled=true|incentive.validator.bw_down_mbps=1e-6",
		"incentive.enabled=true|incentive.validator.latency_ms=1e9",
		"incentive.enabled=true|incentive.attack.free_rider=0.5",
		"incentive.enabled=true,incentive.attack.free_rider=0.5|incentive.attack.free_rider_payload=zeros",
		"incentive.enabled=true|incentive.attack.copier=0.5",
		"incentive.enabled=true,incentive.attack.copier=0.5|incentive.attack.copier_noise=1",
		"incentive.enabled=true,incentive.attack.copier=0.5|incentive.attack.copier_late=false",
		"incentive.enabled=true|incentive.attack.lazy=0.5",
		"incentive.enabled=true,incentive.attack.lazy=0.5|incentive.attack.lazy_data=other",
		"incentive.enabled=true|incentive.attack.stale=0.5",
		"incentive.enabled=true,incentive.attack.stale=0.5|incentive.attack.stale_lag=1",
		"incentive.enabled=true|incentive.attack.poisoner=0.5",
		"incentive.enabled=true,incentive.attack.poisoner=0.5|incentive.attack.poison=scale",
		"incentive.enabled=true,incentive.attack.poisoner=0.5|incentive.attack.poison_scale=2",
		"incentive.enabled=true|incentive.attack.sybil=0.5",
		"incentive.enabled=true,incentive.attack.sybil=1|incentive.attack.sybil_ids=2",
	},
	"diloco": {
		"strategy.outer_lr=0.5", "strategy.compressor.kind=bf16",
	},
	"ddp": {"strategy.compressor.kind=bf16"},
	// "demo" has no AdamW: of the optimizer it reads only lr, weight_decay
	// and the schedule.
	"demo": {
		"strategy.compressor.demo_beta=0.9", "strategy.compressor.demo_topk=8",
	},
}

var demoIgnores = map[string]bool{
	"train.optimizer.beta1=0.8": true, "train.optimizer.beta2=0.9": true,
	"train.optimizer.eps=0.01": true, "train.optimizer.grad_clip=0.1": true,
}

func TestEveryKnobMovesTheResult(t *testing.T) {
	if testing.Short() {
		t.Skip("many small runs")
	}
	for _, kind := range []string{"sparseloco", "diloco", "ddp", "demo"} {
		base := []string{"strategy.kind=" + kind, "train.inner_steps=2", "cluster.nodes=4"}
		if kind == "ddp" || kind == "demo" {
			base = append(base, "train.outer_rounds=2")
		}
		ref := fingerprint(t, resolveTiny(t, base...))
		for _, set := range append(append([]string{}, knobs["common"]...), knobs[kind]...) {
			if kind == "demo" && demoIgnores[set] {
				continue
			}
			if (kind == "ddp" || kind == "demo") && (strings.Contains(set, "sync.mode=window") || strings.Contains(set, "sync.overlap")) {
				continue // rejected: they synchronise every step
			}
			t.Run(kind+"/"+set, func(t *testing.T) {
				// "a,b|c,d": a and b apply to both runs, c and d to the second.
				var ctx []string
				if c, v, ok := strings.Cut(set, "|"); ok {
					ctx, set = strings.Split(c, ","), v
				}
				extra := func(sets []string) []string {
					if strings.HasPrefix(set, "train.optimizer.warmup_steps") {
						sets = append(sets, "train.outer_rounds=3")
					}
					return sets
				}
				want := ref
				if ctx != nil {
					want = fingerprint(t, resolveTiny(t, append(append([]string{}, base...), ctx...)...))
				}
				sets := extra(append(append(append([]string{}, base...), ctx...), splitSets(set)...))
				if got := fingerprint(t, resolveTiny(t, sets...)); got == want {
					t.Errorf("%s changed nothing", set)
				}
			})
		}
	}
}

// Workers change speed, never results.
func TestWorkersDoNotChangeResults(t *testing.T) {
	a := fingerprint(t, resolveTiny(t, "train.workers=1"))
	b := fingerprint(t, resolveTiny(t, "train.workers=3"))
	if a != b {
		t.Fatal("train.workers changed the result")
	}
}

// notKnobs are the keys outside cluster.* and exchange.* that the table above
// does not vary, each with the reason.
var notKnobs = map[string]string{
	"train.workers":                "changes speed only (TestWorkersDoNotChangeResults)",
	"train.eval_nodes":             "read only by algorithms whose nodes hold weights (TestEvalNodes)",
	"strategy.kind":                "varied by TestEveryKnobMovesTheResult itself",
	"strategy.compressor.density":  "rejected: strategy.density is the key",
	"strategy.compressor.outer_lr": "rejected: strategy.outer_lr is the key",
	"data.kind":                    "file corpora are tested in package data, whose tests vary every data key",
	"data.path":                    "as data.kind",
	"data.pattern":                 "as data.kind",
	"data.text_column":             "as data.kind",
	"data.token_format":            "as data.kind",
	"data.vocab":                   "as data.kind",
	"data.val_fraction":            "as data.kind (the synthetic corpus evaluates on its own sample paths)",
	"data.chunk_tokens":            "as data.kind",
	"data.doc_separator":           "as data.kind",
	"data.max_tokens":              "as data.kind",
}

// Every key is either varied by the knob table, covered by netmodel's knob
// test (cluster.*, exchange.*) or by an algorithm's conformance test (its
// section, strategy.<name>.*), or listed in notKnobs with a reason.
func TestKnobTableCoversEveryKey(t *testing.T) {
	keys, err := config.Keys(sim.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	varied := map[string]bool{}
	for _, list := range knobs {
		for _, set := range list {
			if _, v, ok := strings.Cut(set, "|"); ok {
				set = v
			}
			for _, kv := range splitSets(set) {
				k, _, _ := strings.Cut(kv, "=")
				varied[k] = true
			}
		}
	}
	for _, k := range keys {
		if strings.HasPrefix(k, "incentive.gauntlet.") {
			// Passed whole to incentive.NewValidator; package incentive's
			// tests drive each constant.
			continue
		}
		if varied[k] || notKnobs[k] != "" || strings.HasPrefix(k, "cluster.") || strings.HasPrefix(k, "exchange.") {
			continue
		}
		if name, _, ok := strings.Cut(strings.TrimPrefix(k, "strategy."), "."); ok && strings.HasPrefix(k, "strategy.") {
			if _, isAlg := sim.Lookup(name); isAlg {
				continue // the algorithm's own conformance test varies its section
			}
		}
		t.Errorf("config key %s is neither varied by the knob test nor exempt", k)
	}
}

// splitSets splits "a=1,b=2" into settings; a value in YAML flow syntax
// ("[{x: 1, y: 2}]") is one setting.
func splitSets(set string) []string {
	if strings.ContainsAny(set, "[{") {
		return []string{set}
	}
	return strings.Split(set, ",")
}
