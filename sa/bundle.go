package sa

import (
	"fmt"
	"net/netip"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/ndis"
)

// Algorithm is IPSEC_OFFLOAD_V2_ALGORITHM_INFO: which algorithm, and where its key lies in
// the bundle's key material.
//
// For the AES-GCM family the key material is key‖salt (RFC 4106 section 8.1), so KeyLength
// is 20, 28 or 36. An AES-GCM SA puts it on EncryptionAlgorithm and leaves the
// AuthenticationAlgorithm either zero or naming the same AES-GCM size with KeyLength 0 (the
// cipher key authenticates). An AES-GMAC SA (RFC 4543) has EncryptionAlgorithm NONE and puts
// the key material on AuthenticationAlgorithm. AdditionalInfo of the algorithm that carries
// the key is the ICV length in bytes: 0 means 16; 8 and 12 are accepted for AES-GCM
// (RFC 4106 section 8.1 allows them); GMAC uses 16.
type Algorithm struct {
	Identifier     uint32 // one ndis.Auth* or ndis.Enc* bit
	KeyLength      uint32 // bytes
	KeyOffsetBytes uint32 // offset into the bundle's key material
	AdditionalInfo uint32 // ICV length in bytes (0 = 16)
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
	if b.Inbound() && b.ESP() != nil && b.ESP().Spi == 0 {
		// SPI 0 is reserved (RFC 4303 section 2.1) and never appears on the wire.
		return fmt.Errorf("%w: SPI 0 is reserved", ErrMalformed)
	}
	return nil
}

func isWildcard(a netip.Addr) bool { return !a.IsValid() || a.IsUnspecified() }

// gcmKeyBits maps an AES-GCM identifier (the Enc and Auth bits share values) to its key
// size in bytes; 0 if it is not an AES-GCM identifier.
func gcmKeyBytes(id uint32) int {
	switch id {
	case ndis.EncAESGCM128:
		return 16
	case ndis.EncAESGCM192:
		return 24
	case ndis.EncAESGCM256:
		return 32
	}
	return 0
}

// transformParams turns an ESP SecAssoc into esp.Params, checking the algorithm pairing,
// key lengths and key offsets. The algorithms have already been admitted by the NIC's
// capability check; what fails here is a request that is inconsistent in itself.
func transformParams(b *Bundle, s *SecAssoc) (esp.Params, error) {
	enc, auth := s.EncryptionAlgorithm, s.AuthenticationAlgorithm
	var p esp.Params
	var carrier Algorithm
	switch {
	case gcmKeyBytes(enc.Identifier) != 0:
		if auth.Identifier != 0 && auth.Identifier != enc.Identifier {
			return p, fmt.Errorf("%w: SPI 0x%08x: AES-GCM encryption 0x%x paired with authentication 0x%x (want 0 or the same AES-GCM size)",
				ErrMalformed, s.Spi, enc.Identifier, auth.Identifier)
		}
		if auth.KeyLength != 0 {
			return p, fmt.Errorf("%w: SPI 0x%08x: AES-GCM authentication takes no separate key, got %d bytes",
				ErrKeyLength, s.Spi, auth.KeyLength)
		}
		p.Alg, carrier = esp.AESGCM, enc
	case enc.Identifier == ndis.EncNone && gcmKeyBytes(auth.Identifier) != 0:
		if enc.KeyLength != 0 {
			return p, fmt.Errorf("%w: SPI 0x%08x: encryption NONE takes no key, got %d bytes", ErrKeyLength, s.Spi, enc.KeyLength)
		}
		p.Alg, carrier = esp.AESGMAC, auth
	default:
		return p, fmt.Errorf("%w: SPI 0x%08x: encryption 0x%x with authentication 0x%x",
			ErrAlgorithm, s.Spi, enc.Identifier, auth.Identifier)
	}
	want := gcmKeyBytes(carrier.Identifier) + esp.SaltLen
	if int(carrier.KeyLength) != want {
		return p, fmt.Errorf("%w: SPI 0x%08x: KeyLength %d, want %d (%d-byte AES key and %d-byte salt)",
			ErrKeyLength, s.Spi, carrier.KeyLength, want, want-esp.SaltLen, esp.SaltLen)
	}
	end := uint64(carrier.KeyOffsetBytes) + uint64(carrier.KeyLength)
	if end > uint64(len(b.KeyData)) {
		return p, fmt.Errorf("%w: SPI 0x%08x: key at offset %d length %d runs past the %d bytes of key material",
			ErrKeyLength, s.Spi, carrier.KeyOffsetBytes, carrier.KeyLength, len(b.KeyData))
	}
	p.KeyMat = b.KeyData[carrier.KeyOffsetBytes:end]
	p.ICVLen = int(carrier.AdditionalInfo)
	p.ESN = s.Flags&ndis.SAFlagESN != 0
	return p, nil
}
