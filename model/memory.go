package model

import "fmt"

// MemoryReport is the memory of one replica and of one workspace, in bytes.
// A replica (Model plus AdamW) is what every simulated node keeps; a workspace
// is shared by the replicas one worker goroutine steps in turn.
type MemoryReport struct {
	ParamsBytes      int64 // the model's parameters
	OptimizerBytes   int64 // AdamW first and second moments
	GradsBytes       int64 // gradient buffer (in the workspace)
	ActivationsBytes int64 // activations kept for the backward pass (in the workspace)
	ScratchBytes     int64 // backward and attention scratch (in the workspace)
}

// ReplicaBytes is the memory each replica holds: parameters and moments.
func (r MemoryReport) ReplicaBytes() int64 { return r.ParamsBytes + r.OptimizerBytes }

// WorkspaceBytes is the memory of one workspace.
func (r MemoryReport) WorkspaceBytes() int64 {
	return r.GradsBytes + r.ActivationsBytes + r.ScratchBytes
}

// Total is the memory of replicas replicas sharing workspaces workspaces.
func (r MemoryReport) Total(replicas, workspaces int) int64 {
	return int64(replicas)*r.ReplicaBytes() + int64(workspaces)*r.WorkspaceBytes()
}

func (r MemoryReport) String() string {
	mib := func(b int64) string { return fmt.Sprintf("%.2f MiB", float64(b)/(1<<20)) }
	return fmt.Sprintf("per replica %s (params %s, AdamW moments %s); per workspace %s (grads %s, activations %s, scratch %s)",
		mib(r.ReplicaBytes()), mib(r.ParamsBytes), mib(r.OptimizerBytes),
		mib(r.WorkspaceBytes()), mib(r.GradsBytes), mib(r.ActivationsBytes), mib(r.ScratchBytes))
}

// Memory reports the memory of a replica of cfg and of a workspace for batch
// sequences and workers goroutines, as NewWorkspace and NewAdamW allocate it.
func Memory(cfg Config, batch, workers int) MemoryReport {
	p := int64(cfg.NumParams()) * 4
	g, a, s := workspaceFloats(cfg, batch, max(1, workers))
	return MemoryReport{ParamsBytes: p, OptimizerBytes: 2 * p,
		GradsBytes: int64(g) * 4, ActivationsBytes: int64(a) * 4, ScratchBytes: int64(s) * 4}
}
