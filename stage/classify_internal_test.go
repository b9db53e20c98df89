package stage

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/sa"
)

// The fast path of classifyRx (plainESPv4) fills the same Meta and lane key as the parse
// through rxparse, for every frame it takes, and takes the plain IPv4 ESP frames.
func TestPlainESPv4(t *testing.T) {
	base := make([]byte, 64)
	base[0], base[9] = 0x45, 50
	binary.BigEndian.PutUint16(base[2:], 64)
	copy(base[16:20], []byte{10, 0, 0, 2})
	binary.BigEndian.PutUint32(base[20:], 0x1234)
	rng := rand.New(rand.NewPCG(1, 2))
	fast, b := 0, packet.NewBuffer(256)
	for i := range 200000 {
		f := append([]byte(nil), base...)
		if i > 0 {
			// Mutate the bytes the fast path looks at, and the length.
			for range 1 + rng.IntN(3) {
				switch rng.IntN(5) {
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
		if _, _, ok := plainESPv4(f); ok {
			fast++
			if want := uint64(b.Meta.SPI); gotKey != want {
				t.Fatalf("frame % x: lane key %#x, want %#x", f, gotKey, want)
			}
		}
	}
	if fast < 1000 {
		t.Fatalf("only %d frames took the fast path", fast)
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
