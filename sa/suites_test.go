package sa

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/ndis"
)

// keyed appends n bytes of key material to b and returns an Algorithm pointing at them.
func keyed(b *Bundle, id uint32, n int, icv uint32) Algorithm {
	off := len(b.KeyData)
	for i := 0; i < n; i++ {
		b.KeyData = append(b.KeyData, byte(0x40+off+i))
	}
	return Algorithm{Identifier: id, KeyLength: uint32(n), KeyOffsetBytes: uint32(off), AdditionalInfo: icv}
}

// suiteBundle is a bundle to 198.51.100.1 with the given entries (ESP first); key material
// is filled in by the entries' builders.
func newBundle(inbound bool) *Bundle {
	b := &Bundle{Dst: netip.MustParseAddr("198.51.100.1")}
	if inbound {
		b.Flags = ndis.SAInbound
	}
	return b
}

func withESP(b *Bundle, spi, enc uint32, encKey int, auth uint32, authKey int, icv uint32) *Bundle {
	s := SecAssoc{Operation: ndis.OpESP, Spi: spi}
	if encKey > 0 {
		s.EncryptionAlgorithm = keyed(b, enc, encKey, 0)
	} else {
		s.EncryptionAlgorithm = Algorithm{Identifier: enc}
	}
	if authKey > 0 {
		s.AuthenticationAlgorithm = keyed(b, auth, authKey, icv)
	} else {
		s.AuthenticationAlgorithm = Algorithm{Identifier: auth}
	}
	b.SecAssoc[b.NumExtHdrs] = s
	b.NumExtHdrs++
	return b
}

func withAH(b *Bundle, spi, auth uint32, key int, icv uint32) *Bundle {
	b.SecAssoc[b.NumExtHdrs] = SecAssoc{Operation: ndis.OpAH, Spi: spi, AuthenticationAlgorithm: keyed(b, auth, key, icv)}
	b.NumExtHdrs++
	return b
}

// R-SA-2, R-SA-3 (issue 11): every NDIS identifier pair of the new suites maps to its
// transform, with the key material at each algorithm's own KeyOffsetBytes; an ESP+AH bundle
// gets both parts, each with its own SPI.
func TestAddSASuites(t *testing.T) {
	c := NewController(32)
	defer c.Close()
	cases := []struct {
		b                 *Bundle
		alg               esp.Algorithm // 0: no ESP
		integ, ahInteg    esp.Integrity
		icv, ahICV, ahLen int
	}{
		{withESP(newBundle(false), 0x10, ndis.EncAESCBC128, 16, ndis.AuthSHA1, 20, 0), esp.AESCBC, esp.HMACSHA1_96, 0, 12, 0, 0},
		{withESP(newBundle(false), 0x11, ndis.EncAESCBC192, 24, ndis.AuthSHA256, 32, 16), esp.AESCBC, esp.HMACSHA256_128, 0, 16, 0, 0},
		{withESP(newBundle(true), 0x12, ndis.EncAESCBC256, 32, ndis.AuthSHA1, 20, 12), esp.AESCBC, esp.HMACSHA1_96, 0, 12, 0, 0},
		{withESP(newBundle(false), 0x13, ndis.EncNone, 0, ndis.AuthSHA1, 20, 0), esp.NULL, esp.HMACSHA1_96, 0, 12, 0, 0},
		{withESP(newBundle(true), 0x14, ndis.EncNone, 0, ndis.AuthSHA256, 32, 0), esp.NULL, esp.HMACSHA256_128, 0, 16, 0, 0},
		{withAH(newBundle(false), 0x15, ndis.AuthSHA1, 20, 0), 0, 0, esp.HMACSHA1_96, 0, 12, 24},
		{withAH(newBundle(true), 0x16, ndis.AuthSHA256, 32, 16), 0, 0, esp.HMACSHA256_128, 0, 16, 28},
		{withAH(newBundle(false), 0x17, ndis.AuthAESGCM128, 20, 0), 0, 0, esp.GMAC128, 0, 16, 36},
		{withAH(newBundle(true), 0x18, ndis.AuthAESGCM256, 36, 0), 0, 0, esp.GMAC256, 0, 16, 36},
		{withAH(withESP(newBundle(true), 0x19, ndis.EncAESGCM128, 20, 0, 0, 0), 0x1a, ndis.AuthSHA256, 32, 0),
			esp.AESGCM, 0, esp.HMACSHA256_128, 16, 16, 28},
		{withAH(withESP(newBundle(false), 0x1b, ndis.EncAESCBC128, 16, ndis.AuthSHA256, 32, 0), 0x1c, ndis.AuthAESGCM192, 28, 0),
			esp.AESCBC, esp.HMACSHA256_128, esp.GMAC192, 16, 16, 36},
	}
	var list []*Bundle
	for _, tc := range cases {
		list = append(list, tc.b)
	}
	if err := c.AddSA(list, nil); err != nil {
		t.Fatal(err)
	}
	tb := c.Snapshot()
	for i, tc := range cases {
		if tc.b.Err != nil {
			t.Errorf("case %d: %v", i, tc.b.Err)
			continue
		}
		a := tb.Lookup(tc.b.OffloadHandle)
		if tc.alg == 0 {
			if a.Transform != nil || a.Operation() != ndis.OpAH || a.SPI != a.AH.SPI || a.State != a.AH.State {
				t.Errorf("case %d: AH alone: %+v", i, a)
			}
		} else if a.Transform == nil || a.Transform.Alg() != tc.alg || a.Transform.Integrity() != tc.integ ||
			a.Transform.ICVLen() != tc.icv || a.SPI != tc.b.SecAssoc[0].Spi || a.Operation() != ndis.OpESP {
			t.Errorf("case %d: ESP part %+v", i, a.Transform)
		}
		if tc.ahInteg == 0 {
			if a.AH != nil {
				t.Errorf("case %d: an AH part", i)
			}
			continue
		}
		if a.AH == nil || a.AH.Transform.Integrity() != tc.ahInteg || a.AH.Transform.ICVLen() != tc.ahICV ||
			a.AH.Transform.HeaderLen(false) != tc.ahLen || a.AH.SPI != tc.b.AH().Spi || a.OuterSPI() != a.AH.SPI {
			t.Errorf("case %d: AH part %+v", i, a.AH)
		}
		if tc.alg != 0 && a.AH.State == a.State {
			t.Errorf("case %d: a bundle's parts share one sequence state", i)
		}
	}
}

