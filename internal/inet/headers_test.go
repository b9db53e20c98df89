package inet

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// unhex decodes a hex string with spaces, for packets written out the way tcpdump -x does.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(string(bytes.ReplaceAll([]byte(s), []byte(" "), nil)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestIPv4KnownHeader reads and recomputes the checksum of a widely published IPv4 header
// (the example of the Wikipedia "IPv4 header checksum" article):
// 192.168.0.1 > 192.168.0.199, UDP, total length 115, DF, TTL 64, checksum 0xb861.
func TestIPv4KnownHeader(t *testing.T) {
	b := unhex(t, "4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7")
	h, err := ParseIPv4(b)
	if err != nil {
		t.Fatal(err)
	}
	if h.Version() != 4 || h.HeaderLen() != 20 || h.TotalLen() != 115 || h.ID() != 0 ||
		h.TTL() != 64 || h.Protocol() != ProtoUDP || h.IsFragment() || h.Checksum() != 0xb861 ||
		!bytes.Equal(h.Src(), []byte{192, 168, 0, 1}) || !bytes.Equal(h.Dst(), []byte{192, 168, 0, 199}) {
		t.Fatalf("accessors disagree with the header %x", b)
	}
	if !h.ChecksumValid() {
		t.Fatal("ChecksumValid = false on a correct header")
	}
	h.SetChecksum()
	if h.Checksum() != 0xb861 {
		t.Fatalf("SetChecksum wrote %#04x, want 0xb861", h.Checksum())
	}
	h.SetID(0x1234)
	h.SetTotalLen(1500)
	if h.ChecksumValid() {
		t.Fatal("ChecksumValid = true after changing fields")
	}
	h.SetChecksum()
	// Expected by hand, incrementally (RFC 1624): ~(~0xb861 + 0x05dc - 0x0073 + 0x1234) = 0xa0c4.
	if !bytes.Equal(b, unhex(t, "4500 05dc 1234 4000 4011 a0c4 c0a8 0001 c0a8 00c7")) {
		t.Fatalf("after SetID/SetTotalLen/SetChecksum: %x", b)
	}
}

