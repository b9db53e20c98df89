package host_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/host"
	"github.com/ov2dev/ov2/internal/inet"
	"github.com/ov2dev/ov2/internal/interop"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/stage"
)

// Issue 11 acceptance, outside peer: scapy 2.5 (internal/interop/suites_scapy.py) verifies
// and decrypts what ov2 sends for AES-CBC and NULL with HMAC and for AH (HMAC, AES-GMAC),
// IPv4 and IPv6, transport and tunnel, with ESN across 2^32, and for tunnel + transport
// combined packets (one layer at a time); and ov2 delivers, byte for byte, what scapy
// protects in the same shapes. ESP+AH bundles are in interop_bundle_test.go.

// peerSA is an SA as suites_scapy.py takes it, for packets whose high half is hi.
func peerSA(c host.SAConfig, hi uint32) interop.SuiteSA {
	a := interop.SuiteSA{Proto: "esp", SPI: c.SPI, ESN: c.ESN, SeqHi: hi, Dst: c.Dst, AuthKey: c.AuthKey}
	switch c.Integrity {
	case esp.HMACSHA1_96:
		a.Auth = "hmac-sha1-96"
	case esp.HMACSHA256_128:
		a.Auth = "hmac-sha256-128"
	default:
		a.Auth, a.AuthKey = "gmac", append(append([]byte(nil), c.Key...), c.Salt[:]...)
	}
	switch {
	case c.Proto == host.AH:
		a.Proto = "ah"
	case c.Alg == esp.AESCBC:
		a.Enc, a.EncKey = "aes-cbc", c.Key
	default:
		a.Enc = "null"
	}
	return a
}

var interopSuites = []string{"cbc128-sha1", "cbc256-sha256", "null-sha1", "null-sha256", "ah-sha1", "ah-sha256", "ah-gmac128"}

// expectInner is what the peer must find after the outer IP header of ov2's packet for
// plain packet p: the whole packet (tunnel mode) or its payload (transport mode).
func expectInner(c host.SAConfig, p []byte) ([]byte, byte) {
	if c.Mode == host.Tunnel {
		if p[0]>>4 == 6 {
			return p, inet.ProtoIPv6
		}
		return p, inet.ProtoIPv4
	}
	h := ipInfoOf(p)
	return p[h.hdr:], h.proto
}

func ipInfoOf(f []byte) ipInfo {
	if f[0]>>4 == 6 {
		return ipInfo{40, f[6]}
	}
	return ipInfo{int(f[0]&15) * 4, f[9]}
}

// verifyScapy has scapy check frames of SA c whose first sequence number is first; it
// returns what scapy found after each frame's outer IP header.
func verifyScapy(t *testing.T, c host.SAConfig, frames [][]byte, first uint64) [][]byte {
	t.Helper()
	dir := t.TempDir()
	inner := make([][]byte, len(frames))
	// scapy infers no high half: one run per high half.
	byHi := map[uint32][]int{}
	for i := range frames {
		hi := uint32((first + uint64(i)) >> 32)
		byHi[hi] = append(byHi[hi], i)
	}
	for hi, idx := range byHi {
		var fs [][]byte
		for _, i := range idx {
			fs = append(fs, frames[i])
		}
		path := filepath.Join(dir, fmt.Sprintf("out-%d.pcap", hi))
		if err := interop.WritePcap(path, fs); err != nil {
			t.Fatal(err)
		}
		res := interop.VerifySuitesScapy(t, path, []interop.SuiteSA{peerSA(c, hi)})
		if len(res) != len(fs) {
			t.Fatalf("scapy: %d results for %d packets", len(res), len(fs))
		}
		for k, r := range res {
			if !r.OK {
				t.Fatalf("scapy: packet %d (high half %d): %s", idx[k], hi, r.Reason)
			}
			inner[idx[k]] = r.Inner
		}
	}
	return inner
}

