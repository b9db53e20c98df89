package nic

import (
	"errors"
	"strings"
	"testing"

	"github.com/ov2dev/ov2/ndis"
)

// R-CAP-1: the default record, field by field, and the algorithm sets behind it.
func TestDefaultCapabilities(t *testing.T) {
	want := Capabilities{
		Encapsulation:                0x02,
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
		UdpEsp:                       0x0F,
		AuthenticationAlgorithms:     0x02 | 0x04 | 0x08 | 0x10 | 0x20,
		EncryptionAlgorithms:         0x001 | 0x008 | 0x010 | 0x020 | 0x040 | 0x080 | 0x100,
		SaOffloadCapacity:            1024,
	}
	if got := DefaultCapabilities(); got != want {
		t.Fatalf("DefaultCapabilities() =\n%v\nwant\n%v", got, want)
	}
	if err := want.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	if Implemented != (AlgorithmSet{Authentication: 0x3E, Encryption: 0x1F9}) {
		t.Errorf("Implemented = %+v", Implemented)
	}
	if Broken != (AlgorithmSet{Authentication: 0x01, Encryption: 0x06}) {
		t.Errorf("Broken = %+v", Broken)
	}
}

// R-CAP-1, SPEC section 2: DES, 3DES and MD5 are never advertised; SHA, AES-CBC and AH are
// (issue 11), and each can be left out.
func TestCapabilitiesValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Capabilities)
		want   string // "" = valid
	}{
		{"defaults", func(*Capabilities) {}, ""},
		{"capacity max", func(c *Capabilities) { c.SaOffloadCapacity = 1 << 20 }, ""},
		{"capacity 1", func(c *Capabilities) { c.SaOffloadCapacity = 1 }, ""},
		{"GMAC only", func(c *Capabilities) {
			c.EncryptionAlgorithms = ndis.EncNone
			c.AuthenticationAlgorithms = ndis.AuthAESGCM128
		}, ""},
		{"transport only", func(c *Capabilities) { c.Tunnel, c.TransportTunnelCombined = false, false }, ""},
		{"DES", func(c *Capabilities) { c.EncryptionAlgorithms |= ndis.EncDESCBC },
			"nic: EncryptionAlgorithms: DES_CBC is a broken algorithm and is never advertised"},
		{"3DES", func(c *Capabilities) { c.EncryptionAlgorithms |= ndis.Enc3DESCBC },
			"nic: EncryptionAlgorithms: 3_DES_CBC is a broken algorithm and is never advertised"},
		{"MD5", func(c *Capabilities) { c.AuthenticationAlgorithms |= ndis.AuthMD5 },
			"nic: AuthenticationAlgorithms: MD5 is a broken algorithm and is never advertised"},
		{"MD5 before SHA1", func(c *Capabilities) { c.AuthenticationAlgorithms |= ndis.AuthSHA1 | ndis.AuthMD5 },
			"nic: AuthenticationAlgorithms: MD5 is a broken algorithm and is never advertised"},
		{"no SHA", func(c *Capabilities) { c.AuthenticationAlgorithms &^= ndis.AuthSHA1 | ndis.AuthSHA256 }, ""},
		{"no AES-CBC", func(c *Capabilities) {
			c.EncryptionAlgorithms &^= ndis.EncAESCBC128 | ndis.EncAESCBC192 | ndis.EncAESCBC256
		}, ""},
		{"SHA only", func(c *Capabilities) {
			c.AuthenticationAlgorithms = ndis.AuthSHA256
			c.EncryptionAlgorithms = ndis.EncAESCBC128
		}, ""},
		{"unknown enc bit", func(c *Capabilities) { c.EncryptionAlgorithms |= 0x200 },
			"nic: EncryptionAlgorithms = 0x3F9: unknown bits 0x200 (known: NONE, DES_CBC, 3_DES_CBC, AES_GCM_128, AES_GCM_192, AES_GCM_256, AES_CBC_128, AES_CBC_192, AES_CBC_256)"},
		{"unknown auth bit", func(c *Capabilities) { c.AuthenticationAlgorithms = 0x40 },
			"nic: AuthenticationAlgorithms = 0x40: unknown bits 0x40 (known: MD5, SHA_1, SHA_256, AES_GCM_128, AES_GCM_192, AES_GCM_256)"},
		{"unknown UdpEsp bit", func(c *Capabilities) { c.UdpEsp = 0x11 },
			"nic: UdpEsp = 0x11: unknown bits 0x10 (known: TRANSPORT, TUNNEL, TRANSPORT_OVER_UDP_ESP_ENCAPSULATION_TUNNEL, UDP_ESP_ENCAPSULATION_TRANSPORT_OVER_TUNNEL)"},
		{"unknown encapsulation bit", func(c *Capabilities) { c.Encapsulation = 0x22 },
			"nic: Encapsulation = 0x22: unknown bits 0x20 (known: NULL, IEEE_802_3, IEEE_802_3_P_AND_Q, IEEE_802_3_P_AND_Q_IN_OOB, IEEE_LLC_SNAP_ROUTED)"},
		{"no encapsulation", func(c *Capabilities) { c.Encapsulation = 0 },
			"nic: Encapsulation = 0: no encapsulation: the NIC could parse no frame"},
		{"no auth", func(c *Capabilities) { c.AuthenticationAlgorithms = 0 },
			"nic: AuthenticationAlgorithms = 0: empty: every ESP SA names an authentication algorithm"},
		{"no enc", func(c *Capabilities) { c.EncryptionAlgorithms = 0 },
			"nic: EncryptionAlgorithms = 0: empty: want at least NONE (for AES-GMAC SAs)"},
		{"no Ah", func(c *Capabilities) { c.Ah, c.AhEspCombined = false, false }, ""},
		{"AH only", func(c *Capabilities) { c.Esp, c.AhEspCombined = false, false }, ""},
		{"AhEspCombined without Ah", func(c *Capabilities) { c.Ah = false },
			"nic: AhEspCombined = 1: needs both Ah and Esp"},
		{"AhEspCombined without Esp", func(c *Capabilities) { c.Esp = false },
			"nic: AhEspCombined = 1: needs both Ah and Esp"},
		{"no protocol", func(c *Capabilities) { c.Esp, c.Ah, c.AhEspCombined = false, false, false },
			"nic: Esp = 0: Esp and Ah are both off: the NIC could offload no protocol"},
		{"no mode", func(c *Capabilities) { c.Transport, c.Tunnel, c.TransportTunnelCombined = false, false, false },
			"nic: Tunnel = 0: Transport and Tunnel are both off: the NIC could accept no SA"},
		{"combined without tunnel", func(c *Capabilities) { c.Tunnel = false },
			"nic: TransportTunnelCombined = 1: needs both Transport and Tunnel"},
		{"capacity 0", func(c *Capabilities) { c.SaOffloadCapacity = 0 }, "nic: SaOffloadCapacity = 0: want 1 to 1048576"},
		{"capacity too big", func(c *Capabilities) { c.SaOffloadCapacity = 1<<20 + 1 }, "nic: SaOffloadCapacity = 1048577: want 1 to 1048576"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultCapabilities()
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
			if !errors.Is(err, ErrConfig) {
				t.Errorf("error does not wrap ErrConfig")
			}
		})
	}
}

