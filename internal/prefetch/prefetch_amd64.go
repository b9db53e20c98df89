package prefetch

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
