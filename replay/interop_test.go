package replay

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/host"
	"github.com/ov2dev/ov2/internal/interop"
	"github.com/ov2dev/ov2/nic"
	"github.com/ov2dev/ov2/pcap"
	"github.com/ov2dev/ov2/xfrm"
)

func ciOf(ts time.Time, n int) gopacket.CaptureInfo {
	return gopacket.CaptureInfo{Timestamp: ts, CaptureLength: n, Length: n}
}

func mustIP(s string) net.IP {
	ip := net.ParseIP(s)
	if ip == nil {
		panic(s)
	}
	return ip
}

// interopSA describes a parsed SA to the outside verifiers; first is the first sequence
// number of the stream the verifier will see.
func interopSA(s *xfrm.State, first uint64) interop.SA {
	a := interop.SA{SPI: s.SPI, Key: s.Key, Salt: s.Salt[:], GMAC: s.Alg == esp.AESGMAC, ICVLen: s.ICVLen,
		ESN: s.ESN, SeqHi: uint32(first >> 32), Tunnel: s.Mode == host.Tunnel, Src: s.Src, Dst: s.Dst}
	if s.Encap != nil {
		a.NATT, a.SPort, a.DPort = true, s.Encap.SPort, s.Encap.DPort
	}
	return a
}

// interopSAs are the SAs of the interop tests: the demo's, except that the ESN SA starts 100
// below 2^32 so that two passes over the sample cross into the high half.
func interopSAs(t testing.TB) *xfrm.Config {
	text := strings.ReplaceAll(DemoSAs, "0xffffd8f0", "0xffffff9c")
	sas, err := xfrm.ParseConfig("interop.sa", strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return sas
}

// A capture ov2 encrypted decrypts 100% with tshark (the SAs without ESN and AES-GCM:
// tshark 4.0 checks neither ESN nor GMAC) and with scapy and python-cryptography (all SAs,
// ESN across 2^32 included).
func TestInteropOvEncryptsPeersDecrypt(t *testing.T) {
	interop.Require(t, interop.ToolTshark, interop.ToolScapy, interop.ToolCryptography)
	cfg := interopSAs(t)
	sas := cfg.States
	dir := t.TempDir()
	out := filepath.Join(dir, "ov2-esp.pcap")
	w, err := pcap.Create(out, pcap.LinkTypeEthernet, 65535)
	if err != nil {
		t.Fatal(err)
	}
	const loops = 2
	rep, err := Run(context.Background(), BytesInput("sample", SampleCapture),
		Config{SAs: sas, Bundles: cfg.Bundles, NIC: nic.DefaultConfig(), Lanes: 2, Loops: loops, Output: PcapOutput{W: w}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if rep.Encrypt.Out.Packets != loops*sampleSA || rep.Updates != 1 {
		t.Fatalf("encrypted %d packets, %d UPDATE_SA; want %d and 1", rep.Encrypt.Out.Packets, rep.Updates, loops*sampleSA)
	}
	perSPI := map[uint32]int{0x1001: 55, 0x2001: 55, 0x3001: 55, 0x4001: 55, 0x5001: 54}
	var all, gcm []interop.SA
	for i := range sas {
		if _, bundled := cfg.BundleOf(i); bundled || sas[i].Alg == 0 {
			continue // the other suites: below
		}
		first := sas[i].OSeq + 1
		all = append(all, interopSA(&sas[i], first))
		if !sas[i].ESN && sas[i].Alg == esp.AESGCM {
			gcm = append(gcm, interopSA(&sas[i], first))
		}
	}
	check := func(name string, res []interop.Result, want map[uint32]int) {
		t.Helper()
		got := map[uint32]int{}
		for _, r := range res {
			if _, ours := want[r.SPI]; !ours { // ARP, clear traffic, SAs this peer cannot check
				continue
			}
			if !r.OK {
				t.Errorf("%s: packet %d (SPI 0x%08x seq %#x): %s", name, r.Index, r.SPI, r.Seq, r.Reason)
				continue
			}
			got[r.SPI]++
		}
		for spi, n := range want {
			if got[spi] != n*loops {
				t.Errorf("%s: SPI 0x%08x: %d packets OK, want %d", name, spi, got[spi], n*loops)
			}
		}
	}
	tsharkWant := map[uint32]int{0x3001: 55, 0x4001: 55, 0x5001: 54}
	check("tshark", interop.VerifyTshark(t, out, gcm), tsharkWant)
	check("scapy", interop.VerifyScapy(t, out, all), perSPI)
	check("python-cryptography", interop.VerifyPyca(t, out, all), perSPI)

	// The demo's other suites: AES-CBC + HMAC-SHA-256-128 (0x6001) and AH HMAC-SHA1-96
	// (0x7001) through scapy's SecurityAssociation, and the ESP+AH bundle (AH 0x8002 over ESP
	// 0x8001) through bundle_scapy.py; each packet's decapsulated bytes are what the
	// sample's packet carried after its IP header.
	byDst := map[string][][]byte{}
	for _, p := range samplePackets(t) {
		byDst[p.dst] = append(byDst[p.dst], p.payload)
	}
	suiteSA := func(spi uint32) interop.SuiteSA {
		for i := range sas {
			if sas[i].SPI == spi {
				return suitePeer(&sas[i])
			}
		}
		t.Fatalf("no SA 0x%08x in the demo", spi)
		return interop.SuiteSA{}
	}
	checkSuite := func(name, dst string, spi uint32, res []interop.Result) {
		t.Helper()
		var inner [][]byte
		for _, r := range res {
			if r.SPI != spi {
				continue
			}
			if !r.OK {
				t.Errorf("%s: packet %d (seq %#x): %s", name, r.Index, r.Seq, r.Reason)
				continue
			}
			inner = append(inner, r.Inner)
		}
		want := byDst[dst]
		if len(inner) != loops*len(want) {
			t.Fatalf("%s: %d packets verified, want %d", name, len(inner), loops*len(want))
		}
		for k, got := range inner {
			if !bytes.Equal(got, want[k%len(want)]) {
				t.Fatalf("%s: packet %d decapsulates to\n% x\nwant\n% x", name, k, got, want[k%len(want)])
			}
		}
	}
	res := interop.VerifySuitesScapy(t, out, []interop.SuiteSA{suiteSA(0x6001), suiteSA(0x7001)})
	checkSuite("scapy AES-CBC", "198.51.100.5", 0x6001, res)
	checkSuite("scapy AH", "198.51.100.6", 0x7001, res)
	bres := interop.VerifyBundleScapy(t, out, interop.BundleSA{ESP: suiteSA(0x8001), AH: suiteSA(0x8002)})
	checkSuite("scapy ESP+AH", "198.51.100.7", 0x8001, bres) // the ESP SPI, once AH checked
}

// suitePeer is an SA of the suites beyond AES-GCM as suites_scapy.py takes it (no ESN).
func suitePeer(s *xfrm.State) interop.SuiteSA {
	a := interop.SuiteSA{Proto: s.Proto.String(), SPI: s.SPI, Dst: s.Dst, AuthKey: s.AuthKey}
	switch s.Auth {
	case xfrm.AuthSHA1:
		a.Auth = "hmac-sha1-96"
	case xfrm.AuthSHA256:
		a.Auth = "hmac-sha256-128"
	}
	switch {
	case s.Enc == xfrm.EncAESCBC:
		a.Enc, a.EncKey = "aes-cbc", s.EncKey
	case s.Enc == xfrm.EncNull:
		a.Enc = "null"
	}
	return a
}

// samplePacket is one IPv4 packet of the sample capture: its destination and what follows
// its IP header.
type samplePacket struct {
	dst     string
	payload []byte
}

func samplePackets(t testing.TB) []samplePacket {
	path := filepath.Join(t.TempDir(), "sample.pcap")
	if err := os.WriteFile(path, SampleCapture, 0o644); err != nil {
		t.Fatal(err)
	}
	frames, err := interop.ReadPcap(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []samplePacket
	for _, ip := range frames { // IP packets (ReadPcap takes the Ethernet header off)
		if len(ip) < 20 || ip[0]>>4 != 4 {
			continue // IPv6, ARP
		}
		hl := int(ip[0]&15) * 4
		out = append(out, samplePacket{dst: net.IP(ip[16:20]).String(), payload: ip[hl:]})
	}
	return out
}

// ESP made by scapy decrypts 100% with ov2, and what the host delivers equals scapy's
// plaintext byte for byte.
func TestInteropPeerEncryptsOvDecrypts(t *testing.T) {
	interop.Require(t, interop.ToolScapy, interop.ToolCryptography)
	dir := t.TempDir()
	cases := []struct {
		name, sa string
		src, dst string // of the plain packets
		first    uint64
	}{
		{"GCM-128 transport ESN across 2^32",
			"src 192.0.2.1 dst 198.51.100.2 proto esp spi 0x6001 mode transport aead 'rfc4106(gcm(aes))' 0x0102030405060708090a0b0c0d0e0f10cafebabe 128 flag esn replay-seq 0xffffffc3 dir in",
			"192.0.2.1", "198.51.100.2", 1<<32 - 60},
		{"GMAC tunnel",
			"src 192.0.2.1 dst 203.0.113.9 proto esp spi 0x6002 mode tunnel aead 'rfc4543(gcm(aes))' 0x1112131415161718191a1b1c1d1e1f20deadbeef 128 sel src 10.1.0.0/16 dst 10.2.0.0/16 dir in",
			"10.1.0.5", "10.2.0.7", 1},
		{"GCM-256 IPv6 transport",
			"src 2001:db8::1 dst 2001:db8:1::2 proto esp spi 0x6003 mode transport aead 'rfc4106(gcm(aes))' 0x2122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f4001020304 128 dir in",
			"2001:db8::1", "2001:db8:1::2", 1},
		{"GCM-128 NAT-T",
			"src 192.0.2.1 dst 198.51.100.4 proto esp spi 0x6004 mode transport aead 'rfc4106(gcm(aes))' 0x5152535455565758595a5b5c5d5e5f6001020304 128 encap espinudp 4500 4500 0.0.0.0 dir in",
			"192.0.2.1", "198.51.100.4", 1},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sas, err := xfrm.Parse("case.sa", strings.NewReader(c.sa))
			if err != nil {
				t.Fatal(err)
			}
			plain := plainPackets(t, c.src, c.dst, 120)
			plainPath := filepath.Join(dir, fmt.Sprintf("plain%d.pcap", i))
			espPath := filepath.Join(dir, fmt.Sprintf("esp%d.pcap", i))
			if err := interop.WritePcap(plainPath, plain); err != nil {
				t.Fatal(err)
			}
			interop.EncryptScapy(t, plainPath, espPath, interopSA(&sas[0], c.first), c.first)
			rec := &recorder{}
			rep, err := Run(context.Background(), FileInput(espPath),
				Config{SAs: sas, NIC: nic.DefaultConfig(), Lanes: 2, Output: rec})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Decrypt.Out.Packets != 120 || len(rep.Drops) != 0 || !rep.Balanced || rep.CryptoStatus["CRYPTO_SUCCESS"] != 120 {
				t.Fatalf("decrypted %d of 120; drops %v; CryptoStatus %v", rep.Decrypt.Out.Packets, rep.Drops, rep.CryptoStatus)
			}
			if len(rec.frames) != len(plain) {
				t.Fatalf("%d frames out, want %d", len(rec.frames), len(plain))
			}
			for k := range plain { // one SA: one lane, so the order is the capture's
				if !bytes.Equal(rec.frames[k], plain[k]) {
					t.Fatalf("packet %d differs from scapy's plaintext:\n got % x\nwant % x", k, rec.frames[k], plain[k])
				}
			}
			if c.first > 1<<32-120 && rep.Updates != 1 {
				t.Errorf("%d UPDATE_SA, want 1", rep.Updates)
			}
		})
	}
}

// plainPackets are n raw IP UDP packets of several sizes from src to dst.
func plainPackets(t testing.TB, src, dst string, n int) [][]byte {
	var out [][]byte
	s, d := mustIP(src), mustIP(dst)
	for i := 0; i < n; i++ {
		var ipl gopacket.SerializableLayer
		u := &layers.UDP{SrcPort: layers.UDPPort(30000 + i), DstPort: 7}
		if s.To4() != nil {
			ip := &layers.IPv4{Version: 4, TTL: 64, Id: uint16(i), Protocol: layers.IPProtocolUDP, SrcIP: s.To4(), DstIP: d.To4()}
			u.SetNetworkLayerForChecksum(ip)
			ipl = ip
		} else {
			ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolUDP, SrcIP: s, DstIP: d}
			u.SetNetworkLayerForChecksum(ip)
			ipl = ip
		}
		payload := bytes.Repeat([]byte{byte(i)}, []int{10, 100, 500, 1300}[i%4])
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
			ipl, u, gopacket.Payload(payload)); err != nil {
			t.Fatal(err)
		}
		out = append(out, bytes.Clone(buf.Bytes()))
	}
	return out
}
