//go:build race

package main

// raceEnabled: the race detector slows the engine about tenfold, so the long runs shrink.
const raceEnabled = true
