package esp

import (
	"fmt"
	"testing"
)

// lane stands for what the pipeline gives each worker: a long-lived heap struct holding its
// Scratch, which is how Scratch is meant to be used.
type lane struct {
	s Scratch
}

// allocConfigs are the transforms whose per-packet allocations the tests and benchmarks watch.
var allocConfigs = []struct {
	name string
	p    Params
}{
	{"AES-GCM-128/ICV16", Params{Alg: AESGCM, KeyMat: make([]byte, 20)}},
	{"AES-GCM-256/ICV12", Params{Alg: AESGCM, KeyMat: make([]byte, 36), ICVLen: 12}},
	{"AES-GCM-128/ICV8", Params{Alg: AESGCM, KeyMat: make([]byte, 20), ICVLen: 8}},
	{"AES-GMAC-128", Params{Alg: AESGMAC, KeyMat: make([]byte, 20)}},
}

// testPacket frames a payloadLen-byte packet with sequence number seq (IV = seq, R-TX-4) in a
// buffer with exactly MaxICVLen of tailroom.
func testPacket(payloadLen int, seq uint64) []byte {
	pad := PadLen(payloadLen)
	pkt := make([]byte, PayloadOffset+payloadLen, PayloadOffset+payloadLen+pad+TrailerLen+MaxICVLen)
	PutHeader(pkt, 0x1000, uint32(seq))
	PutIV(pkt, seq)
	for i := PayloadOffset; i < len(pkt); i++ {
		pkt[i] = byte(i)
	}
	return AppendTrailer(pkt, pad, 4)
}

// TestZeroAllocs: Seal and Open allocate nothing per packet once the lane's Scratch is warm,
// for every transform shape, with and without ESN, on success and on ErrAuth. This is the
// issue's "AllocsPerRun is 0 for seal and open"; SPEC §6 / DESIGN ("a stage never allocates
// per packet"), for every implementation.
func TestZeroAllocs(t *testing.T) {
	forEachImpl(t, testZeroAllocs)
}

func testZeroAllocs(t *testing.T, impl Impl) {
	for _, c := range allocConfigs {
		for _, esn := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/ESN=%v", c.name, esn), func(t *testing.T) {
				p := c.p
				p.ESN = esn
				p.Impl = impl
				tr := mustTransform(t, p)
				l := new(lane)
				const seqHi = 7
				pkt := testPacket(1400, 0x7_00000001)
				sealed, err := tr.Seal(&l.s, pkt, seqHi)
				if err != nil {
					t.Fatal(err)
				}
				template := append([]byte(nil), sealed...)
				rx := make([]byte, len(template))
				open := func() error {
					copy(rx, template)
					_, err := tr.Open(&l.s, rx, seqHi)
					return err
				}
				if err := open(); err != nil { // warms the Scratch buffer
					t.Fatal(err)
				}
				if n := testing.AllocsPerRun(200, func() {
					if _, err := tr.Seal(&l.s, pkt, seqHi); err != nil {
						t.Fatal(err)
					}
				}); n != 0 {
					t.Errorf("Seal: %v allocations per packet, want 0", n)
				}
				if n := testing.AllocsPerRun(200, func() {
					if err := open(); err != nil {
						t.Fatal(err)
					}
				}); n != 0 {
					t.Errorf("Open: %v allocations per packet, want 0", n)
				}
				template[len(template)-1] ^= 1
				if n := testing.AllocsPerRun(200, func() {
					if err := open(); err != ErrAuth {
						t.Fatalf("tampered Open: %v, want ErrAuth", err)
					}
				}); n != 0 {
					t.Errorf("Open (ErrAuth): %v allocations per packet, want 0", n)
				}
			})
		}
	}
}
