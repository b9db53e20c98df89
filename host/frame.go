package host

import (
	"encoding/binary"
	"fmt"
	"github.com/ov2dev/ov2/internal/inet"
	"net/netip"

	"github.com/ov2dev/ov2/packet"
)

// inner is what the host reads of a plain packet before framing it.
type inner struct {
	src, dst   netip.Addr
	hdrLen     int  // IP header length (IPv4 with options; IPv6 fixed header)
	proto      byte // IPv4 protocol / IPv6 next header
	v6         bool
	tcpPayload int // TCP payload bytes when proto is TCP
}

func parseInner(ip []byte) (inner, error) {
	var in inner
	if len(ip) < 20 {
		return in, fmt.Errorf("%w: %d bytes", ErrNotIP, len(ip))
	}
	switch ip[0] >> 4 {
	case 4:
		in.hdrLen = int(ip[0]&0xf) * 4
		total := int(binary.BigEndian.Uint16(ip[2:]))
		if in.hdrLen < 20 || total != len(ip) || in.hdrLen > total {
			return in, fmt.Errorf("%w: IPv4 header length %d, total length %d, %d bytes", ErrNotIP, in.hdrLen, total, len(ip))
		}
		in.proto = ip[9]
		in.src, in.dst = netip.AddrFrom4([4]byte(ip[12:16])), netip.AddrFrom4([4]byte(ip[16:20]))
	case 6:
		if len(ip) < 40 || 40+int(binary.BigEndian.Uint16(ip[4:])) != len(ip) {
			return in, fmt.Errorf("%w: IPv6 payload length does not match %d bytes", ErrNotIP, len(ip))
		}
		in.v6, in.hdrLen, in.proto = true, 40, ip[6]
		in.src, in.dst = netip.AddrFrom16([16]byte(ip[8:24])), netip.AddrFrom16([16]byte(ip[24:40]))
	default:
		return in, fmt.Errorf("%w: version %d", ErrNotIP, ip[0]>>4)
	}
	if in.proto == inet.ProtoTCP {
		if len(ip) < in.hdrLen+20 {
			return in, fmt.Errorf("%w: truncated TCP header", ErrNotIP)
		}
		off := int(ip[in.hdrLen+12]>>4) * 4
		if off < 20 || in.hdrLen+off > len(ip) {
			return in, fmt.Errorf("%w: TCP data offset %d", ErrNotIP, off)
		}
		in.tcpPayload = len(ip) - in.hdrLen - off
	}
	return in, nil
}

// frame writes the packet for ip into b (R-TX-4): the host's part of IPsecOV2, for every
// suite (sendsuites.go lays it out and writes it). The IV room, the AH header's IV, ICV and
// padding, and the ICV room are left zero: the NIC fills them.
//
//	transport: IP header (protocol AH, ESP or UDP) | [AH] | [UDP] | [ESP | IV room] | L4 … | [pad | padlen | nh | ICV room]
//	tunnel:    outer IP | [AH] | [UDP] | [ESP | IV room] | the whole inner packet | [pad | padlen | nh | ICV room]
//
// The IV room is the suite's (8 for AES-GCM and AES-GMAC, 16 for AES-CBC, 0 for NULL) and
// the padding reaches its block (16 for AES-CBC, else 4). AH's next header is ESP's (50) in
// an ESP+AH bundle. A large send (mss > 0) stops after the payload: no trailer and no ICV
// room; the OOB carries MSS and the next header (0 for AH alone), and the NIC writes a
// trailer per segment (R-TX-6). seq is the first part's sequence number (ESP, or AH for AH
// alone), ahSeq a bundle's AH part's.
func (s *Sender) frame(b *packet.Buffer, ip []byte, in *inner, o *outSA, seq, ahSeq uint64, mss int) error {
	c := &o.cfg
	hdr, payload, nh, err := payloadOf(c, ip, in)
	if err != nil {
		return err
	}
	outerLen := len(hdr)
	v6 := in.v6
	if c.Mode == Tunnel {
		outerLen, v6 = 20, c.Src.Is6()
		if v6 {
			outerLen = 40
		}
	}
	l := layoutOf(c, outerLen, len(payload), v6, mss)
	if err := fits(b, l.n, v6); err != nil {
		return err
	}
	f := b.Append(l.n)
	s.put(f, c, &l, hdr, payload, nh, seq, ahSeq, mss)
	b.Tx.OffloadHandle = uint64(o.handle)
	setTx(&b.Tx, c, &l, 0, nh, mss)
	return nil
}

// outerHeader writes a tunnel's outer IP header.
func (s *Sender) outerHeader(h []byte, c *SAConfig, proto byte, total int) {
	if c.Src.Is4() {
		s.ipID++
		h[0], h[1] = 0x45, 0
		binary.BigEndian.PutUint16(h[2:], uint16(total))
		binary.BigEndian.PutUint16(h[4:], s.ipID)
		binary.BigEndian.PutUint16(h[6:], 0)
		h[8], h[9] = 64, proto
		src, dst := c.Src.As4(), c.Dst.As4()
		copy(h[12:], src[:])
		copy(h[16:], dst[:])
		putIPv4Checksum(h)
		return
	}
	binary.BigEndian.PutUint32(h[0:], 6<<28)
	binary.BigEndian.PutUint16(h[4:], uint16(total-40))
	h[6], h[7] = proto, 64
	src, dst := c.Src.As16(), c.Dst.As16()
	copy(h[8:], src[:])
	copy(h[24:], dst[:])
}

// setIPLengthProto rewrites the length and protocol of a transport packet's own IP header.
func setIPLengthProto(f []byte, total int, proto byte) {
	if f[0]>>4 == 6 {
		binary.BigEndian.PutUint16(f[4:], uint16(total-40))
		f[6] = proto
		return
	}
	binary.BigEndian.PutUint16(f[2:], uint16(total))
	f[9] = proto
	putIPv4Checksum(f[:int(f[0]&0xf)*4])
}

func putIPv4Checksum(h []byte) { inet.IPv4(h).SetChecksum() }

func familyName(a netip.Addr) string {
	if a.Is6() {
		return "IPv6"
	}
	return "IPv4"
}
