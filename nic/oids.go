package nic

import (
	"fmt"

	"github.com/ov2dev/ov2/ndis"
	"github.com/ov2dev/ov2/sa"
)

// AddSA is IPSEC_OFFLOAD_V2_ADD_SA: one bundle and the link to the next one in the
// request's list.
type AddSA struct {
	sa.Bundle
	Next *AddSA
}

// AddSAEx is IPSEC_OFFLOAD_V2_ADD_SA_EX (NDIS 6.30): one bundle, no Next link, and the key
// material inside the request's own buffer at KeyOffset rather than in a trailing array.
// Bundle.KeyData must be nil: the keys come from Buffer.
type AddSAEx struct {
	sa.Bundle
	KeyOffset, KeyLength uint32
	Buffer               []byte
}

// DeleteSA is IPSEC_OFFLOAD_V2_DELETE_SA: one handle and the link to the next.
type DeleteSA struct {
	OffloadHandle sa.Handle
	Next          *DeleteSA
}

// OIDAddSA serves OID_TCP_TASK_IPSEC_OFFLOAD_V2_ADD_SA (R-SA-2, R-SA-3). Each bundle in
// the list gets a handle or, if it was refused, handle 0 and Err. The status is success if
// any bundle was offloaded.
func (n *NIC) OIDAddSA(list *AddSA) (ndis.Status, error) {
	var bundles []*sa.Bundle
	for x := list; x != nil; x = x.Next {
		bundles = append(bundles, &x.Bundle)
	}
	return n.addSA(bundles)
}

// OIDAddSAEx serves OID_TCP_TASK_IPSEC_OFFLOAD_V2_ADD_SA_EX.
func (n *NIC) OIDAddSAEx(req *AddSAEx) (ndis.Status, error) {
	if req.KeyData != nil {
		err := fmt.Errorf("%w: ADD_SA_EX carries its keys at KeyOffset in Buffer, not in KeyData", sa.ErrMalformed)
		req.OffloadHandle, req.Err = 0, err
		return ndis.StatusInvalidParameter, err
	}
	end := uint64(req.KeyOffset) + uint64(req.KeyLength)
	if end > uint64(len(req.Buffer)) {
		err := fmt.Errorf("%w: ADD_SA_EX KeyOffset %d + KeyLength %d runs past the %d-byte buffer",
			sa.ErrMalformed, req.KeyOffset, req.KeyLength, len(req.Buffer))
		req.OffloadHandle, req.Err = 0, err
		return ndis.StatusInvalidParameter, err
	}
	req.KeyData = req.Buffer[req.KeyOffset:end]
	defer func() { req.KeyData = nil }()
	return n.addSA([]*sa.Bundle{&req.Bundle})
}

func (n *NIC) addSA(bundles []*sa.Bundle) (ndis.Status, error) {
	var err error
	if rerr := n.ctl.Run(func(tx *sa.Tx) { err = tx.AddSA(bundles, n.admit) }); rerr != nil {
		return ndis.StatusFailure, rerr
	}
	if err != nil {
		var first error
		for _, b := range bundles {
			if b.Err != nil {
				first = b.Err
				break
			}
		}
		if first == nil {
			return ndis.StatusInvalidParameter, err
		}
		return sa.StatusOf(first), err
	}
	return ndis.StatusSuccess, nil
}

// OIDDeleteSA serves OID_TCP_TASK_IPSEC_OFFLOAD_V2_DELETE_SA (R-SA-5): every valid handle
// in the list is deleted; unknown or stale handles make the request fail with
// NDIS_STATUS_INVALID_PARAMETER and an error naming them. When it returns, the data path no
// longer uses the deleted SAs and their keys are zeroed.
func (n *NIC) OIDDeleteSA(list *DeleteSA) (ndis.Status, error) {
	var hs []sa.Handle
	for x := list; x != nil; x = x.Next {
		hs = append(hs, x.OffloadHandle)
	}
	var err error
	if rerr := n.ctl.Run(func(tx *sa.Tx) { err = tx.DeleteSA(hs) }); rerr != nil {
		return ndis.StatusFailure, rerr
	}
	return sa.StatusOf(err), err
}

// OIDUpdateSA serves OID_TCP_TASK_IPSEC_OFFLOAD_V2_UPDATE_SA (R-SA-6).
func (n *NIC) OIDUpdateSA(u *sa.Update) (ndis.Status, error) {
	var err error
	if rerr := n.ctl.Run(func(tx *sa.Tx) { err = tx.UpdateSA(*u) }); rerr != nil {
		return ndis.StatusFailure, rerr
	}
	return sa.StatusOf(err), err
}

