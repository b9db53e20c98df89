package esp_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/internal/interop"
)

// The outside-peer check for the AES-CBC and NULL suites: scapy 2.5 (with Python's hmac where
// scapy leaves the ESN high half out, see internal/interop/suites_scapy.py) verifies and
// decrypts what Seal makes, and makes packets that Open accepts. IPv4 and IPv6, transport
// mode, with and without ESN. Skipped without scapy unless OV2_REQUIRE_INTEROP=1.

type etmPeer struct {
	name   string
	alg    esp.Algorithm
	keyLen int
	integ  esp.Integrity
}

var etmPeers = []etmPeer{
	{"aes128cbc-sha256", esp.AESCBC, 16, esp.HMACSHA256_128},
	{"aes192cbc-sha1", esp.AESCBC, 24, esp.HMACSHA1_96},
	{"aes256cbc-sha1", esp.AESCBC, 32, esp.HMACSHA1_96},
	{"aes256cbc-sha256", esp.AESCBC, 32, esp.HMACSHA256_128},
	{"null-sha1", esp.NULL, 0, esp.HMACSHA1_96},
	{"null-sha256", esp.NULL, 0, esp.HMACSHA256_128},
}

var (
	src4, dst4 = netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("198.51.100.2")
	src6, dst6 = netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
)

func key(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(7*i)
	}
	if n == 0 {
		return nil
	}
	return b
}

// udp is a UDP segment with n bytes of data (checksum 0: the peers do not check it).
func udp(n int, seed byte) []byte {
	u := make([]byte, 8+n)
	binary.BigEndian.PutUint16(u[0:], 4000+uint16(seed))
	binary.BigEndian.PutUint16(u[2:], 5000)
	binary.BigEndian.PutUint16(u[4:], uint16(8+n))
	for i := 8; i < len(u); i++ {
		u[i] = seed ^ byte(i)
	}
	return u
}

// ipHeader returns an IPv4 or IPv6 header for a payload of n bytes of protocol proto.
func ipHeader(v6 bool, proto byte, n int) []byte {
	if v6 {
		h := make([]byte, 40)
		h[0] = 0x60
		binary.BigEndian.PutUint16(h[4:], uint16(n))
		h[6], h[7] = proto, 64
		s, d := src6.As16(), dst6.As16()
		copy(h[8:], s[:])
		copy(h[24:], d[:])
		return h
	}
	h := make([]byte, 20)
	h[0] = 0x45
	binary.BigEndian.PutUint16(h[2:], uint16(20+n))
	h[8], h[9] = 64, proto
	s, d := src4.As4(), dst4.As4()
	copy(h[12:], s[:])
	copy(h[16:], d[:])
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	sum = sum&0xffff + sum>>16
	binary.BigEndian.PutUint16(h[10:], ^uint16(sum+sum>>16))
	return h
}

func (p etmPeer) sa(esn bool, spi uint32, seqHi uint32, v6 bool) (esp.Params, interop.SuiteSA) {
	ek, ak := key(p.keyLen, byte(spi)), key(p.integ.KeyLen(), byte(spi)+0x80)
	auth := map[esp.Integrity]string{esp.HMACSHA1_96: "hmac-sha1-96", esp.HMACSHA256_128: "hmac-sha256-128"}[p.integ]
	enc := map[esp.Algorithm]string{esp.AESCBC: "aes-cbc", esp.NULL: "null"}[p.alg]
	dst := dst4
	if v6 {
		dst = dst6
	}
	return esp.Params{Alg: p.alg, KeyMat: ek, Integrity: p.integ, IntegrityKey: ak, ESN: esn},
		interop.SuiteSA{Proto: "esp", SPI: spi, Enc: enc, EncKey: ek, Auth: auth, AuthKey: ak, ESN: esn, SeqHi: seqHi, Dst: dst}
}

