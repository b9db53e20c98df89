package inet

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// refSum is the textbook RFC 1071 loop, 16 bits at a time with a 32-bit accumulator folded at
// the end; Checksum's 64-bit loop must agree with it on every length and alignment.
func refSum(b []byte, initial uint32) uint32 {
	sum := uint64(initial)
	for len(b) >= 2 {
		sum += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint64(b[0]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return uint32(sum)
}

// TestChecksumRFC1071Example is the worked example of RFC 1071 §3: the bytes 00 01 f2 03 f4 f5
// f6 f7 sum to 0xddf2, whose complement 0x220d is the checksum.
func TestChecksumRFC1071Example(t *testing.T) {
	b := []byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}
	if got := Checksum(b, 0); got != 0xddf2 {
		t.Fatalf("Checksum = %#04x, want 0xddf2", got)
	}
	if got := Finish(Checksum(b, 0)); got != 0x220d {
		t.Fatalf("Finish = %#04x, want 0x220d", got)
	}
	// The same words in two pieces (split on an even boundary) give the same sum.
	if got := Checksum(b[4:], Checksum(b[:4], 0)); got != 0xddf2 {
		t.Fatalf("chained Checksum = %#04x, want 0xddf2", got)
	}
}

// TestChecksumEdgeValues pins the values where a carry can be lost: all-ones words, an odd
// final byte, the empty input and a large initial value.
func TestChecksumEdgeValues(t *testing.T) {
	ones := make([]byte, 4096)
	for i := range ones {
		ones[i] = 0xff
	}
	cases := []struct {
		name    string
		b       []byte
		initial uint32
		want    uint32
	}{
		{"empty", nil, 0, 0},
		{"empty, initial folded", nil, 0x0001_fffe, 0xffff},
		{"one byte", []byte{0xab}, 0, 0xab00},
		{"three bytes", []byte{0x12, 0x34, 0x56}, 0, 0x1234 + 0x5600},
		{"0xffff words", ones, 0, 0xffff},
		{"0xffff words, odd", ones[:4095], 0, 0xff00},
		{"0x8000 twice", []byte{0x80, 0, 0x80, 0}, 0, 0x0001},
		{"max initial", []byte{0, 1}, 0xffffffff, 0x0001},
	}
	for _, c := range cases {
		if got := Checksum(c.b, c.initial); got != c.want {
			t.Errorf("%s: Checksum = %#x, want %#x", c.name, got, c.want)
		}
	}
	if got := Finish(0x1fffe); got != 0 {
		t.Errorf("Finish(0x1fffe) = %#x, want 0 (0x1fffe folds to 0xffff)", got)
	}
}

// TestChecksumMatchesReference compares the 64-bit loop with the 16-bit reference on random
// data of every length up to 300 bytes (all tail shapes) and on 64 KiB inputs.
func TestChecksumMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 65536)
	for i := range buf {
		buf[i] = byte(r.Uint32())
	}
	for n := 0; n <= 300; n++ {
		for _, off := range []int{0, 1, 3} {
			b := buf[off : off+n]
			init := r.Uint32()
			if got, want := Checksum(b, init), refSum(b, init); got != want {
				t.Fatalf("len %d off %d: Checksum = %#x, reference %#x", n, off, got, want)
			}
		}
	}
	if got, want := Checksum(buf, 0), refSum(buf, 0); got != want {
		t.Fatalf("64 KiB: Checksum = %#x, reference %#x", got, want)
	}
	for i := range buf {
		buf[i] = 0xff
	}
	if got := Checksum(buf, 0xffffffff); got != 0xffff {
		t.Fatalf("64 KiB of 0xff: Checksum = %#x, want 0xffff", got)
	}
}

// TestPseudoHeaders checks the pseudo-header sums against the bytes RFC 9293 §3.1 and RFC 8200
// §8.1 lay out, summed by the reference loop.
func TestPseudoHeaders(t *testing.T) {
	src4 := []byte{192, 0, 2, 1}
	dst4 := []byte{198, 51, 100, 7}
	ph4 := append(append(append([]byte{}, src4...), dst4...), 0, ProtoTCP, 0x05, 0xdc)
	if got, want := Checksum(nil, PseudoHeaderIPv4(src4, dst4, ProtoTCP, 1500)), refSum(ph4, 0); got != want {
		t.Errorf("IPv4 pseudo-header sum %#x, want %#x", got, want)
	}
	src6 := []byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}
	dst6 := []byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xfe}
	ph6 := append(append(append([]byte{}, src6...), dst6...), 0, 0, 0xff, 0xff, 0, 0, 0, ProtoUDP)
	if got, want := Checksum(nil, PseudoHeaderIPv6(src6, dst6, ProtoUDP, 0xffff)), refSum(ph6, 0); got != want {
		t.Errorf("IPv6 pseudo-header sum %#x, want %#x", got, want)
	}
}

// PseudoHeader picks the pseudo-header of the packet's IP version.
func TestPseudoHeader(t *testing.T) {
	v4 := make([]byte, 20)
	v4[0] = 0x45
	copy(v4[12:], []byte{10, 0, 0, 1, 192, 168, 7, 9})
	v6 := make([]byte, 40)
	v6[0] = 0x60
	for i := 8; i < 40; i++ {
		v6[i] = byte(i * 5)
	}
	if got, want := PseudoHeader(v4, ProtoTCP, 1234), PseudoHeaderIPv4(v4[12:16], v4[16:20], ProtoTCP, 1234); got != want {
		t.Errorf("IPv4: %#x, want %#x", got, want)
	}
	if got, want := PseudoHeader(v6, ProtoUDP, 1234), PseudoHeaderIPv6(v6[8:24], v6[24:40], ProtoUDP, 1234); got != want {
		t.Errorf("IPv6: %#x, want %#x", got, want)
	}
}
