package stage_test

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/ndis"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/ring"
	"github.com/ov2dev/ov2/sa"
	"github.com/ov2dev/ov2/stage"
)

// addInbound offloads an inbound AES-GCM-128 SA for 198.51.100.1 and returns a transform
// with its key, to seal test packets.
func addInbound(t testing.TB, ctl *sa.Controller, spi uint32) *esp.Transform {
	return addInboundKey(t, ctl, spi, keyFor(spi, 16))
}

// addInboundKey is addInbound with given key material (key ‖ salt, 20 bytes).
func addInboundKey(t testing.TB, ctl *sa.Controller, spi uint32, km []byte) *esp.Transform {
	b := &sa.Bundle{Flags: ndis.SAInbound, NumExtHdrs: 1, KeyData: km, Dst: netip.MustParseAddr("198.51.100.1"),
		SecAssoc: [2]sa.SecAssoc{{Operation: ndis.OpESP, Spi: spi,
			EncryptionAlgorithm: sa.Algorithm{Identifier: ndis.EncAESGCM128, KeyLength: 20}}}}
	if err := ctl.AddSA([]*sa.Bundle{b}, nil); err != nil {
		t.Fatal(err)
	}
	tr, err := esp.NewTransform(esp.Params{Alg: esp.AESGCM, KeyMat: km})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// sealedFrame is a transport-mode packet of the given wire size sealed with tr.
func sealedFrame(tr *esp.Transform, spi uint32, seq uint32, size int) []byte {
	p := transportPacket(spi, seq, make([]byte, payloadFor(size)), 16, 0)
	f := p.Bytes()
	body := f[20 : len(f)-16]
	esp.PutIV(body, uint64(seq))
	if _, err := tr.Seal(new(esp.Scratch), body, 0); err != nil {
		panic(err)
	}
	return append([]byte(nil), f...)
}

// BenchmarkRecvPath measures the receive path in a closed loop: the benchmark goroutine
// submits sealed frames, a consumer takes the indications, checks each verified, restores
// its sealed bytes (the NIC decrypted it in place) and hands it back through an SPSC ring.
// Compare with BenchmarkRawOpen from the same run (issue target: >= 0.85 at 1400 B, 1 lane).
func BenchmarkRecvPath(b *testing.B) {
	for _, size := range benchSizes {
		for _, lanes := range []int{1, 2} {
			for _, pl := range []stage.Placement{stage.Fused, stage.Split} {
				b.Run(fmt.Sprintf("%dB/%dlane/%s", size, lanes, pl), func(b *testing.B) {
					benchRecv(b, size, lanes, pl)
				})
			}
		}
	}
}

func benchRecv(b *testing.B, size, lanes int, pl stage.Placement) {
	ctl := sa.NewController(64)
	b.Cleanup(ctl.Close)
	path, err := stage.NewRecvPath(stage.Env{SAs: ctl}, stage.Config{Lanes: lanes, Placement: pl})
	if err != nil {
		b.Fatal(err)
	}
	const nSA, inflight, burst = 8, 1024, 32
	sealed := make(map[uint32][]byte, nSA)
	for i := 0; i < nSA; i++ {
		spi := uint32(0x200 + i)
		sealed[spi] = sealedFrame(addInbound(b, ctl, spi), spi, 1, size)
	}
	free, _ := ring.New[*packet.Buffer](2048)
	for i := 0; i < inflight; i++ {
		p := packet.NewBuffer(packet.SmallSize)
		p.SetData(sealed[uint32(0x200+i%nSA)])
		free.EnqueueBurst([]*packet.Buffer{p})
	}
	back, _ := ring.New[*packet.Buffer](2048)
	failed := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]*packet.Buffer, 64)
		for {
			n, err := path.Completions(buf)
			if err != nil {
				back.Close()
				return
			}
			for _, p := range buf[:n] {
				if !p.Rx.CryptoDone || p.Rx.CryptoStatus != ndis.CryptoSuccess {
					failed++
				}
				f := p.Bytes()
				copy(f, sealed[esp.SPI(f[20:])])
			}
			back.EnqueueWait(buf[:n])
		}
	}()
	var out [burst]*packet.Buffer
	var tmp [64]*packet.Buffer
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	report := procCPUPerOp(b)
	for sent := 0; sent < b.N; {
		for k := back.DequeueBurst(tmp[:]); k > 0; k = back.DequeueBurst(tmp[:]) {
			free.EnqueueBurst(tmp[:k])
		}
		n := free.DequeueBurst(out[:min(burst, b.N-sent)])
		if n == 0 {
			n, _ = back.DequeueWait(out[:min(burst, b.N-sent)])
		}
		path.Submit(out[:n])
		sent += n
	}
	path.Close()
	for {
		if _, err := back.DequeueWait(tmp[:]); err != nil {
			break
		}
	}
	<-done
	b.StopTimer()
	report()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mpps")
	if st := path.Stats(); failed != 0 || !st.Balanced() || st.Status[ndis.CryptoSuccess] != st.Received {
		b.Fatalf("%d failed; stats %+v", failed, st)
	}
}

// BenchmarkRawOpen is the single-core limit for the receive path: restore the sealed bytes
// and esp Open them, in a loop on one goroutine, no rings, no lookups.
func BenchmarkRawOpen(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			ctl := sa.NewController(4)
			defer ctl.Close()
			tr := addInbound(b, ctl, 0x200)
			sealed := sealedFrame(tr, 0x200, 1, size)
			f := append([]byte(nil), sealed...)
			s := new(esp.Scratch)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			report := cpuPerOp(b)
			for b.Loop() {
				copy(f, sealed)
				if _, err := tr.Open(s, f[20:], 0); err != nil {
					b.Fatal(err)
				}
			}
			report()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mpps")
		})
	}
}
