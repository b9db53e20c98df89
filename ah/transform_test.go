package ah

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ov2dev/ov2/esp"
)

// TestHeaderLen pins the AH header sizes of RFC 4302 §2.2 (IPv4: a multiple of 32 bits, IPv6:
// of 64 bits) and the Payload Length field, for every algorithm: HMAC-SHA1-96 needs no
// padding (12 + 12 = 24 bytes, Payload Length 4, in both families); HMAC-SHA-256-128 is 28
// bytes (5) in IPv4 and 32 (6) with 4 bytes of padding in IPv6; AES-GMAC, IV and ICV in the
// Authentication Data field, 36 (7) and 40 (8) (RFC 4543 §4, erratum 3643).
func TestHeaderLen(t *testing.T) {
	for _, tc := range []struct {
		integ  esp.Integrity
		v4, v6 int
	}{
		{esp.HMACSHA1_96, 24, 24},
		{esp.HMACSHA256_128, 28, 32},
		{esp.GMAC128, 36, 40},
		{esp.GMAC256, 36, 40},
	} {
		tr, _ := mustAH(t, suite{"", tc.integ}, false, 1)
		if got4, got6 := tr.HeaderLen(false), tr.HeaderLen(true); got4 != tc.v4 || got6 != tc.v6 {
			t.Errorf("%v: HeaderLen %d/%d, want %d/%d", tc.integ, got4, got6, tc.v4, tc.v6)
		}
		h := make([]byte, tc.v6)
		PutHeader(h, 6, tc.v6, 1, 2)
		if int(h[1]) != tc.v6/4-2 {
			t.Errorf("%v: Payload Length %d for %d bytes", tc.integ, h[1], tc.v6)
		}
	}
}

// TestInsertVerifyReference inserts ICVs for every algorithm, IPv4 and IPv6, transport and
// tunnel, with and without ESN, and compares each with the independent construction over a
// canonical image made by hand; Verify must accept the result, and the payload must be
// untouched. AES-GMAC's IV must be the 64-bit sequence number. R-TX-4 / R-RX-6 for AH; RFC
// 4302 §3.3.3 (ICV over the canonical headers, ESN appended); RFC 4543 §4.
func TestInsertVerifyReference(t *testing.T) {
	s := new(Scratch)
	for _, su := range suites {
		for _, esn := range []bool{false, true} {
			for _, fam := range []string{"v4", "v6"} {
				for _, mode := range []struct {
					name string
					nh   byte
					pay  []byte
				}{{"transport", 17, fill(37, 9)}, {"tunnel", 4, fill(60, 0x45)}} {
					name := fmt.Sprintf("%s/ESN=%v/%s/%s", su.name, esn, fam, mode.name)
					tr, key := mustAH(t, su, esn, 3)
					var pkt []byte
					if fam == "v4" {
						pkt = v4(nil, tr.HeaderLen(false), mode.nh, 0xabc, 0x11223344, mode.pay)
					} else {
						pkt = v6(nil, nil, tr.HeaderLen(true), mode.nh, 0xabc, 0x11223344, mode.pay)
					}
					l, err := tr.Insert(s, pkt, 0x55)
					if err != nil {
						t.Fatalf("%s: Insert: %v", name, err)
					}
					ah := l.AH
					iv := pkt[ah+12 : ah+12+tr.IVLen()]
					if tr.IVLen() != 0 && binary.BigEndian.Uint64(iv) != 0x55_11223344 {
						t.Errorf("%s: IV %x, want the 64-bit sequence number", name, iv)
					}
					img := bytes.Clone(pkt[:l.Payload])
					if fam == "v4" {
						zero4(img)
					} else {
						zero6(img)
					}
					icvAt := ah + 12 + tr.IVLen()
					clear(img[icvAt : icvAt+tr.ICVLen()])
					want := refICV(su.integ, key, img, mode.pay, esn, 0x55, iv)
					if got := pkt[icvAt : icvAt+tr.ICVLen()]; !bytes.Equal(got, want) {
						t.Errorf("%s: ICV %x, want %x", name, got, want)
					}
					if !bytes.Equal(pkt[l.Payload:], mode.pay) || l.NextHeader != mode.nh || l.SPI != 0xabc || l.Seq != 0x11223344 {
						t.Errorf("%s: payload or layout wrong: %+v", name, l)
					}
					if _, err := tr.Verify(s, pkt, 0x55); err != nil {
						t.Errorf("%s: Verify: %v", name, err)
					}
					if _, err := tr.Verify(s, pkt, 0x56); (err == nil) == esn {
						t.Errorf("%s: Verify with another seq-high = %v", name, err)
					}
				}
			}
		}
	}
}

