package gateway

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/ov2dev/ov2/internal/inet"
)

// tcpFrame is an Ethernet frame with an IPv4 (DF) or IPv6 TCP segment from 10.0.0.1 (fd00::1)
// to 10.0.0.2 (fd00::2), ports 40000 to 5201, ACK 7, window 1000, the 12-byte timestamp
// option (TSval ts), the flags given, and payload, with a right TCP checksum.
func tcpFrame(v6 bool, seq uint32, flags byte, ts uint32, payload []byte) []byte {
	tcp := make([]byte, 32+len(payload))
	binary.BigEndian.PutUint16(tcp[0:], 40000)
	binary.BigEndian.PutUint16(tcp[2:], 5201)
	binary.BigEndian.PutUint32(tcp[4:], seq)
	binary.BigEndian.PutUint32(tcp[8:], 7)
	tcp[12], tcp[13] = 8<<4, flags
	binary.BigEndian.PutUint16(tcp[14:], 1000)
	copy(tcp[20:], []byte{1, 1, 8, 10})
	binary.BigEndian.PutUint32(tcp[24:], ts)
	copy(tcp[32:], payload)
	if v6 {
		ip := make([]byte, 40)
		ip[0], ip[6], ip[7] = 0x60, inet.ProtoTCP, 64
		binary.BigEndian.PutUint16(ip[4:], uint16(len(tcp)))
		ip[8], ip[23], ip[24], ip[39] = 0xfd, 1, 0xfd, 2
		binary.BigEndian.PutUint16(tcp[16:], inet.Finish(inet.Checksum(tcp, inet.PseudoHeaderIPv6(ip[8:24], ip[24:40], inet.ProtoTCP, len(tcp)))))
		return ethFrame(etherIPv6, append(ip, tcp...))
	}
	ip := make([]byte, 20)
	ip[0], ip[8], ip[9] = 0x45, 64, inet.ProtoTCP
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(tcp)))
	binary.BigEndian.PutUint16(ip[6:], 0x4000)
	copy(ip[12:], []byte{10, 0, 0, 1, 10, 0, 0, 2})
	inet.IPv4(ip).SetChecksum()
	binary.BigEndian.PutUint16(tcp[16:], inet.Finish(inet.Checksum(tcp, inet.PseudoHeaderIPv4(ip[12:16], ip[16:20], inet.ProtoTCP, len(tcp)))))
	return ethFrame(etherIPv4, append(ip, tcp...))
}

// resum recomputes the TCP checksum of an Ethernet frame's segment (IP header ipHdr bytes),
// if its headers still read as IPv4 or IPv6.
func resum(f []byte, ipHdr int) {
	ip := f[ethHdrLen:]
	tcp := ip[ipHdr:]
	if len(tcp) < 20 {
		return
	}
	binary.BigEndian.PutUint16(tcp[16:], 0)
	var pseudo uint32
	if ipHdr == 20 {
		pseudo = inet.PseudoHeaderIPv4(ip[12:16], ip[16:20], inet.ProtoTCP, len(tcp))
	} else {
		pseudo = inet.PseudoHeaderIPv6(ip[8:24], ip[24:40], inet.ProtoTCP, len(tcp))
	}
	binary.BigEndian.PutUint16(tcp[16:], inet.Finish(inet.Checksum(tcp, pseudo)))
}

// begin reads f (an Ethernet frame) as segment does and starts an aggregate with it, if it
// may start one.
func begin(m *merger, f []byte) bool {
	s, ok := segment(f, ethHdrLen)
	if ok {
		m.begin(f, s)
	}
	return ok
}

// join reads f as segment does and offers it to the aggregate.
func join(m *merger, f []byte) bool {
	s, ok := segment(f, ethHdrLen)
	return ok && m.join(f, s)
}

// damage flips a bit of a frame's last byte (its payload).
func damage(f []byte) []byte {
	f[len(f)-1] ^= 1
	return f
}

// cutBack cuts an aggregate as GSO would: segments of mss bytes of payload, the headers of
// the first, sequence numbers advancing, PSH only on the last. It returns each segment's
// sequence number, flags and payload.
func cutBack(agg []byte, link, ipHdr, mss int) (seqs []uint32, flags []byte, payloads [][]byte) {
	tcp := agg[link+ipHdr:]
	hdr := int(tcp[12]>>4) * 4
	seq, fl := binary.BigEndian.Uint32(tcp[4:]), tcp[13]
	data := tcp[hdr:]
	for off := 0; off < len(data); off += mss {
		n := min(mss, len(data)-off)
		f := fl &^ tcpFlagPSH
		if off+n == len(data) {
			f = fl
		}
		seqs, flags, payloads = append(seqs, seq+uint32(off)), append(flags, f), append(payloads, data[off:off+n])
	}
	return
}

