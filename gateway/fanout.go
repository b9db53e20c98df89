package gateway

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"

	"github.com/ov2dev/ov2/fastpath"
)

// The fanout programs: classic BPF that the kernel runs on each frame of an interface to
// pick the lane (the member of the interface's PACKET_FANOUT group) that receives it, so
// that every packet reaches the lane that owns its SA (fastpath.Rules) and one SA's
// packets stay in order on one lane. On the inside the program walks the outbound SAs in
// policy order (the first whose selector matches names the lane); on the outside it finds
// the inbound SA by SPI and destination in ESP and ESP-in-UDP. Anything else goes to
// fastpath.QueueOf its addresses, which keeps each flow (and each pair of hosts) on one
// lane; frames that are not IP go to lane 0. Loads are relative to the network header
// (SKF_NET_OFF), so VLAN tags, stripped by the device or not, do not matter.

const (
	memSrc = 0 // scratch words M[0..3]: source address, M[4..7]: destination, M[8]: SPI
	memDst = 4
	memSPI = 8
)

var (
	skfNetOff   int32 = -0x100000 // SKF_NET_OFF: loads relative to the network header
	skfAdOff    int32 = -0x1000   // SKF_AD_OFF: ancillary data
	skfProtocol int32 = 0         // SKF_AD_PROTOCOL: the frame's EtherType, in host order
)

// asm assembles a classic BPF program with labels for long jumps (BPF_JA, whose offset is
// 32 bits); conditional jumps only ever skip forward within a short block.
type asm struct {
	prog   []unix.SockFilter
	labels map[string]int
	fixups map[int]string
}

func newAsm() *asm { return &asm{labels: map[string]int{}, fixups: map[int]string{}} }

func (a *asm) op(code uint16, k uint32) { a.prog = append(a.prog, unix.SockFilter{Code: code, K: k}) }

// jeq compares A with k: on equality it goes on, otherwise it skips skip instructions.
func (a *asm) jeq(k uint32, skip int) {
	a.prog = append(a.prog, unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: k, Jf: uint8(skip)})
}

func (a *asm) ja(label string) {
	a.fixups[len(a.prog)] = label
	a.op(unix.BPF_JMP|unix.BPF_JA, 0)
}

func (a *asm) label(name string) { a.labels[name] = len(a.prog) }

// net loads size bytes (unix.BPF_W, BPF_H, BPF_B) at off from the network header into A.
func (a *asm) net(size uint16, off int) {
	a.op(unix.BPF_LD|size|unix.BPF_ABS, uint32(skfNetOff+int32(off)))
}

// netX loads size bytes at X+off from the network header.
func (a *asm) netX(size uint16, off int) {
	a.op(unix.BPF_LD|size|unix.BPF_IND, uint32(skfNetOff+int32(off)))
}

func (a *asm) st(m int)  { a.op(unix.BPF_ST, uint32(m)) }
func (a *asm) ldm(m int) { a.op(unix.BPF_LD|unix.BPF_MEM, uint32(m)) }
func (a *asm) ret(k int) { a.op(unix.BPF_RET|unix.BPF_K, uint32(k)) }

func (a *asm) finish() ([]unix.SockFilter, error) {
	for at, name := range a.fixups {
		to, ok := a.labels[name]
		if !ok || to <= at {
			return nil, fmt.Errorf("gateway: fanout program: bad jump to %q", name)
		}
		a.prog[at].K = uint32(to - at - 1)
	}
	if len(a.prog) > unix.BPF_MAXINSNS {
		return nil, fmt.Errorf("gateway: the fanout program that steers SAs to lanes needs %d instructions, more than the kernel's %d: too many SAs to spread over lanes (run with --lanes 1)",
			len(a.prog), unix.BPF_MAXINSNS)
	}
	return a.prog, nil
}

// head dispatches on the EtherType: IPv4 to v4, IPv6 to v6, anything else to lane 0.
func (a *asm) head() {
	a.op(unix.BPF_LD|unix.BPF_H|unix.BPF_ABS, uint32(skfAdOff+skfProtocol))
	a.jeq(etherIPv4, 1)
	a.ja("v4")
	a.jeq(etherIPv6, 1)
	a.ja("v6")
	a.ret(0)
}

// saveAddrs stores the source and destination address words in M[memSrc..] and M[memDst..].
func (a *asm) saveAddrs(v6 bool) {
	words, src, dst := 1, 12, 16
	if v6 {
		words, src, dst = 4, 8, 24
	}
	for i := range words {
		a.net(unix.BPF_W, src+4*i)
		a.st(memSrc + i)
		a.net(unix.BPF_W, dst+4*i)
		a.st(memDst + i)
	}
}

