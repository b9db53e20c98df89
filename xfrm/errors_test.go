package xfrm

import (
	"errors"
	"strings"
	"testing"
)

func TestParseErrors(t *testing.T) {
	const (
		ids  = "src 192.0.2.1 dst 198.51.100.2 spi 0x1001 "
		aead = "aead rfc4106(gcm(aes)) 0x" + k128 + " 128"
		ok   = ids + aead
		algs = "only aead rfc4106(gcm(aes)) (AES-GCM) and aead rfc4543(gcm(aes)) (AES-GMAC) are"
	)
	tests := []struct {
		name, in, want string
	}{
		// Algorithms.
		{"enc cbc(aes)", ok + " enc cbc(aes) 0x" + k128[:32],
			`sa.conf:1: field "enc": enc "cbc(aes)" is not supported; ` + algs},
		{"auth-trunc", ids + "auth-trunc 'hmac(sha256)' 0x00 128 enc 'cbc(aes)' 0x00",
			`sa.conf:1: field "auth-trunc": auth-trunc "hmac(sha256)" is not supported; ` + algs},
		{"comp at the end", ok + " comp",
			`sa.conf:1: field "comp": comp is not supported; ` + algs},
		{"chacha", ids + "aead 'rfc7539esp(chacha20,poly1305)' 0x" + k256 + " 128",
			`sa.conf:1: field "aead": algorithm "rfc7539esp(chacha20,poly1305)" is not supported; ` + algs},
		{"plain gcm(aes)", ids + "aead gcm(aes) 0x" + k128 + " 128",
			`sa.conf:1: field "aead": algorithm "gcm(aes)" is not supported; ` + algs},
		{"wrong key length", ids + "aead rfc4106(gcm(aes)) 0x" + k128[:36] + " 128",
			`sa.conf:1: field "aead": key+salt is 18 bytes; want 20, 28 or 36 (16, 24 or 32-byte AES key + 4-byte salt)`},
		{"24-byte key+salt", ids + "aead rfc4106(gcm(aes)) 0x" + k192[:48] + " 128",
			`sa.conf:1: field "aead": key+salt is 24 bytes; want 20, 28 or 36 (16, 24 or 32-byte AES key + 4-byte salt)`},
		{"odd hex digits", ids + "aead rfc4106(gcm(aes)) 0x" + k128[1:] + " 128",
			`sa.conf:1: field "aead": key+salt has an odd number of hex digits (39)`},
		{"key not hex", ids + "aead rfc4106(gcm(aes)) 0x" + strings.Repeat("g", 40) + " 128",
			`sa.conf:1: field "aead": key+salt "0x` + strings.Repeat("g", 40) + `" is not 0x followed by hex digits`},
		{"key as text", ids + "aead rfc4106(gcm(aes)) 12345678901234567890 128",
			`sa.conf:1: field "aead": key+salt "12345678901234567890" is not 0x followed by hex digits`},
		{"hidden keys", "src 192.0.2.1 dst 198.51.100.2\n\tproto esp spi 0x00001001 reqid 1 mode transport\n\taead rfc4106(gcm(aes)) <<Keys hidden>> 128\n",
			`sa.conf:3: field "aead": the key is hidden (a "nokeys" listing); paste one that shows keys`},
		{"bad ICV bits", ids + "aead rfc4106(gcm(aes)) 0x" + k128 + " 100",
			`sa.conf:1: field "aead": ICV length 100 bits is not valid; want 64, 96 or 128`},
		{"ICV not a number", ids + "aead rfc4106(gcm(aes)) 0x" + k128 + " sixteen",
			`sa.conf:1: field "aead": "sixteen" is not a number`},
		{"GMAC with ICV 64", ids + "aead rfc4543(gcm(aes)) 0x" + k128 + " 64",
			`sa.conf:1: field "aead": ICV length 64 bits is not valid with rfc4543(gcm(aes)); want 128`},
		{"aead cut short", ids + "aead rfc4106(gcm(aes)) 0x" + k128,
			`sa.conf:1: field "aead": incomplete; want aead ALGO KEY+SALT ICV-BITS`},
		{"two aeads", ok + " " + aead,
			`sa.conf:1: field "aead": given twice (first on line 1)`},

		// Identity.
		{"missing spi", "src 192.0.2.1 dst 198.51.100.2 " + aead,
			`sa.conf:1: field "spi": missing (every state needs src, dst, spi and aead)`},
		{"missing aead on a continued line", "# x\nip xfrm state add \\\n src 192.0.2.1 dst 198.51.100.2 spi 1",
			`sa.conf:2: field "aead": missing (every state needs src, dst, spi and aead)`},
		{"spi 0", "src 192.0.2.1 dst 198.51.100.2 spi 0 " + aead,
			`sa.conf:1: field "spi": SPI 0 is reserved`},
		{"spi not a number", "src 192.0.2.1 dst 198.51.100.2 spi 0xZZ " + aead,
			`sa.conf:1: field "spi": "0xZZ" is not a number`},
		{"spi in octal", "src 192.0.2.1 dst 198.51.100.2 spi 0100 " + aead,
			`sa.conf:1: field "spi": "0100" has a leading 0, which iproute2 reads as octal; write it in decimal or with 0x`},
		{"spi too big", "src 192.0.2.1 dst 198.51.100.2 spi 4294967296 " + aead,
			`sa.conf:1: field "spi": "4294967296" is out of range (at most 4294967295)`},
		{"spi stats form disagrees", "src 192.0.2.1 dst 198.51.100.2\n\tproto esp spi 0x00001001(4098) reqid 1 mode transport\n\t" + aead,
			`sa.conf:2: field "spi": "0x00001001(4098)": 0x00001001 and 4098 are not the same number`},
		{"spi given twice", ok + " spi 0x1002",
			`sa.conf:1: field "spi": given twice (first on line 1)`},
		{"spi without value", "src 192.0.2.1 dst 198.51.100.2 " + aead + " spi",
			`sa.conf:1: field "spi": missing value`},
		{"mixed families", "src 192.0.2.1 dst 2001:db8::2 spi 0x1001 " + aead,
			`sa.conf:1: field "dst": 2001:db8::2 (IPv6) and src 192.0.2.1 (IPv4) are different address families`},
		{"bad address", "src 192.0.2.300 dst 198.51.100.2 spi 0x1001 " + aead,
			`sa.conf:1: field "src": "192.0.2.300" is not an IP address`},
		{"address with a prefix", "src 192.0.2.1 dst 198.51.100.2/32 spi 0x1001 " + aead,
			`sa.conf:1: field "dst": "198.51.100.2/32" is not an IP address`},
		{"zone", "src fe80::1%eth0 dst fe80::2 spi 0x1001 " + aead,
			`sa.conf:1: field "src": "fe80::1%eth0" has an IPv6 zone, which is not supported`},
		{"proto ah", "src 192.0.2.1 dst 198.51.100.2 proto ah spi 0x1001 auth 'hmac(sha1)' 0x00",
			`sa.conf:1: field "proto": protocol "ah" is not supported; only esp is`},
		{"mode beet", ok + " mode beet",
			`sa.conf:1: field "mode": mode "beet" is not supported; want transport or tunnel`},
		{"unknown keyword", ids + "colour blue " + aead,
			`sa.conf:1: field "colour": unknown keyword`},
		{"pcpu-num not a number", ids + "pcpu-num cpu3 " + aead,
			`sa.conf:1: field "pcpu-num": "cpu3" is not a number`},
		{"trailing garbage", ok + " dir out garbage",
			`sa.conf:1: field "garbage": unknown keyword`},
		{"garbage stuck to a value", "src 192.0.2.1 dst 198.51.100.2 spi 0x1001; " + aead,
			`sa.conf:1: field "spi": "0x1001;" is not a number`},
		{"unsupported iproute2 keyword", ok + " coa 10.0.0.1",
			`sa.conf:1: field "coa": not supported`},

		// Quotes and lines.
		{"unterminated single quote", ids + "aead 'rfc4106(gcm(aes)) 0x" + k128 + " 128",
			`sa.conf:1: field "aead": unterminated ' quote`},
		{"unterminated double quote", ids + `aead "rfc4106(gcm(aes)) 0x` + k128 + " 128",
			`sa.conf:1: field "aead": unterminated " quote`},
		{"listing line not indented", "src 192.0.2.1 dst 198.51.100.2\nproto esp spi 0x00001001\n",
			`sa.conf:2: a line that is not indented must start a state with "src ADDR dst ADDR" or "ip xfrm state add"`},
		{"indented line first", "\n\tproto esp spi 0x00001001\n",
			`sa.conf:2: indented line outside any state; a state starts with "src ADDR dst ADDR" or "ip xfrm state add"`},
		{"policy command", "ip xfrm policy add src 10.0.0.0/8 dst 10.1.0.0/16 dir out",
			`sa.conf:1: only "ip xfrm state add" commands are accepted, not "ip xfrm policy add src 10.0.0.0/8 dst 10.1.0.0/16 dir out"`},
		{"state delete", "sudo ip xfrm state delete src 192.0.2.1 dst 198.51.100.2 proto esp spi 0x1001",
			`sa.conf:1: only "ip xfrm state add" commands are accepted, not "sudo ip xfrm state delete src 192.0.2.1 dst 198.51.100.2 proto esp spi 0x1001"`},
		{"nothing after add", "\nip xfrm state add",
			`sa.conf:2: nothing after "ip xfrm state add"`},

		// Flags, sequence numbers, windows.
		{"unknown flag", ids + "flag fast " + aead,
			`sa.conf:1: field "flag": unknown flag "fast"; want esn, noecn, decap-dscp, nopmtudisc, wildrecv, icmp, af-unspec or align4`},
		{"unknown flag after known ones", ids + "flag esn fast " + aead,
			`sa.conf:1: field "fast": unknown keyword`},
		{"replay-seq-hi without esn", ok + " replay-seq-hi 1",
			`sa.conf:1: field "replay-seq-hi": 0x1 needs flag esn: without ESN there are no high 32 bits`},
		{"oseq-hi in a listing without esn", "src 192.0.2.1 dst 198.51.100.2\n\tproto esp spi 0x00001001 reqid 1 mode transport\n\t" + aead +
			"\n\tanti-replay esn context:\n\t seq-hi 0x0, seq 0x0, oseq-hi 0x2, oseq 0x0\n",
			`sa.conf:5: field "oseq-hi": 0x2 needs flag esn: without ESN there are no high 32 bits`},
		{"last oseq without esn", ok + " replay-oseq 0xffffffff",
			`sa.conf:1: field "replay-oseq": 0xffffffff leaves no sequence number to send without flag esn`},
		{"last seq without esn", ok + " replay-seq 4294967295",
			`sa.conf:1: field "replay-seq": 0xffffffff leaves no sequence number to receive without flag esn`},
		{"last oseq with esn", ok + " flag esn replay-oseq-hi 0xffffffff replay-oseq 0xffffffff",
			`sa.conf:1: field "replay-oseq": 0xffffffffffffffff leaves no sequence number to send`},
		{"replay window over the Linux limit", ok + " replay-window 4097",
			`sa.conf:1: field "replay-window": replay window 4097 is larger than 4096, the Linux limit`},
		{"windows disagree", "src 192.0.2.1 dst 198.51.100.2\n\tproto esp spi 0x00001001 reqid 1 mode transport\n\treplay-window 32\n\t" + aead +
			"\n\tanti-replay esn context:\n\t seq-hi 0x0, seq 0x0, oseq-hi 0x0, oseq 0x0\n\t replay_window 64, bitmap-length 2\n",
			`sa.conf:7: field "replay_window": replay window 64 differs from replay-window 32 on line 3`},

		// Encap, selector, dir, offload.
		{"espinudp-nonike", ok + " encap espinudp-nonike 4500 4500 0.0.0.0",
			`sa.conf:1: field "encap": encap type "espinudp-nonike" is not supported; want espinudp (RFC 3948)`},
		{"espintcp listed", "src 192.0.2.1 dst 198.51.100.2\n\tproto esp spi 0x00001001 reqid 1 mode transport\n\t" + aead +
			"\n\tencap type espintcp sport 4500 dport 4500 addr 0.0.0.0\n",
			`sa.conf:4: field "encap": encap type "espintcp" is not supported; want espinudp (RFC 3948)`},
		{"encap port too big", ok + " encap espinudp 4500 65536 0.0.0.0",
			`sa.conf:1: field "encap": "65536" is out of range (at most 65535)`},
		{"encap listing shape", ok + " encap type espinudp sport 4500 4500 addr 0.0.0.0",
			`sa.conf:1: field "encap": want encap type espinudp sport PORT dport PORT addr ADDR`},
		{"selector port", ok + " sel src 10.0.0.0/8 proto tcp dport 80",
			`sa.conf:1: field "sel": selector proto "tcp" is not supported; only src and dst prefixes are`},
		{"selector families", ok + " sel src 10.0.0.0/8 dst 2001:db8::/32",
			`sa.conf:1: field "sel": src 10.0.0.0/8 and dst 2001:db8::/32 are different address families`},
		{"selector prefix", ok + " sel src 10.0.0.0/33",
			`sa.conf:1: field "sel": "10.0.0.0/33" is not an IP address or prefix`},
		{"empty selector", ids + "sel " + aead,
			`sa.conf:1: field "sel": empty selector; want sel [src PREFIX] [dst PREFIX]`},
		{"dir fwd", ok + " dir fwd",
			`sa.conf:1: field "dir": dir "fwd" is not valid; want in or out`},
		{"offload without dir", ok + " offload dev eth0",
			`sa.conf:1: field "offload": want offload [crypto|packet] dev DEV dir in|out`},

		// Overlapping states.
		{"duplicate SA", ok + " dir in\n" + "# the same SA again, without a direction\n" + ok + "\n",
			`sa.conf:3: field "spi": SA 0x00001001 to 198.51.100.2 (dir both) overlaps the one on line 1 (dir in)`},
		{"duplicate SA in a listing", ok + "\nsrc 192.0.2.9 dst 198.51.100.2\n\tproto esp spi 0x00001001 reqid 1 mode transport\n\t" + aead + "\n",
			`sa.conf:3: field "spi": SA 0x00001001 to 198.51.100.2 (dir both) overlaps the one on line 1 (dir both)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			states, err := Parse("sa.conf", strings.NewReader(tt.in))
			if err == nil {
				t.Fatalf("no error; got%s", dumpAll(states))
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got %s\nwant %s", err, tt.want)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Errorf("%T is not an *Error", err)
			}
		})
	}
}

func TestErrorFields(t *testing.T) {
	_, err := Parse("sa.conf", strings.NewReader("\n\nsrc 192.0.2.1 dst 198.51.100.2 spi 0xZZ"))
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%T is not an *Error", err)
	}
	want := Error{File: "sa.conf", Line: 3, Field: "spi", Msg: `"0xZZ" is not a number`}
	if *e != want {
		t.Errorf("error = %#v, want %#v", *e, want)
	}
	for _, tt := range []struct {
		e    Error
		want string
	}{
		{Error{File: "a.sa", Line: 2, Field: "dir", Msg: "m"}, `a.sa:2: field "dir": m`},
		{Error{File: "a.sa", Line: 2, Msg: "m"}, `a.sa:2: m`},
		{Error{File: "a.sa", Msg: "m"}, `a.sa: m`},
		{Error{Line: 4, Field: "spi", Msg: "m"}, `line 4: field "spi": m`},
		{Error{Msg: "m"}, `m`},
	} {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("%#v.Error() = %q, want %q", tt.e, got, tt.want)
		}
	}
}
