package stage_test

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/ndis"
	"github.com/ov2dev/ov2/packet"
	"github.com/ov2dev/ov2/sa"
	"github.com/ov2dev/ov2/stage"
)

// combinedFrame seals a tunnel + transport combined packet (both AES-GCM-128, ICV 16,
// destination 198.51.100.1 inside and out) through a send path and returns its bytes.
func combinedFrame(t testing.TB, spiX, spiT uint32, payload []byte) []byte {
	r := newRig(t, stage.SendConfig{})
	hx, _ := r.addPair(spiX, esp.AESGCM, 16, 16, 0, false)
	ht, _ := r.addPair(spiT, esp.AESGCM, 16, 16, 0, false)
	padI := esp.PadLen(len(payload))
	innerLen := 20 + 16 + len(payload) + padI + 2 + 16
	padO := esp.PadLen(innerLen)
	n := 20 + 16 + innerLen + padO + 2 + 16
	b := packet.NewBuffer(packet.SmallSize)
	f := b.Append(n)
	ipv4(f, n, 50, "203.0.113.1", "198.51.100.1")
	esp.PutHeader(f[20:], spiT, 5)
	in := f[36 : 36+innerLen]
	ipv4(in, innerLen, 50, "10.0.0.1", "198.51.100.1")
	esp.PutHeader(in[20:], spiX, 6)
	copy(in[36:], payload)
	esp.AppendTrailer(in[36+len(payload):36+len(payload)], padI, 17)
	esp.AppendTrailer(f[36+innerLen:36+innerLen], padO, 4)
	b.Tx.OffloadHandle, b.Tx.TunnelHandle = uint64(hx), uint64(ht)
	b.Tx.EspHeaderOffset = (36 + 20) / 4
	r.run([]*packet.Buffer{b})
	if b.Tx.Failed() {
		t.Fatal(b.Tx.Reason)
	}
	return append([]byte(nil), b.Bytes()...)
}

// indicate runs frames through a one-lane receive path and returns the indicated buffers.
func indicate(t testing.TB, env stage.Env, frames ...[]byte) ([]*packet.Buffer, stage.RecvStats) {
	t.Helper()
	path, err := stage.NewRecvPath(env, stage.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var in []*packet.Buffer
	for _, f := range frames {
		b := packet.NewBuffer(packet.SmallSize)
		if err := b.SetData(f); err != nil {
			t.Fatal(err)
		}
		in = append(in, b)
	}
	path.Submit(in)
	var out []*packet.Buffer
	buf := make([]*packet.Buffer, 64)
	for len(out) < len(in) {
		out = append(out, buf[:path.Poll(buf)]...)
	}
	st := path.Stats()
	path.Close()
	for {
		if _, err := path.Completions(buf); err != nil {
			break
		}
	}
	path.Wait()
	return out, st
}

// R-RX-4, R-RX-6: tunnel + transport combined. Both parts checked: CryptoDone and
// NextCryptoDone, success, and the header info of the transport part; if the transport
// SA's key is wrong, the transport part fails (status 3) with NextCryptoDone still set.
func TestRecvCombined(t *testing.T) {
	payload := bytes.Repeat([]byte("inner"), 20)
	frame := combinedFrame(t, 0x300, 0x301, payload)
	ctl := sa.NewController(8)
	defer ctl.Close()
	addInbound(t, ctl, 0x300)
	addInbound(t, ctl, 0x301)
	out, st := indicate(t, stage.Env{SAs: ctl}, frame)
	rx := out[0].Rx
	if !rx.CryptoDone || !rx.NextCryptoDone || rx.CryptoStatus != ndis.CryptoSuccess || !rx.HeaderInfoSet ||
		rx.NextHeader != 17 || st.NextCryptoDone != 1 {
		t.Fatalf("OOB %v stats %+v", rx, st)
	}
	// The payload is decrypted in place: outer header 20, tunnel ESP 16, inner IP 20, ESP 16.
	if got := out[0].Bytes()[72 : 72+len(payload)]; !bytes.Equal(got, payload) {
		t.Error("inner payload not decrypted in place")
	}

	// The inner SA known with another key: its part fails, NextCryptoDone still set.
	ctl2 := sa.NewController(8)
	defer ctl2.Close()
	addInbound(t, ctl2, 0x301)
	addInboundKey(t, ctl2, 0x300, keyFor(0x12345, 16))
	out, st = indicate(t, stage.Env{SAs: ctl2}, frame)
	rx = out[0].Rx
	if !rx.CryptoDone || !rx.NextCryptoDone || rx.CryptoStatus != ndis.CryptoTransportESPAuthFailed ||
		rx.HeaderInfoSet || st.Status[ndis.CryptoTransportESPAuthFailed] != 1 {
		t.Fatalf("inner failure: OOB %v stats %+v", rx, st)
	}
	if err := rx.Consistent(); err != nil {
		t.Error(err)
	}
}

// R-RX-1, R-RX-2, R-RX-5: with ESP offload disabled, or no SA for the SPI, the packet is
// indicated untouched with both done flags 0, and counted with its reason.
func TestRecvNotProcessed(t *testing.T) {
	ctl := sa.NewController(8)
	defer ctl.Close()
	tr := addInbound(t, ctl, 0x400)
	frame := sealedFrame(tr, 0x400, 9, 200)
	off := stage.Env{SAs: ctl, ESPAllowed: func(bool) bool { return false }}
	out, st := indicate(t, off, frame)
	if out[0].Rx != (packet.RxInfo{}) || !bytes.Equal(out[0].Bytes(), frame) || st.Skipped[stage.SkipDisabled] != 1 {
		t.Errorf("offload disabled: OOB %v, stats %+v", out[0].Rx, st)
	}
	other := sealedFrame(tr, 0x400, 9, 200)
	other[20+3] ^= 1 // another SPI
	out, st = indicate(t, stage.Env{SAs: ctl}, other, frame)
	if out[0].Rx != (packet.RxInfo{}) || st.Skipped[stage.SkipNoSA] != 1 || st.Status[ndis.CryptoSuccess] != 1 || !st.Balanced() {
		t.Errorf("no SA: OOB %v, stats %+v", out[0].Rx, st)
	}
}

// Zero allocations per packet on the receive path in steady state (issue acceptance).
func TestRecvZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own; this test runs in the non-race pass")
	}
	ctl := sa.NewController(8)
	defer ctl.Close()
	tr := addInbound(t, ctl, 0x500)
	sealed := sealedFrame(tr, 0x500, 3, 600)
	path, err := stage.NewRecvPath(stage.Env{SAs: ctl}, stage.Config{})
	if err != nil {
		t.Fatal(err)
	}
	const burst = 32
	pkts := make([]*packet.Buffer, burst)
	for i := range pkts {
		pkts[i] = packet.NewBuffer(packet.SmallSize)
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
	for range 200 {
		round()
	}
	const rounds = 3000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range rounds {
		round()
	}
	runtime.ReadMemStats(&after)
	allocs := after.Mallocs - before.Mallocs
	t.Logf("%d allocations for %d packets", allocs, rounds*burst)
	if float64(allocs)/float64(rounds*burst) >= 0.001 {
		t.Errorf("%d allocations for %d packets, want 0 per packet", allocs, rounds*burst)
	}
	if st := path.Stats(); st.Status[ndis.CryptoSuccess] != uint64((200+rounds)*burst) {
		t.Errorf("stats %+v", st)
	}
	path.Close()
	for {
		if _, err := path.Completions(back); err != nil {
			break
		}
	}
}

