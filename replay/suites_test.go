package replay

import (
	"bytes"
	"context"
	"maps"
	"os"
	"testing"

	"github.com/ov2dev/ov2/nic"
	"github.com/ov2dev/ov2/xfrm"
)

// suitesSAFile is the SA file with one SA of every suite ov2 offloads, an ESP+AH bundle
// and policy lines (package xfrm's test data); testdata/suites.pcap is traffic for it.
const suitesSAFile = "../xfrm/testdata/suites.sa"

// suitesFlows are testdata/suites.pcap's traffic: one flow per SA of suitesSAFile, and one
// for no SA.
var suitesFlows = []flow{
	{"192.0.2.1", "198.51.100.11"}, // 0x1101 AES-GCM-128
	{"192.0.2.1", "198.51.100.12"}, // 0x1201 AES-GMAC-256
	{"192.0.2.1", "198.51.100.13"}, // 0x1301 AES-CBC-128 + HMAC-SHA1-96
	{"10.1.0.5", "10.14.0.7"},      // 0x1401 AES-CBC-256 + HMAC-SHA-256-128, tunnel, ESN (policy)
	{"192.0.2.1", "198.51.100.15"}, // 0x1501 NULL + HMAC-SHA-256-128
	{"192.0.2.1", "198.51.100.16"}, // 0x1601 NULL + HMAC-SHA1-96
	{"192.0.2.1", "198.51.100.17"}, // 0x1701 AH HMAC-SHA1-96
	{"192.0.2.1", "198.51.100.18"}, // 0x1801 + 0x1802 ESP AES-CBC-192 + HMAC-SHA-256-128, then AH (policy)
	{"192.0.2.1", "203.0.113.50"},  // no SA: clear
}

// TestSuitesCapture checks that testdata/suites.pcap is what buildCapture makes of
// suitesFlows (run with -update to rewrite it).
func TestSuitesCapture(t *testing.T) {
	want := buildCapture(t, suitesFlows, 450)
	if *update {
		if err := os.WriteFile("testdata/suites.pcap", want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile("testdata/suites.pcap")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("testdata/suites.pcap is out of date (%d bytes, want %d): run go test ./replay -run TestSuitesCapture -update", len(got), len(want))
	}
}

// A capture goes through SAs of every suite, read from one SA file with policy lines, and
// comes back equal to the input: each SA's packets sealed (IPv4 protocol 50 or, for AH and
// the bundle, 51) and opened again, the tunnel SA taking its traffic by its policy's
// selector.
func TestSuitesRoundTrip(t *testing.T) {
	cfg, err := xfrm.ParseConfigFile(suitesSAFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.States) != 9 || len(cfg.Bundles) != 1 {
		t.Fatalf("%d states, %d bundles in %s; want 9 and 1", len(cfg.States), len(cfg.Bundles), suitesSAFile)
	}
	const loops = 2
	rec := &recorder{}
	rep, err := Run(context.Background(), FileInput("testdata/suites.pcap"), Config{SAs: cfg.States, Bundles: cfg.Bundles,
		NIC: nic.DefaultConfig(), Lanes: 2, Loops: loops, RoundTrip: true, Output: rec})
	if err != nil {
		t.Fatal(err)
	}
	// 450 frames: 9 ARP, 441 IP, 49 for each flow.
	const perFlow, sas = 49, 8
	sealed := uint64(loops * perFlow * sas)
	if rep.SAs.Outbound != sas || rep.SAs.Inbound != sas {
		t.Errorf("SAs %+v, want %d each way", rep.SAs, sas)
	}
	if rep.Encrypt.Out.Packets != sealed || rep.Decrypt.Out.Packets != sealed || rep.Clear.Packets != loops*perFlow ||
		rep.PassThrough.Packets != loops*9 || len(rep.Drops) != 0 || !rep.Balanced {
		t.Errorf("encrypt %+v, decrypt %+v, clear %d, passed through %d, drops %v, balanced %v",
			rep.Encrypt.Out, rep.Decrypt.Out, rep.Clear.Packets, rep.PassThrough.Packets, rep.Drops, rep.Balanced)
	}
	if rep.RoundTrip == nil || !rep.RoundTrip.OK || rep.RoundTrip.Equal != sealed || rep.RoundTrip.Differ != 0 {
		t.Errorf("round trip %+v, want %d equal", rep.RoundTrip, sealed)
	}
	if want := map[string]uint64{"CRYPTO_SUCCESS": sealed}; !maps.Equal(rep.CryptoStatus, want) {
		t.Errorf("CryptoStatus %v, want %v", rep.CryptoStatus, want)
	}
	// On the wire: ESP for the six ESP SAs, AH for the AH SA and the bundle.
	protos := map[byte]int{}
	for _, f := range rec.frames {
		if len(f) > 14+20 && f[12] == 0x08 && f[13] == 0 {
			protos[f[14+9]]++
		}
	}
	if protos[50] != loops*perFlow*6 || protos[51] != loops*perFlow*2 {
		t.Errorf("frames by IPv4 protocol %v: want %d ESP, %d AH", protos, loops*perFlow*6, loops*perFlow*2)
	}
}
