package nic

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/ov2dev/ov2/ndis"
	"github.com/ov2dev/ov2/sa"
)

// suiteBundles are one bundle of each issue 11 suite (and one AES-GCM for contrast), keys
// laid out as sa/params.go documents.
func suiteBundles(dst string) map[string]sa.Bundle {
	key := func(n int) []byte {
		k := make([]byte, n)
		for i := range k {
			k[i] = byte(i*3 + 1)
		}
		return k
	}
	d := netip.MustParseAddr(dst)
	flags := uint32(0)
	if d.Is6() {
		flags = ndis.SAIPv6
	}
	esp := func(spi, enc uint32, encKey int, auth uint32, authKey int) sa.Bundle {
		return sa.Bundle{Flags: flags, Dst: d, NumExtHdrs: 1, KeyData: key(encKey + authKey),
			SecAssoc: [2]sa.SecAssoc{{Operation: ndis.OpESP, Spi: spi,
				EncryptionAlgorithm:     sa.Algorithm{Identifier: enc, KeyLength: uint32(encKey)},
				AuthenticationAlgorithm: sa.Algorithm{Identifier: auth, KeyLength: uint32(authKey), KeyOffsetBytes: uint32(encKey)}}}}
	}
	ahOnly := func(spi, auth uint32, n int) sa.Bundle {
		return sa.Bundle{Flags: flags, Dst: d, NumExtHdrs: 1, KeyData: key(n),
			SecAssoc: [2]sa.SecAssoc{{Operation: ndis.OpAH, Spi: spi, AuthenticationAlgorithm: sa.Algorithm{Identifier: auth, KeyLength: uint32(n)},
				EncryptionAlgorithm: sa.Algorithm{Identifier: ndis.EncNone}}}} // NONE: AH survives ESP-NULL switched off
	}
	bundle := esp(0x60, ndis.EncAESCBC256, 32, ndis.AuthSHA256, 32)
	bundle.NumExtHdrs = 2
	bundle.KeyData = key(64 + 20)
	bundle.SecAssoc[1] = sa.SecAssoc{Operation: ndis.OpAH, Spi: 0x61,
		AuthenticationAlgorithm: sa.Algorithm{Identifier: ndis.AuthSHA1, KeyLength: 20, KeyOffsetBytes: 64}}
	gcm := esp(0x62, ndis.EncAESGCM128, 20, 0, 0)
	return map[string]sa.Bundle{
		"cbc128-sha1":   esp(0x50, ndis.EncAESCBC128, 16, ndis.AuthSHA1, 20),
		"cbc192-sha256": esp(0x51, ndis.EncAESCBC192, 24, ndis.AuthSHA256, 32),
		"null-sha256":   esp(0x52, ndis.EncNone, 0, ndis.AuthSHA256, 32),
		"ah-sha1":       ahOnly(0x53, ndis.AuthSHA1, 20),
		"ah-gmac256":    ahOnly(0x54, ndis.AuthAESGCM256, 36),
		"esp-gmac128":   esp(0x55, ndis.EncNone, 0, ndis.AuthAESGCM128, 20),
		"cbc+ah":        bundle,
		"gcm128":        gcm,
	}
}

// addOne offloads one bundle through the ADD_SA OID and returns the status and the bundle.
func addVia(t *testing.T, n *NIC, b sa.Bundle) (ndis.Status, *AddSA) {
	t.Helper()
	req := &AddSA{Bundle: b}
	st, _ := n.Request(ndis.OIDIPsecOffloadV2AddSA, req)
	return st, req
}

// R-CAP-1, R-CAP-2, R-SA-3 (issue 11): by default the NIC offloads every new suite; each can
// be switched off by a keyword of the configuration file, after which ADD_SA refuses it with
// NDIS_STATUS_NOT_SUPPORTED and a reason, while the other suites stay available.
func TestSuiteKeywordsSwitchOff(t *testing.T) {
	all := []string{"cbc128-sha1", "cbc192-sha256", "null-sha256", "ah-sha1", "ah-gmac256", "esp-gmac128", "cbc+ah", "gcm128"}
	cases := []struct {
		name, conf string
		refused    map[string]string // suite -> what the refusal says
	}{
		{"defaults", "", nil},
		{"Ah = 0", "Ah = 0\nAhEspCombined = 0", map[string]string{
			"ah-sha1": "AH is not advertised", "ah-gmac256": "AH is not advertised", "cbc+ah": "ESP and AH combined is not advertised"}},
		{"keyword ESP only", "*IPsecOffloadV2 = 2\n*IPsecOffloadV2IPv4 = 2", map[string]string{
			"ah-sha1": "AH is disabled for IPv4", "ah-gmac256": "AH is disabled for IPv4", "cbc+ah": "AH is disabled for IPv4"}},
		{"AhEspCombined = 0", "AhEspCombined = 0", map[string]string{"cbc+ah": "ESP and AH combined is not advertised"}},
		{"no AES-CBC", "EncryptionAlgorithms = NONE, AES_GCM_128", map[string]string{
			"cbc128-sha1": "encryption algorithm AES_CBC_128", "cbc192-sha256": "encryption algorithm AES_CBC_192",
			"cbc+ah": "encryption algorithm AES_CBC_256"}},
		{"no AES-CBC-192", "EncryptionAlgorithms = NONE, AES_GCM_128, AES_CBC_128, AES_CBC_256", map[string]string{
			"cbc192-sha256": "encryption algorithm AES_CBC_192"}},
		{"no SHA_1", "AuthenticationAlgorithms = SHA_256, AES_GCM_128, AES_GCM_256", map[string]string{
			"cbc128-sha1": "authentication algorithm SHA_1", "ah-sha1": "authentication algorithm SHA_1", "cbc+ah": "authentication algorithm SHA_1"}},
		{"no ESP-NULL (NONE)", "EncryptionAlgorithms = AES_GCM_128, AES_CBC_128, AES_CBC_192, AES_CBC_256", map[string]string{
			"null-sha256": "encryption algorithm NONE", "esp-gmac128": "encryption algorithm NONE"}},
		{"no AES-GMAC", "AuthenticationAlgorithms = SHA_1, SHA_256", map[string]string{
			"ah-gmac256": "authentication algorithm AES_GCM_256", "esp-gmac128": "authentication algorithm AES_GCM_128"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseConfig("suites.conf", strings.NewReader(tc.conf))
			if err != nil {
				t.Fatal(err)
			}
			n := newNIC(t, cfg)
			bs := suiteBundles("198.51.100.1")
			for _, name := range all {
				st, req := addVia(t, n, bs[name])
				want, refused := tc.refused[name]
				switch {
				case !refused && (st != ndis.StatusSuccess || req.OffloadHandle == 0):
					t.Errorf("%s: %v %v, want offloaded", name, st, req.Err)
				case refused && (st != ndis.StatusNotSupported || req.OffloadHandle != 0 || !strings.HasSuffix(req.Err.Error(), want)):
					t.Errorf("%s: %v %v, want NOT_SUPPORTED ending %q", name, st, req.Err, want)
				}
			}
		})
	}
}

