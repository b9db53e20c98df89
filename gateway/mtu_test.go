//go:build linux

package gateway_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ov2dev/ov2/internal/gwtest"
)

// The MTU: with a 1500-byte outside MTU, a 1500-byte packet with DF does not fit once
// sealed. The sender gets what Linux gives it, an ICMP "fragmentation needed" (ICMPv6
// "packet too big") with the MTU that fits, and then TCP gets through (path MTU discovery
// works). An IPv4 packet without DF is fragmented before sealing and arrives whole.
func TestMTU(t *testing.T) {
	for _, c := range []struct {
		name string
		sas  string
		ipv6 bool
		fits int // the MTU the ICMP error must say
		// fragments: an IPv4 packet without DF is fragmented before it is sealed
		fragments bool
	}{
		// Transport: 1500 - 20 (IP header) - 8 (ESP) - 8 (IV) - 16 (ICV) = 1448 bytes for
		// payload, padding and trailer; padded to 4 bytes with 2 of trailer, 1446 of
		// payload: 1466 bytes.
		{"transport-v4", gwtest.SAText(
			`src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x5001 mode transport aead 'rfc4106(gcm(aes))' `+keyAB+` 128`,
			`src 10.0.0.2 dst 10.0.0.1 proto esp spi 0x5002 mode transport aead 'rfc4106(gcm(aes))' `+keyBA+` 128`), false, 1466, false},
		// Tunnel with ESP in UDP: 1500 - 20 (outer) - 8 (UDP) - 32 = 1440 → 1438.
		{"tunnel-natt-v4", gwtest.SAText(
			`src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x5101 mode tunnel aead 'rfc4106(gcm(aes))' `+keyAB+` 128 encap espinudp 4500 4500 0.0.0.0 sel src 10.0.0.1/32 dst 10.0.0.2/32`,
			`src 192.0.2.2 dst 192.0.2.1 proto esp spi 0x5102 mode tunnel aead 'rfc4106(gcm(aes))' `+keyBA+` 128 encap espinudp 4500 4500 0.0.0.0 sel src 10.0.0.2/32 dst 10.0.0.1/32`), false, 1438, true},
		// IPv6 transport: 1500 - 40 - 32 = 1428 → 1426 of payload: 1466.
		{"transport-v6", gwtest.SAText(
			`src fd00::1 dst fd00::2 proto esp spi 0x5201 mode transport aead 'rfc4106(gcm(aes))' `+keyAB+` 128`,
			`src fd00::2 dst fd00::1 proto esp spi 0x5202 mode transport aead 'rfc4106(gcm(aes))' `+keyBA+` 128`), true, 1466, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			tp := gwtest.New(t, gwtest.Opts{IPv6: c.ipv6})
			sas := gwtest.ParseSAs(t, c.sas)
			g1 := tp.StartGateway(t, "g1", sas, 1)
			g2 := tp.StartGateway(t, "g2", sas, 1)
			capt := tp.StartCapture(t, "g2", "out")
			b := tp.B
			size := "1472" // 1500-byte IPv4 packets
			if c.ipv6 {
				b, size = tp.B6, "1452"
			}
			tp.Ping(t, "a", b, 1) // neighbours resolved, small packets pass
			if c.fragments {
				// Without DF the packet is fragmented before sealing (tunnel mode: each
				// fragment in its own ESP packet) and B reassembles it.
				tp.Ping(t, "a", b, 3, "-M", "dont", "-s", "1472")
			}
			out, _ := tp.N.Cmd("a", "ping", "-c", "1", "-W", "2", "-M", "do", "-s", size, b.String()).CombinedOutput()
			want := fmt.Sprintf("mtu = %d", c.fits)
			if c.ipv6 {
				want = fmt.Sprintf("mtu=%d", c.fits)
			}
			if !strings.Contains(string(out), want) {
				t.Fatalf("ping -M do -s %s: want an ICMP error saying %q:\n%s", size, want, out)
			}
			route := tp.N.Run(t, "a", "ip", "route", "get", b.String())
			if !strings.Contains(route, fmt.Sprintf("mtu %d", c.fits)) {
				t.Errorf("A's route to B does not have the path MTU %d:\n%s", c.fits, route)
			}
			// Now the path MTU is known: full-size pings and TCP pass.
			tp.Ping(t, "a", b, 3, "-s", fmt.Sprint(c.fits-28-20*boolInt(c.ipv6)))
			tp.Transfer(t, b, 5002, 4<<20)
			frames := capt.Finish(t)
			r1, r2 := g1.Stop(t), g2.Stop(t)
			checkReport(t, "g1", r1)
			checkReport(t, "g2", r2)
			gwtest.CheckWire(t, frames, sas, tp.A, tp.B, tp.A6, tp.B6)
			if r1.Encrypt.ICMP.Packets == 0 {
				t.Errorf("g1 sent no ICMP error")
			}
			if c.fragments && r1.Encrypt.Fragmented.Packets < 3 {
				t.Errorf("g1 fragmented %d packets, want at least the 3 pings without DF", r1.Encrypt.Fragmented.Packets)
			}
			t.Logf("g1: %d ICMP errors, %d packets fragmented into %d; g2: %d ICMP errors", r1.Encrypt.ICMP.Packets,
				r1.Encrypt.Fragmented.Packets, r1.Encrypt.Fragments, r2.Encrypt.ICMP.Packets)
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
