package stage_test

import (
	"fmt"
	"testing"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/ring"
	"github.com/ov2dev/ov2/sa"
	"github.com/ov2dev/ov2/stage"
)

// benchSizes are wire sizes of the IPv4 transport ESP packets: IP header, ESP header and
// IV, payload, trailer and a 16-byte ICV.
var benchSizes = []int{64, 1400}

// payloadFor is the payload that makes a packet of the given wire size.
func payloadFor(size int) int {
	for p := size - 20 - 16 - 2 - 16; p > 0; p-- {
		if 20+16+p+esp.PadLen(p)+2+16 == size {
			return p
		}
	}
	panic(size)
}

// BenchmarkSendPath measures the send path in a closed loop: the benchmark goroutine
// submits bursts, a consumer takes completions and hands the buffers back through an SPSC
// ring for resubmission (a sealed packet can be sealed again as is). 8 SAs spread the load
// over the lanes. Compare with BenchmarkRawSeal from the same run: the target is
// send-path Mpps / raw-seal Mpps >= 0.85 at 1400 B with 1 fused lane.
func BenchmarkSendPath(b *testing.B) {
	for _, size := range benchSizes {
		for _, lanes := range []int{1, 2} {
			for _, pl := range []stage.Placement{stage.Fused, stage.Split} {
				b.Run(fmt.Sprintf("%dB/%dlane/%s", size, lanes, pl), func(b *testing.B) {
					benchSend(b, size, lanes, pl)
				})
			}
		}
	}
}

func benchSend(b *testing.B, size, lanes int, pl stage.Placement) {
	r := newRig(b, stage.SendConfig{Lanes: lanes, Placement: pl})
	const nSA, inflight, burst = 8, 1024, 32
	handles := make([]sa.Handle, nSA)
	for i := range handles {
		handles[i], _ = r.addPair(uint32(0x100+i), esp.AESGCM, 16, 16, 0, false)
	}
	free, _ := ring.New[*packet.Buffer](2048)
	payload := make([]byte, payloadFor(size))
	for i := 0; i < inflight; i++ {
		k := i % nSA
		p := transportPacket(uint32(0x100+k), uint32(i+1), payload, 16, handles[k])
		if p.Len() != size {
			b.Fatalf("packet of %d bytes, want %d", p.Len(), size)
		}
		free.EnqueueBurst([]*packet.Buffer{p})
	}
	back, _ := ring.New[*packet.Buffer](2048)
	done := make(chan struct{})
	go func() { // the consumer: completions back to the producer
		defer close(done)
		buf := make([]*packet.Buffer, 64)
		for {
			n, err := r.path.Completions(buf)
			if err != nil {
				back.Close()
				return
			}
			back.EnqueueWait(buf[:n])
		}
	}()
	var out [burst]*packet.Buffer
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	report := procCPUPerOp(b)
	sent := 0
	var tmp [64]*packet.Buffer
	for sent < b.N {
		// Take recycled buffers first, then wait for one if the free list is empty.
		for k := back.DequeueBurst(tmp[:]); k > 0; k = back.DequeueBurst(tmp[:]) {
			free.EnqueueBurst(tmp[:k])
		}
		n := free.DequeueBurst(out[:min(burst, b.N-sent)])
		if n == 0 {
			n, _ = back.DequeueWait(out[:min(burst, b.N-sent)])
		}
		r.path.Submit(out[:n])
		sent += n
	}
	r.path.Close()
	for { // drain what is still in flight so the lanes can exit
		if _, err := back.DequeueWait(tmp[:]); err != nil {
			break
		}
	}
	<-done
	b.StopTimer()
	report()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mpps")
	if st := r.path.Stats(); st.FailedTotal() != 0 || !st.Balanced() {
		b.Fatalf("stats %+v", st)
	}
}

// BenchmarkRawSeal is the single-core limit the send path is compared with: esp Seal of
// the same packet's ESP region, in a loop, on one goroutine, no rings, no lookups.
func BenchmarkRawSeal(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			km := keyFor(0x100, 16)
			tr, err := esp.NewTransform(esp.Params{Alg: esp.AESGCM, KeyMat: km})
			if err != nil {
				b.Fatal(err)
			}
			p := transportPacket(0x100, 1, make([]byte, payloadFor(size)), 16, 1)
			f := p.Bytes()
			body := f[20 : len(f)-16]
			s := new(esp.Scratch)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			report := cpuPerOp(b)
			for b.Loop() {
				esp.PutIV(body, 1)
				if _, err := tr.Seal(s, body, 0); err != nil {
					b.Fatal(err)
				}
			}
			report()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mpps")
		})
	}
}
