package replay

import (
	"bytes"
	"context"
	"encoding/binary"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/ov2dev/ov2/internal/inet"
	"github.com/ov2dev/ov2/nic"
	"github.com/ov2dev/ov2/pcap"
)

// recorder is an Output that keeps a copy of every frame.
type recorder struct {
	mu     sync.Mutex
	frames [][]byte
	times  []time.Time
	links  []pcap.LinkType
	orig   []int
}

func (r *recorder) WriteFrames(fs []Frame) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range fs {
		r.frames = append(r.frames, bytes.Clone(f.Data))
		r.times = append(r.times, f.Time)
		r.links = append(r.links, f.Link)
		r.orig = append(r.orig, f.OrigLen)
	}
	return nil
}

// pcapOf writes frames as an Ethernet capture, 1 us apart.
func pcapOf(t testing.TB, frames [][]byte) []byte {
	var b bytes.Buffer
	w := pcapgo.NewWriter(&b)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	for i, f := range frames {
		if err := w.WritePacket(ciOf(sampleStart.Add(time.Duration(i)*time.Microsecond), len(f)), f); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

func demoConfig(t testing.TB) (Input, Config) {
	in, sas, err := Demo()
	if err != nil {
		t.Fatal(err)
	}
	return in, Config{SAs: sas.States, Bundles: sas.Bundles, NIC: nic.DefaultConfig(), Lanes: 2}
}

// Per pass over the sample: 436 packets for the 8 SAs (55 each for 0x1001 to 0x4001, 54
// each for 0x5001, 0x6001, 0x7001 and the ESP+AH bundle), 54 for no SA, 10 ARP.
const (
	sampleSA, sampleClear, sampleARP = 436, 54, 10
	sampleTotal                      = sampleSA + sampleClear + sampleARP
)

func TestDemoRoundTrip(t *testing.T) {
	in, cfg := demoConfig(t)
	const loops = 3
	cfg.Loops, cfg.RoundTrip = loops, true
	rec := &recorder{}
	cfg.Output = rec
	rep, err := Run(context.Background(), in, cfg)
	if err != nil {
		t.Fatal(err)
	}
	n := func(k int) uint64 { return uint64(k * loops) }
	checks := []struct {
		name      string
		got, want uint64
	}{
		{"read", rep.Read.Packets, n(sampleTotal)},
		{"encrypt in", rep.Encrypt.In.Packets, n(sampleSA)},
		{"encrypt out", rep.Encrypt.Out.Packets, n(sampleSA)},
		{"clear", rep.Clear.Packets, n(sampleClear)},
		{"pass through", rep.PassThrough.Packets, n(sampleARP)},
		{"decrypt in", rep.Decrypt.In.Packets, n(sampleSA)},
		{"decrypt out", rep.Decrypt.Out.Packets, n(sampleSA)},
		{"round trip equal", rep.RoundTrip.Equal, n(sampleSA)},
		{"round trip differ", rep.RoundTrip.Differ, 0},
		{"out (sealed + clear + ARP)", rep.Out.Packets, n(sampleTotal)},
		{"encrypt latency samples", rep.Encrypt.Latency.Packets, n(sampleSA + sampleClear)},
		{"decrypt latency samples", rep.Decrypt.Latency.Packets, n(sampleSA)},
		{"recorded frames", uint64(len(rec.frames)), n(sampleTotal)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %d, want %d", c.name, c.got, c.want)
		}
	}
	if !rep.Balanced || !rep.RoundTrip.OK || len(rep.Drops) != 0 {
		t.Errorf("balanced %v, round trip %+v, drops %v", rep.Balanced, rep.RoundTrip, rep.Drops)
	}
	if want := map[string]uint64{"CRYPTO_SUCCESS": n(sampleSA)}; !maps.Equal(rep.CryptoStatus, want) {
		t.Errorf("CryptoStatus %v, want %v", rep.CryptoStatus, want)
	}
	if want := map[string]uint64{"not IP": n(sampleARP)}; !maps.Equal(rep.PassThroughReasons, want) {
		t.Errorf("pass-through reasons %v, want %v", rep.PassThroughReasons, want)
	}
	if rep.SAs.Outbound != 8 || rep.SAs.Inbound != 8 {
		t.Errorf("SAs %+v", rep.SAs)
	}
	// The sealed frames keep the capture's Ethernet header with the right ethertype.
	protos := map[uint16]int{}
	for _, f := range rec.frames {
		if !bytes.Equal(f[:12], append(bytes.Clone(macB), macA...)) && !bytes.Equal(f[:6], layers.EthernetBroadcast) {
			t.Fatalf("frame with MACs % x", f[:12])
		}
		et := binary.BigEndian.Uint16(f[12:])
		if et == uint16(layers.EthernetTypeIPv4) {
			protos[uint16(f[14+9])]++
		} else if et == uint16(layers.EthernetTypeIPv6) {
			protos[uint16(f[14+6])|0x600]++
		} else {
			protos[et]++
		}
	}
	// IPv4: ESP for 0x1001, 0x2001, 0x3001 and 0x6001 (AES-CBC); AH for 0x7001 and the
	// ESP+AH bundle (AH outermost); UDP for NAT-T (0x5001) and the clear UDP share (19 of
	// the 54); IPv6 ESP for 0x4001; ARP.
	if protos[50] != int(n(55+55+55+54)) || protos[51] != int(n(54+54)) || protos[17] != int(n(54+19)) ||
		protos[0x600|50] != int(n(55)) || protos[uint16(layers.EthernetTypeARP)] != int(n(10)) {
		t.Errorf("frames by protocol %v", protos)
	}
}

// A capture the replay engine encrypted, played back, decrypts to the original packets.
func TestEncryptThenDecrypt(t *testing.T) {
	in, cfg := demoConfig(t)
	enc := &recorder{}
	cfg.Output = enc
	rep, err := Run(context.Background(), in, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Encrypt.Out.Packets != sampleSA || rep.Out.Packets != sampleTotal || rep.Decrypt.In.Packets != 0 {
		t.Fatalf("encrypt pass: %+v", rep)
	}
	// Keep the arrival order per SA: the recorder saw completions in order per lane.
	dec := &recorder{}
	cfg.Output = dec
	rep2, err := Run(context.Background(), BytesInput("encrypted", pcapOf(t, enc.frames)), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep2.Decrypt.In.Packets != sampleSA || rep2.Decrypt.Out.Packets != sampleSA || rep2.Encrypt.In.Packets != 0 ||
		rep2.Clear.Packets != sampleClear || rep2.PassThrough.Packets != sampleARP || len(rep2.Drops) != 0 || !rep2.Balanced {
		t.Fatalf("decrypt pass: %+v", rep2)
	}
	// The multiset of output frames equals the sample's frames.
	orig := readAll(t, SampleCapture)
	key := func(fs [][]byte) []string {
		s := make([]string, len(fs))
		for i, f := range fs {
			s[i] = string(f)
		}
		slices.Sort(s)
		return s
	}
	if !slices.Equal(key(dec.frames), key(orig)) {
		t.Fatal("decrypted frames differ from the sample capture")
	}
}

func readAll(t testing.TB, capture []byte) [][]byte {
	r, err := pcap.NewReader("x", bytes.NewReader(capture))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for {
		rec, err := r.Next()
		if err != nil {
			break
		}
		out = append(out, bytes.Clone(rec.Data))
	}
	return out
}

// Faults in an ESP capture are counted with their reasons: a corrupted ICV (CryptoStatus
// and a host drop), an AH packet whose IP identification (covered by AH's ICV) changed on
// the way, a duplicate (the host's anti-replay), and nothing else.
func TestDecryptFaults(t *testing.T) {
	in, cfg := demoConfig(t)
	enc := &recorder{}
	cfg.Output, cfg.Lanes = enc, 1
	if _, err := Run(context.Background(), in, cfg); err != nil {
		t.Fatal(err)
	}
	// Find the first two ESP frames of SA 0x2001 (IPv4, protocol 50, SPI at 14+20).
	var idx []int
	for i, f := range enc.frames {
		if binary.BigEndian.Uint16(f[12:]) == 0x0800 && f[14+9] == 50 && binary.BigEndian.Uint32(f[34:]) == 0x2001 {
			idx = append(idx, i)
		}
	}
	if len(idx) != 55 {
		t.Fatalf("%d frames of SA 0x2001, want 55", len(idx))
	}
	ahIdx := slices.IndexFunc(enc.frames, func(f []byte) bool {
		return binary.BigEndian.Uint16(f[12:]) == 0x0800 && f[14+9] == 51 && binary.BigEndian.Uint32(f[34+4:]) == 0x7001
	})
	if ahIdx < 0 {
		t.Fatal("no AH frame of SA 0x7001")
	}
	frames := slices.Clone(enc.frames)
	bad := bytes.Clone(frames[idx[0]])
	bad[len(bad)-1] ^= 1 // last ICV byte
	frames[idx[0]] = bad
	badAH := bytes.Clone(frames[ahIdx])
	badAH[14+4] ^= 0x80 // the IP identification, which AH covers
	inet.IPv4(badAH[14:34]).SetChecksum()
	frames[ahIdx] = badAH
	frames = append(frames, frames[idx[1]]) // a duplicate at the end
	cfg.Output = &recorder{}
	rep, err := Run(context.Background(), BytesInput("faulty", pcapOf(t, frames)), cfg)
	if err != nil {
		t.Fatal(err)
	}
	wantDrops := map[string]uint64{"host: crypto-failed": 2, "host: replayed": 1}
	if !maps.Equal(rep.Drops, wantDrops) {
		t.Errorf("drops %v, want %v", rep.Drops, wantDrops)
	}
	wantStatus := map[string]uint64{"CRYPTO_SUCCESS": sampleSA - 1, "CRYPTO_TRANSPORT_ESP_AUTH_FAILED": 1, "CRYPTO_TRANSPORT_AH_AUTH_FAILED": 1}
	if !maps.Equal(rep.CryptoStatus, wantStatus) {
		t.Errorf("CryptoStatus %v, want %v", rep.CryptoStatus, wantStatus)
	}
	if rep.Decrypt.In.Packets != sampleSA+1 || rep.Decrypt.Out.Packets != sampleSA-2 || !rep.Balanced {
		t.Errorf("decrypt %+v, balanced %v", rep.Decrypt, rep.Balanced)
	}
}

// A pcapng whose interfaces have different link types plays through when the output does
// not care; an output of one link type stops the run at the first packet of the other, with
// an error naming it.
func TestMixedLinkTypes(t *testing.T) {
	frames := readAll(t, SampleCapture)
	// The fourth packet is the IP packet alone, on the raw interface.
	in := append(append([][]byte(nil), frames[:3]...), frames[3][14:])
	capture := ngCapture(t, layers.LinkTypeRaw, in, func(i int) bool { return i == 3 })
	_, cfg := demoConfig(t)
	rec := &recorder{}
	cfg.Output = rec
	rep, err := Run(context.Background(), BytesInput("mixed.pcapng", capture), cfg)
	if err != nil || rep.Read.Packets != 4 || rep.Encrypt.Out.Packets != 4 || !rep.Balanced {
		t.Fatalf("without OneLink: %v, %+v", err, rep)
	}
	// Each frame reaches the output with its own record's link type, and a header of it.
	links := map[pcap.LinkType]int{}
	for i, lt := range rec.links {
		links[lt]++
		if _, _, err := pcap.Network(lt, rec.frames[i]); err != nil {
			t.Fatalf("frame %d: not a %v frame: %v", i, lt, err)
		}
	}
	if len(rec.links) != 4 || links[pcap.LinkTypeEthernet] != 3 || links[pcap.LinkTypeRaw] != 1 {
		t.Fatalf("output link types %v, want 3 Ethernet and 1 Raw", rec.links)
	}
	cfg.OneLink = true
	_, err = Run(context.Background(), BytesInput("mixed.pcapng", capture), cfg)
	want := "mixed.pcapng: packet 4: link type Raw differs from the first packet's Ethernet, and a pcap output holds one link type: write pcapng (an output named .pcapng) to keep both"
	if err == nil || err.Error() != want {
		t.Fatalf("with OneLink: %v, want %q", err, want)
	}
}

// tcpFrame is an Ethernet frame with an IPv4 TCP packet carrying payload.
func tcpFrame(t testing.TB, src, dst string, payload []byte) []byte {
	ip := &layers.IPv4{Version: 4, TTL: 64, Id: 7, Protocol: layers.IPProtocolTCP, SrcIP: mustIP(src).To4(), DstIP: mustIP(dst).To4()}
	tcp := &layers.TCP{SrcPort: 50000, DstPort: 80, Seq: 1000, Ack: 1, ACK: true, PSH: true, Window: 512}
	tcp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		&layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv4}, ip, tcp, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	return bytes.Clone(buf.Bytes())
}

// A TCP packet too big for a buffer (a capture taken with GSO/TSO) goes to the NIC as one
// LSO + IPsec large send: its segments carry the payload in MSS pieces and decrypt back to
// it. The same packet for no SA passes through; a too-big UDP packet is dropped, counted.
func TestLargeSend(t *testing.T) {
	payload := make([]byte, 20000)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	udp := make([]byte, 14+3000)
	copy(udp, tcpFrame(t, "192.0.2.1", "198.51.100.2", nil)[:14+20])
	udp[14+9] = 17
	binary.BigEndian.PutUint16(udp[14+2:], 3000)
	capture := pcapOf(t, [][]byte{
		tcpFrame(t, "192.0.2.1", "198.51.100.2", payload), // SA 0x1001
		tcpFrame(t, "192.0.2.1", "203.0.113.50", payload), // no SA
		udp, // SA 0x1001, not TCP
	})
	const segs = (20000 + 1399) / 1400
	_, cfg := demoConfig(t)
	enc := &recorder{}
	cfg.Output = enc
	rep, err := Run(context.Background(), BytesInput("gso", capture), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.LargeSends != 1 || rep.Segments != segs || rep.Encrypt.In.Packets != 1 || rep.Encrypt.Out.Packets != segs ||
		!rep.Balanced || rep.PassThrough.Packets != 1 ||
		!maps.Equal(rep.Drops, map[string]uint64{"too big for a packet buffer (not TCP: no large send)": 1}) ||
		!maps.Equal(rep.PassThroughReasons, map[string]uint64{"too big for a packet buffer, for no SA": 1}) {
		t.Fatalf("encrypt: %+v", rep)
	}
	// Decrypt what was sealed: the segments' TCP payloads, in order, are the payload.
	var esp [][]byte
	for _, f := range enc.frames {
		if f[14+9] == 50 {
			esp = append(esp, f)
		}
	}
	dec := &recorder{}
	cfg.Output = dec
	rep2, err := Run(context.Background(), BytesInput("gso-esp", pcapOf(t, esp)), cfg)
	if err != nil || rep2.Decrypt.Out.Packets != segs || !rep2.Balanced || len(rep2.Drops) != 0 {
		t.Fatalf("decrypt: %v %+v", err, rep2)
	}
	var joined []byte
	for i, f := range dec.frames {
		ip := f[14:]
		data := ip[20+int(ip[20+12]>>4)*4:]
		if len(data) > 1400 || (i < segs-1 && len(data) != 1400) {
			t.Fatalf("segment %d carries %d bytes, MSS 1400", i, len(data))
		}
		joined = append(joined, data...)
	}
	if !bytes.Equal(joined, payload) {
		t.Fatal("the decrypted segments do not rejoin to the payload")
	}
	// In a round trip the segments are counted, not compared, and the check passes.
	cfg.Output, cfg.RoundTrip = &recorder{}, true
	rep3, err := Run(context.Background(), BytesInput("gso-rt", pcapOf(t, [][]byte{tcpFrame(t, "192.0.2.1", "198.51.100.2", payload)})), cfg)
	if err != nil || !rep3.RoundTrip.OK || rep3.RoundTrip.Segments != segs || rep3.RoundTrip.Checked != 0 {
		t.Fatalf("round trip: %v %+v %+v", err, rep3, rep3.RoundTrip)
	}
}

// A pcapng with an interface whose link type holds no IP ov2 reads (USB, 189) beside an
// Ethernet one: its packets pass through as they are, counted by link type, and the rest
// of the capture plays (before, the run stopped at the first of them with "unsupported
// link type"). A capture whose first packet is of such a type is still refused (cmd/ov2).
func TestUnreadLinkTypePassesThrough(t *testing.T) {
	frames := readAll(t, SampleCapture)
	urb := bytes.Repeat([]byte{1}, 48)
	capture := ngCapture(t, layers.LinkType(189), [][]byte{frames[0], urb, frames[1], urb}, func(i int) bool { return i%2 == 1 })
	_, cfg := demoConfig(t)
	rec := &recorder{}
	cfg.Output = rec
	rep, err := Run(context.Background(), BytesInput("usb.pcapng", capture), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Read.Packets != 4 || rep.Encrypt.Out.Packets != 2 || rep.PassThrough.Packets != 2 ||
		rep.PassThroughReasons["link type 189 not read"] != 2 || rep.Out.Packets != 4 || !rep.Balanced {
		t.Fatalf("read %d, encrypted %d, passed through %d %v, out %d, balanced %v; want 4, 2, 2 (link type 189 not read 2), 4, true",
			rep.Read.Packets, rep.Encrypt.Out.Packets, rep.PassThrough.Packets, rep.PassThroughReasons, rep.Out.Packets, rep.Balanced)
	}
	var usbOut int
	for i, lt := range rec.links {
		if lt == 189 {
			usbOut++
			if !bytes.Equal(rec.frames[i], urb) {
				t.Errorf("frame %d: the USB record changed: %x", i, rec.frames[i])
			}
		}
	}
	if usbOut != 2 {
		t.Errorf("%d USB records reached the output, want 2", usbOut)
	}
}

// ngCapture writes frames as a pcapng with two interfaces, Ethernet and one of link type
// other, a microsecond apart from sampleStart; frame i is on the second when second(i).
func ngCapture(t *testing.T, other layers.LinkType, frames [][]byte, second func(i int) bool) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := pcapgo.NewNgWriter(&b, layers.LinkTypeEthernet)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := w.AddInterface(pcapgo.NgInterface{LinkType: other, SnapLength: 65535})
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range frames {
		ci := ciOf(sampleStart.Add(time.Duration(i)*time.Microsecond), len(f))
		if second(i) {
			ci.InterfaceIndex = idx
		}
		if err := w.WritePacket(ci, f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
