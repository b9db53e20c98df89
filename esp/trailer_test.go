package esp

import (
	"bytes"
	"testing"
)

// TestPadLen checks RFC 4303 §2.4 alignment: payload + padding + 2 is a multiple of 4, with
// the least padding. Covers R-TX-6 (the NIC pads LSO segments this way).
func TestPadLen(t *testing.T) {
	for payload, want := range map[int]int{0: 2, 1: 1, 2: 0, 3: 3, 4: 2, 18: 0, 62: 0, 68: 2, 73: 1, 1400: 2, 1401: 1} {
		if got := PadLen(payload); got != want {
			t.Errorf("PadLen(%d) = %d, want %d", payload, got, want)
		}
	}
}

// TestAppendTrailer checks the exact trailer bytes (padding 1, 2, 3, ...; RFC 4303 §2.4) and
// that appending into spare capacity does not allocate. Covers R-TX-6.
func TestAppendTrailer(t *testing.T) {
	tests := []struct {
		in     []byte
		padLen int
		nh     byte
		want   []byte
	}{
		{nil, 0, 4, []byte{0, 4}},
		{[]byte{0xaa}, 1, 41, []byte{0xaa, 1, 1, 41}},
		{[]byte{0xaa, 0xbb, 0xcc}, 3, 59, []byte{0xaa, 0xbb, 0xcc, 1, 2, 3, 3, 59}},
	}
	for _, tc := range tests {
		if got := AppendTrailer(bytes.Clone(tc.in), tc.padLen, tc.nh); !bytes.Equal(got, tc.want) {
			t.Errorf("AppendTrailer(%x, %d, %d) = %x, want %x", tc.in, tc.padLen, tc.nh, got, tc.want)
		}
	}
	long := AppendTrailer(nil, 255, 1)
	if len(long) != 257 || long[0] != 1 || long[254] != 255 || long[255] != 255 || long[256] != 1 {
		t.Errorf("AppendTrailer(nil, 255, 1) = %x", long)
	}
	b := make([]byte, 5, 64)
	if n := testing.AllocsPerRun(100, func() { AppendTrailer(b, 3, 4) }); n != 0 {
		t.Errorf("AppendTrailer into spare capacity: %v allocations, want 0", n)
	}
}

// TestParseTrailer checks the split and every rejection: too short for the trailer (ErrShort),
// pad length running past the front, and padding other than 1, 2, 3, ... (ErrPadding).
// Covers R-RX-6 (the host finds the inner packet from NextHeader and PadLength).
func TestParseTrailer(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		payload []byte
		padLen  int
		nh      byte
		err     error
	}{
		{"empty", nil, nil, 0, 0, ErrShort},
		{"one byte", []byte{4}, nil, 0, 0, ErrShort},
		{"trailer only", []byte{0, 4}, []byte{}, 0, 4, nil},
		{"no padding", []byte{0xde, 0xad, 0, 41}, []byte{0xde, 0xad}, 0, 41, nil},
		{"pad 2", []byte{0xaa, 0xbb, 1, 2, 2, 1}, []byte{0xaa, 0xbb}, 2, 1, nil},
		{"pad fills all", []byte{1, 2, 3, 3, 59}, []byte{}, 3, 59, nil},
		{"pad length 1 with nothing before", []byte{1, 4}, nil, 0, 0, ErrPadding},
		{"pad length past front", []byte{1, 2, 3, 4}, nil, 0, 0, ErrPadding},
		{"pad length 255", []byte{0xaa, 1, 255, 4}, nil, 0, 0, ErrPadding},
		{"padding zeros", []byte{0xaa, 0, 0, 2, 4}, nil, 0, 0, ErrPadding},
		{"padding 2,1", []byte{0xaa, 2, 1, 2, 4}, nil, 0, 0, ErrPadding},
		{"padding 1,2,4", []byte{0xaa, 1, 2, 4, 3, 4}, nil, 0, 0, ErrPadding},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			payload, padLen, nh, err := ParseTrailer(tc.in)
			if err != tc.err || !bytes.Equal(payload, tc.payload) || (payload == nil) != (tc.payload == nil) ||
				padLen != tc.padLen || nh != tc.nh {
				t.Errorf("ParseTrailer(%x) = %x, %d, %d, %v; want %x, %d, %d, %v",
					tc.in, payload, padLen, nh, err, tc.payload, tc.padLen, tc.nh, tc.err)
			}
		})
	}
	full := AppendTrailer([]byte{9}, 255, 6)
	if payload, padLen, nh, err := ParseTrailer(full); err != nil || !bytes.Equal(payload, []byte{9}) || padLen != 255 || nh != 6 {
		t.Errorf("ParseTrailer(255 bytes of padding) = %x, %d, %d, %v", payload, padLen, nh, err)
	}
}
