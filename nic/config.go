package nic

// This file is the NIC's configuration source: the part the Windows registry plays for a real
// miniport (R-CAP-2). A miniport reads the standardized keywords *IPsecOffloadV2 and
// *IPsecOffloadV2IPv4 at initialisation, combines them with what its hardware can do, and
// reports the result as its current configuration. Here the registry is a Config value, built
// in Go or read from a file (configfile.go), and the hardware is the Capabilities record it
// carries, because a software NIC's "hardware" is whatever we choose to model.
//
// Keywords and their defaults (the file form uses the same names, case-insensitively):
//
//	*IPsecOffloadV2      default 3  IPsecOV2 for IPv4 and IPv6: 0 disabled, 1 AH, 2 ESP, 3 AH and ESP
//	*IPsecOffloadV2IPv4  default 3  IPsecOV2 for IPv4 only: same values
//	Encapsulation        default IEEE_802_3
//	IPv6Supported, IPv4Options, IPv6NonIPsecExtensionHeaders, Ah, Esp, AhEspCombined,
//	Transport, Tunnel, TransportTunnelCombined, LsoSupported,
//	ExtendedSequenceNumbers   default 1 (true)
//	UdpEsp               default all four types
//	AuthenticationAlgorithms  default SHA_1, SHA_256, AES_GCM_128, AES_GCM_192, AES_GCM_256
//	EncryptionAlgorithms      default NONE, AES_GCM_128, AES_GCM_192, AES_GCM_256,
//	                          AES_CBC_128, AES_CBC_192, AES_CBC_256
//	SaOffloadCapacity    default 1024 (1 to 1048576)
//
// The keywords ask; the hardware decides. Asking for AH with a keyword on a NIC whose
// hardware has no AH leaves AH off, as it would on a real NIC (see InitialConfig).
//
// How each suite is switched off (ADD_SA then refuses it with NDIS_STATUS_NOT_SUPPORTED):
//
//	AH                      Ah = 0 (or *IPsecOffloadV2 / *IPsecOffloadV2IPv4 without AH)
//	ESP+AH bundles          AhEspCombined = 0
//	AES-CBC-128/192/256     EncryptionAlgorithms without AES_CBC_128 / _192 / _256
//	HMAC-SHA1-96, -SHA-256  AuthenticationAlgorithms without SHA_1 / SHA_256 (ESP and AH)
//	ESP-NULL (RFC 2410)     EncryptionAlgorithms without NONE
//	AES-GMAC (ESP and AH)   AuthenticationAlgorithms without AES_GCM_128 / _192 / _256
//
// The masks are NDIS's, so their bits are shared where NDIS shares them: NONE is the
// encryption of ESP-NULL and of ESP AES-GMAC alike, and AES_GCM_x is the authentication of
// AES-GMAC in ESP and in AH (and may be named, with no key, by an AES-GCM SA). To keep
// AES-GMAC in ESP but offer no AES-GMAC in AH, or the reverse, switch AH or ESP off.

import (
	"errors"
	"fmt"
	"github.com/ov2dev/ov2/esp"
	"strconv"
	"strings"
)

// Values of the *IPsecOffloadV2 and *IPsecOffloadV2IPv4 keywords. They are a two-bit mask
// (bit 0 AH, bit 1 ESP). The OID_TCP_OFFLOAD_PARAMETERS field uses a different value space
// (see IPsecV2NoChange and friends): do not pass one where the other is meant.
const (
	KeywordDisabled  uint8 = 0 // IPsecOV2 off
	KeywordAH        uint8 = 1 // AH only
	KeywordESP       uint8 = 2 // ESP only
	KeywordAHAndESP  uint8 = 3 // AH and ESP (the default)
	keywordMax             = KeywordAHAndESP
	keywordRangeText       = "want 0 (disabled), 1 (AH), 2 (ESP) or 3 (AH and ESP)"
)

// Names of the two standardized keywords; the '*' is part of the name, as in the registry.
const (
	KeywordIPsecOffloadV2     = "*IPsecOffloadV2"
	KeywordIPsecOffloadV2IPv4 = "*IPsecOffloadV2IPv4"
)

