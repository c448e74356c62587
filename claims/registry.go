package claims

import "fmt"

// Sources of the claims.
const (
	srcSparseLoCo = "SparseLoCo, Templar 2025"
	srcMuLoCo     = "SparseLoCo, Templar 2025; MuLoCo"
	srcStreaming  = "Douillard et al. 2025, Streaming DiLoCo"
	srcSparta     = "Exo 2025, SPARTA"
	srcNoLoCo     = "Kolehmainen et al. 2025, NoLoCo"
	srcAsync      = "Decoupled DiLoCo; HALoS; asynchronous local SGD"
	srcScaling    = "Charles et al. 2025, scaling laws for DiLoCo"
	srcGauntlet   = "Lidin et al. 2025, Incentivizing Permissionless Distributed Learning of LLMs (Gauntlet)"
)

// Margins, in nats of final eval loss.
const (
	marginClose  = 0.02 // "no worse than", "close to", "nearly lossless"
	marginSparta = 0.05 // SPARTA's "close to DDP"
	marginSmall  = 0.05 // the scaling laws' "small penalty"
	marginAttack = 0.05 // what an attack may cost the model with the mechanism on
)

// Registry is every claim the canonical experiments test, in report order.
var Registry = registry()

func variant(v string) map[string]any { return map[string]any{"label.variant": v} }