// R-CAP-1, R-SA-3: ADD_SA relies on this: an SA naming an algorithm that is not advertised is refused.
func TestSupports(t *testing.T) {
	c := DefaultCapabilities()
	tests := []struct {
		auth, enc uint32
		want      bool
	}{
		{ndis.AuthAESGCM128, ndis.EncAESGCM128, true},
		{ndis.AuthAESGCM256, ndis.EncAESGCM256, true},
		{ndis.AuthAESGCM192, ndis.EncNone, true}, // GMAC
		{ndis.AuthSHA1, ndis.EncAESCBC128, true}, // AES-CBC + HMAC-SHA1-96
		{ndis.AuthSHA256, ndis.EncNone, true},    // ESP-NULL
		{ndis.AuthMD5, ndis.EncAESCBC256, false}, // broken
		{ndis.AuthSHA1, ndis.EncDESCBC, false},   // broken
		{ndis.AuthAESGCM128, ndis.Enc3DESCBC, false},
		{ndis.AuthMD5, ndis.EncNone, false},
		{ndis.AuthAESGCM128 | ndis.AuthAESGCM256, ndis.EncAESGCM128, false}, // not one bit
		{ndis.AuthAESGCM128, 0, false},
		{0, ndis.EncNone, false},
	}
	for _, tt := range tests {
		if got := c.Supports(tt.auth, tt.enc); got != tt.want {
			t.Errorf("Supports(0x%X, 0x%X) = %t, want %t", tt.auth, tt.enc, got, tt.want)
		}
	}
}

