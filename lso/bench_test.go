package lso

import "testing"

// BenchmarkPrepareSegment64K is one 64 KB large send (65,003 bytes of TCP payload, MSS 1400,
// 47 segments) prepared and cut per op, in each layout; it reports segments/s and payload
// throughput (SetBytes), and allocations, which must be 0.
func BenchmarkPrepareSegment64K(b *testing.B) {
	for _, c := range layoutCases {
		b.Run(c.l.name, func(b *testing.B) {
			frame := largeSend(b, c.l, testPayload(bigPayload), 7, 1)
			p := Params{MSS: bigMSS, PadLength: 7, NextHeader: c.l.nextHeader(), ICVLen: c.l.icvLen, ESN: true}
			dst := make([]byte, 2048)
			b.SetBytes(bigPayload)
			b.ReportAllocs()
			segs := 0
			for b.Loop() {
				pl, err := Prepare(frame, p)
				if err != nil {
					b.Fatal(err)
				}
				for i := range pl.Count() {
					pl.Segment(frame, i, dst)
				}
				segs += pl.Count()
			}
			b.ReportMetric(float64(segs)/b.Elapsed().Seconds(), "segments/s")
		})
	}
}