// R-SA-3 (issue 11): DES, 3DES and MD5 are refused in every new combination too, naming the
// broken algorithm; an ESP+AH bundle for IPv4 is admitted when the IPv4-only setting enables
// both protocols, and refused for IPv6 then.
func TestSuiteAdmission(t *testing.T) {
	n := newNIC(t, DefaultConfig())
	bs := suiteBundles("198.51.100.1")
	md5 := bs["ah-sha1"]
	md5.SecAssoc[0].AuthenticationAlgorithm.Identifier = ndis.AuthMD5
	des := bs["cbc128-sha1"]
	des.SecAssoc[0].EncryptionAlgorithm.Identifier = ndis.EncDESCBC
	for name, b := range map[string]sa.Bundle{"MD5": md5, "DES_CBC": des} {
		st, req := addVia(t, n, b)
		if st != ndis.StatusNotSupported || !errors.Is(req.Err, sa.ErrAlgorithm) ||
			!strings.Contains(req.Err.Error(), name+" (broken algorithm, never advertised)") {
			t.Errorf("%s: %v %v", name, st, req.Err)
		}
	}

	cfg := DefaultConfig()
	cfg.IPsecOffloadV2, cfg.IPsecOffloadV2IPv4 = KeywordDisabled, KeywordAHAndESP
	n4 := newNIC(t, cfg)
	if st, req := addVia(t, n4, bs["cbc+ah"]); st != ndis.StatusSuccess {
		t.Errorf("IPv4 bundle with IPv4-only AH and ESP: %v %v", st, req.Err)
	}
	b6 := suiteBundles("2001:db8::1")["cbc+ah"]
	if st, req := addVia(t, n4, b6); st != ndis.StatusNotSupported || !errors.Is(req.Err, sa.ErrDisabled) {
		t.Errorf("IPv6 bundle with IPv4-only settings: %v %v", st, req.Err)
	}
}

// R-SA-1, R-SA-6 (issue 11): ADD_SA_EX carries the new suites' two keys inside its buffer at
// KeyOffset; UPDATE_SA through the OID names a bundle's AH part by its own SPI.
func TestAddSAExAndUpdateBundle(t *testing.T) {
	n := newNIC(t, DefaultConfig())
	b := suiteBundles("198.51.100.1")["cbc+ah"]
	b.Flags |= ndis.SAInbound
	b.SecAssoc[1].Flags = ndis.SAFlagESN
	buf := append(make([]byte, 10), b.KeyData...)
	b.KeyData = nil
	req := &AddSAEx{Bundle: b, KeyOffset: 10, KeyLength: uint32(len(buf) - 10), Buffer: buf}
	if st, err := n.Request(ndis.OIDIPsecOffloadV2AddSAEx, req); st != ndis.StatusSuccess || req.OffloadHandle == 0 {
		t.Fatalf("ADD_SA_EX: %v %v %v", st, err, req.Err)
	}
	u := &sa.Update{OffloadHandle: req.OffloadHandle, Operation: ndis.OpAH, Spi: 0x61, SequenceNumberHighOrder: 4}
	if st, err := n.Request(ndis.OIDIPsecOffloadV2UpdateSA, u); st != ndis.StatusSuccess {
		t.Fatalf("UPDATE_SA of the AH part: %v %v", st, err)
	}
	a := n.Controller().Snapshot().Lookup(req.OffloadHandle)
	if a.AH.State.SeqHi() != 4 || a.State.SeqHi() != 0 {
		t.Errorf("high halves after UPDATE_SA: AH %d ESP %d", a.AH.State.SeqHi(), a.State.SeqHi())
	}
	u.Operation, u.Spi = ndis.OpESP, 0x60
	if st, err := n.Request(ndis.OIDIPsecOffloadV2UpdateSA, u); st != ndis.StatusInvalidParameter || !errors.Is(err, sa.ErrNoESN) {
		t.Errorf("UPDATE_SA of the ESP part without ESN: %v %v", st, err)
	}
}