// serialize builds a packet with gopacket, computing lengths and checksums: the independent
// reference for the checksums below.
func serialize(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var testPayload = []byte("ov2: IPsec offload version 2, 39 bytes.") // odd length on purpose

// TestTCPChecksumIPv4 recomputes the checksum gopacket wrote into a TCP segment over IPv4 with
// options (data offset 8) and an odd-length payload: the computation the LSO stage repeats for
// every segment (R-TX-6), with IHL 6 so the IPv4 header checksum covers an option too.
func TestTCPChecksumIPv4(t *testing.T) {
	ip := &layers.IPv4{Version: 4, IHL: 6, TTL: 64, Id: 0xbeef, Flags: layers.IPv4DontFragment,
		Protocol: layers.IPProtocolTCP, SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{10, 0, 0, 2},
		Options: []layers.IPv4Option{{OptionType: 148, OptionLength: 4, OptionData: []byte{0, 0}}}}
	tcp := &layers.TCP{SrcPort: 49152, DstPort: 443, Seq: 0xfffffff0, Ack: 7, PSH: true, ACK: true, Window: 512,
		Options: []layers.TCPOption{{OptionType: layers.TCPOptionKindNop}, {OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: []byte{0, 0, 0, 1, 0, 0, 0, 2}}}}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	pkt := serialize(t, ip, tcp, gopacket.Payload(testPayload))

	h, err := ParseIPv4(pkt)
	if err != nil {
		t.Fatal(err)
	}
	if h.HeaderLen() != 24 || h.TotalLen() != len(pkt) || h.ID() != 0xbeef || !h.ChecksumValid() {
		t.Fatalf("IPv4 view: hl %d total %d id %#x valid %v", h.HeaderLen(), h.TotalLen(), h.ID(), h.ChecksumValid())
	}
	want := h.Checksum()
	h.SetChecksum()
	if h.Checksum() != want {
		t.Fatalf("IPv4 SetChecksum %#04x, gopacket %#04x", h.Checksum(), want)
	}

	seg := pkt[h.HeaderLen():]
	th, err := ParseTCP(seg)
	if err != nil {
		t.Fatal(err)
	}
	if th.SrcPort() != 49152 || th.DstPort() != 443 || th.Seq() != 0xfffffff0 || th.Ack() != 7 ||
		th.DataOffset() != 32 || th.Flags() != TCPFlagPSH|TCPFlagACK || th.Window() != 512 {
		t.Fatalf("TCP view disagrees with gopacket's header %x", []byte(th))
	}
	gp := th.Checksum()
	if Checksum(seg, PseudoHeaderIPv4(h.Src(), h.Dst(), ProtoTCP, len(seg))) != 0xffff {
		t.Fatal("segment with gopacket's checksum does not verify")
	}
	th.SetChecksum(0)
	got := Finish(Checksum(seg, PseudoHeaderIPv4(h.Src(), h.Dst(), ProtoTCP, len(seg))))
	if got != gp || got != 0xbcc5 {
		t.Fatalf("TCP checksum %#04x, gopacket %#04x, pinned 0xbcc5", got, gp)
	}
}

// TestUDPAndTCPChecksumIPv6 does the same over IPv6, where the pseudo-header carries 16-byte
// addresses and a 32-bit length.
func TestUDPAndTCPChecksumIPv6(t *testing.T) {
	ip := &layers.IPv6{Version: 6, HopLimit: 64, SrcIP: net.ParseIP("2001:db8::1"), DstIP: net.ParseIP("2001:db8::ffff:fffe")}
	udp := &layers.UDP{SrcPort: 4500, DstPort: 4500}
	ip.NextHeader = layers.IPProtocolUDP
	if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	pkt := serialize(t, ip, udp, gopacket.Payload(testPayload))
	h, err := ParseIPv6(pkt)
	if err != nil {
		t.Fatal(err)
	}
	if h.Version() != 6 || h.PayloadLen() != UDPHeaderLen+len(testPayload) || h.NextHeader() != ProtoUDP || h.HopLimit() != 64 ||
		!bytes.Equal(h.Src(), ip.SrcIP) || !bytes.Equal(h.Dst(), ip.DstIP) {
		t.Fatalf("IPv6 view disagrees with gopacket's header %x", []byte(h))
	}
	u, err := ParseUDP(pkt[IPv6HeaderLen:])
	if err != nil {
		t.Fatal(err)
	}
	if u.SrcPort() != 4500 || u.DstPort() != PortNATT || u.Length() != h.PayloadLen() {
		t.Fatalf("UDP view disagrees with gopacket's header %x", []byte(u))
	}
	gp := u.Checksum()
	u.SetChecksum(0)
	got := Finish(Checksum(pkt[IPv6HeaderLen:], PseudoHeaderIPv6(h.Src(), h.Dst(), ProtoUDP, u.Length())))
	if got != gp || got != 0x9ee6 {
		t.Fatalf("UDP checksum %#04x, gopacket %#04x, pinned 0x9ee6", got, gp)
	}

	ip.NextHeader = layers.IPProtocolTCP
	tcp := &layers.TCP{SrcPort: 1, DstPort: 2, Seq: 3, FIN: true, CWR: true, Window: 4}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	pkt = serialize(t, ip, tcp, gopacket.Payload(testPayload))
	h = IPv6(pkt[:IPv6HeaderLen])
	th, err := ParseTCP(pkt[IPv6HeaderLen:])
	if err != nil {
		t.Fatal(err)
	}
	if th.Flags() != TCPFlagFIN|TCPFlagCWR || th.DataOffset() != TCPMinHeaderLen {
		t.Fatalf("TCP flags %#x data offset %d", th.Flags(), th.DataOffset())
	}
	gp = th.Checksum()
	th.SetChecksum(0)
	got = Finish(Checksum(pkt[IPv6HeaderLen:], PseudoHeaderIPv6(h.Src(), h.Dst(), ProtoTCP, h.PayloadLen())))
	if got != gp || got != 0x71b1 {
		t.Fatalf("TCP/IPv6 checksum %#04x, gopacket %#04x, pinned 0x71b1", got, gp)
	}
	th.SetSeq(0x01020304)
	th.SetFlags(TCPFlagACK)
	if th.Seq() != 0x01020304 || th.Flags() != TCPFlagACK {
		t.Fatal("TCP setters did not write through")
	}
}

// TestParseErrors: every Parse refuses short, wrong-version and bad-length headers with its
// sentinel, and never panics on them.
func TestParseErrors(t *testing.T) {
	v4 := unhex(t, "4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7")
	tcp := unhex(t, "c000 01bb 0000 0001 0000 0000 5018 0200 0000 0000")
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"IPv4 empty", errOf(ParseIPv4(nil)), ErrTruncated},
		{"IPv4 19 bytes", errOf(ParseIPv4(v4[:19])), ErrTruncated},
		{"IPv4 version 6", errOf(ParseIPv4(append([]byte{0x65}, v4[1:]...))), ErrVersion},
		{"IPv4 IHL 4", errOf(ParseIPv4(append([]byte{0x44}, v4[1:]...))), ErrHeaderLen},
		{"IPv4 IHL 6, 20 bytes", errOf(ParseIPv4(append([]byte{0x46}, v4[1:]...))), ErrTruncated},
		{"IPv6 39 bytes", errOf6(ParseIPv6(make([]byte, 39))), ErrTruncated},
		{"IPv6 version 4", errOf6(ParseIPv6(append([]byte{0x45}, make([]byte, 39)...))), ErrVersion},
		{"TCP 19 bytes", errOfT(ParseTCP(tcp[:19])), ErrTruncated},
		{"TCP offset 4", errOfT(ParseTCP(append(append([]byte{}, tcp[:12]...), append([]byte{0x40}, tcp[13:]...)...))), ErrHeaderLen},
		{"TCP offset 6, 20 bytes", errOfT(ParseTCP(append(append([]byte{}, tcp[:12]...), append([]byte{0x60}, tcp[13:]...)...))), ErrTruncated},
		{"UDP 7 bytes", errOfU(ParseUDP(make([]byte, 7))), ErrTruncated},
	}
	for _, c := range cases {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: err %v, want %v", c.name, c.err, c.want)
		}
	}
	h, err := ParseIPv4(append(v4[:20:20], 1, 2, 3, 4, 5))
	if err != nil || len(h) != 20 {
		t.Errorf("ParseIPv4 with trailing bytes: len %d, %v; want the 20-byte header", len(h), err)
	}
	th, err := ParseTCP(append(tcp[:20:20], 9, 9))
	if err != nil || len(th) != 20 {
		t.Errorf("ParseTCP with payload: len %d, %v; want the 20-byte header", len(th), err)
	}
}

