package gemm

import (
	"time"

	"golang.org/x/sys/unix"
)

// threadCPUClock returns a clock of the CPU time consumed by the calling OS
// thread; the caller must lock its goroutine to the thread.
func threadCPUClock() (func() time.Duration, bool) {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return nil, false
	}
	return func() time.Duration {
		var ts unix.Timespec
		_ = unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
		return time.Duration(ts.Nano())
	}, true
}
