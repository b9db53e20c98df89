package rxparse

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// ahCase is one frame and the exact AH that ParseAH must return for it (after Parse).
type ahCase struct {
	name  string // also the seed corpus file name, after "seed-"
	frame []byte
	want  AH
}

// ahSized is an AH header of n bytes (Payload Len n/4-2) with the next header and SPI given,
// sequence number 1 and zeroed IV/ICV/padding, followed by next bytes of payload.
func ahSized(nextHeader byte, spi uint32, n, next int) []byte {
	b := make([]byte, n+next)
	b[0], b[1] = nextHeader, byte(n/4-2)
	binary.BigEndian.PutUint32(b[4:8], spi)
	binary.BigEndian.PutUint32(b[8:12], 1)
	for i := n; i < len(b); i++ {
		b[i] = byte(0x30 + i)
	}
	return b
}

// ahCases are AH packets of every shape the receive path meets: the suites' header lengths
// in IPv4 and IPv6, after IPv6 extension headers, ESP+AH bundles, tunnel mode, and the
// broken lengths ParseAH must refuse.
func ahCases(t testing.TB) []ahCase {
	t.Helper()
	ip4AH, ip6AH := ip4(layers.IPProtocolAH), ip6(layers.IPProtocolAH)
	return []ahCase{
		{"ipv4-ah-sha1", // 192.0.2.1 > 198.51.100.7: AH(spi=0x00003001,seq=0x1): [20 bytes of TCP]
			serialize(t, ip4AH, gopacket.Payload(ahSized(6, 0x3001, 24, 20))),
			AH{Off: 20, Len: 24, Payload: 44, SPI: 0x3001, NextHeader: 6}},
		{"ipv4-ah-sha256", // HMAC-SHA-256-128: 12 + 16 = 28 bytes in IPv4
			serialize(t, ip4AH, gopacket.Payload(ahSized(17, 0x3003, 28, 16))),
			AH{Off: 20, Len: 28, Payload: 48, SPI: 0x3003, NextHeader: 17}},
		{"ipv4-ah-gmac", // AES-GMAC: 12 + 8 IV + 16 ICV = 36 bytes in IPv4
			serialize(t, ip4AH, gopacket.Payload(ahSized(6, 0x3004, 36, 20))),
			AH{Off: 20, Len: 36, Payload: 56, SPI: 0x3004, NextHeader: 6}},
		{"ipv6-ah-sha256", // HMAC-SHA-256-128 padded to 32 bytes in IPv6
			serialize(t, ip6AH, gopacket.Payload(ahSized(6, 0x3005, 32, 20))),
			AH{Off: 40, Len: 32, Payload: 72, SPI: 0x3005, NextHeader: 6}},
		{"ipv6-hbh-ah-gmac", // HBH PadN, then AES-GMAC AH padded to 40 bytes
			serialize(t, ip6(0), gopacket.Payload(cat(hbhPadN(51), ahSized(6, 0x3006, 40, 20)))),
			AH{Off: 48, Len: 40, Payload: 88, SPI: 0x3006, NextHeader: 6}},
		{"ipv6-dstopts-ah", // Destination Options before AH (RFC 8200 §4.1 allows it there)
			serialize(t, ip6(60), gopacket.Payload(cat(dstOpts16(51), ahSized(17, 0x3007, 24, 12)))),
			AH{Off: 56, Len: 24, Payload: 80, SPI: 0x3007, NextHeader: 17}},
		{"ipv4-ah-esp-bundle", // AH(spi=0x3008) over ESP(spi=0x1008): an ESP+AH bundle
			serialize(t, ip4AH, gopacket.Payload(cat(ahSized(50, 0x3008, 28, 0), espBytes(0x1008, 1, 40)))),
			AH{Off: 20, Len: 28, Payload: 48, SPI: 0x3008, NextHeader: 50}},
		{"ipv4-ah-tunnel", // AH tunnel mode: the inner IPv4 packet follows AH
			serialize(t, ip4AH, gopacket.Payload(cat(ahSized(4, 0x3009, 24, 0), serialize(t, ip4(layers.IPProtocolUDP), gopacket.Payload(make([]byte, 8)))))),
			AH{Off: 20, Len: 24, Payload: 44, SPI: 0x3009, NextHeader: 4}},
		{"ipv4-ah-exact", // the AH header is the whole payload: nothing after it
			serialize(t, ip4AH, gopacket.Payload(ahSized(59, 0x300a, 24, 0))),
			AH{Off: 20, Len: 24, Payload: 44, SPI: 0x300a, NextHeader: 59}},
		// Broken lengths: Invalid, with the SPI kept when it is there.
		{"ipv4-ah-11-bytes",
			serialize(t, ip4AH, gopacket.Payload(ahSized(6, 0x300b, 24, 0)[:11])),
			AH{Off: 20, SPI: 0x300b, NextHeader: 6, Invalid: true, Reason: reasonAHTruncated}},
		{"ipv4-ah-5-bytes",
			serialize(t, ip4AH, gopacket.Payload(ahSized(6, 0x300c, 24, 0)[:5])),
			AH{Off: 20, NextHeader: 6, Invalid: true, Reason: reasonAHTruncated}},
		{"ipv4-ah-0-bytes",
			serialize(t, ip4AH),
			AH{Off: 20, Invalid: true, Reason: reasonAHTruncated}},
		{"ipv4-ah-payload-len-0",
			serialize(t, ip4AH, gopacket.Payload(patch(ahSized(6, 0x300d, 24, 20), func(b []byte) { b[1] = 0 }))),
			AH{Off: 20, SPI: 0x300d, NextHeader: 6, Invalid: true, Reason: reasonAHLenZero}},
		{"ipv4-ah-past-end", // Payload Len says 28 bytes, 24 are there
			serialize(t, ip4AH, gopacket.Payload(patch(ahSized(6, 0x300e, 24, 0), func(b []byte) { b[1] = 5 }))),
			AH{Off: 20, SPI: 0x300e, NextHeader: 6, Invalid: true, Reason: reasonAHPastEnd}},
		{"ipv6-ah-28-bytes", // 28 bytes is right for IPv4, not for IPv6 (RFC 4302 §2.2)
			serialize(t, ip6AH, gopacket.Payload(ahSized(6, 0x300f, 28, 20))),
			AH{Off: 40, SPI: 0x300f, NextHeader: 6, Invalid: true, Reason: reasonAHNotAligned}},
		// Not AH at all: ParseAH refuses the layout.
		{"ipv4-esp-not-ah",
			serialize(t, ip4(layers.IPProtocolESP), gopacket.Payload(espBytes(0x1001, 1, 40))),
			AH{Invalid: true, Reason: reasonNotAH}},
	}
}

