package sa

import (
	"fmt"
	"net/netip"

	"github.com/ov2dev/ov2/ndis"
)

// Algorithm is IPSEC_OFFLOAD_V2_ALGORITHM_INFO: which algorithm, and where its key lies in
// the bundle's key material. params.go maps each NDIS identifier pair to an ESP or AH
// transform and says where every key lies; in short:
//
//   - ESP AES-GCM (RFC 4106): EncryptionAlgorithm AES_GCM_x carries key‖salt (KeyLength 20,
//     28 or 36); AuthenticationAlgorithm is 0 or the same AES_GCM_x with KeyLength 0.
//   - ESP AES-GMAC (RFC 4543): EncryptionAlgorithm NONE, AuthenticationAlgorithm AES_GCM_x
//     carries key‖salt.
//   - ESP AES-CBC with HMAC (RFC 3602, 2404, 4868): EncryptionAlgorithm AES_CBC_x carries
//     the AES key (16, 24 or 32 bytes), AuthenticationAlgorithm SHA_1 or SHA_256 the HMAC
//     key (20 or 32 bytes), each at its own KeyOffsetBytes.
//   - ESP NULL with HMAC (RFC 2410): EncryptionAlgorithm NONE (KeyLength 0),
//     AuthenticationAlgorithm SHA_1 or SHA_256 with the HMAC key.
//   - AH (RFC 4302): EncryptionAlgorithm 0 or NONE (KeyLength 0); AuthenticationAlgorithm
//     SHA_1 or SHA_256 with the HMAC key, or AES_GCM_x (AES-GMAC, RFC 4543) with key‖salt.
//
// AdditionalInfo of the algorithm that authenticates (the AES-GCM encryption algorithm, or
// the authentication algorithm otherwise) is the ICV length in bytes: 0 means the suite's
// default (16; 12 for HMAC-SHA1-96); AES-GCM also takes 8 and 12 (RFC 4106 section 8.1);
// the other suites take only their own length. It must be 0 on an algorithm that carries
// only a key (AES-CBC) or nothing.
type Algorithm struct {
	Identifier     uint32 // one ndis.Auth* or ndis.Enc* bit
	KeyLength      uint32 // bytes
	KeyOffsetBytes uint32 // offset into the bundle's key material
	AdditionalInfo uint32 // ICV length in bytes (0 = the suite's default)
}

// SecAssoc is IPSEC_OFFLOAD_V2_SECURITY_ASSOCIATION: one IPsec protocol of a bundle.
type SecAssoc struct {
	Flags                   uint32         // ndis.SAFlagESN
	Operation               ndis.Operation // ndis.OpESP or ndis.OpAH
	Spi                     uint32
	AuthenticationAlgorithm Algorithm
	EncryptionAlgorithm     Algorithm
	SequenceNumberHighOrder uint32 // the ESN high half to start from (ESN SAs only)
}

// Bundle is one entry of an ADD_SA request (IPSEC_OFFLOAD_V2_ADD_SA without its Next
// link): the addresses, the encapsulation, one or two SecAssoc entries (ESP, then AH when
// both) and the key material. On return OffloadHandle and Err say what happened to it.
type Bundle struct {
	Flags               uint32     // ndis.SAInbound, ndis.SAIPv6
	Src, Dst            netip.Addr // invalid or unspecified (0.0.0.0, ::) = wildcard
	UdpEspEncapsulation uint32     // one ndis.UDPEsp* value
	NumExtHdrs          uint32     // 1 or 2
	SecAssoc            [2]SecAssoc
	KeyData             []byte // key material, addressed by the algorithms' KeyOffsetBytes

	// EncapSrcPort and EncapDstPort are the UDP ports of RFC 3948 encapsulation when
	// UdpEspEncapsulation is not NONE; 0 means 4500. NDIS has no field for them (Windows
	// uses 4500); the model keeps them because NAT traversal moves the source port.
	EncapSrcPort, EncapDstPort uint16

	// Results, written by the NIC.
	OffloadHandle Handle // non-zero when offloaded (R-SA-3)
	Err           error  // why it was not offloaded; nil when it was
}

