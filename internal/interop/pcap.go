package interop

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// snapLen is the snapshot length written into pcap headers: larger than any IP packet.
const snapLen = 65535

// ethHeaderLen is the Ethernet II header ReadPcap strips from LinkTypeEthernet captures.
const ethHeaderLen = 14

// WritePcap writes raw IPv4 or IPv6 packets, with no link-layer header, to a new pcap file
// at path with link type Raw (101). Packet i gets the timestamp i microseconds after the
// Unix epoch, so the file's bytes depend on nothing but pkts.
func WritePcap(path string, pkts [][]byte) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(snapLen, layers.LinkTypeRaw); err != nil {
		return fmt.Errorf("interop: %s: %w", path, err)
	}
	for i, p := range pkts {
		if len(p) > snapLen {
			return fmt.Errorf("interop: %s: packet %d is %d bytes, more than %d", path, i, len(p), snapLen)
		}
		ci := gopacket.CaptureInfo{
			Timestamp:     time.Unix(0, int64(i)*int64(time.Microsecond)).UTC(),
			CaptureLength: len(p),
			Length:        len(p),
		}
		if err := w.WritePacket(ci, p); err != nil {
			return fmt.Errorf("interop: %s: packet %d: %w", path, i, err)
		}
	}
	return nil
}

// ReadPcap reads the packets of a pcap file as raw IP packets: those of a LinkTypeRaw
// capture as they are, those of a LinkTypeEthernet capture without their 14-byte Ethernet
// header. Other link types are an error.
func ReadPcap(path string) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("interop: %s: %w", path, err)
	}
	strip := 0
	switch lt := r.LinkType(); lt {
	case layers.LinkTypeRaw:
	case layers.LinkTypeEthernet:
		strip = ethHeaderLen
	default:
		return nil, fmt.Errorf("interop: %s: link type %d (%v), want Raw (101) or Ethernet (1)", path, uint32(lt), lt)
	}
	var pkts [][]byte
	for i := 0; ; i++ {
		data, _, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return pkts, nil
		}
		if err != nil {
			return nil, fmt.Errorf("interop: %s: packet %d: %w", path, i, err)
		}
		if len(data) < strip {
			return nil, fmt.Errorf("interop: %s: packet %d is %d bytes, shorter than an Ethernet header", path, i, len(data))
		}
		pkts = append(pkts, data[strip:])
	}
}
