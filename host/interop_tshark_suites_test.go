package host_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/ov2dev/ov2/internal/interop"
	"github.com/ov2dev/ov2/stage"
)

// Issue 11 acceptance: tshark 4.0 verifies and decrypts ov2's ESP-CBC-HMAC (and NULL-HMAC)
// output: every packet's ICV is good and the trailer it decrypts has ov2's pad length and
// next header (transport: UDP; tunnel: IPv4 or IPv6), and a packet with a flipped ciphertext
// byte is reported bad.
func TestSuitesTshark(t *testing.T) {
	interop.Require(t, interop.ToolTshark)
	for _, name := range []string{"cbc128-sha1", "cbc256-sha256", "null-sha256"} {
		for _, v6 := range []bool{false, true} {
			for _, tunnel := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/v6=%v/tunnel=%v", name, v6, tunnel), func(t *testing.T) {
					c := suiteCfg(name, 0x5500, v6, tunnel)
					l := newLoop(t, stage.Config{Lanes: 1}, stage.DeletePolicy{})
					l.addFlow(t, c)
					pkts := suitePackets(c, 12)
					sealed := l.seal(t, pkts)
					bad := append([]byte(nil), sealed[0]...)
					bad[len(bad)-20] ^= 1
					path := filepath.Join(t.TempDir(), "cbc.pcap")
					if err := interop.WritePcap(path, append(sealed, bad)); err != nil {
						t.Fatal(err)
					}
					res := interop.VerifyTsharkSuites(t, path, []interop.SuiteSA{peerSA(c, 0)})
					if len(res) != len(sealed)+1 {
						t.Fatalf("%d results", len(res))
					}
					for i, p := range pkts {
						r := res[i]
						_, nh := expectInner(c, p)
						if !r.OK || r.SPI != c.SPI || r.Seq != uint64(i+1) || r.NextHeader != int(nh) {
							t.Fatalf("packet %d: tshark %+v, want ICV good, next header %d", i, r, nh)
						}
					}
					if res[len(sealed)].OK {
						t.Fatalf("tampered packet: tshark says ICV good")
					}
				})
			}
		}
	}
}
