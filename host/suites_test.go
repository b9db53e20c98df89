package host_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"

	"github.com/ov2dev/ov2/ah"
	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/host"
	"github.com/ov2dev/ov2/internal/inet"
	"github.com/ov2dev/ov2/ndis"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/stage"
)

// Issue 11, host model: every suite (AES-CBC and NULL with HMAC, AH with HMAC or AES-GMAC,
// ESP+AH bundles) framed by the host, sealed by the NIC, checked by independent esp and ah
// transforms keyed the same way, indicated back and decapsulated byte for byte, with
// anti-replay per part.

// suiteCfg is an SA of a suite between two addresses (tunnel mode when tunnel is set).
func suiteCfg(name string, spi uint32, v6, tunnel bool) host.SAConfig {
	c := host.SAConfig{SPI: spi, Src: mustAddr("192.0.2.1"), Dst: mustAddr("198.51.100.1")}
	if v6 {
		c.Src, c.Dst = mustAddr("2001:db8::1"), mustAddr("2001:db8::2")
	}
	if tunnel {
		c.Mode = host.Tunnel
		c.Selector = host.Selector{Src: netip.MustParsePrefix("10.1.0.0/16")}
		if v6 {
			c.Selector = host.Selector{Src: netip.MustParsePrefix("2001:db8:10::/48")}
		}
	}
	ahOf := func(i esp.Integrity) *host.SAConfig {
		a := &host.SAConfig{Proto: host.AH, SPI: spi + 0x8000, Integrity: i}
		if i == esp.GMAC128 {
			a.Key, a.Salt = key(16, byte(spi)+7), [4]byte{7, 6, 5, 4}
		} else {
			a.AuthKey = key(i.KeyLen(), byte(spi)+3)
		}
		return a
	}
	switch name {
	case "cbc128-sha1":
		c.Alg, c.Key, c.Integrity, c.AuthKey = esp.AESCBC, key(16, byte(spi)), esp.HMACSHA1_96, key(20, byte(spi)+1)
	case "cbc256-sha256":
		c.Alg, c.Key, c.Integrity, c.AuthKey = esp.AESCBC, key(32, byte(spi)), esp.HMACSHA256_128, key(32, byte(spi)+1)
	case "null-sha1":
		c.Alg, c.Integrity, c.AuthKey = esp.NULL, esp.HMACSHA1_96, key(20, byte(spi)+1)
	case "null-sha256":
		c.Alg, c.Integrity, c.AuthKey = esp.NULL, esp.HMACSHA256_128, key(32, byte(spi)+1)
	case "ah-sha1", "ah-sha256", "ah-gmac128":
		a := ahOf(map[string]esp.Integrity{"ah-sha1": esp.HMACSHA1_96, "ah-sha256": esp.HMACSHA256_128, "ah-gmac128": esp.GMAC128}[name])
		c.Proto, c.Integrity, c.AuthKey, c.Key, c.Salt = host.AH, a.Integrity, a.AuthKey, a.Key, a.Salt
	case "gcm128+ah-sha256":
		c.Alg, c.Key, c.Salt = esp.AESGCM, key(16, byte(spi)), [4]byte{1, 2, 3, 4}
		c.AH = ahOf(esp.HMACSHA256_128)
	case "cbc128-sha256+ah-sha1":
		c.Alg, c.Key, c.Integrity, c.AuthKey = esp.AESCBC, key(16, byte(spi)), esp.HMACSHA256_128, key(32, byte(spi)+1)
		c.AH = ahOf(esp.HMACSHA1_96)
	case "null-sha1+ah-gmac128":
		c.Alg, c.Integrity, c.AuthKey = esp.NULL, esp.HMACSHA1_96, key(20, byte(spi)+1)
		c.AH = ahOf(esp.GMAC128)
	default:
		panic(name)
	}
	return c
}

var suiteNames = []string{"cbc128-sha1", "cbc256-sha256", "null-sha1", "null-sha256", "ah-sha1", "ah-sha256", "ah-gmac128",
	"gcm128+ah-sha256", "cbc128-sha256+ah-sha1", "null-sha1+ah-gmac128"}

