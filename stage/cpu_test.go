//go:build linux

package stage_test

import (
	"runtime"
	"syscall"
	"testing"
	"time"
)

// threadCPU is the CPU time of the calling OS thread (Linux RUSAGE_THREAD): unlike the
// wall clock, it does not count the time the thread waited for a CPU that other work on a
// shared machine had.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	const rusageThread = 1
	if syscall.Getrusage(rusageThread, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuPerOp pins the benchmark goroutine to its thread and returns a function that reports
// the thread's CPU time per op, as cpu-ns/op, for a benchmark that runs on one goroutine.
func cpuPerOp(b *testing.B) func() {
	runtime.LockOSThread()
	start := threadCPU()
	return func() {
		used := threadCPU() - start
		runtime.UnlockOSThread()
		if b.N > 0 && used > 0 {
			b.ReportMetric(float64(used.Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}

// procCPU is the CPU time of the whole process, every thread: for the closed-loop
// benchmarks, whose work is spread over several goroutines.
func procCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPUPerOp returns a function that reports the process's CPU time per op since the
// call, as proc-cpu-ns/op (host, lanes and consumer together; spinning counts too).
func procCPUPerOp(b *testing.B) func() {
	start := procCPU()
	return func() {
		if used := procCPU() - start; b.N > 0 && used > 0 {
			b.ReportMetric(float64(used.Nanoseconds())/float64(b.N), "proc-cpu-ns/op")
		}
	}
}
