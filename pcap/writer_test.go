package pcap

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// dirNames lists a directory, hidden files included.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestWriterRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.pcap")
	w, err := Create(path, LinkTypeLinuxSLL2, 200)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort() // no-op after Commit
	link := sll2Header(0x0800)
	ip := ipv4UDP(t, 100) // 128 bytes: 148 with the link header
	long := ipv4UDP(t, 300)
	ts := []time.Time{t0, t0.Add(1), t0.Add(time.Hour + 999999999), time.Unix(1<<32-1, 999999999).UTC()}
	if err := w.Write(ts[0], cat(link, ip)); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteV(ts[1], link, ip); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteV(ts[2], link, long); err != nil { // 348 bytes, cut to 200
		t.Fatal(err)
	}
	if err := w.Write(ts[3], cat(link, long)); err != nil { // cut to 200
		t.Fatal(err)
	}
	if err := w.WriteV(ts[0]); err != nil { // an empty record
		t.Fatal(err)
	}
	if w.Packets() != 5 {
		t.Errorf("Packets = %d, want 5", w.Packets())
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("destination exists before Commit: %v", err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if names := dirNames(t, dir); len(names) != 1 || names[0] != "out.pcap" {
		t.Errorf("directory after Commit: %q, want only out.pcap", names)
	}
	data := must(os.ReadFile(path))
	// File header: magic a1b23c4d little-endian, 2.4, zone 0, sigfigs 0, snaplen 200, 276.
	if got, want := hex.EncodeToString(data[:24]), "4d3cb2a1"+"02000400"+"00000000"+"00000000"+"c8000000"+"14010000"; got != want {
		t.Errorf("file header %s\nwant        %s", got, want)
	}
	// First record header: seconds, nanoseconds, 148, 148.
	if got, want := hex.EncodeToString(data[24:40]), hex.EncodeToString(rawPcap(false, true, 0, 0, []pkt{{ts: t0, data: make([]byte, 148)}})[24:40]); got != want {
		t.Errorf("record header %s, want %s", got, want)
	}
	fi := must(os.Stat(path))
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode())
	}

	r := must(Open(path))
	defer r.Close()
	if r.LinkType() != LinkTypeLinuxSLL2 || r.Format() != "pcap" {
		t.Errorf("LinkType %d, Format %s", r.LinkType(), r.Format())
	}
	recs, err := readAll(t, r)
	if err != io.EOF {
		t.Fatal(err)
	}
	full := cat(link, long)
	checkRecords(t, recs, []Record{
		{1, ts[0], LinkTypeLinuxSLL2, cat(link, ip), 148},
		{2, ts[1], LinkTypeLinuxSLL2, cat(link, ip), 148},
		{3, ts[2], LinkTypeLinuxSLL2, full[:200], len(full)},
		{4, ts[3], LinkTypeLinuxSLL2, full[:200], len(full)},
		{5, ts[0], LinkTypeLinuxSLL2, []byte{}, 0},
	})
	if err := w.Commit(); err == nil || err.Error() != path+": writer already committed" {
		t.Errorf("second Commit: %v", err)
	}
	if err := w.Write(t0, []byte{1}); err == nil || err.Error() != path+": writer already committed" {
		t.Errorf("Write after Commit: %v", err)
	}
	if err := w.WriteV(t0, []byte{1}); err == nil || err.Error() != path+": writer already committed" || w.Packets() != 5 {
		t.Errorf("WriteV after Commit: %v, %d packets", err, w.Packets())
	}
	if err := w.Abort(); err != nil {
		t.Errorf("Abort after Commit: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("Abort after Commit removed the file: %v", err)
	}
}

func TestWriterAbort(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.pcap")
	w := must(Create(path, LinkTypeEthernet, 0))
	if names := dirNames(t, dir); len(names) != 1 || !strings.HasPrefix(names[0], ".a.pcap.tmp-") {
		t.Errorf("while writing: %q, want one .a.pcap.tmp-* file", names)
	}
	for range 10 {
		if err := w.Write(t0, make([]byte, 100)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("after Abort: %q, want an empty directory", names)
	}
	if err := w.Abort(); err != nil {
		t.Errorf("second Abort: %v", err)
	}
	if err := w.Write(t0, []byte{1}); err == nil || err.Error() != path+": writer aborted" {
		t.Errorf("Write after Abort: %v", err)
	}
	if err := w.Commit(); err == nil || err.Error() != path+": writer aborted" {
		t.Errorf("Commit after Abort: %v", err)
	}
	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("after Commit of an aborted writer: %q", names)
	}
}

