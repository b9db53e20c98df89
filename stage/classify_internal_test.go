package stage

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/sa"
)

// The fast paths of classifyRx (plainESPv4, plainAHv4) fill the same Meta and lane key as
// the parse through rxparse, for every frame they take, and take the plain IPv4 ESP and AH
// frames (AH alone, and AH over ESP).
func TestPlainESPv4(t *testing.T) {
	esp := make([]byte, 64)
	esp[0], esp[9] = 0x45, 50
	binary.BigEndian.PutUint16(esp[2:], 64)
	copy(esp[16:20], []byte{10, 0, 0, 2})
	binary.BigEndian.PutUint32(esp[20:], 0x1234)
	ah := append([]byte(nil), esp...)
	ah[9] = 51
	ah[20], ah[21] = 17, 4 // next header UDP; AH of (4+2)*4 = 24 bytes
	binary.BigEndian.PutUint32(ah[24:], 0x5678)
	bundle := append([]byte(nil), ah...)
	bundle[20] = 50
	bases := [][]byte{esp, ah, bundle}
	rng := rand.New(rand.NewPCG(1, 2))
	var fast [3]int
	b := packet.NewBuffer(256)
	for i := range 300000 {
		kind := i % len(bases)
		f := append([]byte(nil), bases[kind]...)
		if i >= len(bases) {
			// Mutate the bytes the fast paths look at, and the length.
			for range 1 + rng.IntN(3) {
				switch rng.IntN(7) {
				case 0:
					f[0] = []byte{0x45, 0x46, 0x44, 0x65, 0x4f, 0x35}[rng.IntN(6)]
				case 1:
					f[9] = []byte{50, 51, 17, 6, 0}[rng.IntN(5)]
				case 2:
					binary.BigEndian.PutUint16(f[6:], []uint16{0, 0x4000, 0x2000, 0x0001, 0x1fff, 0x8000}[rng.IntN(6)])
				case 3:
					binary.BigEndian.PutUint16(f[2:], uint16(rng.IntN(80)))
				case 4:
					f[rng.IntN(len(f))] = byte(rng.Uint32())
				case 5:
					f[21] = []byte{0, 1, 4, 8, 9, 10, 255}[rng.IntN(7)] // AH length
				case 6:
					f[20] = []byte{50, 17, 4, 51}[rng.IntN(4)] // AH next header
				}
			}
			if rng.IntN(4) == 0 {
				f = f[:rng.IntN(len(f)+1)]
			}
		}
		if err := b.SetData(f); err != nil {
			t.Fatal(err)
		}
		b.Rx.Handle = 7
		classifyRx(b)
		got, gotRx := b.Meta, b.Rx
		gotKey := rxLaneKey(b)
		b.Meta = packet.Meta{SPI: 99}
		classifyRxParsed(b, b.Bytes())
		if got != b.Meta || gotRx != (packet.RxInfo{}) {
			t.Fatalf("frame % x: fast Meta %+v (Rx %+v), parsed %+v", f, got, gotRx, b.Meta)
		}
		_, _, espOK := plainESPv4(f)
		_, _, _, ahOK := plainAHv4(f)
		if espOK || ahOK {
			if want := uint64(b.Meta.SPI); gotKey != want {
				t.Fatalf("frame % x: lane key %#x, want %#x", f, gotKey, want)
			}
		}
		switch {
		case espOK:
			fast[0]++
		case ahOK && b.Meta.ESP != 0:
			fast[2]++
		case ahOK:
			fast[1]++
		}
	}
	for k, n := range fast {
		if n < 1000 {
			t.Fatalf("only %d frames took the fast path for base %d (ESP, AH, AH over ESP)", n, k)
		}
	}
}

// saCounts publishes exactly what was added, for any number of SA parts in a burst.
func TestSACounts(t *testing.T) {
	states := make([]*sa.State, 40)
	for i := range states {
		states[i] = new(sa.State)
	}
	want := make([][2]uint64, len(states))
	var c saCounts
	rng := rand.New(rand.NewPCG(3, 4))
	for burst := range 500 {
		k := 1 + burst%len(states)
		for range 64 {
			i := rng.IntN(k)
			n := rng.IntN(2000)
			c.add(states[i], n)
			want[i][0]++
			want[i][1] += uint64(n)
		}
		c.flush()
		for i, s := range states {
			if s.Packets.Load() != want[i][0] || s.Bytes.Load() != want[i][1] {
				t.Fatalf("burst %d: state %d counted %d packets %d bytes, want %d %d",
					burst, i, s.Packets.Load(), s.Bytes.Load(), want[i][0], want[i][1])
			}
		}
	}
}
