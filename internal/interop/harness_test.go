package interop

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// fakeTB records Skipf and Fatalf instead of stopping the goroutine, so that a test can see
// which one a helper called. Methods it does not override panic (the embedded TB is nil).
type fakeTB struct {
	testing.TB
	tmp     string
	skipped bool
	failed  bool
	msg     string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) TempDir() string { return f.tmp }

func (f *fakeTB) Skipf(format string, args ...any) {
	f.skipped, f.msg = true, fmt.Sprintf(format, args...)
}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed, f.msg = true, fmt.Sprintf(format, args...)
}

// TestRequire checks the policy: a missing tool skips with the Debian package to install,
// or fails when OV2_REQUIRE_INTEROP=1; present tools do neither.
func TestRequire(t *testing.T) {
	missing := func(name string) error {
		return fmt.Errorf("%s not usable; install it with: apt-get install -y python3-scapy", name)
	}
	present := func(string) error { return nil }

	t.Run("missing-skips", func(t *testing.T) {
		f := &fakeTB{}
		require(f, false, missing, ToolScapy)
		want := "interop: scapy not usable; install it with: apt-get install -y python3-scapy (set OV2_REQUIRE_INTEROP=1 to make this a failure)"
		if !f.skipped || f.failed || f.msg != want {
			t.Errorf("skipped %v failed %v msg %q; want a skip with %q", f.skipped, f.failed, f.msg, want)
		}
	})
	t.Run("missing-fails-when-required", func(t *testing.T) {
		f := &fakeTB{}
		require(f, true, missing, ToolScapy, ToolTshark)
		want := "interop: scapy not usable; install it with: apt-get install -y python3-scapy; " +
			"tshark not usable; install it with: apt-get install -y python3-scapy (OV2_REQUIRE_INTEROP=1 makes this a failure)"
		if f.skipped || !f.failed || f.msg != want {
			t.Errorf("skipped %v failed %v msg %q; want a failure with %q", f.skipped, f.failed, f.msg, want)
		}
	})
	t.Run("present", func(t *testing.T) {
		for _, mandatory := range []bool{false, true} {
			f := &fakeTB{}
			require(f, mandatory, present, ToolCryptography, ToolScapy, ToolTshark)
			if f.skipped || f.failed {
				t.Errorf("mandatory %v: skipped %v failed %v (%q)", mandatory, f.skipped, f.failed, f.msg)
			}
		}
	})
	t.Run("bogus-tool-skips", func(t *testing.T) {
		t.Setenv(RequireEnv, "")
		f := &fakeTB{}
		Require(f, "no-such-tool")
		want := `interop: unknown interop tool "no-such-tool" (known: python3-cryptography, scapy, tshark) (set OV2_REQUIRE_INTEROP=1 to make this a failure)`
		if !f.skipped || f.failed || f.msg != want {
			t.Errorf("skipped %v failed %v msg %q; want a skip with %q", f.skipped, f.failed, f.msg, want)
		}
	})
	t.Run("bogus-tool-fails-when-required", func(t *testing.T) {
		t.Setenv(RequireEnv, "1")
		f := &fakeTB{}
		Require(f, "no-such-tool")
		want := `interop: unknown interop tool "no-such-tool" (known: python3-cryptography, scapy, tshark) (OV2_REQUIRE_INTEROP=1 makes this a failure)`
		if f.skipped || !f.failed || f.msg != want {
			t.Errorf("skipped %v failed %v msg %q; want a failure with %q", f.skipped, f.failed, f.msg, want)
		}
	})
	t.Run("probe-names-the-package", func(t *testing.T) {
		lookup := newProber(map[string]tool{
			"test-absent": {pkg: "ov2-absent-package", argv: []string{"/nonexistent/ov2-probe"}},
			"test-broken": {pkg: "ov2-broken-package", argv: []string{python, "-c", "import ov2_no_such_module"}},
		})
		f := &fakeTB{}
		require(f, false, lookup, "test-absent")
		want := "interop: test-absent not usable (`/nonexistent/ov2-probe` failed: fork/exec /nonexistent/ov2-probe: " +
			"no such file or directory); install it with: apt-get install -y ov2-absent-package (set OV2_REQUIRE_INTEROP=1 to make this a failure)"
		if !f.skipped || f.failed || f.msg != want {
			t.Errorf("skipped %v failed %v msg %q; want a skip with %q", f.skipped, f.failed, f.msg, want)
		}
		if _, err := os.Stat(python); err != nil {
			return
		}
		f = &fakeTB{}
		require(f, true, lookup, "test-broken")
		want = "interop: test-broken not usable (`/usr/bin/python3 -c import ov2_no_such_module` failed: exit status 1: " +
			"ModuleNotFoundError: No module named 'ov2_no_such_module'); install it with: apt-get install -y ov2-broken-package " +
			"(OV2_REQUIRE_INTEROP=1 makes this a failure)"
		if f.skipped || !f.failed || f.msg != want {
			t.Errorf("skipped %v failed %v msg %q; want a failure with %q", f.skipped, f.failed, f.msg, want)
		}
	})
	t.Run("installed-here", func(t *testing.T) {
		// The tools this package's own tests need are installed on the machines that run
		// them; a real probe of each must pass.
		Require(t, ToolCryptography, ToolScapy, ToolTshark)
		for _, name := range []string{ToolCryptography, ToolScapy, ToolTshark} {
			if err := probe(name); err != nil {
				t.Errorf("probe(%q) = %v after Require passed", name, err)
			}
		}
	})
}

