package gateway

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ov2dev/ov2/fastpath"
	"github.com/ov2dev/ov2/internal/rxparse"
	"github.com/ov2dev/ov2/xfrm"
)

// runBPF interprets a fanout program on an IP packet (the network header at 0) with the
// given EtherType, as the kernel runs classic BPF: a load out of the packet ends the program
// with 0. It knows the instructions the fanout programs use.
func runBPF(t testing.TB, prog []unix.SockFilter, ip []byte, etherType uint16) uint32 {
	var a, x uint32
	var mem [16]uint32
	load := func(off int32, size int) (uint32, bool) {
		switch {
		case off == skfAdOff+skfProtocol && size == 2:
			return uint32(etherType), true
		case off >= skfNetOff && off < skfAdOff:
			off -= skfNetOff
		default:
			return 0, false
		}
		if off < 0 || int(off)+size > len(ip) {
			return 0, false
		}
		switch size {
		case 4:
			return binary.BigEndian.Uint32(ip[off:]), true
		case 2:
			return uint32(binary.BigEndian.Uint16(ip[off:])), true
		}
		return uint32(ip[off]), true
	}
	size := map[uint16]int{unix.BPF_W: 4, unix.BPF_H: 2, unix.BPF_B: 1}
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		switch cls := in.Code & 0x07; cls {
		case unix.BPF_LD:
			var ok bool
			switch in.Code & 0xe0 {
			case unix.BPF_ABS:
				a, ok = load(int32(in.K), size[in.Code&0x18])
			case unix.BPF_IND:
				a, ok = load(int32(in.K)+int32(x), size[in.Code&0x18])
			case unix.BPF_MEM:
				a, ok = mem[in.K], true
			}
			if !ok {
				return 0
			}
		case unix.BPF_LDX:
			switch in.Code & 0xe0 {
			case unix.BPF_MEM:
				x = mem[in.K]
			case unix.BPF_IMM:
				x = in.K
			default:
				t.Fatalf("pc %d: LDX mode %#x", pc, in.Code)
			}
		case unix.BPF_ST:
			mem[in.K] = a
		case unix.BPF_ALU:
			v := in.K
			if in.Code&unix.BPF_X != 0 {
				v = x
			}
			switch in.Code & 0xf0 {
			case unix.BPF_AND:
				a &= v
			case unix.BPF_LSH:
				a <<= v
			case unix.BPF_RSH:
				a >>= v
			case unix.BPF_MUL:
				a *= v
			case unix.BPF_XOR:
				a ^= v
			default:
				t.Fatalf("pc %d: ALU op %#x", pc, in.Code)
			}
		case unix.BPF_JMP:
			switch in.Code & 0xf0 {
			case unix.BPF_JA:
				pc += int(in.K)
			case unix.BPF_JEQ:
				if a == in.K {
					pc += int(in.Jt)
				} else {
					pc += int(in.Jf)
				}
			default:
				t.Fatalf("pc %d: JMP op %#x", pc, in.Code)
			}
		case unix.BPF_RET:
			if in.Code&0x18 == unix.BPF_A {
				return a
			}
			return in.K
		case unix.BPF_MISC:
			x = a // TAX
		default:
			t.Fatalf("pc %d: class %d", pc, cls)
		}
	}
	t.Fatal("the program ran off its end")
	return 0
}

