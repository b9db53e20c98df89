package nic

// This file holds the NIC's IPsecOV2 capability record (R-CAP-1) and the rules for what this
// software NIC may advertise.
//
// A real miniport advertises what its silicon can do; a host then builds SAs only from the
// advertised bits. A model that advertised an algorithm it cannot run would let a host offload
// an SA that then fails on the data path, long after the ADD_SA OID said yes. So the record is
// checked once (Validate) against what is implemented here, and every later decision
// (ADD_SA, the current configuration) can trust it.

import (
	"fmt"
	"math/bits"
	"strings"

	"github.com/ov2dev/ov2/ndis"
)

// Capabilities is the NDIS_IPSEC_OFFLOAD_V2 record, field for field. The same record serves
// as the hardware capabilities (OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES) and, with Ah and Esp
// narrowed to what is enabled, as NDIS_OFFLOAD.IPsecV2 in the current configuration.
type Capabilities struct {
	// Encapsulation is the set of frame encapsulations (ndis.Encapsulation* bits) the NIC
	// can parse in front of the IP header.
	Encapsulation uint32
	// IPv6Supported says the NIC offloads SAs whose traffic is IPv6, not only IPv4.
	IPv6Supported bool
	// IPv4Options says the NIC can process IPv4 packets that carry header options.
	IPv4Options bool
	// IPv6NonIPsecExtensionHeaders says the NIC can skip IPv6 extension headers that are
	// not AH or ESP.
	IPv6NonIPsecExtensionHeaders bool
	// Ah says the NIC offloads the Authentication Header.
	Ah bool
	// Esp says the NIC offloads the Encapsulating Security Payload.
	Esp bool
	// AhEspCombined says one bundle may hold ESP followed by AH.
	AhEspCombined bool
	// Transport says the NIC offloads transport-mode SAs.
	Transport bool
	// Tunnel says the NIC offloads tunnel-mode SAs.
	Tunnel bool
	// TransportTunnelCombined says a packet may use a transport SA inside a tunnel SA.
	TransportTunnelCombined bool
	// LsoSupported says the NIC can segment a large send and protect each segment.
	LsoSupported bool
	// ExtendedSequenceNumbers says the NIC handles 64-bit sequence numbers (ESN SAs).
	ExtendedSequenceNumbers bool
	// UdpEsp is the set of UDP-ESP encapsulation types the NIC handles, a mask of the
	// ndis.UDPEsp* values (ndis.UDPEspNone, 0, is always allowed).
	UdpEsp uint32
	// AuthenticationAlgorithms is the set of ndis.Auth* bits an SA may name.
	AuthenticationAlgorithms uint32
	// EncryptionAlgorithms is the set of ndis.Enc* bits an SA may name.
	EncryptionAlgorithms uint32
	// SaOffloadCapacity is the most SA bundles the NIC holds at once (R-SA-4).
	SaOffloadCapacity uint32
}

// AlgorithmSet pairs an authentication mask with an encryption mask, because the two masks
// use different bit meanings and must never be mixed up.
type AlgorithmSet struct {
	Authentication uint32 // ndis.Auth* bits
	Encryption     uint32 // ndis.Enc* bits
}

// The algorithm sets as constants, so that Validate does not depend on exported variables a
// caller could overwrite.
const (
	implementedAuth = ndis.AuthSHA1 | ndis.AuthSHA256 | ndis.AuthAESGCM128 | ndis.AuthAESGCM192 | ndis.AuthAESGCM256
	implementedEnc  = ndis.EncNone | ndis.EncAESGCM128 | ndis.EncAESGCM192 | ndis.EncAESGCM256 |
		ndis.EncAESCBC128 | ndis.EncAESCBC192 | ndis.EncAESCBC256
	brokenAuth  = ndis.AuthMD5
	brokenEnc   = ndis.EncDESCBC | ndis.Enc3DESCBC
	knownAuth   = ndis.AuthMD5 | ndis.AuthSHA1 | ndis.AuthSHA256 | implementedAuth
	knownEnc    = 0x1FF
	knownUDPEsp = ndis.UDPEspTransport | ndis.UDPEspTunnel |
		ndis.UDPEspTransportOverUDPEspEncapsulationTunnel | ndis.UDPEspEncapsulationTransportOverTunnel
	knownEncapsulation = 0x1F
)

