package pcap

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ov2dev/ov2/internal/interop"
)

// TestReaderNetworkTruncatedByCapture: Reader.Network tells a packet cut by the capture's
// snaplen from a malformed one, and Record.TruncatedByCapture says so without parsing.
func TestReaderNetworkTruncatedByCapture(t *testing.T) {
	full := ether(t, ipv4UDP(t, 1514-14-28)) // 1514 bytes
	v6 := cat(sll2Header(0x86dd), ipv6UDP(t, 1000))
	padded := ether(t, ipv4UDP(t, 2)) // 30-byte IP packet padded to 60
	lso := append([]byte(nil), full...)
	lso[14+2], lso[14+3] = 0, 0 // IPv4 total length 0, as LSO captures show it
	short := ether(t, ipv4UDP(t, 0))[:14+19]

	var buf bytes.Buffer
	w := must(NewStreamWriter(&buf, "cut.pcapng", LinkTypeEthernet, Options{Format: FormatPcapng}))
	for _, p := range []struct {
		lt   LinkType
		data []byte
		orig int
	}{
		{LinkTypeEthernet, full[:96], len(full)},   // 1: IP packet cut
		{LinkTypeEthernet, full[:30], len(full)},   // 2: cut inside the IPv4 header
		{LinkTypeEthernet, full[:10], len(full)},   // 3: cut inside the Ethernet header
		{LinkTypeLinuxSLL2, v6[:80], len(v6)},      // 4: IPv6 cut
		{LinkTypeEthernet, padded, 64},             // 5: only the FCS was not captured: whole IP packet
		{LinkTypeEthernet, lso[:200], len(lso)},    // 6: total length 0: not known to be cut
		{LinkTypeEthernet, short, 0},               // 7: short, not cut: malformed
		{LinkTypeEthernet, full, 0},                // 8: whole
		{LinkTypeRaw, full[14:54], len(full) - 14}, // 9: raw IP cut
	} {
		if err := w.WritePacket(t0, p.lt, p.data, p.orig); err != nil {
			t.Fatal(err)
		}
	}
	w.Commit()
	r := must(NewReader("cut.pcapng", &buf))
	recs, err := readAll(t, r)
	if err != io.EOF || len(recs) != 9 {
		t.Fatalf("%d records, %v", len(recs), err)
	}
	want := []struct {
		cut bool
		err string
		ip  int
	}{
		{true, "cut.pcapng: packet 1: truncated by the capture (snaplen): 96 of 1514 bytes captured", 0},
		{true, "cut.pcapng: packet 2: truncated by the capture (snaplen): 30 of 1514 bytes captured", 0},
		{true, "cut.pcapng: packet 3: truncated by the capture (snaplen): 10 of 1514 bytes captured", 0},
		{true, "cut.pcapng: packet 4: truncated by the capture (snaplen): 80 of 1068 bytes captured", 0},
		{true, "", 30},
		{true, "", 186},
		{false, "cut.pcapng: packet 7: frame too short: 19 bytes, IPv4 header needs 20", 0},
		{false, "", 1500},
		{true, "cut.pcapng: packet 9: truncated by the capture (snaplen): 40 of 1500 bytes captured", 0},
	}
	for i, rec := range recs {
		wt := want[i]
		if rec.TruncatedByCapture() != wt.cut {
			t.Errorf("packet %d: TruncatedByCapture = %v", i+1, !wt.cut)
		}
		link, ip, err := r.Network(rec)
		if wt.err == "" {
			if err != nil || len(ip) != wt.ip {
				t.Errorf("packet %d: %d-byte IP packet, %v; want %d bytes", i+1, len(ip), err, wt.ip)
			}
			continue
		}
		if err == nil || err.Error() != wt.err || link != nil || ip != nil {
			t.Errorf("packet %d: %v\nwant %s", i+1, err, wt.err)
		}
		if errors.Is(err, ErrTruncatedByCapture) != wt.cut || !errors.Is(err, ErrShort) {
			t.Errorf("packet %d: errors.Is(ErrTruncatedByCapture) = %v, errors.Is(ErrShort) = %v", i+1, errors.Is(err, ErrTruncatedByCapture), errors.Is(err, ErrShort))
		}
	}
	if (Record{Data: make([]byte, 10), OrigLen: 10}).TruncatedByCapture() || !(Record{Data: make([]byte, 10), OrigLen: 11}).TruncatedByCapture() {
		t.Error("TruncatedByCapture")
	}
}

// TestEditcapSnaplen: a capture cut by editcap -s 96 gives ErrTruncatedByCapture.
func TestEditcapSnaplen(t *testing.T) {
	interop.Require(t, interop.ToolTshark)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "full.pcap"), filepath.Join(dir, "cut.pcap")
	full := ether(t, ipv4UDP(t, 1514-14-28))
	os.WriteFile(in, rawPcap(false, false, LinkTypeEthernet, 65535, []pkt{{ts: t0, data: full}, {ts: t0, data: ether(t, ipv4UDP(t, 10))}}), 0o644)
	if b, err := exec.Command("editcap", "-s", "96", in, out).CombinedOutput(); err != nil {
		t.Fatalf("editcap: %v\n%s", err, b)
	}
	r := must(Open(out))
	defer r.Close()
	recs, err := readAll(t, r)
	if err != io.EOF || len(recs) != 2 {
		t.Fatalf("%d records, %v", len(recs), err)
	}
	_, _, err = r.Network(recs[0])
	if want := out + ": packet 1: truncated by the capture (snaplen): 96 of 1514 bytes captured"; err == nil || err.Error() != want {
		t.Errorf("packet 1: %v\nwant %s", err, want)
	}
	if _, ip, err := r.Network(recs[1]); err != nil || len(ip) != 38 || recs[1].TruncatedByCapture() {
		t.Errorf("packet 2: %d-byte IP packet, %v", len(ip), err)
	}
}
