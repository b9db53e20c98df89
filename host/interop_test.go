package host_test

import (
	"bytes"
	"encoding/binary"
	"github.com/ov2dev/ov2/internal/inet"
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/host"
	"github.com/ov2dev/ov2/internal/interop"
	"github.com/ov2dev/ov2/nic"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/stage"
)

type flow struct {
	cfg      host.SAConfig
	src, dst string // inner packet addresses
	count    int
	tcp      bool
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// engine is a NIC with a send path and a host sender, and a goroutine that collects what
// leaves the NIC (the wire).
type engine struct {
	nic    *nic.NIC
	path   *stage.SendPath
	sender *host.Sender
	wire   chan []*packet.Buffer
}

func newEngine(t testing.TB, cfg stage.SendConfig) *engine {
	n, err := nic.New(nic.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	path, err := stage.NewSendPath(stage.Env{SAs: n.Controller(), ESPAllowed: func(v6 bool) bool {
		return n.CurrentConfig().ESPAllowed(v6)
	}}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &engine{nic: n, path: path, sender: host.NewSender(n, path), wire: make(chan []*packet.Buffer, 1)}
	go func() {
		var got []*packet.Buffer
		buf := make([]*packet.Buffer, 64)
		for {
			k, err := path.Completions(buf)
			if err != nil {
				break
			}
			for _, p := range buf[:k] {
				c := packet.NewBuffer(p.Len())
				c.SetData(p.Bytes())
				c.Tx = p.Tx
				got = append(got, c)
				e.sender.Done(p)
			}
		}
		e.wire <- got
	}()
	return e
}

// finish closes the sender and returns every packet that left the NIC, in order.
func (e *engine) finish() []*packet.Buffer {
	e.sender.Close()
	return <-e.wire
}

// udpPacket is a plain IPv4 or IPv6 UDP packet with a payload that names its flow and number.
func udpPacket(src, dst string, id, size int) []byte {
	s, d := mustAddr(src), mustAddr(dst)
	payload := make([]byte, size)
	rng := rand.New(rand.NewPCG(uint64(id), 9))
	for i := range payload {
		payload[i] = byte(rng.Uint32())
	}
	binary.BigEndian.PutUint32(payload, uint32(id))
	return ipPacket(s, d, 17, append(udpHeader(len(payload)), payload...))
}

func udpHeader(n int) []byte {
	h := make([]byte, 8)
	binary.BigEndian.PutUint16(h[0:], 1234)
	binary.BigEndian.PutUint16(h[2:], 5678)
	binary.BigEndian.PutUint16(h[4:], uint16(8+n))
	return h
}

func ipPacket(s, d netip.Addr, proto byte, l4 []byte) []byte {
	if s.Is4() {
		h := make([]byte, 20)
		h[0], h[8], h[9] = 0x45, 64, proto
		binary.BigEndian.PutUint16(h[2:], uint16(20+len(l4)))
		a, b := s.As4(), d.As4()
		copy(h[12:], a[:])
		copy(h[16:], b[:])
		inet.IPv4(h).SetChecksum()
		return append(h, l4...)
	}
	h := make([]byte, 40)
	h[0], h[6], h[7] = 0x60, proto, 64
	binary.BigEndian.PutUint16(h[4:], uint16(len(l4)))
	a, b := s.As16(), d.As16()
	copy(h[8:], a[:])
	copy(h[24:], b[:])
	return append(h, l4...)
}

// tcpLarge is a TCP packet with a payload of n bytes, FIN|PSH|CWR|ACK set.
func tcpLarge(src, dst string, n int) []byte {
	tcp := make([]byte, 20+n)
	binary.BigEndian.PutUint16(tcp[0:], 40000)
	binary.BigEndian.PutUint16(tcp[2:], 443)
	binary.BigEndian.PutUint32(tcp[4:], 0xfffff000) // sequence number close to a TCP wrap
	tcp[12] = 5 << 4
	tcp[13] = 0x80 | 0x10 | 0x08 | 0x01 // CWR ACK PSH FIN
	binary.BigEndian.PutUint16(tcp[14:], 65535)
	for i := 20; i < len(tcp); i++ {
		tcp[i] = byte(i * 31)
	}
	return ipPacket(mustAddr(src), mustAddr(dst), 6, tcp)
}

func interopSA(c host.SAConfig, startSeq uint64) interop.SA {
	return interop.SA{SPI: c.SPI, Key: c.Key, Salt: c.Salt[:], GMAC: c.Alg == esp.AESGMAC, ICVLen: c.ICVLen,
		ESN: c.ESN, SeqHi: uint32(startSeq >> 32), Tunnel: c.Mode == host.Tunnel, Src: c.Src, Dst: c.Dst,
		NATT: c.NATT, SPort: c.SPort, DPort: c.DPort}
}

func key(n int, seed byte) []byte {
	k := make([]byte, n)
	for i := range k {
		k[i] = seed + byte(i)*17
	}
	return k
}

// Issue acceptance (send path): an outside peer checks our output. A mix of IPv4 and IPv6,
// transport and tunnel, NAT-T, AES-GCM-128/256 and GMAC, an ESN stream that starts just
// below 2^32, and a 64 KB TCP large send with MSS 1400, all sealed by the NIC through two
// lanes, is verified packet by packet by python-cryptography and by scapy (R-TX-4, R-TX-6,
// R-TX-7, SPEC section 7).
func TestSendInterop(t *testing.T) {
	interop.Require(t, "python3-cryptography", "scapy")
	flows := []flow{
		{cfg: host.SAConfig{SPI: 0x1001, Alg: esp.AESGCM, Key: key(16, 1), Salt: [4]byte{1, 2, 3, 4},
			Src: mustAddr("192.0.2.1"), Dst: mustAddr("198.51.100.1")}, src: "192.0.2.1", dst: "198.51.100.1", count: 40},
		{cfg: host.SAConfig{SPI: 0x1002, Alg: esp.AESGCM, Key: key(32, 2), Salt: [4]byte{5, 6, 7, 8}, ICVLen: 12,
			Src: mustAddr("2001:db8::1"), Dst: mustAddr("2001:db8::2")}, src: "2001:db8::1", dst: "2001:db8::2", count: 40},
		{cfg: host.SAConfig{SPI: 0x1003, Alg: esp.AESGMAC, Key: key(16, 3), Salt: [4]byte{9, 9, 9, 9}, Mode: host.Tunnel,
			Src: mustAddr("203.0.113.1"), Dst: mustAddr("203.0.113.2"),
			Selector: host.Selector{Src: netip.MustParsePrefix("10.1.0.0/16"), Dst: netip.MustParsePrefix("10.2.0.0/16")}},
			src: "10.1.0.5", dst: "10.2.0.6", count: 40},
		{cfg: host.SAConfig{SPI: 0x1004, Alg: esp.AESGCM, Key: key(32, 4), Salt: [4]byte{4, 4, 4, 4}, Mode: host.Tunnel,
			Src: mustAddr("2001:db8:1::1"), Dst: mustAddr("2001:db8:2::1"),
			Selector: host.Selector{Src: netip.MustParsePrefix("2001:db8:10::/48"), Dst: netip.MustParsePrefix("2001:db8:20::/48")}},
			src: "2001:db8:10::7", dst: "2001:db8:20::8", count: 40},
		{cfg: host.SAConfig{SPI: 0x1005, Alg: esp.AESGCM, Key: key(16, 5), Salt: [4]byte{5, 5, 5, 5}, NATT: true, SPort: 4501,
			Src: mustAddr("192.0.2.10"), Dst: mustAddr("198.51.100.10")}, src: "192.0.2.10", dst: "198.51.100.10", count: 40},
		{cfg: host.SAConfig{SPI: 0x1008, Alg: esp.AESGCM, Key: key(16, 8), Salt: [4]byte{8, 8, 8, 8}, NATT: true,
			Mode: host.Tunnel, Src: mustAddr("2001:db8:5::1"), Dst: mustAddr("2001:db8:6::1"),
			Selector: host.Selector{Src: netip.MustParsePrefix("10.5.0.0/16")}},
			src: "10.5.0.1", dst: "10.6.0.1", count: 40},
		{cfg: host.SAConfig{SPI: 0x1006, Alg: esp.AESGCM, Key: key(16, 6), Salt: [4]byte{6, 6, 6, 6}, ESN: true,
			StartSeq: 1<<32 - 20, Src: mustAddr("192.0.2.20"), Dst: mustAddr("198.51.100.20")},
			src: "192.0.2.20", dst: "198.51.100.20", count: 60},
		{cfg: host.SAConfig{SPI: 0x1007, Alg: esp.AESGCM, Key: key(16, 7), Salt: [4]byte{7, 7, 7, 7}, ESN: true,
			StartSeq: 1<<32 - 10, Src: mustAddr("192.0.2.30"), Dst: mustAddr("198.51.100.30")},
			src: "192.0.2.30", dst: "198.51.100.30", count: 1, tcp: true},
	}
	e := newEngine(t, stage.SendConfig{Lanes: 2})
	var sas []interop.SA
	plain := map[uint32][][]byte{} // SPI -> inner bytes expected, in order
	for _, f := range flows {
		if _, err := e.sender.AddSA(f.cfg); err != nil {
			t.Fatal(err)
		}
		cfg := f.cfg
		if cfg.ICVLen == 0 {
			cfg.ICVLen = 16
		}
		if cfg.NATT && cfg.DPort == 0 {
			cfg.DPort = 4500
		}
		start := cfg.StartSeq
		if start == 0 {
			start = 1
		}
		sas = append(sas, interopSA(cfg, start))
	}
	const lsoPayload, mss = 64000, 1400
	for i := 0; i < 60; i++ {
		for _, f := range flows {
			if i >= f.count {
				continue
			}
			if f.tcp {
				pkt := tcpLarge(f.src, f.dst, lsoPayload)
				if err := e.sender.SendLarge(pkt, mss); err != nil {
					t.Fatal(err)
				}
				plain[f.cfg.SPI] = append(plain[f.cfg.SPI], pkt)
				continue
			}
			pkt := udpPacket(f.src, f.dst, i, 20+(i*37)%1300)
			if err := e.sender.Send(pkt); err != nil {
				t.Fatal(err)
			}
			plain[f.cfg.SPI] = append(plain[f.cfg.SPI], pkt)
		}
	}
	out := e.finish()
	wantOut := 40*6 + 60 + (lsoPayload+mss-1)/mss
	if len(out) != wantOut {
		t.Fatalf("%d packets left the NIC, want %d", len(out), wantOut)
	}
	raw := make([][]byte, len(out))
	for i, p := range out {
		if p.Tx.Failed() {
			t.Fatalf("packet %d failed: %v", i, p.Tx.Reason)
		}
		raw[i] = p.Bytes()
		// NAT-T over IPv6: the NIC fills in the UDP checksum once the payload is sealed.
		if f := raw[i]; f[0]>>4 == 6 && f[6] == 17 {
			pseudo := append(append([]byte(nil), f[8:40]...), 0, 0, byte((len(f)-40)>>8), byte(len(f)-40), 0, 0, 0, 17)
			if sum := onesSum(append(pseudo, f[40:]...)); sum != 0xffff || f[46]|f[47] == 0 {
				t.Errorf("packet %d: IPv6 NAT-T UDP checksum %#04x does not verify", i, uint16(f[46])<<8|uint16(f[47]))
			}
		}
	}
	pcap := filepath.Join(t.TempDir(), "ov2-send.pcap")
	if err := interop.WritePcap(pcap, raw); err != nil {
		t.Fatal(err)
	}
	for name, verify := range map[string]func(testing.TB, string, []interop.SA) []interop.Result{
		"python-cryptography": interop.VerifyPyca, "scapy": interop.VerifyScapy,
	} {
		t.Run(name, func(t *testing.T) {
			res := verify(t, pcap, sas)
			if len(res) != len(raw) {
				t.Fatalf("%d results for %d packets", len(res), len(raw))
			}
			checkResults(t, name, res, raw, plain, flows, mss)
		})
	}
	// SPI 0x1006 crosses 2^32 between packets: the host drains and issues UPDATE_SA. The
	// large send of SPI 0x1007 crosses inside itself: the NIC carries into the high half
	// and no UPDATE_SA is needed (none follows, since no packet comes after it).
	if got := e.sender.Updates(); got != 1 {
		t.Errorf("%d UPDATE_SA requests, want 1", got)
	}
}

// checkResults compares the verifiers' decryptions with what was sent.
func checkResults(t *testing.T, name string, res []interop.Result, raw [][]byte, plain map[uint32][][]byte, flows []flow, mss int) {
	next := map[uint32]int{}
	var lsoChunks []byte
	var lsoSeqs []uint64
	for i, r := range res {
		if !r.OK {
			t.Errorf("%s: packet %d (SPI 0x%x seq %d): %s", name, i, r.SPI, r.Seq, r.Reason)
			continue
		}
		if name == "python-cryptography" && !r.IVIsSeq { // R-TX-4: the NIC writes IV = sequence number
			t.Errorf("%s: packet %d (SPI 0x%x seq %d): IV is not the sequence number", name, i, r.SPI, r.Seq)
		}
		var f *flow
		for k := range flows {
			if flows[k].cfg.SPI == r.SPI {
				f = &flows[k]
			}
		}
		if f == nil {
			t.Fatalf("%s: packet %d has unknown SPI 0x%x", name, i, r.SPI)
		}
		if f.tcp {
			inner := r.Inner
			if r.NextHeader != 6 || len(inner) < 20 || len(inner)-20 > mss {
				t.Errorf("%s: LSO segment %d: next header %d, %d bytes", name, i, r.NextHeader, len(inner))
				continue
			}
			// IP and TCP checksums of the segment are valid (the TCP checksum over the
			// pseudo-header of the outer IPv4 header, transport mode).
			if sum := onesSum(raw[i][:20]); sum != 0xffff {
				t.Errorf("%s: LSO segment %d: IPv4 header checksum bad (%#x)", name, i, sum)
			}
			pseudo := append(append([]byte(nil), raw[i][12:20]...), 0, 6, byte(len(inner)>>8), byte(len(inner)))
			if sum := onesSum(append(pseudo, inner...)); sum != 0xffff {
				t.Errorf("%s: LSO segment %d: TCP checksum bad (%#x)", name, i, sum)
			}
			lsoChunks = append(lsoChunks, inner[20:]...)
			lsoSeqs = append(lsoSeqs, r.Seq)
			continue
		}
		want := plain[r.SPI][next[r.SPI]]
		next[r.SPI]++
		if f.cfg.Mode == host.Transport {
			hdr := 20
			if want[0]>>4 == 6 {
				hdr = 40
			}
			want = want[hdr:]
		}
		if !bytes.Equal(r.Inner, want) {
			t.Errorf("%s: packet %d (SPI 0x%x): inner bytes differ", name, i, r.SPI)
		}
	}
	for _, f := range flows {
		if !f.tcp && next[f.cfg.SPI] != f.count {
			t.Errorf("%s: SPI 0x%x: %d packets verified, want %d", name, f.cfg.SPI, next[f.cfg.SPI], f.count)
		}
	}
	// The large send: segments rejoin to the payload, sequence numbers S..S+n-1 across 2^32.
	lso := plain[0x1007][0]
	if !bytes.Equal(lsoChunks, lso[40:]) {
		t.Errorf("%s: LSO segments rejoin to %d bytes, want the %d-byte payload", name, len(lsoChunks), len(lso)-40)
	}
	for i, s := range lsoSeqs {
		if want := uint64(1<<32-10) + uint64(i); s != want {
			t.Errorf("%s: segment %d has sequence %#x, want %#x", name, i, s, want)
			break
		}
	}
	if len(lsoSeqs) > 0 {
		t.Logf("%s: %d LSO segments, sequence %#x..%#x", name, len(lsoSeqs), lsoSeqs[0], lsoSeqs[len(lsoSeqs)-1])
	}
}

// onesSum is the folded one's-complement sum of b; 0xffff means a checksum inside b verifies.
func onesSum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return uint16(sum)
}