// suitePeer is the far end of an SA: independent transforms with the same keys.
type suitePeer struct {
	esp *esp.Transform
	ah  *ah.Transform
}

func peerOf(t testing.TB, c host.SAConfig) suitePeer {
	t.Helper()
	var p suitePeer
	var err error
	ahc := c.AH
	if c.Proto == host.AH {
		ahc = &c
	} else {
		ep := esp.Params{Alg: c.Alg, ICVLen: c.ICVLen, Integrity: c.Integrity, IntegrityKey: c.AuthKey, ESN: c.ESN, KeyMat: c.Key}
		if c.Alg == esp.AESGCM || c.Alg == esp.AESGMAC {
			ep.KeyMat = append(append([]byte(nil), c.Key...), c.Salt[:]...)
		}
		if p.esp, err = esp.NewTransform(ep); err != nil {
			t.Fatal(err)
		}
	}
	if ahc != nil {
		k := ahc.AuthKey
		if ahc.Integrity >= esp.GMAC128 {
			k = append(append([]byte(nil), ahc.Key...), ahc.Salt[:]...)
		}
		if p.ah, err = ah.NewTransform(ah.Params{Integrity: ahc.Integrity, Key: k, ESN: ahc.ESN}); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// open checks a frame ov2 sealed as the peer would: AH over the datagram, then ESP after
// it; it returns the protected payload and its next header.
func (p suitePeer) open(t testing.TB, frame []byte, seqHi, ahSeqHi uint32) ([]byte, byte) {
	t.Helper()
	pkt := bytes.Clone(frame)
	l := parseIP(t, pkt)
	off, nh := l.hdr, l.proto
	if p.ah != nil {
		if nh != ah.Protocol {
			t.Fatalf("protocol %d, want AH", nh)
		}
		al, err := p.ah.Verify(new(ah.Scratch), pkt, ahSeqHi)
		if err != nil {
			t.Fatalf("peer AH verify: %v", err)
		}
		if al.AH != off {
			t.Fatalf("AH at %d, want %d", al.AH, off)
		}
		off, nh = al.Payload, al.NextHeader
		if p.esp == nil {
			return pkt[off:al.End], nh
		}
	}
	if nh != inet.ProtoESP {
		t.Fatalf("next header %d, want ESP", nh)
	}
	plain, err := p.esp.Open(new(esp.Scratch), pkt[off:], seqHi)
	if err != nil {
		t.Fatalf("peer ESP open: %v", err)
	}
	payload, _, n, err := esp.ParseTrailer(plain)
	if err != nil {
		t.Fatalf("peer trailer: %v", err)
	}
	return payload, n
}

type ipInfo struct {
	hdr   int
	proto byte
}

func parseIP(t testing.TB, f []byte) ipInfo {
	if f[0]>>4 == 6 {
		return ipInfo{40, f[6]}
	}
	return ipInfo{int(f[0]&15) * 4, f[9]}
}

// suitePackets are n UDP packets for an SA's traffic.
func suitePackets(c host.SAConfig, n int) [][]byte {
	src, dst := c.Src.String(), c.Dst.String()
	if c.Mode == host.Tunnel {
		src, dst = "10.1.0.5", "10.2.0.6"
		if c.Src.Is6() {
			src, dst = "2001:db8:10::7", "2001:db8:20::8"
		}
	}
	var pkts [][]byte
	for k := range n {
		pkts = append(pkts, udpPacket(src, dst, k, rtSize(k)+28))
	}
	return pkts
}

// Every suite, IPv4 and IPv6, transport and tunnel: the frames ov2 sends are what an
// independent peer verifies and decrypts to the input (for transport mode, the input's
// payload and protocol), laid out as the NIC engineer's contract says (AH right after the
// IP header, ESP right after AH, the suite's IV and padding); indicated back they are
// delivered byte for byte; indicated again they are replays, counted per SA.
func TestSuitesRoundTrip(t *testing.T) {
	for _, name := range suiteNames {
		for _, v6 := range []bool{false, true} {
			for _, tunnel := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/v6=%v/tunnel=%v", name, v6, tunnel), func(t *testing.T) {
					c := suiteCfg(name, 0x3000, v6, tunnel)
					l := newLoop(t, stage.Config{Lanes: 1}, stage.DeletePolicy{})
					_, in := l.addFlow(t, c)
					pr := peerOf(t, c)
					pkts := suitePackets(c, 40)
					sealed := l.seal(t, pkts)
					for i, f := range sealed {
						checkLayout(t, c, f, i)
						got, nh := pr.open(t, f, 0, 0)
						want, wnh := pkts[i], byte(inet.ProtoIPv4)
						if v6 {
							wnh = inet.ProtoIPv6
						}
						if !tunnel {
							h := parseIP(t, pkts[i])
							want, wnh = pkts[i][h.hdr:], h.proto
						}
						if nh != wnh || !bytes.Equal(got, want) {
							t.Fatalf("packet %d: peer got next header %d and %x, want %d and %x", i, nh, got, wnh, want)
						}
					}
					frames := append(append([][]byte(nil), sealed...), sealed[3], sealed[7])
					rx, vs := l.indicate(t, frames)
					for i, v := range vs {
						want := host.Delivered
						if i >= len(sealed) {
							want = host.Replayed
						}
						if v != want || rx[i].CryptoStatus != ndis.CryptoSuccess {
							t.Fatalf("frame %d: verdict %v, status %v, want %v", i, v, rx[i].CryptoStatus, want)
						}
					}
					st, _ := l.receiver.SAStats(in)
					if st.Packets != uint64(len(sealed)) || st.Replayed != 2 || st.Status[ndis.CryptoSuccess] != uint64(len(sealed)) {
						t.Fatalf("stats %+v", st)
					}
					// Byte for byte, through Receive.
					l2 := newLoop(t, stage.Config{Lanes: 1}, stage.DeletePolicy{})
					l2.addFlow(t, c)
					var bufs []*packet.Buffer
					for _, fr := range sealed {
						b := packet.NewBuffer(packet.SmallSize)
						b.SetData(fr)
						bufs = append(bufs, b)
					}
					l2.recv.Submit(bufs)
					buf := make([]*packet.Buffer, 64)
					for n := 0; n < len(sealed); {
						for _, p := range buf[:l2.recv.Poll(buf)] {
							out, v := l2.receiver.Receive(p, nil)
							if v != host.Delivered || !bytes.Equal(out, pkts[n]) {
								t.Fatalf("packet %d: %v\n got %x\nwant %x", n, v, out, pkts[n])
							}
							n++
						}
					}
				})
			}
		}
	}
}

