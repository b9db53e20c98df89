package packet

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/ov2dev/ov2/ndis"
)

// Bits of the receive words and of Linux's xfrm_offload.flags (the three flags have the
// same values in both).
const (
	rxSaDeleteReq    = 1 << 0
	rxCryptoDone     = 1 << 1
	rxNextCryptoDone = 1 << 2
	rxFlags          = rxSaDeleteReq | rxCryptoDone | rxNextCryptoDone

	rxHeaderInfoSet = 1 << 16
)

// Linux struct xfrm_offload flag values, exported so that a trace or test can name them.
const (
	XfrmSADeleteReq    = rxSaDeleteReq    // SA_DELETE_REQ
	XfrmCryptoDone     = rxCryptoDone     // CRYPTO_DONE
	XfrmCryptoNextDone = rxNextCryptoDone // CRYPTO_NEXT_DONE
)

// ErrRxInfo is wrapped by every error about receive OOB information.
var ErrRxInfo = errors.New("packet: invalid receive OOB information")

// RxInfo is the receive OOB information the NIC attaches to an indicated packet (SPEC
// section 5): what it checked, the result, and where the inner packet is. Handle, SeqHi and
// AHSeqHi are model extras with no NDIS field; they spare the host a second SA lookup.
type RxInfo struct {
	// Handle is the inbound SA the NIC matched, 0 if none. Not part of the NDIS words.
	Handle uint64
	// SeqHi is the ESN high half the NIC used to verify the packet (R-RX-8), which the
	// host's anti-replay check needs: that of the SA's first entry, ESP, or AH in an AH-only
	// bundle. Not part of the NDIS words.
	SeqHi uint32
	// AHSeqHi is, for an SA with AH, the high half the NIC used for the AH part, which has
	// its own sequence space and replay window (equal to SeqHi in an AH-only bundle); 0
	// otherwise. Not part of the NDIS words.
	AHSeqHi uint32
	// CryptoStatus is the result of the check (R-RX-4); CRYPTO_SUCCESS when unchecked.
	CryptoStatus ndis.CryptoStatus
	// SaDeleteReq asks the host to delete this SA and its outbound pair (R-RX-7).
	SaDeleteReq bool
	// CryptoDone: the NIC checked at least one IPsec payload (R-RX-4).
	CryptoDone bool
	// NextCryptoDone: the NIC checked both the tunnel and the transport part (R-RX-4).
	NextCryptoDone bool
	// HeaderInfoSet: NextHeader and PadLength are valid, so the host can find the inner
	// packet after in-place decryption (R-RX-6).
	HeaderInfoSet bool
	// NextHeader is the decrypted ESP trailer's next header; for an SA that is AH alone, the
	// AH header's next header (the payload's protocol, 4 or 41 in tunnel mode).
	NextHeader uint8
	// PadLength is the decrypted ESP trailer's pad length; 0 for AH alone, which has no
	// trailer.
	PadLength uint8
}

// Word packs NDIS_IPSEC_OFFLOAD_V2_NET_BUFFER_LIST_INFO.Receive: SaDeleteReq bit 0,
// CryptoDone bit 1, NextCryptoDone bit 2, CryptoStatus bits 16-31.
func (r RxInfo) Word() uint32 {
	w := uint32(r.CryptoStatus) << 16
	if r.SaDeleteReq {
		w |= rxSaDeleteReq
	}
	if r.CryptoDone {
		w |= rxCryptoDone
	}
	if r.NextCryptoDone {
		w |= rxNextCryptoDone
	}
	return w
}

// HeaderWord packs NDIS_IPSEC_OFFLOAD_V2_HEADER_NET_BUFFER_LIST_INFO.Receive: NextHeader
// bits 0-7, PadLength bits 8-15, HeaderInfoSet bit 16.
func (r RxInfo) HeaderWord() uint32 {
	w := uint32(r.NextHeader) | uint32(r.PadLength)<<8
	if r.HeaderInfoSet {
		w |= rxHeaderInfoSet
	}
	return w
}

// RxInfoFromWords unpacks the two receive words. It rejects reserved bits (word bits 3-15,
// header bits 17-31) and CryptoStatus values NDIS does not define, because a word from a
// trace or a peer with either is not one this model produced. It does not check the
// R-RX-4 invariants; Consistent does. Handle and SeqHi are zero.
func RxInfoFromWords(word, header uint32) (RxInfo, error) {
	if res := word &^ (rxFlags | 0xFFFF0000); res != 0 {
		return RxInfo{}, fmt.Errorf("%w: receive word 0x%08X has reserved bits 0x%08X set", ErrRxInfo, word, res)
	}
	if res := header &^ (rxHeaderInfoSet | 0xFFFF); res != 0 {
		return RxInfo{}, fmt.Errorf("%w: header word 0x%08X has reserved bits 0x%08X set", ErrRxInfo, header, res)
	}
	cs := ndis.CryptoStatus(word >> 16)
	if cs > ndis.CryptoInvalidProtocol {
		return RxInfo{}, fmt.Errorf("%w: unknown CryptoStatus %d in word 0x%08X", ErrRxInfo, uint16(cs), word)
	}
	return RxInfo{
		SaDeleteReq:    word&rxSaDeleteReq != 0,
		CryptoDone:     word&rxCryptoDone != 0,
		NextCryptoDone: word&rxNextCryptoDone != 0,
		CryptoStatus:   cs,
		NextHeader:     uint8(header),
		PadLength:      uint8(header >> 8),
		HeaderInfoSet:  header&rxHeaderInfoSet != 0,
	}, nil
}

