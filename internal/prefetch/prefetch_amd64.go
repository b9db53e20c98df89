package prefetch

import "unsafe"

// Write asks for every cache line of b, with the intent to write them. It costs about one
// instruction per 64 bytes and returns at once.
//
//go:noescape
func Write(b []byte)

// Read asks for every cache line of b, for reading (PREFETCHT0): for bytes that will only
// be read, so that a line another core also reads stays shared between the two instead of
// being taken from it.
//
//go:noescape
func Read(b []byte)

// Head asks for the four lines a pipeline's first stage touches first of one packet in a
// single call: the line at r for reading (PREFETCHT0) and the lines at w1, w2 and w3 for
// writing (PREFETCHW). A pointer may repeat; none may be nil (a prefetch of page 0 costs a
// page walk for nothing). It is what Read and Write of a byte each would do, for a quarter
// of the calls: the first stage runs it on every packet of a burst.
//
//go:noescape
func Head(r, w1, w2, w3 unsafe.Pointer)
