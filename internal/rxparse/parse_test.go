package rxparse

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// TestParseRealPackets: every kind of frame the receive path meets gets the exact Layout: the
// SPI and destination offsets that the SA lookup uses (R-RX-2), and the IPv4-options,
// extension-header and fragment facts that the capability checks use (R-RX-3).
func TestParseRealPackets(t *testing.T) {
	for _, c := range goodCases(t) {
		got := Parse(c.frame)
		if got != c.want {
			t.Errorf("R-RX-2/R-RX-3 %s: Parse =\n  %+v\nwant\n  %+v", c.name, got, c.want)
		}
		if msg := invariants(c.frame, got); msg != "" {
			t.Errorf("%s: %s", c.name, msg)
		}
	}
}

// TestParseMalformed: frames whose IP or UDP header does not parse are KindMalformed with a
// reason and nothing else; a cut-short ESP header stays ESP, marked Short (R-RX-2: its SA can
// still report the syntax error).
func TestParseMalformed(t *testing.T) {
	for _, c := range badCases(t) {
		got := Parse(c.frame)
		if got != c.want {
			t.Errorf("%s: Parse =\n  %+v\nwant\n  %+v", c.name, got, c.want)
		}
		if msg := invariants(c.frame, got); msg != "" {
			t.Errorf("%s: %s", c.name, msg)
		}
	}
}

// TestParseIgnoresLinkPadding: an Ethernet frame is at least 60 bytes, so a short IP packet
// arrives with padding after it. End stays at the IP length and the padding is never read as
// payload (R-RX-2: the ESP ICV is the last bytes before End, not before the frame's end).
func TestParseIgnoresLinkPadding(t *testing.T) {
	for _, c := range goodCases(t) {
		for _, pad := range []int{1, 6, 46} {
			padded := append(append([]byte(nil), c.frame...), bytes.Repeat([]byte{0xff}, pad)...)
			if got := Parse(padded); got != c.want {
				t.Errorf("%s + %d bytes of padding: Parse =\n  %+v\nwant\n  %+v", c.name, pad, got, c.want)
			}
		}
	}
	// The NAT keepalive is the case where padding could change the answer: 29 bytes of IP
	// padded to Ethernet's 46-byte minimum payload must still be one 0xFF byte of UDP payload.
	ka := goodCases(t)[indexOf(t, "ipv4-keepalive")].frame
	padded := append(append([]byte(nil), ka...), make([]byte, 46-len(ka))...)
	want := Layout{Kind: KindKeepalive, DstOff: 16, DstLen: 4, L4: 20, UDP: 20, End: 29}
	if got := Parse(padded); got != want || len(padded) != 46 {
		t.Errorf("padded keepalive (%d bytes): Parse = %+v, want %+v", len(padded), got, want)
	}
}

// indexOf finds a good case by name.
func indexOf(t testing.TB, name string) int {
	t.Helper()
	for i, c := range goodCases(t) {
		if c.name == name {
			return i
		}
	}
	t.Fatalf("no case %q", name)
	return -1
}

// TestParseAgreesWithGopacket decodes the unfragmented ESP and UDP packets with gopacket and
// checks that the destination address and the SPI Parse points at are the ones gopacket
// finds (R-RX-2's lookup key), so the expected offsets in the table are not just this
// package's own arithmetic.
func TestParseAgreesWithGopacket(t *testing.T) {
	checked := 0
	for _, c := range goodCases(t) {
		first := layers.LayerTypeIPv4
		if c.want.IPv6 {
			first = layers.LayerTypeIPv6
		}
		p := gopacket.NewPacket(c.frame, first, gopacket.Default)
		nl, ok := p.NetworkLayer().(interface{ NetworkFlow() gopacket.Flow })
		if !ok {
			t.Fatalf("%s: gopacket found no network layer", c.name)
		}
		if dst := nl.NetworkFlow().Dst().Raw(); !bytes.Equal(dst, c.frame[c.want.DstOff:c.want.DstOff+c.want.DstLen]) {
			t.Errorf("%s: destination at %d is %x, gopacket says %x", c.name, c.want.DstOff, c.frame[c.want.DstOff:c.want.DstOff+c.want.DstLen], dst)
		}
		if e, ok := p.Layer(layers.LayerTypeIPSecESP).(*layers.IPSecESP); ok && c.want.Kind == KindESP {
			if e.SPI != c.want.SPI || len(c.frame)-len(e.Contents) != c.want.ESP {
				t.Errorf("%s: gopacket's ESP at %d SPI %#x, Parse's at %d SPI %#x", c.name, len(c.frame)-len(e.Contents), e.SPI, c.want.ESP, c.want.SPI)
			}
			checked++
		}
		if u, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP); ok && c.want.UDP != 0 && !c.want.Fragment {
			if off := len(c.frame) - len(u.Contents) - len(u.Payload); off != c.want.UDP {
				t.Errorf("%s: gopacket's UDP at %d, Parse's at %d", c.name, off, c.want.UDP)
			}
			checked++
		}
	}
	if checked < 10 {
		t.Fatalf("only %d ESP/UDP layers cross-checked; gopacket decoded fewer than expected", checked)
	}
}

