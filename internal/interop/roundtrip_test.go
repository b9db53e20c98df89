package interop

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/ov2dev/ov2/esp"
)

// plainPackets are the plain IP packets EncryptScapy protects: IPv4 and IPv6 UDP with
// payloads that give every pad length.
func plainPackets() [][]byte {
	a4, b4 := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	a6, b6 := netip.MustParseAddr("fd00::1"), netip.MustParseAddr("fd00::2")
	return [][]byte{
		ipv4(a4, b4, protoUDP, 1, udp(1111, 2222, payloadBytes(20, 0))),
		ipv6(a6, b6, protoUDP, udp6(a6, b6, 3333, 4444, payloadBytes(77, 1))),
		ipv4(a4, b4, protoUDP, 2, udp(1111, 2222, nil)),
		ipv6(a6, b6, protoUDP, udp6(a6, b6, 3333, 4444, payloadBytes(1, 2))),
	}
}

// ipHeader splits a raw IP packet into header length, next protocol, source, destination
// and total length as the header states it.
func ipHeader(t *testing.T, p []byte) (hlen int, proto byte, src, dst netip.Addr, total int) {
	t.Helper()
	switch p[0] >> 4 {
	case 4:
		if c := csum(0, p[:20]); c != 0xffff {
			t.Errorf("IPv4 header checksum does not verify: folded sum %#x", c)
		}
		return int(p[0]&15) * 4, p[9], netip.AddrFrom4([4]byte(p[12:16])), netip.AddrFrom4([4]byte(p[16:20])),
			int(binary.BigEndian.Uint16(p[2:4]))
	case 6:
		return 40, p[6], netip.AddrFrom16([16]byte(p[8:24])), netip.AddrFrom16([16]byte(p[24:40])),
			40 + int(binary.BigEndian.Uint16(p[4:6]))
	}
	t.Fatalf("not an IP packet: % x", p[:1])
	return
}

