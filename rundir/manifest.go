package rundir

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"

	"go.yaml.in/yaml/v3"
)

// Version is locosim's version, recorded in every manifest.
const Version = "0.1.0-dev"

// Manifest describes a finished run. Everything in it but Timing is a
// deterministic function of the config and seed.
type Manifest struct {
	// Command is the command that made the run: "run" or "train".
	Command   string `json:"command"`
	Version   string `json:"version"`
	GoVersion string `json:"go_version"`
	Seed      uint64 `json:"seed"`
	// Config is the fully resolved configuration.
	Config any `json:"config"`
	// CorpusDigest is a SHA-256 of the corpus and its configuration.
	CorpusDigest string `json:"corpus_digest"`
	// EntropyFloorNats is the lowest achievable eval loss, or null if unknown.
	EntropyFloorNats *float64 `json:"entropy_floor_nats"`
	// Final holds the final metrics: eval_loss, sim_time_s, bytes_total,
	// compute_utilization, ..., and for a run with the incentive layer
	// those of IncentiveMetricNames (NaN and infinite values are left out).
	Final map[string]float64 `json:"final"`
	// Info holds other facts about the run (node count, parameter count, ...).
	Info map[string]any `json:"info,omitempty"`
	// Timing is where the run's wall-clock time went, in seconds by phase.
	// It is the one part of a run that varies between identical runs.
	Timing map[string]float64 `json:"timing_s,omitempty"`
}

// NewManifest fills the fields every manifest has. The config is stored
// with its configuration key names (snake_case, as in YAML files).
func NewManifest(command string, seed uint64, config any) *Manifest {
	if config != nil {
		if b, err := yaml.Marshal(config); err == nil {
			var m map[string]any
			if yaml.Unmarshal(b, &m) == nil {
				config = m
			}
		}
	}
	return &Manifest{
		Command: command, Version: Version, GoVersion: runtime.Version(), Seed: seed,
		Config: config, Final: map[string]float64{}, Info: map[string]any{}, Timing: map[string]float64{},
	}
}

// SetFloor records the entropy floor; NaN means unknown.
func (m *Manifest) SetFloor(nats float64) {
	if math.IsNaN(nats) || math.IsInf(nats, 0) {
		m.EntropyFloorNats = nil
		return
	}
	m.EntropyFloorNats = &nats
}

// SetFinal records a final metric, skipping values JSON cannot hold.
func (m *Manifest) SetFinal(key string, v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		delete(m.Final, key)
		return
	}
	m.Final[key] = v
}

// ReadManifest reads dir's manifest; a missing manifest means an unfinished run.
func ReadManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("rundir: %s: %w", filepath.Join(dir, ManifestFile), err)
	}
	return &m, nil
}

// Finished reports whether dir holds a complete run.
func Finished(dir string) bool {
	_, err := ReadManifest(dir)
	return err == nil
}