// TestVerifyTsharkRefusesESNAndGMAC: tshark 4.0 cannot check either, so asking it to is a
// misuse that fails the test (before tshark is even looked for).
func TestVerifyTsharkRefusesESNAndGMAC(t *testing.T) {
	cases := []struct {
		sa   SA
		want string
	}{
		{SA{SPI: 0x10, Key: key128, Salt: salt, ESN: true},
			"interop: VerifyTshark: SPI 0x00000010 has ESN=true GMAC=false; tshark 4.0 checks neither, use VerifyPyca or VerifyScapy"},
		{SA{SPI: 0x11, Key: key128, Salt: salt, GMAC: true},
			"interop: VerifyTshark: SPI 0x00000011 has ESN=false GMAC=true; tshark 4.0 checks neither, use VerifyPyca or VerifyScapy"},
		{SA{SPI: 0x12, Key: key128, Salt: salt, ICVLen: 10},
			"interop: VerifyTshark: SPI 0x00000012: ICV length 10, want 8, 12 or 16"},
	}
	for _, tc := range cases {
		f := &fakeTB{}
		ok := SA{SPI: 1, Key: key128, Salt: salt}
		if got := VerifyTshark(f, "unused.pcap", []SA{ok, tc.sa}); got != nil || !f.failed || f.skipped || f.msg != tc.want {
			t.Errorf("SPI %#x: results %v failed %v skipped %v msg %q; want a failure with %q",
				tc.sa.SPI, got, f.failed, f.skipped, f.msg, tc.want)
		}
	}
}