// TestParseAH: every AH packet gets the exact AH (R-RX-2: the SPI and destination the lookup
// uses; the next header that says ESP+AH bundle or tunnel mode; the lengths that must add up
// before the ICV is checked, else CRYPTO_INVALID_PACKET_SYNTAX).
func TestParseAH(t *testing.T) {
	for _, c := range ahCases(t) {
		l := Parse(c.frame)
		got := ParseAH(c.frame, l)
		if got != c.want {
			t.Errorf("%s: ParseAH =\n  %+v\nwant\n  %+v", c.name, got, c.want)
		}
		if msg := ahInvariants(c.frame, l, got); msg != "" {
			t.Errorf("%s: %s", c.name, msg)
		}
	}
	// The Layout the tables of parse_test.go already pin for AH is the one ParseAH starts
	// from: the AH header is at L4.
	for _, c := range goodCases(t) {
		if c.want.Kind != KindAH {
			continue
		}
		if a := ParseAH(c.frame, c.want); a.Invalid || a.Off != c.want.L4 || a.SPI == 0 {
			t.Errorf("%s: ParseAH = %+v", c.name, a)
		}
	}
}

// TestParseAHAllocs: the receive classifier runs ParseAH per packet.
func TestParseAHAllocs(t *testing.T) {
	frame := ahCases(t)[0].frame
	if n := testing.AllocsPerRun(100, func() { ParseAH(frame, Parse(frame)) }); n != 0 {
		t.Errorf("%v allocations per packet", n)
	}
}

