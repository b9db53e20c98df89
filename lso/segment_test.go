package lso

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/ov2dev/ov2/internal/inet"
)

// bigPayload is a 64 KB send whose last chunk (603 bytes) needs 3 bytes of ESP padding while
// the full ones need 2, so both paddings are exercised.
const (
	bigPayload = 65003
	bigMSS     = 1400
	bigCount   = 47 // ceil(65003 / 1400)
	lastChunk  = 603
)

// layoutCases are the R-TX-6 shapes with the segment lengths worked out by hand. For a full
// segment the ESP payload (after the IV) is inner IP + TCP (32, with timestamps) + 1400; the
// trailer pads it plus 2 to a multiple of 4, and the ICV room follows.
var layoutCases = []struct {
	l                 layout
	firstLen, lastLen int
}{
	// 20 IP + 16 ESP + (32+1400, pad 2, 2) + 16 ICV; last: 32+603 = 635, pad 3.
	{layout{name: "IPv4 transport", icvLen: 16}, 1488, 692},
	// 40 IP + 16 + 1436 + 12; last: 40 + 16 + 640 + 12.
	{layout{name: "IPv6 transport", outer6: true, icvLen: 12}, 1504, 708},
	// 24 IP (Router Alert option) + 16 + (20+32+1400, pad 2, 2) + 16; last: 20+32+603 = 655, pad 3.
	{layout{name: "IPv4 tunnel, inner IPv4", ipOption: true, inner: 4, icvLen: 16}, 1512, 716},
	// 20 + 16 + (40+32+1400, pad 2, 2) + 8; last: 40+32+603 = 675, pad 3.
	{layout{name: "IPv6-in-IPv4 tunnel", inner: 41, icvLen: 8}, 1520, 724},
	// 20 + 8 UDP + 16 + 1436 + 16; last: 20 + 8 + 16 + 640 + 16.
	{layout{name: "IPv4 NAT-T transport", natt: true, icvLen: 16}, 1496, 700},
	// 40 + 8 + 16 + 1456 + 16; last: 40 + 8 + 16 + 660 + 16.
	{layout{name: "IPv6 NAT-T tunnel, inner IPv4", outer6: true, natt: true, inner: 4, icvLen: 16}, 1536, 740},
}

// TestSegmentLayouts covers R-TX-6 and R-TX-7 on 64 KB sends with MSS 1400 in every layout:
// each segment equals, byte for byte, the segment gopacket builds from scratch (lengths, IPv4
// ID + i, IP and TCP checksums, TCP seq + i*MSS, flags, trailer, ICV room, ESP seq), and the
// same facts are also checked one by one so a failure says which.
func TestSegmentLayouts(t *testing.T) {
	payload := testPayload(bigPayload)
	const seqLo, padLength = 1000, 7
	for _, c := range layoutCases {
		t.Run(c.l.name, func(t *testing.T) {
			frame := largeSend(t, c.l, payload, padLength, seqLo)
			pl, err := Prepare(frame, Params{MSS: bigMSS, PadLength: padLength, NextHeader: c.l.nextHeader(), ICVLen: c.l.icvLen})
			if err != nil {
				t.Fatal(err)
			}
			if pl.Count() != bigCount || pl.Seq() != seqLo || pl.LastSeq() != seqLo+bigCount-1 ||
				pl.MaxSegmentLen() != c.firstLen || pl.PayloadLen() != bigPayload || pl.IPv6() != c.l.outer6 {
				t.Fatalf("plan: count %d seq %d last %d max %d payload %d ipv6 %v", pl.Count(), pl.Seq(),
					pl.LastSeq(), pl.MaxSegmentLen(), pl.PayloadLen(), pl.IPv6())
			}
			if pl.SealBufferLen() != c.firstLen-c.l.icvLen+16 {
				t.Fatalf("SealBufferLen %d", pl.SealBufferLen())
			}
			dst := make([]byte, pl.MaxSegmentLen())
			var joined []byte
			for i := range pl.Count() {
				n, seq := pl.Segment(frame, i, dst)
				seg := dst[:n]
				if seq != seqLo+uint64(i) {
					t.Fatalf("segment %d: seq %d, want %d", i, seq, seqLo+i)
				}
				want := wantSegment(t, c.l, payload, bigMSS, i, bigCount, seq)
				if !bytes.Equal(seg, want) {
					t.Fatalf("segment %d differs from gopacket's:\n got %x\nwant %x", i, seg, want)
				}
				joined = append(joined, checkSegment(t, &pl, c.l, seg, i)...)
				wantLen := c.firstLen
				if i == bigCount-1 {
					wantLen = c.lastLen
				}
				if n != wantLen {
					t.Fatalf("segment %d: %d bytes, want %d", i, n, wantLen)
				}
			}
			if !bytes.Equal(joined, payload) {
				t.Fatal("the chunks do not rejoin to the payload")
			}
		})
	}
}

