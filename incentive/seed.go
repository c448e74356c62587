package incentive

// AssignedSeed is the seed of the data a peer trains on in a round:
// (uid·1,000,003 XOR round) mod 2^32, as in Templar's sharded sampler
// (src/tplr/sharded_sampler.py, _window_seed, where the round is the window).
// Anyone can recompute it, so the validator can replay the peer's sample.
// The multiplication and the XOR are done modulo 2^64 before the reduction,
// which gives the same low 32 bits as Python's unbounded integers.
func AssignedSeed(uid, round uint64) uint32 {
	return uint32(uid*1_000_003 ^ round)
}

// EvalSeed is the seed of the validator's evaluation subset of a peer's
// assigned sample: AssignedSeed XOR 0xA5A5A5A5 (Templar's EvalSampler).
func EvalSeed(uid, round uint64) uint32 {
	return AssignedSeed(uid, round) ^ 0xA5A5_A5A5
}
