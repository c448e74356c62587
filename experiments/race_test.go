//go:build race

package experiments

// raceEnabled: the race detector slows every simulated run several times
// over.
const raceEnabled = true
