package ah

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// seedPackets are real AH packets for the fuzz targets' seeds (also kept as files in
// testdata/fuzz/FuzzParse and testdata/fuzz/FuzzVerify): IPv4 with immutable, mutable and
// source-route options, IPv6 with hop-by-hop, destination options and routing headers of
// each kind, tunnel mode, every algorithm. Each is sealed with fuzzTransforms()[which].
func seedPackets(t testing.TB) (pkts [][]byte, which []uint8) {
	trs := fuzzTransforms(t)
	a := func(b byte) []byte { return fill(16, b) }
	for i, tr := range trs {
		h4, h6 := tr.HeaderLen(false), tr.HeaderLen(true)
		for _, p := range [][]byte{
			v4(nil, h4, 6, 0x100, 1, fill(20, 1)),
			v4([]byte{optNOP, optSecurity, 3, 7, 0x44, 8, 5, 0, 1, 2, 3, 4, optLSRR, 7, 4, 9, 9, 9, 9, optEOL, 0, 0, 0, 0}, h4, 17, 0x101, 2, fill(9, 2)),
			v4([]byte{optRouterAl, 4, 0, 0}, h4, 4, 0x102, 3, append([]byte{0x45, 0, 0, 32, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2}, fill(12, 3)...)),
			v6(nil, nil, h6, 41, 0x103, 4, fill(40, 4)),
			v6([]byte{nhHopByHop, nhDestOpts}, [][]byte{{0, 0, 0x3e, 2, 1, 2, 1, 0}, {0, 0, 0, 1, 0, 0x05, 1, 8}}, h6, 58, 0x104, 5, fill(8, 5)),
			v6([]byte{nhRouting}, [][]byte{append(append([]byte{0, 4, 0, 2, 0, 0, 0, 0}, a(0x61)...), a(0x62)...)}, h6, 6, 0x105, 6, fill(20, 6)),
			v6([]byte{nhRouting}, [][]byte{append([]byte{0, 2, 2, 1, 0, 0, 0, 0}, a(0x71)...)}, h6, 6, 0x106, 7, nil),
			v6([]byte{nhRouting}, [][]byte{append(append([]byte{0, 4, 4, 1, 1, 0, 0, 0}, a(0x82)...), a(0x81)...)}, h6, 17, 0x107, 8, fill(3, 7)),
		} {
			if _, err := tr.Insert(new(Scratch), p, uint32(i)); err != nil {
				t.Fatalf("seed %d/%d: %v", i, len(pkts), err)
			}
			pkts = append(pkts, p)
			which = append(which, uint8(i))
		}
	}
	return pkts, which
}

// fuzzTransforms are the SAs FuzzVerify checks against (the first argument picks one,
// modulo the count), one per algorithm, the odd ones with ESN.
func fuzzTransforms(t testing.TB) []*Transform {
	var out []*Transform
	for i, su := range suites {
		tr, err := NewTransform(Params{Integrity: su.integ, Key: fill(su.integ.KeyLen(), byte(0x30+i)), ESN: i%2 == 1})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tr)
	}
	return out
}

// FuzzParse feeds arbitrary bytes to the header walk (Parse, AppendCanonical, ParseHeader).
// It must not panic; Parse and AppendCanonical must agree; on success the layout must be
// inside the packet, the image must be pkt[:Payload] long with the AH header and the source
// address copied as they are, and canonicalising the image (with the payload behind it) again
// must change nothing: every zeroed field is zero, every predicted field is at its value at
// the receiver.
func FuzzParse(f *testing.F) {
	pkts, _ := seedPackets(f)
	for _, p := range pkts {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, pkt []byte) {
		orig := bytes.Clone(pkt)
		l, err := Parse(pkt)
		img, l2, err2 := AppendCanonical(make([]byte, 0, 8), pkt)
		if err != err2 || l != l2 {
			t.Fatalf("Parse %v %+v, AppendCanonical %v %+v", err, l, err2, l2)
		}
		if !bytes.Equal(pkt, orig) {
			t.Fatal("the walk wrote the packet")
		}
		if h, err := ParseHeader(pkt, len(pkt) > 0 && pkt[0]>>4 == 6); err == nil && (h.Len < FixedLen || h.Len > len(pkt)) {
			t.Fatalf("ParseHeader length %d of %d bytes", h.Len, len(pkt))
		}
		if err != nil {
			return
		}
		min, src, srcLen := 20, 12, 4
		if l.V6 {
			min, src, srcLen = 40, 8, 16
		}
		switch {
		case l.AH < min || l.AHLen < FixedLen || l.AH+l.AHLen != l.Payload || l.Payload > l.End || l.End > len(pkt):
			t.Fatalf("layout %+v for %d bytes", l, len(pkt))
		case len(img) != l.Payload:
			t.Fatalf("image %d bytes, payload at %d", len(img), l.Payload)
		case !bytes.Equal(img[l.AH:], pkt[l.AH:l.Payload]) || !bytes.Equal(img[src:src+srcLen], pkt[src:src+srcLen]):
			t.Fatal("the AH header or the source address changed in the image")
		case l.NextHeader != pkt[l.AH] || l.SPI != binary.BigEndian.Uint32(pkt[l.AH+4:]) || l.Seq != binary.BigEndian.Uint32(pkt[l.AH+8:]):
			t.Fatalf("layout fields %+v", l)
		}
		again := append(bytes.Clone(img), pkt[l.Payload:l.End]...)
		img2, l3, err := AppendCanonical(nil, again)
		if err != nil || !bytes.Equal(img2, img) || l3 != (Layout{V6: l.V6, AH: l.AH, AHLen: l.AHLen, Payload: l.Payload, End: l.End, NextHeader: l.NextHeader, SPI: l.SPI, Seq: l.Seq}) {
			t.Fatalf("canonicalising the image again: %v\n got %x\nwant %x", err, img2, img)
		}
	})
}