// TestTsharkRows checks the esp_sa UAT rows: one in the SA's family with its addresses, or
// a wildcard row per family for an SA without addresses.
func TestTsharkRows(t *testing.T) {
	k := "0x101112131415161718191a1b1c1d1e1fcafebabe"
	cases := []struct {
		sa   SA
		want []string
	}{
		{SA{SPI: 0x1001, Key: key128, Salt: salt, Src: v4a, Dst: v4b},
			[]string{`"IPv4","192.0.2.1","192.0.2.2","0x00001001","AES-GCM with 16 octet ICV [RFC4106]","` + k + `","NULL",""`}},
		{SA{SPI: 0x2, Key: key128, Salt: salt, ICVLen: 8, Dst: v6b},
			[]string{`"IPv6","*","2001:db8::2","0x00000002","AES-GCM with 8 octet ICV [RFC4106]","` + k + `","NULL",""`}},
		{SA{SPI: 0xdeadbeef, Key: key128, Salt: salt, ICVLen: 12},
			[]string{`"IPv4","*","*","0xdeadbeef","AES-GCM with 12 octet ICV [RFC4106]","` + k + `","NULL",""`,
				`"IPv6","*","*","0xdeadbeef","AES-GCM with 12 octet ICV [RFC4106]","` + k + `","NULL",""`}},
		{SA{SPI: 3, Key: key128, Salt: salt, Dst: netip.MustParseAddr("::ffff:192.0.2.9")},
			[]string{`"IPv4","*","192.0.2.9","0x00000003","AES-GCM with 16 octet ICV [RFC4106]","` + k + `","NULL",""`}},
	}
	for _, tc := range cases {
		if got := tsharkRows(tc.sa); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("SPI %#x:\n got %q\nwant %q", tc.sa.SPI, got, tc.want)
		}
	}
}

// TestParseTshark checks the reading of tshark's field lines, both boolean spellings, a
// frame without ESP, one with no verdict and one whose IV is not its sequence number.
func TestParseTshark(t *testing.T) {
	out := "0x00001001\t5\t1\t0\t2\t0x11\t0000000000000005\n" +
		"\t\t\t\t\t\t\n" +
		"0x00001001\t6\tFalse\tTrue\t\t\t0000000000000006\n" +
		"0x00002002\t7\t\t\t\t\t\n" +
		"0x00001001\t8\tTrue\tFalse\t0\t0x29\t00:00:00:00:00:00:00:09\n"
	got, err := parseTshark(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []Result{
		{Index: 0, SPI: 0x1001, Seq: 5, OK: true, NextHeader: 17, PadLen: 2, IVIsSeq: true},
		{Index: 1, Skipped: true, Reason: "not ESP"},
		{Index: 2, SPI: 0x1001, Seq: 6, Reason: "ICV mismatch (esp.icv_bad)", IVIsSeq: true},
		{Index: 3, SPI: 0x2002, Seq: 7, Reason: "no ICV verdict: no esp_sa row matched, or tshark could not decrypt"},
		{Index: 4, SPI: 0x1001, Seq: 8, OK: true, NextHeader: 41, Reason: "IV 0000000000000009 is not the sequence number 0000000000000008"},
	}
	checkResults(t, "parseTshark", got, want)
	if _, err := parseTshark("0x1\t1\n"); err == nil || err.Error() != `line 1 "0x1\t1": 2 fields, want 7` {
		t.Errorf("short line: err %v", err)
	}
}

// TestPcapRoundTrip writes raw IP packets and reads them back, reads an Ethernet capture
// without its link headers, and refuses other link types.
func TestPcapRoundTrip(t *testing.T) {
	dir := t.TempDir()
	pkts := plainPackets()
	raw := filepath.Join(dir, "raw.pcap")
	if err := WritePcap(raw, pkts); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	// pcap header: magic a1b2c3d4 (microseconds), version 2.4, snaplen 65535, link type 101.
	wantHdr := []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 101, 0, 0, 0}
	if !bytes.Equal(b[:24], wantHdr) {
		t.Errorf("pcap header % x, want % x", b[:24], wantHdr)
	}
	n := 24
	for _, p := range pkts {
		n += 16 + len(p)
	}
	if len(b) != n {
		t.Errorf("pcap is %d bytes, want %d", len(b), n)
	}
	got, err := ReadPcap(raw)
	if err != nil {
		t.Fatal(err)
	}
	checkPackets(t, "raw", got, pkts)

	eth := filepath.Join(dir, "eth.pcap")
	writeLinkType(t, eth, layers.LinkTypeEthernet, func(p []byte) []byte {
		h := make([]byte, 14, 14+len(p))
		h[12], h[13] = 0x08, 0x00
		if p[0]>>4 == 6 {
			h[12], h[13] = 0x86, 0xdd
		}
		return append(h, p...)
	}, pkts)
	got, err = ReadPcap(eth)
	if err != nil {
		t.Fatal(err)
	}
	checkPackets(t, "ethernet", got, pkts)

	sll := filepath.Join(dir, "sll.pcap")
	writeLinkType(t, sll, layers.LinkTypeLinuxSLL, func(p []byte) []byte { return p }, pkts)
	wantErr := "interop: " + sll + ": link type 113 (Linux SLL), want Raw (101) or Ethernet (1)"
	if _, err := ReadPcap(sll); err == nil || err.Error() != wantErr {
		t.Errorf("ReadPcap(SLL) error %v, want %q", err, wantErr)
	}
	if _, err := ReadPcap(filepath.Join(dir, "absent.pcap")); !os.IsNotExist(err) {
		t.Errorf("ReadPcap(absent) error %v, want not-exist", err)
	}
	if err := WritePcap(filepath.Join(dir, "big.pcap"), [][]byte{make([]byte, 65536)}); err == nil ||
		!strings.HasSuffix(err.Error(), "big.pcap: packet 0 is 65536 bytes, more than 65535") {
		t.Errorf("WritePcap(65536 bytes) error %v", err)
	}
}