// R-SA-3 (issue 11): combinations that name no suite, keys of the wrong length, and AH with
// UDP encapsulation are refused, each bundle on its own, with the NDIS status its reason
// maps to: NOT_SUPPORTED for an algorithm or capability, INVALID_PARAMETER for a request
// inconsistent in itself.
func TestAddSASuiteRefusals(t *testing.T) {
	c := NewController(32)
	defer c.Close()
	cases := []struct {
		name   string
		b      *Bundle
		is     error
		status ndis.Status
		msg    string
	}{
		{"AES-CBC without integrity", withESP(newBundle(false), 0x20, ndis.EncAESCBC128, 16, 0, 0, 0), ErrAlgorithm, ndis.StatusNotSupported,
			"sa: algorithm not advertised: SPI 0x00000020: encryption 0x40 with authentication 0x0 (AES-CBC needs HMAC-SHA1-96 or HMAC-SHA-256-128: SHA_1 or SHA_256)"},
		{"AES-CBC with AES-GMAC", withESP(newBundle(false), 0x21, ndis.EncAESCBC128, 16, ndis.AuthAESGCM128, 20, 0), ErrAlgorithm, ndis.StatusNotSupported, ""},
		{"AES-CBC with MD5", withESP(newBundle(false), 0x22, ndis.EncAESCBC128, 16, ndis.AuthMD5, 16, 0), ErrAlgorithm, ndis.StatusNotSupported, ""},
		{"3DES with SHA1", withESP(newBundle(false), 0x23, ndis.Enc3DESCBC, 24, ndis.AuthSHA1, 20, 0), ErrAlgorithm, ndis.StatusNotSupported, ""},
		{"neither encryption nor integrity", withESP(newBundle(false), 0x24, ndis.EncNone, 0, 0, 0, 0), ErrAlgorithm, ndis.StatusNotSupported,
			"sa: algorithm not advertised: SPI 0x00000024: encryption 0x1 with authentication 0x0 (ESP with neither encryption nor integrity)"},
		{"AH that encrypts", withAH(withESP(newBundle(false), 0x25, ndis.EncAESGCM128, 20, 0, 0, 0), 0x26, ndis.AuthSHA1, 20, 0), nil, 0, ""},
		{"AH with MD5", withAH(newBundle(false), 0x27, ndis.AuthMD5, 16, 0), ErrAlgorithm, ndis.StatusNotSupported,
			"sa: algorithm not advertised: SPI 0x00000027: encryption 0x0 with authentication 0x1 (AH takes SHA_1, SHA_256 or AES_GCM_x, which is AES-GMAC)"},
		{"AES-CBC-192 key of 16 bytes", withESP(newBundle(false), 0x28, ndis.EncAESCBC192, 16, ndis.AuthSHA1, 20, 0), ErrKeyLength, ndis.StatusInvalidParameter,
			"sa: key length wrong: SPI 0x00000028: KeyLength 16, want 24 (24-byte AES key)"},
		{"HMAC-SHA1 key of 32 bytes", withESP(newBundle(false), 0x29, ndis.EncNone, 0, ndis.AuthSHA1, 32, 0), ErrKeyLength, ndis.StatusInvalidParameter,
			"sa: key length wrong: SPI 0x00000029: KeyLength 32, want 20 (HMAC-SHA1-96 key)"},
		{"AH GMAC key without salt", withAH(newBundle(false), 0x2a, ndis.AuthAESGCM128, 16, 0), ErrKeyLength, ndis.StatusInvalidParameter,
			"sa: key length wrong: SPI 0x0000002a: KeyLength 16, want 20 (16-byte AES key and 4-byte salt)"},
		{"HMAC-SHA1 ICV 16", withESP(newBundle(false), 0x2b, ndis.EncAESCBC128, 16, ndis.AuthSHA1, 20, 16), ErrMalformed, ndis.StatusInvalidParameter,
			"sa: malformed request: SPI 0x0000002b: ICV length 16 (AdditionalInfo), HMAC-SHA1-96 has 12"},
		{"AH ICV 12 for HMAC-SHA-256", withAH(newBundle(false), 0x2c, ndis.AuthSHA256, 32, 12), ErrMalformed, ndis.StatusInvalidParameter, ""},
		{"AH with UDP encapsulation", func() *Bundle {
			b := withAH(newBundle(false), 0x2d, ndis.AuthSHA1, 20, 0)
			b.UdpEspEncapsulation = ndis.UDPEspTransport
			return b
		}(), ErrCapability, ndis.StatusNotSupported,
			"sa: not in the NIC's capabilities: SPI 0x0000002d: UDP-ESP encapsulation 1 with AH: only ESP travels in UDP (RFC 3948)"},
		{"inbound AH SPI 0", withAH(newBundle(true), 0, ndis.AuthSHA1, 20, 0), ErrMalformed, ndis.StatusInvalidParameter, "sa: malformed request: SPI 0 is reserved"},
		{"ESP+AH key past the end", func() *Bundle {
			b := withAH(withESP(newBundle(false), 0x2e, ndis.EncAESCBC128, 16, ndis.AuthSHA1, 20, 0), 0x2f, ndis.AuthSHA1, 20, 0)
			b.KeyData = b.KeyData[:40]
			return b
		}(), ErrKeyLength, ndis.StatusInvalidParameter,
			"sa: key length wrong: SPI 0x0000002f: key at offset 36 length 20 runs past the 40 bytes of key material"},
	}
	// "AH that encrypts": give the AH entry an encryption algorithm.
	cases[5].b.SecAssoc[1].EncryptionAlgorithm = Algorithm{Identifier: ndis.EncAESCBC128, KeyLength: 16}
	cases[5].is, cases[5].status = ErrAlgorithm, ndis.StatusNotSupported
	for _, tc := range cases {
		err := c.AddSA([]*Bundle{tc.b}, nil)
		if err == nil || tc.b.OffloadHandle != 0 || !errors.Is(tc.b.Err, tc.is) || StatusOf(tc.b.Err) != tc.status {
			t.Errorf("%s: handle %v err %v (status %v), want %v / %v", tc.name, tc.b.OffloadHandle, tc.b.Err, StatusOf(tc.b.Err), tc.is, tc.status)
			continue
		}
		if tc.msg != "" && tc.b.Err.Error() != tc.msg {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, tc.b.Err, tc.msg)
		}
	}
	if n := c.Snapshot().Len(); n != 0 {
		t.Errorf("%d SAs offloaded from refused requests", n)
	}
}

