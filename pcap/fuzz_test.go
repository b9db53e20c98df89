package pcap

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/gopacket/layers"
)

var updateSeeds = flag.Bool("update-seeds", false, "rewrite testdata/fuzz/FuzzReader from fuzzSeeds")

// FuzzReader feeds arbitrary bytes to NewReader, Next and Network. Properties: no panic;
// Index counts 1, 2, 3, ...; Network's link and ip lie inside Data, in that order; every
// error from the reader starts with the name given ("fuzz: ", and "fuzz: packet N: " with
// the right N for Next) and is sticky.
func FuzzReader(f *testing.F) {
	// The seeds are in testdata/fuzz/FuzzReader (see TestFuzzSeedCorpus).
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader("fuzz", bytes.NewReader(data))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz: ") {
				t.Fatalf("NewReader error does not name the input: %v", err)
			}
			return
		}
		if f := r.Format(); f != "pcap" && f != "pcapng" {
			t.Fatalf("Format %q", f)
		}
		var n uint64
		for {
			rec, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				if want := fmt.Sprintf("fuzz: packet %d: ", n+1); !strings.HasPrefix(err.Error(), want) {
					t.Fatalf("Next error %q does not start with %q", err, want)
				}
				if _, err2 := r.Next(); err2 != err {
					t.Fatalf("error not sticky: %v then %v", err, err2)
				}
				break
			}
			n++
			if rec.Index != n {
				t.Fatalf("Index %d, want %d", rec.Index, n)
			}
			if len(rec.Data) > MaxSnaplen {
				t.Fatalf("packet %d: %d bytes", n, len(rec.Data))
			}
			link, ip, err := Network(rec.Link, rec.Data)
			checkNetwork(t, rec.Link, rec.Data, link, ip, err)
		}
		if _, err := r.Next(); err == nil {
			t.Fatal("Next succeeded after the end")
		}
	})
}

// checkNetwork checks one result of Network.
func checkNetwork(t *testing.T, lt LinkType, frame, link, ip []byte, err error) {
	t.Helper()
	if err != nil {
		if !errors.Is(err, ErrNotIP) && !errors.Is(err, ErrLinkType) && !errors.Is(err, ErrShort) {
			t.Fatalf("Network(%v): unexpected error %v", lt, err)
		}
		if errors.Is(err, ErrLinkType) == Supported(lt) {
			t.Fatalf("Network(%v) = %v but Supported = %v", lt, err, Supported(lt))
		}
		if link != nil || ip != nil {
			t.Fatal("slices returned with an error")
		}
		return
	}
	if !Supported(lt) {
		t.Fatalf("Network succeeded for unsupported %v", lt)
	}
	if len(link)+len(ip) > len(frame) || len(ip) < ipv4MinLen {
		t.Fatalf("link %d + ip %d bytes, frame %d", len(link), len(ip), len(frame))
	}
	if len(link) > 0 && &link[0] != &frame[0] {
		t.Fatal("link does not start the frame")
	}
	if &ip[0] != &frame[len(link)] {
		t.Fatal("ip does not follow link in the frame")
	}
	if cap(link) != len(link) {
		t.Fatal("link capacity reaches into ip")
	}
}

