// Package model is the tiny GPT that every simulated node trains for real.
//
// A Model is a GPT-2-style decoder (token and learned position embeddings, L
// pre-LayerNorm blocks of causal multi-head self-attention and a 4x GELU MLP,
// a final LayerNorm, and an LM head tied to the token embedding) whose
// parameters live in one flat []float32 described by a tensor.Layout, so that
// compressors and aggregators can walk them tensor by tensor.
//
// Memory is split for many replicas on one machine: a Model holds only its
// parameters and an AdamW only its two moments, while activations, gradients
// and scratch space live in a Workspace that one worker goroutine reuses for
// whichever replica it is stepping:
//
//	ws, _ := model.NewWorkspace(cfg, batch, workers)
//	loss, _ := m.ForwardBackward(ws, inputs, targets) // gradients in ws.Grads()
//	opt.Step(m.Params(), ws.Grads(), step)
//
// Replica bundles a Model, its AdamW and its step count for the common case.
//
// Forward and backward can also be run per range of blocks (ForwardBlocks,
// BackwardBlocks), with the residual-stream activation at each boundary and
// its gradient exposed as plain slices, for pipeline-parallel stages.
//
// A workspace with several workers steps one replica on several cores: the
// batch's sequences are cut into shards that go through the forward pass and
// the backward pass of the activations each on its own goroutine, and the
// parameter gradients, which sum over every token, are then handed out whole
// to the workers (see shard.go). Many replicas on many cores are better
// served by one single-worker workspace per goroutine, as the simulator does.
//
// Every result is deterministic: on a given machine (the kernels in use are
// named by Kernels) the same seed and inputs give the same bits for any worker
// count and any GOMAXPROCS.
package model
