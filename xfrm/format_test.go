package xfrm

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/host"
)

// roundTrip formats states, parses the result and checks it gives the same states.
func roundTrip(t *testing.T, states []State) string {
	t.Helper()
	var b strings.Builder
	if err := Format(&b, states); err != nil {
		t.Fatalf("Format: %v", err)
	}
	back, err := Parse("formatted", strings.NewReader(b.String()))
	if err != nil {
		t.Fatalf("Parse(Format(states)): %v\n%s", err, b.String())
	}
	equalStates(t, withoutPlace(back), withoutPlace(states))
	for i, s := range back {
		if s.File != "formatted" || s.Line != i+1 {
			t.Errorf("state %d is at %s:%d, want formatted:%d", i, s.File, s.Line, i+1)
		}
	}
	return b.String()
}

func TestFormatRoundTrip(t *testing.T) {
	t.Run("listing", func(t *testing.T) {
		states, err := Parse("sa.conf", strings.NewReader(listing))
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, states)
	})
	t.Run("demo.sa", func(t *testing.T) {
		states, err := ParseFile("testdata/demo.sa")
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, states)
	})
	t.Run("built", func(t *testing.T) {
		states := []State{
			keyed(State{Src: addr("192.0.2.1"), Dst: addr("198.51.100.2"), SPI: 1, Mode: host.Transport,
				Alg: esp.AESGCM, ICVLen: 8}, k128),
			keyed(State{Src: addr("2001:db8::1"), Dst: addr("2001:db8::2"), SPI: 0xffffffff, ReqID: 0xffffffff,
				Mode: host.Tunnel, Alg: esp.AESGCM, ICVLen: 12, ESN: true, ReplayWindow: 4096,
				Seq: 1<<64 - 2, OSeq: 1 << 32, Encap: encap(0, 65535, "::"),
				Sel: host.Selector{Dst: pfx("2001:db8:ff::/48")}, Dir: In}, k192),
			keyed(State{Src: addr("::ffff:192.0.2.1"), Dst: addr("::ffff:192.0.2.2"), SPI: 0x12345678,
				Mode: host.Transport, Alg: esp.AESGMAC, ICVLen: 16, ReplayWindow: 1,
				Seq: 0xfffffffe, OSeq: 3, Sel: host.Selector{Src: pfx("10.0.0.0/8")}, Dir: Out}, k256),
		}
		got := roundTrip(t, states)
		want := "ip xfrm state add src 192.0.2.1 dst 198.51.100.2 proto esp spi 0x00000001 reqid 0 mode transport aead 'rfc4106(gcm(aes))' 0x" + k128 + " 64\n" +
			"ip xfrm state add src 2001:db8::1 dst 2001:db8::2 proto esp spi 0xffffffff reqid 4294967295 mode tunnel replay-window 4096 " +
			"replay-seq 0xfffffffe replay-seq-hi 0xffffffff replay-oseq-hi 0x1 flag esn aead 'rfc4106(gcm(aes))' 0x" + k192 + " 96 " +
			"encap espinudp 0 65535 :: sel dst 2001:db8:ff::/48 dir in\n" +
			"ip xfrm state add src ::ffff:192.0.2.1 dst ::ffff:192.0.2.2 proto esp spi 0x12345678 reqid 0 mode transport replay-window 1 " +
			"replay-seq 0xfffffffe replay-oseq 0x3 aead 'rfc4543(gcm(aes))' 0x" + k256 + " 128 sel src 10.0.0.0/8 dir out\n"
		if got != want {
			t.Errorf("Format =\n%s\nwant\n%s", got, want)
		}
	})
}

