package nic

import (
	"bytes"
	"errors"
	"github.com/ov2dev/ov2/esp"
	"io/fs"
	"strings"
	"testing"
	"testing/iotest"
)

// exampleConfig is what testdata/ov2nic.conf says.
func exampleConfig() Config {
	c := DefaultConfig()
	c.Hardware.SaOffloadCapacity = 4096
	c.Hardware.IPv4Options = false
	c.Hardware.UdpEsp = 0x3
	c.Hardware.EncryptionAlgorithms = 0x001 | 0x008 | 0x020 | 0x040 | 0x100
	c.Hardware.AuthenticationAlgorithms = 0x04 | 0x08 | 0x20
	c.Hardware.AhEspCombined = false
	return c
}

// R-CAP-2: the configuration source as a file, with the documented example.
func TestLoadConfigExample(t *testing.T) {
	got, err := LoadConfig("testdata/ov2nic.conf")
	if err != nil {
		t.Fatal(err)
	}
	if want := exampleConfig(); got != want {
		t.Fatalf("LoadConfig =\n%+v\nwant\n%+v", got, want)
	}
}

// R-CAP-2: a missing file is an error that names it.
func TestLoadConfigMissing(t *testing.T) {
	_, err := LoadConfig("testdata/nope.conf")
	want := "nic: configuration: open testdata/nope.conf: no such file or directory"
	if err == nil || err.Error() != want || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("LoadConfig error = %v, want %s", err, want)
	}
}

// R-CAP-2: a failing reader is reported as such, not as a configuration error.
func TestParseConfigReadError(t *testing.T) {
	_, err := ParseConfig("x.conf", iotest.ErrReader(errors.New("disk on fire")))
	if err == nil || err.Error() != "nic: reading x.conf: disk on fire" || errors.Is(err, ErrConfig) {
		t.Fatalf("error = %v", err)
	}
}