func errOf(_ IPv4, err error) error  { return err }
func errOf6(_ IPv6, err error) error { return err }
func errOfT(_ TCP, err error) error  { return err }
func errOfU(_ UDP, err error) error  { return err }

// TestIPv4Fragment: MF or a fragment offset marks a fragment; DF alone does not.
func TestIPv4Fragment(t *testing.T) {
	for _, c := range []struct {
		flags uint16
		want  bool
	}{{0x4000, false}, {0x0000, false}, {0x2000, true}, {0x0001, true}, {0x1fff, true}} {
		h := IPv4(unhex(t, "4500 0073 0000 0000 4011 0000 c0a8 0001 c0a8 00c7"))
		h[6], h[7] = byte(c.flags>>8), byte(c.flags)
		if h.IsFragment() != c.want {
			t.Errorf("flags/offset %#04x: IsFragment %v, want %v", c.flags, h.IsFragment(), c.want)
		}
	}
}

// TestIPv6ExtensionHeaders lists which next-header values count as extension headers.
func TestIPv6ExtensionHeaders(t *testing.T) {
	want := map[byte]bool{0: true, 43: true, 44: true, 60: true, 135: true, 139: true, 140: true, 253: true, 254: true}
	for v := 0; v < 256; v++ {
		if got := IsIPv6ExtensionHeader(byte(v)); got != want[byte(v)] {
			t.Errorf("IsIPv6ExtensionHeader(%d) = %v", v, got)
		}
	}
}

// TestZeroAllocs: the checksum and the views allocate nothing; they run per packet.
func TestZeroAllocs(t *testing.T) {
	pkt := make([]byte, 1500)
	copy(pkt, unhex(t, "4500 05dc 1234 4000 4006 0000 c0a8 0001 c0a8 00c7"))
	copy(pkt[20:], unhex(t, "c000 01bb 0000 0001 0000 0000 5018 0200 0000 0000"))
	var sink uint16
	allocs := testing.AllocsPerRun(100, func() {
		h, _ := ParseIPv4(pkt)
		h.SetID(h.ID() + 1)
		h.SetChecksum()
		th, _ := ParseTCP(pkt[20:])
		th.SetChecksum(0)
		th.SetChecksum(Finish(Checksum(pkt[20:], PseudoHeaderIPv4(h.Src(), h.Dst(), ProtoTCP, len(pkt)-20))))
		u, _ := ParseUDP(pkt[20:])
		h6, _ := ParseIPv6(pkt)
		sink += u.Checksum() + uint16(len(h6))
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per run, want 0", allocs)
	}
	_ = sink
}
