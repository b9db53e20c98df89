package gateway

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/ov2dev/ov2/internal/inet"
)

// updateCorpus rewrites the seed corpora of the fuzz targets from seedFrames:
//
//	go test ./gateway -run TestSeedCorpus -update-corpus
var updateCorpus = flag.Bool("update-corpus", false, "rewrite testdata/fuzz/Fuzz*/seed-* from seedFrames")

// ethFrame is an Ethernet frame (with VLAN tags tags) around ip.
func ethFrame(etherType uint16, ip []byte, tags ...uint16) []byte {
	f := []byte{0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1}
	for _, tci := range tags {
		f = binary.BigEndian.AppendUint16(f, etherVLAN)
		f = binary.BigEndian.AppendUint16(f, tci)
	}
	f = binary.BigEndian.AppendUint16(f, etherType)
	return append(f, ip...)
}

// ip4 is an IPv4 packet (header checksum set) with flags/offset fo and the payload.
func ip4(proto byte, fo uint16, src, dst [4]byte, payload []byte) []byte {
	h := make([]byte, 20, 20+len(payload))
	h[0], h[8], h[9] = 0x45, 64, proto
	binary.BigEndian.PutUint16(h[2:], uint16(20+len(payload)))
	binary.BigEndian.PutUint16(h[4:], 0x1234)
	binary.BigEndian.PutUint16(h[6:], fo)
	copy(h[12:], src[:])
	copy(h[16:], dst[:])
	inet.IPv4(h).SetChecksum()
	return append(h, payload...)
}

func ip6(nh byte, src, dst byte, payload []byte) []byte {
	h := make([]byte, 40, 40+len(payload))
	h[0], h[6], h[7] = 0x60, nh, 64
	binary.BigEndian.PutUint16(h[4:], uint16(len(payload)))
	h[8], h[23] = 0xfd, src
	h[24], h[39] = 0xfd, dst
	return append(h, payload...)
}

func tcpSeg(n int) []byte {
	s := make([]byte, 20+n)
	binary.BigEndian.PutUint16(s[0:], 40000)
	binary.BigEndian.PutUint16(s[2:], 5001)
	s[12] = 5 << 4
	for i := 20; i < len(s); i++ {
		s[i] = byte(i)
	}
	return s
}

func udpDgram(n int) []byte {
	s := make([]byte, 8+n)
	binary.BigEndian.PutUint16(s[0:], 40000)
	binary.BigEndian.PutUint16(s[2:], 53)
	binary.BigEndian.PutUint16(s[4:], uint16(8+n))
	return s
}

// seedFrames are the seed inputs of every fuzz target: the frames a gateway meets.
func seedFrames() map[string][]byte {
	a, b := [4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}
	echo := append([]byte{8, 0, 0, 0, 0, 1, 0, 1}, make([]byte, 56)...)
	return map[string][]byte{
		"empty":              {},
		"runt":               {1, 2, 3},
		"arp":                ethFrame(0x0806, make([]byte, 28)),
		"ipv4-tcp-1500":      ethFrame(etherIPv4, ip4(6, 0x4000, a, b, tcpSeg(1460))),
		"ipv4-udp-nodf-1500": ethFrame(etherIPv4, ip4(17, 0, a, b, udpDgram(1472))),
		"ipv4-icmp-echo":     ethFrame(etherIPv4, ip4(1, 0x4000, a, b, echo)),
		"ipv4-icmp-error":    ethFrame(etherIPv4, ip4(1, 0, a, b, append([]byte{3, 4, 0, 0, 0, 0, 5, 0xdc}, ip4(6, 0, b, a, tcpSeg(8))...))),
		"ipv4-fragment":      ethFrame(etherIPv4, ip4(17, 0x2000|185, a, b, make([]byte, 600))),
		"ipv4-multicast":     ethFrame(etherIPv4, ip4(17, 0, a, [4]byte{224, 0, 0, 5}, udpDgram(100))),
		"ipv4-vlan":          ethFrame(etherIPv4, ip4(6, 0x4000, a, b, tcpSeg(100)), 7),
		"ipv4-qinq":          ethFrame(etherIPv4, ip4(17, 0, a, b, udpDgram(100)), 7, 8),
		"ipv4-padded":        append(ethFrame(etherIPv4, ip4(6, 0x4000, a, b, tcpSeg(0))), 0, 0, 0, 0, 0, 0),
		"ipv4-bad-length":    ethFrame(etherIPv4, ip4(6, 0, a, b, tcpSeg(10)))[:40],
		"ipv4-esp":           ethFrame(etherIPv4, ip4(50, 0, a, b, make([]byte, 100))),
		"ipv6-tcp-1500":      ethFrame(etherIPv6, ip6(6, 1, 2, tcpSeg(1440))),
		"ipv6-udp":           ethFrame(etherIPv6, ip6(17, 1, 2, udpDgram(200))),
		"ipv6-icmpv6-error":  ethFrame(etherIPv6, ip6(58, 1, 2, append([]byte{1, 4, 0, 0, 0, 0, 0, 0}, ip6(17, 2, 1, udpDgram(8))...))),
		"ipv6-fragment-hdr":  ethFrame(etherIPv6, ip6(44, 1, 2, make([]byte, 64))),
		"ipv6-version-4":     ethFrame(etherIPv6, ip4(6, 0, a, b, tcpSeg(40))),
	}
}

