package antireplay

// Infer returns the full sequence number of a packet whose wire carries seqLo, the low
// 32 bits. With ESN it chooses the high half from the window's top T = Th:Tl and size W
// by the case analysis of RFC 4303 Appendix A2.2 (the cases are defined in A2.1), so
// that a packet around a wrap of the low half lands in the right 2^32 subspace (R-RX-8).
// Without ESN the wire carries the whole number and seqLo is returned as it is. Infer
// changes nothing; the result goes to Check and, once the ICV verified, Accept.
func (w *Window) Infer(seqLo uint32) uint64 {
	if !w.esn {
		return uint64(seqLo)
	}
	th := w.top >> 32
	tl := uint32(w.top)
	wm1 := uint32(w.size - 1) // W-1; W <= MaxSize, so it fits
	bl := tl - wm1            // Bl = Tl-W+1, modulo 2^32 as Appendix A computes it
	var seqh uint64
	if tl >= wm1 {
		// Case A: the window lies in subspace Th. Below Bl the low half has wrapped,
		// so the packet is ahead of the window in Th+1. At Th = 2^32-1 this wraps the
		// 64-bit result to a number below the window, which Check rejects.
		if seqLo >= bl {
			seqh = th
		} else {
			seqh = th + 1
		}
	} else {
		// Case B: the window starts in subspace Th-1, where Bl (wrapped) lies. While
		// Th is 0 there is no Th-1, so the packet can only be in Th, far ahead.
		if seqLo >= bl && th > 0 {
			seqh = th - 1
		} else {
			seqh = th
		}
	}
	return seqh<<32 | uint64(seqLo)
}
