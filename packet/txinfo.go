package packet

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/ov2dev/ov2/ndis"
)

// Limits of the LsoV2Transmit bit fields.
const (
	// MaxMSS is the largest MSS the 20-bit LsoV2Transmit.MSS field holds.
	MaxMSS = 1<<20 - 1
	// MaxTCPHeaderOffset is the largest offset the 10-bit LsoV2Transmit.TcpHeaderOffset
	// field holds.
	MaxTCPHeaderOffset = 1<<10 - 1
)

// Bits of the LsoV2Transmit word beyond MSS and TcpHeaderOffset.
const (
	lsoTypeV2   = 1 << 30 // Type: NDIS_TCP_LARGE_SEND_OFFLOAD_V2_TYPE
	lsoReserved = 1 << 31 // Reserved2: must be zero
)

// ErrTxInfo is wrapped by every error about send OOB information, so that a caller can
// count them as one kind of malformed request.
var ErrTxInfo = errors.New("packet: invalid send OOB information")

// TxInfo is the send OOB information NDIS attaches to a NET_BUFFER_LIST for IPsecOV2: the
// SA handles, the ESP header info and the LSO request, plus the completion the NIC writes
// back. It is a struct on the Buffer, not a side table, so reading it costs a load.
type TxInfo struct {
	// OffloadHandle is NDIS_IPSEC_OFFLOAD_V2_NET_BUFFER_LIST_INFO.Transmit.OffloadHandle:
	// the transport SA, or the only SA when there is one. 0 means no IPsec (R-TX-2).
	OffloadHandle uint64
	// TunnelHandle is NDIS_IPSEC_OFFLOAD_V2_TUNNEL_NET_BUFFER_LIST_INFO.Transmit.TunnelHandle:
	// the tunnel SA when transport and tunnel are combined, else 0 (R-TX-5).
	TunnelHandle uint64
	// MSS is LsoV2Transmit.MSS (20 bits): the segment size the NIC cuts the TCP payload
	// into. 0 means no large send (R-TX-6).
	MSS uint32
	// TcpHeaderOffset is LsoV2Transmit.TcpHeaderOffset (10 bits): where the TCP header
	// starts, in bytes from the start of the frame.
	TcpHeaderOffset uint16
	// LSOSegment and LSOCount are set by the NIC on the segments it cuts from a large
	// send: segment LSOSegment (1-based) of LSOCount. NDIS completes the large send once;
	// here the segments come back to the host, and the last one stands for that
	// completion. Both are 0 on packets that are not segments.
	//
	// They are set on buffers the NIC itself takes from its segment pool, never on the
	// host's, so they sit with the fields the host writes.
	LSOSegment, LSOCount uint16
	// AhHeaderOffset is the offset of the AH header from the start of the IP header, in
	// 4-byte units; 0 when there is no AH.
	AhHeaderOffset uint8
	// EspHeaderOffset is the offset of the ESP header from the start of the IP header, in
	// 4-byte units.
	EspHeaderOffset uint8
	// NextHeader is the ESP trailer's next header. The NIC needs it for LSO, where the host
	// does not frame the trailer and the NIC writes one per segment.
	NextHeader uint8
	// PadLength is how many bytes of padding the host appended. With LSO the NIC discards
	// them (R-TX-6).
	PadLength uint8

	// The fields above are the host's (and, on a segment, the NIC's as it makes it); the
	// ones below the NIC writes as it completes the host's packet. The padding puts Status
	// 32 bytes into TxInfo, which is where packet.Buffer's layout wants the NIC's part to
	// begin: on a cache line of its own (see Buffer).
	_ [2]byte

	// Status is the send completion status the NIC sets (R-TX-3); zero is success.
	Status ndis.Status
	// Reason says why a send failed, for counters and traces; ReasonNone on success.
	Reason Reason
}

// HeaderWord packs the ESP header info as
// NDIS_IPSEC_OFFLOAD_V2_HEADER_NET_BUFFER_LIST_INFO.Transmit: NextHeader bits 0-7,
// PadLength bits 8-15, AhHeaderOffset bits 16-23, EspHeaderOffset bits 24-31.
func (t TxInfo) HeaderWord() uint32 {
	return uint32(t.NextHeader) | uint32(t.PadLength)<<8 |
		uint32(t.AhHeaderOffset)<<16 | uint32(t.EspHeaderOffset)<<24
}

// TxInfoFromHeaderWord unpacks a HeaderWord into a TxInfo with only the header-info fields
// set. Every 32-bit value is a valid word, so there is no error.
func TxInfoFromHeaderWord(w uint32) TxInfo {
	return TxInfo{
		NextHeader:      uint8(w),
		PadLength:       uint8(w >> 8),
		AhHeaderOffset:  uint8(w >> 16),
		EspHeaderOffset: uint8(w >> 24),
	}
}

