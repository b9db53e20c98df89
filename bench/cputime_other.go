//go:build !unix

package bench

// processCPU cannot be read here: -1.
func processCPU() int64 { return -1 }
