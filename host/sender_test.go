package host_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/host"
	"github.com/ov2dev/ov2/nic"
	"github.com/ov2dev/ov2/stage"
)

// R-TX-7, R-SA-6 (host half): an ESN stream of 3,000 packets starting 1,000 below 2^32,
// submitted in bursts with many in flight on two lanes: the host drains, issues one
// UPDATE_SA, and every packet is sealed with its own 64-bit sequence number (each opens
// with the high half it belongs to, and its IV is that number).
func TestSendESNCrossingWithPacketsInFlight(t *testing.T) {
	e := newEngine(t, stage.SendConfig{Lanes: 2, RingSize: 64})
	cfg := host.SAConfig{SPI: 0x77, Alg: esp.AESGCM, Key: key(16, 9), Salt: [4]byte{1, 1, 1, 1}, ESN: true,
		StartSeq: 1<<32 - 1000, Src: mustAddr("192.0.2.1"), Dst: mustAddr("198.51.100.1")}
	if _, err := e.sender.AddSA(cfg); err != nil {
		t.Fatal(err)
	}
	const total = 3000
	sent := make([][]byte, total)
	for i := range sent {
		sent[i] = udpPacket("192.0.2.1", "198.51.100.1", i, 100+i%300)
		if err := e.sender.Send(sent[i]); err != nil {
			t.Fatal(err)
		}
	}
	out := e.finish()
	if len(out) != total {
		t.Fatalf("%d packets out, want %d", len(out), total)
	}
	tr, err := esp.NewTransform(esp.Params{Alg: esp.AESGCM, KeyMat: append(key(16, 9), 1, 1, 1, 1), ESN: true})
	if err != nil {
		t.Fatal(err)
	}
	s := new(esp.Scratch)
	for i, p := range out {
		seq := uint64(1<<32-1000) + uint64(i)
		f := append([]byte(nil), p.Bytes()...)
		if got := uint64(f[28])<<56 | uint64(f[29])<<48 | uint64(f[30])<<40 | uint64(f[31])<<32 |
			uint64(f[32])<<24 | uint64(f[33])<<16 | uint64(f[34])<<8 | uint64(f[35]); got != seq {
			t.Fatalf("packet %d: IV %#x, want sequence %#x", i, got, seq)
		}
		plain, err := tr.Open(s, f[20:], uint32(seq>>32))
		if err != nil {
			t.Fatalf("packet %d (seq %#x): %v", i, seq, err)
		}
		payload, _, _, _ := esp.ParseTrailer(plain)
		if !bytes.Equal(payload, sent[i][20:]) {
			t.Fatalf("packet %d: payload differs", i)
		}
	}
	if got := e.sender.Updates(); got != 1 {
		t.Errorf("%d UPDATE_SA, want 1", got)
	}
	if got := e.nic.Controller().Snapshot().Len(); got != 1 {
		t.Errorf("%d SAs", got)
	}
}

// R-TX-8 (host half), R-CAP-4 and bad input: the host refuses what it cannot frame, with
// errors that say why, and sends packets no policy covers in clear.
func TestSenderErrors(t *testing.T) {
	e := newEngine(t, stage.SendConfig{})
	defer e.finish()
	cfg := host.SAConfig{SPI: 0x10, Alg: esp.AESGCM, Key: key(16, 1), StartSeq: 1<<32 - 1,
		Src: mustAddr("192.0.2.1"), Dst: mustAddr("198.51.100.1")}
	if _, err := e.sender.AddSA(cfg); err != nil {
		t.Fatal(err)
	}
	ok := udpPacket("192.0.2.1", "198.51.100.1", 1, 10)
	if err := e.sender.Send(ok); err != nil { // sequence 2^32-1: the last one without ESN
		t.Fatal(err)
	}
	if err := e.sender.Send(ok); !errors.Is(err, host.ErrSeqExhausted) {
		t.Errorf("past 2^32-1 without ESN: %v", err)
	}
	if err := e.sender.Send([]byte{0x45, 0, 0}); !errors.Is(err, host.ErrNotIP) {
		t.Errorf("3 bytes: %v", err)
	}
	bad := append([]byte(nil), ok...)
	bad[3]++ // total length no longer matches
	if err := e.sender.Send(bad); !errors.Is(err, host.ErrNotIP) {
		t.Errorf("wrong total length: %v", err)
	}
	if err := e.sender.SendLarge(ok, 1400); !errors.Is(err, host.ErrUnsupported) {
		t.Errorf("UDP large send: %v", err)
	}
	if err := e.sender.Send(udpPacket("192.0.2.9", "198.51.100.9", 2, 10)); err != nil || e.sender.Clear() != 1 {
		t.Errorf("no policy: %v, %d clear", err, e.sender.Clear())
	}
	for _, c := range []host.SAConfig{
		{SPI: 0, Alg: esp.AESGCM, Key: key(16, 1), Src: mustAddr("192.0.2.1"), Dst: mustAddr("198.51.100.1")},
		{SPI: 1, Alg: esp.AESGCM, Key: key(15, 1), Src: mustAddr("192.0.2.1"), Dst: mustAddr("198.51.100.1")},
		{SPI: 2, Alg: esp.AESGCM, Key: key(16, 1), Src: mustAddr("192.0.2.1"), Dst: mustAddr("2001:db8::1")},
		{SPI: 3, Alg: esp.AESGCM, Key: key(16, 1), StartSeq: 1 << 32, Src: mustAddr("192.0.2.1"), Dst: mustAddr("198.51.100.1")},
	} {
		if _, err := e.sender.AddSA(c); !errors.Is(err, host.ErrConfig) {
			t.Errorf("SPI %d: %v, want ErrConfig", c.SPI, err)
		}
	}
	// R-CAP-4: with ESP disabled, the host does not hand the NIC ESP-framed cleartext.
	if st, err := e.nic.SetOffloadParameters(nic.OffloadParameters{IPsecV2: nic.IPsecV2Disabled, IPsecV2IPv4: nic.IPsecV2Disabled}); err != nil {
		t.Fatal(st, err)
	}
	cfg2 := cfg
	cfg2.SPI, cfg2.StartSeq = 0x11, 0
	cfg2.Src, cfg2.Dst = mustAddr("192.0.2.2"), mustAddr("198.51.100.2")
	if _, err := e.sender.AddSA(cfg2); err == nil {
		t.Error("ADD_SA accepted while offload is disabled")
	}
}