// TestTamper changes immutable things, each of which must make Verify fail with ErrAuth
// without writing the packet, and mutable things, which must not: RFC 4302 §3.3.3.1. IPv4
// with a Router Alert (immutable) and a Timestamp (mutable) option, IPv6 with a hop-by-hop
// header holding an option that may change en route and one that may not.
func TestTamper(t *testing.T) {
	ra := []byte{0x94, 4, 0, 0}                                       // Router Alert: immutable
	ts := []byte{0x44, 8, 5, 0, 1, 2, 3, 4}                           // Timestamp: mutable
	opts4 := append(append(bytes.Clone(ra), ts...), 1, 0, 0xee, 0xee) // NOP EOL, then two bytes after EOL
	hbh := []byte{0, 0, 0x3e, 2, 7, 7, 0x1e, 0}                       // hop-by-hop, len 0: option 0x3e (mutable) 2 bytes; 0x1e (immutable) 0 bytes
	for _, su := range suites {
		s := new(Scratch)
		tr, _ := mustAH(t, su, true, 7)
		cases := []struct {
			fam     string
			pkt     []byte
			mutable map[string]int // offsets whose change must not matter
			fixed   map[string]int // offsets whose change must fail
		}{
			{"v4", v4(opts4, tr.HeaderLen(false), 6, 9, 1, fill(50, 1)),
				map[string]int{"TOS": 1, "DF": 6, "TTL": 8, "checksum": 10, "timestamp data": 20 + 4 + 4},
				map[string]int{"version/IHL": 0, "total length low": 3, "identification": 4, "protocol": 9, "source": 12,
					"destination": 19, "router alert value": 23, "NOP": 32, "after EOL": 34,
					"AH next header": 36, "AH reserved": 38, "AH SPI": 40, "AH seq": 47, "ICV": 48 + tr.IVLen(), "payload": 36 + tr.HeaderLen(false) + 10}},
			{"v6", v6([]byte{0}, [][]byte{hbh}, tr.HeaderLen(true), 6, 9, 1, fill(50, 1)),
				map[string]int{"traffic class": 1, "flow label": 3, "hop limit": 7, "mutable option data": 44},
				map[string]int{"payload length": 5, "next header": 6, "source": 8, "destination": 39, "HBH next header": 40,
					"immutable option type": 46, "AH SPI": 52, "ICV": 60 + tr.IVLen(), "payload": 48 + tr.HeaderLen(true)}},
		}
		if tr.IVLen() != 0 {
			cases[0].fixed["IV"] = 48
			cases[1].fixed["IV"] = 60
		}
		if tr.HeaderLen(true) == 32 {
			cases[1].fixed["ICV padding"] = 48 + 31 // padding is covered as it arrived
		}
		for _, c := range cases {
			if _, err := tr.Insert(s, c.pkt, 4); err != nil {
				t.Fatalf("%s %s: Insert: %v", su.name, c.fam, err)
			}
			for what, at := range c.mutable {
				pkt := bytes.Clone(c.pkt)
				pkt[at] ^= 0x40 // for the IPv4 flags: DF, not MF (a fragment is refused)
				if _, err := tr.Verify(s, pkt, 4); err != nil {
					t.Errorf("%s %s: changing mutable %s (byte %d): %v", su.name, c.fam, what, at, err)
				}
			}
			for what, at := range c.fixed {
				pkt := bytes.Clone(c.pkt)
				pkt[at] ^= 0x01
				before := bytes.Clone(pkt)
				_, err := tr.Verify(s, pkt, 4)
				if err == nil {
					t.Errorf("%s %s: changing immutable %s (byte %d) still verifies", su.name, c.fam, what, at)
				} else if err != ErrAuth && !(what == "version/IHL" || what == "total length low" || what == "payload length" ||
					what == "protocol" || what == "next header" || what == "HBH next header") {
					t.Errorf("%s %s: changing %s: %v, want ErrAuth", su.name, c.fam, what, err)
				}
				if !bytes.Equal(pkt, before) {
					t.Errorf("%s %s: Verify wrote the packet", su.name, c.fam)
				}
			}
		}
	}
}

