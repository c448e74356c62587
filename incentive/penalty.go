package incentive

import "strings"

// Penalty is a set of reasons a peer's score was cut in a round, as bits.
type Penalty uint32

const (
	// PenaltyMissed: the peer was active but did not upload.
	PenaltyMissed Penalty = 1 << iota
	// PenaltyMissedMostly: missed uploads in more than MissFraction of the
	// last MissWindow rounds; the peer is reset and excluded.
	PenaltyMissedMostly
	// PenaltyNegative: more than NegativeFraction of its last NegativeWindow
	// evaluations had a negative score.
	PenaltyNegative
	// PenaltyStale: more than SyncMaxStepsBehind steps behind.
	PenaltyStale
	// PenaltyInactive: absent this round; its score decays.
	PenaltyInactive
	// PenaltyInactiveReset: absent for ResetInactivityRounds; reset.
	PenaltyInactiveReset
	// PenaltyCopy: overlap with an earlier payload ≥ CopyThreshold (halved).
	PenaltyCopy
	// PenaltyCopyZero: overlap ≥ CopyZeroThreshold (zeroed).
	PenaltyCopyZero
	// PenaltyCopyExclude: overlap ≥ CopyExcludeThreshold (reset, excluded).
	PenaltyCopyExclude
	// PenaltyExcluded: serving an exclusion from an earlier round.
	PenaltyExcluded
)

var penaltyNames = []string{
	"missed", "missed_mostly", "negative", "stale", "inactive",
	"inactive_reset", "copy", "copy_zero", "copy_exclude", "excluded",
}

// String lists the set penalties' names, comma-separated, in bit order ("" for
// none).
func (p Penalty) String() string {
	var names []string
	for i, n := range penaltyNames {
		if p&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	return strings.Join(names, ",")
}
