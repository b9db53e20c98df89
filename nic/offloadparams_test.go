package nic

import (
	"errors"
	"github.com/ov2dev/ov2/esp"
	"testing"
)

// hwWithAH is hardware that has AH: the default since issue 11.
func hwWithAH() Capabilities {
	hw := DefaultCapabilities()
	hw.Ah, hw.AhEspCombined = true, true
	return hw
}

// hwWithoutAH is hardware without AH, as the default was before issue 11: the keywords'
// requests for AH must then be left off.
func hwWithoutAH() Capabilities {
	hw := DefaultCapabilities()
	hw.Ah, hw.AhEspCombined = false, false
	return hw
}

// R-CAP-1, R-CAP-2, R-CAP-4: the initial current configuration is keyword AND hardware.
func TestInitialConfig(t *testing.T) {
	def := hwWithoutAH()
	withAH := hwWithAH()
	narrowed := func(hw Capabilities, ah, esp, combined bool) Capabilities {
		hw.Ah, hw.Esp, hw.AhEspCombined = ah, esp, combined
		return hw
	}
	tests := []struct {
		name     string
		cfg      Config
		want     CurrentConfig
		v4, v6   bool // ESPAllowed(false), ESPAllowed(true)
		ah4, ah6 bool // AHAllowed(false), AHAllowed(true)
		enabled  bool
	}{
		{"defaults: AH asked, hardware has none", Config{3, 3, def, esp.ImplAuto},
			CurrentConfig{IPsecV2: def, IPv4Ah: false, IPv4Esp: true}, true, true, false, false, true},
		{"disabled", Config{0, 0, def, esp.ImplAuto},
			CurrentConfig{IPsecV2: narrowed(def, false, false, false)}, false, false, false, false, false},
		{"IPv4 only ESP", Config{0, 2, def, esp.ImplAuto},
			CurrentConfig{IPsecV2: narrowed(def, false, false, false), IPv4Esp: true}, true, false, false, false, true},
		{"ESP, IPv4 setting off", Config{2, 0, def, esp.ImplAuto},
			CurrentConfig{IPsecV2: def}, true, true, false, false, true},
		{"AH only on AH hardware", Config{1, 0, withAH, esp.ImplAuto},
			CurrentConfig{IPsecV2: narrowed(withAH, true, false, false)}, false, false, true, true, true},
		{"AH and ESP on AH hardware", Config{3, 3, withAH, esp.ImplAuto},
			CurrentConfig{IPsecV2: withAH, IPv4Ah: true, IPv4Esp: true}, true, true, true, true, true},
		{"IPv4 AH only on AH hardware", Config{0, 1, withAH, esp.ImplAuto},
			CurrentConfig{IPsecV2: narrowed(withAH, false, false, false), IPv4Ah: true}, false, false, true, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := InitialConfig(tt.cfg)
			if got != tt.want {
				t.Fatalf("InitialConfig =\n%+v\nwant\n%+v", got, tt.want)
			}
			if got.ESPAllowed(false) != tt.v4 || got.ESPAllowed(true) != tt.v6 {
				t.Errorf("ESPAllowed(v4, v6) = %t, %t; want %t, %t", got.ESPAllowed(false), got.ESPAllowed(true), tt.v4, tt.v6)
			}
			if got.AHAllowed(false) != tt.ah4 || got.AHAllowed(true) != tt.ah6 {
				t.Errorf("AHAllowed(v4, v6) = %t, %t; want %t, %t", got.AHAllowed(false), got.AHAllowed(true), tt.ah4, tt.ah6)
			}
			if got.Enabled() != tt.enabled {
				t.Errorf("Enabled() = %t, want %t", got.Enabled(), tt.enabled)
			}
		})
	}
}

// R-CAP-4: IPv6 traffic needs IPv6 support in the hardware even when ESP is enabled.
func TestESPAllowedWithoutIPv6(t *testing.T) {
	hw := DefaultCapabilities()
	hw.IPv6Supported = false
	cc := InitialConfig(Config{3, 3, hw, esp.ImplAuto})
	if !cc.ESPAllowed(false) || cc.ESPAllowed(true) {
		t.Errorf("ESPAllowed(v4, v6) = %t, %t; want true, false", cc.ESPAllowed(false), cc.ESPAllowed(true))
	}
}

