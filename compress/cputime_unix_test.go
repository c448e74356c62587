//go:build unix

package compress

import "syscall"

// cpuSeconds is the process's user + system CPU time, which on a shared
// machine says more about a kernel's cost than wall-clock time does.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
