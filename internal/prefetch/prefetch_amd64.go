package prefetch

// Write asks for every cache line of b, with the intent to write them. It costs about one
// instruction per 64 bytes and returns at once.
//
//go:noescape
func Write(b []byte)