// TestETMScapyVerifiesOurs: every packet Seal makes, scapy verifies and decrypts to the
// UDP segment that went in.
func TestETMScapyVerifiesOurs(t *testing.T) {
	interop.Require(t, interop.ToolCryptography, interop.ToolScapy)
	var pkts, inners [][]byte
	var sas []interop.SuiteSA
	spi := uint32(0x5000)
	for _, p := range etmPeers {
		for _, esn := range []bool{false, true} {
			for _, v6 := range []bool{false, true} {
				spi++
				params, sa := p.sa(esn, spi, 3, v6)
				tr, err := esp.NewTransform(params)
				if err != nil {
					t.Fatal(err)
				}
				sas = append(sas, sa)
				for _, n := range []int{0, 1, 13, 100, 1200} {
					seg := udp(n, byte(n))
					body := make([]byte, tr.PayloadOffset(), 2048)
					esp.PutHeader(body, spi, uint32(n)+1)
					body = esp.AppendTrailer(append(body, seg...), tr.PadLen(len(seg)), 17)
					sealed, err := tr.Seal(new(esp.Scratch), body, 3)
					if err != nil {
						t.Fatal(err)
					}
					pkts = append(pkts, append(ipHeader(v6, 50, len(sealed)), sealed...))
					inners = append(inners, seg)
				}
			}
		}
	}
	// Controls, so that a verifier that accepts everything cannot pass: the first packet with
	// one ciphertext bit flipped, and an ESN packet told to the peer with another high half.
	good := len(pkts)
	bad := bytes.Clone(pkts[0])
	bad[len(bad)-20] ^= 1
	pkts = append(pkts, bad)
	params, sa := etmPeers[0].sa(true, 0x5fff, 3, false)
	sa.SeqHi = 4
	sas = append(sas, sa)
	tr, err := esp.NewTransform(params)
	if err != nil {
		t.Fatal(err)
	}
	body := make([]byte, tr.PayloadOffset(), 256)
	esp.PutHeader(body, 0x5fff, 1)
	sealed, err := tr.Seal(new(esp.Scratch), esp.AppendTrailer(append(body, udp(10, 1)...), tr.PadLen(18), 17), 3)
	if err != nil {
		t.Fatal(err)
	}
	pkts = append(pkts, append(ipHeader(false, 50, len(sealed)), sealed...))

	path := filepath.Join(t.TempDir(), "ours.pcap")
	if err := interop.WritePcap(path, pkts); err != nil {
		t.Fatal(err)
	}
	results := interop.VerifySuitesScapy(t, path, sas)
	if len(results) != len(pkts) {
		t.Fatalf("%d results for %d packets", len(results), len(pkts))
	}
	for i, r := range results[good:] {
		if r.OK {
			t.Errorf("control packet %d verified: the peer check is not checking", i)
		}
	}
	for i, r := range results[:good] {
		if !r.OK || !bytes.Equal(r.Inner, inners[i]) || r.NextHeader != 17 {
			t.Errorf("packet %d (SPI %#x): ok %v %q, next header %d, inner equal %v", i, r.SPI, r.OK, r.Reason, r.NextHeader, bytes.Equal(r.Inner, inners[i]))
		}
	}
}

// TestETMOpensScapys: packets scapy makes (its own padding, IVs and ICVs), Open verifies and
// decrypts, and ParseTrailer gives back the UDP segment and next header 17.
func TestETMOpensScapys(t *testing.T) {
	interop.Require(t, interop.ToolCryptography, interop.ToolScapy)
	for _, p := range etmPeers {
		for _, esn := range []bool{false, true} {
			for _, v6 := range []bool{false, true} {
				name := fmt.Sprintf("%s/ESN=%v/v6=%v", p.name, esn, v6)
				const start = 0x7_fffffffe // crosses 2^32 under ESN
				params, sa := p.sa(esn, 0x6001, 0, v6)
				if !esn {
					params.ESN, sa.ESN = false, false
				}
				tr, err := esp.NewTransform(params)
				if err != nil {
					t.Fatal(err)
				}
				var plain, segs [][]byte
				for _, n := range []int{0, 14, 15, 16, 17, 700} {
					seg := udp(n, byte(n))
					segs = append(segs, seg)
					plain = append(plain, append(ipHeader(v6, 17, len(seg)), seg...))
				}
				dir := t.TempDir()
				in, out := filepath.Join(dir, "plain.pcap"), filepath.Join(dir, "scapy.pcap")
				if err := interop.WritePcap(in, plain); err != nil {
					t.Fatal(err)
				}
				startSeq := uint64(start)
				if !esn {
					startSeq = 0xfffffff0
				}
				interop.EncryptSuitesScapy(t, in, out, sa, startSeq)
				got, err := interop.ReadPcap(out)
				if err != nil || len(got) != len(plain) {
					t.Fatalf("%s: read %d packets: %v", name, len(got), err)
				}
				s := new(esp.Scratch)
				for i, pkt := range got {
					off := 20
					if v6 {
						off = 40
					}
					seq := startSeq + uint64(i)
					pl, err := tr.Open(s, pkt[off:], uint32(seq>>32))
					if err != nil {
						t.Errorf("%s: packet %d (seq %#x): Open: %v", name, i, seq, err)
						continue
					}
					payload, _, nh, err := esp.ParseTrailer(pl)
					if err != nil || nh != 17 || !bytes.Equal(payload, segs[i]) {
						t.Errorf("%s: packet %d: ParseTrailer %v, next header %d, payload equal %v", name, i, err, nh, bytes.Equal(payload, segs[i]))
					}
				}
			}
		}
	}
}
