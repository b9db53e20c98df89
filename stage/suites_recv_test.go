package stage_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"runtime"
	"testing"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/internal/inet"
	"github.com/ov2dev/ov2/ndis"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/sa"
	"github.com/ov2dev/ov2/stage"
)

// sealedFor frames a packet for pr and seals it as the peer: the bytes a receive path gets.
func sealedFor(t testing.TB, pr peer, payload []byte, nh byte, seq, ahSeq, seqHi, ahSeqHi uint32) ([]byte, suiteFrame) {
	t.Helper()
	b, f := frameFor(pr, payload, nh, seq, ahSeq, 0)
	pr.seal(t, b.Bytes(), f, seqHi, ahSeqHi)
	return append([]byte(nil), b.Bytes()...), f
}

// payloadAt is where the innermost payload of a suite frame starts once the NIC has
// processed it: after the ESP header and IV, or after AH for AH alone.
func payloadAt(pr peer, f suiteFrame) int {
	if pr.esp != nil {
		return f.espOff + pr.esp.PayloadOffset()
	}
	hdr := 20
	if pr.v6 {
		hdr = 40
	}
	return hdr + pr.ah.HeaderLen(pr.v6)
}

// R-RX-2, R-RX-4, R-RX-6, R-RX-8 for every issue 11 suite: the NIC finds the SA (AH by its
// AH SPI), verifies AH, opens ESP in place, and indicates CRYPTO_SUCCESS with the header
// info the host needs to find the inner packet: the ESP trailer's next header and pad
// length, or for AH alone AH's next header and 0. With ESN it reports the high halves it
// used, for ESP and for AH.
func TestRecvSuites(t *testing.T) {
	suites := append(append([]suiteSpec(nil), allSuites...), suiteCBC256SHA256.withESN(), suiteAHGMAC128.withESN(), suiteNULLAH.withESN())
	for i, s := range suites {
		for _, v6 := range []bool{false, true} {
			for _, nh := range []byte{17, 41} {
				t.Run(fmt.Sprintf("%s/v6=%v/nh=%d", s.name, v6, nh), func(t *testing.T) {
					ctl := sa.NewController(8)
					defer ctl.Close()
					hi := uint32(0)
					if s.esn {
						hi = 9
					}
					h, pr := addSuite(t, ctl, s, uint32(0x5000+i), true, v6, hi)
					payload := bytes.Repeat([]byte{byte(i), 0x3c}, 50+i)
					frame, f := sealedFor(t, pr, payload, nh, 7, 8, hi, hi)
					out, st := indicate(t, stage.Env{SAs: ctl}, frame)
					rx := out[0].Rx
					wantPad := uint8(0)
					if pr.esp != nil {
						wantPad = uint8(pr.esp.PadLen(len(payload)))
					}
					if !rx.CryptoDone || rx.NextCryptoDone || rx.CryptoStatus != ndis.CryptoSuccess || !rx.HeaderInfoSet ||
						rx.NextHeader != nh || rx.PadLength != wantPad || rx.Handle != uint64(h) {
						t.Fatalf("OOB %v, want success nh %d pad %d", rx, nh, wantPad)
					}
					if err := rx.Consistent(); err != nil {
						t.Error(err)
					}
					at := payloadAt(pr, f)
					if got := out[0].Bytes()[at : at+len(payload)]; !bytes.Equal(got, payload) {
						t.Error("payload not in clear in place")
					}
					if pr.ah != nil && rx.AHSeqHi != hi || rx.SeqHi != hi {
						t.Errorf("SeqHi %d AHSeqHi %d, want %d", rx.SeqHi, rx.AHSeqHi, hi)
					}
					if st.Status[ndis.CryptoSuccess] != 1 || !st.Balanced() {
						t.Errorf("stats %+v", st)
					}
					a := ctl.Snapshot().Lookup(h)
					if pr.ah != nil && a.AH.State.RxTop() != uint64(hi)<<32|8 {
						t.Errorf("AH RxTop %#x", a.AH.State.RxTop())
					}
					if pr.esp != nil && a.State.RxTop() != uint64(hi)<<32|7 {
						t.Errorf("ESP RxTop %#x", a.State.RxTop())
					}
				})
			}
		}
	}
}

