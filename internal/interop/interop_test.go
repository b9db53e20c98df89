package interop

import (
	"bytes"
	"fmt"
	"net/netip"
	"path/filepath"
	"testing"
)

var (
	key128 = payloadBytes(16, 0x10)
	key256 = payloadBytes(32, 0x40)
	salt   = []byte{0xca, 0xfe, 0xba, 0xbe}

	v4a = netip.MustParseAddr("192.0.2.1")
	v4b = netip.MustParseAddr("192.0.2.2")
	v6a = netip.MustParseAddr("2001:db8::1")
	v6b = netip.MustParseAddr("2001:db8::2")
)

// scenario is a capture of ESP packets made with the esp package, the SAs that made them,
// and the exact Result each packet must get from VerifyPyca and VerifyScapy.
type scenario struct {
	name   string
	sas    []SA
	pkts   [][]byte
	want   []Result
	tshark bool // AES-GCM without ESN: tshark 4.0 can check it
}

// add seals inner with z at seq (IV = seq), wraps it and records the expected Result.
func (sc *scenario) add(t *testing.T, z *sealer, seq uint64, inner []byte, nh byte) {
	t.Helper()
	sc.addIV(t, z, seq, seq, inner, nh, "")
}

func (sc *scenario) addIV(t *testing.T, z *sealer, seq, iv uint64, inner []byte, nh byte, reason string) {
	t.Helper()
	sc.want = append(sc.want, Result{
		Index: len(sc.pkts), SPI: z.sa.SPI, Seq: seq, OK: true, Reason: reason,
		NextHeader: int(nh), PadLen: (4 - (len(inner)+2)%4) % 4, Inner: inner, IVIsSeq: iv == seq,
	})
	sc.pkts = append(sc.pkts, z.outer(z.seal(t, seq, iv, inner, nh), uint16(len(sc.pkts))))
}

// addNotESP records a packet that every verifier must skip.
func (sc *scenario) addNotESP(pkt []byte) {
	sc.want = append(sc.want, Result{Index: len(sc.pkts), Skipped: true, Reason: "not ESP"})
	sc.pkts = append(sc.pkts, pkt)
}

// scenarios builds the four captures the task names, plus ICV 8 and 12 on IPv4 transport.
func scenarios(t *testing.T) []*scenario {
	t.Helper()
	var all []*scenario

	// IPv4 transport, AES-GCM-128 with ICV 16, 8 and 12; UDP payloads of several sizes so
	// that the pad length takes several values.
	sc := &scenario{name: "ipv4-transport-gcm128", tshark: true}
	for i, icv := range []int{16, 8, 12} {
		sa := SA{SPI: 0x1000 + uint32(icv), Key: key128, Salt: salt, ICVLen: icv, Src: v4a, Dst: v4b}
		sc.sas = append(sc.sas, sa)
		z := newSealer(t, sa)
		for j, n := range []int{0, 13, 102} {
			if i > 0 && j > 0 {
				break
			}
			sc.add(t, z, uint64(j+1), udp(1000, 2000+uint16(j), payloadBytes(n, byte(j))), protoUDP)
		}
	}
	all = append(all, sc)

	// IPv6 tunnel, AES-GCM-256: two inner IPv6 packets and one inner IPv4 packet.
	sc = &scenario{name: "ipv6-tunnel-gcm256", tshark: true}
	sa := SA{SPI: 0x2001, Key: key256, Salt: salt, Tunnel: true, Src: v6a, Dst: v6b}
	sc.sas = []SA{sa}
	z := newSealer(t, sa)
	in6a, in6b := netip.MustParseAddr("2001:db8:1::10"), netip.MustParseAddr("2001:db8:2::20")
	sc.add(t, z, 1, ipv6(in6a, in6b, protoUDP, udp6(in6a, in6b, 5000, 53, payloadBytes(30, 1))), protoIPv6)
	sc.add(t, z, 2, ipv6(in6a, in6b, protoUDP, udp6(in6a, in6b, 5001, 53, payloadBytes(1, 2))), protoIPv6)
	sc.add(t, z, 3, ipv4(netip.MustParseAddr("10.1.0.1"), netip.MustParseAddr("10.2.0.1"), protoUDP, 7,
		udp(6000, 7000, payloadBytes(45, 3))), protoIPv4)
	all = append(all, sc)

	// IPv4 NAT-T transport, AES-GMAC, with a NAT-keepalive and an IKE packet (non-ESP
	// marker) between the ESP packets.
	sc = &scenario{name: "ipv4-natt-transport-gmac"}
	natA, natB := netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("203.0.113.2")
	sa = SA{SPI: 0x3001, Key: key128, Salt: salt, GMAC: true, NATT: true, Src: natA, Dst: natB}
	sc.sas = []SA{sa}
	z = newSealer(t, sa)
	sc.add(t, z, 1, udp(1234, 80, payloadBytes(21, 4)), protoUDP)
	sc.addNotESP(ipv4(natA, natB, protoUDP, 100, udp(4500, 4500, []byte{0xff})))
	sc.addNotESP(ipv4(natA, natB, protoUDP, 101, udp(4500, 4500, append(make([]byte, 4), payloadBytes(28, 9)...))))
	sc.add(t, z, 2, udp(1234, 80, payloadBytes(200, 5)), protoUDP)
	all = append(all, sc)

	// An ESN AES-GCM stream of 10 packets from 2^32-5: the high half goes 0 -> 1 after the
	// fifth packet and only the low 32 bits are on the wire.
	sc = &scenario{name: "esn-gcm-stream"}
	sa = SA{SPI: 0x4001, Key: key128, Salt: salt, ESN: true, SeqHi: 0, Src: v4a, Dst: v4b}
	sc.sas = []SA{sa}
	z = newSealer(t, sa)
	for i := uint64(0); i < 10; i++ {
		sc.add(t, z, 1<<32-5+i, udp(4000, 4001, payloadBytes(int(i)*7, byte(i))), protoUDP)
	}
	all = append(all, sc)
	return all
}

