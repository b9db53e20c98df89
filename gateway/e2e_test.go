//go:build linux

package gateway_test

import (
	"bufio"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/ov2dev/ov2/gateway"
	"github.com/ov2dev/ov2/internal/gwtest"
)

// Keys of the test SAs (AES-GCM-128 key and salt, AES-GCM-256).
const (
	keyAB = "0x0102030405060708090a0b0c0d0e0f10a1a2a3a4"
	keyBA = "0x1112131415161718191a1b1c1d1e1f20b1b2b3b4"
	key32 = "0x2122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40c1c2c3c4"
)

// checkReport checks a stopped gateway's books: balanced, nothing dropped but what the test
// allows, and traffic both ways.
func checkReport(t *testing.T, name string, r *gateway.Report, allowed ...string) {
	t.Helper()
	if !r.Balanced {
		var b strings.Builder
		r.Print(&b)
		t.Errorf("%s: accounting not balanced:\n%s", name, b.String())
	}
	for k, v := range r.Drops {
		ok := false
		for _, a := range allowed {
			ok = ok || strings.Contains(k, a)
		}
		if !ok {
			t.Errorf("%s: %d dropped: %s", name, v, k)
		}
	}
	if r.Encrypt.Out.Packets == 0 || r.Decrypt.Out.Packets == 0 {
		t.Errorf("%s: sealed %d, opened %d: want traffic both ways", name, r.Encrypt.Out.Packets, r.Decrypt.Out.Packets)
	}
}

