package host_test

import (
	"encoding/binary"
	"github.com/ov2dev/ov2/internal/inet"
	"testing"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/fault"
	"github.com/ov2dev/ov2/host"
	"github.com/ov2dev/ov2/ndis"
	"github.com/ov2dev/ov2/nic"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/stage"
)

// seal sends plain packets through the loop's send path and returns the frames that left
// the NIC (copies), in order.
func (l *loop) seal(t testing.TB, pkts [][]byte) [][]byte {
	t.Helper()
	for _, p := range pkts {
		if err := l.sender.Send(p); err != nil {
			t.Fatal(err)
		}
	}
	l.sender.Flush()
	var out [][]byte
	buf := make([]*packet.Buffer, 64)
	for len(out) < len(pkts) {
		for _, p := range buf[:l.send.Poll(buf)] {
			if p.Tx.Failed() {
				t.Fatalf("send failed: %v", p.Tx.Reason)
			}
			out = append(out, append(make([]byte, 0, p.Len()+64), p.Bytes()...))
			l.sender.Done(p)
		}
	}
	return out
}

// indicate passes frames through the receive path and the host; it returns each packet's
// receive OOB and host verdict, in order.
func (l *loop) indicate(t testing.TB, frames [][]byte) ([]packet.RxInfo, []host.Verdict) {
	t.Helper()
	var bufs []*packet.Buffer
	for _, f := range frames {
		b := packet.NewBuffer(packet.SmallSize)
		if err := b.SetData(f); err != nil {
			t.Fatal(err)
		}
		bufs = append(bufs, b)
	}
	l.recv.Submit(bufs)
	var rx []packet.RxInfo
	var vs []host.Verdict
	buf := make([]*packet.Buffer, 64)
	for len(rx) < len(frames) {
		for _, p := range buf[:l.recv.Poll(buf)] {
			if err := p.Rx.Consistent(); err != nil {
				t.Errorf("inconsistent OOB %v: %v", p.Rx, err)
			}
			rx = append(rx, p.Rx)
			_, v := l.receiver.Receive(p, nil)
			vs = append(vs, v)
		}
	}
	return rx, vs
}

type oob struct {
	done, next, delReq bool
	status             ndis.CryptoStatus
}

func oobOf(r packet.RxInfo) oob {
	return oob{r.CryptoDone, r.NextCryptoDone, r.SaDeleteReq, r.CryptoStatus}
}

var (
	transportSA = host.SAConfig{SPI: 0x3001, Alg: esp.AESGCM, Key: key(16, 0x31), Salt: [4]byte{3, 1, 3, 1},
		Src: mustAddr("192.0.2.1"), Dst: mustAddr("198.51.100.1")}
	tunnelSA = host.SAConfig{SPI: 0x3002, Alg: esp.AESGCM, Key: key(32, 0x32), Salt: [4]byte{3, 2, 3, 2},
		Mode: host.Tunnel, Src: mustAddr("203.0.113.1"), Dst: mustAddr("203.0.113.2")}
)