// corpusFile is one input in Go's fuzz corpus format.
func corpusFile(args ...any) []byte {
	var b bytes.Buffer
	b.WriteString("go test fuzz v1\n")
	for _, a := range args {
		switch v := a.(type) {
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", v)
		case uint16:
			fmt.Fprintf(&b, "uint16(%d)\n", v)
		}
	}
	return b.Bytes()
}

// seedCorpora are the corpus files each target's directory must hold.
func seedCorpora() map[string]map[string][]byte {
	c := map[string]map[string][]byte{"FuzzParseFrame": {}, "FuzzTooBigError": {}, "FuzzFragment4": {}, "FuzzCompleteChecksum": {}}
	for name, f := range seedFrames() {
		c["FuzzParseFrame"]["seed-"+name] = corpusFile(f)
		c["FuzzCompleteChecksum"]["seed-"+name] = corpusFile(f)
		c["FuzzTooBigError"]["seed-"+name] = corpusFile(f, uint16(1466))
		c["FuzzFragment4"]["seed-"+name] = corpusFile(f, uint16(576))
	}
	return c
}

// The seed corpora under testdata/fuzz are those seedFrames makes (rewrite them with
// -update-corpus).
func TestSeedCorpus(t *testing.T) {
	for target, files := range seedCorpora() {
		dir := filepath.Join("testdata", "fuzz", target)
		if *updateCorpus {
			os.MkdirAll(dir, 0o755)
			old, _ := filepath.Glob(filepath.Join(dir, "seed-*"))
			for _, f := range old {
				os.Remove(f)
			}
			for name, data := range files {
				if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			continue
		}
		var names []string
		for name, data := range files {
			names = append(names, name)
			got, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("%s/%s is missing or stale: go test ./gateway -run TestSeedCorpus -update-corpus", dir, name)
			}
		}
		have, _ := filepath.Glob(filepath.Join(dir, "seed-*"))
		if sort.Strings(names); len(have) != len(names) {
			t.Errorf("%s holds %d seed files, want %d", dir, len(have), len(names))
		}
	}
}

func FuzzParseFrame(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		fr := ParseFrame(data)
		switch fr.Kind {
		case KindOther:
			if fr.IPLen != 0 || fr.HdrLen != 0 {
				t.Fatalf("%+v: not IP, but with IP lengths", fr)
			}
		case KindIPv4, KindIPv6:
			ip := data[fr.LinkLen:]
			if fr.LinkLen < ethHdrLen || fr.LinkLen+fr.IPLen > len(data) || fr.HdrLen > fr.IPLen || fr.HdrLen < 20 {
				t.Fatalf("%+v for %d bytes", fr, len(data))
			}
			if v := int(ip[0] >> 4); (fr.Kind == KindIPv4) != (v == 4) {
				t.Fatalf("%v with version %d", fr.Kind, v)
			}
		default:
			t.Fatalf("kind %v", fr.Kind)
		}
	})
}

func FuzzTooBigError(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, mtu uint16) {
		fr := ParseFrame(data)
		dst := make([]byte, maxICMPFrame)
		n := tooBigError(dst, data, fr, int(mtu))
		if n == 0 {
			return
		}
		if fr.Kind == KindOther || n > maxICMPFrame {
			t.Fatalf("%d bytes of ICMP error for %+v", n, fr)
		}
		e := dst[:n]
		ef := ParseFrame(e)
		if ef.Kind != fr.Kind || ef.LinkLen != fr.LinkLen || ef.IPLen != n-fr.LinkLen {
			t.Fatalf("the error frame parses as %+v (the packet was %+v)", ef, fr)
		}
		ip, orig := e[ef.LinkLen:], data[fr.LinkLen:fr.LinkLen+fr.IPLen]
		var msg []byte
		var sum uint32
		if ef.Kind == KindIPv4 {
			if ef.Proto != protoICMP || !inet.IPv4(ip[:20]).ChecksumValid() || n-ef.LinkLen > icmpV4Max {
				t.Fatalf("bad IPv4 header of the error: %x", ip[:20])
			}
			msg = ip[20:]
			if !bytes.Equal(ip[12:16], orig[16:20]) || !bytes.Equal(ip[16:20], orig[12:16]) {
				t.Fatal("addresses not swapped")
			}
		} else {
			if ef.Proto != protoICMPv6 || n-ef.LinkLen > icmpV6Max {
				t.Fatalf("bad IPv6 error: %x", ip[:40])
			}
			msg = ip[40:]
			sum = inet.PseudoHeaderIPv6(ip[8:24], ip[24:40], protoICMPv6, len(msg))
		}
		if inet.Checksum(msg, sum) != 0xffff {
			t.Fatal("bad ICMP checksum")
		}
		if !bytes.HasPrefix(orig, msg[8:]) {
			t.Fatal("the quote is not the start of the packet")
		}
		if !bytes.Equal(e[0:6], data[6:12]) || !bytes.Equal(e[6:12], data[0:6]) {
			t.Fatal("MAC addresses not swapped")
		}
	})
}

