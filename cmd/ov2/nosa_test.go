package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// A capture whose packets meet no SA (here two UDP packets between 10.9.9.1 and 10.9.9.2,
// which no built-in SA covers) goes through clear and the run succeeds, but standard
// error says that nothing was encrypted and why, naming the SAs' addresses when they are
// the built-in ones and the SA file otherwise: "round trip: OK (0/0 ...)" alone reads as
// if the capture had been protected.
func TestReplayNoSANote(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "other.pcap")
	var b bytes.Buffer
	w := pcapgo.NewWriter(&b)
	if err := w.WriteFileHeader(65535, layers.LinkTypeRaw); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP,
			SrcIP: []byte{10, 9, 9, 1}, DstIP: []byte{10, 9, 9, 2}}
		udp := &layers.UDP{SrcPort: 5000, DstPort: 5001}
		udp.SetNetworkLayerForChecksum(ip)
		buf := gopacket.NewSerializeBuffer()
		opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
		if err := gopacket.SerializeLayers(buf, opts, ip, udp, gopacket.Payload("not for any SA")); err != nil {
			t.Fatal(err)
		}
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(1700000000+int64(i), 0), CaptureLength: len(buf.Bytes()), Length: len(buf.Bytes())}
		if err := w.WritePacket(ci, buf.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(in, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	const head = "ov2 replay: note: none of the 2 packets read matched an SA (outbound: its source and destination, or in tunnel mode its selector; inbound: ESP for its SPI and destination), so nothing was encrypted or decrypted; "
	demo := head + "the SAs were the built-in demo's (192.0.2.1 > 198.51.100.2, 192.0.2.1 > 198.51.100.3, 10.1.0.0/16 > 10.2.0.0/16, 2001:db8::1 > 2001:db8:1::2, 192.0.2.1 > 198.51.100.4, 192.0.2.1 > 198.51.100.5, 192.0.2.1 > 198.51.100.6, 192.0.2.1/32 > 198.51.100.7/32): give yours with --sa FILE\n"
	code, out, errOut := runCmd("replay", "--roundtrip", in)
	if code != 0 || errOut != demo {
		t.Fatalf("built-in SAs: exit %d, stderr\n%q\nwant 0 and\n%q\nstdout:\n%s", code, errOut, demo, out)
	}
	for _, want := range []string{"clear (no SA, through the NIC unchanged): 2 packets", "round trip: OK (0/0 packets"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	sa := filepath.Join("..", "..", "xfrm", "testdata", "suites.sa")
	withFile := head + "check the addresses of the SAs in " + sa + " against the capture's\n"
	if code, _, errOut := runCmd("replay", "--sa", sa, "--json", in); code != 0 || errOut != withFile {
		t.Fatalf("--sa: exit %d, stderr\n%q\nwant 0 and\n%q", code, errOut, withFile)
	}
}

// A round trip with a `dir out` state cannot open what that state sealed (a state limited
// to sending has no inbound side): the run fails, and standard error says why, naming the
// state, before the failure line.
func TestReplayDirOutNote(t *testing.T) {
	sa := filepath.Join(t.TempDir(), "dirout.sa")
	const states = `ip xfrm state add src 192.0.2.1 dst 198.51.100.2 proto esp spi 0x1001 reqid 1 mode transport aead 'rfc4106(gcm(aes))' 0x0102030405060708090a0b0c0d0e0f1011121314 128 dir out
ip xfrm state add src 198.51.100.2 dst 192.0.2.1 proto esp spi 0x2001 reqid 1 mode transport aead 'rfc4106(gcm(aes))' 0x2122232425262728292a2b2c2d2e2f3031323334 128 dir in
`
	if err := os.WriteFile(sa, []byte(states), 0o644); err != nil {
		t.Fatal(err)
	}
	want := "ov2 replay: note: a round trip opens what it sealed with the same SA's inbound side, and SA 0x00001001 (" + sa +
		":1) is dir out, so 55 sealed packets found no SA on the way back; leave dir out off those states for the round trip, or replay without --roundtrip\n" +
		"ov2: round trip failed: 0 of 55 packets came back equal, 0 differ\n"
	code, out, errOut := runCmd("replay", "--sa", sa, "--loop", "1")
	if code != 1 || errOut != want {
		t.Fatalf("exit %d, stderr\n%q\nwant 1 and\n%q\nstdout:\n%s", code, errOut, want, out)
	}
	// Without dir the same states round-trip, and no note is printed.
	if err := os.WriteFile(sa, []byte(strings.ReplaceAll(states, " dir out", "")), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCmd("replay", "--sa", sa, "--loop", "1"); code != 0 || errOut != "" ||
		!strings.Contains(out, "round trip: OK (55/55 packets") {
		t.Fatalf("without dir out: exit %d, stderr %q, stdout:\n%s", code, errOut, out)
	}
}

// A capture that is already encrypted, given with --roundtrip: its ESP is decrypted as it
// came and cannot equal its input. Standard error says so before the failure, with the
// count; before, only "round trip failed: 0 of 0 packets came back equal, 436 differ".
func TestReplayEncryptedInputNote(t *testing.T) {
	enc := filepath.Join(t.TempDir(), "enc.pcap")
	if code, _, errOut := runCmd("replay", "--loop", "1", "--out", enc); code != 0 {
		t.Fatalf("writing the sealed sample: exit %d\n%s", code, errOut)
	}
	code, _, errOut := runCmd("replay", "--roundtrip", enc)
	want := "ov2 replay: note: 436 packets of the input were ESP or AH for an inbound SA: a round trip decrypts them as they came, and a decrypted packet cannot equal its encrypted input, so they count as differing; a round trip is for plain packets: replay an encrypted capture without --roundtrip\n" +
		"ov2: round trip failed: 0 of 0 packets came back equal, 436 differ\n"
	if code != 1 || errOut != want {
		t.Errorf("exit %d, stderr:\n%s\nwant 1 and:\n%s", code, errOut, want)
	}
	// The same capture without --roundtrip decrypts cleanly, and says nothing.
	if code, out, errOut := runCmd("replay", enc); code != 0 || errOut != "" || !strings.Contains(out, "CryptoStatus: (CRYPTO_SUCCESS 436)") {
		t.Errorf("without --roundtrip: exit %d, stderr %q\n%s", code, errOut, out)
	}
}
