package inet

import "errors"

// Errors from the Parse functions. They are bare sentinels so that a parse failure costs no
// allocation; callers wrap them with the header's name and the offending value.
var (
	// ErrTruncated means the bytes end before the header does.
	ErrTruncated = errors.New("inet: header truncated")
	// ErrVersion means the IP version nibble is not the one asked for.
	ErrVersion = errors.New("inet: wrong IP version")
	// ErrHeaderLen means a header-length field (IPv4 IHL, TCP data offset) is below its
	// minimum of 5 words.
	ErrHeaderLen = errors.New("inet: header length field below 5")
)
