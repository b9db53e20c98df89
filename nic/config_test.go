package nic

import (
	"errors"
	"testing"
)

// R-CAP-2: documented defaults, exactly.
func TestDefaultConfig(t *testing.T) {
	want := Config{IPsecOffloadV2: 3, IPsecOffloadV2IPv4: 3, Hardware: DefaultCapabilities()}
	got := DefaultConfig()
	if got != want {
		t.Fatalf("DefaultConfig() = %+v, want %+v", got, want)
	}
	if err := got.Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v", err)
	}
}

// R-CAP-2: invalid keyword values are a clear error at init, naming keyword and value.
func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		want   string
	}{
		{"all values 0..3", func(c *Config) { c.IPsecOffloadV2, c.IPsecOffloadV2IPv4 = 0, 1 }, ""},
		{"level 7", func(c *Config) { c.IPsecOffloadV2 = 7 },
			"nic: *IPsecOffloadV2 = 7: want 0 (disabled), 1 (AH), 2 (ESP) or 3 (AH and ESP)"},
		{"level 4 is the OID's value space, not the keyword's", func(c *Config) { c.IPsecOffloadV2 = 4 },
			"nic: *IPsecOffloadV2 = 4: want 0 (disabled), 1 (AH), 2 (ESP) or 3 (AH and ESP)"},
		{"IPv4 level 255", func(c *Config) { c.IPsecOffloadV2IPv4 = 255 },
			"nic: *IPsecOffloadV2IPv4 = 255: want 0 (disabled), 1 (AH), 2 (ESP) or 3 (AH and ESP)"},
		{"hardware checked too", func(c *Config) { c.Hardware.AuthenticationAlgorithms |= 0x01 },
			"nic: AuthenticationAlgorithms: MD5 is a broken algorithm and is never advertised"},
		{"zero value", func(c *Config) { *c = Config{} },
			"nic: Encapsulation = 0: no encapsulation: the NIC could parse no frame"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.modify(&c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || err.Error() != tt.want {
				t.Fatalf("Validate() = %v\nwant          %s", err, tt.want)
			}
			var ce *ConfigError
			if !errors.Is(err, ErrConfig) || !errors.As(err, &ce) {
				t.Errorf("error is not a *ConfigError wrapping ErrConfig")
			}
		})
	}
}

// R-CAP-2: the two message forms of ConfigError, and quoting of odd values.
func TestConfigErrorMessage(t *testing.T) {
	tests := []struct {
		e    ConfigError
		want string
	}{
		{ConfigError{Reason: "r"}, "nic: r"},
		{ConfigError{Keyword: "K", Reason: "r"}, "nic: K: r"},
		{ConfigError{Keyword: "K", Value: "v", Reason: "r"}, "nic: K = v: r"},
		{ConfigError{File: "f", Reason: "r"}, "f: r"},
		{ConfigError{File: "f", Line: 3, Reason: "r"}, "f:3: r"},
		{ConfigError{File: "f", Line: 3, Keyword: "K", Reason: "r"}, `f:3: keyword "K": r`},
		{ConfigError{File: "f", Line: 3, Keyword: "K", Value: "v", Reason: "r"}, `f:3: keyword "K" = v: r`},
		{ConfigError{File: "f", Line: 3, Keyword: "K\x00", Value: "a b\x01", Reason: "r"}, `f:3: keyword "K\x00" = "a b\x01": r`},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}