// TestSourceRoutePrediction sends packets whose headers change predictably on the way (RFC
// 4302 Appendix A): an IPv4 loose source route, IPv6 type 0 and type 2 routing headers and a
// segment routing header, each with segments left. The ICV is inserted at the source; the
// test then does what each router does (RFC 791 §3.1 source routing, RFC 8200 §4.4, RFC 8754
// §4.3.1), decrementing TTL / hop limit and rewriting the checksum, and Verify at the final
// destination must accept the packet.
func TestSourceRoutePrediction(t *testing.T) {
	a := func(b byte) []byte { return fill(16, b) }
	for _, su := range suites[:3] {
		s := new(Scratch)
		tr, _ := mustAH(t, su, false, 1)

		// IPv4 LSRR via 10.0.0.1 to 10.0.0.9: the header's destination is the first hop.
		lsrr := []byte{optLSRR, 11, 4, 10, 0, 0, 1, 10, 0, 0, 9, 0} // + EOL
		pkt := v4(lsrr, tr.HeaderLen(false), 17, 5, 6, fill(30, 2))
		copy(pkt[16:20], []byte{10, 0, 0, 5})
		if _, err := tr.Insert(s, pkt, 0); err != nil {
			t.Fatal(err)
		}
		for hop := 0; hop < 2; hop++ { // at 10.0.0.5, then at 10.0.0.1
			ptr := int(pkt[22])
			next := bytes.Clone(pkt[20+ptr-1 : 20+ptr+3])
			copy(pkt[20+ptr-1:], pkt[16:20]) // record this router's address
			copy(pkt[16:20], next)
			pkt[22] += 4
			pkt[8]--
			pkt[10] ^= 0xff // the checksum changes too
		}
		if _, err := tr.Verify(s, pkt, 0); err != nil {
			t.Errorf("%s: IPv4 LSRR at the destination: %v", su.name, err)
		}

		// IPv6 routing headers with an address vector, types 0 and 2.
		for _, rt := range []struct {
			typ   byte
			addrs [][]byte
		}{{0, [][]byte{a(0x61), a(0x62), a(0x63)}}, {2, [][]byte{a(0x71)}}} {
			h := []byte{0, byte(2 * len(rt.addrs)), rt.typ, byte(len(rt.addrs)), 0, 0, 0, 0}
			for _, x := range rt.addrs {
				h = append(h, x...)
			}
			pkt := v6([]byte{nhRouting}, [][]byte{h}, tr.HeaderLen(true), 6, 1, 2, fill(20, 3))
			if _, err := tr.Insert(s, pkt, 0); err != nil {
				t.Fatal(err)
			}
			for pkt[43] > 0 { // RFC 8200 §4.4: swap the destination with address[n-left], left--
				n := int(pkt[41]) / 2
				i := n - int(pkt[43])
				slot := pkt[48+16*i : 64+16*i]
				tmp := bytes.Clone(slot)
				copy(slot, pkt[24:40])
				copy(pkt[24:40], tmp)
				pkt[43]--
				pkt[7]--
			}
			if _, err := tr.Verify(s, pkt, 0); err != nil {
				t.Errorf("%s: IPv6 routing type %d at the destination: %v", su.name, rt.typ, err)
			}
		}

		// Segment routing (type 4): Segment List[0] is the last segment.
		srh := append([]byte{0, 6, 4, 2, 2, 0, 0, 0}, append(append(a(0x83), a(0x82)...), a(0x81)...)...)
		pkt = v6([]byte{nhRouting}, [][]byte{srh}, tr.HeaderLen(true), 6, 1, 2, fill(20, 3))
		copy(pkt[24:40], a(0x81)) // the first segment
		if _, err := tr.Insert(s, pkt, 0); err != nil {
			t.Fatal(err)
		}
		for pkt[43] > 0 {
			pkt[43]--
			k := int(pkt[43])
			copy(pkt[24:40], pkt[48+16*k:64+16*k])
		}
		if _, err := tr.Verify(s, pkt, 0); err != nil {
			t.Errorf("%s: segment routing at the destination: %v", su.name, err)
		}
	}
}