// Request dispatches an OID by its code, as NDIS hands OIDs to a miniport: buf must be the
// OID's structure (*AddSA, *AddSAEx, *DeleteSA, *sa.Update, *OffloadParameters for sets;
// *CurrentConfig or *Capabilities to fill for the queries). An unknown OID is
// NDIS_STATUS_INVALID_OID; a buffer of the wrong type NDIS_STATUS_INVALID_DATA.
func (n *NIC) Request(oid ndis.OID, buf any) (ndis.Status, error) {
	wrong := func() (ndis.Status, error) {
		return ndis.StatusInvalidData, fmt.Errorf("nic: %v: buffer of type %T", oid, buf)
	}
	switch oid {
	case ndis.OIDIPsecOffloadV2AddSA:
		if b, ok := buf.(*AddSA); ok && b != nil {
			return n.OIDAddSA(b)
		}
	case ndis.OIDIPsecOffloadV2AddSAEx:
		if b, ok := buf.(*AddSAEx); ok && b != nil {
			return n.OIDAddSAEx(b)
		}
	case ndis.OIDIPsecOffloadV2DeleteSA:
		if b, ok := buf.(*DeleteSA); ok && b != nil {
			return n.OIDDeleteSA(b)
		}
	case ndis.OIDIPsecOffloadV2UpdateSA:
		if b, ok := buf.(*sa.Update); ok && b != nil {
			return n.OIDUpdateSA(b)
		}
	case ndis.OIDTCPOffloadParameters:
		if b, ok := buf.(*OffloadParameters); ok && b != nil {
			return n.SetOffloadParameters(*b)
		}
	case ndis.OIDTCPOffloadCurrentConfig:
		if b, ok := buf.(*CurrentConfig); ok && b != nil {
			*b = n.QueryCurrentConfig()
			return ndis.StatusSuccess, nil
		}
	case ndis.OIDTCPOffloadHardwareCapabilities:
		if b, ok := buf.(*Capabilities); ok && b != nil {
			*b = n.QueryHardwareCapabilities()
			return ndis.StatusSuccess, nil
		}
	default:
		return ndis.StatusInvalidOID, fmt.Errorf("nic: %v is not served by this NIC", oid)
	}
	return wrong()
}

// admit is the capability and current-configuration check of one ADD_SA bundle (R-SA-3,
// R-CAP-4). It runs on the control goroutine, so the configuration it reads is the one in
// force when the request is served. An ESP+AH bundle needs AhEspCombined in the hardware
// and both protocols enabled for its address family (the IPv4-only setting counts for an
// IPv4 bundle); each entry's algorithm identifiers must be advertised and enabled. Whether
// the identifiers make a suite together is the SA layer's check (sa/params.go).
func (n *NIC) admit(b *sa.Bundle) error {
	cur := n.cur.Load()
	hw := n.hw.Load()
	ipv6 := b.IPv6()
	if ipv6 && !hw.IPv6Supported {
		return fmt.Errorf("%w: IPv6 is not supported", sa.ErrCapability)
	}
	if b.NumExtHdrs == 2 && !hw.AhEspCombined {
		return fmt.Errorf("%w: ESP and AH combined is not advertised", sa.ErrCapability)
	}
	if u := b.UdpEspEncapsulation; u != ndis.UDPEspNone && hw.UdpEsp&u == 0 {
		return fmt.Errorf("%w: UDP-ESP encapsulation type %d is not advertised", sa.ErrCapability, u)
	}
	family := "IPv4"
	if ipv6 {
		family = "IPv6"
	}
	for i := uint32(0); i < b.NumExtHdrs && i < 2; i++ {
		s := &b.SecAssoc[i]
		switch s.Operation {
		case ndis.OpAH:
			if !hw.Ah {
				return fmt.Errorf("%w: AH is not advertised", sa.ErrCapability)
			}
			if !cur.AHAllowed(ipv6) {
				return fmt.Errorf("%w: AH is disabled for %s", sa.ErrDisabled, family)
			}
		case ndis.OpESP:
			if !cur.ESPAllowed(ipv6) {
				return fmt.Errorf("%w: ESP is disabled for %s", sa.ErrDisabled, family)
			}
		}
		if err := admitAlgorithms(s, cur); err != nil {
			return err
		}
		if s.Flags&ndis.SAFlagESN != 0 && !hw.ExtendedSequenceNumbers {
			return fmt.Errorf("%w: SPI 0x%08x asks for ESN, which is not advertised", sa.ErrCapability, s.Spi)
		}
	}
	return nil
}

// admitAlgorithms checks that both algorithm identifiers are single bits the NIC advertises.
// A broken algorithm (DES, 3DES, MD5) is named as such, since that is why it is refused.
func admitAlgorithms(s *sa.SecAssoc, cur *CurrentConfig) error {
	check := func(kind string, id, advertised, broken uint32, name func(uint32) string) error {
		if id == 0 {
			return nil
		}
		why := ""
		switch {
		case id&(id-1) != 0:
			return fmt.Errorf("%w: SPI 0x%08x: %s algorithm 0x%x is not a single algorithm", sa.ErrAlgorithm, s.Spi, kind, id)
		case id&broken != 0:
			why = " (broken algorithm, never advertised)"
		case id&advertised != 0:
			return nil
		}
		return fmt.Errorf("%w: SPI 0x%08x: %s algorithm %s%s", sa.ErrAlgorithm, s.Spi, kind, name(id), why)
	}
	// AH does not encrypt: its encryption identifier, 0 or NONE, names no algorithm the NIC
	// runs, so switching ESP-NULL off (NONE) must not switch AH off. Anything else there is
	// the SA layer's refusal (sa/params.go).
	if enc := s.EncryptionAlgorithm.Identifier; s.Operation != ndis.OpAH || (enc != 0 && enc != ndis.EncNone) {
		if err := check("encryption", enc, cur.IPsecV2.EncryptionAlgorithms, Broken.Encryption, EncAlgorithmName); err != nil {
			return err
		}
	}
	return check("authentication", s.AuthenticationAlgorithm.Identifier, cur.IPsecV2.AuthenticationAlgorithms, Broken.Authentication, AuthAlgorithmName)
}
