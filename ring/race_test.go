//go:build race

package ring

// raceEnabled lets timing assertions allow for the race detector, which slows atomics
// and memory accesses by an order of magnitude.
const raceEnabled = true
