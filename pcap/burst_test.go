package pcap

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// burstPackets returns n packets of size bytes each (the last one cut by a snaplen of 1000
// in one case), of link type lt, with distinct times and contents.
func burstPackets(n, size int, lt LinkType) []Packet {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	ps := make([]Packet, n)
	for i := range ps {
		ps[i] = Packet{Time: t0.Add(time.Duration(i) * time.Microsecond), Link: lt, Data: pattern(size+i%3, byte(i))}
		if i%5 == 0 {
			ps[i].OrigLen = size + 100
		}
	}
	return ps
}

// WritePackets writes exactly what WritePacket writes for each packet in turn, to a file
// (writev for a large burst, the buffer for a small one) and to a stream, in both formats,
// over bursts larger than one writev takes, and with a snaplen that cuts packets.
func TestWritePacketsSameBytes(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []Format{FormatPcap, FormatPcapng} {
		for _, snap := range []int{0, 1000} {
			for _, n := range []int{1, 7, 40, 600} {
				ps := burstPackets(n, 1400, LinkTypeEthernet)
				one := filepath.Join(dir, "one")
				w := must(CreateOutput(one, LinkTypeEthernet, Options{Format: f, Snaplen: snap}))
				for i := range ps {
					if err := w.WritePacket(ps[i].Time, ps[i].Link, ps[i].Data, ps[i].OrigLen); err != nil {
						t.Fatal(err)
					}
				}
				if err := w.Commit(); err != nil {
					t.Fatal(err)
				}
				burst := filepath.Join(dir, "burst")
				w = must(CreateOutput(burst, LinkTypeEthernet, Options{Format: f, Snaplen: snap}))
				// A small burst first, buffered, then the rest in bursts of 250 at most.
				if err := w.WritePackets(ps[:1]); err != nil {
					t.Fatal(err)
				}
				for rest := ps[1:]; len(rest) > 0; {
					k := min(len(rest), 250)
					if err := w.WritePackets(rest[:k]); err != nil {
						t.Fatal(err)
					}
					rest = rest[k:]
				}
				if got := w.Packets(); got != uint64(n) {
					t.Errorf("Packets %d, want %d", got, n)
				}
				if err := w.Commit(); err != nil {
					t.Fatal(err)
				}
				a, b := must(os.ReadFile(one)), must(os.ReadFile(burst))
				if !bytes.Equal(a, b) {
					t.Errorf("%v snaplen %d, %d packets: WritePackets wrote %d bytes, WritePacket %d, not the same", f, snap, n, len(b), len(a))
				}
				var s bytes.Buffer
				sw := must(NewStreamWriter(&s, "stream", LinkTypeEthernet, Options{Format: f, Snaplen: snap}))
				if err := sw.WritePackets(ps); err != nil {
					t.Fatal(err)
				}
				if err := sw.Commit(); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(a, s.Bytes()) {
					t.Errorf("%v snaplen %d, %d packets: the stream differs", f, snap, n)
				}
			}
		}
	}
}

// A packet a pcap file cannot hold fails WritePackets after the packets in front of it are
// written; a pcapng file takes a new link type in the middle of a burst.
func TestWritePacketsLinkTypes(t *testing.T) {
	dir := t.TempDir()
	ps := burstPackets(60, 1400, LinkTypeEthernet)
	ps[30].Link = LinkTypeRaw
	w := must(CreateOutput(filepath.Join(dir, "a.pcap"), LinkTypeEthernet, Options{}))
	err := w.WritePackets(ps)
	if err == nil || !strings.Contains(err.Error(), "packet 31 is") {
		t.Fatalf("pcap with a second link type: %v", err)
	}
	if w.Packets() != 30 {
		t.Errorf("%d packets written, want 30", w.Packets())
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	recs, err := readAll(t, must(Open(filepath.Join(dir, "a.pcap"))))
	if err != io.EOF || len(recs) != 30 {
		t.Fatalf("read back %d records: %v", len(recs), err)
	}

	p := filepath.Join(dir, "a.pcapng")
	w = must(CreateOutput(p, LinkTypeEthernet, Options{Format: FormatPcapng}))
	if err := w.WritePackets(ps); err != nil {
		t.Fatal(err)
	}
	if err := w.WritePackets(ps); err != nil { // both link types known now: writev
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	recs, err = readAll(t, must(Open(p)))
	if err != io.EOF || len(recs) != 120 {
		t.Fatalf("read back %d records: %v", len(recs), err)
	}
	for i, r := range recs {
		q := ps[i%60]
		if r.Link != q.Link || !bytes.Equal(r.Data, q.Data) || !r.Time.Equal(q.Time) {
			t.Fatalf("record %d: %v %d bytes at %v, want %v %d bytes at %v", i, r.Link, len(r.Data), r.Time, q.Link, len(q.Data), q.Time)
		}
	}
}

// A write error (a full device) is returned by WritePackets and is sticky.
func TestWritePacketsFull(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	w := must(CreateOutput("/dev/full", LinkTypeEthernet, Options{}))
	defer w.Abort()
	ps := burstPackets(100, 1400, LinkTypeEthernet)
	err := w.WritePackets(ps)
	if err == nil || !strings.Contains(err.Error(), "/dev/full: write: no space left on device") {
		t.Fatalf("WritePackets to /dev/full: %v", err)
	}
	if err2 := w.WritePackets(ps[:1]); err2 == nil || err2.Error() != err.Error() {
		t.Errorf("after the error: %v", err2)
	}
}

// A large burst to a file allocates nothing once the Writer has seen one.
func TestWritePacketsAllocs(t *testing.T) {
	w := must(CreateOutput(filepath.Join(t.TempDir(), "a.pcapng"), LinkTypeEthernet, Options{Format: FormatPcapng}))
	defer w.Abort()
	ps := burstPackets(64, 1400, LinkTypeEthernet)
	if err := w.WritePackets(ps); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(20, func() {
		if err := w.WritePackets(ps); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("%v allocations per burst", n)
	}
}
