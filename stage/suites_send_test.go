package stage_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"runtime"
	"testing"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/ndis"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/sa"
	"github.com/ov2dev/ov2/stage"
)

// R-TX-4 for every issue 11 suite, IPv4 and IPv6, transport and tunnel mode: the NIC seals
// what the host framed and the peer's independent transforms open it. AES-CBC gets a fresh
// IV per packet (two packets with the same bytes differ), NULL leaves the payload in clear,
// AH leaves everything in clear and its ICV covers the datagram, an ESP+AH bundle has ESP
// sealed inside AH. With ESN the high halves (each part its own) are authenticated.
func TestSendSuites(t *testing.T) {
	suites := append(append([]suiteSpec(nil), allSuites...), suiteCBC128SHA1.withESN(), suiteAHSHA256.withESN(), suiteCBCAH.withESN())
	for i, s := range suites {
		for _, v6 := range []bool{false, true} {
			for _, nh := range []byte{17, 4} {
				name := fmt.Sprintf("%s/v6=%v/nh=%d", s.name, v6, nh)
				t.Run(name, func(t *testing.T) {
					r := newRig(t, stage.SendConfig{})
					hi := uint32(0)
					if s.esn {
						hi = 5
					}
					h, pr := addSuite(t, r.ctl, s, uint32(0x4000+i), false, v6, hi)
					payload := bytes.Repeat([]byte{byte(i), 0xa5, byte(nh)}, 33)
					p1, f := frameFor(pr, payload, nh, 10, 20, h)
					p2, _ := frameFor(pr, payload, nh, 10, 20, h) // the same bytes again
					r.run([]*packet.Buffer{p1, p2})
					for _, p := range []*packet.Buffer{p1, p2} {
						if p.Tx.Failed() {
							t.Fatalf("send failed: %v", p.Tx.Reason)
						}
						got, gotNH := pr.open(t, p.Bytes(), f, hi, hi)
						if !bytes.Equal(got, payload) || gotNH != nh {
							t.Fatalf("payload or next header %d differs", gotNH)
						}
					}
					b1, b2 := p1.Bytes(), p2.Bytes()
					switch {
					case pr.esp != nil && pr.esp.Alg() == esp.AESCBC:
						iv := f.espOff + esp.HeaderLen
						if bytes.Equal(b1[iv:iv+16], b2[iv:iv+16]) {
							t.Error("two AES-CBC packets got the same IV")
						}
					case pr.esp != nil && pr.esp.Alg() == esp.NULL:
						if !bytes.Contains(b1, payload) {
							t.Error("NULL: the payload is not in clear")
						}
					case pr.esp == nil:
						if !bytes.Equal(b1[len(b1)-len(payload):], payload) {
							t.Error("AH: the payload is not in clear")
						}
					}
					st := r.path.Stats()
					if st.Sealed != 2 || !st.Balanced() {
						t.Errorf("stats %+v", st)
					}
				})
			}
		}
	}
}

