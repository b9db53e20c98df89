package pcap

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ov2dev/ov2/internal/interop"
)

// streamCapture writes pkts with a stream Writer into memory and commits.
type wpkt struct {
	ts   time.Time
	lt   LinkType
	data []byte
	orig int // passed to WritePacket as is
}

func streamCapture(t *testing.T, f Format, first LinkType, snaplen int, pkts []wpkt) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewStreamWriter(&buf, "mem", first, Options{Format: f, Snaplen: snaplen})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range pkts {
		if err := w.WritePacket(p.ts, p.lt, p.data, p.orig); err != nil {
			t.Fatalf("packet %d: %v", i+1, err)
		}
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestFormatFor(t *testing.T) {
	for path, want := range map[string]Format{
		"out.pcapng": FormatPcapng, "dir/X.PCAPNG": FormatPcapng, "out.pcap": FormatPcap,
		"-": FormatPcap, "out": FormatPcap, "out.pcapng.gz": FormatPcap, "pcapng": FormatPcap,
	} {
		if got := FormatFor(path); got != want {
			t.Errorf("FormatFor(%q) = %v, want %v", path, got, want)
		}
	}
	if FormatPcap.String() != "pcap" || FormatPcapng.String() != "pcapng" || Format(7).String() != "Format(7)" {
		t.Errorf("String: %v %v %v", FormatPcap, FormatPcapng, Format(7))
	}
	if _, err := NewStreamWriter(io.Discard, "x", LinkTypeRaw, Options{Format: 7}); err == nil || err.Error() != "x: unknown output format Format(7)" {
		t.Errorf("format 7: %v", err)
	}
}

// TestPcapngExactBytes compares the Writer's pcapng with the same blocks built by the
// tests' own encoder (ngBuilder): section header with shb_userappl "ov2", one interface per
// link type in the order of first use, each with the snaplen and if_tsresol 9, enhanced
// packet blocks with nanosecond timestamps, padding and the original length.
func TestPcapngExactBytes(t *testing.T) {
	d1, d2, d3 := pattern(5, 1), pattern(8, 2), pattern(300, 3)
	got := streamCapture(t, FormatPcapng, LinkTypeEthernet, 200, []wpkt{
		{t0, LinkTypeEthernet, d1, 0},
		{t0.Add(1), LinkTypeRaw, d2, 1500},
		{t0.Add(2), LinkTypeEthernet, d3, 0},  // cut to 200
		{t0.Add(3), LinkTypeLinuxSLL2, d1, 3}, // orig below len(data): len(data)
	})
	var n ngBuilder
	n.shb(n.opt(4, []byte("ov2")))
	n.idb(LinkTypeEthernet, 200, n.opt(9, []byte{9}))
	ns := uint64(t0.UnixNano())
	n.epb(0, ns, d1, 5)
	n.idb(LinkTypeRaw, 200, n.opt(9, []byte{9}))
	n.epb(1, ns+1, d2, 1500)
	n.epb(0, ns+2, d3[:200], 300)
	n.idb(LinkTypeLinuxSLL2, 200, n.opt(9, []byte{9}))
	n.epb(2, ns+3, d1, 5)
	if !bytes.Equal(got, n.b) {
		t.Errorf("pcapng bytes differ\n got %s\nwant %s", hex.EncodeToString(got), hex.EncodeToString(n.b))
	}
	// The first blocks spelled out: SHB (40 bytes), IDB (32), EPB of 5 bytes (40).
	want := "0a0d0d0a" + "28000000" + "4d3c2b1a" + "0100" + "0000" + "ffffffffffffffff" + "0400" + "0300" + "6f763200" + "00000000" + "28000000" +
		"01000000" + "20000000" + "0100" + "0000" + "c8000000" + "0900" + "0100" + "09000000" + "00000000" + "20000000" +
		"06000000" + "28000000" + "00000000" + hex.EncodeToString(binary.LittleEndian.AppendUint32(nil, uint32(ns>>32))) +
		hex.EncodeToString(binary.LittleEndian.AppendUint32(nil, uint32(ns))) + "05000000" + "05000000" + "0102030405000000" + "28000000"
	if g := hex.EncodeToString(got[:40+32+40]); g != want {
		t.Errorf("first blocks\n got %s\nwant %s", g, want)
	}
}

// TestWriterFormatsRoundTrip writes each format through CreateOutput and reads it back:
// link types, timestamps to the nanosecond, data, original lengths, snaplen cuts.
func TestWriterFormatsRoundTrip(t *testing.T) {
	v4, v6 := ipv4UDP(t, 100), ipv6UDP(t, 300)
	eth := ether(t, v4)
	sll2 := cat(sll2Header(0x86dd), v6)
	long := ether(t, ipv4UDP(t, 1000))
	ts := []time.Time{t0, t0.Add(1), t0.Add(time.Hour + 999999999), time.Unix(1<<32-1, 999999999).UTC(), time.Unix(0, 1).UTC()}
	for _, f := range []Format{FormatPcap, FormatPcapng} {
		t.Run(f.String(), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out."+f.String())
			w := must(CreateOutput(path, LinkTypeEthernet, Options{Format: f, Snaplen: 400}))
			defer w.Abort()
			if w.Path() != path || w.Format() != f {
				t.Errorf("Path %q Format %v", w.Path(), w.Format())
			}
			write := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			write(w.WritePacket(ts[0], LinkTypeEthernet, eth, 0))
			write(w.WritePacket(ts[1], LinkTypeEthernet, eth[:60], 1514))           // a snaplen-cut input packet
			write(w.WritePacketV(ts[2], LinkTypeEthernet, 0, long[:14], long[14:])) // cut to 400
			write(w.WritePacketV(ts[3], LinkTypeEthernet, 9000, long[:14], long[14:]))
			write(w.Write(ts[4], eth))
			write(w.WriteV(ts[0], eth[:14], eth[14:]))
			want := []Record{
				{1, ts[0], LinkTypeEthernet, eth, len(eth)},
				{2, ts[1], LinkTypeEthernet, eth[:60], 1514},
				{3, ts[2], LinkTypeEthernet, long[:400], len(long)},
				{4, ts[3], LinkTypeEthernet, long[:400], 9000},
				{5, ts[4], LinkTypeEthernet, eth, len(eth)},
				{6, ts[0], LinkTypeEthernet, eth, len(eth)},
			}
			if f == FormatPcapng {
				write(w.WritePacket(ts[1], LinkTypeRaw, v4, 0))
				write(w.WritePacketV(ts[2], LinkTypeLinuxSLL2, 2000, sll2[:20], sll2[20:]))
				write(w.WritePacket(ts[3], LinkTypeEthernet, eth, 0))
				write(w.WritePacket(ts[4], LinkTypeRaw, v6[:40], 348))
				want = append(want,
					Record{7, ts[1], LinkTypeRaw, v4, len(v4)},
					Record{8, ts[2], LinkTypeLinuxSLL2, sll2, 2000},
					Record{9, ts[3], LinkTypeEthernet, eth, len(eth)},
					Record{10, ts[4], LinkTypeRaw, v6[:40], 348})
			}
			if w.Packets() != uint64(len(want)) {
				t.Errorf("Packets = %d, want %d", w.Packets(), len(want))
			}
			write(w.Commit())
			r := must(Open(path))
			defer r.Close()
			if r.Format() != f.String() || r.LinkType() != LinkTypeEthernet {
				t.Errorf("read back as %s, link type %v", r.Format(), r.LinkType())
			}
			recs, err := readAll(t, r)
			if err != io.EOF {
				t.Fatal(err)
			}
			checkRecords(t, recs, want)
		})
	}
}