// TestParseAllocs: the classifier runs on every received frame, so it must not allocate,
// for good frames or bad ones.
func TestParseAllocs(t *testing.T) {
	var frames [][]byte
	for _, c := range append(goodCases(t), badCases(t)...) {
		frames = append(frames, c.frame)
	}
	var sink Layout
	allocs := testing.AllocsPerRun(100, func() {
		for _, f := range frames {
			sink = Parse(f)
		}
	})
	if allocs != 0 {
		t.Fatalf("Parse allocates %v times per run of %d frames, want 0", allocs, len(frames))
	}
	_ = sink
}

// TestKindString pins the names that logs and counters show.
func TestKindString(t *testing.T) {
	want := map[Kind]string{
		KindMalformed: "malformed", KindPlain: "plain", KindESP: "ESP", KindUDPESP: "UDP-ESP",
		KindIKE: "IKE", KindKeepalive: "NAT-keepalive", KindAH: "AH", 7: "Kind(7)", 255: "Kind(255)",
	}
	for k, s := range want {
		if got := k.String(); got != s {
			t.Errorf("Kind(%d).String() = %q, want %q", uint8(k), got, s)
		}
	}
}

// invariants returns what is wrong with l as a Layout of frame, or "". FuzzParse holds every
// input to it, and the table tests hold their packets to it too.
func invariants(frame []byte, l Layout) string {
	if l.Kind > KindAH {
		return fmt.Sprintf("Kind %d out of range", l.Kind)
	}
	if l.Kind == KindMalformed {
		if l.Reason == "" {
			return "KindMalformed without a Reason"
		}
		if l != malformed(l.Reason) {
			return fmt.Sprintf("KindMalformed with fields set: %+v", l)
		}
		return ""
	}
	if l.End > len(frame) {
		return fmt.Sprintf("End %d past the frame's %d bytes", l.End, len(frame))
	}
	for _, off := range []int{l.DstOff, l.L4, l.UDP, l.ESP} {
		if off < 0 || off > l.End {
			return fmt.Sprintf("offset %d outside [0, End %d]: %+v", off, l.End, l)
		}
	}
	if want := map[bool]int{false: 4, true: 16}[l.IPv6]; l.DstLen != want {
		return fmt.Sprintf("DstLen %d with IPv6 %v", l.DstLen, l.IPv6)
	}
	if l.DstOff+l.DstLen > l.End || l.L4 < l.DstOff+l.DstLen {
		return fmt.Sprintf("destination [%d,+%d) not inside the IP header (L4 %d, End %d)", l.DstOff, l.DstLen, l.L4, l.End)
	}
	if l.IPv6 && l.IPv4Options || !l.IPv6 && l.IPv6ExtHeaders {
		return fmt.Sprintf("options flag of the other IP version: %+v", l)
	}
	if (l.Reason != "") != (l.Short) {
		return fmt.Sprintf("Reason %q with Short %v", l.Reason, l.Short)
	}
	switch l.Kind {
	case KindESP, KindUDPESP:
		if l.ESP < l.L4 {
			return fmt.Sprintf("ESP %d before L4 %d", l.ESP, l.L4)
		}
		if l.Short == (l.ESP+8 <= l.End) {
			return fmt.Sprintf("Short %v with %d ESP bytes", l.Short, l.End-l.ESP)
		}
		var spi uint32
		if l.ESP+4 <= l.End {
			spi = binary.BigEndian.Uint32(frame[l.ESP:])
		}
		if l.SPI != spi {
			return fmt.Sprintf("SPI %#x, bytes at ESP say %#x", l.SPI, spi)
		}
		if l.Kind == KindUDPESP && (l.SPI == 0 || l.UDP != l.L4 || l.ESP != l.UDP+8) {
			return fmt.Sprintf("UDP-ESP with SPI %#x, UDP %d, ESP %d, L4 %d", l.SPI, l.UDP, l.ESP, l.L4)
		}
		if l.Kind == KindESP && (l.UDP != 0 || l.ESP != l.L4) {
			return fmt.Sprintf("ESP with UDP %d, ESP %d, L4 %d", l.UDP, l.ESP, l.L4)
		}
	case KindIKE, KindKeepalive:
		if l.UDP != l.L4 || l.ESP != 0 || l.SPI != 0 || l.UDP+8 > l.End {
			return fmt.Sprintf("%v with UDP %d, ESP %d, SPI %#x, End %d", l.Kind, l.UDP, l.ESP, l.SPI, l.End)
		}
	default:
		if l.UDP != 0 || l.ESP != 0 || l.SPI != 0 || l.Short {
			return fmt.Sprintf("%v with ESP/UDP fields set: %+v", l.Kind, l)
		}
	}
	return ""
}