// R-TX-4 (AH), R-TX-3: what the host framed must fit the SA, or the packet fails alone with
// ReasonMalformed: an AH header of the wrong length or SPI, an AhHeaderOffset for an SA
// without AH (or none for one with AH), ESP in front of AH, AES-CBC payload not in whole
// blocks, a protocol field that does not lead to AH.
func TestSendSuiteFramingErrors(t *testing.T) {
	r := newRig(t, stage.SendConfig{})
	hAH, prAH := addSuite(t, r.ctl, suiteAHSHA256, 0x4100, false, false, 0)
	hCBC, prCBC := addSuite(t, r.ctl, suiteCBC128SHA1, 0x4101, false, false, 0)
	hB, prB := addSuite(t, r.ctl, suiteGCMAH, 0x4102, false, false, 0)
	payload := []byte("some payload bytes")
	type tc struct {
		name string
		p    *packet.Buffer
		want packet.Reason
	}
	var cases []tc
	add := func(name string, p *packet.Buffer, f func(b *packet.Buffer), want packet.Reason) {
		f(p)
		cases = append(cases, tc{name, p, want})
	}
	ah, _ := frameFor(prAH, payload, 17, 1, 1, hAH)
	add("AH length", ah, func(b *packet.Buffer) { b.Bytes()[21]-- }, packet.ReasonMalformed)
	ah2, _ := frameFor(prAH, payload, 17, 1, 1, hAH)
	add("AH SPI", ah2, func(b *packet.Buffer) { b.Bytes()[27]++ }, packet.ReasonMalformed)
	ah3, _ := frameFor(prAH, payload, 17, 1, 1, hAH)
	add("AH offset missing", ah3, func(b *packet.Buffer) { b.Tx.AhHeaderOffset = 0; b.Tx.EspHeaderOffset = 5 }, packet.ReasonMalformed)
	ah4, _ := frameFor(prAH, payload, 17, 1, 1, hAH)
	add("IP protocol not AH", ah4, func(b *packet.Buffer) {
		f := b.Bytes()
		f[9] = 17
		ipv4(f, len(f), 17, "192.0.2.9", "198.51.100.1")
	}, packet.ReasonMalformed)
	cbc, _ := frameFor(prCBC, payload, 17, 1, 1, hCBC)
	add("AH offset for ESP SA", cbc, func(b *packet.Buffer) { b.Tx.AhHeaderOffset = 5 }, packet.ReasonMalformed)
	cbc2, _ := frameFor(prCBC, payload, 17, 1, 1, hCBC)
	add("CBC not whole blocks", cbc2, func(b *packet.Buffer) {
		f := b.Bytes()
		b.SetLen(len(f) - 4)
		ipv4(b.Bytes(), len(f)-4, 50, "192.0.2.9", "198.51.100.1")
	}, packet.ReasonMalformed)
	bun, f := frameFor(prB, payload, 17, 1, 1, hB)
	add("ESP before AH", bun, func(b *packet.Buffer) {
		b.Tx.AhHeaderOffset, b.Tx.EspHeaderOffset = uint8(f.espOff/4), uint8(f.ahOff/4)
	}, packet.ReasonMalformed)
	bun2, _ := frameFor(prB, payload, 17, 1, 1, hB)
	add("bundle without ESP offset", bun2, func(b *packet.Buffer) { b.Tx.EspHeaderOffset = 0 }, packet.ReasonMalformed)
	good, gf := frameFor(prB, payload, 17, 2, 3, hB)
	cases = append(cases, tc{"good bundle", good, packet.ReasonNone})
	var pkts []*packet.Buffer
	for _, c := range cases {
		pkts = append(pkts, c.p)
	}
	r.run(pkts)
	for _, c := range cases {
		if c.p.Tx.Reason != c.want || (c.want != packet.ReasonNone) != (c.p.Tx.Status == ndis.StatusFailure) {
			t.Errorf("%s: status %v reason %v, want %v", c.name, c.p.Tx.Status, c.p.Tx.Reason, c.want)
		}
	}
	if got, _ := prB.open(t, good.Bytes(), gf, 0, 0); !bytes.Equal(got, payload) {
		t.Error("good bundle packet does not open")
	}
	if st := r.path.Stats(); st.Failed[packet.ReasonMalformed] != uint64(len(cases)-1) || !st.Balanced() {
		t.Errorf("stats %+v", st)
	}
}