// R-CAP-2: what the file may say, and the forgiving spellings.
func TestParseConfigValid(t *testing.T) {
	long := "# " + strings.Repeat("x", maxLineBytes-2) // exactly the limit
	tests := []struct {
		name, in string
		modify   func(*Config)
	}{
		{"empty", "", func(*Config) {}},
		{"comments only", "# a\n; b\n\n   \t\n", func(*Config) {}},
		{"CRLF and case", "*ipsecoffloadv2 = 2\r\nTUNNEL = No\r\ntransporttunnelcombined=off\r\n",
			func(c *Config) {
				c.IPsecOffloadV2 = 2
				c.Hardware.Tunnel = false
				c.Hardware.TransportTunnelCombined = false
			}},
		{"inline comments", "*IPsecOffloadV2IPv4 = 0 ; off\nSaOffloadCapacity=1048576#max",
			func(c *Config) { c.IPsecOffloadV2IPv4 = 0; c.Hardware.SaOffloadCapacity = 1 << 20 }},
		{"numbers for masks", "UdpEsp = 0\nEncryptionAlgorithms = 0x29\nAuthenticationAlgorithms = 8\nEncapsulation = 0x1F",
			func(c *Config) {
				c.Hardware.UdpEsp = 0
				c.Hardware.EncryptionAlgorithms = 0x29
				c.Hardware.AuthenticationAlgorithms = 0x08
				c.Hardware.Encapsulation = 0x1F
			}},
		{"names mixed with numbers", "UdpEsp = NONE | tunnel, 4\nEncapsulation = ieee-802-3-p-and-q, NULL",
			func(c *Config) { c.Hardware.UdpEsp = 0x6; c.Hardware.Encapsulation = 0x05 }},
		{"GMAC only", "EncryptionAlgorithms = NONE\nAuthenticationAlgorithms = aes-gmac-128, AES_GMAC_192",
			func(c *Config) { c.Hardware.EncryptionAlgorithms = 0x01; c.Hardware.AuthenticationAlgorithms = 0x18 }},
		{"long line at the limit", long + "\n" + long + "\r\n" + long, func(*Config) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseConfig("t.conf", strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			want := DefaultConfig()
			tt.modify(&want)
			if got != want {
				t.Fatalf("ParseConfig =\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

// R-CAP-2: every kind of file error, with its exact message: file, line, keyword, value.
func TestParseConfigErrors(t *testing.T) {
	const levels = "want 0 (disabled), 1 (AH), 2 (ESP) or 3 (AH and ESP)"
	tooLong := "# " + strings.Repeat("x", maxLineBytes-1)
	tests := []struct {
		name, in, want string
	}{
		{"unknown keyword", "# header\n\n*IPsecOffloadV2 = 3\n\n\n\nFoo = 1\n",
			`ov2nic.conf:7: keyword "Foo": unknown keyword (known: *IPsecOffloadV2, *IPsecOffloadV2IPv4, Encapsulation,` +
				` IPv6Supported, IPv4Options, IPv6NonIPsecExtensionHeaders, Ah, Esp, AhEspCombined, Transport, Tunnel,` +
				` TransportTunnelCombined, LsoSupported, ExtendedSequenceNumbers, UdpEsp, AuthenticationAlgorithms,` +
				` EncryptionAlgorithms, SaOffloadCapacity, CryptoImplementation)`},
		{"star missing", "IPsecOffloadV2 = 3",
			`ov2nic.conf:1: keyword "IPsecOffloadV2": unknown keyword; did you mean "*IPsecOffloadV2"? (standardized keywords keep their '*')`},
		{"star added", "*tunnel = 1",
			`ov2nic.conf:1: keyword "*tunnel": unknown keyword; did you mean "Tunnel"? (only the standardized keywords start with '*')`},
		{"duplicate", "Tunnel = 1\n\ntunnel = 0",
			`ov2nic.conf:3: keyword "Tunnel": duplicate keyword: first set on line 1`},
		{"missing =", "Esp = 1\nTunnel 1",
			`ov2nic.conf:2: missing '=' in "Tunnel 1": want keyword = value`},
		{"missing keyword", " = 3", `ov2nic.conf:1: missing keyword before '='`},
		{"empty value", "Tunnel =   # nothing", `ov2nic.conf:1: keyword "Tunnel": empty value`},
		{"not a boolean", "Tunnel = maybe",
			`ov2nic.conf:1: keyword "Tunnel" = maybe: not a boolean: want 0/1, true/false, yes/no or on/off`},
		{"level not a number", "*IPsecOffloadV2 = high", `ov2nic.conf:1: keyword "*IPsecOffloadV2" = high: not a number: ` + levels},
		{"level negative", "*IPsecOffloadV2 = -1", `ov2nic.conf:1: keyword "*IPsecOffloadV2" = -1: not a number: ` + levels},
		{"level out of range", "*IPsecOffloadV2IPv4 = 7", `ov2nic.conf:1: keyword "*IPsecOffloadV2IPv4" = 7: out of range: ` + levels},
		{"level OID value", "*IPsecOffloadV2 = 4", `ov2nic.conf:1: keyword "*IPsecOffloadV2" = 4: out of range: ` + levels},
		{"level huge", "*IPsecOffloadV2 = 99999999999999999999999",
			`ov2nic.conf:1: keyword "*IPsecOffloadV2" = 99999999999999999999999: out of range: ` + levels},
		{"capacity not a number", "SaOffloadCapacity = lots", `ov2nic.conf:1: keyword "SaOffloadCapacity" = lots: not a number: want 1 to 1048576`},
		{"capacity 0", "SaOffloadCapacity = 0", `ov2nic.conf:1: keyword "SaOffloadCapacity" = 0: out of range: want 1 to 1048576`},
		{"capacity too big", "SaOffloadCapacity = 1048577", `ov2nic.conf:1: keyword "SaOffloadCapacity" = 1048577: out of range: want 1 to 1048576`},
		{"unknown algorithm", "EncryptionAlgorithms = NONE, AES_CCM_128",
			`ov2nic.conf:1: keyword "EncryptionAlgorithms" = AES_CCM_128: unknown name (known: NONE, DES_CBC, 3_DES_CBC,` +
				` AES_GCM_128, AES_GCM_192, AES_GCM_256, AES_CBC_128, AES_CBC_192, AES_CBC_256)`},
		{"unknown UDP-ESP name", "UdpEsp = TRANSPORT, BOTH",
			`ov2nic.conf:1: keyword "UdpEsp" = BOTH: unknown name (known: TRANSPORT, TUNNEL,` +
				` TRANSPORT_OVER_UDP_ESP_ENCAPSULATION_TUNNEL, UDP_ESP_ENCAPSULATION_TRANSPORT_OVER_TUNNEL)`},
		{"broken 3DES", "EncryptionAlgorithms = AES_GCM_128, 3DES",
			`ov2nic.conf:1: keyword "EncryptionAlgorithms" = 3DES: not advertised: broken algorithm 3_DES_CBC`},
		{"broken DES", "EncryptionAlgorithms = des-cbc",
			`ov2nic.conf:1: keyword "EncryptionAlgorithms" = des-cbc: not advertised: broken algorithm DES_CBC`},
		{"broken MD5", "AuthenticationAlgorithms = md5",
			`ov2nic.conf:1: keyword "AuthenticationAlgorithms" = md5: not advertised: broken algorithm MD5`},
		{"broken by number", "EncryptionAlgorithms = 0x6",
			`ov2nic.conf:1: keyword "EncryptionAlgorithms" = 0x6: not advertised: broken algorithm DES_CBC|3_DES_CBC`},
		{"unknown bits", "UdpEsp = 16",
			`ov2nic.conf:1: keyword "UdpEsp" = 16: out of range: unknown bits 0x10 (known: TRANSPORT, TUNNEL,` +
				` TRANSPORT_OVER_UDP_ESP_ENCAPSULATION_TUNNEL, UDP_ESP_ENCAPSULATION_TRANSPORT_OVER_TUNNEL)`},
		{"wider than 32 bits", "Encapsulation = 0x100000000",
			`ov2nic.conf:1: keyword "Encapsulation" = 0x100000000: out of range: wider than 32 bits`},
		{"bad number", "Encapsulation = 2x",
			`ov2nic.conf:1: keyword "Encapsulation" = 2x: not a number or a name (known: NULL, IEEE_802_3,` +
				` IEEE_802_3_P_AND_Q, IEEE_802_3_P_AND_Q_IN_OOB, IEEE_LLC_SNAP_ROUTED)`},
		{"empty list element", "UdpEsp = TRANSPORT,,TUNNEL",
			`ov2nic.conf:1: keyword "UdpEsp" = TRANSPORT,,TUNNEL: empty element in list: want names or numbers separated by ',' or '|'`},
		{"trailing separator", "UdpEsp = TRANSPORT |",
			`ov2nic.conf:1: keyword "UdpEsp" = "TRANSPORT |": empty element in list: want names or numbers separated by ',' or '|'`},
		{"line too long", "Esp = 1\n" + tooLong + "\n", `ov2nic.conf:2: line longer than 4096 bytes`},
		{"line far too long", "Esp = 1\nTunnel = 1\n" + strings.Repeat("y", 10000), `ov2nic.conf:3: line longer than 4096 bytes`},
		{"garbage", "\x00\xff\xfe", `ov2nic.conf:1: missing '=' in "\x00\xff\xfe": want keyword = value`},
		{"combined without Ah", "Ah = no",
			`ov2nic.conf: keyword "AhEspCombined" = 1: needs both Ah and Esp (the file leaves it at its default)`},
		{"no protocol", "Esp = off\nAh = off\nAhEspCombined = 0",
			`ov2nic.conf:1: keyword "Esp" = 0: Esp and Ah are both off: the NIC could offload no protocol`},
		{"no encapsulation", "Encapsulation = 0",
			`ov2nic.conf:1: keyword "Encapsulation" = 0: no encapsulation: the NIC could parse no frame`},
		{"fault in a default", "Tunnel = 0",
			`ov2nic.conf: keyword "TransportTunnelCombined" = 1: needs both Transport and Tunnel (the file leaves it at its default)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConfig("ov2nic.conf", strings.NewReader(tt.in))
			if err == nil || err.Error() != tt.want {
				t.Fatalf("ParseConfig error = %v\nwant                 %s", err, tt.want)
			}
			var ce *ConfigError
			if !errors.Is(err, ErrConfig) || !errors.As(err, &ce) {
				t.Errorf("error is not a *ConfigError wrapping ErrConfig")
			}
			if c != (Config{}) {
				t.Errorf("ParseConfig returned %+v with an error", c)
			}
		})
	}
}

// R-CAP-2: an unnamed input still gets a name in messages.
func TestParseConfigNoName(t *testing.T) {
	_, err := ParseConfig("", strings.NewReader("Foo = 1"))
	if err == nil || !strings.HasPrefix(err.Error(), `<config>:1: keyword "Foo": unknown keyword (known: `) {
		t.Fatalf("error = %v", err)
	}
}

// R-CAP-2: Format writes every keyword, in the order the reference lists them.
func TestFormatDefault(t *testing.T) {
	want := `# ov2 NIC configuration; the format is described in nic/configfile.go
*IPsecOffloadV2 = 3
*IPsecOffloadV2IPv4 = 3
Encapsulation = IEEE_802_3
IPv6Supported = 1
IPv4Options = 1
IPv6NonIPsecExtensionHeaders = 1
Ah = 1
Esp = 1
AhEspCombined = 1
Transport = 1
Tunnel = 1
TransportTunnelCombined = 1
LsoSupported = 1
ExtendedSequenceNumbers = 1
UdpEsp = TRANSPORT, TUNNEL, TRANSPORT_OVER_UDP_ESP_ENCAPSULATION_TUNNEL, UDP_ESP_ENCAPSULATION_TRANSPORT_OVER_TUNNEL
AuthenticationAlgorithms = SHA_1, SHA_256, AES_GCM_128, AES_GCM_192, AES_GCM_256
EncryptionAlgorithms = NONE, AES_GCM_128, AES_GCM_192, AES_GCM_256, AES_CBC_128, AES_CBC_192, AES_CBC_256
SaOffloadCapacity = 1024
CryptoImplementation = auto
`
	if got := DefaultConfig().Format(); got != want {
		t.Fatalf("Format() =\n%s\nwant\n%s", got, want)
	}
}

// R-CAP-2: ParseConfig(Format(c)) == c for valid configurations.
func TestFormatRoundTrip(t *testing.T) {
	configs := []Config{DefaultConfig(), exampleConfig()}
	for lvl := uint8(0); lvl <= 3; lvl++ {
		c := DefaultConfig()
		c.IPsecOffloadV2, c.IPsecOffloadV2IPv4 = lvl, 3-lvl
		configs = append(configs, c)
	}
	odd := DefaultConfig()
	odd.Hardware = Capabilities{Encapsulation: 0x1F, Esp: true, Transport: true, UdpEsp: 0,
		AuthenticationAlgorithms: 0x08, EncryptionAlgorithms: 0x01, SaOffloadCapacity: 1 << 20}
	configs = append(configs, odd)
	for i, c := range configs {
		if err := c.Validate(); err != nil {
			t.Fatalf("config %d invalid: %v", i, err)
		}
		text := c.Format()
		got, err := ParseConfig("round.conf", strings.NewReader(text))
		if err != nil {
			t.Fatalf("config %d: %v\n%s", i, err, text)
		}
		if got != c {
			t.Errorf("config %d: round trip\n%+v\nwant\n%+v", i, got, c)
		}
	}
}

// R-CAP-2: an invalid Config is written faithfully and the parser says what is wrong.
func TestFormatInvalid(t *testing.T) {
	c := DefaultConfig()
	c.Hardware.EncryptionAlgorithms |= 0x600
	_, err := ParseConfig("bad.conf", strings.NewReader(c.Format()))
	want := `bad.conf:18: keyword "EncryptionAlgorithms" = 0x600: out of range: unknown bits 0x600 (known: NONE, DES_CBC, 3_DES_CBC,` +
		` AES_GCM_128, AES_GCM_192, AES_GCM_256, AES_CBC_128, AES_CBC_192, AES_CBC_256)`
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v\nwant    %s", err, want)
	}
}

// R-CAP-2: no input makes the parser panic; whatever parses is valid and survives a round
// trip through Format.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(DefaultConfig().Format()))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig("fuzz.conf", bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrConfig) || !strings.HasPrefix(err.Error(), "fuzz.conf") {
				t.Fatalf("error without ErrConfig or file name: %v", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("parsed config does not validate: %v", err)
		}
		again, err := ParseConfig("formatted", strings.NewReader(c.Format()))
		if err != nil {
			t.Fatalf("Format output does not parse: %v\n%s", err, c.Format())
		}
		if again != c {
			t.Fatalf("round trip changed the config:\n%+v\n%+v", c, again)
		}
	})
}

// SPEC section 6: the implementation keyword forces the fallback; a bad value is an error
// naming the line, keyword and value.
func TestCryptoImplementationKeyword(t *testing.T) {
	c, err := ParseConfig("impl.conf", strings.NewReader("CryptoImplementation = Portable\n"))
	if err != nil || c.CryptoImplementation != esp.ImplPortable {
		t.Fatalf("got %v, %v", c.CryptoImplementation, err)
	}
	_, err = ParseConfig("impl.conf", strings.NewReader("\nCryptoImplementation = avx9000\n"))
	want := `impl.conf:2: keyword "CryptoImplementation" = avx9000: unknown implementation: want auto, stdlib or portable`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

// A file saved with a UTF-8 byte order mark and CRLF line ends (Windows editors) reads as the
// same file without them; the mark anywhere but at the start is still an error.
func TestParseConfigByteOrderMark(t *testing.T) {
	for _, in := range []string{"\uFEFF*IPsecOffloadV2 = 2\n", "\uFEFF*IPsecOffloadV2 = 2\r\nSaOffloadCapacity = 7\r\n"} {
		c, err := ParseConfig("bom.conf", strings.NewReader(in))
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if c.IPsecOffloadV2 != 2 {
			t.Errorf("%q: *IPsecOffloadV2 = %d, want 2", in, c.IPsecOffloadV2)
		}
	}
	_, err := ParseConfig("bom.conf", strings.NewReader("SaOffloadCapacity = 7\n\uFEFF*IPsecOffloadV2 = 2\n"))
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Line != 2 || !strings.Contains(ce.Error(), "unknown keyword") {
		t.Errorf("a mark on line 2: %v, want an unknown keyword on line 2", err)
	}
}