// Inbound reports whether the bundle is for received traffic.
func (b *Bundle) Inbound() bool { return b.Flags&ndis.SAInbound != 0 }

// IPv6 reports whether the bundle's addresses are IPv6.
func (b *Bundle) IPv6() bool { return b.Flags&ndis.SAIPv6 != 0 }

// ESP returns the bundle's ESP entry, or nil if it has none. The only combined order is ESP
// then AH (R-SA-2), so ESP is always SecAssoc[0] when present.
func (b *Bundle) ESP() *SecAssoc {
	if b.NumExtHdrs >= 1 && b.SecAssoc[0].Operation == ndis.OpESP {
		return &b.SecAssoc[0]
	}
	return nil
}

// AH returns the bundle's AH entry, or nil if it has none: SecAssoc[1] of an ESP+AH bundle,
// SecAssoc[0] of an AH-only one.
func (b *Bundle) AH() *SecAssoc {
	switch {
	case b.NumExtHdrs == 1 && b.SecAssoc[0].Operation == ndis.OpAH:
		return &b.SecAssoc[0]
	case b.NumExtHdrs == 2 && b.SecAssoc[1].Operation == ndis.OpAH:
		return &b.SecAssoc[1]
	}
	return nil
}

// checkShape verifies what needs no knowledge of the NIC's capabilities: the number and
// order of the SecAssoc entries, the flags, the address family and the encapsulation value.
func (b *Bundle) checkShape() error {
	if b.Flags&^(ndis.SAInbound|ndis.SAIPv6) != 0 {
		return fmt.Errorf("%w: unknown bundle Flags bits 0x%x", ErrMalformed, b.Flags&^(ndis.SAInbound|ndis.SAIPv6))
	}
	switch b.NumExtHdrs {
	case 1:
		if op := b.SecAssoc[0].Operation; op != ndis.OpESP && op != ndis.OpAH {
			return fmt.Errorf("%w: SecAssoc[0].Operation %d is neither AH (1) nor ESP (2)", ErrMalformed, uint32(op))
		}
	case 2:
		if b.SecAssoc[0].Operation != ndis.OpESP || b.SecAssoc[1].Operation != ndis.OpAH {
			return fmt.Errorf("%w: two SecAssoc entries must be ESP then AH, got %v then %v",
				ErrMalformed, b.SecAssoc[0].Operation, b.SecAssoc[1].Operation)
		}
	default:
		return fmt.Errorf("%w: NumExtHdrs is %d, want 1 or 2", ErrMalformed, b.NumExtHdrs)
	}
	for _, a := range []netip.Addr{b.Src, b.Dst} {
		if a.IsValid() && !isWildcard(a) && a.Unmap().Is4() == b.IPv6() {
			return fmt.Errorf("%w: address %v does not match the bundle's IPv6 flag (%v)", ErrMalformed, a, b.IPv6())
		}
	}
	switch b.UdpEspEncapsulation {
	case ndis.UDPEspNone, ndis.UDPEspTransport, ndis.UDPEspTunnel,
		ndis.UDPEspTransportOverUDPEspEncapsulationTunnel, ndis.UDPEspEncapsulationTransportOverTunnel:
	default:
		return fmt.Errorf("%w: UdpEspEncapsulation %d is not one of 0, 1, 2, 4, 8", ErrMalformed, b.UdpEspEncapsulation)
	}
	if b.Inbound() && ((b.ESP() != nil && b.ESP().Spi == 0) || (b.AH() != nil && b.AH().Spi == 0)) {
		// SPI 0 is reserved (RFC 4303 section 2.1, RFC 4302 section 2.4) and never appears
		// on the wire.
		return fmt.Errorf("%w: SPI 0 is reserved", ErrMalformed)
	}
	return nil
}

func isWildcard(a netip.Addr) bool { return !a.IsValid() || a.IsUnspecified() }