func FuzzFragment4(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, mtu uint16) {
		fr := ParseFrame(data)
		k := 0
		if fr.Kind == KindIPv4 && len(data) >= fr.LinkLen+fr.IPLen {
			k = fragments(data[fr.LinkLen:fr.LinkLen+fr.IPLen], fr, int(mtu))
		}
		dst := make([]byte, int(mtu)+fr.LinkLen+64)
		var payload []byte
		for i := 0; ; i++ {
			n := fragment4(dst, data, fr, int(mtu), i)
			if n == 0 {
				if fr.Kind == KindIPv4 && i != k && len(dst) >= int(mtu)+fr.LinkLen {
					t.Fatalf("%d fragments, fragments() says %d", i, k)
				}
				break
			}
			g := ParseFrame(dst[:n])
			h := dst[g.LinkLen : g.LinkLen+g.HdrLen]
			if g.Kind != KindIPv4 || g.IPLen > int(mtu) || g.HdrLen != fr.HdrLen || !inet.IPv4(h).ChecksumValid() {
				t.Fatalf("fragment %d: %+v (MTU %d), checksum valid %v", i, g, mtu, inet.IPv4(h).ChecksumValid())
			}
			orig := binary.BigEndian.Uint16(data[fr.LinkLen+6:])
			fo := binary.BigEndian.Uint16(h[6:])
			if int(fo&0x1fff)*8 != int(orig&0x1fff)*8+len(payload) {
				t.Fatalf("fragment %d at offset %d, want %d", i, int(fo&0x1fff)*8, int(orig&0x1fff)*8+len(payload))
			}
			payload = append(payload, dst[g.LinkLen+g.HdrLen:n]...)
			last := len(payload) == fr.IPLen-fr.HdrLen
			if mf := fo&0x2000 != 0; mf != (!last || orig&0x2000 != 0) {
				t.Fatalf("fragment %d: MF %v, last %v, original MF %v", i, mf, last, orig&0x2000 != 0)
			}
		}
		if payload != nil && !bytes.Equal(payload, data[fr.LinkLen+fr.HdrLen:fr.LinkLen+fr.IPLen]) {
			t.Fatal("the fragments do not add up to the packet")
		}
	})
}

func FuzzCompleteChecksum(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		fr := ParseFrame(data)
		ip := bytes.Clone(data[fr.LinkLen:])
		if !completeChecksum(ip, fr) {
			if !bytes.Equal(ip, data[fr.LinkLen:]) {
				t.Fatal("changed a packet it says it left alone")
			}
			return
		}
		p := ip[:fr.IPLen]
		l4 := p[fr.HdrLen:]
		var sum uint32
		if fr.Kind == KindIPv4 {
			sum = inet.PseudoHeaderIPv4(p[12:16], p[16:20], fr.Proto, len(l4))
		} else {
			sum = inet.PseudoHeaderIPv6(p[8:24], p[24:40], fr.Proto, len(l4))
		}
		if inet.Checksum(l4, sum) != 0xffff {
			t.Fatalf("checksum does not verify: %x", l4)
		}
	})
}

// An IPv4 packet is fragmented only if its data, at its own fragment offset, ends within
// 65,535 bytes; past that no fragment's offset fits the header's 13 bits (the input the
// fuzzer found: offset 65,528 with 600 bytes, whose fragments' offsets wrapped to 544).
func TestFragmentable4(t *testing.T) {
	for _, c := range []struct {
		offset8, data int // fragment offset (8-byte units) and data bytes
		want          bool
	}{
		{0, 1480, true},
		{0, 65535 - 20, true},
		{8191, 7, true},
		{8191, 8, false},
		{8191, 600, false},
		{8000, 1535, true},
		{8000, 1536, false},
	} {
		ip := make([]byte, 20+c.data)
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[6:], uint16(c.offset8)|0x2000)
		f := Frame{Kind: KindIPv4, HdrLen: 20, IPLen: len(ip)}
		if got := fragmentable4(ip, f); got != c.want {
			t.Errorf("offset %d, %d data bytes: fragmentable %v, want %v", 8*c.offset8, c.data, got, c.want)
		}
		if n := fragments(ip, f, 1500); c.want != (n > 0) {
			t.Errorf("offset %d, %d data bytes: %d fragments", 8*c.offset8, c.data, n)
		}
	}
}