// MaxSaOffloadCapacity bounds SaOffloadCapacity: the SA table is rebuilt on every change
// (R-SA-7), so an absurd capacity would only invite absurd memory use.
const MaxSaOffloadCapacity = 1 << 20

// Implemented is the set of algorithms this software NIC can actually run: AES-GCM
// (RFC 4106) in three key sizes; AES-GMAC (RFC 4543: authentication AES_GCM_x with
// encryption NONE in ESP, authentication AES_GCM_x in AH); AES-CBC (RFC 3602) in three key
// sizes with HMAC-SHA1-96 (RFC 2404) or HMAC-SHA-256-128 (RFC 4868); NONE encryption with
// either HMAC (ESP-NULL, RFC 2410); and the same HMACs in AH (RFC 4302). It is information
// for callers; changing it changes nothing.
var Implemented = AlgorithmSet{Authentication: implementedAuth, Encryption: implementedEnc}

// Broken is the set of algorithms that are never advertised, whatever a configuration asks:
// DES, 3DES and MD5 no longer protect anything. It is information for callers; changing it
// changes nothing.
var Broken = AlgorithmSet{Authentication: brokenAuth, Encryption: brokenEnc}

// DefaultCapabilities is what this NIC advertises when the configuration says nothing else:
// everything that is implemented, ESP and AH, alone or combined in one bundle (ESP then AH),
// with every algorithm of Implemented. NONE is in the encryption set both for AES-GMAC in
// ESP and for ESP-NULL.
func DefaultCapabilities() Capabilities {
	return Capabilities{
		Encapsulation:                ndis.EncapsulationIEEE8023,
		IPv6Supported:                true,
		IPv4Options:                  true,
		IPv6NonIPsecExtensionHeaders: true,
		Ah:                           true,
		Esp:                          true,
		AhEspCombined:                true,
		Transport:                    true,
		Tunnel:                       true,
		TransportTunnelCombined:      true,
		LsoSupported:                 true,
		ExtendedSequenceNumbers:      true,
		UdpEsp:                       knownUDPEsp,
		AuthenticationAlgorithms:     implementedAuth,
		EncryptionAlgorithms:         implementedEnc,
		SaOffloadCapacity:            1024,
	}
}

// Validate reports the first thing the record advertises that this NIC cannot honour. The
// error is a *ConfigError (it wraps ErrConfig) whose Keyword is the field at fault, so that
// a configuration file can point at the line that set it.
func (c Capabilities) Validate() error {
	if err := checkMask("Encapsulation", c.Encapsulation, knownEncapsulation, encapsulationNames); err != nil {
		return err
	}
	if c.Encapsulation == 0 {
		return &ConfigError{Keyword: "Encapsulation", Value: "0", Reason: "no encapsulation: the NIC could parse no frame"}
	}
	if err := checkMask("UdpEsp", c.UdpEsp, knownUDPEsp, udpEspNames); err != nil {
		return err
	}
	if err := checkAlgorithms("AuthenticationAlgorithms", c.AuthenticationAlgorithms, knownAuth, brokenAuth, implementedAuth, authNames); err != nil {
		return err
	}
	if err := checkAlgorithms("EncryptionAlgorithms", c.EncryptionAlgorithms, knownEnc, brokenEnc, implementedEnc, encNames); err != nil {
		return err
	}
	switch {
	case c.AuthenticationAlgorithms == 0:
		return &ConfigError{Keyword: "AuthenticationAlgorithms", Value: "0", Reason: "empty: every ESP SA names an authentication algorithm"}
	case c.EncryptionAlgorithms == 0:
		return &ConfigError{Keyword: "EncryptionAlgorithms", Value: "0", Reason: "empty: want at least NONE (for AES-GMAC SAs)"}
	case !c.Esp && !c.Ah:
		return &ConfigError{Keyword: "Esp", Value: "0", Reason: "Esp and Ah are both off: the NIC could offload no protocol"}
	case c.AhEspCombined && !(c.Ah && c.Esp):
		return &ConfigError{Keyword: "AhEspCombined", Value: "1", Reason: "needs both Ah and Esp"}
	case !c.Transport && !c.Tunnel:
		return &ConfigError{Keyword: "Tunnel", Value: "0", Reason: "Transport and Tunnel are both off: the NIC could accept no SA"}
	case c.TransportTunnelCombined && !(c.Transport && c.Tunnel):
		return &ConfigError{Keyword: "TransportTunnelCombined", Value: "1", Reason: "needs both Transport and Tunnel"}
	case c.SaOffloadCapacity == 0 || c.SaOffloadCapacity > MaxSaOffloadCapacity:
		return &ConfigError{Keyword: "SaOffloadCapacity", Value: fmt.Sprint(c.SaOffloadCapacity), Reason: fmt.Sprintf("want 1 to %d", MaxSaOffloadCapacity)}
	}
	return nil
}