// withHBH puts an 8-byte Hop-by-Hop header (PadN) between the IPv6 header and what follows.
func withHBH(frame []byte) []byte {
	out := append(append(append([]byte(nil), frame[:40]...), frame[6], 0, 1, 4, 0, 0, 0, 0), frame[40:]...)
	out[6] = 0
	binary.BigEndian.PutUint16(out[4:], uint16(len(out)-40))
	return out
}

// R-RX-3 for AH: AH after IPv6 extension headers (as the receive classifier allows) is
// verified; with IPv6NonIPsecExtensionHeaders not advertised it is indicated unprocessed.
// R-RX-1: with AH disabled, AH packets are indicated unprocessed (SkipAH); an ESP+AH bundle
// also needs ESP enabled (SkipDisabled).
func TestRecvAHExtensionHeadersAndDisabled(t *testing.T) {
	ctl := sa.NewController(8)
	defer ctl.Close()
	_, pr := addSuite(t, ctl, suiteAHGMAC256, 0x5100, true, true, 0)
	b, _ := frameFor(pr, []byte("behind a hop-by-hop header"), 17, 1, 3, 0)
	frame := withHBH(b.Bytes())
	pr.seal(t, frame, suiteFrame{}, 0, 0)
	out, _ := indicate(t, stage.Env{SAs: ctl}, frame)
	if rx := out[0].Rx; !rx.CryptoDone || rx.CryptoStatus != ndis.CryptoSuccess || rx.NextHeader != 17 {
		t.Fatalf("AH after HBH: OOB %v", rx)
	}
	noExt := stage.Env{SAs: ctl, RxCaps: func() stage.RxCaps { return stage.RxCaps{IPv4Options: true, UDPEsp: ^uint32(0)} }}
	out, st := indicate(t, noExt, frame)
	if out[0].Rx != (packet.RxInfo{}) || st.Skipped[stage.SkipUnsupported] != 1 {
		t.Errorf("AH after HBH without the capability: OOB %v stats %+v", out[0].Rx, st)
	}

	_, prB := addSuite(t, ctl, suiteCBCAH, 0x5101, true, false, 0)
	bundle, _ := sealedFor(t, prB, []byte("bundle"), 17, 1, 1, 0, 0)
	ahFrame, _ := sealedFor(t, pr, []byte("ah"), 17, 1, 2, 0, 0)
	ahOff := stage.Env{SAs: ctl, AHAllowed: func(bool) bool { return false }}
	out, st = indicate(t, ahOff, ahFrame, bundle)
	if out[0].Rx != (packet.RxInfo{}) || out[1].Rx != (packet.RxInfo{}) || st.Skipped[stage.SkipAH] != 2 ||
		!bytes.Equal(out[0].Bytes(), ahFrame) {
		t.Errorf("AH disabled: OOB %v / %v stats %+v", out[0].Rx, out[1].Rx, st)
	}
	espOff := stage.Env{SAs: ctl, ESPAllowed: func(bool) bool { return false }}
	out, st = indicate(t, espOff, ahFrame, bundle)
	if !out[0].Rx.CryptoDone || out[1].Rx != (packet.RxInfo{}) || st.Skipped[stage.SkipDisabled] != 1 {
		t.Errorf("ESP disabled: AH alone %v, bundle %v, stats %+v", out[0].Rx, out[1].Rx, st)
	}
}