// End to end: host A and host B on one subnet, each behind its own gateway, the gateways
// joined by a veth pair. Ping and a 4 MB TCP transfer from A to B arrive intact; the link
// between the gateways carries no plain A-B traffic, and every ESP packet on it verifies
// with python-cryptography (and carries a transport packet with a right checksum); every
// frame is accounted for, and every ESP packet on the wire is one the gateways' reports
// say they sealed. Transport and tunnel mode, IPv4 and IPv6, ESP in UDP, one and two lanes.
//
// The gateway on B's side sends A's consecutive TCP segments to B as aggregates (coalesced);
// with the offloads of its inside link off, no frame B receives may be longer than the MTU.
//
// The "offloads" cases leave A's and B's segmentation offloads on: A's TCP sends aggregates
// of up to 64 KB, which the gateway takes whole from its receive ring and hands to the NIC
// as LSO + IPsec large sends; the report must show them cut, and no frame on the wire may
// be longer than the link's MTU.
func TestEndToEnd(t *testing.T) {
	transportV4 := gwtest.SAText(
		`src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x1001 mode transport aead 'rfc4106(gcm(aes))' `+keyAB+` 128`,
		`src 10.0.0.2 dst 10.0.0.1 proto esp spi 0x1002 mode transport aead 'rfc4106(gcm(aes))' `+keyBA+` 128`)
	tunnelV4 := gwtest.SAText(
		`src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x2001 mode tunnel aead 'rfc4106(gcm(aes))' `+key32+` 128 sel src 10.0.0.1/32 dst 10.0.0.2/32`,
		`src 192.0.2.2 dst 192.0.2.1 proto esp spi 0x2002 mode tunnel aead 'rfc4106(gcm(aes))' `+keyBA+` 128 sel src 10.0.0.2/32 dst 10.0.0.1/32`)
	transportV6 := gwtest.SAText(
		`src fd00::1 dst fd00::2 proto esp spi 0x3001 mode transport aead 'rfc4106(gcm(aes))' `+keyAB+` 128`,
		`src fd00::2 dst fd00::1 proto esp spi 0x3002 mode transport aead 'rfc4106(gcm(aes))' `+keyBA+` 96`)
	for _, c := range []struct {
		name     string
		sas      string
		ipv6     bool
		lanes    int
		offloads bool
	}{
		{"transport-v4", transportV4, false, 1, false},
		// Two lanes, two pairs of hosts: 10.0.0.1-10.0.0.2 on lane 0 and 10.0.0.1-10.0.0.12
		// (a second address of B) on lane 1 (fastpath.QueueOf), each pair's packets steered
		// to its lane by the fanout programs.
		{"transport-v4-2lanes", gwtest.SAText(
			`src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x1101 mode transport aead 'rfc4106(gcm(aes))' `+keyAB+` 128`,
			`src 10.0.0.2 dst 10.0.0.1 proto esp spi 0x1102 mode transport aead 'rfc4106(gcm(aes))' `+keyBA+` 128`,
			`src 10.0.0.1 dst 10.0.0.12 proto esp spi 0x1103 mode transport aead 'rfc4106(gcm(aes))' `+keyAB+` 128`,
			`src 10.0.0.12 dst 10.0.0.1 proto esp spi 0x1104 mode transport aead 'rfc4106(gcm(aes))' `+keyBA+` 128`), false, 2, false},
		{"tunnel-v4", tunnelV4, false, 1, false},
		{"transport-v6", transportV6, true, 1, false},
		{"natt-v4", gwtest.SAText(
			`src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x4001 mode transport aead 'rfc4106(gcm(aes))' `+keyAB+` 128 encap espinudp 4500 4500 0.0.0.0`,
			`src 10.0.0.2 dst 10.0.0.1 proto esp spi 0x4002 mode transport aead 'rfc4106(gcm(aes))' `+keyBA+` 128 encap espinudp 4500 4500 0.0.0.0`), false, 1, false},
		{"transport-v4-offloads", transportV4, false, 1, true},
		{"tunnel-v4-offloads", tunnelV4, false, 1, true},
		{"transport-v6-offloads", transportV6, true, 1, true},
		{"natt-v4-offloads", gwtest.SAText(
			`src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x4101 mode transport aead 'rfc4106(gcm(aes))' `+keyAB+` 128 encap espinudp 4500 4500 0.0.0.0`,
			`src 10.0.0.2 dst 10.0.0.1 proto esp spi 0x4102 mode transport aead 'rfc4106(gcm(aes))' `+keyBA+` 128 encap espinudp 4500 4500 0.0.0.0`), false, 1, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			tp := gwtest.New(t, gwtest.Opts{IPv6: c.ipv6, Offloads: c.offloads})
			if !c.offloads {
				// The kernel then cuts g2's aggregates before its inside link, as a NIC
				// without TSO would have it do.
				gwtest.OffloadsOff(t, tp.N, "g2", "in")
			}
			sas := gwtest.ParseSAs(t, c.sas)
			g1 := tp.StartGateway(t, "g1", sas, c.lanes)
			g2 := tp.StartGateway(t, "g2", sas, c.lanes)
			capt := tp.StartCapture(t, "g2", "out")
			atB := tp.StartCapture(t, "b", "eth0")
			a, b := tp.A, tp.B
			if c.ipv6 {
				a, b = tp.A6, tp.B6
			}
			b2 := netip.MustParseAddr("10.0.0.12")
			if c.lanes == 2 {
				tp.N.Run(t, "b", "ip", "addr", "add", b2.String()+"/24", "dev", "eth0")
			}
			tp.Ping(t, "a", b, 5)
			took := tp.Transfer(t, b, 5001, 4<<20)
			if c.lanes == 2 {
				tp.Ping(t, "a", b2, 5)
				tp.Transfer(t, b2, 5001, 4<<20)
			}
			// The gateways stop first (everything they sealed is sent), then the capture
			// drains: a frame sealed after the capture stopped would count as missing.
			r1, r2 := g1.Stop(t), g2.Stop(t)
			frames := capt.Finish(t)
			checkReport(t, "g1", r1)
			checkReport(t, "g2", r2)
			// g2 hands the kernel A's consecutive segments as aggregates, which it cuts
			// back: with its inside link's offloads off B gets no frame over the MTU.
			if r2.Decrypt.Coalesced.Packets == 0 || r2.Decrypt.Aggregates == 0 {
				t.Errorf("g2 coalesced %d packets into %d aggregates: want A's segments coalesced", r2.Decrypt.Coalesced.Packets, r2.Decrypt.Aggregates)
			}
			for i, f := range atB.Finish(t) {
				if len(f) > 1514 && !c.offloads {
					t.Fatalf("frame %d at B: %d bytes, longer than the 1500-byte MTU allows (g2's inside offloads are off)", i, len(f))
				}
			}
			bySPI := gwtest.CheckWire(t, frames, sas, a, b, b2)
			if c.offloads {
				if e := r1.Encrypt; e.Segmented.Packets == 0 || e.Segments <= e.Segmented.Packets {
					t.Errorf("offloads on: g1 cut %d aggregates into %d segments; want A's TCP aggregates cut", e.Segmented.Packets, e.Segments)
				}
				for i, f := range frames {
					if len(f) > 1514 {
						t.Fatalf("frame %d on the wire: %d bytes, longer than the 1500-byte MTU allows", i, len(f))
					}
				}
			} else if r1.Encrypt.Segmented.Packets != 0 {
				t.Errorf("offloads off: g1 cut %d aggregates", r1.Encrypt.Segmented.Packets)
			}
			if c.lanes == 2 {
				lanes := map[int]bool{}
				for _, s := range r1.PerSA {
					if s.Packets > 0 {
						lanes[s.Lane] = true
					}
				}
				if len(lanes) != 2 {
					t.Errorf("traffic on lanes %v, want both", lanes)
				}
			}
			// Every ESP packet on the wire was sealed by one of the gateways, and every
			// packet they sealed is on the wire.
			sealed := map[uint32]uint64{}
			for _, r := range []*gateway.Report{r1, r2} {
				for _, s := range r.PerSA {
					if s.Dir == "out" {
						sealed[s.SPI] += s.Packets
					}
				}
			}
			for spi, n := range bySPI {
				if uint64(n) != sealed[spi] {
					t.Errorf("SPI 0x%08x: %d ESP packets on the wire, the gateways sealed %d", spi, n, sealed[spi])
				}
			}
			if r1.Encrypt.Out.Packets+r2.Encrypt.Out.Packets != uint64(len(frames)-countNonESP(frames)) {
				t.Logf("frames on the wire: %d (ESP %v)", len(frames), bySPI)
			}
			t.Logf("4 MB from A to B in %v; g1 sealed %d, opened %d, bridged %d/%d; ESP on the wire by SPI %v",
				took, r1.Encrypt.Out.Packets, r1.Decrypt.Out.Packets, r1.Encrypt.Bridged.Packets, r1.Decrypt.Bridged.Packets, bySPI)
		})
	}
}

