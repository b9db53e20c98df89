package replay

import (
	"bytes"
	"flag"
	"net"
	"os"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

var update = flag.Bool("update", false, "rewrite testdata/sample.pcap")

var (
	macA = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x01}
	macB = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x02}
)

// sampleFlows are the sample's traffic: source, destination, and what the demo SAs do.
var sampleFlows = []flow{
	{"192.0.2.1", "198.51.100.2"}, // SA 0x1001, GCM-128 ESN
	{"192.0.2.1", "198.51.100.3"}, // SA 0x2001, GMAC
	{"10.1.0.5", "10.2.0.7"},      // SA 0x3001, GCM-256 tunnel
	{"2001:db8::1", "2001:db8:1::2"},
	{"192.0.2.1", "198.51.100.4"}, // SA 0x5001, NAT-T
	{"192.0.2.1", "203.0.113.50"}, // no SA: clear
	{"192.0.2.1", "198.51.100.5"}, // SA 0x6001, AES-CBC-128 + HMAC-SHA-256-128
	{"192.0.2.1", "198.51.100.6"}, // SA 0x7001, AH HMAC-SHA1-96
	{"192.0.2.1", "198.51.100.7"}, // SAs 0x8001 + 0x8002, ESP+AH bundle
}

var sampleSizes = []int{64, 128, 576, 1000, 1400, 1500}

// flow is a capture's traffic between two hosts.
type flow struct{ src, dst string }

// buildSample makes the sample capture, the same bytes every time.
func buildSample(t testing.TB) []byte { return buildCapture(t, sampleFlows, 500) }

// buildCapture makes a capture of n Ethernet frames: every 50th is ARP, the others take the
// flows in turn, each flow taking UDP, TCP and ICMP and the sample sizes in turn.
func buildCapture(t testing.TB, flows []flow, n int) []byte {
	var out bytes.Buffer
	w := pcapgo.NewWriter(&out)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	ts := sampleStart
	for i := 0; i < n; i++ {
		buf := gopacket.NewSerializeBuffer()
		var ls []gopacket.SerializableLayer
		if i%50 == 49 { // ARP: not IP, passes through
			ls = []gopacket.SerializableLayer{
				&layers.Ethernet{SrcMAC: macA, DstMAC: layers.EthernetBroadcast, EthernetType: layers.EthernetTypeARP},
				&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6,
					ProtAddressSize: 4, Operation: layers.ARPRequest, SourceHwAddress: macA,
					SourceProtAddress: net.ParseIP("192.0.2.1").To4(), DstHwAddress: make([]byte, 6),
					DstProtAddress: net.ParseIP("192.0.2.254").To4()},
			}
		} else {
			f := flows[i%len(flows)]
			src, dst := net.ParseIP(f.src), net.ParseIP(f.dst)
			// Each flow takes each transport (UDP, TCP, ICMP) and each size in turn.
			round := i / len(flows)
			size := sampleSizes[(round/3)%len(sampleSizes)]
			eth := &layers.Ethernet{SrcMAC: macA, DstMAC: macB}
			var ipl gopacket.NetworkLayer
			hdrLen := 20
			if src.To4() == nil {
				hdrLen = 40
				eth.EthernetType = layers.EthernetTypeIPv6
				ipl = &layers.IPv6{Version: 6, HopLimit: 64, SrcIP: src, DstIP: dst}
			} else {
				eth.EthernetType = layers.EthernetTypeIPv4
				ipl = &layers.IPv4{Version: 4, TTL: 64, Id: uint16(i), SrcIP: src.To4(), DstIP: dst.To4()}
			}
			payload := make([]byte, 0, size)
			for k := 0; len(payload) < size-hdrLen-20; k++ {
				payload = append(payload, byte(i*7+k))
			}
			var l4 gopacket.SerializableLayer
			switch round % 3 {
			case 0:
				u := &layers.UDP{SrcPort: 40000 + layers.UDPPort(i%100), DstPort: 9}
				u.SetNetworkLayerForChecksum(ipl)
				l4 = u
			case 1:
				tc := &layers.TCP{SrcPort: 50000, DstPort: 80, Seq: uint32(i) * 1000, Ack: 1, ACK: true, PSH: true, Window: 512}
				tc.SetNetworkLayerForChecksum(ipl)
				l4 = tc
			default:
				if src.To4() == nil {
					ic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeEchoRequest, 0)}
					ic.SetNetworkLayerForChecksum(ipl)
					l4 = ic
				} else {
					l4 = &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: 7, Seq: uint16(i)}
				}
			}
			switch l := ipl.(type) {
			case *layers.IPv4:
				l.Protocol = layers.IPProtocolUDP
				switch l4.(type) {
				case *layers.TCP:
					l.Protocol = layers.IPProtocolTCP
				case *layers.ICMPv4:
					l.Protocol = layers.IPProtocolICMPv4
				}
			case *layers.IPv6:
				l.NextHeader = layers.IPProtocolUDP
				switch l4.(type) {
				case *layers.TCP:
					l.NextHeader = layers.IPProtocolTCP
				case *layers.ICMPv6:
					l.NextHeader = layers.IPProtocolICMPv6
				}
			}
			ls = []gopacket.SerializableLayer{eth, ipl.(gopacket.SerializableLayer), l4, gopacket.Payload(payload)}
		}
		if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
			t.Fatal(err)
		}
		data := buf.Bytes()
		ci := gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(data), Length: len(data)}
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
		ts = ts.Add(10 * time.Microsecond)
	}
	return out.Bytes()
}

// TestSampleCapture checks that the embedded sample is what buildSample makes (run with
// -update to rewrite it).
func TestSampleCapture(t *testing.T) {
	want := buildSample(t)
	if *update {
		if err := os.WriteFile("testdata/sample.pcap", want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(SampleCapture, want) {
		t.Fatalf("testdata/sample.pcap is out of date (%d bytes, want %d): run go test ./replay -run TestSampleCapture -update",
			len(SampleCapture), len(want))
	}
}