// checkMask refuses bits outside known, naming them in hex since they have no name.
func checkMask(keyword string, mask, known uint32, names []bitName) error {
	if extra := mask &^ known; extra != 0 {
		return &ConfigError{Keyword: keyword, Value: fmt.Sprintf("0x%X", mask),
			Reason: fmt.Sprintf("unknown bits 0x%X (known: %s)", extra, knownNames(names))}
	}
	return nil
}

// checkAlgorithms refuses unknown bits first, then broken ones (the stronger refusal), then
// the ones that are merely not implemented yet, naming the lowest offending bit.
func checkAlgorithms(keyword string, mask, known, broken, implemented uint32, names []bitName) error {
	if err := checkMask(keyword, mask, known, names); err != nil {
		return err
	}
	if b := mask & broken; b != 0 {
		return &ConfigError{Keyword: keyword,
			Reason: maskName(lowestBit(b), names) + " is a broken algorithm and is never advertised"}
	}
	if b := mask &^ implemented; b != 0 {
		return &ConfigError{Keyword: keyword,
			Reason: maskName(lowestBit(b), names) + " is not implemented yet"}
	}
	return nil
}

func lowestBit(m uint32) uint32 { return m & -m }

// Supports reports whether an SA naming exactly this authentication algorithm and exactly
// this encryption algorithm (one ndis.Auth* bit and one ndis.Enc* bit) uses only advertised
// algorithms. Whether the pair makes sense together (GCM with the same key size, GMAC with
// NONE) is the SA layer's rule, not the capability record's.
func (c Capabilities) Supports(auth, enc uint32) bool {
	if bits.OnesCount32(auth) != 1 || bits.OnesCount32(enc) != 1 {
		return false
	}
	return c.AuthenticationAlgorithms&auth != 0 && c.EncryptionAlgorithms&enc != 0
}

// String lists every field by its NDIS name, with masks as names joined by '|', so a log line
// or a test failure shows what is advertised without decoding hex.
func (c Capabilities) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Encapsulation=%s", maskName(c.Encapsulation, encapsulationNames))
	for _, f := range c.boolFields() {
		fmt.Fprintf(&b, " %s=%t", f.name, *f.v)
	}
	fmt.Fprintf(&b, " UdpEsp=%s AuthenticationAlgorithms=%s EncryptionAlgorithms=%s SaOffloadCapacity=%d",
		maskName(c.UdpEsp, udpEspNames), AuthAlgorithmNames(c.AuthenticationAlgorithms),
		EncAlgorithmNames(c.EncryptionAlgorithms), c.SaOffloadCapacity)
	return b.String()
}

// boolField names one boolean field of a Capabilities record; the configuration file and
// String walk the same list so the two can never disagree on a name or the order.
type boolField struct {
	name string
	v    *bool
}

func (c *Capabilities) boolFields() []boolField {
	return []boolField{
		{"IPv6Supported", &c.IPv6Supported},
		{"IPv4Options", &c.IPv4Options},
		{"IPv6NonIPsecExtensionHeaders", &c.IPv6NonIPsecExtensionHeaders},
		{"Ah", &c.Ah},
		{"Esp", &c.Esp},
		{"AhEspCombined", &c.AhEspCombined},
		{"Transport", &c.Transport},
		{"Tunnel", &c.Tunnel},
		{"TransportTunnelCombined", &c.TransportTunnelCombined},
		{"LsoSupported", &c.LsoSupported},
		{"ExtendedSequenceNumbers", &c.ExtendedSequenceNumbers},
	}
}

// bitName ties one capability bit to its NDIS name (the WDK constant without its prefix).
type bitName struct {
	bit  uint32
	name string
}