// TestCoalesce: which segments join an aggregate and which end it, and the aggregate cuts
// back into exactly the segments that joined, with their IP length fixed (and IPv4
// header checksum).
func TestCoalesce(t *testing.T) {
	p := func(n int, b byte) []byte { return bytes.Repeat([]byte{b}, n) }
	for _, v6 := range []bool{false, true} {
		ipHdr := 20
		if v6 {
			ipHdr = 40
		}
		cases := []struct {
			name  string
			segs  [][]byte
			joins int // how many after the first join
		}{
			{"four full, then a short one", [][]byte{
				tcpFrame(v6, 100, 0x10, 5, p(100, 1)), tcpFrame(v6, 200, 0x10, 5, p(100, 2)),
				tcpFrame(v6, 300, 0x10, 5, p(100, 3)), tcpFrame(v6, 400, 0x10, 5, p(100, 4)),
				tcpFrame(v6, 500, 0x18, 5, p(40, 5))}, 4},
			{"a gap in the sequence", [][]byte{tcpFrame(v6, 100, 0x10, 5, p(100, 1)), tcpFrame(v6, 201, 0x10, 5, p(100, 2))}, 0},
			{"longer than the first", [][]byte{tcpFrame(v6, 100, 0x10, 5, p(100, 1)), tcpFrame(v6, 200, 0x10, 5, p(101, 2))}, 0},
			{"after a short one", [][]byte{tcpFrame(v6, 100, 0x10, 5, p(100, 1)), tcpFrame(v6, 200, 0x10, 5, p(50, 2)),
				tcpFrame(v6, 250, 0x10, 5, p(50, 3))}, 1},
			{"after PSH", [][]byte{tcpFrame(v6, 100, 0x10, 5, p(100, 1)), tcpFrame(v6, 200, 0x18, 5, p(100, 2)),
				tcpFrame(v6, 300, 0x10, 5, p(100, 3))}, 1},
			{"another timestamp", [][]byte{tcpFrame(v6, 100, 0x10, 5, p(100, 1)), tcpFrame(v6, 200, 0x10, 6, p(100, 2))}, 0},
			{"FIN", [][]byte{tcpFrame(v6, 100, 0x10, 5, p(100, 1)), tcpFrame(v6, 200, 0x11, 5, p(100, 2))}, 0},
			{"no payload (a pure ACK)", [][]byte{tcpFrame(v6, 100, 0x10, 5, p(100, 1)), tcpFrame(v6, 200, 0x10, 5, nil)}, 0},
			{"a damaged payload (its checksum wrong)", [][]byte{tcpFrame(v6, 100, 0x10, 5, p(100, 1)),
				damage(tcpFrame(v6, 200, 0x10, 5, p(100, 2)))}, 0},
		}
		for _, c := range cases {
			var m merger
			m.buf = make([]byte, 0, 1<<17)
			if !begin(&m, c.segs[0]) {
				t.Fatalf("v6 %v, %s: the first segment does not start an aggregate", v6, c.name)
			}
			joined := 0
			for _, s := range c.segs[1:] {
				if !join(&m, s) {
					break
				}
				joined++
			}
			if joined != c.joins {
				t.Errorf("v6 %v, %s: %d joined, want %d", v6, c.name, joined, c.joins)
				continue
			}
			if joined == 0 {
				continue
			}
			agg := m.finish()
			ip := agg[ethHdrLen:]
			if v6 && int(binary.BigEndian.Uint16(ip[4:])) != len(ip)-40 || !v6 && (int(binary.BigEndian.Uint16(ip[2:])) != len(ip) || inet.Finish(inet.Checksum(ip[:20], 0)) != 0) {
				t.Errorf("v6 %v, %s: the aggregate's IP length or header checksum is wrong", v6, c.name)
			}
			seqs, flags, payloads := cutBack(agg, ethHdrLen, ipHdr, m.mss)
			if len(seqs) != joined+1 {
				t.Fatalf("v6 %v, %s: cut back into %d segments, want %d", v6, c.name, len(seqs), joined+1)
			}
			for i, s := range c.segs[:joined+1] {
				tcp := s[ethHdrLen+ipHdr:]
				if seqs[i] != binary.BigEndian.Uint32(tcp[4:]) || flags[i] != tcp[13] || !bytes.Equal(payloads[i], tcp[32:]) ||
					!bytes.Equal(agg[:ethHdrLen], s[:ethHdrLen]) {
					t.Errorf("v6 %v, %s: segment %d cut back as seq %d flags %#x, %d bytes; want %d %#x %d",
						v6, c.name, i, seqs[i], flags[i], len(payloads[i]), binary.BigEndian.Uint32(tcp[4:]), tcp[13], len(tcp)-32)
				}
			}
		}
	}
	// What never starts one: IPv4 without DF, with options, a fragment; UDP; SYN.
	base := tcpFrame(false, 1, 0x10, 5, p(10, 1))
	for name, mod := range map[string]func(f []byte){
		"no DF":   func(f []byte) { f[ethHdrLen+6] = 0 },
		"MF":      func(f []byte) { f[ethHdrLen+6] = 0x60 },
		"options": func(f []byte) { f[ethHdrLen] = 0x46 },
		"UDP":     func(f []byte) { f[ethHdrLen+9] = inet.ProtoUDP },
		"SYN":     func(f []byte) { f[ethHdrLen+20+13] = 0x12 },
		"damaged": func(f []byte) { damage(f) },
	} {
		f := bytes.Clone(base)
		mod(f)
		var m merger
		if begin(&m, f) {
			t.Errorf("%s: starts an aggregate", name)
		}
	}
}

