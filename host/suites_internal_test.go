package host

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/ndis"
	"github.com/ov2dev/ov2/sa"
)

func seqKey(n int, b byte) []byte { return bytes.Repeat([]byte{b}, n) }

// The ADD_SA bundle of an AES-CBC-192 + HMAC-SHA-256-128 ESP SA with AH HMAC-SHA1-96 over
// it, inbound, ESN starting above 2^32: identifiers, key layout (AES key, HMAC key, AH key
// in that order), ICV length on the authenticating algorithm, both parts' flags and high
// halves, exactly.
func TestBundleOfCBCWithAH(t *testing.T) {
	c := SAConfig{SPI: 0x1801, Alg: esp.AESCBC, Key: seqKey(24, 0x18), Integrity: esp.HMACSHA256_128, AuthKey: seqKey(32, 0x81),
		ESN: true, StartSeq: 5<<32 + 10, Src: netip.MustParseAddr("192.0.2.1"), Dst: netip.MustParseAddr("198.51.100.18"),
		AH: &SAConfig{Proto: AH, SPI: 0x1802, Integrity: esp.HMACSHA1_96, AuthKey: seqKey(20, 0x82), ESN: true, StartSeq: 7 << 32}}
	if err := c.normalize(); err != nil {
		t.Fatal(err)
	}
	b := bundleOf(&c, true)
	want := sa.Bundle{Flags: ndis.SAInbound, Src: c.Src, Dst: c.Dst, NumExtHdrs: 2,
		SecAssoc: [2]sa.SecAssoc{
			{Flags: ndis.SAFlagESN, Operation: ndis.OpESP, Spi: 0x1801, SequenceNumberHighOrder: 5,
				EncryptionAlgorithm:     sa.Algorithm{Identifier: ndis.EncAESCBC192, KeyLength: 24},
				AuthenticationAlgorithm: sa.Algorithm{Identifier: ndis.AuthSHA256, KeyLength: 32, KeyOffsetBytes: 24, AdditionalInfo: 16}},
			{Flags: ndis.SAFlagESN, Operation: ndis.OpAH, Spi: 0x1802, SequenceNumberHighOrder: 6, // 7<<32 - 1: the last number accepted
				AuthenticationAlgorithm: sa.Algorithm{Identifier: ndis.AuthSHA1, KeyLength: 20, KeyOffsetBytes: 56}},
		},
		KeyData: append(append(seqKey(24, 0x18), seqKey(32, 0x81)...), seqKey(20, 0x82)...)}
	if b.Flags != want.Flags || b.Src != want.Src || b.Dst != want.Dst || b.NumExtHdrs != want.NumExtHdrs ||
		b.SecAssoc != want.SecAssoc || !bytes.Equal(b.KeyData, want.KeyData) {
		t.Fatalf("bundle\n%+v\nwant\n%+v", b, want)
	}
	if c.ICVLen != 16 || c.AH.ICVLen != 12 {
		t.Fatalf("ICV lengths %d, %d", c.ICVLen, c.AH.ICVLen)
	}
}

// ESP-NULL and AH AES-GMAC: NONE with the HMAC key alone; AH's AES-GMAC key‖salt on the
// authentication algorithm.
func TestBundleOfNullAndAHGMAC(t *testing.T) {
	c := SAConfig{SPI: 0x1601, Alg: esp.NULL, Integrity: esp.HMACSHA1_96, AuthKey: seqKey(20, 0x61),
		Src: netip.MustParseAddr("2001:db8::1"), Dst: netip.MustParseAddr("2001:db8::2")}
	if err := c.normalize(); err != nil {
		t.Fatal(err)
	}
	b := bundleOf(&c, false)
	if s := b.SecAssoc[0]; b.NumExtHdrs != 1 || b.Flags != ndis.SAIPv6 || s.EncryptionAlgorithm != (sa.Algorithm{Identifier: ndis.EncNone}) ||
		s.AuthenticationAlgorithm != (sa.Algorithm{Identifier: ndis.AuthSHA1, KeyLength: 20, AdditionalInfo: 12}) || !bytes.Equal(b.KeyData, seqKey(20, 0x61)) {
		t.Fatalf("%+v", b)
	}
	a := SAConfig{Proto: AH, SPI: 0x1701, Integrity: esp.GMAC256, Key: seqKey(32, 0x71), Salt: [4]byte{1, 2, 3, 4},
		Src: netip.MustParseAddr("192.0.2.1"), Dst: netip.MustParseAddr("198.51.100.17")}
	if err := a.normalize(); err != nil {
		t.Fatal(err)
	}
	b = bundleOf(&a, false)
	if s := b.SecAssoc[0]; s.Operation != ndis.OpAH || s.EncryptionAlgorithm != (sa.Algorithm{}) ||
		s.AuthenticationAlgorithm != (sa.Algorithm{Identifier: ndis.AuthAESGCM256, KeyLength: 36}) ||
		!bytes.Equal(b.KeyData, append(seqKey(32, 0x71), 1, 2, 3, 4)) {
		t.Fatalf("%+v", b)
	}
}

