//go:build linux

package gateway_test

import (
	"encoding/binary"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ov2dev/ov2/gateway"
	"github.com/ov2dev/ov2/internal/gwtest"
	"github.com/ov2dev/ov2/internal/interop"
	"github.com/ov2dev/ov2/xfrm"
)

// The suites beyond AES-GCM through two gateways: from A to B an ESP+AH bundle (ESP
// AES-CBC-128 + HMAC-SHA-256-128, then AH HMAC-SHA1-96 over it) that a policy line makes of
// two states, from B to A AH HMAC-SHA-256-128 alone. Ping and a 2 MB TCP transfer arrive
// intact; every IP packet between A and B on the link between the gateways is AH, and
// scapy verifies each one (AH over the immutable header fields and the payload; for the
// bundle, then the ESP ICV, and decrypts it); both reports balance.
func TestEndToEndSuites(t *testing.T) {
	interop.Require(t, interop.ToolScapy)
	text := gwtest.SAText(
		`src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x5001 reqid 5 mode transport enc 'cbc(aes)' 0x0102030405060708090a0b0c0d0e0f10 auth-trunc 'hmac(sha256)' 0x1112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f30 128`,
		`src 10.0.0.1 dst 10.0.0.2 proto ah spi 0x5002 reqid 5 mode transport auth 'hmac(sha1)' 0x3132333435363738393a3b3c3d3e3f4041424344`,
		`ip xfrm policy add src 10.0.0.1/32 dst 10.0.0.2/32 dir out tmpl proto esp reqid 5 mode transport tmpl proto ah reqid 5 mode transport`,
		`src 10.0.0.2 dst 10.0.0.1 proto ah spi 0x5003 mode transport auth-trunc 'hmac(sha256)' 0x5152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f70 128`)
	cfg, err := xfrm.ParseConfig("suites.sa", strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Bundles) != 1 {
		t.Fatalf("%d bundles, want 1", len(cfg.Bundles))
	}
	tp := gwtest.New(t, gwtest.Opts{})
	g1 := tp.StartGatewayConfig(t, "g1", cfg, 1)
	g2 := tp.StartGatewayConfig(t, "g2", cfg, 1)
	capt := tp.StartCapture(t, "g2", "out")
	tp.Ping(t, "a", tp.B, 3)
	took := tp.Transfer(t, tp.B, 5001, 2<<20)
	r1, r2 := g1.Stop(t), g2.Stop(t)
	frames := capt.Finish(t)
	checkReport(t, "g1", r1)
	checkReport(t, "g2", r2)

	// The IP packets between A and B on the wire: all AH.
	var ah [][]byte
	other := map[byte]int{}
	for _, f := range frames {
		fr := gateway.ParseFrame(f)
		if fr.Kind != gateway.KindIPv4 {
			continue
		}
		ip := f[fr.LinkLen : fr.LinkLen+fr.IPLen]
		src, dst := netip.AddrFrom4([4]byte(ip[12:16])), netip.AddrFrom4([4]byte(ip[16:20]))
		if !(src == tp.A && dst == tp.B || src == tp.B && dst == tp.A) {
			continue
		}
		if fr.Proto != 51 {
			other[fr.Proto]++
			continue
		}
		ah = append(ah, ip)
	}
	if len(other) != 0 || len(ah) == 0 {
		t.Fatalf("between A and B on the wire: %d AH packets, others by protocol %v; want AH only", len(ah), other)
	}
	path := filepath.Join(t.TempDir(), "wire.pcap")
	if err := interop.WritePcap(path, ah); err != nil {
		t.Fatal(err)
	}
	espSA := interop.SuiteSA{Proto: "esp", SPI: 0x5001, Enc: "aes-cbc", EncKey: cfg.States[0].EncKey, Auth: "hmac-sha256-128", AuthKey: cfg.States[0].AuthKey}
	ahAB := interop.SuiteSA{Proto: "ah", SPI: 0x5002, Auth: "hmac-sha1-96", AuthKey: cfg.States[1].AuthKey}
	ahBA := interop.SuiteSA{Proto: "ah", SPI: 0x5003, Auth: "hmac-sha256-128", AuthKey: cfg.States[2].AuthKey}
	bundle := interop.VerifyBundleScapy(t, path, interop.BundleSA{ESP: espSA, AH: ahAB})
	alone := interop.VerifySuitesScapy(t, path, []interop.SuiteSA{ahBA})
	var ab, ba int
	for i, pkt := range ah {
		switch spi := binary.BigEndian.Uint32(pkt[20+4:]); spi {
		case 0x5002:
			if r := bundle[i]; !r.OK || r.SPI != 0x5001 {
				t.Errorf("packet %d (A to B, AH 0x5002 over ESP): scapy: SPI 0x%08x, %s", i, r.SPI, r.Reason)
			}
			ab++
		case 0x5003:
			if r := alone[i]; !r.OK || r.SPI != 0x5003 {
				t.Errorf("packet %d (B to A, AH 0x5003): scapy: %s", i, r.Reason)
			}
			ba++
		default:
			t.Errorf("packet %d: AH SPI 0x%08x", i, spi)
		}
	}
	if uint64(ab) != r1.Encrypt.Out.Packets || uint64(ba) != r2.Encrypt.Out.Packets {
		t.Errorf("on the wire %d A-to-B and %d B-to-A packets; g1 sealed %d, g2 %d", ab, ba, r1.Encrypt.Out.Packets, r2.Encrypt.Out.Packets)
	}
	t.Logf("2 MB from A to B in %v; on the wire %d ESP+AH packets (A to B) and %d AH packets (B to A), every one verified by scapy", took, ab, ba)
}
