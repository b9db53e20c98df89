package inet

import "testing"

// FuzzParseAndChecksum: the Parse functions never panic and return views within their input,
// and Checksum agrees with the RFC 1071 reference loop on any bytes and any starting value.
func FuzzParseAndChecksum(f *testing.F) {
	f.Add([]byte{0x45, 0, 0, 0x73, 0, 0, 0x40, 0, 0x40, 0x11, 0xb8, 0x61, 192, 168, 0, 1, 192, 168, 0, 199}, uint32(0))
	f.Add([]byte{0x46, 0, 0, 0x18}, uint32(0xffffffff))
	f.Fuzz(func(t *testing.T, b []byte, initial uint32) {
		if got, want := Checksum(b, initial), refSum(b, initial); got != want {
			t.Fatalf("Checksum(%x, %#x) = %#x, reference %#x", b, initial, got, want)
		}
		if h, err := ParseIPv4(b); err == nil && (len(h) != h.HeaderLen() || len(h) > len(b) || h.Version() != 4) {
			t.Fatalf("ParseIPv4 returned %d bytes, IHL says %d", len(h), h.HeaderLen())
		}
		if h, err := ParseIPv6(b); err == nil && (len(h) != IPv6HeaderLen || h.Version() != 6) {
			t.Fatalf("ParseIPv6 returned %d bytes", len(h))
		}
		if h, err := ParseTCP(b); err == nil && (len(h) != h.DataOffset() || len(h) > len(b)) {
			t.Fatalf("ParseTCP returned %d bytes, data offset says %d", len(h), h.DataOffset())
		}
		if h, err := ParseUDP(b); err == nil && len(h) != UDPHeaderLen {
			t.Fatalf("ParseUDP returned %d bytes", len(h))
		}
	})
}
