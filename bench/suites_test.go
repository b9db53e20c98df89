package bench

import (
	"context"
	"testing"
	"time"

	"github.com/ov2dev/ov2/esp"
)

var newAlgos = []Algo{AES128CBCSHA256, AES256CBCSHA1, NULLSHA256, AHSHA256}

// Every size frames a packet of the wire size layout says, which is the size asked for
// wherever the suite can make it, and for AES-CBC the nearest whole number of blocks; the
// ESP payload and trailer fill the suite's boundary with no further padding.
func TestAlgoLayout(t *testing.T) {
	for a := AES128GCM; a < numAlgos; a++ {
		for w := MinSize; w <= MaxSize; w += 4 {
			p, n := a.layout(w)
			if p < 8 {
				t.Fatalf("%s %d: payload %d", a, w, p)
			}
			if a.espAlg() != esp.AESCBC && n != w {
				t.Fatalf("%s %d: framed %d bytes", a, w, n)
			}
			if d := n - w; a.espAlg() == esp.AESCBC && w >= 80 && (d > 8 || d < -8) {
				t.Fatalf("%s %d: framed %d bytes, more than half a block away", a, w, n)
			}
			if !a.isAH() && (p+2)%a.espAlg().PadAlign() != 0 {
				t.Fatalf("%s %d: payload %d needs padding", a, w, p)
			}
		}
	}
	if _, n := AES128CBCSHA256.layout(64); n != 76 {
		t.Errorf("aes128cbc-sha256 at 64 B: %d", n)
	}
	if _, n := AES256CBCSHA1.layout(1400); n != 1400 {
		t.Errorf("aes256cbc-sha1 at 1400 B: %d", n)
	}
	if got := AES128GCM.segmentWire(); got != LSOSegmentWire {
		t.Errorf("AES-GCM LSO segment %d, want %d", got, LSOSegmentWire)
	}
	if ParseAlgosOK := func() bool {
		as, err := ParseAlgos("aes128cbc-sha256,AES256CBC-SHA1,null-sha256,ah-sha256")
		return err == nil && len(as) == 4 && as[0] == AES128CBCSHA256 && as[3] == AHSHA256
	}(); !ParseAlgosOK {
		t.Error("ParseAlgos of the new names")
	}
}

// Issue 11: the new algorithms run in every mode through the real NIC, verify (the preflight
// opens every sealed packet with the peer's transforms; every decrypted one must be
// CRYPTO_SUCCESS), allocate nothing per packet, and are compared with their raw limit
// (crypto/aes CBC and crypto/hmac) over the same bytes.
func TestRunSuites(t *testing.T) {
	if testing.Short() {
		t.Skip("real run")
	}
	res, err := Run(context.Background(), Options{
		Sizes: []Size{{Kind: Fixed, Bytes: 64}, {Kind: Fixed, Bytes: 1400}}, Modes: []Mode{Encrypt, Decrypt, Roundtrip},
		Algos: newAlgos, Duration: 100 * time.Millisecond, Warmup: 20 * time.Millisecond, RawDuration: 20 * time.Millisecond,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, res, len(newAlgos)*2*3)
	for _, r := range res.Rows {
		a, _ := ParseAlgo(r.Algo)
		size, _ := ParseSize(r.Size)
		if r.WireBytes != a.meanWire(size) {
			t.Errorf("%s %s: wire bytes %v", r.Algo, r.Size, r.WireBytes)
		}
		t.Logf("%-9s %-16s %4s: %.3f Mpps, raw %.3f, ratio %.2f, %s", r.Mode, r.Algo, r.Size, r.Mpps, r.RawMpps, r.Ratio, r.Impl)
	}
	for _, r := range res.Raw {
		if !r.Derived && perPacketAllocs(r.AllocsPerPacket) && !raceEnabled {
			t.Errorf("raw %s %s %s: %v allocations per packet", r.Op, r.Algo, r.Size, r.AllocsPerPacket)
		}
	}
}

// R-TX-6 with the new algorithms: large sends over AES-CBC and AH, cut into segments that
// each get their own trailer or AH header.
func TestRunSuitesLSO(t *testing.T) {
	if testing.Short() {
		t.Skip("real run")
	}
	res, err := Run(context.Background(), Options{
		Sizes: []Size{{Kind: LSO64K}}, Modes: []Mode{Encrypt, Roundtrip}, Algos: []Algo{AES128CBCSHA256, AHSHA256},
		Duration: 300 * time.Millisecond, Warmup: 30 * time.Millisecond, RawDuration: 20 * time.Millisecond,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, res, 4)
	for _, r := range res.Rows {
		a, _ := ParseAlgo(r.Algo)
		if r.LargeSends == 0 || r.WireBytes != float64(a.segmentWire()) || r.Bytes != r.Packets*uint64(a.segmentWire()) {
			t.Errorf("%s %s: %+v", r.Mode, r.Algo, r)
		}
	}
}