// What the host refuses before ADD_SA, each wrapping ErrConfig.
func TestSuiteConfigErrors(t *testing.T) {
	base := func() SAConfig {
		return SAConfig{SPI: 9, Src: netip.MustParseAddr("192.0.2.1"), Dst: netip.MustParseAddr("198.51.100.1")}
	}
	cases := map[string]func(*SAConfig){
		"cbc without integrity": func(c *SAConfig) { c.Alg, c.Key = esp.AESCBC, seqKey(16, 1) },
		"cbc with a 20-byte key": func(c *SAConfig) {
			c.Alg, c.Key, c.Integrity, c.AuthKey = esp.AESCBC, seqKey(20, 1), esp.HMACSHA1_96, seqKey(20, 2)
		},
		"hmac key of 16 bytes": func(c *SAConfig) { c.Alg, c.Integrity, c.AuthKey = esp.NULL, esp.HMACSHA256_128, seqKey(16, 2) },
		"null with a key": func(c *SAConfig) {
			c.Alg, c.Key, c.Integrity, c.AuthKey = esp.NULL, seqKey(16, 1), esp.HMACSHA1_96, seqKey(20, 2)
		},
		"gcm with integrity": func(c *SAConfig) { c.Alg, c.Key, c.Integrity = esp.AESGCM, seqKey(16, 1), esp.HMACSHA1_96 },
		"cbc with ICV 16 on sha1": func(c *SAConfig) {
			c.Alg, c.Key, c.Integrity, c.AuthKey, c.ICVLen = esp.AESCBC, seqKey(16, 1), esp.HMACSHA1_96, seqKey(20, 2), 16
		},
		"ah with NAT-T": func(c *SAConfig) { c.Proto, c.Integrity, c.AuthKey, c.NATT = AH, esp.HMACSHA1_96, seqKey(20, 2), true },
		"ah with encryption": func(c *SAConfig) {
			c.Proto, c.Alg, c.Integrity, c.AuthKey = AH, esp.AESCBC, esp.HMACSHA1_96, seqKey(20, 2)
		},
		"ah gmac key of 20": func(c *SAConfig) { c.Proto, c.Integrity, c.Key = AH, esp.GMAC128, seqKey(20, 2) },
		"bundle part not AH": func(c *SAConfig) {
			c.Alg, c.Key = esp.AESGCM, seqKey(16, 1)
			c.AH = &SAConfig{SPI: 10, Alg: esp.AESGCM, Key: seqKey(16, 1)}
		},
		"bundle with NAT-T": func(c *SAConfig) {
			c.Alg, c.Key, c.NATT = esp.AESGCM, seqKey(16, 1), true
			c.AH = &SAConfig{Proto: AH, SPI: 10, Integrity: esp.HMACSHA1_96, AuthKey: seqKey(20, 2)}
		},
		"bundle AH SPI 0": func(c *SAConfig) {
			c.Alg, c.Key = esp.AESGCM, seqKey(16, 1)
			c.AH = &SAConfig{Proto: AH, Integrity: esp.HMACSHA1_96, AuthKey: seqKey(20, 2)}
		},
	}
	for name, f := range cases {
		c := base()
		f(&c)
		if err := c.normalize(); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", name, err)
		}
	}
}