func TestFormatRefuses(t *testing.T) {
	good := func() State {
		return keyed(State{File: "sa.conf", Line: 4, Src: addr("192.0.2.1"), Dst: addr("198.51.100.2"), SPI: 0x1001,
			Alg: esp.AESGCM, ICVLen: 16}, k128)
	}
	tests := []struct {
		name   string
		change func(*State)
		want   string
	}{
		{"SPI 0", func(s *State) { s.SPI = 0 }, `sa.conf:4: field "spi": SPI 0 is reserved`},
		{"short key", func(s *State) { s.Key = s.Key[:15] }, `sa.conf:4: field "aead": key is 15 bytes; want 16, 24 or 32`},
		{"GMAC ICV", func(s *State) { s.Alg, s.ICVLen = esp.AESGMAC, 12 }, `sa.conf:4: field "aead": ICV of 12 bytes with AES-GMAC; want 16`},
		{"ICV", func(s *State) { s.ICVLen = 0 }, `sa.conf:4: field "aead": ICV of 0 bytes; want 8, 12 or 16`},
		{"algorithm", func(s *State) { s.Alg = 0 }, `sa.conf:4: field "aead": algorithm Algorithm(0) is not AES-GCM or AES-GMAC`},
		{"families", func(s *State) { s.Dst = addr("2001:db8::1") }, `sa.conf:4: field "dst": 2001:db8::1 (IPv6) and src 192.0.2.1 (IPv4) are different address families`},
		{"zone", func(s *State) { s.Dst = addr("fe80::1%eth0"); s.Src = addr("fe80::2") }, `sa.conf:4: field "src": an IPv6 zone is not supported`},
		{"no src", func(s *State) { s.Src = netip.Addr{} }, `sa.conf:4: field "src": missing`},
		{"mode", func(s *State) { s.Mode = 2 }, `sa.conf:4: field "mode": mode 2 is not host.Transport or host.Tunnel`},
		{"dir", func(s *State) { s.Dir = 3 }, `sa.conf:4: field "dir": Dir(3) is not both, in or out`},
		{"window", func(s *State) { s.ReplayWindow = 4097 }, `sa.conf:4: field "replay-window": replay window 4097 is not 0..4096`},
		{"oseq without esn", func(s *State) { s.OSeq = 1 << 32 }, `sa.conf:4: field "replay-oseq-hi": sequence number 0x100000000 needs flag esn`},
		{"last oseq", func(s *State) { s.OSeq = 0xffffffff }, `sa.conf:4: field "replay-oseq": 0xffffffff leaves no sequence number to send without flag esn`},
		{"last seq with esn", func(s *State) { s.ESN, s.Seq = true, 1<<64-1 }, `sa.conf:4: field "replay-seq": 0xffffffffffffffff leaves no sequence number to receive`},
		{"encap address", func(s *State) { s.Encap = &Encap{SPort: 4500, DPort: 4500} }, `sa.conf:4: field "encap": the original address is missing or has an IPv6 zone`},
		{"unmasked selector", func(s *State) { s.Sel.Src = netip.MustParsePrefix("10.1.2.3/8") }, `sa.conf:4: field "sel": 10.1.2.3/8 is not a prefix without host bits`},
		{"selector families", func(s *State) { s.Sel = host.Selector{Src: pfx("10.0.0.0/8"), Dst: pfx("::/0")} }, `sa.conf:4: field "sel": src 10.0.0.0/8 and dst ::/0 are different address families`},
		{"no place", func(s *State) { s.File, s.Line, s.SPI = "", 0, 0 }, `states[1]: field "spi": SPI 0 is reserved`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := good()
			tt.change(&bad)
			states := []State{good(), bad}
			states[0].Dst = addr("198.51.100.99")
			var b strings.Builder
			for _, write := range []func() error{
				func() error { return Format(&b, states) },
				func() error { return WriteWiresharkKeys(&b, states) },
			} {
				err := write()
				var e *Error
				if err == nil || err.Error() != tt.want || !errors.As(err, &e) {
					t.Errorf("error = %v, want %s", err, tt.want)
				}
			}
			if b.Len() != 0 {
				t.Errorf("wrote %q before failing", b.String())
			}
		})
	}
	t.Run("overlap", func(t *testing.T) {
		a, b := good(), good()
		b.Line, b.Dir = 9, Out
		err := Format(&strings.Builder{}, []State{a, b})
		const want = `sa.conf:9: field "spi": SA 0x00001001 to 198.51.100.2 (dir out) overlaps the one on line 4 (dir both)`
		if err == nil || err.Error() != want {
			t.Errorf("error = %v, want %s", err, want)
		}
	})
}

func TestWriteWiresharkKeys(t *testing.T) {
	states := []State{
		keyed(State{Src: addr("192.0.2.1"), Dst: addr("198.51.100.2"), SPI: 0x1001, Alg: esp.AESGCM, ICVLen: 16, ESN: true, Dir: Out}, "11111111111111111111111111111111cafebabe"),
		keyed(State{Src: addr("2001:db8::1"), Dst: addr("2001:db8:0:1::2"), SPI: 0xc0ffee02, Mode: host.Tunnel, Alg: esp.AESGCM, ICVLen: 8}, k192),
		keyed(State{Src: addr("198.51.100.2"), Dst: addr("192.0.2.1"), SPI: 7, Alg: esp.AESGCM, ICVLen: 12, Encap: encap(4500, 4500, "0.0.0.0")}, k256),
		keyed(State{Src: addr("198.51.100.2"), Dst: addr("192.0.2.1"), SPI: 0x3003, Alg: esp.AESGMAC, ICVLen: 16}, k128),
	}
	var b strings.Builder
	if err := WriteWiresharkKeys(&b, states); err != nil {
		t.Fatal(err)
	}
	want := `"IPv4","192.0.2.1","198.51.100.2","0x00001001","AES-GCM with 16 octet ICV [RFC4106]","0x11111111111111111111111111111111cafebabe","NULL",""
"IPv6","2001:0db8:0000:0000:0000:0000:0000:0001","2001:0db8:0000:0001:0000:0000:0000:0002","0xc0ffee02","AES-GCM with 8 octet ICV [RFC4106]","0x` + k192 + `","NULL",""
"IPv4","198.51.100.2","192.0.2.1","0x00000007","AES-GCM with 12 octet ICV [RFC4106]","0x` + k256 + `","NULL",""
"IPv4","198.51.100.2","192.0.2.1","0x00003003","NULL","","ANY 128 bit authentication [no checking]","0x` + k128 + `"
`
	if b.String() != want {
		t.Errorf("esp_sa =\n%s\nwant\n%s", b.String(), want)
	}

	b.Reset()
	if err := WriteWiresharkKeys(&b, nil); err != nil || b.Len() != 0 {
		t.Errorf("no states: %q, %v", b.String(), err)
	}
}

func TestUATString(t *testing.T) {
	if got, want := uatString(`a"b\c`), `"a\x22b\x5cc"`; got != want {
		t.Errorf("uatString = %s, want %s", got, want)
	}
}