// checkLayout checks the exact framing of sealed packet i of SA c (sequence number i+1).
func checkLayout(t *testing.T, c host.SAConfig, f []byte, i int) {
	t.Helper()
	ip := parseIP(t, f)
	off := ip.hdr
	v6 := f[0]>>4 == 6
	ahc := c.AH
	if c.Proto == host.AH {
		ahc = &c
	}
	if ahc != nil {
		n := ah.HeaderLen(ahc.Integrity.IVLen(), ahc.Integrity.ICVLen(), v6)
		if ip.proto != ah.Protocol || int(f[off+1]+2)*4 != n || binary.BigEndian.Uint32(f[off+4:]) != ahc.SPI ||
			binary.BigEndian.Uint32(f[off+8:]) != uint32(i+1) {
			t.Fatalf("packet %d: AH header %x (protocol %d), want SPI %#x, length %d, seq %d", i, f[off:off+12], ip.proto, ahc.SPI, n, i+1)
		}
		if c.Proto == host.ESP && f[off] != inet.ProtoESP {
			t.Fatalf("AH next header %d, want ESP", f[off])
		}
		off += n
	}
	if c.Proto == host.AH {
		return
	}
	if binary.BigEndian.Uint32(f[off:]) != c.SPI || binary.BigEndian.Uint32(f[off+4:]) != uint32(i+1) {
		t.Fatalf("packet %d: ESP header %x", i, f[off:off+8])
	}
	icv := c.Integrity.ICVLen()
	if c.Integrity == esp.IntegrityNone {
		icv = 16
	}
	if n := len(f) - off - esp.HeaderLen - c.Alg.IVLen() - icv; n%c.Alg.PadAlign() != 0 {
		t.Fatalf("packet %d: ciphertext of %d bytes is not a multiple of %d", i, n, c.Alg.PadAlign())
	}
}