// The name tables, in bit order: formatting walks them so names come out lowest bit first.
var (
	authNames = []bitName{
		{ndis.AuthMD5, "MD5"}, {ndis.AuthSHA1, "SHA_1"}, {ndis.AuthSHA256, "SHA_256"},
		{ndis.AuthAESGCM128, "AES_GCM_128"}, {ndis.AuthAESGCM192, "AES_GCM_192"}, {ndis.AuthAESGCM256, "AES_GCM_256"},
	}
	encNames = []bitName{
		{ndis.EncNone, "NONE"}, {ndis.EncDESCBC, "DES_CBC"}, {ndis.Enc3DESCBC, "3_DES_CBC"},
		{ndis.EncAESGCM128, "AES_GCM_128"}, {ndis.EncAESGCM192, "AES_GCM_192"}, {ndis.EncAESGCM256, "AES_GCM_256"},
		{ndis.EncAESCBC128, "AES_CBC_128"}, {ndis.EncAESCBC192, "AES_CBC_192"}, {ndis.EncAESCBC256, "AES_CBC_256"},
	}
	udpEspNames = []bitName{
		{ndis.UDPEspTransport, "TRANSPORT"}, {ndis.UDPEspTunnel, "TUNNEL"},
		{ndis.UDPEspTransportOverUDPEspEncapsulationTunnel, "TRANSPORT_OVER_UDP_ESP_ENCAPSULATION_TUNNEL"},
		{ndis.UDPEspEncapsulationTransportOverTunnel, "UDP_ESP_ENCAPSULATION_TRANSPORT_OVER_TUNNEL"},
	}
	encapsulationNames = []bitName{
		{ndis.EncapsulationNull, "NULL"}, {ndis.EncapsulationIEEE8023, "IEEE_802_3"},
		{ndis.EncapsulationIEEE8023PQ, "IEEE_802_3_P_AND_Q"}, {ndis.EncapsulationIEEE8023PQInOOB, "IEEE_802_3_P_AND_Q_IN_OOB"},
		{ndis.EncapsulationIEEELLCSNAPRouted, "IEEE_LLC_SNAP_ROUTED"},
	}
)

// Other spellings people write. AES_GMAC_x is the same authentication bit as AES_GCM_x: NDIS
// has one bit for both, and which one an SA means depends on its encryption (NONE = GMAC).
var (
	authAliases = map[string]uint32{
		"AES_GMAC_128": ndis.AuthAESGCM128, "AES_GMAC_192": ndis.AuthAESGCM192, "AES_GMAC_256": ndis.AuthAESGCM256,
		"SHA1": ndis.AuthSHA1, "SHA256": ndis.AuthSHA256,
	}
	encAliases    = map[string]uint32{"DES": ndis.EncDESCBC, "3DES": ndis.Enc3DESCBC, "3DES_CBC": ndis.Enc3DESCBC}
	udpEspAliases = map[string]uint32{"NONE": ndis.UDPEspNone}
)

// normalizeName folds the spellings a person might use ("aes-gcm-128", "Aes_Gcm_128") onto
// the NDIS spelling, so the configuration file is forgiving about case and dashes.
func normalizeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' {
			return '_'
		}
		return r
	}, strings.ToUpper(strings.TrimSpace(s)))
}

// lookupName finds a name in a table or its aliases after normalizing it.
func lookupName(s string, names []bitName, aliases map[string]uint32) (uint32, bool) {
	s = normalizeName(s)
	for _, n := range names {
		if n.name == s {
			return n.bit, true
		}
	}
	v, ok := aliases[s]
	return v, ok
}

// knownNames lists a table's names for an error message, so the user sees what to write.
func knownNames(names []bitName) string {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n.name
	}
	return strings.Join(parts, ", ")
}

// maskName writes a mask as names joined by '|', unknown bits as one trailing hex number,
// and an empty mask as "0" (there is no name for nothing in most tables).
func maskName(mask uint32, names []bitName) string {
	if mask == 0 {
		return "0"
	}
	var parts []string
	rest := mask
	for _, n := range names {
		if mask&n.bit != 0 {
			parts = append(parts, n.name)
			rest &^= n.bit
		}
	}
	if rest != 0 {
		parts = append(parts, fmt.Sprintf("0x%X", rest))
	}
	return strings.Join(parts, "|")
}

// AuthAlgorithmName names one authentication bit (an SA's AuthenticationAlgorithm
// Identifier), for logs and error messages; a value that is not exactly one known bit comes
// out in hex.
func AuthAlgorithmName(bit uint32) string { return singleName(bit, authNames) }

// EncAlgorithmName names one encryption bit (an SA's EncryptionAlgorithm Identifier); a value
// that is not exactly one known bit comes out in hex.
func EncAlgorithmName(bit uint32) string { return singleName(bit, encNames) }

