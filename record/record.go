// Package record defines the rows that a simulated training run emits.
//
// The types are plain structs with parquet tags and no behaviour beyond small
// helpers: the simulator fills them, package trace writes them to Parquet,
// package plot and the notebooks read them back. Column names are a contract
// with every tool that reads a run directory, so each carries its unit:
// _s for simulated seconds, _bytes for bytes, _mbps for megabits per second,
// _ms for milliseconds. Losses are in nats per token.
//
// No record holds a wall-clock value: identical configurations and seeds must
// give byte-identical trace files.
//
// To extend a record, append a field with a new, unit-bearing column name;
// never rename or repurpose an existing column.
package record

import (
	"math"

	"github.com/locosim/locosim/incentive"
)

// Version of the column contract. Writers record it in each file's footer
// metadata under VersionKey; bump it when a column changes meaning or is
// removed (adding a column does not need a bump).
const (
	Version    = "1"
	VersionKey = "locosim.record_version"
)

// Status of a node in one round (Round.Status).
const (
	StatusOK       = "ok"       // payload delivered in time
	StatusLate     = "late"     // payload arrived after the deadline and was dropped
	StatusCrashed  = "crashed"  // node failed during the round; its payload is lost
	StatusDown     = "down"     // node was unavailable for the whole round
	StatusRejoined = "rejoined" // node came back this round and first downloaded the model
)

// Kinds of simulated activity (Event.Kind).
const (
	KindCompute  = "compute"
	KindUpload   = "upload"
	KindDownload = "download"
	KindWait     = "wait"
	KindFail     = "fail"
	KindDown     = "down"
	// Fault spans, not tied to a round (Event.Round −1).
	KindDegraded    = "degraded"    // the node's link capacity is cut (faults.links)
	KindPartitioned = "partitioned" // the node is cut off from the other side (faults.partitions)
)

// Kinds lists the activity kinds in a fixed order (timeline legends use it).
var Kinds = []string{KindCompute, KindUpload, KindDownload, KindWait, KindFail, KindDown}

// Statuses lists the round statuses in a fixed order.
var Statuses = []string{StatusOK, StatusLate, StatusCrashed, StatusDown, StatusRejoined}

// Eval is one evaluation of the reference model (evals.parquet).
type Eval struct {
	Round int64 `parquet:"round"` // outer round after which the evaluation ran (0 = before training)
	Step  int64 `parquet:"step"`  // inner optimizer steps done by the reference model so far

	SimTimeS float64 `parquet:"sim_time_s"` // simulated time of the evaluation, seconds
	Tokens   int64   `parquet:"tokens"`     // training tokens consumed so far, summed over nodes

	BytesTotal int64 `parquet:"bytes_total"` // bytes moved over the network so far (up + down, all nodes)
	BytesUp    int64 `parquet:"bytes_up"`    // bytes uploaded so far, all nodes
	BytesDown  int64 `parquet:"bytes_down"`  // bytes downloaded so far, all nodes

	EvalLoss   float64 `parquet:"eval_loss"`   // held-out cross-entropy, nats per token
	ExcessLoss float64 `parquet:"excess_loss"` // EvalLoss minus the corpus entropy floor; NaN if the floor is unknown
	TrainLoss  float64 `parquet:"train_loss"`  // mean training loss over the last round, nats per token
	LR         float64 `parquet:"lr"`          // inner learning rate at this point

	// With an algorithm whose nodes hold weights of their own (gossip,
	// streaming, sparta, noloco), EvalLoss is the loss of the nodes' mean
	// weights; these say how far apart the nodes are. NaN otherwise, or
	// with train.eval_nodes false.
	NodeLossMean float64 `parquet:"node_loss_mean"` // mean over nodes of each node's own held-out loss
	NodeLossStd  float64 `parquet:"node_loss_std"`  // their standard deviation across nodes
	NodeLossMin  float64 `parquet:"node_loss_min"`
	NodeLossMax  float64 `parquet:"node_loss_max"`
	// WeightSpread is the RMS over nodes of ‖x_i − x̄‖ divided by ‖x̄‖,
	// x̄ the nodes' mean weights: 0 when the nodes agree.
	WeightSpread float64 `parquet:"weight_spread"`
}

// AddedColumns are the columns evals.parquet gained after its first files
// were written; older files read with them NaN (trace.Evolving).
func (*Eval) AddedColumns() []string {
	return []string{"node_loss_mean", "node_loss_std", "node_loss_min", "node_loss_max", "weight_spread"}
}

// FillMissing sets the added columns a file lacks to NaN: not measured.
func (e *Eval) FillMissing(missing []string) {
	for _, c := range missing {
		switch c {
		case "node_loss_mean":
			e.NodeLossMean = math.NaN()
		case "node_loss_std":
			e.NodeLossStd = math.NaN()
		case "node_loss_min":
			e.NodeLossMin = math.NaN()
		case "node_loss_max":
			e.NodeLossMax = math.NaN()
		case "weight_spread":
			e.WeightSpread = math.NaN()
		}
	}
}

// AddedColumns are the columns rounds.parquet gained after its first files
// were written (trace.Evolving).
func (*Round) AddedColumns() []string { return []string{"staleness", "fragment"} }