// Issue acceptance (receive path): a table injects each fault and checks the exact OOB
// result and that the packet was still indicated (R-RX-2..7, R-RX-9).
func TestReceiveFaults(t *testing.T) {
	ok := oob{done: true, status: ndis.CryptoSuccess}
	notProcessed := oob{}
	cases := []struct {
		name   string
		sa     host.SAConfig
		nic    func(*nic.Config)
		policy stage.DeletePolicy
		window int
		n      int                                              // packets sealed
		mutate func(t *testing.T, l *loop, f [][]byte) [][]byte // frames to indicate
		check  int                                              // index of the packet whose result is checked
		want   oob
		host   host.Verdict
	}{
		{name: "no fault", sa: transportSA, n: 2, check: 1, want: ok, host: host.Delivered},
		{name: "corrupt ICV", sa: transportSA, n: 2, mutate: damage(1, fault.CorruptICV), check: 1,
			want: oob{done: true, status: ndis.CryptoTransportESPAuthFailed}, host: host.CryptoFailed},
		{name: "corrupt ciphertext", sa: transportSA, n: 2, mutate: damage(1, fault.CorruptCiphertext), check: 1,
			want: oob{done: true, status: ndis.CryptoTransportESPAuthFailed}, host: host.CryptoFailed},
		{name: "corrupt ICV on a tunnel SA", sa: tunnelSA, n: 2, mutate: damage(1, fault.CorruptICV), check: 1,
			want: oob{done: true, status: ndis.CryptoTunnelESPAuthFailed}, host: host.CryptoFailed},
		{name: "truncated", sa: transportSA, n: 2, mutate: damage(1, fault.Truncate), check: 1,
			want: oob{done: true, status: ndis.CryptoTransportESPAuthFailed}, host: host.CryptoFailed},
		{name: "truncated inside the ESP header", sa: transportSA, n: 2, mutate: damage(1, fault.TruncateHeader), check: 1,
			want: oob{done: true, status: ndis.CryptoInvalidPacketSyntax}, host: host.CryptoFailed},
		{name: "wrong SPI", sa: transportSA, n: 2, mutate: damage(1, fault.WrongSPI), check: 1,
			want: notProcessed, host: host.NotOffloaded},
		{name: "wrong destination", sa: transportSA, n: 2, mutate: damage(1, fault.WrongDestination), check: 1,
			want: notProcessed, host: host.NotOffloaded},
		{name: "IPv4 options, not advertised", sa: transportSA, n: 2, mutate: damage(1, fault.IPv4Options), check: 1,
			nic: func(c *nic.Config) { c.Hardware.IPv4Options = false }, want: notProcessed, host: host.NotOffloaded},
		{name: "IPv4 options, advertised", sa: transportSA, n: 2, mutate: damage(1, fault.IPv4Options), check: 1,
			want: ok, host: host.Delivered},
		{name: "replayed sequence number", sa: transportSA, n: 2, check: 2,
			mutate: func(_ *testing.T, _ *loop, f [][]byte) [][]byte { return append(f, f[1]) },
			want:   ok, host: host.Replayed},
		{name: "reordered beyond the window", sa: transportSA, n: 70, window: 64, check: 69,
			mutate: func(_ *testing.T, _ *loop, f [][]byte) [][]byte { return append(f[1:], f[0]) },
			want:   ok, host: host.TooOld},
		{name: "SA deleted before its packets arrive", sa: transportSA, n: 2, check: 1,
			mutate: func(t *testing.T, l *loop, f [][]byte) [][]byte {
				deleteInbound(t, l, transportSA.SPI)
				return f
			}, want: notProcessed, host: host.NotOffloaded},
		{name: "UDP-encapsulated ESP for an SA without NAT-T", sa: transportSA, n: 2, check: 1,
			mutate: func(_ *testing.T, _ *loop, f [][]byte) [][]byte { f[1] = wrapUDP(f[1]); return f },
			want:   oob{done: true, status: ndis.CryptoInvalidProtocol}, host: host.CryptoFailed},
		{name: "bad padding under a valid ICV", sa: transportSA, n: 1, check: 1,
			mutate: func(t *testing.T, _ *loop, f [][]byte) [][]byte { return append(f, badPadding(t, transportSA)) },
			want:   oob{done: true, status: ndis.CryptoInvalidPacketSyntax}, host: host.CryptoFailed},
		{name: "SaDeleteReq after an auth failure", sa: transportSA, n: 2, mutate: damage(0, fault.CorruptICV), check: 1,
			policy: stage.DeletePolicy{MaxAuthFailures: 1}, want: oob{done: true, delReq: true, status: ndis.CryptoSuccess},
			host: host.Delivered},
		{name: "SaDeleteReq when the sequence space runs out", n: 1, check: 0,
			sa:     func() host.SAConfig { c := transportSA; c.StartSeq = 1<<32 - 50; return c }(),
			policy: stage.DeletePolicy{SeqRemaining: 100}, want: oob{done: true, delReq: true, status: ndis.CryptoSuccess},
			host: host.Delivered},
		{name: "SaDeleteReq at the packet lifetime", sa: transportSA, n: 3, check: 2,
			policy: stage.DeletePolicy{MaxPackets: 3}, want: oob{done: true, delReq: true, status: ndis.CryptoSuccess},
			host: host.Delivered},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			nc := nic.DefaultConfig()
			if tc.nic != nil {
				tc.nic(&nc)
			}
			l := newLoopNIC(t, nc, stage.Config{}, tc.policy, tc.window)
			out, in := l.addFlow(t, tc.sa)
			src, dst := "192.0.2.1", "198.51.100.1"
			if tc.sa.Mode == host.Tunnel {
				src, dst = "10.9.0.1", "10.9.0.2"
			}
			var plain [][]byte
			for i := 0; i < tc.n; i++ {
				plain = append(plain, udpPacket(src, dst, i, 64+i))
			}
			frames := l.seal(t, plain)
			if tc.mutate != nil {
				frames = tc.mutate(t, l, frames)
			}
			rx, vs := l.indicate(t, frames)
			if len(rx) != len(frames) {
				t.Fatalf("%d packets indicated, %d received (R-RX-5)", len(rx), len(frames))
			}
			if got := oobOf(rx[tc.check]); got != tc.want {
				t.Errorf("OOB %+v (%v), want %+v", got, rx[tc.check], tc.want)
			}
			if vs[tc.check] != tc.host {
				t.Errorf("host verdict %v, want %v", vs[tc.check], tc.host)
			}
			st := l.recv.Stats()
			if !st.Balanced() || st.Received != uint64(len(frames)) {
				t.Errorf("receive stats %+v", st)
			}
			if tc.want.delReq {
				// R-RX-7, R-SA-8: the host deleted the inbound SA and its paired outbound SA.
				tb := l.nic.Controller().Snapshot()
				if tb.Lookup(in) != nil || tb.Lookup(out) != nil || l.receiver.Deletes() != 1 {
					t.Errorf("after SaDeleteReq: inbound %v outbound %v deletes %d", tb.Lookup(in), tb.Lookup(out), l.receiver.Deletes())
				}
			}
		})
	}
}

