//go:build linux

package live

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/ov2dev/ov2/internal/inet"
)

// FuzzAggregateHeader: aggregateHeader never panics; when it refuses a frame it leaves it
// as it was, and when it takes one its virtio-net header describes the frame (lengths
// inside it, the TCP or UDP checksum field where csum_start and csum_offset say, the size
// asked for, the GSO type of the protocol and IP version) and the field holds the
// pseudo-header's sum. Seeds
// in testdata/fuzz/FuzzAggregateHeader.
func FuzzAggregateHeader(f *testing.F) {
	f.Fuzz(func(t *testing.T, frame []byte, linkLen, ipHdrLen, mss int, udp bool) {
		before := bytes.Clone(frame)
		var hdr [vnetHdrLen]byte
		if !aggregateHeader(&hdr, frame, linkLen, ipHdrLen, mss, udp) {
			if !bytes.Equal(frame, before) {
				t.Fatal("a refused frame was changed")
			}
			return
		}
		hdrLen := int(binary.LittleEndian.Uint16(hdr[2:]))
		start := int(binary.LittleEndian.Uint16(hdr[6:]))
		off := int(binary.LittleEndian.Uint16(hdr[8:]))
		field, proto := tcpChecksumField, byte(inet.ProtoTCP)
		if udp {
			field, proto = udpChecksumField, inet.ProtoUDP
		}
		if hdr[0] != vnetFNeedsCsum || start != linkLen+ipHdrLen || off != field ||
			hdrLen > len(frame) || start+off+2 > hdrLen || int(binary.LittleEndian.Uint16(hdr[4:])) != mss {
			t.Fatalf("header %x for a frame of %d bytes, link %d, IP header %d, MSS %d", hdr, len(frame), linkLen, ipHdrLen, mss)
		}
		ip := frame[linkLen:]
		l4 := ip[ipHdrLen:]
		var sum uint32
		switch {
		case udp && hdr[1] != vnetGSOUDPL4, !udp && hdr[1] == vnetGSOUDPL4:
			t.Fatalf("GSO type %d for UDP %v", hdr[1], udp)
		case ip[0]>>4 == 4 && (udp || hdr[1] == vnetGSOTCPv4):
			sum = inet.PseudoHeaderIPv4(ip[12:16], ip[16:20], proto, len(l4))
		case ip[0]>>4 == 6 && ipHdrLen == 40 && (udp || hdr[1] == vnetGSOTCPv6):
			sum = inet.PseudoHeaderIPv6(ip[8:24], ip[24:40], proto, len(l4))
		default:
			t.Fatalf("GSO type %d for IP version %d, header %d", hdr[1], ip[0]>>4, ipHdrLen)
		}
		if got := binary.BigEndian.Uint16(l4[field:]); got != ^inet.Finish(sum) {
			t.Fatalf("checksum field %#04x, want the pseudo-header sum %#04x", got, ^inet.Finish(sum))
		}
	})
}
