package stage_test

import (
	"encoding/binary"
	"github.com/ov2dev/ov2/internal/inet"
	"net/netip"
	"sync"
	"testing"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/ndis"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/sa"
	"github.com/ov2dev/ov2/stage"
)

// rig is a send path over a bare SA store, with a completion collector.
type rig struct {
	t     testing.TB
	ctl   *sa.Controller
	path  *stage.SendPath
	espOn [2]bool // [IPv4, IPv6]
	mu    sync.Mutex
}

func newRig(t testing.TB, cfg stage.SendConfig) *rig {
	r := &rig{t: t, ctl: sa.NewController(1 << 16), espOn: [2]bool{true, true}}
	var err error
	r.path, err = stage.NewSendPath(stage.Env{
		SAs: r.ctl,
		ESPAllowed: func(v6 bool) bool {
			r.mu.Lock()
			defer r.mu.Unlock()
			if v6 {
				return r.espOn[1]
			}
			return r.espOn[0]
		},
	}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.ctl.Close)
	return r
}

// keyFor derives a distinct AES-128 key and salt from an SPI.
func keyFor(spi uint32, keyLen int) []byte {
	k := make([]byte, keyLen+4)
	for i := range k {
		k[i] = byte(spi*7+uint32(i)*13) ^ 0xa5
	}
	return k
}

// addPair offloads an outbound SA and returns its handle and an independent transform
// with the same key, to open what the NIC sealed.
func (r *rig) addPair(spi uint32, alg esp.Algorithm, keyLen, icv int, esnHi uint32, esn bool) (sa.Handle, *esp.Transform) {
	r.t.Helper()
	km := keyFor(spi, keyLen)
	id := map[int]uint32{16: ndis.EncAESGCM128, 24: ndis.EncAESGCM192, 32: ndis.EncAESGCM256}[keyLen]
	s := sa.SecAssoc{Operation: ndis.OpESP, Spi: spi, SequenceNumberHighOrder: esnHi}
	keyAlg := sa.Algorithm{Identifier: id, KeyLength: uint32(len(km)), AdditionalInfo: uint32(icv)}
	if alg == esp.AESGMAC {
		s.EncryptionAlgorithm, s.AuthenticationAlgorithm = sa.Algorithm{Identifier: ndis.EncNone}, keyAlg
	} else {
		s.EncryptionAlgorithm = keyAlg
	}
	if esn {
		s.Flags = ndis.SAFlagESN
	}
	b := &sa.Bundle{NumExtHdrs: 1, SecAssoc: [2]sa.SecAssoc{s}, KeyData: km,
		Dst: netip.MustParseAddr("198.51.100.1")}
	if err := r.ctl.AddSA([]*sa.Bundle{b}, nil); err != nil {
		r.t.Fatal(err)
	}
	tr, err := esp.NewTransform(esp.Params{Alg: alg, KeyMat: km, ICVLen: icv, ESN: esn})
	if err != nil {
		r.t.Fatal(err)
	}
	return b.OffloadHandle, tr
}

// run submits the packets from one goroutine and collects every completion on another.
func (r *rig) run(pkts []*packet.Buffer) []*packet.Buffer {
	var out []*packet.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]*packet.Buffer, 64)
		for {
			n, err := r.path.Completions(buf)
			if err != nil {
				return
			}
			out = append(out, buf[:n]...)
		}
	}()
	r.path.Submit(pkts)
	r.path.Close()
	<-done
	r.path.Wait()
	return out
}

// ipv4 builds an IPv4 header of n total bytes with the given protocol.
func ipv4(h []byte, n int, proto byte, src, dst string) {
	h[0], h[1] = 0x45, 0
	binary.BigEndian.PutUint16(h[2:], uint16(n))
	binary.BigEndian.PutUint32(h[4:], 0x12340000)
	h[8], h[9] = 64, proto
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	copy(h[12:], s[:])
	copy(h[16:], d[:])
	inet.IPv4(h[:20]).SetChecksum()
}

// transportPacket frames an IPv4 transport-mode ESP packet as the host would: header,
// ESP header with seqLo, IV space, payload, RFC 4303 trailer (next header 17), ICV room.
func transportPacket(spi, seqLo uint32, payload []byte, icv int, handle sa.Handle) *packet.Buffer {
	pad := esp.PadLen(len(payload))
	n := 20 + 16 + len(payload) + pad + 2 + icv
	b := packet.NewBuffer(packet.SmallSize)
	f := b.Append(n)
	ipv4(f, n, 50, "192.0.2.1", "198.51.100.1")
	esp.PutHeader(f[20:], spi, seqLo)
	copy(f[36:], payload)
	esp.AppendTrailer(f[36+len(payload):36+len(payload)], pad, 17)
	b.Tx.OffloadHandle = uint64(handle)
	b.Tx.EspHeaderOffset = 5
	return b
}

// openTransport opens a completed transport packet with tr and returns the payload.
func openTransport(t testing.TB, tr *esp.Transform, f []byte, seqHi uint32) []byte {
	t.Helper()
	pkt := append([]byte(nil), f[20:]...)
	plain, err := tr.Open(new(esp.Scratch), pkt, seqHi)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	payload, _, nh, err := esp.ParseTrailer(plain)
	if err != nil || nh != 17 {
		t.Fatalf("trailer: nh %d err %v", nh, err)
	}
	return payload
}