// FuzzNetwork: Network on any link type and frame; then SetIPVersion to either version
// on a copy, after which Network must find an IP packet behind a link header of the same
// length (or ErrShort when what follows is too short for an IPv6 header), and nothing
// behind the link header may change.
func FuzzNetwork(f *testing.F) {
	for _, s := range networkSeeds(f) {
		f.Add(uint16(s.lt), s.frame)
	}
	f.Fuzz(func(t *testing.T, lt16 uint16, frame []byte) {
		lt := LinkType(lt16)
		link, ip, err := Network(lt, frame)
		checkNetwork(t, lt, frame, link, ip, err)

		// EtherPayload: for a cooked record with an EtherType, the bytes after its header,
		// which Network finds the IP packet in when that EtherType is IP's.
		if et, p, ok := EtherPayload(lt, frame); ok {
			if et < 0x0600 || len(p) >= len(frame) || !bytes.Equal(p, frame[len(frame)-len(p):]) {
				t.Fatalf("EtherPayload: %#04x, %d of %d bytes", et, len(p), len(frame))
			}
			if err == nil && (et == 0x0800 || et == 0x86dd) && len(ip) > len(p) {
				t.Fatalf("EtherPayload gave %d bytes, Network an IP packet of %d", len(p), len(ip))
			}
		} else if p != nil || et != 0 {
			t.Fatalf("EtherPayload: not ok, but %#04x and %d bytes", et, len(p))
		}

		junk := append([]byte(nil), frame...)
		SetIPVersion(lt, junk, true) // any bytes as a link header: must not panic
		SetIPVersion(lt, junk, false)
		if err != nil {
			return
		}
		for _, v6 := range []bool{false, true} {
			cp := append([]byte(nil), frame...)
			SetIPVersion(lt, cp[:len(link)], v6)
			if !bytes.Equal(cp[len(link):], frame[len(link):]) {
				t.Fatal("SetIPVersion wrote past the link header")
			}
			link2, ip2, err := Network(lt, cp)
			if err != nil {
				if !errors.Is(err, ErrShort) {
					t.Fatalf("after SetIPVersion(%v): %v", v6, err)
				}
				continue
			}
			if len(link2) != len(link) || &ip2[0] != &cp[len(link)] {
				t.Fatalf("after SetIPVersion(%v): link %d bytes, was %d", v6, len(link2), len(link))
			}
		}
	})
}

type networkSeed struct {
	lt    LinkType
	frame []byte
}

func networkSeeds(tb testing.TB) []networkSeed {
	v4, v6 := ipv4UDP(tb, 4), ipv6UDP(tb, 4)
	return []networkSeed{
		{LinkTypeEthernet, ether(tb, v4)},
		{LinkTypeEthernet, etherVLAN(tb, v6, layers.EthernetTypeQinQ, 1, 2)},
		{LinkTypeEthernet, cat(macB, macA, []byte{0x08, 0x06}, make([]byte, 28))},
		{LinkTypeLinuxSLL, cat(sllHeader(0x8100), vlanTag(3, 0x0800), v4)},
		{LinkTypeLinuxSLL2, cat(sll2Header(0x86dd), v6)},
		{LinkTypeRaw, v4},
		{LinkTypeRawDLT14, v6},
		{LinkTypeIPv4, v4},
		{LinkTypeIPv6, v6},
		{LinkTypeNull, cat(nullHeader(30, false), v6)},
		{LinkTypeLoop, cat(nullHeader(2, true), v4)},
		{105, make([]byte, 30)},
	}
}