func TestSuitesSendInteropScapy(t *testing.T) {
	interop.Require(t, interop.ToolCryptography, interop.ToolScapy)
	for _, name := range interopSuites {
		for _, v6 := range []bool{false, true} {
			for _, tunnel := range []bool{false, true} {
				for _, esn := range []bool{false, true} {
					if esn && (v6 || tunnel) {
						continue
					}
					t.Run(fmt.Sprintf("%s/v6=%v/tunnel=%v/esn=%v", name, v6, tunnel, esn), func(t *testing.T) {
						c := suiteCfg(name, 0x5000, v6, tunnel)
						if esn {
							c.ESN, c.StartSeq = true, 1<<32-4
						}
						l := newLoop(t, stage.Config{Lanes: 1}, stage.DeletePolicy{})
						l.addFlow(t, c)
						pkts := suitePackets(c, 10)
						sealed := l.sealAsync(t, pkts)
						got := verifyScapy(t, c, sealed, max(c.StartSeq, 1))
						for i, p := range pkts {
							want, _ := expectInner(c, p)
							if !bytes.Equal(got[i], want) {
								t.Fatalf("packet %d: scapy decapsulated\n%x\nwant\n%x", i, got[i], want)
							}
						}
					})
				}
			}
		}
	}
}

// outerWrap puts p behind an outer IP header of SA c's tunnel (protocol 4 or 41): a tunnel
// packet before protection, which scapy then protects as transport mode, giving the
// tunnel-mode wire format.
func outerWrap(c host.SAConfig, p []byte, id int) []byte {
	nh := byte(inet.ProtoIPv4)
	if p[0]>>4 == 6 {
		nh = inet.ProtoIPv6
	}
	if c.Src.Is6() {
		h := make([]byte, 40, 40+len(p))
		h[0] = 0x60
		binary.BigEndian.PutUint16(h[4:], uint16(len(p)))
		h[6], h[7] = nh, 64
		s, d := c.Src.As16(), c.Dst.As16()
		copy(h[8:], s[:])
		copy(h[24:], d[:])
		return append(h, p...)
	}
	h := make([]byte, 20, 20+len(p))
	h[0] = 0x45
	binary.BigEndian.PutUint16(h[2:], uint16(20+len(p)))
	binary.BigEndian.PutUint16(h[4:], uint16(id))
	h[8], h[9] = 64, nh
	s, d := c.Src.As4(), c.Dst.As4()
	copy(h[12:], s[:])
	copy(h[16:], d[:])
	inet.IPv4(h).SetChecksum()
	return append(h, p...)
}

// protectScapy has scapy protect plain packets with SA c (packet i gets sequence number
// first+i); in tunnel mode it first puts each behind the tunnel's outer header.
func protectScapy(t *testing.T, c host.SAConfig, pkts [][]byte, first uint64) [][]byte {
	t.Helper()
	dir := t.TempDir()
	in := pkts
	if c.Mode == host.Tunnel {
		in = nil
		for i, p := range pkts {
			in = append(in, outerWrap(c, p, i))
		}
	}
	plain, out := filepath.Join(dir, "plain.pcap"), filepath.Join(dir, "out.pcap")
	if err := interop.WritePcap(plain, in); err != nil {
		t.Fatal(err)
	}
	interop.EncryptSuitesScapy(t, plain, out, peerSA(c, 0), first)
	frames, err := interop.ReadPcap(out)
	if err != nil || len(frames) != len(pkts) {
		t.Fatalf("%d frames from scapy, err %v", len(frames), err)
	}
	return frames
}

// receiveAll indicates frames through the loop's receive path and returns what the host
// delivered for each (Receive), failing on any other verdict.
func receiveAll(t *testing.T, l *loop, frames [][]byte) [][]byte {
	t.Helper()
	var bufs []*packet.Buffer
	for _, f := range frames {
		b := packet.NewBuffer(packet.SmallSize)
		if err := b.SetData(f); err != nil {
			t.Fatal(err)
		}
		bufs = append(bufs, b)
	}
	l.recv.Submit(bufs)
	var out [][]byte
	buf := make([]*packet.Buffer, 64)
	for len(out) < len(frames) {
		for _, p := range buf[:l.recv.Poll(buf)] {
			o, v := l.receiver.Receive(p, nil)
			if v != host.Delivered {
				t.Fatalf("packet %d: %v, OOB %v", len(out), v, p.Rx)
			}
			out = append(out, o)
		}
	}
	return out
}