// TestWriterNeverCommitted: Close without Commit leaves nothing, and a Writer that is
// simply dropped has its temporary file removed by the garbage collector.
func TestWriterNeverCommitted(t *testing.T) {
	dir := t.TempDir()
	w := must(Create(filepath.Join(dir, "c.pcap"), LinkTypeRaw, 0))
	if err := w.Write(t0, ipv4UDP(t, 10)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("after Close: %q", names)
	}

	func() {
		w := must(Create(filepath.Join(dir, "dropped.pcap"), LinkTypeRaw, 0))
		w.Write(t0, make([]byte, 10))
	}()
	if names := dirNames(t, dir); len(names) != 1 {
		t.Fatalf("before GC: %q, want the temporary file", names)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(dirNames(t, dir)) != 0 && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("a dropped Writer left %q", names)
	}
}

func TestWriterCommitReplaces(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.pcap")
	if err := os.WriteFile(path, []byte("old contents"), 0o600); err != nil {
		t.Fatal(err)
	}
	w := must(Create(path, LinkTypeEthernet, 0))
	frame := ether(t, ipv6UDP(t, 3))
	for range 3 {
		if err := w.Write(t0, frame); err != nil {
			t.Fatal(err)
		}
	}
	if got := must(os.ReadFile(path)); string(got) != "old contents" {
		t.Errorf("before Commit the destination is %q", got)
	}
	// A run that fails before Commit leaves the old file as it was.
	w2 := must(Create(path, LinkTypeEthernet, 0))
	w2.Write(t0, frame)
	w2.Abort()
	if got := must(os.ReadFile(path)); string(got) != "old contents" {
		t.Errorf("after an aborted writer the destination is %q", got)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	r := must(Open(path))
	defer r.Close()
	recs, err := readAll(t, r)
	if err != io.EOF || len(recs) != 3 || !bytes.Equal(recs[2].Data, frame) {
		t.Errorf("replaced file: %d records, %v", len(recs), err)
	}
	if fi := must(os.Stat(path)); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want the replaced file's 0600", fi.Mode().Perm())
	}
	if names := dirNames(t, dir); len(names) != 1 {
		t.Errorf("directory: %q", names)
	}
}

func TestWriterErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "no", "such", "dir", "x.pcap")
	if _, err := Create(missing, LinkTypeEthernet, 0); err == nil || !strings.HasPrefix(err.Error(), missing+": ") || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Create in a missing directory: %v", err)
	}
	path := filepath.Join(dir, "x.pcap")
	if _, err := Create(path, LinkTypeEthernet, MaxSnaplen+1); err == nil || err.Error() != path+": snaplen 262145 is more than 262144" {
		t.Errorf("snaplen: %v", err)
	}
	w := must(Create(path, LinkTypeEthernet, 0))
	defer w.Abort()
	for _, ts := range []time.Time{{}, time.Unix(-1, 0), time.Unix(1<<32, 0)} {
		err := w.Write(ts, []byte{1})
		if err == nil || !strings.HasPrefix(err.Error(), path+": packet 1: time ") || !strings.HasSuffix(err.Error(), " cannot be written in pcap (1970 to 2106)") {
			t.Errorf("Write at %v: %v", ts, err)
		}
	}
	// A bad time fails that packet only.
	if err := w.Write(t0, []byte{1}); err != nil || w.Packets() != 1 {
		t.Errorf("Write after a bad time: %v, %d packets", err, w.Packets())
	}
	// A write error is sticky, and Commit reports it and leaves nothing behind.
	w.f.Close()
	big := make([]byte, MaxSnaplen)
	var err error
	for i := 0; i < 10 && err == nil; i++ { // the fifth write fills the 1 MiB buffer
		err = w.Write(t0, big)
	}
	if err == nil || !strings.HasPrefix(err.Error(), path+": write: ") {
		t.Fatalf("Write to a closed file: %v", err)
	}
	if err2 := w.Write(t0, []byte{1}); err2 != err {
		t.Errorf("next Write: %v, want the same error", err2)
	}
	if err2 := w.Commit(); err2 != err {
		t.Errorf("Commit: %v, want %v", err2, err)
	}
	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("after a failed Commit: %q", names)
	}
}

func TestWriterAllocs(t *testing.T) {
	w := must(Create(filepath.Join(t.TempDir(), "a.pcap"), LinkTypeEthernet, 0))
	defer w.Abort()
	link, ip := ether(t, ipv4UDP(t, 1000))[:14], ipv4UDP(t, 1000)
	frame := cat(link, ip)
	ts := t0
	var err error
	n := testing.AllocsPerRun(2000, func() { // about 2 MiB: the buffer is flushed on the way
		if e := w.Write(ts, frame); e != nil {
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
		t.Errorf("%v allocations per Write + WriteV, want 0", n)
	}
}
