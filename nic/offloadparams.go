package nic

// This file is the NIC's current configuration and how OID_TCP_OFFLOAD_PARAMETERS changes it
// (R-CAP-3, R-CAP-4).
//
// Three records are in play, as in NDIS:
//
//	hardware capabilities  what the NIC could do (Config.Hardware); changes only in the MUX case
//	current configuration  what is enabled now (CurrentConfig); starts from the keywords,
//	                       then follows OID_TCP_OFFLOAD_PARAMETERS
//	bind parameters        a copy of the current configuration handed to each host at bind
//
// A host may only use what the current configuration allows, so the data path and ADD_SA ask
// ESPAllowed/AHAllowed rather than looking at the hardware record.

import (
	"errors"
	"fmt"

	"github.com/ov2dev/ov2/ndis"
)

// CurrentConfig is the IPsecOV2 part of the NIC's current configuration, what
// OID_TCP_OFFLOAD_CURRENT_CONFIG reports and NDIS_BIND_PARAMETERS carries.
type CurrentConfig struct {
	// IPsecV2 is the NDIS_OFFLOAD.IPsecV2 record: the hardware record with Ah, Esp and
	// AhEspCombined narrowed to what is enabled for IPv4 and IPv6 together.
	IPsecV2 Capabilities
	// IPv4Ah and IPv4Esp are what the IPv4-only setting (*IPsecOffloadV2IPv4 or the OID's
	// IPsecV2IPv4 field) enables on top of IPsecV2; NDIS_OFFLOAD has no field for them, so
	// they ride beside the record.
	IPv4Ah, IPv4Esp bool
}

// InitialConfig derives the current configuration a NIC starts with from its Config: each
// protocol is enabled when its keyword asks for it AND the hardware has it, so a keyword can
// never enable what the hardware lacks. The Config should have passed Validate.
func InitialConfig(c Config) CurrentConfig {
	hw := c.Hardware
	cc := CurrentConfig{IPsecV2: hw}
	cc.IPsecV2.Ah = hw.Ah && c.IPsecOffloadV2&KeywordAH != 0
	cc.IPsecV2.Esp = hw.Esp && c.IPsecOffloadV2&KeywordESP != 0
	cc.IPsecV2.AhEspCombined = hw.AhEspCombined && cc.IPsecV2.Ah && cc.IPsecV2.Esp
	cc.IPv4Ah = hw.Ah && c.IPsecOffloadV2IPv4&KeywordAH != 0
	cc.IPv4Esp = hw.Esp && c.IPsecOffloadV2IPv4&KeywordESP != 0
	return cc
}

// ESPAllowed reports whether a host may offload ESP for traffic of that IP version now.
// IPv6 needs ESP enabled in IPsecV2 and IPv6 support in the hardware; IPv4 is allowed when
// either IPsecV2 or the IPv4-only setting enables ESP.
func (cc CurrentConfig) ESPAllowed(ipv6 bool) bool {
	if ipv6 {
		return cc.IPsecV2.Esp && cc.IPsecV2.IPv6Supported
	}
	return cc.IPsecV2.Esp || cc.IPv4Esp
}

// AHAllowed is ESPAllowed for AH.
func (cc CurrentConfig) AHAllowed(ipv6 bool) bool {
	if ipv6 {
		return cc.IPsecV2.Ah && cc.IPsecV2.IPv6Supported
	}
	return cc.IPsecV2.Ah || cc.IPv4Ah
}

// Enabled reports whether any IPsecOV2 service is enabled at all, for a caller that wants to
// refuse every ADD_SA early when offload is off.
func (cc CurrentConfig) Enabled() bool {
	return cc.IPsecV2.Ah || cc.IPsecV2.Esp || cc.IPv4Ah || cc.IPv4Esp
}

