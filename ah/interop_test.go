package ah_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/ov2dev/ov2/ah"
	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/internal/interop"
)

// The outside-peer check for AH: scapy 2.5's AH (its zero_mutable_fields and HMAC
// AuthAlgo; AES-GMAC computed by the harness with Python's cryptography over scapy's image,
// see internal/interop/suites_scapy.py) verifies what Insert makes and makes packets Verify
// accepts: transport mode, IPv4 with an immutable (Router Alert) and a mutable (Record Route)
// option, IPv6 with a hop-by-hop header holding an immutable and a may-change option, every
// algorithm, with and without ESN. Skipped without scapy unless OV2_REQUIRE_INTEROP=1.

type peer struct {
	name  string
	integ esp.Integrity
	auth  string
}

var peers = []peer{
	{"sha1", esp.HMACSHA1_96, "hmac-sha1-96"},
	{"sha256", esp.HMACSHA256_128, "hmac-sha256-128"},
	{"gmac128", esp.GMAC128, "gmac"},
	{"gmac256", esp.GMAC256, "gmac"},
}

func key(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(5*i)
	}
	return b
}

func udp(n int, seed byte) []byte {
	u := make([]byte, 8+n)
	binary.BigEndian.PutUint16(u[0:], 1000+uint16(seed))
	binary.BigEndian.PutUint16(u[2:], 2000)
	binary.BigEndian.PutUint16(u[4:], uint16(8+n))
	for i := 8; i < len(u); i++ {
		u[i] = seed + byte(i)
	}
	return u
}

// opts4 are IPv4 options: Router Alert (immutable), Record Route with one slot (mutable:
// zeroed for the ICV), NOP.
var opts4 = []byte{0x94, 4, 0, 0, 7, 7, 4, 0, 0, 0, 0, 1}

// hbh6 is a hop-by-hop header (its next header is filled in): Router Alert (type 5,
// immutable), an option of type 0x3e (the may-change bit set: its data is zeroed for the ICV),
// PadN.
var hbh6 = []byte{0, 1, 5, 2, 0, 0, 0x3e, 4, 1, 2, 3, 4, 1, 0, 0, 0}

// packet builds an IPv4 or IPv6 packet with the options above carrying proto and body, with
// an AH header of ahLen bytes in front of body when ahLen > 0.
func packet(v6 bool, proto byte, ahLen int, spi, seq uint32, body []byte) []byte {
	var ext []byte
	if v6 {
		ext = bytes.Clone(hbh6)
	} else {
		ext = bytes.Clone(opts4)
	}
	n := len(ext) + ahLen + len(body)
	var p []byte
	if v6 {
		p = make([]byte, 40, 40+n)
		p[0], p[1] = 0x6b, 0x80 // traffic class 0xb8
		binary.BigEndian.PutUint16(p[4:], uint16(n))
		p[6], p[7] = 0, 64
		copy(p[8:], key(16, 0x20))
		copy(p[24:], key(16, 0x40))
		ext[0] = proto
		if ahLen > 0 {
			ext[0] = ah.Protocol
		}
	} else {
		p = make([]byte, 20, 20+n)
		p[0], p[1] = 0x45+byte(len(ext)/4), 0xb8
		binary.BigEndian.PutUint16(p[2:], uint16(20+n))
		binary.BigEndian.PutUint16(p[4:], 0x777)
		p[6], p[8], p[9] = 0x40, 64, proto
		if ahLen > 0 {
			p[9] = ah.Protocol
		}
		copy(p[12:], []byte{192, 0, 2, 1})
		copy(p[16:], []byte{198, 51, 100, 2})
	}
	p = append(p, ext...)
	if !v6 {
		var sum uint32
		for i := 0; i < len(p); i += 2 {
			sum += uint32(binary.BigEndian.Uint16(p[i:]))
		}
		for sum > 0xffff {
			sum = sum&0xffff + sum>>16
		}
		binary.BigEndian.PutUint16(p[10:], ^uint16(sum))
	}
	if ahLen > 0 {
		h := make([]byte, ahLen)
		ah.PutHeader(h, proto, ahLen, spi, seq)
		p = append(p, h...)
	}
	return append(p, body...)
}

func (p peer) sa(esn bool, spi, seqHi uint32) (ah.Params, interop.SuiteSA) {
	k := key(p.integ.KeyLen(), byte(spi))
	return ah.Params{Integrity: p.integ, Key: k, ESN: esn},
		interop.SuiteSA{Proto: "ah", SPI: spi, Auth: p.auth, AuthKey: k, ESN: esn, SeqHi: seqHi}
}