// R-CAP-6: what a query shows, readable.
func TestCapabilitiesString(t *testing.T) {
	want := "Encapsulation=IEEE_802_3 IPv6Supported=true IPv4Options=true IPv6NonIPsecExtensionHeaders=true" +
		" Ah=true Esp=true AhEspCombined=true Transport=true Tunnel=true TransportTunnelCombined=true" +
		" LsoSupported=true ExtendedSequenceNumbers=true" +
		" UdpEsp=TRANSPORT|TUNNEL|TRANSPORT_OVER_UDP_ESP_ENCAPSULATION_TUNNEL|UDP_ESP_ENCAPSULATION_TRANSPORT_OVER_TUNNEL" +
		" AuthenticationAlgorithms=SHA_1|SHA_256|AES_GCM_128|AES_GCM_192|AES_GCM_256" +
		" EncryptionAlgorithms=NONE|AES_GCM_128|AES_GCM_192|AES_GCM_256|AES_CBC_128|AES_CBC_192|AES_CBC_256 SaOffloadCapacity=1024"
	if got := DefaultCapabilities().String(); got != want {
		t.Errorf("String() =\n%s\nwant\n%s", got, want)
	}
	var zero Capabilities
	wantZero := "Encapsulation=0 IPv6Supported=false IPv4Options=false IPv6NonIPsecExtensionHeaders=false" +
		" Ah=false Esp=false AhEspCombined=false Transport=false Tunnel=false TransportTunnelCombined=false" +
		" LsoSupported=false ExtendedSequenceNumbers=false UdpEsp=0 AuthenticationAlgorithms=0" +
		" EncryptionAlgorithms=0 SaOffloadCapacity=0"
	if got := zero.String(); got != wantZero {
		t.Errorf("zero String() =\n%s\nwant\n%s", got, wantZero)
	}
}