func singleName(bit uint32, names []bitName) string {
	for _, n := range names {
		if n.bit == bit {
			return n.name
		}
	}
	return fmt.Sprintf("0x%X", bit)
}

// AuthAlgorithmNames writes an authentication mask as names, e.g. "AES_GCM_128|AES_GCM_256".
func AuthAlgorithmNames(mask uint32) string { return maskName(mask, authNames) }

// EncAlgorithmNames writes an encryption mask as names, e.g. "NONE|AES_GCM_128".
func EncAlgorithmNames(mask uint32) string { return maskName(mask, encNames) }

// ParseAuthAlgorithm turns a name into its authentication bit. Case and '-' versus '_' do not
// matter, and AES_GMAC_128/192/256 are accepted for the AES_GCM bits they share. Broken
// algorithms (MD5) parse too: refusing them is the configuration's job, not the name table's.
func ParseAuthAlgorithm(name string) (uint32, error) {
	if v, ok := lookupName(name, authNames, authAliases); ok {
		return v, nil
	}
	return 0, fmt.Errorf("nic: unknown authentication algorithm %q (known: %s, AES_GMAC_128, AES_GMAC_192, AES_GMAC_256)",
		name, knownNames(authNames))
}

// ParseEncAlgorithm turns a name into its encryption bit, with the same forgiving spelling as
// ParseAuthAlgorithm; "NONE" is the bit that AES-GMAC SAs use.
func ParseEncAlgorithm(name string) (uint32, error) {
	if v, ok := lookupName(name, encNames, encAliases); ok {
		return v, nil
	}
	return 0, fmt.Errorf("nic: unknown encryption algorithm %q (known: %s)", name, knownNames(encNames))
}

// Suites lists, by RFC name, the protected suites an SA may use under this record: what the
// algorithm masks and the Ah, Esp and AhEspCombined fields allow together, as ADD_SA admits
// it. On the hardware record that is what the NIC can do; on the current configuration's
// (CurrentConfig.IPsecV2, where Ah and Esp are the IPv4-and-IPv6 settings) what is enabled.
// For example "ESP AES-GCM-128", "ESP AES-CBC-256 + HMAC-SHA-256-128", "ESP NULL +
// HMAC-SHA1-96", "AH AES-GMAC-128", and "ESP+AH" when bundles are allowed.
func (c Capabilities) Suites() []string {
	var out []string
	enc, auth := c.EncryptionAlgorithms, c.AuthenticationAlgorithms
	hmacs := []bitName{{ndis.AuthSHA1, "HMAC-SHA1-96"}, {ndis.AuthSHA256, "HMAC-SHA-256-128"}}
	sizes := []struct {
		gcm, cbc uint32
		bits     string
	}{{ndis.EncAESGCM128, ndis.EncAESCBC128, "128"}, {ndis.EncAESGCM192, ndis.EncAESCBC192, "192"}, {ndis.EncAESGCM256, ndis.EncAESCBC256, "256"}}
	if c.Esp {
		for _, s := range sizes {
			if enc&s.gcm != 0 {
				out = append(out, "ESP AES-GCM-"+s.bits)
			}
		}
		for _, s := range sizes {
			if enc&ndis.EncNone != 0 && auth&s.gcm != 0 { // the Auth and Enc GCM bits share values
				out = append(out, "ESP AES-GMAC-"+s.bits)
			}
		}
		for _, s := range sizes {
			for _, h := range hmacs {
				if enc&s.cbc != 0 && auth&h.bit != 0 {
					out = append(out, "ESP AES-CBC-"+s.bits+" + "+h.name)
				}
			}
		}
		for _, h := range hmacs {
			if enc&ndis.EncNone != 0 && auth&h.bit != 0 {
				out = append(out, "ESP NULL + "+h.name)
			}
		}
	}
	if c.Ah {
		for _, h := range hmacs {
			if auth&h.bit != 0 {
				out = append(out, "AH "+h.name)
			}
		}
		for _, s := range sizes {
			if auth&s.gcm != 0 {
				out = append(out, "AH AES-GMAC-"+s.bits)
			}
		}
	}
	if c.AhEspCombined && c.Ah && c.Esp {
		out = append(out, "ESP+AH")
	}
	return out
}

// SuitesString is Suites joined with ", ", or "none".
func (c Capabilities) SuitesString() string {
	if s := c.Suites(); len(s) > 0 {
		return strings.Join(s, ", ")
	}
	return "none"
}
