package lso

import (
	"fmt"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/internal/inet"
)

// Params are the large send's OOB facts (MSS, PadLength, the trailer's next header, R-TX-6)
// and the SA facts segmentation needs (ICV length, the high half of the sequence number, ESN,
// the ESP algorithm, the AH part). The host fills the first three per packet; the rest come
// from the SA the send is bound to. The zero values of Alg and AH are an AES-GCM SA without
// AH, what Params meant before the NIC had other suites.
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
	// Alg is the ESP algorithm, which fixes the IV room the host left after the ESP header
	// (esp.Algorithm.IVLen: 8 AES-GCM and AES-GMAC, 16 AES-CBC, 0 NULL) and the boundary the
	// trailer is padded to (esp.Algorithm.PadAlign: 16 for AES-CBC, else 4). 0 means
	// esp.AESGCM.
	Alg esp.Algorithm
	// AH is the SA's AH part when the large send carries AH, its zero value otherwise.
	AH AHParams
}

// AHParams are what segmentation needs of an SA's AH part (RFC 4302): the large send then
// carries an AH header right after the outer IP header, framed by the host with zeros for
// the IV, ICV and padding, and each segment gets its own copy with the sequence number
// SA+i of the AH part's own sequence space; the seal stage computes the ICV.
//
//	AH only:  IP | AH | [inner IP] | TCP | payload           (no trailer, no ICV room)
//	ESP+AH:   IP | AH | ESP hdr | IV | [inner IP] | TCP | payload | PadLength bytes
type AHParams struct {
	// HeaderLen is the AH header's length for the SA and the IP version (ah.HeaderLen):
	// the frame's AH header must be exactly this long. 0 means no AH.
	HeaderLen int
	// SeqHi and ESN are the AH part's, as Params.SeqHi and Params.ESN are the ESP part's.
	SeqHi uint32
	ESN   bool
}

// ahFixedLen is the part of an AH header every algorithm has (RFC 4302 §2): next header,
// payload length, reserved, SPI, sequence number.
const ahFixedLen = 12

// check validates the fields that do not need the frame. With AH the ESP fields are checked
// once the frame has said whether ESP follows AH (checkESP).
func (p *Params) check(frameLen int) error {
	if p.MSS <= 0 {
		return fmt.Errorf("%w: MSS %d: want > 0", ErrMalformed, p.MSS)
	}
	if p.PadLength < 0 || p.PadLength > frameLen {
		return fmt.Errorf("%w: PadLength %d: want 0 to %d (the frame length)", ErrMalformed, p.PadLength, frameLen)
	}
	switch p.Alg {
	case 0, esp.AESGCM, esp.AESGMAC, esp.AESCBC, esp.NULL:
	default:
		return fmt.Errorf("%w: ESP algorithm %v", ErrUnsupported, p.Alg)
	}
	if p.AH.HeaderLen < 0 || (p.AH.HeaderLen != 0 && (p.AH.HeaderLen < ahFixedLen || p.AH.HeaderLen%4 != 0)) {
		return fmt.Errorf("%w: AH header length %d: want 0 (no AH) or a multiple of 4 from %d", ErrMalformed, p.AH.HeaderLen, ahFixedLen)
	}
	if p.AH.HeaderLen == 0 {
		return p.checkESP()
	}
	return nil
}

// checkESP validates the ESP fields: the ICV length and the trailer's next header.
func (p *Params) checkESP() error {
	switch p.ICVLen {
	case 8, 12, 16:
	default:
		return fmt.Errorf("%w: ICV length %d: want 8, 12 or 16", ErrUnsupported, p.ICVLen)
	}
	return checkNextHeader("ESP", p.NextHeader)
}

// checkNextHeader refuses a mode other than TCP in transport mode or IP in tunnel mode.
func checkNextHeader(what string, nh byte) error {
	switch nh {
	case inet.ProtoTCP, inet.ProtoIPv4, inet.ProtoIPv6:
		return nil
	}
	return fmt.Errorf("%w: %s next header %d: want 6 (TCP, transport mode), 4 or 41 (IPv4 or IPv6, tunnel mode)",
		ErrUnsupported, what, nh)
}

// alg is Alg with 0 read as AES-GCM.
func (p *Params) alg() esp.Algorithm {
	if p.Alg == 0 {
		return esp.AESGCM
	}
	return p.Alg
}
