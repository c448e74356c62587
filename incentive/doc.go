// Package incentive is the deterministic core of Templar's incentive
// mechanism, Gauntlet: how a validator turns what it measured about each
// peer's pseudo-gradient into a score, a weight, and the list of peers whose
// payloads form the next aggregate.
//
// The package does no I/O, reads no clock and draws from no global random
// source. A caller (the simulator, later) measures losses on real models and
// real payloads, and drives a Validator one round at a time:
//
//	v := incentive.NewValidator(incentive.DefaultConfig())
//	out := v.Round(in) // in: who uploaded, when, their top-k indices, losses
//
// Each call returns one ScoreRow per known peer: exactly the columns of a
// scores table. The same inputs always give the same rows.
//
// # The mechanism
//
// Data assignment. A peer trains in a round on a sample drawn from a seed that
// everybody can recompute from its uid and the round (AssignedSeed). The
// validator can therefore measure the peer's pseudo-gradient on the peer's own
// data and on data the peer never saw.
//
// Loss score. For an evaluated peer the validator measures the loss before and
// after applying its pseudo-gradient, on the peer's own sample and on a random
// sample. The score is the relative improvement on the random sample; a
// binary indicator is +1 when the improvement on the peer's own data beats that
// on random data (the peer did train on what it was assigned) and −1 otherwise,
// and an exponential moving average of the indicator is kept per peer.
//
// Rating. The scores of the peers evaluated in one round rank them; an
// OpenSkill Plackett–Luce update (Weng & Lin 2011, Algorithm 4) turns that
// ranking into a skill estimate (mu, sigma) per peer that carries across
// rounds. The conservative ordinal mu − 3σ is what enters the final score.
//
// Sync. A peer whose model has fallen behind the validator's is worth less:
// the sync score falls from 1 to 0 as the steps behind grow to a cap, and a
// peer more than a few steps behind is also slashed.
//
// Penalties. Missed uploads (escalating with consecutive misses, and a reset
// with exclusion when most recent rounds were missed), mostly negative recent
// evaluations, inactivity, and copying: the later of two peers whose top-k
// index sets overlap too much is halved, zeroed, or reset and excluded.
// Penalties multiply the stored score and the moving average, as the
// reference does, so that they outlast the round.
//
// Weights. final = ordinal × max(0, moving average) × sync; weights are
// proportional to final^p over the peers with a positive final score, after a
// burn share is taken off the top. Every few rounds the top G peers by weight
// become the gather list of the next aggregates, with the next R as reserves
// that stand in for gather peers that did not upload.
//
// # Sources
//
// The constants' defaults are the published ones; each Config field says
// where it comes from.
//
//   - J. Lidin, A. Sarfi, E. Pappas, S. Dare, E. Belilovsky, J. Steeves,
//     "Incentivizing Permissionless Distributed Learning of LLMs",
//     arXiv:2505.21684 (2025): the Gauntlet mechanism.
//   - Templar's validator, github.com/tplr-ai/templar: neurons/validator.py
//     (loss score, indicator, moving average, OpenSkill update, sync score,
//     weights, peer lists, slashing), src/tplr/neurons.py
//     (check_uid_index_overlap, determine_slash_egregiousness,
//     instantiate_slashing_multiplier), src/tplr/sharded_sampler.py
//     (_window_seed), hparams.json and the hparams files of later releases,
//     and the repository's validator tests (slash_for_missing_gradients:
//     escalating multipliers 0.75, 0.5, 0; track_negative_evaluation;
//     slash_from_overlap).
//   - OpenSkill, github.com/vivekjoshy/openskill.py,
//     openskill/models/weng_lin/plackett_luce.py: the Plackett–Luce model and
//     its defaults.
//   - R. C. Weng and C.-J. Lin, "A Bayesian Approximation Method for Online
//     Ranking", JMLR 12 (2011) 267–300.
//
// The code here is written from those descriptions; none of it is copied.
//
// # Where this departs from the reference
//
// Copy detection compares every uploaded payload, not only the gathered
// ones, and divides the shared indices by the smaller set. The windows of
// missed uploads and of negative evaluations penalise only once full. The
// choice of peers to evaluate is a weighted draw by rounds since the last
// evaluation, without the reference's performance bins. Weights are the
// paper's power normalisation, not the piecewise gather/reserve schedule of
// later releases. Ties in the rating are OpenSkill's integer-rank ties (the
// reference passes float scores, which OpenSkill 5 ranks by position instead).
package incentive
