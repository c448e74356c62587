package sim

// SetSeparateOverlap gives each overlapping round a network of its own, as
// before rounds shared one, so that tests can compare the two.
func SetSeparateOverlap(r *Run, v bool) { r.separateOverlap = v }