// TestParseErrors checks every refusal of the header walk on a packet that is otherwise
// valid.
func TestParseErrors(t *testing.T) {
	tr, _ := mustAH(t, suites[1], false, 1)
	good4 := v4(nil, 28, 6, 1, 1, fill(8, 1))
	good6 := v6(nil, nil, 32, 6, 1, 1, fill(8, 1))
	mod := func(p []byte, f func([]byte)) []byte { p = bytes.Clone(p); f(p); return p }
	hbh := []byte{0, 0, 1, 4, 0, 0, 0, 0}
	for _, tc := range []struct {
		name string
		pkt  []byte
		want error
	}{
		{"empty", nil, ErrShort},
		{"version 5", mod(good4, func(p []byte) { p[0] = 0x55 }), ErrNotAH},
		{"IPv4 19 bytes", good4[:19], ErrShort},
		{"IHL 4", mod(good4, func(p []byte) { p[0] = 0x44 }), ErrMalformed},
		{"total length over the buffer", mod(good4, func(p []byte) { p[3]++ }), ErrShort},
		{"total length under IHL", mod(good4, func(p []byte) { p[2], p[3] = 0, 16 }), ErrMalformed},
		{"protocol UDP", mod(good4, func(p []byte) { p[9] = 17 }), ErrNotAH},
		{"MF", mod(good4, func(p []byte) { p[6] = 0x20 }), ErrFragment},
		{"fragment offset", mod(good4, func(p []byte) { p[7] = 1 }), ErrFragment},
		{"option length 1", v4([]byte{0x44, 1, 0, 0}, 28, 6, 1, 1, nil), ErrMalformed},
		{"option past the header", v4([]byte{1, 0x44, 8, 0}, 28, 6, 1, 1, nil), ErrMalformed},
		{"option length byte missing", v4([]byte{1, 1, 1, 0x44}, 28, 6, 1, 1, nil), ErrMalformed},
		{"AH cut short", mod(good4, func(p []byte) { p[21] = 20 }), ErrShort},
		{"AH payload length 0", mod(good4, func(p []byte) { p[21] = 0 }), ErrMalformed},
		{"IPv4 total ends inside AH", good4[:30], ErrShort},
		{"IPv6 39 bytes", good6[:39], ErrShort},
		{"jumbogram", mod(good6, func(p []byte) { p[4], p[5] = 0, 0 }), ErrUnsupported},
		{"IPv6 payload length over the buffer", mod(good6, func(p []byte) { p[5]++ }), ErrShort},
		{"IPv6 next header TCP", mod(good6, func(p []byte) { p[6] = 6 }), ErrNotAH},
		{"IPv6 ESP before AH", mod(good6, func(p []byte) { p[6] = 50 }), ErrNotAH},
		{"IPv6 fragment header", v6([]byte{nhFragment}, [][]byte{make([]byte, 8)}, 32, 6, 1, 1, nil), ErrFragment},
		{"hop-by-hop not first", v6([]byte{nhDestOpts, nhHopByHop}, [][]byte{hbh, hbh}, 32, 6, 1, 1, nil), ErrMalformed},
		{"option past its header", v6([]byte{nhDestOpts}, [][]byte{{0, 0, 1, 5, 0, 0, 0, 0}}, 32, 6, 1, 1, nil), ErrMalformed},
		{"option length byte missing", v6([]byte{nhDestOpts}, [][]byte{{0, 0, 1, 3, 0, 0, 0, 5}}, 32, 6, 1, 1, nil), ErrMalformed},
		{"extension header past the end", mod(v6([]byte{nhDestOpts}, [][]byte{hbh}, 32, 6, 1, 1, nil), func(p []byte) { p[41] = 9 }), ErrShort},
		{"routing more left than addresses", v6([]byte{nhRouting}, [][]byte{append([]byte{0, 2, 0, 2, 0, 0, 0, 0}, make([]byte, 16)...)}, 32, 6, 1, 1, nil), ErrMalformed},
		{"routing type 3 with segments left", v6([]byte{nhRouting}, [][]byte{append([]byte{0, 2, 3, 1, 0, 0, 0, 0}, make([]byte, 16)...)}, 32, 6, 1, 1, nil), ErrUnsupported},
		{"SRH list past the header", v6([]byte{nhRouting}, [][]byte{append([]byte{0, 2, 4, 1, 1, 0, 0, 0}, make([]byte, 16)...)}, 32, 6, 1, 1, nil), ErrMalformed},
		{"IPv6 AH 28 bytes", v6(nil, nil, 28, 6, 1, 1, nil), ErrMalformed},
	} {
		_, err := Parse(tc.pkt)
		_, err2 := tr.Verify(new(Scratch), tc.pkt, 0)
		if err != tc.want || err2 != tc.want {
			t.Errorf("%s: Parse %v, Verify %v; want %v", tc.name, err, err2, tc.want)
		}
	}
	// A routing header with no segments left is covered as it is, whatever its type.
	if _, err := Parse(v6([]byte{nhRouting}, [][]byte{append([]byte{0, 2, 3, 0, 0, 0, 0, 0}, make([]byte, 16)...)}, 32, 6, 1, 1, nil)); err != nil {
		t.Errorf("routing type 3, none left: %v", err)
	}
	// The SA decides the AH length: HMAC-SHA1-96 in IPv4 is 24 bytes, not 28.
	sha1, _ := mustAH(t, suites[0], false, 1)
	if _, err := sha1.Verify(new(Scratch), good4, 0); err != ErrICVLength {
		t.Errorf("AH of 28 bytes for HMAC-SHA1-96: %v, want ErrICVLength", err)
	}
	if _, err := sha1.Insert(new(Scratch), bytes.Clone(good4), 0); err != ErrICVLength {
		t.Errorf("Insert into 28 bytes for HMAC-SHA1-96: %v, want ErrICVLength", err)
	}
}