// FillMissing sets what an older file lacks: staleness NaN (not measured),
// fragment −1 (the whole model).
func (r *Round) FillMissing(missing []string) {
	for _, c := range missing {
		switch c {
		case "staleness":
			r.Staleness = math.NaN()
		case "fragment":
			r.Fragment = -1
		}
	}
}

// ExcessOver returns loss minus floor, or NaN when the floor is unknown (NaN).
func ExcessOver(loss, floor float64) float64 {
	if math.IsNaN(floor) {
		return math.NaN()
	}
	return loss - floor
}

// Round is one node's part in one outer round (rounds.parquet).
// Times are simulated seconds since the start of the run; a phase that did not
// happen has start = end = the time the node reached it.
type Round struct {
	Round int64 `parquet:"round"`
	Node  int64 `parquet:"node"`

	InnerSteps       int64   `parquet:"inner_steps"`        // inner optimizer steps done this round
	PayloadBytes     int64   `parquet:"payload_bytes"`      // encoded pseudo-gradient size on the wire
	PayloadIdealBits float64 `parquet:"payload_ideal_bits"` // information-theoretic size of the payload, bits

	UploadStartS   float64 `parquet:"upload_start_s"`
	UploadEndS     float64 `parquet:"upload_end_s"`
	DownloadStartS float64 `parquet:"download_start_s"`
	DownloadEndS   float64 `parquet:"download_end_s"`
	ComputeS       float64 `parquet:"compute_s"` // simulated compute time this round, seconds
	WaitS          float64 `parquet:"wait_s"`    // time spent idle waiting for others, seconds

	Status      string  `parquet:"status"`       // one of the Status constants
	InAggregate bool    `parquet:"in_aggregate"` // the node's payload was part of this round's aggregate
	TrainLoss   float64 `parquet:"train_loss"`   // mean inner training loss this round, nats per token
	// Staleness is, for asynchronous algorithms, the mean number of model
	// versions its payloads were behind when applied; NaN in synchronous
	// rounds.
	Staleness float64 `parquet:"staleness"`
	// Fragment is the part of the model the round synchronised, for
	// algorithms that synchronise one fragment at a time (Streaming
	// DiLoCo's 0..P−1); −1 when rounds move the whole model.
	Fragment int64 `parquet:"fragment"`
}

// Event is one simulated activity of one node (events.parquet), the raw
// material of the timeline figure.
type Event struct {
	Node   int64   `parquet:"node"`
	Round  int64   `parquet:"round"`
	Kind   string  `parquet:"kind"` // one of the Kind constants
	StartS float64 `parquet:"start_s"`
	EndS   float64 `parquet:"end_s"`
	Bytes  int64   `parquet:"bytes"` // bytes moved by a transfer; 0 for other kinds
}

// DurationS is EndS − StartS.
func (e Event) DurationS() float64 { return e.EndS - e.StartS }

// Node is one node's profile (nodes.parquet).
type Node struct {
	Node        int64   `parquet:"node"`
	Class       string  `parquet:"class"`       // compute class name, e.g. "consumer-gpu"
	Flops       float64 `parquet:"flops"`       // peak arithmetic rate, FLOP/s
	Utilization float64 `parquet:"utilization"` // achieved fraction of peak, 0..1
	BwUpMbps    float64 `parquet:"bw_up_mbps"`
	BwDownMbps  float64 `parquet:"bw_down_mbps"`
	LatencyMs   float64 `parquet:"latency_ms"` // access-link latency, milliseconds
	XMs         float64 `parquet:"x_ms"`       // latency-space coordinates: distance between nodes is latency, ms
	YMs         float64 `parquet:"y_ms"`
	DataShard   int64   `parquet:"data_shard"` // index of the data stream the node trains on
	Malicious   bool    `parquet:"malicious"`  // the node tampers with every payload it sends (faults.malicious_share)
	// Role is what the node does under the incentive layer (incentive.*):
	// RoleHonest or one of the attackers; "" in files written before it.
	Role string `parquet:"role"`
}

// Roles of a peer under the incentive layer (Node.Role).
const (
	RoleHonest    = "honest"     // trains on its assigned data and uploads what it computed
	RoleFreeRider = "free_rider" // uploads nothing useful: zeros, or noise of an honest payload's size
	RoleCopier    = "copier"     // re-uploads an honest peer's payload
	RoleLazy      = "lazy"       // trains on data it was not assigned
	RoleStale     = "stale"      // trains from an old model and never catches up
	RolePoisoner  = "poisoner"   // sign-flips or scales its pseudo-gradient
	RoleSybil     = "sybil"      // one of several ids of one operator that upload the same work
)

// Roles lists the roles in a fixed order (legends use it).
var Roles = []string{RoleHonest, RoleFreeRider, RoleCopier, RoleLazy, RoleStale, RolePoisoner, RoleSybil}

// AddedColumns are the columns nodes.parquet gained after its first files
// were written (trace.Evolving).
func (*Node) AddedColumns() []string { return []string{"role"} }

// FillMissing leaves an older file's role empty: not recorded.
func (n *Node) FillMissing(missing []string) {
	for _, c := range missing {
		if c == "role" {
			n.Role = ""
		}
	}
}

// Score is one peer's row of one validator round (scores.parquet), written
// when the incentive layer is on; package incentive defines its columns.
type Score = incentive.ScoreRow