// Values of the IPsecV2 and IPsecV2IPv4 fields of NDIS_OFFLOAD_PARAMETERS
// (NDIS_OFFLOAD_PARAMETERS_NO_CHANGE, ..._IPSECV2_DISABLED, ..._AH_ENABLED, ..._ESP_ENABLED,
// ..._AH_AND_ESP_ENABLED). Unlike the registry keyword (0..3, 0 = disabled), 0 here means
// "leave as it is" and every other value is shifted up by one.
const (
	IPsecV2NoChange        uint8 = 0
	IPsecV2Disabled        uint8 = 1
	IPsecV2AHEnabled       uint8 = 2
	IPsecV2ESPEnabled      uint8 = 3
	IPsecV2AHAndESPEnabled uint8 = 4
	ipsecV2ParamMax              = IPsecV2AHAndESPEnabled
)

var ipsecV2ParamNames = [...]string{"no change", "disabled", "AH enabled", "ESP enabled", "AH and ESP enabled"}

// OffloadParameters is the IPsecOV2 part of NDIS_OFFLOAD_PARAMETERS, the payload of
// OID_TCP_OFFLOAD_PARAMETERS. Each field takes one of the IPsecV2* values.
type OffloadParameters struct {
	IPsecV2     uint8 // IPv4 and IPv6
	IPsecV2IPv4 uint8 // IPv4 only
}

// ErrInvalidParameter is wrapped by an OID error caused by a value outside the OID's value
// space; the OID layer answers it with NDIS_STATUS_INVALID_PARAMETER.
var ErrInvalidParameter = errors.New("invalid parameter")

// ErrNotSupported is wrapped by an OID error that asks for something the hardware cannot do;
// the OID layer answers it with NDIS_STATUS_NOT_SUPPORTED.
var ErrNotSupported = errors.New("not supported")

// Apply computes the configuration that OID_TCP_OFFLOAD_PARAMETERS p leads to on hardware
// hw. Both fields are checked before either is applied, so a refused request changes nothing
// (next == cc). changed says whether next differs from cc, which is when the caller must
// raise NDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG (R-CAP-3). Only the Ah, Esp and
// AhEspCombined fields move; the rest of the record stays as it was.
func (cc CurrentConfig) Apply(p OffloadParameters, hw Capabilities) (next CurrentConfig, changed bool, err error) {
	if err := checkParam("IPsecV2", p.IPsecV2, hw); err != nil {
		return cc, false, err
	}
	if err := checkParam("IPsecV2IPv4", p.IPsecV2IPv4, hw); err != nil {
		return cc, false, err
	}
	next = cc
	if p.IPsecV2 != IPsecV2NoChange {
		ah, esp := paramProtocols(p.IPsecV2)
		next.IPsecV2.Ah, next.IPsecV2.Esp = ah, esp
		next.IPsecV2.AhEspCombined = hw.AhEspCombined && ah && esp
	}
	if p.IPsecV2IPv4 != IPsecV2NoChange {
		next.IPv4Ah, next.IPv4Esp = paramProtocols(p.IPsecV2IPv4)
	}
	return next, next != cc, nil
}

// checkParam refuses a value outside 0..4 and a request for a protocol hw does not have.
func checkParam(field string, v uint8, hw Capabilities) error {
	oid := ndis.OIDTCPOffloadParameters
	if v > ipsecV2ParamMax {
		return fmt.Errorf("nic: %v: %s = %d: %w: want 0 (no change), 1 (disabled), 2 (AH), 3 (ESP) or 4 (AH and ESP)",
			oid, field, v, ErrInvalidParameter)
	}
	ah, esp := paramProtocols(v)
	if ah && !hw.Ah {
		return fmt.Errorf("nic: %v: %s = %d (%s): %w: the hardware does not offload AH",
			oid, field, v, ipsecV2ParamNames[v], ErrNotSupported)
	}
	if esp && !hw.Esp {
		return fmt.Errorf("nic: %v: %s = %d (%s): %w: the hardware does not offload ESP",
			oid, field, v, ipsecV2ParamNames[v], ErrNotSupported)
	}
	return nil
}

// paramProtocols decodes an OID value (already checked to be 1..4) into the protocols it
// enables; 0 enables nothing, which callers treat as "no change" before getting here.
func paramProtocols(v uint8) (ah, esp bool) {
	switch v {
	case IPsecV2AHEnabled:
		return true, false
	case IPsecV2ESPEnabled:
		return false, true
	case IPsecV2AHAndESPEnabled:
		return true, true
	}
	return false, false
}
