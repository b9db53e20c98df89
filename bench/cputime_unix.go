//go:build unix

package bench

import "syscall"

// processCPU is the CPU time the whole process has used so far, user and system, in
// nanoseconds (getrusage), or -1 where it cannot be read.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