// ahInvariants are what the receive path relies on when it indexes the frame with an AH.
func ahInvariants(frame []byte, l Layout, a AH) string {
	if l.Kind != KindAH {
		if a != (AH{Invalid: true, Reason: reasonNotAH}) {
			return fmt.Sprintf("%v layout gave %+v", l.Kind, a)
		}
		return ""
	}
	if a.Off != l.L4 {
		return fmt.Sprintf("Off %d, L4 %d", a.Off, l.L4)
	}
	if a.Invalid != (a.Reason != "") {
		return fmt.Sprintf("Invalid %v with Reason %q", a.Invalid, a.Reason)
	}
	var spi uint32
	if a.Off+8 <= l.End {
		spi = binary.BigEndian.Uint32(frame[a.Off+4:])
	}
	if a.SPI != spi {
		return fmt.Sprintf("SPI %#x, bytes say %#x", a.SPI, spi)
	}
	if a.Invalid {
		if a.Len != 0 || a.Payload != 0 {
			return fmt.Sprintf("Invalid with Len %d Payload %d", a.Len, a.Payload)
		}
		return ""
	}
	switch {
	case a.Len < ahFixedLen || a.Len%4 != 0 || (l.IPv6 && a.Len%8 != 0):
		return fmt.Sprintf("Len %d", a.Len)
	case a.Payload != a.Off+a.Len || a.Payload > l.End:
		return fmt.Sprintf("Payload %d with Off %d Len %d End %d", a.Payload, a.Off, a.Len, l.End)
	case a.NextHeader != frame[a.Off]:
		return fmt.Sprintf("NextHeader %d, byte says %d", a.NextHeader, frame[a.Off])
	}
	return ""
}

// ahCorpusDir is FuzzParseAH's kept corpus.
var ahCorpusDir = filepath.Join("testdata", "fuzz", "FuzzParseAH")

// TestAHSeedCorpus keeps testdata/fuzz/FuzzParseAH/seed-* equal to the frames of ahCases (run
// with -update-corpus to rewrite them), as TestSeedCorpus does for FuzzParse.
func TestAHSeedCorpus(t *testing.T) {
	want := map[string][]byte{}
	for _, c := range ahCases(t) {
		want[seedPrefix+c.name] = corpusFile(c.frame)
	}
	if *updateCorpus {
		if err := os.MkdirAll(ahCorpusDir, 0o755); err != nil {
			t.Fatal(err)
		}
		old, _ := filepath.Glob(filepath.Join(ahCorpusDir, seedPrefix+"*"))
		for _, p := range old {
			if _, keep := want[filepath.Base(p)]; !keep {
				os.Remove(p)
			}
		}
		for name, b := range want {
			if err := os.WriteFile(filepath.Join(ahCorpusDir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	var stale []string
	have, _ := filepath.Glob(filepath.Join(ahCorpusDir, seedPrefix+"*"))
	for _, p := range have {
		if _, ok := want[filepath.Base(p)]; !ok {
			stale = append(stale, filepath.Base(p)+" (no such case)")
		}
	}
	for name, b := range want {
		got, err := os.ReadFile(filepath.Join(ahCorpusDir, name))
		switch {
		case err != nil:
			stale = append(stale, name+" (missing)")
		case !bytes.Equal(got, b):
			stale = append(stale, name+" (differs)")
		}
	}
	if len(stale) > 0 {
		sort.Strings(stale)
		t.Fatalf("AH seed corpus is stale; run go test ./internal/rxparse/ -run TestAHSeedCorpus -update-corpus:\n  %s",
			strings.Join(stale, "\n  "))
	}
}

// FuzzParseAH: whatever the bytes, Parse then ParseAH do not panic, and the AH keeps the
// invariants the receive path indexes the frame by; the answer depends only on the IP
// packet (cutting the frame at End or padding it changes nothing). Seeds: the AH packets of
// ahCases in testdata/fuzz/FuzzParseAH, and FuzzParse's corpus of every kind of frame.
func FuzzParseAH(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join(corpusDir, seedPrefix+"*"))
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if len(lines) == 2 {
			if frame, ok := unquoteCorpus(lines[1]); ok {
				f.Add(frame)
			}
		}
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		l := Parse(frame)
		a := ParseAH(frame, l)
		if msg := ahInvariants(frame, l, a); msg != "" {
			t.Fatalf("ParseAH(%x): %s", frame, msg)
		}
		if l.Kind == KindMalformed {
			return
		}
		if got := ParseAH(frame[:l.End], Parse(frame[:l.End])); got != a {
			t.Fatalf("ParseAH(%x) = %+v, cut at End %d: %+v", frame, a, l.End, got)
		}
		padded := append(frame[:len(frame):len(frame)], 0xff, 0, 0xff, 0)
		if got := ParseAH(padded, Parse(padded)); got != a {
			t.Fatalf("ParseAH(%x) = %+v, padded: %+v", frame, a, got)
		}
	})
}

// unquoteCorpus reads the []byte("...") line of a one-value corpus file.
func unquoteCorpus(line string) ([]byte, bool) {
	if !strings.HasPrefix(line, "[]byte(") || !strings.HasSuffix(line, ")") {
		return nil, false
	}
	s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(line, "[]byte("), ")"))
	return []byte(s), err == nil
}