// ESN across 2^32 for CBC, AH and a bundle: every part's counter crosses, UPDATE_SA for each
// part, the peer verifies with the right high half and the host delivers everything.
func TestSuitesESNCrossing(t *testing.T) {
	for _, name := range []string{"cbc256-sha256", "ah-sha1", "cbc128-sha256+ah-sha1"} {
		t.Run(name, func(t *testing.T) {
			c := suiteCfg(name, 0x3100, false, false)
			c.ESN, c.StartSeq = true, 1<<32-3
			if c.AH != nil {
				c.AH.ESN, c.AH.StartSeq = true, 1<<32-2
			}
			l := newLoop(t, stage.Config{Lanes: 1}, stage.DeletePolicy{})
			_, in := l.addFlow(t, c)
			pr := peerOf(t, c)
			pkts := suitePackets(c, 6)
			sealed := l.sealAsync(t, pkts)
			for i, f := range sealed {
				hi := uint32((c.StartSeq + uint64(i)) >> 32)
				ahHi := hi
				if c.AH != nil {
					ahHi = uint32((c.AH.StartSeq + uint64(i)) >> 32)
				}
				if c.Proto == host.AH {
					ahHi = hi
				}
				got, _ := pr.open(t, f, hi, ahHi)
				if !bytes.Equal(got, pkts[i][20:]) {
					t.Fatalf("packet %d differs", i)
				}
			}
			wantUpd := uint64(1)
			if c.AH != nil {
				wantUpd = 2
			}
			if l.sender.Updates() != wantUpd {
				t.Fatalf("sender UPDATE_SA %d, want %d", l.sender.Updates(), wantUpd)
			}
			_, vs := l.indicate(t, sealed)
			for i, v := range vs {
				if v != host.Delivered {
					t.Fatalf("packet %d: %v", i, v)
				}
			}
			if st, _ := l.receiver.SAStats(in); st.Updates != wantUpd || st.Packets != 6 {
				t.Fatalf("receiver stats %+v, want %d updates", st, wantUpd)
			}
		})
	}
}

// A bundle's parts have their own windows: a packet whose ESP number is new but whose AH
// number was seen is a replay, and the ESP window does not move for it.
func TestBundleReplayPerPart(t *testing.T) {
	c := suiteCfg("gcm128+ah-sha256", 0x3200, false, false)
	l := newLoop(t, stage.Config{Lanes: 1}, stage.DeletePolicy{})
	_, in := l.addFlow(t, c)
	sealed := l.seal(t, suitePackets(c, 3))
	// A second sender whose AH counter restarts at 1 and ESP counter at 10.
	l2 := newLoop(t, stage.Config{Lanes: 1}, stage.DeletePolicy{})
	c2 := c
	c2.StartSeq = 10
	l2.addFlow(t, c2)
	again := l2.seal(t, suitePackets(c, 1))
	_, vs := l.indicate(t, append(sealed, again...))
	want := []host.Verdict{host.Delivered, host.Delivered, host.Delivered, host.Replayed}
	for i := range want {
		if vs[i] != want[i] {
			t.Fatalf("verdicts %v, want %v", vs, want)
		}
	}
	if st, _ := l.receiver.SAStats(in); st.Replayed != 1 || st.Packets != 3 {
		t.Fatalf("stats %+v", st)
	}
}

