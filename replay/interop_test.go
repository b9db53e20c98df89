package replay

import (
	"bytes"
	"context"
	"fmt"
	"net"
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
func interopSAs(t testing.TB) []xfrm.State {
	text := strings.ReplaceAll(DemoSAs, "0xffffd8f0", "0xffffff9c")
	sas, err := xfrm.Parse("interop.sa", strings.NewReader(text))
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
	sas := interopSAs(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "ov2-esp.pcap")
	w, err := pcap.Create(out, pcap.LinkTypeEthernet, 65535)
	if err != nil {
		t.Fatal(err)
	}
	const loops = 2
	rep, err := Run(context.Background(), BytesInput("sample", SampleCapture),
		Config{SAs: sas, NIC: nic.DefaultConfig(), Lanes: 2, Loops: loops, Output: PcapOutput{W: w}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if rep.Encrypt.Out.Packets != loops*sampleSA || rep.Updates != 1 {
		t.Fatalf("encrypted %d packets, %d UPDATE_SA; want %d and 1", rep.Encrypt.Out.Packets, rep.Updates, loops*sampleSA)
	}
	perSPI := map[uint32]int{0x1001: 84, 0x2001: 80, 0x3001: 83, 0x4001: 80, 0x5001: 83}
	var all, gcm []interop.SA
	for i := range sas {
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
	tsharkWant := map[uint32]int{0x3001: 83, 0x4001: 80, 0x5001: 83}
	check("tshark", interop.VerifyTshark(t, out, gcm), tsharkWant)
	check("scapy", interop.VerifyScapy(t, out, all), perSPI)
	check("python-cryptography", interop.VerifyPyca(t, out, all), perSPI)
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