// fuzzSeeds are the FuzzReader seed corpus: a valid capture of every link type, in each
// format, byte order and resolution, and truncated or corrupt variants.
func fuzzSeeds(t *testing.T) map[string][]byte {
	v4, v6 := ipv4UDP(t, 6), ipv6UDP(t, 6)
	two := func(a, b []byte) []pkt { return []pkt{{ts: t0, data: a}, {ts: t0.Add(1001), data: b, iface: 1}} }
	seeds := map[string][]byte{
		"pcap-ethernet-usec":     pcapgoFile(t, false, LinkTypeEthernet, 65535, two(ether(t, v4), etherVLAN(t, v6, layers.EthernetTypeDot1Q, 9))),
		"pcap-raw-nsec":          pcapgoFile(t, true, LinkTypeRaw, 65535, two(v4, v6)),
		"pcap-dlt12":             pcapgoFile(t, false, LinkTypeRawDLT12, 0, two(v4, v6)),
		"pcap-dlt14-be":          rawPcap(true, true, LinkTypeRawDLT14, 0, two(v6, v4)),
		"pcap-ipv4-228":          pcapgoFile(t, true, LinkTypeIPv4, 1500, two(v4, v4)),
		"pcap-ipv6-229-be":       rawPcap(true, false, LinkTypeIPv6, 1500, two(v6, v6)),
		"pcap-sll-be-usec":       rawPcap(true, false, LinkTypeLinuxSLL, 65535, two(cat(sllHeader(0x0800), v4), cat(sllHeader(0x0806), make([]byte, 28)))),
		"pcap-sll2-be-nsec":      rawPcap(true, true, LinkTypeLinuxSLL2, 65535, two(cat(sll2Header(0x86dd), v6), cat(sll2Header(0x8100), vlanTag(4, 0x0800), v4))),
		"pcap-null-le":           rawPcap(false, false, LinkTypeNull, 65535, two(cat(nullHeader(2, false), v4), cat(nullHeader(28, false), v6))),
		"pcap-loop":              rawPcap(false, true, LinkTypeLoop, 65535, two(cat(nullHeader(2, true), v4), cat(nullHeader(24, true), v6))),
		"pcap-80211-unsupported": rawPcap(false, false, 105, 65535, two(make([]byte, 24), make([]byte, 10))),
		"pcapng-three-interfaces": pcapngFile(t, []LinkType{LinkTypeEthernet, LinkTypeLinuxSLL, LinkTypeRaw},
			[]pkt{{ts: t0, data: ether(t, v4)}, {ts: t0, data: cat(sllHeader(0x86dd), v6), iface: 1}, {ts: t0, data: v4, iface: 2}}),
	}
	hand, _ := handNg(t)
	seeds["pcapng-hand-built-two-sections"] = hand
	cut, off := pcapCut(t, 40, 40, 40)
	seeds["pcap-cut-in-file-header"] = cut[:13]
	seeds["pcap-cut-in-record-header"] = cut[:off[1]+7]
	seeds["pcap-cut-in-record-data"] = cut[:off[2]+16+20]
	ng, noff := ngCut()
	seeds["pcapng-cut-in-section-header"] = ng[:20]
	seeds["pcapng-cut-in-packet-block"] = ng[:noff[3]+40]
	bad := append([]byte(nil), ng...)
	bad[noff[3]+4]++ // block length not a multiple of 4
	seeds["pcapng-corrupt-block-length"] = bad
	for _, name := range []string{"scapy_ether.pcap", "scapy_sll2_nano_be.pcap", "wireshark_mixed.pcapng"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		seeds["real-"+strings.TrimSuffix(strings.ReplaceAll(name, "_", "-"), filepath.Ext(name))] = b
	}
	return seeds
}

// corpusFile is a seed in the format of go test's corpus files.
func corpusFile(b []byte) []byte {
	return []byte("go test fuzz v1\n[]byte(" + strconv.Quote(string(b)) + ")\n")
}

// TestFuzzSeedCorpus checks that testdata/fuzz/FuzzReader holds exactly fuzzSeeds (run
// with -update-seeds to rewrite it), and that the valid seeds read without error.
func TestFuzzSeedCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzReader")
	seeds := fuzzSeeds(t)
	if len(seeds) < 12 {
		t.Fatalf("%d seeds", len(seeds))
	}
	if *updateSeeds {
		os.RemoveAll(dir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range seeds {
			if err := os.WriteFile(filepath.Join(dir, name), corpusFile(b), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(seeds) {
		t.Errorf("%d files in %s, want %d (run go test -run TestFuzzSeedCorpus -update-seeds)", len(entries), dir, len(seeds))
	}
	for name, b := range seeds {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || !bytes.Equal(got, corpusFile(b)) {
			t.Errorf("%s is missing or out of date (run go test -run TestFuzzSeedCorpus -update-seeds): %v", name, err)
		}
		valid := !strings.Contains(name, "cut") && !strings.Contains(name, "corrupt")
		r, err := NewReader(name, bytes.NewReader(b))
		if err == nil {
			_, err = readAll(t, r)
		}
		if valid != (err == io.EOF) {
			t.Errorf("seed %s: %v", name, err)
		}
	}
}