// Xfrm gives the result in the form of Linux's struct xfrm_offload: flags (SA_DELETE_REQ 1,
// CRYPTO_DONE 2, CRYPTO_NEXT_DONE 4) and status (1 << CryptoStatus). The header info has
// no place there and is left out.
func (r RxInfo) Xfrm() (flags, status uint32) {
	return r.Word() & rxFlags, r.CryptoStatus.XfrmStatus()
}

// RxInfoFromXfrm is the inverse of Xfrm. It rejects flag bits other than the three above
// (Linux's other xfrm_offload flags concern its own stack, not the NIC's result) and a
// status that is not exactly one known bit.
func RxInfoFromXfrm(flags, status uint32) (RxInfo, error) {
	if res := flags &^ rxFlags; res != 0 {
		return RxInfo{}, fmt.Errorf("%w: xfrm flags 0x%X have unknown bits 0x%X", ErrRxInfo, flags, res)
	}
	cs, ok := ndis.CryptoStatusFromXfrm(status)
	if !ok {
		return RxInfo{}, fmt.Errorf("%w: xfrm status 0x%X is not one known CRYPTO_* bit", ErrRxInfo, status)
	}
	return RxInfo{
		SaDeleteReq:    flags&rxSaDeleteReq != 0,
		CryptoDone:     flags&rxCryptoDone != 0,
		NextCryptoDone: flags&rxNextCryptoDone != 0,
		CryptoStatus:   cs,
	}, nil
}

// Consistent checks the R-RX-4 invariants a correct NIC keeps: NextCryptoDone implies
// CryptoDone; an unprocessed packet (CryptoDone false) has CRYPTO_SUCCESS and no header
// info; header info is only set after a successful check, because only then is the
// trailer decrypted and trustworthy. SaDeleteReq is free: the NIC may raise it on any
// packet of the SA.
func (r RxInfo) Consistent() error {
	switch {
	case r.NextCryptoDone && !r.CryptoDone:
		return fmt.Errorf("%w: NextCryptoDone without CryptoDone", ErrRxInfo)
	case !r.CryptoDone && r.CryptoStatus != ndis.CryptoSuccess:
		return fmt.Errorf("%w: status %v without CryptoDone", ErrRxInfo, r.CryptoStatus)
	case r.HeaderInfoSet && !r.CryptoDone:
		return fmt.Errorf("%w: HeaderInfoSet without CryptoDone", ErrRxInfo)
	case r.HeaderInfoSet && r.CryptoStatus != ndis.CryptoSuccess:
		return fmt.Errorf("%w: HeaderInfoSet with status %v", ErrRxInfo, r.CryptoStatus)
	}
	return nil
}

// String gives the set flags, the status by name and number, and the header info and model
// extras when present, e.g. "CryptoDone NextCryptoDone status=CRYPTO_TUNNEL_ESP_AUTH_FAILED(5)".
func (r RxInfo) String() string {
	var a [128]byte
	s := a[:0]
	if r.SaDeleteReq {
		s = append(s, "SaDeleteReq "...)
	}
	if r.CryptoDone {
		s = append(s, "CryptoDone "...)
	}
	if r.NextCryptoDone {
		s = append(s, "NextCryptoDone "...)
	}
	s = append(s, "status="...)
	s = append(s, r.CryptoStatus.String()...)
	if r.CryptoStatus <= ndis.CryptoInvalidProtocol { // an unknown one already shows its number
		s = append(s, '(')
		s = strconv.AppendUint(s, uint64(r.CryptoStatus), 10)
		s = append(s, ')')
	}
	if r.HeaderInfoSet {
		s = append(s, " nh="...)
		s = strconv.AppendUint(s, uint64(r.NextHeader), 10)
		s = append(s, " pad="...)
		s = strconv.AppendUint(s, uint64(r.PadLength), 10)
	}
	if r.Handle != 0 {
		s = append(s, " handle=0x"...)
		s = strconv.AppendUint(s, r.Handle, 16)
	}
	if r.SeqHi != 0 {
		s = append(s, " seqhi="...)
		s = strconv.AppendUint(s, uint64(r.SeqHi), 10)
	}
	if r.AHSeqHi != 0 {
		s = append(s, " ahseqhi="...)
		s = strconv.AppendUint(s, uint64(r.AHSeqHi), 10)
	}
	return string(s)
}
