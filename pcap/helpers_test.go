package pcap

import (
	"bytes"
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// Addresses used by the frame builders.
var (
	macA = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x00, 0x0a}
	macB = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x00, 0x0b}
	ip4A = net.IP{192, 0, 2, 1}
	ip4B = net.IP{198, 51, 100, 2}
	ip6A = net.ParseIP("2001:db8::1")
	ip6B = net.ParseIP("2001:db8::2")
)

// serialize builds a packet from layers, with lengths and checksums filled in.
func serialize(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

// pattern returns n bytes 0, 1, 2, ... (mod 251), seeded so packets differ.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte((i + int(seed)) % 251)
	}
	return b
}

// ipv4UDP is an IPv4/UDP packet with n payload bytes (20 + 8 + n bytes in all).
func ipv4UDP(t testing.TB, n int) []byte {
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: ip4A, DstIP: ip4B, Id: 0x1234}
	udp := &layers.UDP{SrcPort: 4500, DstPort: 4500}
	udp.SetNetworkLayerForChecksum(ip)
	return serialize(t, ip, udp, gopacket.Payload(pattern(n, byte(n))))
}

// ipv6UDP is an IPv6/UDP packet with n payload bytes (40 + 8 + n bytes in all).
func ipv6UDP(t testing.TB, n int) []byte {
	ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolUDP, SrcIP: ip6A, DstIP: ip6B}
	udp := &layers.UDP{SrcPort: 500, DstPort: 500}
	udp.SetNetworkLayerForChecksum(ip)
	return serialize(t, ip, udp, gopacket.Payload(pattern(n, byte(n+7))))
}

func ethType(ip []byte) layers.EthernetType {
	if ip[0]>>4 == 6 {
		return layers.EthernetTypeIPv6
	}
	return layers.EthernetTypeIPv4
}

// ether frames ip in Ethernet (padded to 60 bytes by gopacket when short).
func ether(t testing.TB, ip []byte) []byte {
	return serialize(t, &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: ethType(ip)}, gopacket.Payload(ip))
}

// etherVLAN frames ip in Ethernet with VLAN tags: the outer tag's TPID is outer
// (0x8100, 0x88a8 or 0x9100), inner tags are 802.1Q.
func etherVLAN(t testing.TB, ip []byte, outer layers.EthernetType, vids ...uint16) []byte {
	ls := []gopacket.SerializableLayer{&layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: outer}}
	for i, vid := range vids {
		next := layers.EthernetTypeDot1Q
		if i == len(vids)-1 {
			next = ethType(ip)
		}
		ls = append(ls, &layers.Dot1Q{Priority: 3, VLANIdentifier: vid, Type: next})
	}
	return serialize(t, append(ls, gopacket.Payload(ip))...)
}

// sllHeader is a Linux cooked v1 header: incoming unicast, ARPHRD_ETHER, source macA.
func sllHeader(proto uint16) []byte {
	h := make([]byte, 16)
	binary.BigEndian.PutUint16(h[0:], 0) // LINUX_SLL_HOST
	binary.BigEndian.PutUint16(h[2:], 1) // ARPHRD_ETHER
	binary.BigEndian.PutUint16(h[4:], 6)
	copy(h[6:], macA)
	binary.BigEndian.PutUint16(h[14:], proto)
	return h
}

// sll2Header is a Linux cooked v2 header: ifindex 3, ARPHRD_ETHER, outgoing, source macA.
func sll2Header(proto uint16) []byte {
	h := make([]byte, 20)
	binary.BigEndian.PutUint16(h[0:], proto)
	binary.BigEndian.PutUint32(h[4:], 3)
	binary.BigEndian.PutUint16(h[8:], 1)
	h[10] = 4 // LINUX_SLL_OUTGOING
	h[11] = 6
	copy(h[12:], macA)
	return h
}

// nullHeader is a DLT_NULL/DLT_LOOP header holding family in the given byte order.
func nullHeader(fam uint32, big bool) []byte {
	h := make([]byte, 4)
	if big {
		binary.BigEndian.PutUint32(h, fam)
	} else {
		binary.LittleEndian.PutUint32(h, fam)
	}
	return h
}

func vlanTag(vid, next uint16) []byte {
	return binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(nil, vid), next)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// pkt is a packet to put in a test capture.
type pkt struct {
	ts    time.Time
	data  []byte
	orig  int // 0: len(data)
	iface int // pcapng interface
}

func (p pkt) origLen() int {
	if p.orig == 0 {
		return len(p.data)
	}
	return p.orig
}

