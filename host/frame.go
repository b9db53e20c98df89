package host

import (
	"encoding/binary"
	"fmt"
	"github.com/ov2dev/ov2/internal/inet"
	"net/netip"

	"github.com/ov2dev/ov2/esp"
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

// frame writes the ESP packet for ip into b (R-TX-4): the host's part of IPsecOV2. The IV
// field is left zero (the NIC writes the sequence number there) and the ICV room zero.
//
//	transport: IP header (protocol ESP or UDP) | [UDP] | ESP | IV | L4 … | pad | padlen | nh | ICV room
//	tunnel:    outer IP | [UDP] | ESP | IV | the whole inner packet | pad | padlen | nh | ICV room
//
// A large send (mss > 0) stops after the payload: no trailer and no ICV room; the OOB
// carries MSS and the next header, and the NIC writes a trailer per segment (R-TX-6).
func (s *Sender) frame(b *packet.Buffer, ip []byte, in *inner, o *outSA, seq uint64, mss int) error {
	c := &o.cfg
	var hdr, payload []byte // the IP header to write, and what ESP protects
	var nh byte
	if c.Mode == Tunnel {
		if in.v6 {
			nh = inet.ProtoIPv6
		} else {
			nh = inet.ProtoIPv4
		}
		payload = ip
	} else {
		if in.v6 && inet.IsIPv6ExtensionHeader(in.proto) { // ESP goes directly after the fixed header
			return fmt.Errorf("%w: IPv6 extension header %d before the transport payload", ErrUnsupported, in.proto)
		}
		if in.v6 != c.Src.Is6() {
			return fmt.Errorf("%w: transport SA 0x%08x is %v, packet is not", ErrUnsupported, c.SPI, familyName(c.Src))
		}
		hdr, payload, nh = ip[:in.hdrLen], ip[in.hdrLen:], in.proto
	}
	outerLen := len(hdr)
	if c.Mode == Tunnel {
		outerLen = 20
		if c.Src.Is6() {
			outerLen = 40
		}
	}
	udp := 0
	if c.NATT {
		udp = 8
	}
	espOff := outerLen + udp
	n := espOff + esp.HeaderLen + esp.IVLen + len(payload)
	pad := 0
	if mss == 0 {
		pad = esp.PadLen(len(payload))
		n += pad + esp.TrailerLen + c.ICVLen
	}
	if n > b.Cap() || (c.Src.Is4() && n > 0xffff) || (c.Src.Is6() && n-40 > 0xffff) {
		return fmt.Errorf("%w: %d bytes framed", ErrTooBig, n)
	}
	f := b.Append(n)
	proto := byte(inet.ProtoESP)
	if c.NATT {
		proto = inet.ProtoUDP
	}
	if c.Mode == Tunnel {
		s.outerHeader(f[:outerLen], c, proto, n)
	} else {
		copy(f, hdr)
		setIPLengthProto(f, n, proto)
	}
	if c.NATT {
		u := f[outerLen:espOff]
		binary.BigEndian.PutUint16(u[0:], c.SPort)
		binary.BigEndian.PutUint16(u[2:], c.DPort)
		binary.BigEndian.PutUint16(u[4:], uint16(n-outerLen))
		binary.BigEndian.PutUint16(u[6:], 0) // RFC 3948: 0 over IPv4; the NIC fills it over IPv6
	}
	esp.PutHeader(f[espOff:], c.SPI, uint32(seq))
	clear(f[espOff+esp.HeaderLen : espOff+esp.HeaderLen+esp.IVLen])
	body := espOff + esp.HeaderLen + esp.IVLen
	copy(f[body:], payload)
	b.Tx.OffloadHandle = uint64(o.handle)
	b.Tx.EspHeaderOffset = uint8(espOff / 4)
	b.Tx.NextHeader = nh
	if mss > 0 {
		b.Tx.MSS = uint32(mss)
		return nil
	}
	t := body + len(payload)
	esp.AppendTrailer(f[t:t], pad, nh)
	clear(f[n-c.ICVLen:])
	b.Tx.PadLength = uint8(pad)
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