// fanoutCase is SAs over lanes, and packets to steer.
func fanoutStates(t testing.TB, n int, rng *rand.Rand) []xfrm.State {
	var b strings.Builder
	addr := func(v6 bool) string {
		if v6 {
			return fmt.Sprintf("fd00:%x::%x", rng.IntN(4), rng.IntN(8)+1)
		}
		return fmt.Sprintf("10.%d.%d.%d", rng.IntN(3), rng.IntN(3), rng.IntN(8)+1)
	}
	seen := map[string]bool{}
	for i := 0; i < n; i++ {
		v6 := rng.IntN(2) == 0
		src, dst := addr(v6), addr(v6)
		if src == dst || seen[src+dst] {
			continue
		}
		seen[src+dst] = true
		line := fmt.Sprintf("src %s dst %s proto esp spi 0x%x aead 'rfc4106(gcm(aes))' 0x0102030405060708090a0b0c0d0e0f10a1a2a3a4 128", src, dst, 0x100+i)
		switch rng.IntN(5) {
		case 1:
			line += " encap espinudp 4500 4500 0.0.0.0"
		case 3:
			line = strings.Replace(line, "proto esp", "proto ah", 1)
			line = strings.Replace(line, "aead 'rfc4106(gcm(aes))' 0x0102030405060708090a0b0c0d0e0f10a1a2a3a4 128", "auth 'hmac(sha1)' 0x0102030405060708090a0b0c0d0e0f1011121314", 1)
		case 2:
			p := 8
			if v6 {
				p = 32
			}
			line = strings.Replace(line, "aead", fmt.Sprintf("mode tunnel sel src %s/%d dst %s/%d aead", addr(v6), p+rng.IntN(p), addr(v6), p+rng.IntN(p)), 1)
		}
		fmt.Fprintln(&b, line)
	}
	c, err := xfrm.ParseConfig("fanout.sa", strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	return c.States
}

// The fanout programs steer every packet to the queue the fast path gives it: on the
// inside the queue of the first outbound SA that matches (Queue.Match), or QueueOf its
// addresses; on the outside the queue of its inbound SA, or QueueOf its addresses. Random
// SA sets (transport, tunnel with selectors, ESP in UDP, IPv4 and IPv6) and packets to them.
func TestFanoutProgramsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 40 {
		lanes := 1 + rng.IntN(5)
		states := fanoutStates(t, 12, rng)
		p, err := fastpath.New(fastpath.Config{SAs: states, Queues: lanes, Bridge: true})
		if err != nil {
			t.Fatal(err)
		}
		rules := p.Rules()
		in, err := insideProgram(rules)
		if err != nil {
			t.Fatal(err)
		}
		out, err := outsideProgram(rules)
		if err != nil {
			t.Fatal(err)
		}
		for k := range 200 {
			var ip []byte
			var et uint16 = etherIPv4
			st := states[rng.IntN(len(states))]
			switch rng.IntN(4) {
			case 0: // a plain packet between the SA's hosts (or selector's ends)
				src, dst := st.Src, st.Dst
				if st.Sel.Src.IsValid() {
					src, dst = st.Sel.Src.Addr(), st.Sel.Dst.Addr()
				}
				ip = plainPacket(src, dst, rng)
			case 1: // ESP (or AH) for the SA
				ip = espPacket(st.Src, st.Dst, st.SPI, st.Encap != nil, rng)
				if st.Proto == xfrm.AH {
					ip = ahPacket(st.Src, st.Dst, st.SPI, rng)
				}
			case 2: // ESP for no SA
				ip = espPacket(st.Src, st.Dst, 0x7777, rng.IntN(2) == 0, rng)
			default: // random addresses
				ip = plainPacket(randAddr(rng, st.Src.Is6()), randAddr(rng, st.Src.Is6()), rng)
			}
			if ip[0]>>4 == 6 {
				et = etherIPv6
			}
			src, dst, _ := addrsOf(ip)
			// Inside: the outbound SA's queue, or the addresses'.
			want := fastpath.QueueOf(src, dst, lanes)
			if o, ok := p.Queue(0).Match(ip); ok {
				want = o.Queue
			}
			if got := int(runBPF(t, in, ip, et) % uint32(lanes)); got != want {
				t.Fatalf("round %d packet %d: inside program says lane %d, the fast path %d\nrules %+v\npacket %x", round, k, got, want, rules, ip)
			}
			// Outside: the inbound SA's queue, or the addresses'. An AH packet goes by its
			// addresses, which is its SA's queue: an inbound SA's queue is QueueOf its own
			// addresses, the packet's outer ones.
			want = fastpath.QueueOf(src, dst, lanes)
			if l := rxparse.Parse(ip); l.Kind == rxparse.KindESP || l.Kind == rxparse.KindUDPESP || l.Kind == rxparse.KindAH {
				spi := l.SPI
				if l.Kind == rxparse.KindAH {
					spi = rxparse.ParseAH(ip, l).SPI
				}
				for _, r := range rules.In {
					if r.SPI == spi && r.Dst == dst {
						want = r.Queue
					}
				}
			}
			if got := int(runBPF(t, out, ip, et) % uint32(lanes)); got != want {
				t.Fatalf("round %d packet %d: outside program says lane %d, want %d\nrules %+v\npacket %x", round, k, got, want, rules, ip)
			}
			// Not IP: lane 0.
			if got := runBPF(t, in, ip, 0x0806); got != 0 {
				t.Fatalf("ARP to lane %d", got)
			}
		}
		p.Close()
	}
}