func TestSuitesReceiveInteropScapy(t *testing.T) {
	interop.Require(t, interop.ToolCryptography, interop.ToolScapy)
	for _, name := range interopSuites {
		for _, v6 := range []bool{false, true} {
			for _, tunnel := range []bool{false, true} {
				for _, esn := range []bool{false, true} {
					if esn && (v6 || tunnel) {
						continue
					}
					t.Run(fmt.Sprintf("%s/v6=%v/tunnel=%v/esn=%v", name, v6, tunnel, esn), func(t *testing.T) {
						c := suiteCfg(name, 0x5100, v6, tunnel)
						first := uint64(1)
						if esn {
							c.ESN, c.StartSeq, first = true, 1<<32-4, 1<<32-4
						}
						pkts := suitePackets(c, 10)
						frames := protectScapy(t, c, pkts, first)
						l := newLoop(t, stage.Config{Lanes: 1}, stage.DeletePolicy{})
						in, err := l.receiver.AddSA(c, 0)
						if err != nil {
							t.Fatal(err)
						}
						got := receiveAll(t, l, frames)
						for i := range pkts {
							if !bytes.Equal(got[i], pkts[i]) {
								t.Fatalf("packet %d: delivered\n%x\nwant\n%x", i, got[i], pkts[i])
							}
						}
						st, _ := l.receiver.SAStats(in)
						if esn && st.Updates != 1 {
							t.Fatalf("UPDATE_SA %d, want 1 (the window crossed 2^32)", st.Updates)
						}
					})
				}
			}
		}
	}
}

// Tunnel + transport combined, both ways: scapy opens ov2's packets one SA at a time (the
// tunnel SA gives the inner packet, the transport SA its payload), and ov2 delivers what
// scapy protects with the transport SA and then the tunnel SA.
func TestCombinedInteropScapy(t *testing.T) {
	interop.Require(t, interop.ToolCryptography, interop.ToolScapy)
	for _, pair := range [][2]string{{"cbc128-sha1", "cbc256-sha256"}, {"ah-sha256", "null-sha1"}, {"null-sha256", "cbc128-sha1"}} {
		for _, v6 := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s-in-%s/v6=%v", pair[0], pair[1], v6), func(t *testing.T) {
				tr := suiteCfg(pair[0], 0x5200, v6, false)
				tu := suiteCfg(pair[1], 0x5300, v6, true)
				tu.Src, tu.Dst = mustAddr("203.0.113.1"), mustAddr("203.0.113.2")
				if v6 {
					tu.Src, tu.Dst = mustAddr("2001:db8:1::1"), mustAddr("2001:db8:2::1")
				}
				pkts := suitePackets(tr, 8)
				// ov2 -> scapy.
				l := newLoop(t, stage.Config{Lanes: 1}, stage.DeletePolicy{})
				trOut, _ := l.addFlow(t, tr)
				tuOut, _ := l.addFlow(t, tu)
				for _, p := range pkts {
					if err := l.sender.SendCombined(trOut, tuOut, p, 0); err != nil {
						t.Fatal(err)
					}
				}
				l.sender.Flush()
				var sealed [][]byte
				buf := make([]*packet.Buffer, 64)
				for len(sealed) < len(pkts) {
					for _, p := range buf[:l.send.Poll(buf)] {
						if p.Tx.Failed() {
							t.Fatalf("send failed: %v", p.Tx.Reason)
						}
						sealed = append(sealed, bytes.Clone(p.Bytes()))
						l.sender.Done(p)
					}
				}
				inner := verifyScapy(t, tu, sealed, 1)
				payloads := verifyScapy(t, tr, inner, 1)
				for i, p := range pkts {
					if want, _ := expectInner(tr, p); !bytes.Equal(payloads[i], want) {
						t.Fatalf("packet %d: scapy found %x, want %x", i, payloads[i], want)
					}
				}
				// scapy -> ov2.
				frames := protectScapy(t, tu, protectScapy(t, tr, pkts, 1), 1)
				l2 := newLoop(t, stage.Config{Lanes: 1}, stage.DeletePolicy{})
				if _, err := l2.receiver.AddSA(tr, 0); err != nil {
					t.Fatal(err)
				}
				if _, err := l2.receiver.AddSA(tu, 0); err != nil {
					t.Fatal(err)
				}
				got := receiveAll(t, l2, frames)
				for i := range pkts {
					if !bytes.Equal(got[i], pkts[i]) {
						t.Fatalf("packet %d: delivered\n%x\nwant\n%x", i, got[i], pkts[i])
					}
				}
			})
		}
	}
}