// writeScenario writes sc's packets to a pcap in a temporary directory.
func writeScenario(t *testing.T, pkts [][]byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "esp.pcap")
	if err := WritePcap(p, pkts); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkResults compares got with want field by field and reports every difference.
func checkResults(t *testing.T, who string, got, want []Result) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d results, want %d: %+v", who, len(got), len(want), got)
		return
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Index != w.Index || g.SPI != w.SPI || g.Seq != w.Seq || g.OK != w.OK ||
			g.Skipped != w.Skipped || g.Reason != w.Reason || g.NextHeader != w.NextHeader ||
			g.PadLen != w.PadLen || !bytes.Equal(g.Inner, w.Inner) || g.IVIsSeq != w.IVIsSeq {
			t.Errorf("%s: packet %d:\n got %s\nwant %s", who, i, fmtResult(g), fmtResult(w))
		}
	}
}

func fmtResult(r Result) string {
	return fmt.Sprintf("{Index:%d SPI:%#x Seq:%#x OK:%v Skipped:%v Reason:%q NextHeader:%d PadLen:%d IVIsSeq:%v Inner:%x}",
		r.Index, r.SPI, r.Seq, r.OK, r.Skipped, r.Reason, r.NextHeader, r.PadLen, r.IVIsSeq, r.Inner)
}

// tsharkWant is what tshark reports for packets that pyca expects as want: no inner bytes.
func tsharkWant(want []Result) []Result {
	out := make([]Result, len(want))
	for i, w := range want {
		w.Inner = nil
		if !w.OK && !w.Skipped {
			w.NextHeader, w.PadLen = 0, 0
		}
		out[i] = w
	}
	return out
}

// TestVerifiersAcceptProjectESP has packets sealed by the esp package checked by the three
// outside verifiers: every packet must verify with its exact inner bytes, next header, pad
// length and 64-bit sequence number (SPEC §7; R-TX-4 IV = sequence number; R-RX-8 ESN).
func TestVerifiersAcceptProjectESP(t *testing.T) {
	Require(t, ToolCryptography, ToolScapy, ToolTshark)
	for _, sc := range scenarios(t) {
		t.Run(sc.name, func(t *testing.T) {
			p := writeScenario(t, sc.pkts)
			checkResults(t, "pyca", VerifyPyca(t, p, sc.sas), sc.want)
			checkResults(t, "scapy", VerifyScapy(t, p, sc.sas), sc.want)
			if sc.tshark {
				checkResults(t, "tshark", VerifyTshark(t, p, sc.sas), tsharkWant(sc.want))
			}
		})
	}
}

// TestVerifiersCatchTamperedICV flips one bit of one packet's ICV: exactly that packet fails,
// in every verifier that can check the SA, and the others still pass. In the ESN stream the
// failed packet is the first with high half 1, so the packets after it must still infer it.
func TestVerifiersCatchTamperedICV(t *testing.T) {
	Require(t, ToolCryptography, ToolScapy, ToolTshark)
	cases := map[string]int{
		"ipv4-transport-gcm128":    1,
		"ipv6-tunnel-gcm256":       2,
		"ipv4-natt-transport-gmac": 3,
		"esn-gcm-stream":           5,
	}
	for _, sc := range scenarios(t) {
		t.Run(sc.name, func(t *testing.T) {
			bad := cases[sc.name]
			pkts := make([][]byte, len(sc.pkts))
			for i, p := range sc.pkts {
				pkts[i] = bytes.Clone(p)
			}
			pkts[bad][len(pkts[bad])-3] ^= 0x10
			want := append([]Result(nil), sc.want...)
			w := &want[bad]
			w.OK, w.Reason, w.NextHeader, w.PadLen, w.Inner = false, "ICV mismatch", 0, 0, nil
			p := writeScenario(t, pkts)
			checkResults(t, "pyca", VerifyPyca(t, p, sc.sas), want)
			checkResults(t, "scapy", VerifyScapy(t, p, sc.sas), want)
			if sc.tshark {
				tw := tsharkWant(want)
				tw[bad].Reason = "ICV mismatch (esp.icv_bad)"
				checkResults(t, "tshark", VerifyTshark(t, p, sc.sas), tw)
			}
		})
	}
}

// TestVerifiersReportIVNotSeq seals a packet whose IV is not its sequence number: it still
// verifies, and every verifier says IVIsSeq false with the same note (R-TX-4).
func TestVerifiersReportIVNotSeq(t *testing.T) {
	Require(t, ToolCryptography, ToolScapy, ToolTshark)
	sa := SA{SPI: 0x5001, Key: key128, Salt: salt, Src: v4a, Dst: v4b}
	z := newSealer(t, sa)
	sc := &scenario{sas: []SA{sa}}
	sc.add(t, z, 7, udp(1, 2, payloadBytes(10, 0)), protoUDP)
	sc.addIV(t, z, 8, 0x0102030405060708, udp(1, 2, payloadBytes(11, 1)), protoUDP,
		"IV 0102030405060708 is not the sequence number 0000000000000008")
	p := writeScenario(t, sc.pkts)
	checkResults(t, "pyca", VerifyPyca(t, p, sc.sas), sc.want)
	checkResults(t, "scapy", VerifyScapy(t, p, sc.sas), sc.want)
	checkResults(t, "tshark", VerifyTshark(t, p, sc.sas), tsharkWant(sc.want))
}