// R-RX-4, R-RX-5 (issue 11 acceptance): every CryptoStatus the receive path can now reach,
// each counted once, with the failing packets indicated as they arrived. A tampered ICV
// (AH, AES-CBC, NULL), a tampered field AH covers, and bad AES-CBC padding behind a valid
// ICV each give the right status; a mutable field changed on the way does not.
// CRYPTO_GENERIC_ERROR (1) is not reachable: it is what a transform used after DELETE_SA
// would report, and the SA table's grace period makes that impossible (R-SA-5).
func TestRecvCryptoStatusTable(t *testing.T) {
	ctl := sa.NewController(16)
	defer ctl.Close()
	hCBC, cbc := addSuite(t, ctl, suiteCBC128SHA1, 0x5200, true, false, 0)
	_, null := addSuite(t, ctl, suiteNULLSHA256, 0x5201, true, false, 0)
	hAH, ahT := addSuite(t, ctl, suiteAHSHA256, 0x5202, true, false, 0)
	_, ah6 := addSuite(t, ctl, suiteAHSHA1, 0x5203, true, true, 0)
	_, tun := addSuite(t, ctl, suiteCBC256SHA256, 0x5204, true, false, 0)
	hB, bun := addSuite(t, ctl, suiteCBCAH, 0x5205, true, false, 0)
	payload := bytes.Repeat([]byte("status!"), 9)

	type tc struct {
		name  string
		frame []byte
		want  ndis.CryptoStatus
	}
	var cases []tc
	add := func(name string, frame []byte, want ndis.CryptoStatus) { cases = append(cases, tc{name, frame, want}) }
	mut := func(f []byte, fn func([]byte)) []byte { c := append([]byte(nil), f...); fn(c); return c }

	good, _ := sealedFor(t, cbc, payload, 17, 1, 0, 0, 0)
	add("AES-CBC verified", good, ndis.CryptoSuccess)
	add("AES-CBC ICV tampered", mut(good, func(f []byte) { f[len(f)-1] ^= 1 }), ndis.CryptoTransportESPAuthFailed)
	add("AES-CBC ciphertext tampered", mut(good, func(f []byte) { f[50] ^= 0x80 }), ndis.CryptoTransportESPAuthFailed)
	// Bad padding behind a valid ICV: the peer seals a trailer whose padding is not 1, 2, 3...
	bp, bf := frameFor(cbc, payload, 17, 2, 0, 0)
	pb := bp.Bytes()
	pb[len(pb)-cbc.esp.ICVLen()-3] ^= 0x40 // the last padding byte
	cbc.seal(t, pb, bf, 0, 0)
	add("AES-CBC bad padding, valid ICV", pb, ndis.CryptoTransportESPAuthFailed)
	add("AES-CBC not whole blocks", mut(good, func(f []byte) {
		ipv4(f, len(f)-4, 50, "192.0.2.9", "198.51.100.1")
	})[:len(good)-4], ndis.CryptoInvalidPacketSyntax)
	ng, _ := sealedFor(t, null, payload, 17, 1, 0, 0, 0)
	add("NULL ICV tampered", mut(ng, func(f []byte) { f[len(f)-5] ^= 1 }), ndis.CryptoTransportESPAuthFailed)
	add("NULL payload tampered", mut(ng, func(f []byte) { f[30] ^= 1 }), ndis.CryptoTransportESPAuthFailed)

	ag, _ := sealedFor(t, ahT, payload, 17, 0, 1, 0, 0)
	add("AH verified", ag, ndis.CryptoSuccess)
	add("AH mutable TTL and TOS changed", mut(ag, func(f []byte) { f[8]--; f[1] = 0xb8; inet.IPv4(f[:20]).SetChecksum() }), ndis.CryptoSuccess)
	add("AH ICV tampered", mut(ag, func(f []byte) { f[20+12] ^= 1 }), ndis.CryptoTransportAHAuthFailed)
	add("AH covered source address tampered", mut(ag, func(f []byte) { f[15] ^= 1; inet.IPv4(f[:20]).SetChecksum() }), ndis.CryptoTransportAHAuthFailed)
	add("AH covered identification tampered", mut(ag, func(f []byte) { f[5] ^= 1; inet.IPv4(f[:20]).SetChecksum() }), ndis.CryptoTransportAHAuthFailed)
	add("AH payload tampered", mut(ag, func(f []byte) { f[len(f)-1] ^= 1 }), ndis.CryptoTransportAHAuthFailed)
	add("AH length not the SA's", mut(ag, func(f []byte) { f[21] = 4 }), ndis.CryptoInvalidPacketSyntax)
	add("AH payload length 0", mut(ag, func(f []byte) { f[21] = 0 }), ndis.CryptoInvalidPacketSyntax)
	a6, _ := sealedFor(t, ah6, payload, 17, 0, 1, 0, 0)
	add("AH IPv6 flow label changed", mut(a6, func(f []byte) { f[3] ^= 0xff }), ndis.CryptoSuccess)
	add("AH IPv6 covered source tampered", mut(a6, func(f []byte) { f[20] ^= 1 }), ndis.CryptoTransportAHAuthFailed)
	at, _ := sealedFor(t, ahT, payload, 4, 0, 2, 0, 0)
	add("AH tunnel ICV tampered", mut(at, func(f []byte) { f[20+20] ^= 1 }), ndis.CryptoTunnelAHAuthFailed)

	tg, _ := sealedFor(t, tun, payload, 4, 1, 0, 0, 0) // learns that the SA is a tunnel SA
	add("ESP tunnel verified", tg, ndis.CryptoSuccess)
	tb, _ := sealedFor(t, tun, payload, 4, 2, 0, 0, 0)
	add("ESP tunnel ICV tampered", mut(tb, func(f []byte) { f[len(f)-2] ^= 1 }), ndis.CryptoTunnelESPAuthFailed)

	bg, _ := sealedFor(t, bun, payload, 17, 1, 1, 0, 0)
	add("ESP+AH verified", bg, ndis.CryptoSuccess)
	add("ESP+AH: AH ICV tampered", mut(bg, func(f []byte) { f[20+12] ^= 1 }), ndis.CryptoTransportAHAuthFailed)
	// ESP tampered under a valid AH: the peer breaks ESP's ICV before AH covers it.
	eb, ef := frameFor(bun, payload, 17, 2, 2, 0)
	ebb := eb.Bytes()
	bun.esp.Seal(new(esp.Scratch), ebb[ef.espOff:len(ebb)-bun.esp.ICVLen()], 0)
	ebb[len(ebb)-1] ^= 1
	ahOnly := peer{ah: bun.ah, ahSPI: bun.ahSPI}
	ahOnly.seal(t, ebb, ef, 0, 0)
	add("ESP+AH: ESP ICV tampered under a valid AH", ebb, ndis.CryptoTransportESPAuthFailed)
	noESP, _ := sealedFor(t, ahOnly, payload, 17, 0, 3, 0, 0)
	add("ESP+AH SA, AH without ESP", noESP, ndis.CryptoInvalidProtocol)
	ws, wf := frameFor(bun, payload, 17, 3, 4, 0)
	wsb := ws.Bytes()
	binary.BigEndian.PutUint32(wsb[wf.espOff:], 0x77777777) // ESP of another SPI inside the bundle's AH
	bun.seal(t, wsb, wf, 0, 0)
	add("ESP+AH SA, ESP of another SPI", wsb, ndis.CryptoInvalidProtocol)

	frames := make([][]byte, len(cases))
	for i, c := range cases {
		frames[i] = c.frame
	}
	out, st := indicate(t, stage.Env{SAs: ctl}, frames...)
	want := map[ndis.CryptoStatus]uint64{}
	for i, c := range cases {
		want[c.want]++
		rx := out[i].Rx
		if !rx.CryptoDone || rx.CryptoStatus != c.want || rx.NextCryptoDone {
			t.Errorf("%s: OOB %v, want %v", c.name, rx, c.want)
		}
		if err := rx.Consistent(); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if c.want != ndis.CryptoSuccess && !bytes.Equal(out[i].Bytes(), c.frame) {
			t.Errorf("%s: a failed packet was not indicated as it arrived", c.name)
		}
	}
	for s := ndis.CryptoSuccess; s <= ndis.CryptoInvalidProtocol; s++ {
		if st.Status[s] != want[s] {
			t.Errorf("%v counted %d times, want %d", s, st.Status[s], want[s])
		}
		if s != ndis.CryptoGenericError && want[s] == 0 {
			t.Errorf("%v not covered", s)
		}
	}
	if !st.Balanced() {
		t.Errorf("stats %+v", st)
	}
	tbl := ctl.Snapshot()
	if n := tbl.Lookup(hCBC).State.AuthFailures.Load(); n != 3 {
		t.Errorf("AES-CBC SA counted %d auth failures, want 3", n)
	}
	if n := tbl.Lookup(hAH).AH.State.AuthFailures.Load(); n != 5 {
		t.Errorf("AH SA counted %d auth failures, want 5", n)
	}
	if a := tbl.Lookup(hB); a.AH.State.AuthFailures.Load() != 1 || a.State.AuthFailures.Load() != 1 {
		t.Errorf("bundle auth failures AH %d ESP %d, want 1 and 1", a.AH.State.AuthFailures.Load(), a.State.AuthFailures.Load())
	}
}