// checkSegment asserts segment i's facts one by one, decoding with gopacket and checking
// checksums with package inet, and returns its TCP payload.
func checkSegment(t *testing.T, pl *Plan, l layout, seg []byte, i int) []byte {
	t.Helper()
	n := len(seg)
	// Outer header, decoded by gopacket.
	if l.outer6 {
		p := gopacket.NewPacket(seg, layers.LayerTypeIPv6, gopacket.NoCopy)
		ip, _ := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
		if ip == nil || int(ip.Length) != n-40 {
			t.Fatalf("segment %d: IPv6 payload length wrong: %v", i, p)
		}
	} else {
		p := gopacket.NewPacket(seg, layers.LayerTypeIPv4, gopacket.NoCopy)
		ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if ip == nil || int(ip.Length) != n || ip.Id != testIPID+uint16(i) {
			t.Fatalf("segment %d: IPv4 length/ID wrong: %v", i, p)
		}
		if h, _ := inet.ParseIPv4(seg); !h.ChecksumValid() {
			t.Fatalf("segment %d: outer IPv4 checksum %#04x does not verify", i, h.Checksum())
		}
	}
	if off := pl.UDPOffset(); off >= 0 {
		u := inet.UDP(seg[off : off+8])
		if u.Length() != n-off || u.Checksum() != 0 || u.DstPort() != 4500 {
			t.Fatalf("segment %d: UDP length %d checksum %#x", i, u.Length(), u.Checksum())
		}
	}
	esp := seg[pl.ESPOffset():]
	if binary.BigEndian.Uint32(esp[0:4]) != testSPI || binary.BigEndian.Uint32(esp[4:8]) != uint32(pl.Seq()+uint64(i)) ||
		!bytes.Equal(esp[8:16], testIV) {
		t.Fatalf("segment %d: ESP header %x", i, esp[:16])
	}
	// Inner header (tunnel mode) and TCP, decoded by gopacket from the plaintext after the IV.
	end := n - pl.ICVLen()
	padLen := int(seg[end-2])
	if seg[end-1] != l.nextHeader() || padLen > 3 {
		t.Fatalf("segment %d: trailer pad %d next header %d", i, padLen, seg[end-1])
	}
	for k := 1; k <= padLen; k++ {
		if seg[end-2-padLen+k-1] != byte(k) {
			t.Fatalf("segment %d: padding %x, want 1, 2, 3, ...", i, seg[end-2-padLen:end-2])
		}
	}
	if (end-pl.ESPOffset()-16)%4 != 0 {
		t.Fatalf("segment %d: ESP payload+padding+2 = %d bytes, not a multiple of 4", i, end-pl.ESPOffset()-16)
	}
	if !bytes.Equal(seg[end:], make([]byte, pl.ICVLen())) {
		t.Fatalf("segment %d: ICV room %x not zero", i, seg[end:])
	}
	plainEnd := end - 2 - padLen
	var tcp *layers.TCP
	if off := pl.InnerIPOffset(); off >= 0 {
		first := layers.LayerTypeIPv4
		if l.inner == 41 {
			first = layers.LayerTypeIPv6
		}
		p := gopacket.NewPacket(seg[off:plainEnd], first, gopacket.NoCopy)
		if p.ErrorLayer() != nil {
			t.Fatalf("segment %d: inner packet does not decode: %v", i, p.ErrorLayer().Error())
		}
		tcp, _ = p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if ip, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
			if int(ip.Length) != plainEnd-off || ip.Id != testIPID+uint16(i) {
				t.Fatalf("segment %d: inner IPv4 length %d id %#x", i, ip.Length, ip.Id)
			}
			if h, _ := inet.ParseIPv4(seg[off:]); !h.ChecksumValid() {
				t.Fatalf("segment %d: inner IPv4 checksum does not verify", i)
			}
		}
		if ip, ok := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6); ok && int(ip.Length) != plainEnd-off-40 {
			t.Fatalf("segment %d: inner IPv6 payload length %d", i, ip.Length)
		}
	} else {
		p := gopacket.NewPacket(seg[pl.TCPOffset():plainEnd], layers.LayerTypeTCP, gopacket.NoCopy)
		tcp, _ = p.Layer(layers.LayerTypeTCP).(*layers.TCP)
	}
	if tcp == nil {
		t.Fatalf("segment %d: no TCP layer", i)
	}
	last := i == pl.Count()-1
	if tcp.Seq != testTCPSq+uint32(i*pl.MSS()) || tcp.FIN != last || tcp.PSH != last || tcp.CWR != (i == 0) ||
		!tcp.ACK || !tcp.ECE || tcp.SYN || tcp.RST {
		t.Fatalf("segment %d: TCP seq %#x FIN %v PSH %v CWR %v ACK %v ECE %v", i, tcp.Seq, tcp.FIN, tcp.PSH, tcp.CWR, tcp.ACK, tcp.ECE)
	}
	// The TCP checksum verifies over the pseudo-header of the IP header in front of it.
	var pseudo uint32
	tcpLen := plainEnd - pl.TCPOffset()
	ipOff, ip6 := 0, l.outer6
	if off := pl.InnerIPOffset(); off >= 0 {
		ipOff, ip6 = off, l.inner == 41
	}
	if ip6 {
		h := inet.IPv6(seg[ipOff : ipOff+40])
		pseudo = inet.PseudoHeaderIPv6(h.Src(), h.Dst(), 6, tcpLen)
	} else {
		h := inet.IPv4(seg[ipOff : ipOff+20])
		pseudo = inet.PseudoHeaderIPv4(h.Src(), h.Dst(), 6, tcpLen)
	}
	if inet.Checksum(seg[pl.TCPOffset():plainEnd], pseudo) != 0xffff {
		t.Fatalf("segment %d: TCP checksum %#04x does not verify", i, tcp.Checksum)
	}
	chunk := tcp.Payload
	if len(chunk) > pl.MSS() || len(chunk) == 0 {
		t.Fatalf("segment %d: %d payload bytes, MSS %d", i, len(chunk), pl.MSS())
	}
	return chunk
}

