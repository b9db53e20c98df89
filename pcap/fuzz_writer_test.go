package pcap

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The input of FuzzWriterRoundTrip: a 3-byte head (format, snaplen), then 19-byte packets:
//
//	link type     2 bytes, big-endian
//	seconds       8 bytes, big-endian, signed
//	nanoseconds   4 bytes, big-endian, taken mod 1e9
//	length        2 bytes: the packet's bytes (pattern seeded by the packet's position)
//	original      2 bytes: the origLen argument (less than length means length)
//	mode          1 byte, mod 4: WritePacket, WritePacketV (split at mode/4 points), Write, WriteV
const fuzzPacketLen = 19

type fuzzPacket struct {
	lt      LinkType
	ts      time.Time
	sec     int64
	n, orig int
	mode    int
	splits  int
}

func decodeFuzz(in []byte) (f Format, snaplen int, pkts []fuzzPacket) {
	if len(in) < 3 {
		return FormatPcap, 0, nil
	}
	f = Format(in[0] & 1)
	snaplen = int(binary.BigEndian.Uint16(in[1:3]))
	for b := in[3:]; len(b) >= fuzzPacketLen && len(pkts) < 64; b = b[fuzzPacketLen:] {
		sec := int64(binary.BigEndian.Uint64(b[2:10]))
		ns := int64(binary.BigEndian.Uint32(b[10:14]) % 1e9)
		pkts = append(pkts, fuzzPacket{
			lt:     LinkType(binary.BigEndian.Uint16(b[0:2])),
			ts:     time.Unix(sec, ns),
			sec:    sec,
			n:      int(binary.BigEndian.Uint16(b[14:16])),
			orig:   int(binary.BigEndian.Uint16(b[16:18])),
			mode:   int(b[18] % 4),
			splits: int(b[18] / 4),
		})
	}
	return f, snaplen, pkts
}

func encodeFuzz(f Format, snaplen uint16, pkts []fuzzPacket) []byte {
	b := append([]byte{byte(f)}, byte(snaplen>>8), byte(snaplen))
	for _, p := range pkts {
		b = binary.BigEndian.AppendUint16(b, uint16(p.lt))
		b = binary.BigEndian.AppendUint64(b, uint64(p.ts.Unix()))
		b = binary.BigEndian.AppendUint32(b, uint32(p.ts.Nanosecond()))
		b = binary.BigEndian.AppendUint16(b, uint16(p.n))
		b = binary.BigEndian.AppendUint16(b, uint16(p.orig))
		b = append(b, byte(p.mode+4*p.splits))
	}
	return b
}

// FuzzWriterRoundTrip writes any sequence of packets, of any link types and times, in
// either format, and reads the capture back with Reader: every packet the Writer took comes
// back with its link type, time to the nanosecond, bytes (cut to the snaplen) and original
// length; the Writer refuses exactly the packets the format cannot hold (a second link type
// in pcap, a time outside 1970..2106 for pcap or 1970..2554 for pcapng), and Packets counts
// the others.
func FuzzWriterRoundTrip(f *testing.F) {
	// The seeds are in testdata/fuzz/FuzzWriterRoundTrip (see TestFuzzWriterSeedCorpus).
	f.Fuzz(func(t *testing.T, in []byte) {
		format, snaplen, pkts := decodeFuzz(in)
		first := LinkTypeEthernet
		if len(pkts) > 0 {
			first = pkts[0].lt
		}
		var buf bytes.Buffer
		w, err := NewStreamWriter(&buf, "fuzz", first, Options{Format: format, Snaplen: snaplen})
		if err != nil {
			t.Fatal(err)
		}
		limit := snaplen
		if limit == 0 {
			limit = MaxSnaplen
		}
		var want []Record
		for i, p := range pkts {
			data := pattern(p.n, byte(i))
			lt, orig := p.lt, p.orig
			var err error
			switch p.mode {
			case 0:
				err = w.WritePacket(p.ts, lt, data, orig)
			case 1:
				var parts [][]byte
				rest := data
				for k := 0; k < p.splits && len(rest) > 0; k++ {
					cut := (k*7919 + 13) % (len(rest) + 1)
					parts = append(parts, rest[:cut])
					rest = rest[cut:]
				}
				err = w.WritePacketV(p.ts, lt, orig, append(parts, rest)...)
			case 2:
				lt, orig = first, 0
				err = w.Write(p.ts, data)
			case 3:
				lt, orig = first, 0
				err = w.WriteV(p.ts, data[:len(data)/2], data[len(data)/2:])
			}
			ok := p.sec >= 0 && p.sec <= math.MaxUint32
			if format == FormatPcap {
				ok = ok && lt == first
			} else {
				ok = p.sec >= 0 && uint64(p.sec) <= math.MaxUint64/1_000_000_000-1
			}
			if ok != (err == nil) {
				t.Fatalf("packet %d (%v, %v, %v): %v", i+1, format, lt, p.ts, err)
			}
			if err != nil {
				if !strings.HasPrefix(err.Error(), "fuzz: packet ") {
					t.Fatalf("error does not name the output and the packet: %v", err)
				}
				continue
			}
			want = append(want, Record{uint64(len(want) + 1), p.ts.UTC(), lt, data[:min(len(data), limit)], max(orig, len(data))})
		}
		if w.Packets() != uint64(len(want)) {
			t.Fatalf("Packets = %d, want %d", w.Packets(), len(want))
		}
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
		r, err := NewReader("fuzz", &buf)
		if err != nil {
			t.Fatal(err)
		}
		if r.Format() != format.String() || r.LinkType() != first {
			t.Fatalf("read back as %s of %v, want %v of %v", r.Format(), r.LinkType(), format, first)
		}
		got, err := readAll(t, r)
		if err != io.EOF {
			t.Fatal(err)
		}
		checkRecords(t, got, want)
	})
}

