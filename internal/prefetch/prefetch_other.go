//go:build !amd64

package prefetch

// Write asks for every cache line of b, with the intent to write them; on this
// architecture it does nothing.
func Write(b []byte) {}

// Read asks for every cache line of b, for reading; on this architecture it does nothing.
func Read(b []byte) {}