// R-CAP-3: every value of both OID_TCP_OFFLOAD_PARAMETERS fields.
func TestApplyAllValues(t *testing.T) {
	hw := hwWithAH()
	start := InitialConfig(Config{KeywordESP, KeywordAH, hw, esp.ImplAuto}) // Esp on; IPv4: AH on
	type state struct{ ah, esp, combined, v4ah, v4esp bool }
	tests := []struct {
		p       OffloadParameters
		want    state
		changed bool
	}{
		{OffloadParameters{IPsecV2NoChange, IPsecV2NoChange}, state{false, true, false, true, false}, false},
		{OffloadParameters{IPsecV2Disabled, IPsecV2NoChange}, state{false, false, false, true, false}, true},
		{OffloadParameters{IPsecV2AHEnabled, IPsecV2NoChange}, state{true, false, false, true, false}, true},
		{OffloadParameters{IPsecV2ESPEnabled, IPsecV2NoChange}, state{false, true, false, true, false}, false},
		{OffloadParameters{IPsecV2AHAndESPEnabled, IPsecV2NoChange}, state{true, true, true, true, false}, true},
		{OffloadParameters{IPsecV2NoChange, IPsecV2Disabled}, state{false, true, false, false, false}, true},
		{OffloadParameters{IPsecV2NoChange, IPsecV2AHEnabled}, state{false, true, false, true, false}, false},
		{OffloadParameters{IPsecV2NoChange, IPsecV2ESPEnabled}, state{false, true, false, false, true}, true},
		{OffloadParameters{IPsecV2NoChange, IPsecV2AHAndESPEnabled}, state{false, true, false, true, true}, true},
		{OffloadParameters{IPsecV2Disabled, IPsecV2Disabled}, state{}, true},
	}
	for _, tt := range tests {
		next, changed, err := start.Apply(tt.p, hw)
		if err != nil {
			t.Errorf("Apply(%+v) error %v", tt.p, err)
			continue
		}
		got := state{next.IPsecV2.Ah, next.IPsecV2.Esp, next.IPsecV2.AhEspCombined, next.IPv4Ah, next.IPv4Esp}
		if got != tt.want || changed != tt.changed {
			t.Errorf("Apply(%+v) = %+v changed %t; want %+v changed %t", tt.p, got, changed, tt.want, tt.changed)
		}
		// Nothing outside the enable flags moves.
		rest := next.IPsecV2
		rest.Ah, rest.Esp, rest.AhEspCombined = hw.Ah, hw.Esp, hw.AhEspCombined
		if rest != hw {
			t.Errorf("Apply(%+v) changed other fields: %v", tt.p, rest)
		}
	}
	if start != InitialConfig(Config{KeywordESP, KeywordAH, hw, esp.ImplAuto}) {
		t.Errorf("Apply modified its receiver")
	}
}

// R-CAP-3: refused requests change nothing and say why, with the NDIS status's sentinel.
func TestApplyErrors(t *testing.T) {
	hw := hwWithoutAH()
	start := InitialConfig(Config{3, 3, hw, esp.ImplAuto})
	tests := []struct {
		p    OffloadParameters
		is   error
		want string
	}{
		{OffloadParameters{5, 0}, ErrInvalidParameter,
			"nic: OID_TCP_OFFLOAD_PARAMETERS: IPsecV2 = 5: invalid parameter: want 0 (no change), 1 (disabled), 2 (AH), 3 (ESP) or 4 (AH and ESP)"},
		{OffloadParameters{0, 255}, ErrInvalidParameter,
			"nic: OID_TCP_OFFLOAD_PARAMETERS: IPsecV2IPv4 = 255: invalid parameter: want 0 (no change), 1 (disabled), 2 (AH), 3 (ESP) or 4 (AH and ESP)"},
		{OffloadParameters{IPsecV2Disabled, 5}, ErrInvalidParameter,
			"nic: OID_TCP_OFFLOAD_PARAMETERS: IPsecV2IPv4 = 5: invalid parameter: want 0 (no change), 1 (disabled), 2 (AH), 3 (ESP) or 4 (AH and ESP)"},
		{OffloadParameters{IPsecV2AHEnabled, 0}, ErrNotSupported,
			"nic: OID_TCP_OFFLOAD_PARAMETERS: IPsecV2 = 2 (AH enabled): not supported: the hardware does not offload AH"},
		{OffloadParameters{IPsecV2AHAndESPEnabled, 0}, ErrNotSupported,
			"nic: OID_TCP_OFFLOAD_PARAMETERS: IPsecV2 = 4 (AH and ESP enabled): not supported: the hardware does not offload AH"},
		{OffloadParameters{IPsecV2Disabled, IPsecV2AHEnabled}, ErrNotSupported,
			"nic: OID_TCP_OFFLOAD_PARAMETERS: IPsecV2IPv4 = 2 (AH enabled): not supported: the hardware does not offload AH"},
	}
	for _, tt := range tests {
		next, changed, err := start.Apply(tt.p, hw)
		if err == nil || err.Error() != tt.want || !errors.Is(err, tt.is) {
			t.Errorf("Apply(%+v) error = %v\nwant %s", tt.p, err, tt.want)
		}
		if next != start || changed {
			t.Errorf("Apply(%+v) refused but returned %+v changed %t", tt.p, next, changed)
		}
	}
	noESP := hw
	noESP.Esp = false
	_, _, err := start.Apply(OffloadParameters{IPsecV2ESPEnabled, 0}, noESP)
	want := "nic: OID_TCP_OFFLOAD_PARAMETERS: IPsecV2 = 3 (ESP enabled): not supported: the hardware does not offload ESP"
	if err == nil || err.Error() != want || !errors.Is(err, ErrNotSupported) {
		t.Errorf("ESP on ESP-less hardware: error = %v, want %s", err, want)
	}
}

// R-CAP-3: after "disabled" nothing is allowed; the IPv4-only field can bring IPv4 back.
func TestApplyThenAllowed(t *testing.T) {
	hw := DefaultCapabilities()
	cc := InitialConfig(DefaultConfig())
	cc, _, err := cc.Apply(OffloadParameters{IPsecV2Disabled, IPsecV2Disabled}, hw)
	if err != nil || cc.Enabled() || cc.ESPAllowed(false) || cc.ESPAllowed(true) {
		t.Fatalf("after disable: err %v, enabled %t", err, cc.Enabled())
	}
	cc, changed, err := cc.Apply(OffloadParameters{IPsecV2NoChange, IPsecV2ESPEnabled}, hw)
	if err != nil || !changed || !cc.ESPAllowed(false) || cc.ESPAllowed(true) || !cc.Enabled() {
		t.Fatalf("IPv4-only ESP: err %v changed %t v4 %t v6 %t", err, changed, cc.ESPAllowed(false), cc.ESPAllowed(true))
	}
}