// TestCanonical checks the header image against one written by hand: IPv4 options by type
// byte (immutable ones kept, others zeroed whole, an LSRR's last address as destination, bytes
// after EOL kept) and IPv6 options by their may-change bit.
func TestCanonical(t *testing.T) {
	opts := []byte{
		optNOP, optSecurity, 3, 0xaa, // immutable
		0x07, 7, 4, 1, 2, 3, 4, // Record Route: zeroed
		optLSRR, 7, 4, 9, 9, 9, 9, // LSRR with one address still to visit: predicts dst
		optEOL, 0xee, 0xee, 0xee, 0xee, 0xee, // kept as they are
	}
	pkt := v4(opts, 24, 6, 1, 2, fill(5, 1))
	want := bytes.Clone(pkt[:20+len(opts)+24])
	zero4(want)
	clear(want[24:31])
	copy(want[16:20], []byte{9, 9, 9, 9})
	clear(want[31:38])
	img, l, err := AppendCanonical([]byte{0xff}, pkt)
	if err != nil || !bytes.Equal(img[1:], want) || img[0] != 0xff || l.AH != 20+len(opts) {
		t.Errorf("IPv4:\n got %x %v %+v\nwant   %x", img, err, l, want)
	}

	dest := []byte{0, 1, 0, 1, 0, 0x25, 3, 1, 2, 3, 0x05, 2, 8, 9, 1, 0} // Pad1, PadN(0), mutable(3), immutable(2), PadN(0)
	pkt = v6([]byte{nhDestOpts}, [][]byte{dest}, 24, 6, 1, 2, fill(5, 1))
	want = bytes.Clone(pkt[:40+16+24])
	zero6(want)
	clear(want[40+7 : 40+10])
	img, l, err = AppendCanonical(nil, pkt)
	if err != nil || !bytes.Equal(img, want) || l.AH != 56 || l.End != len(pkt) {
		t.Errorf("IPv6:\n got %x %v %+v\nwant %x", img, err, l, want)
	}
}

// TestAHWipe covers R-SA-5 for AH SAs, and NewTransform's refusals.
func TestAHWipe(t *testing.T) {
	for _, su := range suites {
		tr, _ := mustAH(t, su, false, 1)
		pkt := v4(nil, tr.HeaderLen(false), 6, 1, 1, nil)
		if _, err := tr.Insert(new(Scratch), pkt, 0); err != nil || tr.KeyZeroed() {
			t.Fatalf("%s: %v %v", su.name, err, tr.KeyZeroed())
		}
		tr.Wipe()
		if !tr.KeyZeroed() {
			t.Errorf("%s: key not zeroed", su.name)
		}
		before := bytes.Clone(pkt)
		if _, err := tr.Verify(new(Scratch), pkt, 0); err != ErrWiped {
			t.Errorf("%s: Verify after Wipe: %v", su.name, err)
		}
		if _, err := tr.Insert(new(Scratch), pkt, 0); err != ErrWiped || !bytes.Equal(pkt[:20+12], before[:20+12]) {
			t.Errorf("%s: Insert after Wipe: %v", su.name, err)
		}
	}
	for _, tc := range []struct {
		p   Params
		is  error
		msg string
	}{
		{Params{Integrity: 0, Key: nil}, esp.ErrIntegrity, "ah: esp: integrity algorithm 0, want 1"},
		{Params{Integrity: esp.HMACSHA256_128, Key: make([]byte, 20)}, esp.ErrKeyLength, "ah: esp: HMAC-SHA-256-128 key is 20 bytes, want 32"},
		{Params{Integrity: esp.GMAC192, Key: make([]byte, 24)}, esp.ErrKeyLength, "ah: esp: AES-GMAC-192 key material (key‖salt) is 24 bytes, want 28"},
	} {
		tr, err := NewTransform(tc.p)
		if tr != nil || !errors.Is(err, tc.is) || !strings.HasPrefix(err.Error(), tc.msg) {
			t.Errorf("NewTransform(%+v) = %v, %v; want %q...", tc.p, tr, err, tc.msg)
		}
	}
}