func writeLinkType(t *testing.T, path string, lt layers.LinkType, frame func([]byte) []byte, pkts [][]byte) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, lt); err != nil {
		t.Fatal(err)
	}
	for _, p := range pkts {
		fr := frame(p)
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(1, 0), CaptureLength: len(fr), Length: len(fr)}
		if err := w.WritePacket(ci, fr); err != nil {
			t.Fatal(err)
		}
	}
}

func checkPackets(t *testing.T, who string, got, want [][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d packets, want %d", who, len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("%s: packet %d\n got %x\nwant %x", who, i, got[i], want[i])
		}
	}
}

// TestESNWrongStartFails: told the stream starts in high half 1 when it starts in 0, the
// verifiers must reject the packets before the wrap and accept those after it, which shows
// that the high half really is authenticated and inferred rather than ignored.
func TestESNWrongStartFails(t *testing.T) {
	Require(t, ToolCryptography, ToolScapy)
	var sc *scenario
	for _, s := range scenarios(t) {
		if s.name == "esn-gcm-stream" {
			sc = s
		}
	}
	sas := []SA{sc.sas[0]}
	sas[0].SeqHi = 1
	want := append([]Result(nil), sc.want...)
	for i := 0; i < 5; i++ {
		w := &want[i]
		w.Seq |= 1 << 32
		w.OK, w.Reason, w.NextHeader, w.PadLen, w.Inner, w.IVIsSeq = false, "ICV mismatch", 0, 0, nil, false
	}
	p := writeScenario(t, sc.pkts)
	checkResults(t, "pyca", VerifyPyca(t, p, sas), want)
	checkResults(t, "scapy", VerifyScapy(t, p, sas), want)
}

// TestESNReorderedAcrossWrap sends an AES-GMAC ESN stream out of order around 2^32: a late
// packet from high half 0 arriving after one from high half 1 exercises the second case of
// RFC 4303 Appendix A (the window straddles the wrap), and the stream must verify in full.
func TestESNReorderedAcrossWrap(t *testing.T) {
	Require(t, ToolCryptography, ToolScapy)
	sa := SA{SPI: 0x7001, Key: key128, Salt: salt, GMAC: true, ESN: true, Src: v4a, Dst: v4b}
	z := newSealer(t, sa)
	sc := &scenario{sas: []SA{sa}}
	for i, seq := range []uint64{1<<32 - 3, 1<<32 + 1, 1<<32 - 1, 1 << 32, 1<<32 - 2, 1<<32 + 2} {
		sc.add(t, z, seq, udp(9, 10, payloadBytes(i+3, byte(i))), protoUDP)
	}
	p := writeScenario(t, sc.pkts)
	checkResults(t, "pyca", VerifyPyca(t, p, sc.sas), sc.want)
	checkResults(t, "scapy", VerifyScapy(t, p, sc.sas), sc.want)
}

