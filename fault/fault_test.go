package fault

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/ov2dev/ov2/internal/inet"
)

// espFrame is an IPv4 ESP packet: header, SPI 0x01020304, seq 5, IV, 20 bytes of payload,
// 16 bytes standing for the ICV.
func espFrame() []byte {
	f := make([]byte, 20+16+20+16, 100)
	f[0], f[8], f[9] = 0x45, 64, 50
	binary.BigEndian.PutUint16(f[2:], uint16(len(f)))
	copy(f[12:], []byte{192, 0, 2, 1})
	copy(f[16:], []byte{198, 51, 100, 1})
	inet.IPv4(f[:20]).SetChecksum()
	binary.BigEndian.PutUint32(f[20:], 0x01020304)
	binary.BigEndian.PutUint32(f[24:], 5)
	for i := 36; i < len(f); i++ {
		f[i] = byte(i)
	}
	return f
}

// Each fault changes exactly what it says, and the IP header stays valid.
func TestApply(t *testing.T) {
	orig := espFrame()
	cases := []struct {
		k     Kind
		check func(f []byte) bool
	}{
		{None, func(f []byte) bool { return bytes.Equal(f, orig) }},
		{CorruptICV, func(f []byte) bool {
			return f[len(f)-1] == orig[len(orig)-1]^1 && bytes.Equal(f[:len(f)-1], orig[:len(orig)-1])
		}},
		{CorruptCiphertext, func(f []byte) bool { return f[36] == orig[36]^0x80 && bytes.Equal(f[37:], orig[37:]) }},
		{Truncate, func(f []byte) bool { return len(f) == len(orig)-4 && binary.BigEndian.Uint16(f[2:]) == uint16(len(f)) }},
		{TruncateHeader, func(f []byte) bool { return len(f) == 26 && binary.BigEndian.Uint16(f[2:]) == 26 }},
		{WrongSPI, func(f []byte) bool { return binary.BigEndian.Uint32(f[20:]) == 0x01020305 }},
		{WrongDestination, func(f []byte) bool { return f[19] == 2 && bytes.Equal(f[20:], orig[20:]) }},
		{IPv4Options, func(f []byte) bool {
			return f[0] == 0x46 && bytes.Equal(f[20:24], []byte{1, 1, 1, 0}) && bytes.Equal(f[24:], orig[20:]) &&
				binary.BigEndian.Uint16(f[2:]) == uint16(len(orig)+4)
		}},
	}
	for _, tc := range cases {
		f, err := Apply(tc.k, espFrame())
		if err != nil {
			t.Fatalf("%v: %v", tc.k, err)
		}
		if !tc.check(f) {
			t.Errorf("%v: frame %x", tc.k, f)
		}
		if !inet.IPv4(f).ChecksumValid() {
			t.Errorf("%v: IPv4 checksum no longer valid", tc.k)
		}
	}
	if _, err := Apply(CorruptICV, []byte{0x45, 0, 0}); !errors.Is(err, ErrNotESP) {
		t.Errorf("short frame: %v", err)
	}
	if _, err := Apply(NumKinds, espFrame()); err == nil {
		t.Error("unknown kind accepted")
	}
}
