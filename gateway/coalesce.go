package gateway

import (
	"bytes"
	"encoding/binary"

	"github.com/ov2dev/ov2/internal/inet"
)

// The decrypt direction hands the kernel consecutive TCP segments of one flow, opened in
// one burst, as one aggregate (generic receive offload done by the gateway): one send of up
// to 64 KB through live.AggregateSender, which the kernel cuts back into the same segments
// on the way out (or, where the inside link and the host take aggregates, as a veth does
// with its offloads on, passes whole), instead of one frame each. The segments that may
// join are the ones Linux's own GRO would merge, and the aggregate cuts back into exactly
// them: same link header, same addresses and ports, same IP fields (IPv4 with DF, no
// options or fragments; IPv6 without extension headers), same ACK number, window and TCP
// options, each segment's sequence number where the previous one ended, only ACK (and PSH
// on the last) set, and every segment but the last as long as the first.

const (
	tcpFlagPSH = 0x08
	tcpFlagACK = 0x10
	// maxAggregateIP is the longest IP packet an aggregate may be (its length fields are
	// 16 bits).
	maxAggregateIP = 0xffff
)

// merger builds one aggregate from consecutive segments.
type merger struct {
	buf   []byte // the aggregate: the first segment's frame, then the others' payloads
	first []byte // the first segment's frame, still in its NIC buffer, until a second joins
	link  int    // link-layer header length
	ip    int    // IP header length
	hdrs  int    // link + IP + TCP headers
	mss   int    // the first segment's payload length
	n     int    // segments in it
	next  uint32 // the sequence number the next segment must have
	done  bool   // the last segment was short or had PSH: nothing more may join
	psh   bool   // the last segment had PSH
}

// segment reads frame (linkLen bytes of link-layer header, an IP packet) as a TCP segment
// that may be part of an aggregate: its IP header length, all its headers' length, and its
// payload length, or ok false.
func segment(frame []byte, linkLen int) (ipHdr, hdrs, payload int, ok bool) {
	if len(frame) < linkLen+40 {
		return 0, 0, 0, false
	}
	ip := frame[linkLen:]
	switch ip[0] >> 4 {
	case 4:
		// No options, DF and no fragment fields, TCP, the length of the frame.
		if ip[0] != 0x45 || binary.BigEndian.Uint16(ip[6:]) != 0x4000 || ip[9] != inet.ProtoTCP ||
			int(binary.BigEndian.Uint16(ip[2:])) != len(ip) {
			return 0, 0, 0, false
		}
		ipHdr = 20
	case 6:
		if ip[6] != inet.ProtoTCP || 40+int(binary.BigEndian.Uint16(ip[4:])) != len(ip) {
			return 0, 0, 0, false
		}
		ipHdr = 40
	default:
		return 0, 0, 0, false
	}
	tcp := ip[ipHdr:]
	if len(tcp) < 20 {
		return 0, 0, 0, false
	}
	tcpHdr := int(tcp[12]>>4) * 4
	if tcpHdr < 20 || tcpHdr > len(tcp) || tcp[13]&^(tcpFlagACK|tcpFlagPSH) != 0 || tcp[13]&tcpFlagACK == 0 ||
		tcp[12]&0x0f != 0 || len(tcp) == tcpHdr {
		return 0, 0, 0, false // other flags (SYN, FIN, RST, URG, ECE, CWR, AE), or no payload
	}
	// The aggregate's segments get checksums computed afresh: only a segment whose own
	// checksum is right may join, or a segment damaged before it was sealed (on the far
	// side's inside link) would leave with a right one, and the host take it (GRO, too,
	// merges only what verified). A damaged one goes on as it is, and the host drops it.
	var pseudo uint32
	if ipHdr == 20 {
		pseudo = inet.PseudoHeaderIPv4(ip[12:16], ip[16:20], inet.ProtoTCP, len(tcp))
	} else {
		pseudo = inet.PseudoHeaderIPv6(ip[8:24], ip[24:40], inet.ProtoTCP, len(tcp))
	}
	if inet.Finish(inet.Checksum(tcp, pseudo)) != 0 {
		return 0, 0, 0, false
	}
	return ipHdr, linkLen + ipHdr + tcpHdr, len(tcp) - tcpHdr, true
}

// begin makes frame the aggregate's first segment if it may start one.
func (m *merger) begin(frame []byte, linkLen int) bool {
	ipHdr, hdrs, payload, ok := segment(frame, linkLen)
	if !ok {
		return false
	}
	tcp := frame[linkLen+ipHdr:]
	*m = merger{buf: m.buf[:0], first: frame, link: linkLen, ip: ipHdr, hdrs: hdrs, mss: payload, n: 1,
		next: binary.BigEndian.Uint32(tcp[4:]) + uint32(payload), done: tcp[13]&tcpFlagPSH != 0}
	return true
}

// join adds frame to the aggregate if it continues it, and reports whether it did.
func (m *merger) join(frame []byte, linkLen int) bool {
	if m.n == 0 || m.done || linkLen != m.link {
		return false
	}
	ipHdr, hdrs, payload, ok := segment(frame, linkLen)
	if !ok || ipHdr != m.ip || hdrs != m.hdrs || payload > m.mss || len(m.agg())+payload > m.link+maxAggregateIP {
		return false
	}
	first := m.agg()
	ip, ip0 := frame[linkLen:], first[linkLen:]
	tcp, tcp0 := ip[ipHdr:], ip0[ipHdr:]
	if binary.BigEndian.Uint32(tcp[4:]) != m.next {
		return false
	}
	// Everything but the IP length, identification and checksum, and the TCP sequence
	// number, flags and checksum, must be the first segment's.
	switch {
	case !bytes.Equal(frame[:linkLen], first[:linkLen]),
		ipHdr == 20 && (ip[1] != ip0[1] || !bytes.Equal(ip[6:10], ip0[6:10]) || !bytes.Equal(ip[12:20], ip0[12:20])),
		ipHdr == 40 && (!bytes.Equal(ip[:4], ip0[:4]) || !bytes.Equal(ip[6:40], ip0[6:40])),
		!bytes.Equal(tcp[:4], tcp0[:4]), !bytes.Equal(tcp[8:13], tcp0[8:13]), !bytes.Equal(tcp[14:16], tcp0[14:16]),
		!bytes.Equal(tcp[18:hdrs-linkLen-ipHdr], tcp0[18:hdrs-linkLen-ipHdr]):
		return false
	}
	if m.n == 1 {
		m.buf = append(m.buf[:0], m.first...)
	}
	m.buf = append(m.buf, tcp[hdrs-linkLen-ipHdr:]...)
	m.n++
	m.next += uint32(payload)
	m.psh = tcp[13]&tcpFlagPSH != 0
	m.done = payload < m.mss || m.psh
	return true
}

// agg is the aggregate so far: the first segment alone, or the built frame.
func (m *merger) agg() []byte {
	if m.n <= 1 {
		return m.first
	}
	return m.buf
}

// finish fixes the aggregate's IP length (and IPv4 header checksum) and sets PSH if the
// last segment had it (the first had not: PSH ends an aggregate). It returns the frame; it
// is for an aggregate of two segments or more.
func (m *merger) finish() []byte {
	ip := m.buf[m.link:]
	if m.ip == 20 {
		binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)))
		inet.IPv4(ip[:20]).SetChecksum()
	} else {
		binary.BigEndian.PutUint16(ip[4:], uint16(len(ip)-40))
	}
	if m.psh {
		ip[m.ip+13] |= tcpFlagPSH
	}
	return m.buf
}
