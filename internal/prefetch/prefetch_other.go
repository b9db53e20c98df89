//go:build !amd64

package prefetch

import "unsafe"

// Write asks for every cache line of b, with the intent to write them; on this
// architecture it does nothing.
func Write(b []byte) {}

// Read asks for every cache line of b, for reading; on this architecture it does nothing.
func Read(b []byte) {}

// Head asks for four lines, one for reading and three for writing; on this architecture it
// does nothing.
func Head(r, w1, w2, w3 unsafe.Pointer) {}