// R-RX-4: tunnel + transport combined with the new suites: an AES-CBC tunnel SA carrying an
// inner IP packet protected by AH alone. Both parts checked (NextCryptoDone); the inner
// AH's failure is the transport AH status (2), with NextCryptoDone still set.
func TestRecvCombinedCBCTunnelAHInner(t *testing.T) {
	ctl := sa.NewController(8)
	defer ctl.Close()
	_, outer := addSuite(t, ctl, suiteCBC192SHA256, 0x5300, true, false, 0)
	_, inner := addSuite(t, ctl, suiteAHSHA256, 0x5301, true, false, 0)
	payload := []byte("the innermost UDP datagram")
	in, _ := sealedFor(t, inner, payload, 17, 0, 5, 0, 0)
	good, f := sealedFor(t, outer, in, 4, 9, 0, 0, 0)
	bad := append([]byte(nil), in...)
	bad[len(bad)-1] ^= 1
	badFrame, _ := sealedFor(t, outer, bad, 4, 10, 0, 0, 0)
	out, st := indicate(t, stage.Env{SAs: ctl}, good, badFrame)
	rx := out[0].Rx
	if !rx.CryptoDone || !rx.NextCryptoDone || rx.CryptoStatus != ndis.CryptoSuccess || rx.NextHeader != 17 || rx.PadLength != 0 {
		t.Fatalf("combined: OOB %v", rx)
	}
	at := f.espOff + outer.esp.PayloadOffset()
	if got := out[0].Bytes()[at : at+len(in)]; !bytes.Equal(got, in) {
		t.Error("inner packet not decrypted in place")
	}
	rx = out[1].Rx
	if !rx.CryptoDone || !rx.NextCryptoDone || rx.CryptoStatus != ndis.CryptoTransportAHAuthFailed || rx.HeaderInfoSet {
		t.Errorf("inner AH failure: OOB %v", rx)
	}
	if st.NextCryptoDone != 2 || st.Status[ndis.CryptoTransportAHAuthFailed] != 1 {
		t.Errorf("stats %+v", st)
	}
}

