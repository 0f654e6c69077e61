//go:build unix

package model

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time the process has used (user + system, all
// threads). Benchmarks report it next to wall time: on a shared machine, time
// slices lost to other processes inflate wall time but not CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