// TestWriterEmptyPcapng: a pcapng without packets still names its first link type.
func TestWriterEmptyPcapng(t *testing.T) {
	b := streamCapture(t, FormatPcapng, LinkTypeLinuxSLL2, 0, nil)
	if len(b) != ngSHBLen+ngIDBLen {
		t.Errorf("%d bytes, want %d", len(b), ngSHBLen+ngIDBLen)
	}
	if recs := readFile(t, "empty", b, "pcapng", LinkTypeLinuxSLL2); len(recs) != 0 {
		t.Errorf("%d records", len(recs))
	}
	// The snaplen of an interface is the Writer's (MaxSnaplen for 0).
	if got := binary.LittleEndian.Uint32(b[ngSHBLen+12:]); got != MaxSnaplen {
		t.Errorf("IDB snaplen %d", got)
	}
}

// TestPcapSecondLinkType: a pcap file refuses a packet of another link type, for that
// packet only.
func TestPcapSecondLinkType(t *testing.T) {
	var buf bytes.Buffer
	w := must(NewStreamWriter(&buf, "out.pcap", LinkTypeEthernet, Options{}))
	eth := ether(t, ipv4UDP(t, 10))
	for range 6 {
		if err := w.WritePacket(t0, LinkTypeEthernet, eth, 0); err != nil {
			t.Fatal(err)
		}
	}
	err := w.WritePacket(t0, LinkTypeRaw, ipv4UDP(t, 10), 0)
	const want = "out.pcap: packet 7 is Raw (101) but a pcap file holds one link type, Ethernet (1): write pcapng (a .pcapng output) to keep both"
	if err == nil || err.Error() != want {
		t.Errorf("second link type:\n got %v\nwant %s", err, want)
	}
	if err := w.WritePacketV(t0, LinkTypeLinuxSLL2, 0, sll2Header(0x0800), ipv4UDP(t, 1)); err == nil ||
		err.Error() != "out.pcap: packet 7 is Linux SLL2 (276) but a pcap file holds one link type, Ethernet (1): write pcapng (a .pcapng output) to keep both" {
		t.Errorf("WritePacketV: %v", err)
	}
	if err := w.WritePacket(t0.Add(1), LinkTypeEthernet, eth, 0); err != nil {
		t.Errorf("a packet of the file's link type after the refusal: %v", err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if recs := readFile(t, "out.pcap", buf.Bytes(), "pcap", LinkTypeEthernet); len(recs) != 7 {
		t.Errorf("%d records, want 7", len(recs))
	}
}

// TestWriterTimeRange: pcap holds 1970 to 2106, pcapng 1970 to 2554; a time outside fails
// that packet only, and the ends round-trip.
func TestWriterTimeRange(t *testing.T) {
	last := time.Unix(maxNgSeconds, 999999999).UTC()
	if last.Format(time.RFC3339) != "2554-07-21T23:34:32Z" {
		t.Errorf("last pcapng second %v", last)
	}
	var buf bytes.Buffer
	w := must(NewStreamWriter(&buf, "x.pcapng", LinkTypeRaw, Options{Format: FormatPcapng}))
	for _, ts := range []time.Time{{}, time.Unix(-1, 999999999), time.Unix(maxNgSeconds+1, 0)} {
		err := w.WritePacket(ts, LinkTypeRaw, []byte{0x45}, 0)
		if err == nil || !strings.HasPrefix(err.Error(), "x.pcapng: packet 1: time ") || !strings.HasSuffix(err.Error(), " cannot be written in pcapng (1970 to 2554)") {
			t.Errorf("pcapng at %v: %v", ts, err)
		}
	}
	for _, ts := range []time.Time{time.Unix(0, 0).UTC(), last, time.Unix(1<<32, 5).UTC()} {
		if err := w.WritePacket(ts, LinkTypeRaw, []byte{0x45}, 0); err != nil {
			t.Errorf("pcapng at %v: %v", ts, err)
		}
	}
	w.Commit()
	recs := readFile(t, "x.pcapng", buf.Bytes(), "pcapng", LinkTypeRaw)
	if len(recs) != 3 || !recs[0].Time.Equal(time.Unix(0, 0)) || !recs[1].Time.Equal(last) || !recs[2].Time.Equal(time.Unix(1<<32, 5)) {
		t.Errorf("times read back: %v", recs)
	}
}

// TestWriterFormatsAllocs: no allocation per packet in either format, for WritePacket and
// WritePacketV, once every link type has its interface.
func TestWriterFormatsAllocs(t *testing.T) {
	for _, f := range []Format{FormatPcap, FormatPcapng} {
		w := must(CreateOutput(filepath.Join(t.TempDir(), "a"), LinkTypeEthernet, Options{Format: f}))
		defer w.Abort()
		ip := ipv4UDP(t, 1001)
		frame := ether(t, ip)
		link := frame[:14]
		lt2 := LinkTypeEthernet
		if f == FormatPcapng {
			lt2 = LinkTypeRaw
			if err := w.WritePacket(t0, lt2, ip, 0); err != nil { // adds the interface
				t.Fatal(err)
			}
		}
		ts := t0
		var err error
		n := testing.AllocsPerRun(2000, func() { // about 4 MiB: the buffer is flushed on the way
			if e := w.WritePacket(ts, LinkTypeEthernet, frame, 1514); e != nil {
				err = e
			}
			if e := w.WritePacketV(ts, lt2, 0, ip[:20], ip[20:]); e != nil {
				err = e
			}
			if e := w.WriteV(ts, link, ip); e != nil {
				err = e
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%v: %v allocations per WritePacket + WritePacketV + WriteV, want 0", f, n)
		}
	}
}

// tsharkFields runs tshark on a capture (a file, or "-" with stdin) and returns its lines
// of tab-separated fields: interface id (empty for pcap), frame length, captured length, epoch time, and
// the protocols up to the IP layer.
func tsharkFields(t *testing.T, file string, stdin func(io.Writer)) []string {
	t.Helper()
	cmd := exec.Command("tshark", "-n", "-r", file, "-T", "fields",
		"-e", "frame.interface_id", "-e", "frame.len", "-e", "frame.cap_len", "-e", "frame.time_epoch", "-e", "frame.protocols")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	var in io.WriteCloser
	if stdin != nil {
		in = must(cmd.StdinPipe())
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if stdin != nil {
		stdin(in)
		in.Close()
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("tshark -r %s: %v\n%s", file, err, stderr.String())
	}
	lines := strings.Split(strings.TrimRight(stdout.String(), "\n"), "\n")
	for i, l := range lines {
		// The protocols up to IP ("ip" or "ipv6"): what tshark makes of UDP payloads varies.
		fields := strings.Split(l, "\t")
		protos := strings.Split(fields[len(fields)-1], ":")
		for j, p := range protos {
			if p == "ip" || p == "ipv6" {
				protos = protos[:j+1]
				break
			}
		}
		fields[len(fields)-1] = strings.Join(protos, ":")
		lines[i] = strings.Join(fields, "\t")
	}
	return lines
}

// TestWriterTshark: tshark reads a pcapng of three link types from a file, and a pcapng
// and a pcap from a pipe (as in `ov2 replay --out - | tshark -r -`), with the interfaces,
// lengths, nanosecond times and link layers written.
func TestWriterTshark(t *testing.T) {
	interop.Require(t, interop.ToolTshark)
	v4, v6 := ipv4UDP(t, 100), ipv6UDP(t, 50)
	eth := ether(t, v4)
	sll2 := cat(sll2Header(0x86dd), v6)
	write := func(w *Writer) {
		for _, err := range []error{
			w.WritePacket(t0, LinkTypeEthernet, eth, 0),
			w.WritePacket(t0.Add(1), LinkTypeRaw, v6, 0),
			w.WritePacketV(t0.Add(2), LinkTypeLinuxSLL2, 1500, sll2[:20], sll2[20:]),
			w.WritePacket(t0.Add(3), LinkTypeEthernet, eth[:50], len(eth)),
			w.WritePacket(t0.Add(4), LinkTypeRaw, v4, 0),
		} {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	want := []string{
		"0\t142\t142\t1714979289.123456789\teth:ethertype:ip",
		"1\t98\t98\t1714979289.123456790\traw:ipv6",
		"2\t1500\t118\t1714979289.123456791\tsll:ethertype:ipv6",
		"0\t142\t50\t1714979289.123456792\teth:ethertype:ip",
		"1\t128\t128\t1714979289.123456793\traw:ip",
	}
	path := filepath.Join(t.TempDir(), "three.pcapng")
	w := must(CreateOutput(path, LinkTypeEthernet, Options{Format: FormatPcapng}))
	write(w)
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := tsharkFields(t, path, nil); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("tshark -r %s:\n%s\nwant\n%s", path, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	got := tsharkFields(t, "-", func(out io.Writer) {
		w := must(NewStreamWriter(out, "-", LinkTypeEthernet, Options{Format: FormatPcapng}))
		write(w)
		if err := w.Commit(); err != nil {
			t.Error(err)
		}
	})
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("tshark -r - (pcapng):\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	got = tsharkFields(t, "-", func(out io.Writer) {
		w := must(NewStreamWriter(out, "-", LinkTypeRaw, Options{Snaplen: 60}))
		w.WritePacket(t0, LinkTypeRaw, v4, 0)
		w.WritePacket(t0.Add(time.Second), LinkTypeRaw, v6, 9000)
		if err := w.Commit(); err != nil {
			t.Error(err)
		}
	})
	// A pcap file has no interfaces: frame.interface_id is empty.
	wantPcap := []string{"\t128\t60\t1714979289.123456789\traw:ip", "\t9000\t60\t1714979290.123456789\traw:ipv6"}
	if strings.Join(got, "\n") != strings.Join(wantPcap, "\n") {
		t.Errorf("tshark -r - (pcap):\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantPcap, "\n"))
	}
}

// TestMergecapReplaysWhole: a pcapng that mergecap made of an Ethernet capture and a raw
// IP capture (two interfaces) reads in full and writes in full to a pcapng output, which
// tshark reads back; a pcap output takes the Ethernet packets and refuses the first raw
// one, naming both link types.
func TestMergecapReplaysWhole(t *testing.T) {
	interop.Require(t, interop.ToolTshark)
	dir := t.TempDir()
	v4, v6 := ipv4UDP(t, 20), ipv6UDP(t, 20)
	a := filepath.Join(dir, "eth.pcap")
	b := filepath.Join(dir, "raw.pcap")
	os.WriteFile(a, rawPcap(false, true, LinkTypeEthernet, 65535, []pkt{{ts: t0, data: ether(t, v4)}, {ts: t0.Add(2), data: ether(t, v6)}}), 0o644)
	os.WriteFile(b, rawPcap(false, true, LinkTypeRaw, 65535, []pkt{{ts: t0.Add(1), data: v6}, {ts: t0.Add(3), data: v4}}), 0o644)
	merged := filepath.Join(dir, "merged.pcapng")
	if out, err := exec.Command("mergecap", "-F", "pcapng", "-w", merged, a, b).CombinedOutput(); err != nil {
		t.Fatalf("mergecap: %v\n%s", err, out)
	}
	copyAll := func(out string, f Format) (*Writer, error) {
		r := must(Open(merged))
		defer r.Close()
		w := must(CreateOutput(out, r.LinkType(), Options{Format: f, Refuse: []string{merged}}))
		for {
			rec, err := r.Next()
			if err == io.EOF {
				return w, w.Commit()
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := w.WritePacket(rec.Time, rec.Link, rec.Data, rec.OrigLen); err != nil {
				w.Abort()
				return w, err
			}
		}
	}
	ng := filepath.Join(dir, "out.pcapng")
	if w, err := copyAll(ng, FormatPcapng); err != nil || w.Packets() != 4 {
		t.Fatalf("pcapng output: %v", err)
	}
	r := must(Open(ng))
	recs, err := readAll(t, r)
	r.Close()
	if err != io.EOF {
		t.Fatal(err)
	}
	checkRecords(t, recs, []Record{
		{1, t0, LinkTypeEthernet, ether(t, v4), 62},
		{2, t0.Add(1), LinkTypeRaw, v6, 68},
		{3, t0.Add(2), LinkTypeEthernet, ether(t, v6), 82},
		{4, t0.Add(3), LinkTypeRaw, v4, 48},
	})
	want := "0\t62\t62\t1714979289.123456789\teth:ethertype:ip\n" +
		"1\t68\t68\t1714979289.123456790\traw:ipv6\n" +
		"0\t82\t82\t1714979289.123456791\teth:ethertype:ipv6\n" +
		"1\t48\t48\t1714979289.123456792\traw:ip"
	if got := strings.Join(tsharkFields(t, ng, nil), "\n"); got != want {
		t.Errorf("tshark -r %s:\n%s\nwant\n%s", ng, got, want)
	}

	p := filepath.Join(dir, "out.pcap")
	_, err = copyAll(p, FormatPcap)
	if want := p + ": packet 2 is Raw (101) but a pcap file holds one link type, Ethernet (1): write pcapng (a .pcapng output) to keep both"; err == nil || err.Error() != want {
		t.Errorf("pcap output:\n got %v\nwant %s", err, want)
	}
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("aborted pcap output exists: %v", err)
	}
}

// BenchmarkWritePacketV writes 1400-byte packets as link header + IP packet to io.Discard
// (the Writer's own cost) in each format; pcapng alternates two link types (interfaces).
func BenchmarkWritePacketV(b *testing.B) {
	for _, f := range []Format{FormatPcap, FormatPcapng} {
		b.Run(f.String(), func(b *testing.B) {
			w := must(NewStreamWriter(io.Discard, "bench", LinkTypeEthernet, Options{Format: f}))
			frame := ether(b, ipv4UDP(b, 1400-14-28))
			link, ip := frame[:14], frame[14:]
			lts := [2]LinkType{LinkTypeEthernet, LinkTypeEthernet}
			if f == FormatPcapng {
				lts[1] = LinkTypeRaw
			}
			b.SetBytes(int64(len(frame)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				lt := lts[i&1]
				l := link
				if lt == LinkTypeRaw {
					l = nil
				}
				if err := w.WritePacketV(t0, lt, 0, l, ip); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