// TestPycaChecksFormat: packets whose ICV is right but whose format is not (padding not
// 1, 2, 3, ..., trailer off a 4-byte boundary, an inner packet whose length disagrees with
// the bytes carried) fail VerifyPyca with the reason. scapy checks none of these.
func TestPycaChecksFormat(t *testing.T) {
	Require(t, ToolCryptography)
	tun := SA{SPI: 0x8001, Key: key128, Salt: salt, Tunnel: true, Src: v4a, Dst: v4b}
	z := newSealer(t, tun)
	frame := func(seq uint64, payload, trailer []byte) []byte {
		pkt := make([]byte, 16, 16+len(payload)+len(trailer)+16)
		binary.BigEndian.PutUint32(pkt[0:], tun.SPI)
		binary.BigEndian.PutUint32(pkt[4:], uint32(seq))
		binary.BigEndian.PutUint64(pkt[8:], seq)
		pkt = append(append(pkt, payload...), trailer...)
		out, err := z.tr.Seal(z.s, pkt, 0)
		if err != nil {
			t.Fatal(err)
		}
		return z.outer(out, uint16(seq))
	}
	in := ipv4(netip.MustParseAddr("10.9.0.1"), netip.MustParseAddr("10.9.0.2"), protoUDP, 1, udp(1, 2, payloadBytes(4, 0)))
	long := bytes.Clone(in)
	binary.BigEndian.PutUint16(long[2:], uint16(len(in)+4)) // claims 4 bytes more than it has
	six := ipv6(v6a, v6b, protoUDP, udp6(v6a, v6b, 1, 2, payloadBytes(8, 1)))
	pkts := [][]byte{
		frame(1, in, []byte{1, 2, 2, protoIPv4}),                  // good
		frame(2, in, []byte{0, 0, 2, protoIPv4}),                  // padding 0, 0
		frame(3, in, []byte{0, protoIPv4}),                        // 32+2 bytes: 2 past the boundary
		frame(4, long, []byte{1, 2, 2, protoIPv4}),                // inner IPv4 length 4 too many
		frame(5, six, []byte{1, 2, 2, protoIPv4}),                 // IPv6 behind next header 4
		frame(6, six, []byte{1, 2, 2, 17}),                        // tunnel with next header UDP
		frame(7, six[:len(six)-1], []byte{1, 2, 3, 3, protoIPv6}), // IPv6 payload length 1 too many
	}
	r := func(i int, ok bool, reason string, nh int, pad int, inner []byte) Result {
		return Result{Index: i, SPI: tun.SPI, Seq: uint64(i + 1), OK: ok, Reason: reason,
			NextHeader: nh, PadLen: pad, Inner: inner, IVIsSeq: true}
	}
	want := []Result{
		r(0, true, "", protoIPv4, 2, in),
		r(1, false, "padding 0000 is not 1, 2, 3, ...", protoIPv4, 2, in),
		r(2, false, "payload and trailer end 2 bytes past a 4-byte boundary", protoIPv4, 0, in),
		r(3, false, fmt.Sprintf("tunnel: inner IPv4 total length %d, %d bytes carried", len(in)+4, len(in)), protoIPv4, 2, long),
		r(4, false, "tunnel: next header 4 but the inner packet is not IPv4", protoIPv4, 2, six),
		r(5, false, "tunnel: next header 17 is neither 4 (IPv4) nor 41 (IPv6)", 17, 2, six),
		r(6, false, fmt.Sprintf("tunnel: inner IPv6 payload length %d, %d bytes carried", len(six)-40, len(six)-41), protoIPv6, 3, six[:len(six)-1]),
	}
	p := writeScenario(t, pkts)
	checkResults(t, "pyca", VerifyPyca(t, p, []SA{tun}), want)
}
