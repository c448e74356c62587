//go:build race

package sim_test

// raceEnabled: the race detector slows the simulator several times over.
const raceEnabled = true