// Config is the NIC's initial configuration: the two standardized keywords plus the
// hardware the NIC models. The zero value is not useful (it disables everything and has no
// hardware); start from DefaultConfig.
type Config struct {
	// IPsecOffloadV2 is the keyword *IPsecOffloadV2: which IPsec protocols are enabled for
	// IPv4 and IPv6. 0 disabled, 1 AH, 2 ESP, 3 AH and ESP. Default 3.
	IPsecOffloadV2 uint8
	// IPsecOffloadV2IPv4 is the keyword *IPsecOffloadV2IPv4: the same choice for IPv4
	// traffic only, added to what IPsecOffloadV2 enables. Default 3.
	IPsecOffloadV2IPv4 uint8
	// Hardware is what the modelled hardware can do; see DefaultCapabilities for its
	// defaults. The keywords can only narrow it.
	Hardware Capabilities
	// CryptoImplementation is the keyword CryptoImplementation: which AES-GCM
	// implementation each SA gets when it is added (SPEC section 6). auto (the default)
	// picks our own VAES + AVX-512 code when the CPU has it, else Go's assembly when the CPU
	// has AES-NI and PCLMULQDQ (or ARMv8 AES and PMULL), else the portable Go GCM; vaes,
	// stdlib and portable force one (vaes is refused on a CPU without it). Not a registry
	// keyword: a model option, so that each implementation can be run and measured.
	CryptoImplementation esp.Impl
}

// DefaultConfig is the configuration of a NIC nobody configured: both keywords ask for AH
// and ESP (the registry default of a real NIC), and the hardware is DefaultCapabilities, so
// in effect ESP, AH and ESP+AH bundles are enabled for IPv4 and IPv6.
func DefaultConfig() Config {
	return Config{
		IPsecOffloadV2:     KeywordAHAndESP,
		IPsecOffloadV2IPv4: KeywordAHAndESP,
		Hardware:           DefaultCapabilities(),
	}
}

// Validate reports the first invalid keyword value, then anything the hardware record
// advertises that this NIC cannot honour (Capabilities.Validate). The error is a
// *ConfigError and wraps ErrConfig.
func (c Config) Validate() error {
	if c.IPsecOffloadV2 > keywordMax {
		return &ConfigError{Keyword: KeywordIPsecOffloadV2, Value: strconv.Itoa(int(c.IPsecOffloadV2)), Reason: keywordRangeText}
	}
	if c.IPsecOffloadV2IPv4 > keywordMax {
		return &ConfigError{Keyword: KeywordIPsecOffloadV2IPv4, Value: strconv.Itoa(int(c.IPsecOffloadV2IPv4)), Reason: keywordRangeText}
	}
	if !c.CryptoImplementation.Valid() {
		return &ConfigError{Keyword: "CryptoImplementation", Value: c.CryptoImplementation.String(), Reason: "want auto, stdlib, portable or vaes"}
	}
	if c.CryptoImplementation == esp.ImplVAES && !esp.VAESSupported() {
		return &ConfigError{Keyword: "CryptoImplementation", Value: "vaes",
			Reason: "this CPU lacks VAES, VPCLMULQDQ or AVX-512 F/BW/VL (it has " + esp.CPUFeatures().String() + ")"}
	}
	return c.Hardware.Validate()
}

// ErrConfig is wrapped by every error that comes from a bad configuration: a file that does
// not parse, a keyword out of range, or capabilities this NIC cannot honour. Test for it with
// errors.Is; read the details with errors.As and *ConfigError.
var ErrConfig = errors.New("nic: invalid configuration")

// ConfigError says what in a configuration is wrong and where. Its message has the form
//
//	file:line: keyword "K" = V: reason     (from a file)
//	nic: K = V: reason                      (from a Go value)
//
// with the parts that do not apply left out.
type ConfigError struct {
	File    string // the name given to ParseConfig; "" for a Config built in Go
	Line    int    // 1-based line in File; 0 when no single line is at fault
	Keyword string // the keyword (or Capabilities field) at fault; "" when none
	Value   string // the offending value as written; "" when the reason says it all
	Reason  string // what is wrong, and what would be right
}

// Error renders the message described on ConfigError.
func (e *ConfigError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
	} else {
		b.WriteString("nic")
	}
	b.WriteString(": ")
	if e.Keyword != "" {
		if e.File != "" {
			fmt.Fprintf(&b, "keyword %q", e.Keyword)
		} else {
			b.WriteString(e.Keyword)
		}
		if e.Value != "" {
			b.WriteString(" = ")
			b.WriteString(quoteIfOdd(e.Value))
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Reason)
	return b.String()
}

// Unwrap makes errors.Is(err, ErrConfig) true for every ConfigError.
func (e *ConfigError) Unwrap() error { return ErrConfig }

// quoteIfOdd leaves a plain value as the user wrote it but quotes one with spaces or
// unprintable bytes, so that garbage from a file cannot garble the message.
func quoteIfOdd(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7F || s[i] == '"' {
			return strconv.Quote(s)
		}
	}
	return s
}