// R-RX-2 (issue 11): an inbound SA is identified by SPI, destination and protocol. A bundle
// with AH is found by its AH SPI among AH packets, an ESP-only bundle by its ESP SPI among
// ESP packets, even when the numbers coincide; a duplicate AH SPI is refused.
func TestLookupInboundAH(t *testing.T) {
	c := NewController(16)
	defer c.Close()
	espOnly := addOne(c, withESP(newBundle(true), 0x700, ndis.EncAESCBC128, 16, ndis.AuthSHA1, 20, 0))
	ahOnly := addOne(c, withAH(newBundle(true), 0x700, ndis.AuthSHA256, 32, 0))
	bundle := addOne(c, withAH(withESP(newBundle(true), 0x800, ndis.EncNone, 0, ndis.AuthSHA1, 20, 0), 0x801, ndis.AuthSHA1, 20, 0))
	wild := newBundle(true)
	wild.Dst = netip.Addr{}
	wildH := addOne(c, withAH(wild, 0x801, ndis.AuthSHA1, 20, 0))
	tb := c.Snapshot()
	dst, other := ip4("198.51.100.1"), ip4("198.51.100.2")
	cases := []struct {
		ah   bool
		spi  uint32
		dst  []byte
		want Handle
	}{
		{false, 0x700, dst, espOnly},
		{true, 0x700, dst, ahOnly},
		{true, 0x801, dst, bundle},
		{true, 0x801, other, wildH},
		{false, 0x800, dst, 0}, // the bundle's ESP SPI: its packets arrive inside AH
		{false, 0x801, dst, 0},
		{true, 0x800, dst, 0},
	}
	for i, tc := range cases {
		var a *SA
		if tc.ah {
			a = tb.LookupInboundAH(tc.spi, tc.dst)
		} else {
			a = tb.LookupInbound(tc.spi, tc.dst)
		}
		var got Handle
		if a != nil {
			got = a.Handle
		}
		if got != tc.want {
			t.Errorf("case %d: got %v, want %v", i, got, tc.want)
		}
	}
	dup := withAH(newBundle(true), 0x700, ndis.AuthSHA1, 20, 0)
	if err := c.AddSA([]*Bundle{dup}, nil); !errors.Is(err, ErrDuplicate) ||
		dup.Err.Error() != "sa: duplicate inbound SPI and destination: AH SPI 0x00000700 to 198.51.100.1 is already offloaded as handle 1.1" {
		t.Errorf("duplicate AH SPI: %v", dup.Err)
	}
}