func damage(i int, k fault.Kind) func(*testing.T, *loop, [][]byte) [][]byte {
	return func(t *testing.T, _ *loop, f [][]byte) [][]byte {
		var err error
		if f[i], err = fault.Apply(k, f[i]); err != nil {
			t.Fatal(err)
		}
		return f
	}
}

func deleteInbound(t *testing.T, l *loop, spi uint32) {
	t.Helper()
	dst := mustAddr("198.51.100.1").As4()
	a := l.nic.Controller().Snapshot().LookupInbound(spi, dst[:])
	if a == nil {
		t.Fatal("no inbound SA")
	}
	if st, err := l.nic.OIDDeleteSA(&nic.DeleteSA{OffloadHandle: a.Handle}); st != ndis.StatusSuccess {
		t.Fatal(st, err)
	}
}

// wrapUDP puts an IPv4 ESP packet inside UDP to port 4500.
func wrapUDP(f []byte) []byte {
	out := append(append(append([]byte(nil), f[:20]...), make([]byte, 8)...), f[20:]...)
	binary.BigEndian.PutUint16(out[20:], 4500)
	binary.BigEndian.PutUint16(out[22:], 4500)
	binary.BigEndian.PutUint16(out[24:], uint16(len(out)-20))
	binary.BigEndian.PutUint16(out[2:], uint16(len(out)))
	out[9] = 17
	inet.IPv4(out[:20]).SetChecksum()
	return out
}

// badPadding seals, with the SA's own key, a packet whose padding bytes are not 1, 2, 3:
// the ICV verifies, the trailer does not.
func badPadding(t *testing.T, c host.SAConfig) []byte {
	tr, err := esp.NewTransform(esp.Params{Alg: esp.AESGCM, KeyMat: append(append([]byte(nil), c.Key...), c.Salt[:]...)})
	if err != nil {
		t.Fatal(err)
	}
	inner := udpPacket("192.0.2.1", "198.51.100.1", 9, 61)[20:] // 69 bytes: 1 byte of padding... make it 3
	inner = inner[:len(inner)-2]                                // 67 bytes: pad 3
	body := []byte{}
	body = binary.BigEndian.AppendUint32(body, c.SPI)
	body = binary.BigEndian.AppendUint32(body, 2)
	body = binary.BigEndian.AppendUint64(body, 2)
	body = append(body, inner...)
	body = append(body, 1, 3, 2, 3, 17) // padding 1,3,2 (should be 1,2,3), pad length 3, next header
	pkt := make([]byte, 20, 20+len(body)+32)
	pkt = append(pkt, body...)
	sealed, err := tr.Seal(new(esp.Scratch), pkt[20:], 0)
	if err != nil {
		t.Fatal(err)
	}
	f := append(pkt[:20], sealed...)
	f[0], f[8], f[9] = 0x45, 64, 50
	binary.BigEndian.PutUint16(f[2:], uint16(len(f)))
	s, d := mustAddr("192.0.2.1").As4(), mustAddr("198.51.100.1").As4()
	copy(f[12:], s[:])
	copy(f[16:], d[:])
	inet.IPv4(f[:20]).SetChecksum()
	return f
}