// hash returns fastpath.QueueOf's mix of the saved addresses (the kernel takes it modulo
// the group's size, as QueueOf does).
func (a *asm) hash(v6 bool) {
	words := 1
	if v6 {
		words = 4
	}
	a.ldm(memSrc)
	for i := range words {
		if i > 0 {
			a.op(unix.BPF_LDX|unix.BPF_MEM, uint32(memSrc+i))
			a.op(unix.BPF_ALU|unix.BPF_XOR|unix.BPF_X, 0)
		}
		a.op(unix.BPF_LDX|unix.BPF_MEM, uint32(memDst+i))
		a.op(unix.BPF_ALU|unix.BPF_XOR|unix.BPF_X, 0)
	}
	a.op(unix.BPF_ALU|unix.BPF_MUL|unix.BPF_K, 0x9E3779B1)
	a.op(unix.BPF_ALU|unix.BPF_RSH|unix.BPF_K, 16)
	a.op(unix.BPF_RET|unix.BPF_A, 0)
}

// cmp is one test of a rule: the saved word M[mem], masked, equals val.
type cmp struct {
	mem  int
	mask uint32
	val  uint32
}

// prefixCmps are the tests that an address saved at M[mem..] lies in p (none for an
// invalid or zero-length prefix: any address).
func prefixCmps(p netip.Prefix, mem int) []cmp {
	if !p.IsValid() || p.Bits() == 0 {
		return nil
	}
	b := p.Masked().Addr().AsSlice()
	var cs []cmp
	for i := 0; i < len(b)/4; i++ {
		bits := min(max(p.Bits()-32*i, 0), 32)
		if bits == 0 {
			break
		}
		mask := ^uint32(0) << (32 - bits)
		cs = append(cs, cmp{mem: mem + i, mask: mask, val: binary.BigEndian.Uint32(b[4*i:]) & mask})
	}
	return cs
}

// rule emits one rule block: each compare loads, masks and tests; any failure skips to the
// instruction after the block's ret.
func (a *asm) rule(cs []cmp, lane int) {
	// Instructions per compare: ld, [and], jeq. Count what follows each jeq.
	size := func(c cmp) int {
		if c.mask == ^uint32(0) {
			return 2
		}
		return 3
	}
	left := 1 // the ret
	for _, c := range cs {
		left += size(c)
	}
	for _, c := range cs {
		left -= size(c)
		a.ldm(c.mem)
		if c.mask != ^uint32(0) {
			a.op(unix.BPF_ALU|unix.BPF_AND|unix.BPF_K, c.mask)
		}
		a.jeq(c.val, left)
	}
	a.ret(lane)
}

// insideProgram steers frames from the inside by the outbound SAs.
func insideProgram(r fastpath.Rules) ([]unix.SockFilter, error) {
	a := newAsm()
	a.head()
	for _, v6 := range []bool{false, true} {
		a.label(map[bool]string{false: "v4", true: "v6"}[v6])
		a.saveAddrs(v6)
		for _, o := range r.Out {
			if (o.Src.IsValid() && o.Src.Addr().Is6() != v6) || (o.Dst.IsValid() && o.Dst.Addr().Is6() != v6) {
				continue // a selector of the other family
			}
			a.rule(append(prefixCmps(o.Src, memSrc), prefixCmps(o.Dst, memDst)...), o.Queue)
		}
		a.hash(v6)
	}
	return a.finish()
}

// outsideProgram steers frames from the outside by the inbound SAs.
func outsideProgram(r fastpath.Rules) ([]unix.SockFilter, error) {
	a := newAsm()
	a.head()
	for _, v6 := range []bool{false, true} {
		p := map[bool]string{false: "4", true: "6"}[v6]
		a.label("v" + p)
		a.saveAddrs(v6)
		if v6 {
			a.net(unix.BPF_B, 6)
			a.op(unix.BPF_LDX|unix.BPF_IMM, 40)
		} else {
			a.net(unix.BPF_B, 0)
			a.op(unix.BPF_ALU|unix.BPF_AND|unix.BPF_K, 0xf)
			a.op(unix.BPF_ALU|unix.BPF_LSH|unix.BPF_K, 2)
			a.op(unix.BPF_MISC|unix.BPF_TAX, 0)
			a.net(unix.BPF_B, 9)
		}
		// X is the L4 offset; A the protocol.
		a.jeq(50, 2) // ESP
		a.netX(unix.BPF_W, 0)
		a.ja("spi" + p)
		a.jeq(17, 1) // UDP
		a.ja("udp" + p)
		a.ja("hash" + p)
		a.label("udp" + p)
		a.netX(unix.BPF_H, 2)
		a.jeq(4500, 1)
		a.ja("hash" + p)
		a.netX(unix.BPF_W, 8)
		a.jeq(0, 1) // the non-ESP marker: IKE
		a.ja("hash" + p)
		a.label("spi" + p)
		a.st(memSPI)
		for _, in := range r.In {
			if in.Dst.Is6() != v6 {
				continue
			}
			cs := append([]cmp{{mem: memSPI, mask: ^uint32(0), val: in.SPI}}, prefixCmps(netip.PrefixFrom(in.Dst, in.Dst.BitLen()), memDst)...)
			a.rule(cs, in.Queue)
		}
		a.label("hash" + p)
		a.hash(v6)
	}
	return a.finish()
}