// Zero allocations per packet on the receive path for every new suite (issue acceptance).
func TestRecvSuitesZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own; this test runs in the non-race pass")
	}
	for i, s := range allSuites {
		t.Run(s.name, func(t *testing.T) {
			ctl := sa.NewController(8)
			defer ctl.Close()
			_, pr := addSuite(t, ctl, s, uint32(0x5400+i), true, i%2 == 0, 0)
			sealed, _ := sealedFor(t, pr, make([]byte, 1300), 17, 3, 3, 0, 0)
			path, err := stage.NewRecvPath(stage.Env{SAs: ctl}, stage.Config{})
			if err != nil {
				t.Fatal(err)
			}
			const burst = 32
			pkts := make([]*packet.Buffer, burst)
			for k := range pkts {
				pkts[k] = packet.NewBuffer(packet.SmallSize)
			}
			back := make([]*packet.Buffer, burst)
			round := func() {
				for _, p := range pkts {
					p.SetData(sealed)
				}
				path.Submit(pkts)
				for got := 0; got < burst; {
					got += path.Poll(back[got:])
				}
			}
			for range 100 {
				round()
			}
			const rounds = 1000
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for range rounds {
				round()
			}
			runtime.ReadMemStats(&after)
			per := float64(after.Mallocs-before.Mallocs) / float64(rounds*burst)
			if per >= 0.001 {
				t.Errorf("%.5f allocations per packet, want 0", per)
			}
			if st := path.Stats(); st.Status[ndis.CryptoSuccess] != uint64((100+rounds)*burst) {
				t.Errorf("stats %+v", st)
			}
			path.Close()
			for {
				if _, err := path.Completions(back); err != nil {
					break
				}
			}
		})
	}
}
