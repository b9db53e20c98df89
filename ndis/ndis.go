// Package ndis holds the numeric contract of IPsec Offload Version 2 as NDIS defines it:
// OID codes, status codes, capability and algorithm bits, SA flags and the receive-side
// CryptoStatus values. Values come from the WDK headers ntddndis.h and ndis.h and from
// ../shared/SPEC.md; they are facts, kept here once so that every other package speaks the
// same numbers.
//
// The package has no behaviour beyond String methods: it is the vocabulary shared by sa
// (the SA control plane), nic (the NIC model) and packet (the per-packet OOB words).
package ndis

import "fmt"

// OID is an NDIS object identifier (NDIS_OID).
type OID uint32

// The OIDs the NIC model serves.
const (
	OIDTCPOffloadCurrentConfig        OID = 0xFC01020B // query only
	OIDTCPOffloadParameters           OID = 0xFC01020C // set only
	OIDTCPOffloadHardwareCapabilities OID = 0xFC01020D // query only
	OIDIPsecOffloadV2AddSA            OID = 0xFC030202 // OID_TCP_TASK_IPSEC_OFFLOAD_V2_ADD_SA
	OIDIPsecOffloadV2DeleteSA         OID = 0xFC030203 // OID_TCP_TASK_IPSEC_OFFLOAD_V2_DELETE_SA
	OIDIPsecOffloadV2UpdateSA         OID = 0xFC030204 // OID_TCP_TASK_IPSEC_OFFLOAD_V2_UPDATE_SA
	OIDIPsecOffloadV2AddSAEx          OID = 0xFC030205 // OID_TCP_TASK_IPSEC_OFFLOAD_V2_ADD_SA_EX (NDIS 6.30)
)

var oidNames = map[OID]string{
	OIDTCPOffloadCurrentConfig:        "OID_TCP_OFFLOAD_CURRENT_CONFIG",
	OIDTCPOffloadParameters:           "OID_TCP_OFFLOAD_PARAMETERS",
	OIDTCPOffloadHardwareCapabilities: "OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES",
	OIDIPsecOffloadV2AddSA:            "OID_TCP_TASK_IPSEC_OFFLOAD_V2_ADD_SA",
	OIDIPsecOffloadV2DeleteSA:         "OID_TCP_TASK_IPSEC_OFFLOAD_V2_DELETE_SA",
	OIDIPsecOffloadV2UpdateSA:         "OID_TCP_TASK_IPSEC_OFFLOAD_V2_UPDATE_SA",
	OIDIPsecOffloadV2AddSAEx:          "OID_TCP_TASK_IPSEC_OFFLOAD_V2_ADD_SA_EX",
}

func (o OID) String() string {
	if n, ok := oidNames[o]; ok {
		return n
	}
	return fmt.Sprintf("OID(0x%08X)", uint32(o))
}

// Status is an NDIS_STATUS value: the result of an OID request, a send completion, or the
// code of a status indication.
type Status uint32

// Status codes used by the model.
const (
	StatusSuccess          Status = 0x00000000 // NDIS_STATUS_SUCCESS
	StatusFailure          Status = 0xC0000001 // NDIS_STATUS_FAILURE
	StatusResources        Status = 0xC000009A // NDIS_STATUS_RESOURCES
	StatusNotSupported     Status = 0xC00000BB // NDIS_STATUS_NOT_SUPPORTED
	StatusInvalidParameter Status = 0xC000000D // NDIS_STATUS_INVALID_PARAMETER
	StatusInvalidData      Status = 0xC0010015 // NDIS_STATUS_INVALID_DATA
	StatusInvalidOID       Status = 0xC0010017 // NDIS_STATUS_INVALID_OID

	// Status indications (NDIS_STATUS_INDICATION.StatusCode).
	StatusTaskOffloadCurrentConfig        Status = 0x40020006 // NDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG
	StatusTaskOffloadHardwareCapabilities Status = 0x40020007 // NDIS_STATUS_TASK_OFFLOAD_HARDWARE_CAPABILITIES
)

var statusNames = map[Status]string{
	StatusSuccess:                         "NDIS_STATUS_SUCCESS",
	StatusFailure:                         "NDIS_STATUS_FAILURE",
	StatusResources:                       "NDIS_STATUS_RESOURCES",
	StatusNotSupported:                    "NDIS_STATUS_NOT_SUPPORTED",
	StatusInvalidParameter:                "NDIS_STATUS_INVALID_PARAMETER",
	StatusInvalidData:                     "NDIS_STATUS_INVALID_DATA",
	StatusInvalidOID:                      "NDIS_STATUS_INVALID_OID",
	StatusTaskOffloadCurrentConfig:        "NDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG",
	StatusTaskOffloadHardwareCapabilities: "NDIS_STATUS_TASK_OFFLOAD_HARDWARE_CAPABILITIES",
}

func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return fmt.Sprintf("NDIS_STATUS(0x%08X)", uint32(s))
}

// Authentication algorithm bits (IPSEC_OFFLOAD_V2_AUTHENTICATION_*). The same value is the
// Identifier of an SA's AuthenticationAlgorithm.
const (
	AuthMD5       uint32 = 0x01
	AuthSHA1      uint32 = 0x02
	AuthSHA256    uint32 = 0x04
	AuthAESGCM128 uint32 = 0x08 // AES-GMAC-128 when the SA has no encryption (RFC 4543)
	AuthAESGCM192 uint32 = 0x10
	AuthAESGCM256 uint32 = 0x20
)