// TestSegmentSmallGolden pins a tiny send byte for byte (IPv4 transport, 10 payload bytes,
// MSS 4: chunks 4, 4, 2) without gopacket. The ESP payload is 20 (TCP) + chunk: 24 bytes takes
// 2 bytes of padding, 22 takes none. The checksums were worked out separately with a plain
// RFC 1071 sum (a few lines of Python), not with package inet.
func TestSegmentSmallGolden(t *testing.T) {
	frame := unhexT(t, ""+
		"45000044 abcd4000 40320000 c0000201 c6336402"+ // IPv4, total 68, ID 0xabcd, ESP
		"00001001 00000005 a0a1a2a3a4a5a6a7"+ // SPI, seq 5, IV space
		"9c400bb8 00000064 00000001 50990400 00000000"+ // TCP seq 100, CWR|ACK|PSH|FIN
		"00010203040506070809"+ // payload
		"eeee") // host padding
	pl, err := Prepare(frame, Params{MSS: 4, PadLength: 2, NextHeader: 6, ICVLen: 8})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		// total 72, ID +0, seq 5, TCP seq 100, CWR|ACK, chunk 0-3, pad 1 2, pad len 2, NH 6, ICV room
		"45000048 abcd4000 4032a27f c0000201 c6336402" +
			"00001001 00000005 a0a1a2a3a4a5a6a7" +
			"9c400bb8 00000064 00000001 50900400 14b80000" +
			"00010203 0102 0206 0000000000000000",
		// ID +1, seq 6, TCP seq 104, ACK only
		"45000048 abce4000 4032a27e c0000201 c6336402" +
			"00001001 00000006 a0a1a2a3a4a5a6a7" +
			"9c400bb8 00000068 00000001 50100400 0d2c0000" +
			"04050607 0102 0206 0000000000000000",
		// total 68, ID +2, seq 7, TCP seq 108, ACK|PSH|FIN, chunk 8-9, no padding
		"45000044 abcf4000 4032a281 c0000201 c6336402" +
			"00001001 00000007 a0a1a2a3a4a5a6a7" +
			"9c400bb8 0000006c 00000001 50190400 0f240000" +
			"0809 00 06 0000000000000000",
	}
	if pl.Count() != len(want) {
		t.Fatalf("Count %d, want %d", pl.Count(), len(want))
	}
	dst := make([]byte, 0, pl.MaxSegmentLen())
	for i, w := range want {
		n, seq := pl.Segment(frame, i, dst)
		if seq != uint64(5+i) {
			t.Errorf("segment %d: seq %d, want %d", i, seq, 5+i)
		}
		if w := unhexT(t, w); !bytes.Equal(dst[:n], w) {
			t.Errorf("segment %d:\n got %x\nwant %x", i, dst[:n], w)
		}
	}
}

// unhexT decodes hex with spaces.
func unhexT(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