// R-TX-1 for AH: with AH offload disabled, an AH packet (and an ESP+AH one) leaves as framed,
// while ESP alone is still sealed; R-TX-8 for AH's own sequence space.
func TestSendAHDisabledAndSeq(t *testing.T) {
	ahOn := true
	r := newRig(t, stage.SendConfig{})
	path, err := stage.NewSendPath(stage.Env{SAs: r.ctl, AHAllowed: func(bool) bool { return ahOn }}, stage.SendConfig{})
	if err != nil {
		t.Fatal(err)
	}
	r.path.Close()
	r.path.Wait()
	r.path = path
	hAH, prAH := addSuite(t, r.ctl, suiteAHSHA1, 0x4200, false, false, 0)
	hB, prB := addSuite(t, r.ctl, suiteCBCAH, 0x4201, false, false, 0)
	hE, prE := addSuite(t, r.ctl, suiteNULLSHA256, 0x4202, false, false, 0)
	ahOn = false
	a, _ := frameFor(prAH, []byte("x"), 17, 1, 1, hAH)
	b, _ := frameFor(prB, []byte("y"), 17, 1, 1, hB)
	e, ef := frameFor(prE, []byte("z"), 17, 1, 1, hE)
	before := [][]byte{append([]byte(nil), a.Bytes()...), append([]byte(nil), b.Bytes()...)}
	r.run([]*packet.Buffer{a, b, e})
	for i, p := range []*packet.Buffer{a, b} {
		if p.Tx.Failed() || !bytes.Equal(p.Bytes(), before[i]) {
			t.Errorf("packet %d with AH disabled: reason %v, changed %v", i, p.Tx.Reason, !bytes.Equal(p.Bytes(), before[i]))
		}
	}
	if got, _ := prE.open(t, e.Bytes(), ef, 0, 0); string(got) != "z" {
		t.Error("ESP alone not sealed")
	}
	if st := r.path.Stats(); st.Clear != 2 || st.Sealed != 1 {
		t.Errorf("stats %+v", st)
	}

	ahOn = true
	r2 := newRig(t, stage.SendConfig{})
	hX, prX := addSuite(t, r2.ctl, suiteAHSHA256, 0x4210, false, false, 0)
	hY, prY := addSuite(t, r2.ctl, suiteAHGMAC128.withESN(), 0x4211, false, false, 0)
	x, _ := frameFor(prX, []byte("x"), 17, 1, 0, hX) // AH low half 0 without ESN: the counter cycled
	y, _ := frameFor(prY, []byte("y"), 17, 1, 0, hY) // with ESN and high half 0: the number 0
	r2.run([]*packet.Buffer{x, y})
	for _, p := range []*packet.Buffer{x, y} {
		if p.Tx.Reason != packet.ReasonSeqExhausted {
			t.Errorf("reason %v, want seq-exhausted", p.Tx.Reason)
		}
	}
}

// Zero allocations per packet on the send path for every new suite (issue acceptance), in
// the steady state of TestSendZeroAllocs.
func TestSendSuitesZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own; this test runs in the non-race pass")
	}
	for i, s := range allSuites {
		t.Run(s.name, func(t *testing.T) {
			r := newRig(t, stage.SendConfig{Lanes: 1})
			h, pr := addSuite(t, r.ctl, s, uint32(0x4300+i), false, i%2 == 1, 0)
			const burst = 32
			pkts := make([]*packet.Buffer, burst)
			var f suiteFrame
			for k := range pkts {
				pkts[k], f = frameFor(pr, make([]byte, 1200), 17, uint32(k+1), uint32(k+1), h)
			}
			back := make([]*packet.Buffer, burst)
			round := func(seq uint32) {
				for k, p := range pkts {
					fr := p.Bytes()
					if f.espOff != 0 {
						binary.BigEndian.PutUint32(fr[f.espOff+4:], seq+uint32(k))
					}
					if f.ahOff != 0 {
						binary.BigEndian.PutUint32(fr[f.ahOff+8:], seq+uint32(k))
					}
				}
				r.path.Submit(pkts)
				for got := 0; got < burst; {
					got += r.path.Poll(back[got:])
				}
			}
			for k := range 100 {
				round(uint32(1 + k*burst))
			}
			const rounds = 1000
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for k := range rounds {
				round(uint32(1 + (100+k)*burst))
			}
			runtime.ReadMemStats(&after)
			per := float64(after.Mallocs-before.Mallocs) / float64(rounds*burst)
			if per >= 0.001 {
				t.Errorf("%.5f allocations per packet, want 0", per)
			}
			if st := r.path.Stats(); st.Sealed != uint64((100+rounds)*burst) {
				t.Errorf("stats %+v", st)
			}
			r.path.Close()
			for {
				if _, err := r.path.Completions(back); err != nil {
					break
				}
			}
		})
	}
}