// offloadedPair starts two gateways (in this process) in a topology whose hosts keep their
// segmentation offloads on, with a transport SA pair between 10.0.0.1 and peer (SPIs spi
// and spi+1).
func offloadedPair(t *testing.T, peer string, spi uint32) (*gwtest.Topo, *gwtest.Running, *gwtest.Running) {
	t.Helper()
	tp := gwtest.New(t, gwtest.Opts{Offloads: true})
	sas := gwtest.ParseSAs(t, gwtest.SAText(
		fmt.Sprintf(`src 10.0.0.1 dst %s proto esp spi %#x mode transport aead 'rfc4106(gcm(aes))' %s 128`, peer, spi, keyAB),
		fmt.Sprintf(`src %s dst 10.0.0.1 proto esp spi %#x mode transport aead 'rfc4106(gcm(aes))' %s 128`, peer, spi+1, keyBA)))
	return tp, tp.StartGateway(t, "g1", sas, 1), tp.StartGateway(t, "g2", sas, 1)
}

// countNonESP counts the frames ESPOnWire does not return as ESP.
func countNonESP(frames [][]byte) int {
	esp, _ := gwtest.ESPOnWire(frames)
	return len(frames) - len(esp)
}

// TCP for no SA through the gateways with A's and B's segmentation offloads on: A's
// aggregates (up to 64 KB, longer than every MTU on the way) are bridged as they are, for
// the kernel to cut on the way out of each gateway. 4 MB arrive intact, nothing is
// dropped, and the reports balance and count the aggregates bridged.
func TestBridgeAggregates(t *testing.T) {
	tp, g1, g2 := offloadedPair(t, "10.0.0.99", 0x5001)
	capt := tp.StartCapture(t, "g2", "out")
	tp.Transfer(t, tp.B, 5002, 4<<20)
	r1, r2 := g1.Stop(t), g2.Stop(t)
	frames := capt.Finish(t)
	for _, x := range []struct {
		name string
		r    *gateway.Report
	}{{"g1", r1}, {"g2", r2}} {
		if !x.r.Balanced || len(x.r.Drops) != 0 || x.r.Encrypt.In.Packets != 0 {
			var b strings.Builder
			x.r.Print(&b)
			t.Errorf("%s: balanced %v, drops %v, %d to the NIC; want balanced, none, 0:\n%s", x.name, x.r.Balanced, x.r.Drops, x.r.Encrypt.In.Packets, b.String())
		}
	}
	if a := r1.Encrypt.BridgedAggregates; a.Packets == 0 || a.Bytes <= a.Packets*1514 {
		t.Errorf("g1 bridged %d TCP aggregates (%d bytes); want A's aggregates, each longer than a frame", a.Packets, a.Bytes)
	}
	big := 0
	for _, f := range frames {
		if len(f) > 1514 {
			big++
		}
	}
	t.Logf("g1 bridged %d aggregates (%d bytes) of %d frames; %d frames on the link between the gateways, %d longer than 1514 bytes (aggregates a veth carries whole)",
		r1.Encrypt.BridgedAggregates.Packets, r1.Encrypt.BridgedAggregates.Bytes, r1.Encrypt.Received.Packets, len(frames), big)
}

