package antireplay

import (
	"fmt"
	"testing"
)

// benchAccept accepts b.N numbers; reordered, each run of 16 arrives in a fixed
// shuffled order (as from parallel lanes), so every packet is inside the window and
// new. One op is one packet, so ns/op is the host's anti-replay cost per packet.
func benchAccept(b *testing.B, size int, reordered bool) {
	w, err := New(size, true)
	if err != nil {
		b.Fatal(err)
	}
	shuffle := [16]uint64{3, 0, 7, 1, 2, 5, 4, 6, 11, 8, 15, 9, 10, 13, 12, 14}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range uint64(b.N) {
		seq := i + 1
		if reordered {
			seq = i&^15 + shuffle[i&15] + 1
		}
		if err := w.Accept(w.Infer(uint32(seq))); err != nil {
			b.Fatalf("packet %d: %v", seq, err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mpps")
}

// BenchmarkAccept measures Infer+Accept per packet in order and reordered, for the
// default window and a large one (the block ring's cost does not grow with W).
func BenchmarkAccept(b *testing.B) {
	for _, size := range []int{DefaultSize, 4096} {
		b.Run(fmt.Sprintf("inorder/W=%d", size), func(b *testing.B) { benchAccept(b, size, false) })
		b.Run(fmt.Sprintf("reordered/W=%d", size), func(b *testing.B) { benchAccept(b, size, true) })
	}
}
