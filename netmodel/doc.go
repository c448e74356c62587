// Package netmodel is the simulated network and compute of locosim: node
// profiles, links, latency, flow-level bandwidth sharing and the exchange
// patterns that distributed training uses, all timed on a deterministic
// discrete-event engine (package des). Sizes are bytes, compute is
// FLOPs, time is simulated seconds; nothing here knows about models or
// compressors, and nothing does I/O except reading a node table or latency
// matrix named in the configuration.
//
// # Layers
//
//   - Config → Build → Cluster: node classes with shares (or a CSV/YAML
//     node table), log-normal bandwidths, 2-D latency coordinates plus an
//     access latency per node (or an explicit matrix), outages from explicit
//     crash/rejoin events and random churn (exponential up and down times),
//     slowdown traces. The same Config and seed always build the same
//     Cluster; each node draws from its own random streams.
//   - Fabric: links with capacities and flows crossing them. Concurrent
//     flows share capacity by weighted max-min fairness (CM02) or with
//     SimGrid's LV08 factors (latency ×13.01, bandwidth ×0.97, weights
//     latency + 20537/nominal capacity, 5 % cross-traffic from
//     acknowledgements), a flow's rate is capped by the TCP window (γ/2L,
//     times the bandwidth factor: 0.97·γ/2L under LV08), and latency is
//     paid before a flow joins the sharing. A change re-solves only the flows it
//     can move (checked; otherwise the connected component), once per
//     instant. "raw" gives every flow L + S/B, unshared.
//   - Network: a Cluster on a Fabric, one uplink and one downlink per node
//     and for the object store (whose links may be unlimited).
//   - Patterns and exchanges: ObjectStoreAllGather (Templar's rules: G
//     gather peers, a reserve list, polling, per-peer and total timeouts,
//     an upload deadline, gathering after a barrier or as soon as a node's
//     own upload is done), P2PAllGather, RingAllReduce (bandwidth-aware
//     ring order, rebuilt after a failure), ParameterServer, PointToPoint
//     (each node sends to one other) and PairwiseGossip (random pairs swap
//     payloads). Every pattern passes one conformance suite. A pattern
//     is an exchange of payloads, timed from each node's ready time:
//     Pattern.Run times one exchange given each node's ready time and
//     payload size, with failures from the cluster's availability; or
//     Network.Start begins one to drive step by step, returning an
//     *Exchange handle that is fed what happens to the nodes (Ready,
//     Withdraw, Crash, Fetch) while the caller steps the engine until Done,
//     then Finish returns the ExchangeResult: who received whose payload,
//     per node status, transfer phase times and bytes, and the transfers
//     for a timeline. Several exchanges can be in flight on one network at
//     once and share its links. The round schedule around an exchange (the
//     fixed, window and deadline sync modes, inner steps and compute,
//     catch-up downloads) is package sim's.
//   - Faults over time: Network.SetBandwidth changes a link's capacity
//     (a degradation), Network.Partition cuts one set of endpoints off from
//     the others until Heal (transfers across stop where they are).
//
// # Determinism
//
// Everything runs on one goroutine in event order; ties break on (time,
// class, node, sequence); the solver visits flows and links in an order
// fixed by the event history. The same inputs give the same events and
// results at any GOMAXPROCS (TestDeterminism checks a digest of a run).
//
// # Reference
//
// The closed forms the tests reproduce are in the project's
// shared/reference/network-models.md: L + S/B for a lone flow, n·S/B for n
// flows on one link, textbook max-min allocations, 2(p−1)(L + S/(pB)) for a
// ring all-reduce, SimGrid's documented LV08 example (100 kB over 1 Mbit/s
// and 10 ms: 0.996079 s) and a window-bound LV08 transfer checked against
// SimGrid 3.32 (20 MB over 1 Gbit/s and 80 ms: 1.827335 s).
package netmodel