// udpGSOSend is a Python program that sends, from src to 10.0.0.2:9999, count UDP
// aggregates (UDP_SEGMENT) of 10 datagrams of size bytes each, datagram i holding i in
// its first 4 bytes and then bytes i, i+1, ...
const udpGSOSend = `
import socket, struct, sys
src, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 0))
s.setsockopt(17, 103, size)  # UDP_SEGMENT
i = 0
for _ in range(count):
    buf = b""
    for _ in range(10):
        buf += struct.pack(">I", i) + bytes((i + k) & 0xff for k in range(size - 4))
        i += 1
    s.sendto(buf, ("10.0.0.2", 9999))
`

// udpGSORecv is a Python program that receives datagrams on 10.0.0.2:9999 until want of
// them came (or 10 s pass) and prints how many it got and how many were not as sent.
const udpGSORecv = `
import socket, struct, sys
want, size = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, 33, 16 << 20)  # SO_RCVBUFFORCE (root): a burst of 400 datagrams waits whole
s.bind(("10.0.0.2", 9999))
s.settimeout(10)
got = []
print("ready", flush=True)
try:
    while len(got) < want:
        got.append(s.recv(65536))
except socket.timeout:
    pass
bad = 0
for d in got:
    i = struct.unpack(">I", d[:4])[0]
    if len(d) != size or d[4:] != bytes((i + k) & 0xff for k in range(size - 4)):
        bad += 1
print(len(got), bad)
`

// UDP aggregates (UDP_SEGMENT, as QUIC stacks send) from A with its offloads on: for an SA
// g1 cuts each into its datagrams and seals them; for no SA the gateways bridge them for
// the kernel to cut. B receives every datagram, as sent, and the reports balance with
// nothing dropped and the aggregates counted.
func TestUDPAggregates(t *testing.T) {
	for _, c := range []struct {
		name, src string
		sa        bool
	}{{"sa", "10.0.0.1", true}, {"no-sa", "10.0.0.5", false}} {
		t.Run(c.name, func(t *testing.T) {
			tp, g1, g2 := offloadedPair(t, "10.0.0.2", 0x5101)
			tp.N.Run(t, "a", "ip", "addr", "add", "10.0.0.5/24", "dev", "eth0")
			const count, size = 40, 1000
			recv := tp.N.Cmd("b", "/usr/bin/python3", "-c", udpGSORecv, fmt.Sprint(count*10), fmt.Sprint(size))
			out, err := recv.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := recv.Start(); err != nil {
				t.Fatal(err)
			}
			lines := bufio.NewScanner(out)
			if !lines.Scan() || lines.Text() != "ready" {
				t.Fatalf("receiver: %q", lines.Text())
			}
			tp.N.Run(t, "a", "/usr/bin/python3", "-c", udpGSOSend, c.src, fmt.Sprint(count), fmt.Sprint(size))
			if !lines.Scan() {
				t.Fatal("receiver said nothing")
			}
			res := lines.Text()
			recv.Wait()
			r1, r2 := g1.Stop(t), g2.Stop(t)
			if res != fmt.Sprintf("%d 0", count*10) {
				t.Errorf("B received (datagrams, not as sent) %s, want %d 0", res, count*10)
			}
			for _, x := range []struct {
				name string
				r    *gateway.Report
			}{{"g1", r1}, {"g2", r2}} {
				if !x.r.Balanced || len(x.r.Drops) != 0 {
					var b strings.Builder
					x.r.Print(&b)
					t.Errorf("%s: balanced %v, drops %v:\n%s", x.name, x.r.Balanced, x.r.Drops, b.String())
				}
			}
			e := r1.Encrypt
			if c.sa && (e.UDPSplit.Packets != count || e.Datagrams != count*10) {
				t.Errorf("g1 cut %d UDP aggregates into %d datagrams, want %d into %d", e.UDPSplit.Packets, e.Datagrams, count, count*10)
			}
			if !c.sa && e.BridgedAggregates.Packets != count {
				t.Errorf("g1 bridged %d aggregates, want %d", e.BridgedAggregates.Packets, count)
			}
		})
	}
}
