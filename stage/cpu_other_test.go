//go:build !linux

package stage_test

import "testing"

// Elsewhere than Linux the benchmarks report no CPU-time metrics (see cpu_test.go).

func cpuPerOp(*testing.B) func()     { return func() {} }
func procCPUPerOp(*testing.B) func() { return func() {} }