// TestScapyVerifiesOurs: scapy accepts every packet Insert makes and finds the UDP segment
// behind AH; a tampered packet and one checked with another ESN high half are refused.
func TestScapyVerifiesOurs(t *testing.T) {
	interop.Require(t, interop.ToolCryptography, interop.ToolScapy)
	var pkts, segs [][]byte
	var sas []interop.SuiteSA
	spi := uint32(0x7000)
	s := new(ah.Scratch)
	for _, p := range peers {
		for _, esn := range []bool{false, true} {
			for _, v6 := range []bool{false, true} {
				spi++
				params, sa := p.sa(esn, spi, 9)
				tr, err := ah.NewTransform(params)
				if err != nil {
					t.Fatal(err)
				}
				sas = append(sas, sa)
				for _, n := range []int{0, 5, 300} {
					seg := udp(n, byte(n))
					pkt := packet(v6, 17, tr.HeaderLen(v6), spi, uint32(n)+1, seg)
					if _, err := tr.Insert(s, pkt, 9); err != nil {
						t.Fatal(err)
					}
					pkts, segs = append(pkts, pkt), append(segs, seg)
				}
			}
		}
	}
	good := len(pkts)
	bad := bytes.Clone(pkts[1])
	bad[len(bad)-1] ^= 1
	pkts = append(pkts, bad)
	params, sa := peers[1].sa(true, 0x7fff, 9)
	sa.SeqHi = 10
	sas = append(sas, sa)
	tr, err := ah.NewTransform(params)
	if err != nil {
		t.Fatal(err)
	}
	pkt := packet(false, 17, tr.HeaderLen(false), 0x7fff, 1, udp(4, 4))
	if _, err := tr.Insert(s, pkt, 9); err != nil {
		t.Fatal(err)
	}
	pkts = append(pkts, pkt)

	path := filepath.Join(t.TempDir(), "ours.pcap")
	if err := interop.WritePcap(path, pkts); err != nil {
		t.Fatal(err)
	}
	results := interop.VerifySuitesScapy(t, path, sas)
	if len(results) != len(pkts) {
		t.Fatalf("%d results for %d packets", len(results), len(pkts))
	}
	for i, r := range results[:good] {
		// scapy's decapsulation keeps IPv6 extension headers in front of the payload.
		inner := r.Inner
		if len(inner) == len(segs[i])+len(hbh6) {
			inner = inner[len(hbh6):]
		}
		if !r.OK || !bytes.Equal(inner, segs[i]) || r.NextHeader != 17 {
			t.Errorf("packet %d (SPI %#x): ok %v %q, next header %d, payload equal %v", i, r.SPI, r.OK, r.Reason, r.NextHeader, bytes.Equal(inner, segs[i]))
		}
	}
	for i, r := range results[good:] {
		if r.OK {
			t.Errorf("control packet %d verified: the peer check is not checking", i)
		}
	}
}

// TestVerifiesScapys: packets scapy makes (its own AH framing and padding, its zeroing of the
// mutable fields), Verify accepts, and the layout leads to the UDP segment; then the mutable
// fields change as on a path (TTL or hop limit, TOS or traffic class, the Record Route slot,
// the may-change option), and Verify still accepts.
func TestVerifiesScapys(t *testing.T) {
	interop.Require(t, interop.ToolCryptography, interop.ToolScapy)
	s := new(ah.Scratch)
	for _, p := range peers {
		for _, esn := range []bool{false, true} {
			for _, v6 := range []bool{false, true} {
				name := fmt.Sprintf("%s/ESN=%v/v6=%v", p.name, esn, v6)
				params, sa := p.sa(esn, 0x8001, 0)
				tr, err := ah.NewTransform(params)
				if err != nil {
					t.Fatal(err)
				}
				var plain, segs [][]byte
				for _, n := range []int{0, 3, 500} {
					seg := udp(n, byte(n))
					plain, segs = append(plain, packet(v6, 17, 0, 0, 0, seg)), append(segs, seg)
				}
				dir := t.TempDir()
				in, out := filepath.Join(dir, "plain.pcap"), filepath.Join(dir, "scapy.pcap")
				if err := interop.WritePcap(in, plain); err != nil {
					t.Fatal(err)
				}
				start := uint64(0x2_ffffffff)
				if !esn {
					start = 0xfffffffe
				}
				interop.EncryptSuitesScapy(t, in, out, sa, start)
				got, err := interop.ReadPcap(out)
				if err != nil || len(got) != len(plain) {
					t.Fatalf("%s: read %d packets: %v", name, len(got), err)
				}
				for i, pkt := range got {
					seq := start + uint64(i)
					l, err := tr.Verify(s, pkt, uint32(seq>>32))
					if err != nil || l.NextHeader != 17 || !bytes.Equal(pkt[l.Payload:l.End], segs[i]) {
						t.Errorf("%s: packet %d: Verify %v, %+v", name, i, err, l)
						continue
					}
					if v6 {
						pkt[1] ^= 0x30 // traffic class
						pkt[7] -= 3    // hop limit
						pkt[40+8] ^= 7 // the may-change option's data
					} else {
						pkt[1] ^= 0x30  // TOS
						pkt[8] -= 3     // TTL
						pkt[10] ^= 0x55 // checksum
						pkt[20+7] = 10  // the Record Route slot fills in
					}
					if _, err := tr.Verify(s, pkt, uint32(seq>>32)); err != nil {
						t.Errorf("%s: packet %d after the path changed its mutable fields: %v", name, i, err)
					}
				}
			}
		}
	}
}