// Encryption algorithm bits (IPSEC_OFFLOAD_V2_ENCRYPTION_*). The same value is the
// Identifier of an SA's EncryptionAlgorithm.
const (
	EncNone      uint32 = 0x001
	EncDESCBC    uint32 = 0x002
	Enc3DESCBC   uint32 = 0x004
	EncAESGCM128 uint32 = 0x008
	EncAESGCM192 uint32 = 0x010
	EncAESGCM256 uint32 = 0x020
	EncAESCBC128 uint32 = 0x040
	EncAESCBC192 uint32 = 0x080
	EncAESCBC256 uint32 = 0x100
)

// UDP-ESP encapsulation types (IPSEC_OFFLOAD_V2_UDP_ESP_ENCAPSULATION_*): a mask in the
// capabilities, one value per SA bundle.
const (
	UDPEspNone                                   uint32 = 0
	UDPEspTransport                              uint32 = 1
	UDPEspTunnel                                 uint32 = 2
	UDPEspTransportOverUDPEspEncapsulationTunnel uint32 = 4
	UDPEspEncapsulationTransportOverTunnel       uint32 = 8
)

// Encapsulation bits of NDIS_IPSEC_OFFLOAD_V2.Encapsulation (NDIS_ENCAPSULATION_*).
const (
	EncapsulationNull              uint32 = 0x01
	EncapsulationIEEE8023          uint32 = 0x02
	EncapsulationIEEE8023PQ        uint32 = 0x04
	EncapsulationIEEE8023PQInOOB   uint32 = 0x08
	EncapsulationIEEELLCSNAPRouted uint32 = 0x10
)

// Bundle flags (IPSEC_OFFLOAD_V2_ADD_SA.Flags).
const (
	SAInbound uint32 = 0x01 // IPSEC_OFFLOAD_V2_ADD_SA_INBOUND
	SAIPv6    uint32 = 0x10 // IPSEC_OFFLOAD_V2_ADD_SA_IPV6 (0x10 as in SPEC.md)
)

// Per-SA flags (IPSEC_OFFLOAD_V2_SECURITY_ASSOCIATION.Flags).
const (
	SAFlagESN uint32 = 0x01 // IPSEC_OFFLOAD_V2_ESN_SA
)

// Operation is the IPsec protocol of one SecAssoc entry (IPSEC_OFFLOAD_V2_OPERATION).
type Operation uint32

// Operations.
const (
	OpAH  Operation = 1
	OpESP Operation = 2
)

func (o Operation) String() string {
	switch o {
	case OpAH:
		return "AH"
	case OpESP:
		return "ESP"
	}
	return fmt.Sprintf("Operation(%d)", uint32(o))
}

// CryptoStatus is the receive-side result of the NIC's IPsec check
// (IPSEC_OFFLOAD_V2_CRYPTO_STATUS), carried in bits 16-31 of the receive OOB word.
type CryptoStatus uint16

// CryptoStatus values (SPEC section 5).
const (
	CryptoSuccess                CryptoStatus = 0
	CryptoGenericError           CryptoStatus = 1
	CryptoTransportAHAuthFailed  CryptoStatus = 2
	CryptoTransportESPAuthFailed CryptoStatus = 3
	CryptoTunnelAHAuthFailed     CryptoStatus = 4
	CryptoTunnelESPAuthFailed    CryptoStatus = 5
	CryptoInvalidPacketSyntax    CryptoStatus = 6
	CryptoInvalidProtocol        CryptoStatus = 7
)

var cryptoNames = [...]string{
	"CRYPTO_SUCCESS",
	"CRYPTO_GENERIC_ERROR",
	"CRYPTO_TRANSPORT_AH_AUTH_FAILED",
	"CRYPTO_TRANSPORT_ESP_AUTH_FAILED",
	"CRYPTO_TUNNEL_AH_AUTH_FAILED",
	"CRYPTO_TUNNEL_ESP_AUTH_FAILED",
	"CRYPTO_INVALID_PACKET_SYNTAX",
	"CRYPTO_INVALID_PROTOCOL",
}

func (c CryptoStatus) String() string {
	if int(c) < len(cryptoNames) {
		return cryptoNames[c]
	}
	return fmt.Sprintf("CryptoStatus(%d)", uint16(c))
}

// XfrmStatus is the same result in the form of Linux's struct xfrm_offload.status: a single
// bit, 1 << CryptoStatus (CRYPTO_SUCCESS 1 ... CRYPTO_INVALID_PROTOCOL 128).
func (c CryptoStatus) XfrmStatus() uint32 {
	if c > CryptoInvalidProtocol {
		return 0
	}
	return 1 << c
}

// CryptoStatusFromXfrm is the inverse of XfrmStatus; ok is false unless exactly one known
// bit is set.
func CryptoStatusFromXfrm(bits uint32) (c CryptoStatus, ok bool) {
	for i := CryptoSuccess; i <= CryptoInvalidProtocol; i++ {
		if bits == 1<<i {
			return i, true
		}
	}
	return 0, false
}
