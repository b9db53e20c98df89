package lso

import "errors"

// Errors from Prepare, always wrapped with %w and a clause naming the field and its value, so
// errors.Is sorts them and the text says what to fix. Building that text allocates; that is
// accepted because a refused large send is a host bug (the host frames these, the wire does
// not), not traffic that can arrive in a flood. The success path allocates nothing.
var (
	// ErrMalformed means the frame or the OOB contradict themselves: a header is cut short, a
	// length field disagrees with the frame, PadLength or MSS are out of range, the frame is
	// not ESP, or there is no TCP payload.
	ErrMalformed = errors.New("lso: malformed large send")
	// ErrUnsupported means a well-formed large send that this NIC does not segment: IPv6
	// extension headers, AH, a non-TCP inner protocol, an ICV length other than 8, 12 or 16.
	ErrUnsupported = errors.New("lso: unsupported large send")
	// ErrSeqExhausted means the segments would need a sequence number the SA may not use
	// (R-TX-8): 0, past 2^32-1 without ESN, or past 2^64-1 with ESN.
	ErrSeqExhausted = errors.New("lso: sequence numbers exhausted")
)