func registry() []Claim {
	var cs []Claim
	// density_h: SparseLoCo at the two densities in 1–3 % against DiLoCo
	// with its outer learning rate tuned, at each H.
	for _, h := range []struct{ steps, rounds int }{{15, 400}, {30, 200}, {50, 120}, {100, 60}} {
		for _, d := range []struct {
			value float64
			name  string
		}{{0.0156, "1.56 % (K = 64 per 4096)"}, {0.0312, "3.12 % (K = 128 per 4096)"}} {
			cs = append(cs, Claim{
				ID:     fmt.Sprintf("density_h/H%d/d%.2f", h.steps, d.value*100),
				Claim:  "At 1.5–3 % density with 2-bit values SparseLoCo is no worse than DiLoCo with a tuned outer learning rate, at every H tried (15 to 100; reported better up to 250).",
				Source: srcSparseLoCo,
				Setting: fmt.Sprintf("8 nodes, equal tokens (6,000 inner steps per node): H = %d, %d outer rounds.",
					h.steps, h.rounds),
				Experiment: "density_h",
				A: Side{Label: "SparseLoCo at density " + d.name,
					Where: map[string]any{"strategy.kind": "sparseloco", "strategy.density": d.value, "train.inner_steps": h.steps}},
				B: Side{Label: "DiLoCo, outer lr tuned",
					Where: map[string]any{"strategy.kind": "diloco", "train.inner_steps": h.steps},
					Tune:  []string{"strategy.outer_lr"}},
				Kind:   NoWorse,
				Margin: marginClose,
				Figure: "density_h/plots/final.png",
			})
		}
	}
	// The best density rises with H: at the largest H the densest setting
	// beats the 1.56 % one, while at the smallest H the 1.56 % setting is
	// no worse than the densest.
	rises := "The best density rises with H (an interior optimum that moves to denser payloads as H grows)."
	cs = append(cs,
		Claim{
			ID: "density_h/rises/H15", Claim: rises, Source: srcSparseLoCo,
			Setting:    "8 nodes, equal tokens (6,000 inner steps per node): H = 15, 400 outer rounds; at small H a sparse payload suffices.",
			Experiment: "density_h",
			A: Side{Label: "SparseLoCo at 1.56 %",
				Where: map[string]any{"strategy.kind": "sparseloco", "strategy.density": 0.0156, "train.inner_steps": 15}},
			B: Side{Label: "SparseLoCo at 12.5 %",
				Where: map[string]any{"strategy.kind": "sparseloco", "strategy.density": 0.125, "train.inner_steps": 15}},
			Kind: NoWorse, Margin: marginClose, Show: []string{"bytes_total"},
			Figure: "density_h/plots/heatmap.png",
		},
		Claim{
			ID: "density_h/rises/H100", Claim: rises, Source: srcSparseLoCo,
			Setting:    "8 nodes, equal tokens (6,000 inner steps per node): H = 100, 60 outer rounds; at large H the denser payload wins.",
			Experiment: "density_h",
			A: Side{Label: "SparseLoCo at 12.5 %",
				Where: map[string]any{"strategy.kind": "sparseloco", "strategy.density": 0.125, "train.inner_steps": 100}},
			B: Side{Label: "SparseLoCo at 1.56 %",
				Where: map[string]any{"strategy.kind": "sparseloco", "strategy.density": 0.0156, "train.inner_steps": 100}},
			Kind: Better, Show: []string{"bytes_total"},
			Figure: "density_h/plots/heatmap.png",
		},
	)
	const ablations = "SparseLoCo (K = 64 per 4096, H = 30), 16 heterogeneous nodes, equal tokens (60 outer steps, 1,800 inner steps per node)."
	cs = append(cs,
		Claim{
			ID:         "ablations/error_feedback",
			Claim:      "Removing error feedback hurts: SparseLoCo needs it.",
			Source:     srcSparseLoCo,
			Setting:    ablations,
			Experiment: "ablations",
			A:          Side{Label: "SparseLoCo with error feedback", Where: variant("baseline")},
			B:          Side{Label: "without error feedback", Where: variant("no_error_feedback")},
			Kind:       Better,
			Figure:     "ablations/index.md",
		},
		Claim{
			ID:         "ablations/quantization",
			Claim:      "Low-bit (2-bit) quantisation with error feedback is nearly lossless.",
			Source:     srcMuLoCo,
			Setting:    ablations,
			Experiment: "ablations",
			A:          Side{Label: "2-bit values with error feedback", Where: variant("baseline")},
			B:          Side{Label: "fp32 values", Where: variant("no_quantization")},
			Kind:       NoWorse,
			Margin:     marginClose,
			Show:       []string{"bytes_total"},
			Figure:     "ablations/index.md",
		},
		Claim{
			ID:         "ablations/topk",
			Claim:      "Top-k selection beats random-k at the same budget.",
			Source:     srcSparseLoCo,
			Setting:    ablations,
			Experiment: "ablations",
			A:          Side{Label: "top-k", Where: variant("baseline")},
			B:          Side{Label: "random-k", Where: variant("random_k")},
			Kind:       Better,
			Figure:     "ablations/index.md",
		},
		Claim{
			ID:         "ablations/chunked_topk",
			Claim:      "Top-k per 4096-value chunk (Templar's, cheap to index and encode) loses nothing against top-k over whole tensors.",
			Source:     srcSparseLoCo,
			Setting:    ablations + " The same density, 2-bit values and error feedback; only the selection's scope differs.",
			Experiment: "ablations",
			A:          Side{Label: "top-k per chunk", Where: variant("baseline")},
			B:          Side{Label: "top-k per whole tensor", Where: variant("per_tensor_topk")},
			Kind:       NoWorse,
			Margin:     marginClose,
			Show:       []string{"bytes_total"},
			Figure:     "ablations/index.md",
		},
		Claim{
			ID:     "strategies/sparseloco_demo",
			Claim:  "SparseLoCo beats DeMo at equal communication.",
			Source: srcSparseLoCo,
			Setting: "72 heterogeneous nodes at equal tokens (1,500 inner steps per node, 50 outer steps), not equal bytes: " +
				"SparseLoCo moves far fewer bytes than DeMo (below), so a loss difference here is not the claim's " +
				"equal-communication comparison; the demo_bytes rows make that one.",
			Experiment: "strategies",
			A:          Side{Label: "SparseLoCo", Where: map[string]any{"strategy.kind": "sparseloco"}},
			B:          Side{Label: "DeMo", Where: map[string]any{"strategy.kind": "demo"}},
			Kind:       Better,
			Show:       []string{"bytes_total"},
			Figure:     "strategies/plots/pareto.png",
		},
	)
	const streaming = "16 heterogeneous nodes, equal tokens (1,500 inner steps per node), H = 30, 50 outer steps."
	cs = append(cs,
		Claim{
			ID:         "streaming/p3",
			Claim:      "At equal tokens Streaming DiLoCo's loss stays close to DiLoCo's while each synchronisation moves 1/P of the model.",
			Source:     srcStreaming,
			Setting:    streaming,
			Experiment: "streaming",
			A:          Side{Label: "Streaming DiLoCo, P = 3 fragments", Where: variant("p3")},
			B:          Side{Label: "DiLoCo", Where: variant("diloco")},
			Kind:       NoWorse,
			Margin:     marginClose,
			Figure:     "streaming/plots/loss_time.png",
		},
		Claim{
			ID:         "streaming/p6",
			Claim:      "At equal tokens Streaming DiLoCo's loss stays close to DiLoCo's while each synchronisation moves 1/P of the model.",
			Source:     srcStreaming,
			Setting:    streaming,
			Experiment: "streaming",
			A:          Side{Label: "Streaming DiLoCo, P = 6 fragments", Where: variant("p6")},
			B:          Side{Label: "DiLoCo", Where: variant("diloco")},
			Kind:       NoWorse,
			Margin:     marginClose,
			Figure:     "streaming/plots/loss_time.png",
		},
		Claim{
			ID:         "streaming/4bit",
			Claim:      "Values quantised to 4 bits cost little.",
			Source:     srcStreaming,
			Setting:    streaming + " 4-bit values go through the quantize compressor's object-store gather, not the ring.",
			Experiment: "streaming",
			A:          Side{Label: "P = 3 with 4-bit values", Where: variant("p3_4bit")},
			B:          Side{Label: "P = 3 with full-precision values", Where: variant("p3")},
			Kind:       NoWorse,
			Margin:     marginClose,
			Figure:     "streaming/plots/loss_time.png",
		},
		Claim{
			ID:         "streaming/overlap",
			Claim:      "Overlapping each exchange with the next inner steps hides the communication time.",
			Source:     srcStreaming,
			Setting:    streaming + " Overlap τ = H/P; the metric is simulated time to the same tokens.",
			Experiment: "streaming",
			A:          Side{Label: "P = 3 with overlap", Where: variant("p3_overlap")},
			B:          Side{Label: "P = 3 without", Where: variant("p3")},
			Metric:     Metric{Name: "sim_time_s", Unit: "s"},
			Kind:       Better,
			Show:       []string{"eval_loss"},
			Figure:     "streaming/plots/loss_time.png",
		},
	)
	const sparta = "16 heterogeneous nodes, equal tokens (1,500 inner steps per node); p is the share of weights averaged every step."
	cs = append(cs,
		Claim{
			ID:         "sparta/p0.1_ddp",
			Claim:      "With p ≥ 0.1 % SPARTA's loss is close to DDP's at a small fraction of its bytes.",
			Source:     srcSparta,
			Setting:    sparta,
			Experiment: "sparta",
			A:          Side{Label: "SPARTA, p = 0.1 %", Where: variant("p0.1")},
			B:          Side{Label: "DDP", Where: variant("ddp")},
			Kind:       NoWorse,
			Margin:     marginSparta,
			Show:       []string{"bytes_total"},
			Figure:     "sparta/plots/pareto.png",
		},
		Claim{
			ID:         "sparta/p0.5_ddp",
			Claim:      "With p ≥ 0.1 % SPARTA's loss is close to DDP's at a small fraction of its bytes.",
			Source:     srcSparta,
			Setting:    sparta,
			Experiment: "sparta",
			A:          Side{Label: "SPARTA, p = 0.5 %", Where: variant("p0.5")},
			B:          Side{Label: "DDP", Where: variant("ddp")},
			Kind:       NoWorse,
			Margin:     marginSparta,
			Show:       []string{"bytes_total"},
			Figure:     "sparta/plots/pareto.png",
		},
		Claim{
			ID:         "sparta/diloco_vs_diloco",
			Claim:      "SPARTA combined with DiLoCo does better than either alone.",
			Source:     srcSparta,
			Setting:    sparta + " SPARTA + DiLoCo: p = 0.1 % and an outer step every H = 30.",
			Experiment: "sparta",
			A:          Side{Label: "SPARTA (p = 0.1 %) + DiLoCo", Where: variant("p0.1_diloco")},
			B:          Side{Label: "DiLoCo", Where: variant("diloco")},
			Kind:       Better,
			Figure:     "sparta/plots/pareto.png",
		},
		Claim{
			ID:         "sparta/diloco_vs_sparta",
			Claim:      "SPARTA combined with DiLoCo does better than either alone.",
			Source:     srcSparta,
			Setting:    sparta + " SPARTA + DiLoCo: p = 0.1 % and an outer step every H = 30.",
			Experiment: "sparta",
			A:          Side{Label: "SPARTA (p = 0.1 %) + DiLoCo", Where: variant("p0.1_diloco")},
			B:          Side{Label: "SPARTA, p = 0.1 %", Where: variant("p0.1")},
			Kind:       Better,
			Figure:     "sparta/plots/pareto.png",
		},
	)
	const noloco = "16 heterogeneous nodes, equal tokens (1,500 inner steps per node), H = 30, 50 outer steps."
	cs = append(cs,
		Claim{
			ID:         "noloco/diloco",
			Claim:      "Without any all-reduce NoLoCo's loss is close to (or better than) DiLoCo's.",
			Source:     srcNoLoCo,
			Setting:    noloco,
			Experiment: "noloco",
			A:          Side{Label: "NoLoCo", Where: variant("noloco")},
			B:          Side{Label: "DiLoCo", Where: variant("diloco")},
			Kind:       NoWorse,
			Margin:     marginClose,
			Show:       []string{"bytes_total"},
			Figure:     "noloco/plots/loss_time.png",
		},
		Claim{
			ID:         "noloco/gamma",
			Claim:      "NoLoCo's γ term keeps the replicas' weights from drifting apart.",
			Source:     srcNoLoCo,
			Setting:    noloco + " The metric is the replicas' relative weight spread at the last evaluation (`evals.parquet`).",
			Experiment: "noloco",
			A:          Side{Label: "NoLoCo", Where: variant("noloco")},
			B:          Side{Label: "NoLoCo with γ = 0", Where: variant("noloco_gamma0")},
			Metric:     Metric{Name: "weight_spread"},
			Kind:       Better,
			Show:       []string{"eval_loss"},
			Figure:     "noloco/index.md",
		},
	)
	const async = "24 nodes of the default classes on the heterogeneous network, SparseLoCo-compressed pushes, equal tokens (1,500 inner steps per node on average)."
	cs = append(cs,
		Claim{
			ID:         "async/time",
			Claim:      "Fast nodes no longer wait for slow ones, so the loss falls faster against simulated time than with synchronous rounds.",
			Source:     srcAsync,
			Setting:    async + " The metric is simulated time to the same tokens; the loss is shown beside it.",
			Experiment: "async",
			A:          Side{Label: "asynchronous, waiting for θ after each push", Where: variant("wait_constant")},
			B:          Side{Label: "synchronous SparseLoCo", Where: variant("sync_sparseloco")},
			Metric:     Metric{Name: "sim_time_s", Unit: "s"},
			Kind:       Better,
			Show:       []string{"eval_loss"},
			Figure:     "async/plots/loss_time.png",
		},
		Claim{
			ID:         "async/utilization",
			Claim:      "Fast nodes no longer wait for slow ones, so compute utilisation rises towards 1.",
			Source:     srcAsync,
			Setting:    async,
			Experiment: "async",
			A:          Side{Label: "asynchronous, training on while θ travels", Where: variant("keep_constant")},
			B:          Side{Label: "synchronous SparseLoCo", Where: variant("sync_sparseloco")},
			Metric:     Metric{Name: "compute_utilization", HigherIsBetter: true},
			Kind:       Better,
			Show:       []string{"eval_loss"},
			Figure:     "async/index.md",
		},
	)
	const replicas = "M replicas sharing a global batch of 8 sequences per step, equal tokens (1,800 steps, H = 30, 60 outer steps); DiLoCo's outer learning rate tuned per M."
	cs = append(cs,
		Claim{
			ID:         "replicas/one_beats_ddp",
			Claim:      "DiLoCo with one replica beats data-parallel training at equal tokens.",
			Source:     srcScaling,
			Setting:    replicas,
			Experiment: "replicas",
			A: Side{Label: "DiLoCo, M = 1", Where: map[string]any{"strategy.kind": "diloco", "cluster.nodes": 1},
				Tune: []string{"strategy.outer_lr"}},
			B:      Side{Label: "DDP", Where: map[string]any{"strategy.kind": "ddp", "cluster.nodes": 1}},
			Kind:   Better,
			Figure: "replicas/plots/final.png",
		},
		Claim{
			ID:         "replicas/penalty_m8",
			Claim:      "The penalty of more DiLoCo replicas is small (and grows slowly with M).",
			Source:     srcScaling,
			Setting:    replicas + " Margin 0.05 nats for \"small\".",
			Experiment: "replicas",
			A: Side{Label: "DiLoCo, M = 8", Where: map[string]any{"strategy.kind": "diloco", "cluster.nodes": 8},
				Tune: []string{"strategy.outer_lr"}},
			B: Side{Label: "DiLoCo, M = 1", Where: map[string]any{"strategy.kind": "diloco", "cluster.nodes": 1},
				Tune: []string{"strategy.outer_lr"}},
			Kind:   NoWorse,
			Margin: marginSmall,
			Figure: "replicas/plots/final.png",
		},
	)
	// demo_bytes: SparseLoCo against DeMo at equal communication, DeMo's
	// loss read off its curve at SparseLoCo's byte total.
	for _, k := range []struct{ variant, label string }{
		{"demo_k32", "DeMo, 32 DCT coefficients per 4096-value block (its default)"},
		{"demo_k1", "DeMo, 1 coefficient per block (its thriftiest)"},
	} {
		cs = append(cs, Claim{
			ID:     "demo_bytes/" + k.variant,
			Claim:  "SparseLoCo beats DeMo at equal communication.",
			Source: srcSparseLoCo,
			Setting: "8 heterogeneous nodes; SparseLoCo for 1,500 inner steps per node (K = 64 per 4096, H = 30); " +
				"DeMo's loss where its bytes_total reached SparseLoCo's final bytes_total (at fewer tokens; " +
				"evaluations every 30 steps, linear between them).",
			Experiment:   "demo_bytes",
			A:            Side{Label: "SparseLoCo", Where: variant("sparseloco")},
			B:            Side{Label: k.label, Where: variant(k.variant)},
			Kind:         Better,
			AtEqualBytes: true,
			Show:         []string{"bytes_total"},
			Figure:       "demo_bytes/plots/loss_bytes.png",
		})
	}
	// incentives: with the mechanism on, each attack costs the model little
	// against the same peers all honest (paired by seed).
	const incentives = "20 peers, SparseLoCo (H = 30, 30 rounds) on the heterogeneous network; a validator scores every upload with Templar's Gauntlet and the 10 best are gathered."
	mechOn := func(v string) map[string]any { return map[string]any{"label.variant": v, "incentive.mechanism": true} }
	for _, a := range []struct{ variant, who string }{
		{"free_rider_30", "free riders (noise of an honest payload's size)"},
		{"copier_30", "copiers (an honest payload re-uploaded after it)"},
		{"copier_noisy_20", "copiers adding noise as large as the payload (20 %)"},
		{"lazy_30", "lazy peers (training on data nobody was assigned)"},
		{"stale_30", "stale peers (training from the model of 4 rounds ago)"},
		{"poisoner_30", "poisoners (sign-flipped ×10)"},
		{"sybil_30", "sybils (3 ids per operator, one work)"},
	} {
		share := "30 % of the peers"
		if a.variant == "copier_noisy_20" {
			share = "20 % of the peers"
		}
		cs = append(cs, Claim{
			ID:         "incentives/" + a.variant,
			Claim:      "With the incentive mechanism on, peers who game it cost the model little: it scores them down and leaves them out of the aggregate.",
			Source:     srcGauntlet,
			Setting:    incentives + " Attackers: " + a.who + ", " + share + ". Margin 0.05 nats.",
			Experiment: "incentives",
			A:          Side{Label: "mechanism on, " + a.variant, Where: mechOn(a.variant)},
			B:          Side{Label: "mechanism on, no attackers", Where: mechOn("none")},
			Kind:       NoWorse,
			Margin:     marginAttack,
			Figure:     "incentives/index.md",
		})
	}
	return cs
}