// R-TX-5 with AH (issue 11): combined transport+tunnel packets where either SA has AH. The
// transport part (its ESP, then its AH over the inner packet) is protected first, then the
// tunnel part (its ESP, then its AH over the whole frame). The peer unwraps the tunnel part
// and then the transport part; the same frame through a receive path with the inbound SAs
// checks both parts (NextCryptoDone).
func TestSendCombinedAH(t *testing.T) {
	cases := []struct {
		name              string
		tunnel, transport suiteSpec
	}{
		{"CBC tunnel, AH transport", suiteCBC256SHA256, suiteAHSHA1},
		{"GCM+AH tunnel, NULL transport", suiteGCMAH, suiteNULLSHA1},
		{"AH tunnel, CBC transport", suiteAHSHA256, suiteCBC128SHA1},
		{"CBC+AH tunnel, AH-GMAC transport", suiteCBCAH, suiteAHGMAC128},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t, stage.SendConfig{})
			spiT, spiX := uint32(0x4500+2*i), uint32(0x4501+2*i)
			ht, prT := addSuite(t, r.ctl, c.tunnel, spiT, false, false, 0)
			hx, prX := addSuite(t, r.ctl, c.transport, spiX, false, false, 0)
			payload := bytes.Repeat([]byte{0xc0, byte(i)}, 41)
			in, fIn := frameFor(prX, payload, 17, 3, 4, hx)
			inner := append([]byte(nil), in.Bytes()...)
			b, fOut := frameFor(prT, inner, 4, 5, 6, ht)
			at := payloadAt(prT, fOut) // where the inner packet starts
			b.Tx = packet.TxInfo{OffloadHandle: uint64(hx), TunnelHandle: uint64(ht)}
			if fIn.espOff != 0 {
				b.Tx.EspHeaderOffset = uint8((at + fIn.espOff) / 4)
			}
			if fIn.ahOff != 0 {
				b.Tx.AhHeaderOffset = uint8((at + fIn.ahOff) / 4)
			}
			r.run([]*packet.Buffer{b})
			if b.Tx.Failed() {
				t.Fatalf("send failed: %v", b.Tx.Reason)
			}
			sealed := append([]byte(nil), b.Bytes()...)
			gotInner, nh := prT.open(t, sealed, fOut, 0, 0)
			if nh != 4 || len(gotInner) != len(inner) {
				t.Fatalf("tunnel part: next header %d, %d bytes", nh, len(gotInner))
			}
			got, nh := prX.open(t, gotInner, fIn, 0, 0)
			if nh != 17 || !bytes.Equal(got, payload) {
				t.Fatalf("transport part: next header %d, payload differs", nh)
			}

			rx := sa.NewController(8)
			defer rx.Close()
			addSuite(t, rx, c.tunnel, spiT, true, false, 0)
			addSuite(t, rx, c.transport, spiX, true, false, 0)
			out, st := indicate(t, stage.Env{SAs: rx}, sealed)
			o := out[0].Rx
			if !o.CryptoDone || !o.NextCryptoDone || o.CryptoStatus != ndis.CryptoSuccess || o.NextHeader != 17 || st.NextCryptoDone != 1 {
				t.Fatalf("receive path: OOB %v", o)
			}
			if p := at + payloadAt(prX, fIn); !bytes.Equal(out[0].Bytes()[p:p+len(payload)], payload) {
				t.Error("receive path: payload not in clear in place")
			}
		})
	}
}