// LSOWord packs the large-send request as NDIS_TCP_LARGE_SEND_OFFLOAD_NET_BUFFER_LIST_INFO
// .LsoV2Transmit: MSS bits 0-19, TcpHeaderOffset bits 20-29, Type bit 30 (1, LSO V2, exactly
// when MSS != 0). Fields too wide for their bits are masked; call Validate first.
func (t TxInfo) LSOWord() uint32 {
	w := t.MSS&MaxMSS | uint32(t.TcpHeaderOffset&MaxTCPHeaderOffset)<<20
	if t.MSS != 0 {
		w |= lsoTypeV2
	}
	return w
}

// SetLSOWord sets MSS and TcpHeaderOffset from an LsoV2Transmit word. It rejects the
// reserved bit, an LSO V1 request (Type 0 with an MSS: the model offers only V2 with
// IPsec), and Type 1 without an MSS; on error t is unchanged.
func (t *TxInfo) SetLSOWord(w uint32) error {
	mss := w & MaxMSS
	switch {
	case w&lsoReserved != 0:
		return fmt.Errorf("%w: LSO word 0x%08X has reserved bit 31 set", ErrTxInfo, w)
	case mss != 0 && w&lsoTypeV2 == 0:
		return fmt.Errorf("%w: LSO word 0x%08X asks for LSO V1; only V2 is supported", ErrTxInfo, w)
	case mss == 0 && w&lsoTypeV2 != 0:
		return fmt.Errorf("%w: LSO word 0x%08X is LSO V2 with MSS 0", ErrTxInfo, w)
	}
	t.MSS = mss
	t.TcpHeaderOffset = uint16(w>>20) & MaxTCPHeaderOffset
	return nil
}

// Validate reports fields that cannot be represented in the NDIS words, and handles that
// contradict each other: a TunnelHandle without an OffloadHandle would be a tunnelled
// packet that R-TX-2 says gets no IPsec at all.
func (t TxInfo) Validate() error {
	switch {
	case t.MSS > MaxMSS:
		return fmt.Errorf("%w: MSS %d does not fit in 20 bits (max %d)", ErrTxInfo, t.MSS, MaxMSS)
	case t.TcpHeaderOffset > MaxTCPHeaderOffset:
		return fmt.Errorf("%w: TcpHeaderOffset %d does not fit in 10 bits (max %d)",
			ErrTxInfo, t.TcpHeaderOffset, MaxTCPHeaderOffset)
	case t.TunnelHandle != 0 && t.OffloadHandle == 0:
		return fmt.Errorf("%w: TunnelHandle 0x%X set without an OffloadHandle", ErrTxInfo, t.TunnelHandle)
	}
	return nil
}

// Fail marks the send as failed with NDIS_STATUS_FAILURE (R-TX-3) and records why. A stage
// calls it and moves on to the next packet, instead of returning an error for the burst.
func (t *TxInfo) Fail(r Reason) {
	t.Status = ndis.StatusFailure
	t.Reason = r
}

// Failed reports whether the NIC completed the send with a non-success status.
func (t *TxInfo) Failed() bool { return t.Status != ndis.StatusSuccess }

// Reason is why the NIC failed a send (or, for receive counters, why it did not process a
// packet). NDIS only carries a status; the reason is the model's addition so that no
// packet is lost without a counted cause.
type Reason uint8

// Reasons. NumReasons sizes a counter array indexed by Reason.
const (
	ReasonNone            Reason = iota // not failed
	ReasonUnknownHandle                 // no SA for the handle: never added, or deleted (R-TX-3)
	ReasonSeqExhausted                  // the SA's sequence space is used up (R-TX-8)
	ReasonMalformed                     // headers, offsets or lengths do not add up
	ReasonOffloadDisabled               // the current configuration does not allow this IPsec use
	ReasonUnsupported                   // asks for a capability the NIC does not advertise
	ReasonNoHeadroom                    // not enough headroom for a header the NIC must add
	ReasonNoTailroom                    // not enough tailroom for trailer, padding or ICV
	ReasonCrypto                        // the cipher failed
	ReasonResources                     // no buffer or ring slot (an explicit drop policy)
	NumReasons                          // number of reasons; not a reason
)

var reasonNames = [NumReasons]string{
	ReasonNone:            "none",
	ReasonUnknownHandle:   "unknown-handle",
	ReasonSeqExhausted:    "seq-exhausted",
	ReasonMalformed:       "malformed",
	ReasonOffloadDisabled: "offload-disabled",
	ReasonUnsupported:     "unsupported",
	ReasonNoHeadroom:      "no-headroom",
	ReasonNoTailroom:      "no-tailroom",
	ReasonCrypto:          "crypto",
	ReasonResources:       "resources",
}

// String returns a short, stable, lower-case name suitable as a counter label.
func (r Reason) String() string {
	if r < NumReasons {
		return reasonNames[r]
	}
	return "Reason(" + strconv.Itoa(int(r)) + ")"
}
