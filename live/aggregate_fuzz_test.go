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
// inside it, the TCP checksum field where csum_start and csum_offset say, the MSS asked
// for, the GSO type of the IP version) and the field holds the pseudo-header's sum. Seeds
// in testdata/fuzz/FuzzAggregateHeader.
func FuzzAggregateHeader(f *testing.F) {
	f.Fuzz(func(t *testing.T, frame []byte, linkLen, ipHdrLen, mss int) {
		before := bytes.Clone(frame)
		var hdr [vnetHdrLen]byte
		if !aggregateHeader(&hdr, frame, linkLen, ipHdrLen, mss) {
			if !bytes.Equal(frame, before) {
				t.Fatal("a refused frame was changed")
			}
			return
		}
		hdrLen := int(binary.LittleEndian.Uint16(hdr[2:]))
		start := int(binary.LittleEndian.Uint16(hdr[6:]))
		off := int(binary.LittleEndian.Uint16(hdr[8:]))
		if hdr[0] != vnetFNeedsCsum || start != linkLen+ipHdrLen || off != tcpChecksumField ||
			hdrLen > len(frame) || start+off+2 > hdrLen || int(binary.LittleEndian.Uint16(hdr[4:])) != mss {
			t.Fatalf("header %x for a frame of %d bytes, link %d, IP header %d, MSS %d", hdr, len(frame), linkLen, ipHdrLen, mss)
		}
		ip := frame[linkLen:]
		tcp := ip[ipHdrLen:]
		var sum uint32
		switch hdr[1] {
		case vnetGSOTCPv4:
			if ip[0]>>4 != 4 {
				t.Fatalf("TCPv4 for IP version %d", ip[0]>>4)
			}
			sum = inet.PseudoHeaderIPv4(ip[12:16], ip[16:20], inet.ProtoTCP, len(tcp))
		case vnetGSOTCPv6:
			if ip[0]>>4 != 6 || ipHdrLen != 40 {
				t.Fatalf("TCPv6 for IP version %d, header %d", ip[0]>>4, ipHdrLen)
			}
			sum = inet.PseudoHeaderIPv6(ip[8:24], ip[24:40], inet.ProtoTCP, len(tcp))
		default:
			t.Fatalf("GSO type %d", hdr[1])
		}
		if got := binary.BigEndian.Uint16(tcp[tcpChecksumField:]); got != ^inet.Finish(sum) {
			t.Fatalf("checksum field %#04x, want the pseudo-header sum %#04x", got, ^inet.Finish(sum))
		}
	})
}