// FuzzReceive sends any frame through the receive path (inbound SAs of every suite
// offloaded, AES-GCM, AES-CBC, NULL, AH and ESP+AH, whose packets are among the seeds): no
// panic, every input is indicated exactly once, and its OOB is consistent with its flags
// (R-RX-4, R-RX-5): NextCryptoDone implies CryptoDone; a packet not processed carries no
// status and no header info.
func FuzzReceive(f *testing.F) {
	ctl := sa.NewController(32)
	tr := addInbound(f, ctl, 0x600)
	f.Add(sealedFrame(tr, 0x600, 1, 64))
	f.Add(sealedFrame(tr, 0x600, 2, 1400))
	for i, s := range append(allSuites, suiteCBC128SHA1.withESN(), suiteAHSHA256.withESN()) {
		_, pr := addSuite(f, ctl, s, uint32(0x610+i), true, i%2 == 1, 0)
		for _, nh := range []byte{17, 4} {
			frame, _ := sealedFor(f, pr, bytes.Repeat([]byte{byte(i)}, 40+i), nh, 1, 1, 0, 0)
			f.Add(frame)
		}
	}
	seeds, _ := filepath.Glob("../internal/rxparse/testdata/fuzz/FuzzParse/*")
	ahSeeds, _ := filepath.Glob("../internal/rxparse/testdata/fuzz/FuzzParseAH/*")
	for _, s := range append(seeds, ahSeeds...) { // the classifier's corpus of real packets, in Go's corpus format
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[1], "[]byte(") {
			f.Fatalf("%s: not a one-value corpus file", s)
		}
		frame, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
		if err != nil {
			f.Fatalf("%s: %v", s, err)
		}
		f.Add([]byte(frame))
	}
	if len(seeds) < 20 {
		f.Fatalf("%d seed packets from internal/rxparse, want its corpus", len(seeds))
	}
	path, err := stage.NewRecvPath(stage.Env{SAs: ctl}, stage.Config{})
	if err != nil {
		f.Fatal(err)
	}
	buf := make([]*packet.Buffer, 4)
	f.Fuzz(func(t *testing.T, frame []byte) {
		b := packet.NewBuffer(packet.SmallSize)
		if b.SetData(frame) != nil {
			return
		}
		path.Submit([]*packet.Buffer{b})
		n := 0
		for n == 0 {
			n = path.Poll(buf)
		}
		if n != 1 || buf[0] != b {
			t.Fatalf("%d packets indicated for 1", n)
		}
		if err := b.Rx.Consistent(); err != nil {
			t.Fatalf("OOB %v: %v", b.Rx, err)
		}
		if !b.Rx.CryptoDone && (b.Rx.Handle != 0 || b.Rx.CryptoStatus != 0) {
			t.Fatalf("unprocessed packet with OOB %v", b.Rx)
		}
	})
}
