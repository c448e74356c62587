//go:build !unix

package compress

func cpuSeconds() float64 { return 0 }