// R-SA-5, R-SA-6 (issue 11): UPDATE_SA names either part of an ESP+AH bundle by its
// operation and SPI and moves only that part's high half; DELETE_SA zeroes both parts' keys.
func TestBundleUpdateAndDelete(t *testing.T) {
	c := NewController(8)
	defer c.Close()
	b := withAH(withESP(newBundle(true), 0x900, ndis.EncAESCBC256, 32, ndis.AuthSHA256, 32, 0), 0x901, ndis.AuthAESGCM128, 20, 0)
	b.SecAssoc[0].Flags, b.SecAssoc[0].SequenceNumberHighOrder = ndis.SAFlagESN, 3
	h := addOne(c, b)
	a := c.Snapshot().Lookup(h)
	if a.State.SeqHi() != 3 || a.AH.State.SeqHi() != 0 || !a.ESN || a.AH.ESN {
		t.Fatalf("ADD_SA high halves: ESP %d AH %d", a.State.SeqHi(), a.AH.State.SeqHi())
	}
	if err := c.UpdateSA(Update{h, ndis.OpESP, 0x900, 7}); err != nil || a.State.SeqHi() != 7 {
		t.Errorf("update ESP: %v, %d", err, a.State.SeqHi())
	}
	err := c.UpdateSA(Update{h, ndis.OpAH, 0x901, 8})
	if !errors.Is(err, ErrNoESN) || err.Error() != "sa: SA does not use extended sequence numbers: handle 0.1 (SPI 0x00000901)" {
		t.Errorf("update AH without ESN: %v", err)
	}
	err = c.UpdateSA(Update{h, ndis.OpAH, 0x900, 8})
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "is ESP SPI 0x00000900 and AH SPI 0x00000901, request names AH SPI 0x00000900") {
		t.Errorf("update naming the wrong part: %v", err)
	}
	if err := c.DeleteSA([]Handle{h}); err != nil {
		t.Fatal(err)
	}
	if !a.KeyZeroed() || !a.Transform.KeyZeroed() || !a.AH.Transform.KeyZeroed() || !a.AH.State.Deleted() {
		t.Error("DELETE_SA left key material of a part")
	}
}

// SPEC section 6: the AES-GCM implementation a controller pins (any of them, vaes included)
// does not stop the suites that have a single implementation from being added.
func TestSuitesWithPinnedImpl(t *testing.T) {
	for _, impl := range []esp.Impl{esp.ImplStdlib, esp.ImplPortable, esp.ImplVAES} {
		c := NewController(8)
		if err := c.SetImpl(impl); err != nil {
			t.Fatal(err)
		}
		b := withESP(newBundle(false), 0x30, ndis.EncAESCBC128, 16, ndis.AuthSHA256, 32, 0)
		if err := c.AddSA([]*Bundle{b}, nil); err != nil {
			t.Errorf("%v: AES-CBC SA refused: %v", impl, err)
		}
		c.Close()
	}
}