// pcapgoFile writes a little-endian pcap with pcapgo.Writer (microseconds, or nanoseconds).
func pcapgoFile(t testing.TB, nanos bool, lt LinkType, snaplen uint32, pkts []pkt) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if nanos {
		w = pcapgo.NewWriterNanos(&buf)
	}
	if err := w.WriteFileHeader(snaplen, layers.LinkType(lt)); err != nil {
		t.Fatal(err)
	}
	for _, p := range pkts {
		ci := gopacket.CaptureInfo{Timestamp: p.ts, CaptureLength: len(p.data), Length: p.origLen()}
		if err := w.WritePacket(ci, p.data); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// rawPcap writes a pcap by hand, in either byte order, with any 16-bit link type.
func rawPcap(big, nanos bool, lt LinkType, snaplen uint32, pkts []pkt) []byte {
	var o binary.AppendByteOrder = binary.LittleEndian
	if big {
		o = binary.BigEndian
	}
	magic := uint32(0xa1b2c3d4)
	if nanos {
		magic = 0xa1b23c4d
	}
	b := o.AppendUint32(nil, magic)
	b = o.AppendUint16(b, 2)
	b = o.AppendUint16(b, 4)
	b = o.AppendUint32(b, 0)
	b = o.AppendUint32(b, 0)
	b = o.AppendUint32(b, snaplen)
	b = o.AppendUint32(b, uint32(lt))
	for _, p := range pkts {
		frac := uint32(p.ts.Nanosecond())
		if !nanos {
			frac /= 1000
		}
		b = o.AppendUint32(b, uint32(p.ts.Unix()))
		b = o.AppendUint32(b, frac)
		b = o.AppendUint32(b, uint32(len(p.data)))
		b = o.AppendUint32(b, uint32(p.origLen()))
		b = append(b, p.data...)
	}
	return b
}

// pcapngFile writes a pcapng with pcapgo.NgWriter, one interface per link type (each
// below 256), nanosecond timestamps.
func pcapngFile(t testing.TB, lts []LinkType, pkts []pkt) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{Name: "if0", LinkType: layers.LinkType(lts[0]), SnapLength: 65535},
		pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{Application: "pcapio test"}}) // not the default: it names the build's OS and CPU
	if err != nil {
		t.Fatal(err)
	}
	for i, lt := range lts[1:] {
		if _, err := w.AddInterface(pcapgo.NgInterface{Name: "if" + string(rune('1'+i)), LinkType: layers.LinkType(lt)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range pkts {
		ci := gopacket.CaptureInfo{Timestamp: p.ts, CaptureLength: len(p.data), Length: p.origLen(), InterfaceIndex: p.iface}
		if err := w.WritePacket(ci, p.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// ngBuilder writes pcapng blocks by hand, in either byte order, for what pcapgo.NgWriter
// cannot write: link types of 256 and up, big-endian sections, simple packet blocks,
// other block types, corrupt blocks.
type ngBuilder struct {
	big bool
	b   []byte
}

func (n *ngBuilder) o() binary.AppendByteOrder {
	if n.big {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

func pad4(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// opt encodes one option; opts ends a list of them with end-of-options.
func (n *ngBuilder) opt(code uint16, val []byte) []byte {
	b := n.o().AppendUint16(nil, code)
	b = n.o().AppendUint16(b, uint16(len(val)))
	return pad4(append(b, val...))
}

func (n *ngBuilder) opts(list ...[]byte) []byte {
	if len(list) == 0 {
		return nil
	}
	return append(cat(list...), 0, 0, 0, 0)
}

// block appends a block and returns its offset.
func (n *ngBuilder) block(typ uint32, body []byte) int {
	at := len(n.b)
	body = pad4(body)
	n.b = n.o().AppendUint32(n.b, typ)
	n.b = n.o().AppendUint32(n.b, uint32(12+len(body)))
	n.b = append(n.b, body...)
	n.b = n.o().AppendUint32(n.b, uint32(12+len(body)))
	return at
}

func (n *ngBuilder) shb(opts ...[]byte) int {
	b := n.o().AppendUint32(nil, 0x1a2b3c4d)
	b = n.o().AppendUint16(b, 1)
	b = n.o().AppendUint16(b, 0)
	b = n.o().AppendUint64(b, ^uint64(0))
	return n.block(0x0a0d0d0a, append(b, n.opts(opts...)...))
}

func (n *ngBuilder) idb(lt LinkType, snap uint32, opts ...[]byte) int {
	b := n.o().AppendUint16(nil, uint16(lt))
	b = n.o().AppendUint16(b, 0)
	b = n.o().AppendUint32(b, snap)
	return n.block(1, append(b, n.opts(opts...)...))
}

func (n *ngBuilder) epb(iface uint32, ts uint64, data []byte, orig uint32, opts ...[]byte) int {
	b := n.o().AppendUint32(nil, iface)
	b = n.o().AppendUint32(b, uint32(ts>>32))
	b = n.o().AppendUint32(b, uint32(ts))
	b = n.o().AppendUint32(b, uint32(len(data)))
	b = n.o().AppendUint32(b, orig)
	b = pad4(append(b, data...))
	return n.block(6, append(b, n.opts(opts...)...))
}

func (n *ngBuilder) spb(data []byte, orig uint32) int {
	return n.block(3, append(n.o().AppendUint32(nil, orig), data...))
}

// readAll reads every record of a capture, copying the data.
func readAll(t testing.TB, r *Reader) ([]Record, error) {
	t.Helper()
	var recs []Record
	for {
		rec, err := r.Next()
		if err != nil {
			return recs, err
		}
		rec.Data = append([]byte(nil), rec.Data...)
		recs = append(recs, rec)
	}
}

// must is for values that cannot fail in a test's setup.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