func randAddr(rng *rand.Rand, v6 bool) netip.Addr {
	if v6 {
		var b [16]byte
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return netip.AddrFrom16(b)
	}
	return netip.AddrFrom4([4]byte{10, byte(rng.IntN(3)), byte(rng.IntN(3)), byte(rng.IntN(9))})
}

func addrsOf(ip []byte) (netip.Addr, netip.Addr, bool) {
	if ip[0]>>4 == 4 {
		return netip.AddrFrom4([4]byte(ip[12:16])), netip.AddrFrom4([4]byte(ip[16:20])), true
	}
	return netip.AddrFrom16([16]byte(ip[8:24])), netip.AddrFrom16([16]byte(ip[24:40])), true
}

// ipHeader writes an IP header (IPv4 with options sometimes) for proto and n bytes after it.
func ipHeader(src, dst netip.Addr, proto byte, n int, rng *rand.Rand) []byte {
	if src.Is4() {
		opts := 4 * rng.IntN(3)
		h := make([]byte, 20+opts, 20+opts+n)
		h[0], h[8], h[9] = byte(0x45+opts/4), 64, proto
		binary.BigEndian.PutUint16(h[2:], uint16(20+opts+n))
		copy(h[12:], src.AsSlice())
		copy(h[16:], dst.AsSlice())
		return h
	}
	h := make([]byte, 40, 40+n)
	h[0], h[6], h[7] = 0x60, proto, 64
	binary.BigEndian.PutUint16(h[4:], uint16(n))
	copy(h[8:], src.AsSlice())
	copy(h[24:], dst.AsSlice())
	return h
}

func plainPacket(src, dst netip.Addr, rng *rand.Rand) []byte {
	if !src.IsValid() || src.Is4() != dst.Is4() {
		dst = src
	}
	body := make([]byte, 20)
	return append(ipHeader(src, dst, 6, len(body), rng), body...)
}

// ahPacket is an AH packet (HMAC-SHA1-96: 24 bytes of AH) for spi with a few bytes after it.
func ahPacket(src, dst netip.Addr, spi uint32, rng *rand.Rand) []byte {
	ah := make([]byte, 24+16)
	ah[0], ah[1] = 17, 4 // next header UDP; (24/4)-2
	binary.BigEndian.PutUint32(ah[4:], spi)
	return append(ipHeader(src, dst, 51, len(ah), rng), ah...)
}

func espPacket(src, dst netip.Addr, spi uint32, udp bool, rng *rand.Rand) []byte {
	esp := make([]byte, 40)
	binary.BigEndian.PutUint32(esp, spi)
	if udp {
		u := make([]byte, 8, 8+len(esp))
		binary.BigEndian.PutUint16(u[0:], 4500)
		binary.BigEndian.PutUint16(u[2:], 4500)
		binary.BigEndian.PutUint16(u[4:], uint16(8+len(esp)))
		body := append(u, esp...)
		return append(ipHeader(src, dst, 17, len(body), rng), body...)
	}
	return append(ipHeader(src, dst, 50, len(esp), rng), esp...)
}