// writerFuzzSeeds is the FuzzWriterRoundTrip seed corpus.
func writerFuzzSeeds() map[string][]byte {
	p := func(lt LinkType, ts time.Time, n, orig, mode int) fuzzPacket {
		return fuzzPacket{lt: lt, ts: ts, n: n, orig: orig, mode: mode % 4, splits: mode / 4}
	}
	mixed := []fuzzPacket{
		p(LinkTypeEthernet, t0, 60, 0, 0),
		p(LinkTypeRaw, t0.Add(1), 1500, 0, 1+4*2),
		p(LinkTypeLinuxSLL2, t0.Add(2), 96, 1514, 0),
		p(LinkTypeEthernet, t0.Add(3), 0, 0, 2),
		p(LinkTypeRaw, t0.Add(4), 3, 4, 1+4*5),
		p(LinkTypeEthernet, t0.Add(5), 999, 0, 3),
	}
	times := []fuzzPacket{
		p(LinkTypeRaw, time.Unix(0, 0), 20, 0, 0),
		p(LinkTypeRaw, time.Unix(1<<32-1, 999999999), 20, 0, 0),
		p(LinkTypeRaw, time.Unix(1<<32, 0), 20, 0, 0),
		p(LinkTypeRaw, time.Unix(-1, 5), 20, 0, 0),
		p(LinkTypeRaw, time.Unix(maxNgSeconds, 999999999), 20, 0, 0),
		p(LinkTypeRaw, time.Unix(maxNgSeconds+1, 0), 20, 0, 0),
	}
	many := make([]fuzzPacket, 20)
	for i := range many {
		many[i] = p(LinkType(i*37%300), t0.Add(time.Duration(i)*time.Millisecond), i*13, i*100, i)
	}
	return map[string][]byte{
		"empty":                encodeFuzz(FormatPcap, 0, nil),
		"pcap-one-link-type":   encodeFuzz(FormatPcap, 0, []fuzzPacket{p(LinkTypeEthernet, t0, 60, 0, 0), p(LinkTypeEthernet, t0.Add(1), 1514, 9000, 1+4), p(LinkTypeEthernet, t0, 5, 0, 2)}),
		"pcap-mixed-refused":   encodeFuzz(FormatPcap, 0, mixed),
		"pcapng-mixed":         encodeFuzz(FormatPcapng, 0, mixed),
		"pcapng-snaplen-100":   encodeFuzz(FormatPcapng, 100, mixed),
		"pcap-snaplen-64":      encodeFuzz(FormatPcap, 64, mixed[:1]),
		"pcap-time-range":      encodeFuzz(FormatPcap, 0, times),
		"pcapng-time-range":    encodeFuzz(FormatPcapng, 0, times),
		"pcapng-many-links":    encodeFuzz(FormatPcapng, 1000, many),
		"pcapng-padding-1to4":  encodeFuzz(FormatPcapng, 0, []fuzzPacket{p(LinkTypeRaw, t0, 1, 0, 0), p(LinkTypeRaw, t0, 2, 0, 0), p(LinkTypeRaw, t0, 3, 0, 0), p(LinkTypeRaw, t0, 4, 0, 0)}),
		"pcap-ethernet-vector": encodeFuzz(FormatPcap, 0, []fuzzPacket{p(LinkTypeEthernet, t0, 1514, 0, 3), p(LinkTypeEthernet, t0, 1514, 0, 1+4*3)}),
	}
}

// TestFuzzWriterSeedCorpus checks that testdata/fuzz/FuzzWriterRoundTrip holds exactly
// writerFuzzSeeds (go test ./pcap -run TestFuzzWriterSeedCorpus -update-seeds rewrites it).
func TestFuzzWriterSeedCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzWriterRoundTrip")
	seeds := writerFuzzSeeds()
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
		t.Errorf("%d files in %s, want %d (run go test -run TestFuzzWriterSeedCorpus -update-seeds)", len(entries), dir, len(seeds))
	}
	for name, b := range seeds {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || !bytes.Equal(got, corpusFile(b)) {
			t.Errorf("%s is missing or out of date (run go test -run TestFuzzWriterSeedCorpus -update-seeds): %v", name, err)
		}
		f, _, pkts := decodeFuzz(b)
		if name != "empty" && (len(pkts) == 0 || f.String() != strings.SplitN(name, "-", 2)[0]) {
			t.Errorf("seed %s decodes to %v with %d packets", name, f, len(pkts))
		}
	}
}
