package lso

import (
	"fmt"

	"github.com/ov2dev/ov2/internal/inet"
)

// Params are the large send's OOB facts (MSS, PadLength, the trailer's next header, R-TX-6)
// and the SA facts segmentation needs (ICV length, the high half of the sequence number, ESN).
// The host fills the first three per packet; the last three come from the SA the send is
// bound to.
type Params struct {
	// MSS is the TCP payload bytes per segment (LsoV2Transmit.MSS); it must be > 0.
	MSS int
	// PadLength is how many bytes of host padding end the frame; they are discarded.
	PadLength int
	// NextHeader is the ESP trailer's next header: 6 (TCP) in transport mode, 4 (IPv4) or
	// 41 (IPv6) in tunnel mode. It also tells Prepare which mode the frame is in, since the
	// ESP payload is not self-describing.
	NextHeader byte
	// ICVLen is the room to leave after the trailer for the ICV: 8, 12 or 16.
	ICVLen int
	// SeqHi is the SA's current high half of the 64-bit sequence number; the frame's ESP
	// header carries the low half, and S = SeqHi<<32 | low. Without ESN it should be 0;
	// anything else puts S past 2^32-1 and is refused.
	SeqHi uint32
	// ESN says whether the SA uses 64-bit extended sequence numbers (RFC 4303 §2.2.1).
	ESN bool
}

// check validates the fields that do not need the frame.
func (p *Params) check(frameLen int) error {
	if p.MSS <= 0 {
		return fmt.Errorf("%w: MSS %d: want > 0", ErrMalformed, p.MSS)
	}
	if p.PadLength < 0 || p.PadLength > frameLen {
		return fmt.Errorf("%w: PadLength %d: want 0 to %d (the frame length)", ErrMalformed, p.PadLength, frameLen)
	}
	switch p.ICVLen {
	case 8, 12, 16:
	default:
		return fmt.Errorf("%w: ICV length %d: want 8, 12 or 16", ErrUnsupported, p.ICVLen)
	}
	switch p.NextHeader {
	case inet.ProtoTCP, inet.ProtoIPv4, inet.ProtoIPv6:
	default:
		return fmt.Errorf("%w: ESP next header %d: want 6 (TCP, transport mode), 4 or 41 (IPv4 or IPv6, tunnel mode)",
			ErrUnsupported, p.NextHeader)
	}
	return nil
}
