package bench

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"testing"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/packet"
)

// TestTwinIV checks twinIV's keystream against crypto/cipher's GCM: sealing zeros with the
// IV it found (RFC 4106 nonce: salt ‖ IV) gives a ciphertext whose last two bytes are zero,
// for both key sizes and ciphertext lengths whose last two bytes fall in one block or
// straddle two.
func TestTwinIV(t *testing.T) {
	for _, keyLen := range []int{16, 32} {
		for _, ctLen := range []int{18, 33, 48, 1372} {
			km := keyMat(0x1234, keyLen)
			iv, err := twinIV(km, ctLen, 77)
			if err != nil {
				t.Fatal(err)
			}
			if iv < 77 {
				t.Fatalf("IV %d before the start", iv)
			}
			blk, _ := aes.NewCipher(km[:keyLen])
			g, _ := cipher.NewGCM(blk)
			nonce := make([]byte, 12)
			copy(nonce, km[keyLen:])
			binary.BigEndian.PutUint64(nonce[4:], iv)
			ks := g.Seal(nil, nonce, make([]byte, ctLen), nil)[:ctLen]
			if ks[ctLen-2] != 0 || ks[ctLen-1] != 0 {
				t.Fatalf("key %d B, %d B: keystream ends %x with IV %d", keyLen, ctLen, ks[ctLen-2:], iv)
			}
			// And it is the first such IV from the start.
			for v := uint64(77); v < iv; v++ {
				binary.BigEndian.PutUint64(nonce[4:], v)
				if k := g.Seal(nil, nonce, make([]byte, ctLen), nil)[:ctLen]; k[ctLen-2] == 0 && k[ctLen-1] == 0 {
					t.Fatalf("IV %d also works and comes first", v)
				}
			}
		}
	}
}

// TestTwinPasses runs a twin template through the NIC's own receive transform the way a
// decrypt row does: open in place, rearm, open again, ten passes; every pass verifies, the
// packet alternates between the two states byte for byte, and a packet whose ICV the
// harness does not know is refused.
func TestTwinPasses(t *testing.T) {
	for _, a := range []Algo{AES128GCM, AES256GCM} {
		const spi = 0x4242
		pr, err := peerFor(spi, a)
		if err != nil {
			t.Fatal(err)
		}
		nic, err := peerFor(spi, a) // the NIC's side: the same keys
		if err != nil {
			t.Fatal(err)
		}
		b := packet.NewBuffer(packet.SmallSize)
		frameSmall(b, a, 1400, spi, 9, 1)
		tw, err := pr.sealTwin(b.Bytes(), spi, keyMat(spi, a.keyLen()), map[twinKey]uint64{})
		if err != nil {
			t.Fatal(err)
		}
		tm := template{frame: append([]byte(nil), b.Bytes()...), twin: tw}
		f := b.Bytes()
		var stateB []byte
		for pass := range 10 {
			if _, err := nic.esp.Open(new(esp.Scratch), f[20:], 0); err != nil {
				t.Fatalf("%v pass %d: %v", a, pass, err)
			}
			if !tm.rearm(f) {
				t.Fatalf("%v pass %d: rearm refused", a, pass)
			}
			switch {
			case pass%2 == 1 && !bytes.Equal(f, tm.frame):
				t.Fatalf("%v pass %d: not back in state A", a, pass)
			case pass == 0:
				stateB = append([]byte(nil), f...)
				if bytes.Equal(f, tm.frame) || !bytes.Equal(f[len(f)-16:], tw) {
					t.Fatalf("%v: pass 0 did not reach state B", a)
				}
			case pass%2 == 0 && !bytes.Equal(f, stateB):
				t.Fatalf("%v pass %d: not in state B", a, pass)
			}
		}
		f[len(f)-1] ^= 1
		if tm.rearm(f) {
			t.Fatalf("%v: rearm took an unknown ICV", a)
		}
	}
}