// A tampered ESP ICV, a tampered AH-covered header field (the IPv4 source address, which AH
// covers and ESP does not), and bad AES-CBC padding behind a valid ICV each give their
// CryptoStatus, the verdict CryptoFailed, and are counted on the SA.
func TestSuiteFaults(t *testing.T) {
	cases := []struct {
		suite  string
		damage func(t *testing.T, c host.SAConfig, f []byte) []byte
		status ndis.CryptoStatus
	}{
		{"cbc128-sha1", func(_ *testing.T, _ host.SAConfig, f []byte) []byte { f[len(f)-1] ^= 1; return f }, ndis.CryptoTransportESPAuthFailed},
		{"null-sha256", func(_ *testing.T, _ host.SAConfig, f []byte) []byte { f[len(f)-3] ^= 0x80; return f }, ndis.CryptoTransportESPAuthFailed},
		{"ah-sha256", func(_ *testing.T, _ host.SAConfig, f []byte) []byte {
			f[12] ^= 1
			inet.IPv4(f[:20]).SetChecksum()
			return f
		}, ndis.CryptoTransportAHAuthFailed},
		{"gcm128+ah-sha256", func(_ *testing.T, _ host.SAConfig, f []byte) []byte { f[len(f)-1] ^= 1; return f }, ndis.CryptoTransportAHAuthFailed},
		{"cbc128-sha1", cbcBadPadding, ndis.CryptoTransportESPAuthFailed},
	}
	for _, tc := range cases {
		t.Run(tc.suite, func(t *testing.T) {
			c := suiteCfg(tc.suite, 0x3300, false, false)
			l := newLoop(t, stage.Config{Lanes: 1}, stage.DeletePolicy{})
			_, in := l.addFlow(t, c)
			sealed := l.seal(t, suitePackets(c, 2))
			sealed[1] = tc.damage(t, c, sealed[1])
			rx, vs := l.indicate(t, sealed)
			if vs[0] != host.Delivered || vs[1] != host.CryptoFailed || rx[1].CryptoStatus != tc.status || !rx[1].CryptoDone {
				t.Fatalf("verdicts %v, OOB %v, want status %v", vs, rx[1], tc.status)
			}
			st, _ := l.receiver.SAStats(in)
			if st.Status[tc.status] != 1 || st.Status[ndis.CryptoSuccess] != 1 || st.Packets != 1 {
				t.Fatalf("stats %+v", st)
			}
			if got := l.receiver.Verdicts(); got[host.CryptoFailed] != 1 || got[host.Delivered] != 1 {
				t.Fatalf("verdicts %v", got)
			}
		})
	}
}

// cbcBadPadding reseals packet f of an AES-CBC SA with padding bytes that are not 1, 2, 3,
// under a valid ICV (the SA's own keys), so that only the padding check fails.
func cbcBadPadding(t *testing.T, c host.SAConfig, f []byte) []byte {
	pr := peerOf(t, c)
	hdr := 20
	payload := udpPacket("192.0.2.1", "198.51.100.1", 5, 60)[20:]
	body := binary.BigEndian.AppendUint32(nil, c.SPI)
	body = binary.BigEndian.AppendUint32(body, 2)
	body = append(body, make([]byte, esp.CBCIVLen)...)
	body = append(body, payload...)
	pad := (16 - (len(payload)+2)%16) % 16
	if pad < 2 {
		pad += 16
	}
	for k := range pad {
		body = append(body, byte(k+1))
	}
	body[len(body)-1], body[len(body)-2] = body[len(body)-2], body[len(body)-1] // two padding bytes swapped
	body = append(body, byte(pad), 17)
	pkt := make([]byte, 0, hdr+len(body)+64)
	pkt = append(append(pkt, f[:hdr]...), body...)
	sealed, err := pr.esp.Seal(new(esp.Scratch), pkt[hdr:], 0)
	if err != nil {
		t.Fatal(err)
	}
	out := append(pkt[:hdr], sealed...)
	binary.BigEndian.PutUint16(out[2:], uint16(len(out)))
	inet.IPv4(out[:20]).SetChecksum()
	return out
}

