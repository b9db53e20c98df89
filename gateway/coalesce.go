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

// seg is what segment read of a frame: its link-layer header's length, its IP header's,
// all its headers' (link, IP, TCP with options), and its payload's.
type seg struct{ link, ip, hdrs, payload int }

// segment reads frame (linkLen bytes of link-layer header, an IP packet) as a TCP segment
// that may be part of an aggregate, or reports false. It is read once a frame: join and
// begin take what it read.
func segment(frame []byte, linkLen int) (seg, bool) {
	var ipHdr int
	if len(frame) < linkLen+40 {
		return seg{}, false
	}
	ip := frame[linkLen:]
	switch ip[0] >> 4 {
	case 4:
		// No options, DF and no fragment fields, TCP, the length of the frame.
		if ip[0] != 0x45 || binary.BigEndian.Uint16(ip[6:]) != 0x4000 || ip[9] != inet.ProtoTCP ||
			int(binary.BigEndian.Uint16(ip[2:])) != len(ip) {
			return seg{}, false
		}
		ipHdr = 20
	case 6:
		if ip[6] != inet.ProtoTCP || 40+int(binary.BigEndian.Uint16(ip[4:])) != len(ip) {
			return seg{}, false
		}
		ipHdr = 40
	default:
		return seg{}, false
	}
	tcp := ip[ipHdr:]
	if len(tcp) < 20 {
		return seg{}, false
	}
	tcpHdr := int(tcp[12]>>4) * 4
	if tcpHdr < 20 || tcpHdr > len(tcp) || tcp[13]&^(tcpFlagACK|tcpFlagPSH) != 0 || tcp[13]&tcpFlagACK == 0 ||
		tcp[12]&0x0f != 0 || len(tcp) == tcpHdr {
		return seg{}, false // other flags (SYN, FIN, RST, URG, ECE, CWR, AE), or no payload
	}
	// The aggregate's segments get checksums computed afresh: only a segment whose own
	// checksum is right may join, or a segment damaged before it was sealed (on the far
	// side's inside link) would leave with a right one, and the host take it (GRO, too,
	// merges only what verified). A damaged one goes on as it is, and the host drops it.
	if inet.Finish(inet.Checksum(tcp, inet.PseudoHeader(ip, inet.ProtoTCP, len(tcp)))) != 0 {
		return seg{}, false
	}
	return seg{link: linkLen, ip: ipHdr, hdrs: linkLen + ipHdr + tcpHdr, payload: len(tcp) - tcpHdr}, true
}

// begin makes frame, read as s, the aggregate's first segment.
func (m *merger) begin(frame []byte, s seg) {
	tcp := frame[s.link+s.ip:]
	*m = merger{buf: m.buf[:0], first: frame, link: s.link, ip: s.ip, hdrs: s.hdrs, mss: s.payload, n: 1,
		next: binary.BigEndian.Uint32(tcp[4:]) + uint32(s.payload), done: tcp[13]&tcpFlagPSH != 0}
}

// join adds frame, read as s, to the aggregate if it continues it, and reports whether it
// did.
func (m *merger) join(frame []byte, s seg) bool {
	linkLen, ipHdr, hdrs, payload := s.link, s.ip, s.hdrs, s.payload
	if m.n == 0 || m.done || linkLen != m.link || ipHdr != m.ip || hdrs != m.hdrs || payload > m.mss ||
		len(m.agg())+payload > m.link+maxAggregateIP {
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
