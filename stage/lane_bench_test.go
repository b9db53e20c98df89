package stage_test

import (
	"fmt"
	"testing"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/ndis"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/sa"
	"github.com/ov2dev/ov2/stage"
)

// BenchmarkLaneSend is the engine's own cost per packet on one fused lane, with nothing else
// running: the benchmark goroutine submits a burst of 32 packets (4 SAs, as ov2 bench
// gives a lane), runs the lane on it (in-ring, classify, lookup, LSO, seal, complete,
// out-ring) and takes the completions, one op a packet. Its ns/op minus BenchmarkRawSeal's
// from the same run is the per-packet overhead, free of the scheduling and cross-core noise
// of the closed loop of BenchmarkSendPath.
func BenchmarkLaneSend(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			ctl := sa.NewController(64)
			b.Cleanup(ctl.Close)
			path, err := stage.NewManualSendPath(stage.Env{SAs: ctl}, stage.SendConfig{Lanes: 1})
			if err != nil {
				b.Fatal(err)
			}
			r := &rig{t: b, ctl: ctl}
			const nSA, burst = 4, 32
			handles := make([]sa.Handle, nSA)
			for i := range handles {
				handles[i], _ = r.addPair(uint32(0x100+i), esp.AESGCM, 16, 16, 0, false)
			}
			var pkts [burst]*packet.Buffer
			payload := make([]byte, payloadFor(size))
			for i := range pkts {
				pkts[i] = transportPacket(uint32(0x100+i%nSA), uint32(i+1), payload, 16, handles[i%nSA])
			}
			laneLoop(b, size, pkts[:], path.Submit, path.TurnLanes, path.Poll, nil)
			if st := path.Stats(); st.FailedTotal() != 0 || !st.Balanced() || st.Sealed != st.Completed {
				b.Fatalf("stats %+v", st)
			}
		})
	}
}

// BenchmarkLaneRecv is BenchmarkLaneSend for the receive path (classify, lookup, open,
// complete); compare with BenchmarkRawOpen. The completed packets get their sealed bytes
// back before they are submitted again, inside the timed loop as in BenchmarkRecvPath's
// consumer, so that copy is counted too (a few ns at 64 B).
func BenchmarkLaneRecv(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			ctl := sa.NewController(64)
			b.Cleanup(ctl.Close)
			path, err := stage.NewManualRecvPath(stage.Env{SAs: ctl}, stage.Config{Lanes: 1})
			if err != nil {
				b.Fatal(err)
			}
			const nSA, burst = 4, 32
			sealed := make([][]byte, nSA)
			for i := range sealed {
				spi := uint32(0x200 + i)
				sealed[i] = sealedFrame(addInbound(b, ctl, spi), spi, 1, size)
			}
			var pkts [burst]*packet.Buffer
			for i := range pkts {
				pkts[i] = packet.NewBuffer(packet.SmallSize)
				pkts[i].SetData(sealed[i%nSA])
			}
			laneLoop(b, size, pkts[:], path.Submit, path.TurnLanes, path.Poll, func(p *packet.Buffer) {
				f := p.Bytes()
				copy(f, sealed[esp.SPI(f[20:])-0x200])
			})
			if st := path.Stats(); !st.Balanced() || st.Status[ndis.CryptoSuccess] != st.Indicated {
				b.Fatalf("stats %+v", st)
			}
		})
	}
}

// laneLoop submits the packets as one burst, turns the lanes and polls them back, b.N
// packets in all; restore (if any) readies a completed packet to be submitted again. The
// callers check the path's counters afterwards: every packet succeeded.
func laneLoop(b *testing.B, size int, pkts []*packet.Buffer, submit func([]*packet.Buffer), turn func(),
	poll func([]*packet.Buffer) int, restore func(*packet.Buffer)) {
	done := make([]*packet.Buffer, len(pkts))
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	report := cpuPerOp(b)
	for n := 0; n < b.N; n += len(pkts) {
		submit(pkts)
		turn()
		if k := poll(done); k != len(pkts) {
			b.Fatalf("%d completions, want %d", k, len(pkts))
		}
		if restore != nil {
			for _, p := range done {
				restore(p)
			}
		}
	}
	b.StopTimer()
	report()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mpps")
}