// Tunnel + transport combined (R-TX-5, R-RX-4): the host frames a packet for a transport SA
// inside a tunnel SA, the NIC seals both parts, the peer opens both, and the host
// decapsulates it to the input, checking both SAs' windows: a replay is refused, counted
// on the SA whose window refused it.
func TestCombinedRoundTrip(t *testing.T) {
	for _, pair := range [][2]string{{"cbc128-sha1", "null-sha256"}, {"gcm128+ah-sha256", "cbc256-sha256"}, {"ah-sha1", "cbc128-sha1"}} {
		for _, v6 := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s-in-%s/v6=%v", pair[0], pair[1], v6), func(t *testing.T) {
				tr := suiteCfg(pair[0], 0x3400, v6, false)
				tu := suiteCfg(pair[1], 0x3500, v6, true)
				tu.Src, tu.Dst = mustAddr("203.0.113.1"), mustAddr("203.0.113.2")
				if v6 {
					tu.Src, tu.Dst = mustAddr("2001:db8:1::1"), mustAddr("2001:db8:2::1")
				}
				l := newLoop(t, stage.Config{Lanes: 1}, stage.DeletePolicy{})
				trOut, trIn := l.addFlow(t, tr)
				tuOut, tuIn := l.addFlow(t, tu)
				pkts := suitePackets(tr, 5)
				for _, p := range pkts {
					if err := l.sender.SendCombined(trOut, tuOut, p, 0); err != nil {
						t.Fatal(err)
					}
				}
				l.sender.Flush()
				var sealed [][]byte
				buf := make([]*packet.Buffer, 64)
				for len(sealed) < len(pkts) {
					for _, p := range buf[:l.send.Poll(buf)] {
						if p.Tx.Failed() {
							t.Fatalf("send failed: %v", p.Tx.Reason)
						}
						sealed = append(sealed, bytes.Clone(p.Bytes()))
						l.sender.Done(p)
					}
				}
				ptu, ptr := peerOf(t, tu), peerOf(t, tr)
				for i, f := range sealed {
					inner, nh := ptu.open(t, f, 0, 0)
					if (nh == inet.ProtoIPv6) != v6 || (nh != inet.ProtoIPv4 && nh != inet.ProtoIPv6) {
						t.Fatalf("tunnel next header %d", nh)
					}
					got, _ := ptr.open(t, inner, 0, 0)
					h := parseIP(t, pkts[i])
					if !bytes.Equal(got, pkts[i][h.hdr:]) {
						t.Fatalf("packet %d: inner payload differs", i)
					}
				}
				rx, vs := l.indicate(t, append(sealed, sealed[2]))
				for i, v := range vs[:len(sealed)] {
					if v != host.Delivered || !rx[i].NextCryptoDone {
						t.Fatalf("packet %d: %v %v", i, v, rx[i])
					}
				}
				if vs[len(sealed)] != host.Replayed {
					t.Fatalf("replay: %v", vs[len(sealed)])
				}
				a, _ := l.receiver.SAStats(tuIn)
				b, _ := l.receiver.SAStats(trIn)
				if a.Packets != 5 || a.Replayed != 1 || b.Replayed != 0 {
					t.Fatalf("tunnel %+v transport %+v", a, b)
				}
				// Byte for byte through ReceiveInPlace.
				l2 := newLoop(t, stage.Config{Lanes: 1}, stage.DeletePolicy{})
				l2.addFlow(t, tr)
				l2.addFlow(t, tu)
				var bufs []*packet.Buffer
				for _, fr := range sealed {
					b := packet.NewBuffer(packet.SmallSize)
					b.SetData(fr)
					bufs = append(bufs, b)
				}
				l2.recv.Submit(bufs)
				for n := 0; n < len(sealed); {
					for _, p := range buf[:l2.recv.Poll(buf)] {
						if v := l2.receiver.ReceiveInPlace(p); v != host.Delivered || !bytes.Equal(p.Bytes(), pkts[n]) {
							t.Fatalf("packet %d: %v\n got %x\nwant %x", n, v, p.Bytes(), pkts[n])
						}
						n++
					}
				}
			})
		}
	}
}

// sealAsync is seal with the completions taken on another goroutine, as a sender that
// crosses 2^32 needs: UPDATE_SA waits until what it submitted has completed.
func (l *loop) sealAsync(t testing.TB, pkts [][]byte) [][]byte {
	t.Helper()
	got := make(chan [][]byte)
	go func() {
		var out [][]byte
		buf := make([]*packet.Buffer, 64)
		for len(out) < len(pkts) {
			for _, p := range buf[:l.send.Poll(buf)] {
				out = append(out, bytes.Clone(p.Bytes()))
				l.sender.Done(p)
			}
		}
		got <- out
	}()
	for _, p := range pkts {
		if err := l.sender.Send(p); err != nil {
			t.Fatal(err)
		}
	}
	l.sender.Flush()
	return <-got
}