// FuzzVerify feeds arbitrary packets to Verify under each of fuzzTransforms. It must not
// panic and must never write the packet. A packet it accepts must be one Insert makes: Insert
// on a copy gives it back byte for byte, once the parts Insert sets itself (zero padding, the
// AES-GMAC IV as the sequence number) are as Insert would set them; and whatever Insert then
// makes, Verify accepts.
func FuzzVerify(f *testing.F) {
	trs := fuzzTransforms(f)
	pkts, which := seedPackets(f)
	for i, p := range pkts {
		f.Add(which[i], uint32(which[i]), p)
	}
	f.Fuzz(func(t *testing.T, which uint8, seqHi uint32, pkt []byte) {
		tr := trs[int(which)%len(trs)]
		s := new(Scratch)
		orig := bytes.Clone(pkt)
		l, err := tr.Verify(s, pkt, seqHi)
		if !bytes.Equal(pkt, orig) {
			t.Fatal("Verify wrote the packet")
		}
		if err != nil {
			if pl, perr := Parse(pkt); perr != nil && perr != err {
				t.Fatalf("Verify %v, Parse %v", err, perr)
			} else if perr == nil && err != ErrAuth && err != ErrICVLength {
				t.Fatalf("Verify %v for a packet Parse accepts (%+v)", err, pl)
			}
			return
		}
		cp := bytes.Clone(pkt)
		if _, err := tr.Insert(s, cp, seqHi); err != nil {
			t.Fatalf("Insert of an accepted packet: %v", err)
		}
		icvEnd := l.AH + FixedLen + tr.IVLen() + tr.ICVLen()
		ivOK := tr.IVLen() == 0 || binary.BigEndian.Uint64(pkt[l.AH+FixedLen:]) == uint64(seqHi)<<32|uint64(l.Seq)
		if ivOK && bytes.Equal(pkt[icvEnd:l.Payload], make([]byte, l.Payload-icvEnd)) && !bytes.Equal(cp, pkt) {
			t.Fatalf("Insert changed an accepted packet:\n got %x\nwant %x", cp, pkt)
		}
		if _, err := tr.Verify(s, cp, seqHi); err != nil {
			t.Fatalf("Verify of Insert's packet: %v", err)
		}
	})
}

// TestWriteFuzzSeeds rewrites the kept seed corpora testdata/fuzz/FuzzParse and
// testdata/fuzz/FuzzVerify from seedPackets when OV2_WRITE_FUZZ_SEEDS=1 (after a change to the
// seeds or to the transforms' keys); otherwise it checks that the kept files are what it
// would write, so the corpus cannot drift from the code silently.
func TestWriteFuzzSeeds(t *testing.T) {
	pkts, which := seedPackets(t)
	write := os.Getenv("OV2_WRITE_FUZZ_SEEDS") == "1"
	for i, p := range pkts {
		for name, body := range map[string]string{
			"FuzzParse":  fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", p),
			"FuzzVerify": fmt.Sprintf("go test fuzz v1\nbyte(%q)\nuint32(%d)\n[]byte(%q)\n", which[i], which[i], p),
		} {
			path := filepath.Join("testdata", "fuzz", name, fmt.Sprintf("seed-%02d", i))
			if write {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil || string(got) != body {
				t.Errorf("%s is missing or stale (%v); regenerate with OV2_WRITE_FUZZ_SEEDS=1 go test -run TestWriteFuzzSeeds ./ah", path, err)
			}
		}
	}
}
