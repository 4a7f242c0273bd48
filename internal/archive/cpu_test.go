package archive

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time (user + system, all threads) this process has
// used: throughput per CPU-second stays meaningful on a shared, loaded
// machine where wall-clock rates do not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
