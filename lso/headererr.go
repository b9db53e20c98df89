package lso

import (
	"errors"
	"fmt"

	"github.com/ov2dev/ov2/internal/inet"
)

// headerErr turns an inet Parse error into an ErrMalformed that says which header, where, and
// the value that was wrong. b runs from the header's offset to the end of the data it must fit
// in; minLen is the header's fixed minimum length. It exists so every header of the frame
// reports its faults in the same words.
func headerErr(name string, off int, b []byte, minLen int, err error) error {
	switch {
	case errors.Is(err, inet.ErrTruncated):
		want := minLen
		if hl := declaredLen(name, b); hl > want {
			want = hl
		}
		return fmt.Errorf("%w: %s at offset %d: %w: %d bytes left, want %d", ErrMalformed, name, off, err, len(b), want)
	case errors.Is(err, inet.ErrVersion):
		return fmt.Errorf("%w: %s at offset %d: %w: version %d", ErrMalformed, name, off, err, b[0]>>4)
	case errors.Is(err, inet.ErrHeaderLen):
		return fmt.Errorf("%w: %s at offset %d: %w: %d words", ErrMalformed, name, off, err, headerWords(name, b))
	}
	return fmt.Errorf("%w: %s at offset %d: %w", ErrMalformed, name, off, err)
}

// declaredLen is the header length a header claims, when enough of it is there to say
// (IPv4 IHL, TCP data offset); 0 otherwise.
func declaredLen(name string, b []byte) int {
	if n := headerWords(name, b); n >= 5 {
		return n * 4
	}
	return 0
}

// headerWords reads the 4-byte-word length field of an IPv4 or TCP header, or -1 when b does
// not reach it or the header has none.
func headerWords(name string, b []byte) int {
	switch name {
	case outerIPv4, innerIPv4:
		if len(b) >= 1 {
			return int(b[0] & 0x0f)
		}
	case tcpHeader:
		if len(b) >= 13 {
			return int(b[12] >> 4)
		}
	}
	return -1
}

// Header names as errors print them.
const (
	outerIPv4 = "outer IPv4 header"
	outerIPv6 = "outer IPv6 header"
	innerIPv4 = "inner IPv4 header"
	innerIPv6 = "inner IPv6 header"
	udpHeader = "UDP header"
	tcpHeader = "TCP header"
)