// R-CAP-1, SPEC section 2 (issue 11): the suites the record allows, by RFC name, follow every
// switch: the Ah, Esp and AhEspCombined fields and the algorithm bits.
func TestSuites(t *testing.T) {
	all := DefaultCapabilities().Suites()
	want := []string{"ESP AES-GCM-128", "ESP AES-GCM-192", "ESP AES-GCM-256",
		"ESP AES-GMAC-128", "ESP AES-GMAC-192", "ESP AES-GMAC-256",
		"ESP AES-CBC-128 + HMAC-SHA1-96", "ESP AES-CBC-128 + HMAC-SHA-256-128",
		"ESP AES-CBC-192 + HMAC-SHA1-96", "ESP AES-CBC-192 + HMAC-SHA-256-128",
		"ESP AES-CBC-256 + HMAC-SHA1-96", "ESP AES-CBC-256 + HMAC-SHA-256-128",
		"ESP NULL + HMAC-SHA1-96", "ESP NULL + HMAC-SHA-256-128",
		"AH HMAC-SHA1-96", "AH HMAC-SHA-256-128", "AH AES-GMAC-128", "AH AES-GMAC-192", "AH AES-GMAC-256",
		"ESP+AH"}
	if strings.Join(all, ", ") != strings.Join(want, ", ") {
		t.Errorf("default suites:\n %q\nwant\n %q", all, want)
	}
	off := func(f func(*Capabilities)) string { c := DefaultCapabilities(); f(&c); return c.SuitesString() }
	cases := []struct {
		name     string
		modify   func(*Capabilities)
		has, not []string
	}{
		{"Ah off", func(c *Capabilities) { c.Ah, c.AhEspCombined = false, false },
			[]string{"ESP AES-GMAC-128"}, []string{"AH ", "ESP+AH"}},
		{"combined off", func(c *Capabilities) { c.AhEspCombined = false },
			[]string{"AH HMAC-SHA1-96"}, []string{"ESP+AH"}},
		{"CBC off", func(c *Capabilities) {
			c.EncryptionAlgorithms &^= ndis.EncAESCBC128 | ndis.EncAESCBC192 | ndis.EncAESCBC256
		},
			[]string{"ESP NULL + HMAC-SHA1-96"}, []string{"AES-CBC"}},
		{"SHA_1 off", func(c *Capabilities) { c.AuthenticationAlgorithms &^= ndis.AuthSHA1 },
			[]string{"AH HMAC-SHA-256-128", "ESP AES-CBC-256 + HMAC-SHA-256-128"}, []string{"HMAC-SHA1-96"}},
		{"NONE off", func(c *Capabilities) { c.EncryptionAlgorithms &^= ndis.EncNone },
			[]string{"AH AES-GMAC-128", "ESP AES-GCM-128"}, []string{"ESP NULL", "ESP AES-GMAC"}},
		{"GCM auth off", func(c *Capabilities) {
			c.AuthenticationAlgorithms &^= ndis.AuthAESGCM128 | ndis.AuthAESGCM192 | ndis.AuthAESGCM256
		},
			[]string{"ESP AES-GCM-256", "AH HMAC-SHA1-96"}, []string{"GMAC"}},
	}
	for _, tc := range cases {
		got := off(tc.modify)
		for _, h := range tc.has {
			if !strings.Contains(got, h) {
				t.Errorf("%s: %q lacks %q", tc.name, got, h)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(got, n) {
				t.Errorf("%s: %q has %q", tc.name, got, n)
			}
		}
	}
	if got := (Capabilities{}).SuitesString(); got != "none" {
		t.Errorf("zero record: %q", got)
	}
}

// R-CAP-1 (SPEC section 2 value table): each bit has its NDIS name.
func TestAlgorithmNames(t *testing.T) {
	auth := map[uint32]string{0x01: "MD5", 0x02: "SHA_1", 0x04: "SHA_256", 0x08: "AES_GCM_128",
		0x10: "AES_GCM_192", 0x20: "AES_GCM_256", 0x40: "0x40", 0: "0x0", 0x18: "0x18"}
	for bit, want := range auth {
		if got := AuthAlgorithmName(bit); got != want {
			t.Errorf("AuthAlgorithmName(0x%X) = %q, want %q", bit, got, want)
		}
	}
	enc := map[uint32]string{0x001: "NONE", 0x002: "DES_CBC", 0x004: "3_DES_CBC", 0x008: "AES_GCM_128",
		0x010: "AES_GCM_192", 0x020: "AES_GCM_256", 0x040: "AES_CBC_128", 0x080: "AES_CBC_192",
		0x100: "AES_CBC_256", 0x200: "0x200"}
	for bit, want := range enc {
		if got := EncAlgorithmName(bit); got != want {
			t.Errorf("EncAlgorithmName(0x%X) = %q, want %q", bit, got, want)
		}
	}
	masks := []struct {
		got, want string
	}{
		{AuthAlgorithmNames(0x28), "AES_GCM_128|AES_GCM_256"},
		{AuthAlgorithmNames(0), "0"},
		{AuthAlgorithmNames(0xC8), "AES_GCM_128|0xC0"},
		{EncAlgorithmNames(0x109), "NONE|AES_GCM_128|AES_CBC_256"},
	}
	for _, m := range masks {
		if m.got != m.want {
			t.Errorf("got %q, want %q", m.got, m.want)
		}
	}
}

// R-CAP-2: the names a configuration file may use, in their forgiving spellings.
func TestParseAlgorithm(t *testing.T) {
	auth := map[string]uint32{"AES_GCM_128": 0x08, "aes-gcm-192": 0x10, "Aes_Gcm_256": 0x20,
		"AES_GMAC_128": 0x08, "aes-gmac-256": 0x20, " SHA_1 ": 0x02, "sha256": 0x04, "MD5": 0x01}
	for name, want := range auth {
		got, err := ParseAuthAlgorithm(name)
		if err != nil || got != want {
			t.Errorf("ParseAuthAlgorithm(%q) = 0x%X, %v; want 0x%X", name, got, err, want)
		}
	}
	enc := map[string]uint32{"NONE": 0x001, "none": 0x001, "AES_GCM_128": 0x008, "aes-gcm-128": 0x008,
		"AES_CBC_256": 0x100, "3_DES_CBC": 0x004, "3des": 0x004, "des": 0x002}
	for name, want := range enc {
		got, err := ParseEncAlgorithm(name)
		if err != nil || got != want {
			t.Errorf("ParseEncAlgorithm(%q) = 0x%X, %v; want 0x%X", name, got, err, want)
		}
	}
	if _, err := ParseAuthAlgorithm("NONE"); err == nil || err.Error() !=
		`nic: unknown authentication algorithm "NONE" (known: MD5, SHA_1, SHA_256, AES_GCM_128, AES_GCM_192, AES_GCM_256, AES_GMAC_128, AES_GMAC_192, AES_GMAC_256)` {
		t.Errorf("ParseAuthAlgorithm(NONE) error = %v", err)
	}
	if _, err := ParseEncAlgorithm("AES_GMAC_128"); err == nil || err.Error() !=
		`nic: unknown encryption algorithm "AES_GMAC_128" (known: NONE, DES_CBC, 3_DES_CBC, AES_GCM_128, AES_GCM_192, AES_GCM_256, AES_CBC_128, AES_CBC_192, AES_CBC_256)` {
		t.Errorf("ParseEncAlgorithm(AES_GMAC_128) error = %v", err)
	}
}