// FuzzCoalesce: segments made from the input (sizes, sequence steps, flags, a changed byte
// here and there) are offered one after another; whatever joins, the aggregate cuts back
// (as GSO does) into exactly the segments that joined, and the merger never panics.
func FuzzCoalesce(f *testing.F) {
	f.Add(false, uint16(100), []byte{0, 0, 0, 0, 0, 0, 0, 0})
	f.Add(true, uint16(1200), []byte{0, 0, 1, 0, 0, 3, 0, 0, 0, 0, 0, 9})
	f.Add(false, uint16(7), []byte{2, 2, 0, 0, 200, 4, 1})
	f.Fuzz(func(t *testing.T, v6 bool, mss uint16, steps []byte) {
		mss = mss%1400 + 1
		ipHdr := 20
		if v6 {
			ipHdr = 40
		}
		var m merger
		m.buf = make([]byte, 0, 1<<17)
		seq := uint32(1000)
		first := tcpFrame(v6, seq, 0x10, 5, bytes.Repeat([]byte{1}, int(mss)))
		if !begin(&m, first) {
			t.Fatal("a plain segment does not start an aggregate")
		}
		joined := [][]byte{first}
		seq += uint32(mss)
		for i := 0; i+2 < len(steps); i += 3 {
			n := int(mss)
			if steps[i]&3 == 1 {
				n = int(steps[i+1])%int(mss) + 1 // shorter
			} else if steps[i]&3 == 2 {
				n = int(mss) + 1 // longer
			}
			flags := byte(0x10)
			if steps[i]&4 != 0 {
				flags |= tcpFlagPSH
			}
			s := seq
			if steps[i]&8 != 0 {
				s += uint32(steps[i+1]) // a gap
			}
			seg := tcpFrame(v6, s, flags, 5, bytes.Repeat([]byte{byte(i)}, n))
			if steps[i]&16 != 0 {
				seg[int(steps[i+2])%len(seg)] ^= 0x40 // some byte changed,
				if steps[i]&32 == 0 {
					resum(seg, ipHdr) // and the checksum made right again (or not)
				}
			}
			if join(&m, seg) {
				joined = append(joined, seg)
				seq = s + uint32(n)
			}
		}
		if len(joined) == 1 {
			return
		}
		agg := m.finish()
		seqs, flags, payloads := cutBack(agg, ethHdrLen, ipHdr, m.mss)
		if len(seqs) != len(joined) {
			t.Fatalf("%d segments joined, cut back into %d", len(joined), len(seqs))
		}
		for i, s := range joined {
			tcp := s[ethHdrLen+ipHdr:]
			hdr := int(tcp[12]>>4) * 4
			if seqs[i] != binary.BigEndian.Uint32(tcp[4:]) || flags[i] != tcp[13] || !bytes.Equal(payloads[i], tcp[hdr:]) {
				t.Fatalf("segment %d cut back as seq %d flags %#x, %d bytes; it was %d %#x %d",
					i, seqs[i], flags[i], len(payloads[i]), binary.BigEndian.Uint32(tcp[4:]), tcp[13], len(tcp)-hdr)
			}
			a, b := agg[:ethHdrLen+ipHdr+hdr], s[:ethHdrLen+ipHdr+hdr]
			// The headers are the first's but for the IP length (IPv4: ID, checksum) and the
			// TCP sequence number, flags and checksum.
			fields := [][2]int{{ethHdrLen + ipHdr + 4, 4}, {ethHdrLen + ipHdr + 13, 1}, {ethHdrLen + ipHdr + 16, 2}}
			if v6 {
				fields = append(fields, [2]int{ethHdrLen + 4, 2})
			} else {
				fields = append(fields, [2]int{ethHdrLen + 2, 2}, [2]int{ethHdrLen + 4, 2}, [2]int{ethHdrLen + 10, 2})
			}
			for _, fl := range fields {
				a, b = mask(a, fl[0], fl[1]), mask(b, fl[0], fl[1])
			}
			if !bytes.Equal(a, b) {
				t.Fatalf("segment %d: headers %x, the aggregate's %x", i, b, a)
			}
		}
	})
}

// mask returns a copy of b with its n bytes at k cleared.
func mask(b []byte, k, n int) []byte {
	c := bytes.Clone(b)
	clear(c[k : k+n])
	return c
}
