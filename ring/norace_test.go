//go:build !race

package ring

// raceEnabled: see race_test.go.
const raceEnabled = false
