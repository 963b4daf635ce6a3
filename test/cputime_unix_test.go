//go:build unix

package test

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user + system) the process has used: the
// nodes, their Pebble background work and the load generator's client.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