// TestEncryptScapyRoundTrip has scapy protect plain packets and the project's
// esp.Transform.Open them: the outer headers, UDP encapsulation, SPI, sequence numbers
// (crossing 2^32 under ESN), IV = sequence number and the inner bytes must all be exact.
// VerifyPyca and VerifyScapy then check scapy's packets too (UDP-encapsulated IPv6
// transport included), so the peers agree with each other.
func TestEncryptScapyRoundTrip(t *testing.T) {
	Require(t, ToolCryptography, ToolScapy)
	plain := plainPackets()
	dir := t.TempDir()
	plainPath := filepath.Join(dir, "plain.pcap")
	if err := WritePcap(plainPath, plain); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		sa    SA
		start uint64
	}{
		{"transport-gcm128-esn-wrap", SA{SPI: 0x6001, Key: key128, Salt: salt, ESN: true, Src: v4a, Dst: v4b}, 1<<32 - 2},
		{"tunnel4-gmac-esn-wrap", SA{SPI: 0x6002, Key: key128, Salt: salt, GMAC: true, ESN: true, Tunnel: true, Src: v4a, Dst: v4b}, 1<<32 - 1},
		{"transport-natt-gcm128-icv8", SA{SPI: 0x6003, Key: key128, Salt: salt, ICVLen: 8, NATT: true, Src: v4a, Dst: v4b}, 1},
		{"tunnel6-natt-gcm256-icv12", SA{SPI: 0x6004, Key: key256, Salt: salt, ICVLen: 12, Tunnel: true, NATT: true, Src: v6a, Dst: v6b, SPort: 4501}, 7},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sa := tc.sa
			outPath := filepath.Join(t.TempDir(), "esp.pcap")
			EncryptScapy(t, plainPath, outPath, sa, tc.start)
			got, err := ReadPcap(outPath)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(plain) {
				t.Fatalf("%d ESP packets, want %d", len(got), len(plain))
			}
			z := newSealer(t, sa)
			var want []Result
			for i, pkt := range got {
				seq := tc.start + uint64(i)
				hlen, proto, src, dst, total := ipHeader(t, pkt)
				if total != len(pkt) {
					t.Errorf("packet %d: IP length %d, packet %d bytes", i, total, len(pkt))
				}
				phlen, pproto, psrc, pdst, _ := ipHeader(t, plain[i])
				wantSrc, wantDst := psrc, pdst
				if sa.Tunnel {
					wantSrc, wantDst = sa.Src, sa.Dst
				}
				if src != wantSrc || dst != wantDst {
					t.Errorf("packet %d: outer %v -> %v, want %v -> %v", i, src, dst, wantSrc, wantDst)
				}
				espPkt := pkt[hlen:]
				if sa.NATT {
					if proto != protoUDP {
						t.Fatalf("packet %d: outer protocol %d, want UDP", i, proto)
					}
					sp, dp := binary.BigEndian.Uint16(espPkt[0:]), binary.BigEndian.Uint16(espPkt[2:])
					ulen, sum := int(binary.BigEndian.Uint16(espPkt[4:])), binary.BigEndian.Uint16(espPkt[6:])
					if sp != sa.sport() || dp != sa.dport() || ulen != len(espPkt) {
						t.Errorf("packet %d: UDP %d -> %d length %d, want %d -> %d length %d",
							i, sp, dp, ulen, sa.sport(), sa.dport(), len(espPkt))
					}
					if src.Is4() && sum != 0 {
						t.Errorf("packet %d: IPv4 UDP checksum %#x, want 0", i, sum)
					}
					if src.Is6() && !bytes.Equal(udp6(src, dst, sp, dp, espPkt[8:]), espPkt) {
						t.Errorf("packet %d: IPv6 UDP checksum %#x does not verify", i, sum)
					}
					espPkt = espPkt[8:]
				} else if proto != protoESP {
					t.Fatalf("packet %d: outer protocol %d, want ESP", i, proto)
				}
				if esp.SPI(espPkt) != sa.SPI || esp.Seq(espPkt) != uint32(seq) {
					t.Errorf("packet %d: SPI %#x seq %#x, want %#x %#x", i, esp.SPI(espPkt), esp.Seq(espPkt), sa.SPI, uint32(seq))
				}
				if iv := binary.BigEndian.Uint64(espPkt[esp.HeaderLen:]); iv != seq {
					t.Errorf("packet %d: IV %#x, want the sequence number %#x", i, iv, seq)
				}
				opened, err := z.tr.Open(z.s, bytes.Clone(espPkt), uint32(seq>>32))
				if err != nil {
					t.Fatalf("packet %d: Open: %v", i, err)
				}
				inner, padLen, nh, err := esp.ParseTrailer(opened)
				if err != nil {
					t.Fatalf("packet %d: ParseTrailer: %v", i, err)
				}
				wantInner, wantNH := plain[i][phlen:], pproto
				if sa.Tunnel {
					wantInner, wantNH = plain[i], protoIPv4
					if psrc.Is6() {
						wantNH = protoIPv6
					}
				}
				if !bytes.Equal(inner, wantInner) || nh != wantNH || padLen != esp.PadLen(len(wantInner)) {
					t.Errorf("packet %d: inner %x nh %d pad %d, want %x nh %d pad %d",
						i, inner, nh, padLen, wantInner, wantNH, esp.PadLen(len(wantInner)))
				}
				want = append(want, Result{Index: i, SPI: sa.SPI, Seq: seq, OK: true, NextHeader: int(wantNH),
					PadLen: esp.PadLen(len(wantInner)), Inner: wantInner, IVIsSeq: true})
			}
			vsa := sa
			vsa.SeqHi = uint32(tc.start >> 32)
			if !sa.Tunnel {
				vsa.Dst = netip.Addr{} // transport: the plain packets' own addresses are outside
			}
			checkResults(t, "pyca", VerifyPyca(t, outPath, []SA{vsa}), want)
			checkResults(t, "scapy", VerifyScapy(t, outPath, []SA{vsa}), want)
		})
	}
}
