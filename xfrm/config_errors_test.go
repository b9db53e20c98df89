package xfrm

import (
	"errors"
	"strings"
	"testing"
)

// The errors ParseConfig gives for states of the new suites, for policies, and for binding
// policies to states. Parse's errors (errors_test.go) are unchanged.
func TestParseConfigErrors(t *testing.T) {
	const (
		ids    = "src 192.0.2.1 dst 198.51.100.2 spi 0x1001 "
		ahIDs  = ids + "proto ah "
		cbc    = "enc 'cbc(aes)' 0x00112233445566778899aabbccddeeff "
		sha1K  = "0x00112233445566778899aabbccddeeff00112233"
		sha1   = "auth 'hmac(sha1)' " + sha1K + " "
		sha256 = "0x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
		aead   = "aead rfc4106(gcm(aes)) 0x" + k128 + " 128 "
		never  = "is never offloaded: ov2 never advertises DES, 3DES or MD5 (the NDIS DES_CBC, 3_DES_CBC and MD5 bits)"
		// The ESP state and the tunnel state for the policy cases.
		tunnel = "src 192.0.2.1 dst 198.51.100.2 proto esp spi 0x1001 reqid 1 mode tunnel " + cbc + sha1 + "\n"
		pol    = "ip xfrm policy add src 10.0.1.0/24 dst 10.0.2.0/24 dir out "
		tmpl   = "tmpl src 192.0.2.1 dst 198.51.100.2 proto esp reqid 1 mode tunnel"
	)
	tests := []struct {
		name, in, want string
	}{
		// Algorithms ov2 never offloads, and others it does not.
		{"DES", ids + "enc 'cbc(des)' 0x0011223344556677 " + sha1,
			`x.sa:1: field "enc": cbc(des) (DES) ` + never + `; use cbc(aes)`},
		{"3DES by its short name", ids + "enc des3_ede 0x00112233445566778899aabbccddeeff0011223344556677 " + sha1,
			`x.sa:1: field "enc": cbc(des3_ede) (3DES) ` + never + `; use cbc(aes)`},
		{"MD5", ids + cbc + "auth 'hmac(md5)' 0x00112233445566778899aabbccddeeff",
			`x.sa:1: field "auth": hmac(md5) (HMAC-MD5-96) ` + never + `; use hmac(sha1) or hmac(sha256)`},
		{"MD5 truncated", ahIDs + "auth-trunc md5 0x00112233445566778899aabbccddeeff 96",
			`x.sa:1: field "auth-trunc": hmac(md5) (HMAC-MD5-96) ` + never + `; use hmac(sha1) or hmac(sha256)`},
		{"AES-CTR", ids + "enc 'rfc3686(ctr(aes))' 0x" + k128 + " " + sha1,
			`x.sa:1: field "enc": algorithm "rfc3686(ctr(aes))" is not supported; want cbc(aes) or ecb(cipher_null)`},
		{"HMAC-SHA-512", ids + cbc + "auth-trunc 'hmac(sha512)' 0x00 256",
			`x.sa:1: field "auth-trunc": algorithm "hmac(sha512)" is not supported; want hmac(sha1) or hmac(sha256)`},
		{"AES-GMAC for AH", ahIDs + "auth-trunc 'rfc4543(gcm(aes))' 0x" + k128 + " 128",
			`x.sa:1: field "auth-trunc": rfc4543(gcm(aes)) is an aead, not an auth algorithm: Linux has no AES-GMAC for AH, and ESP takes it as aead 'rfc4543(gcm(aes))' KEY+SALT 128`},
		{"IPComp", ids + cbc + sha1 + "comp deflate 0x",
			`x.sa:1: field "comp": IPComp is not supported`},
		{"proto comp", ids + "proto comp " + cbc + sha1,
			`x.sa:1: field "proto": protocol "comp" is not supported; want esp or ah`},

		// Combinations.
		{"AH with aead", ahIDs + "aead 'rfc4543(gcm(aes))' 0x" + k128 + " 128",
			`x.sa:1: field "aead": AH authenticates only: it takes auth or auth-trunc, not aead (proto ah, line 1)`},
		{"AH with enc", ahIDs + cbc + sha1,
			`x.sa:1: field "enc": AH authenticates only: it takes auth or auth-trunc, not enc (proto ah, line 1)`},
		{"enc, then proto ah", ids + cbc + "\\\n proto ah " + sha1,
			`x.sa:2: field "proto": AH authenticates only: it takes auth or auth-trunc, not enc (line 1)`},
		{"AH with encap", ahIDs + sha1 + "encap espinudp 4500 4500 0.0.0.0",
			`x.sa:1: field "encap": AH cannot be UDP-encapsulated; encap espinudp is for ESP (RFC 3948) (proto ah, line 1)`},
		{"encap, then proto ah", ids + "encap espinudp 4500 4500 0.0.0.0 proto ah " + sha1,
			`x.sa:1: field "proto": AH cannot be UDP-encapsulated; encap espinudp is for ESP (RFC 3948) (encap, line 1)`},
		{"aead, then enc", ids + aead + cbc + sha1,
			`x.sa:1: field "enc": cannot be combined with aead (line 1): aead encrypts and authenticates by itself`},
		{"auth, then aead", ids + sha1 + "\\\n  " + aead,
			`x.sa:2: field "aead": cannot be combined with auth (line 1): aead encrypts and authenticates by itself`},
		{"enc without auth", ids + cbc,
			`x.sa:1: field "auth": missing: enc cbc(aes) needs auth or auth-trunc (ov2 does not offload ESP without integrity)`},
		{"null without auth", "src 192.0.2.1 dst 198.51.100.2\n\tproto esp spi 0x00001001 reqid 1 mode transport\n\tenc ecb(cipher_null) \n",
			`x.sa:3: field "auth": missing: enc ecb(cipher_null) needs auth or auth-trunc (ov2 does not offload ESP without integrity)`},
		{"auth without enc", ids + sha1,
			`x.sa:1: field "enc": missing: ESP with auth needs enc (Linux refuses ESP without one; for ESP-NULL write enc 'ecb(cipher_null)' "")`},
		{"no algorithm", ids,
			`x.sa:1: field "aead": missing (an ESP state needs aead, or enc and auth or auth-trunc)`},
		{"AH without auth", ahIDs,
			`x.sa:1: field "auth": missing (an AH state needs auth or auth-trunc)`},
		{"no spi", "src 192.0.2.1 dst 198.51.100.2 " + cbc + sha1,
			`x.sa:1: field "spi": missing (every state needs src, dst and spi)`},
		{"auth and auth-trunc", ids + cbc + sha1 + "auth-trunc 'hmac(sha1)' " + sha1K + " 96",
			`x.sa:1: field "auth-trunc": cannot be given with auth (line 1): one of them sets the integrity algorithm`},
		{"enc twice", ids + cbc + cbc + sha1,
			`x.sa:1: field "enc": given twice (first on line 1)`},

		// Keys and truncations.
		{"AES-CBC key of 15 bytes", ids + "enc aes 0x00112233445566778899aabbccddee " + sha1,
			`x.sa:1: field "enc": key is 15 bytes; cbc(aes) needs 16, 24 or 32 (AES-128, AES-192 or AES-256)`},
		{"key as text", ids + "enc aes 0123456789abcdef " + sha1,
			`x.sa:1: field "enc": key "0123456789abcdef" is not 0x followed by hex digits`},
		{"odd hex digits", ids + "enc aes 0x0011223344556677889 " + sha1,
			`x.sa:1: field "enc": key has an odd number of hex digits (19)`},
		{"not hex", ids + cbc + "auth sha1 0xzz112233445566778899aabbccddeeff00112233",
			`x.sa:1: field "auth": key "0xzz112233445566778899aabbccddeeff00112233" is not 0x followed by hex digits`},
		{"hidden key", "src 192.0.2.1 dst 198.51.100.2\n\tproto esp spi 0x00001001 reqid 1 mode transport\n\tauth-trunc hmac(sha1) <<Keys hidden>> 96\n",
			`x.sa:3: field "auth-trunc": the key is hidden (a "nokeys" listing); paste one that shows keys`},
		{"key size that -s prints disagrees", ids + "enc cbc(aes) 0x00112233445566778899aabbccddeeff (192 bits) " + sha1,
			`x.sa:1: field "enc": key is 128 bits, not 192`},
		{"a key for the null cipher", ids + "enc ecb(cipher_null) 0x00 " + sha1,
			`x.sa:1: field "enc": ecb(cipher_null) takes no key; write ""`},
		{"HMAC-SHA-1 key of 16 bytes", ids + cbc + "auth sha1 0x00112233445566778899aabbccddeeff",
			`x.sa:1: field "auth": key is 16 bytes; hmac(sha1) needs 20 (RFC 2404)`},
		{"HMAC-SHA-256 key of 20 bytes", ids + cbc + "auth-trunc sha256 " + sha1K + " 128",
			`x.sa:1: field "auth-trunc": key is 20 bytes; hmac(sha256) needs 32 (RFC 4868)`},
		{"truncation not in bytes", ids + cbc + "auth-trunc sha1 " + sha1K + " 100",
			`x.sa:1: field "auth-trunc": truncation to 100 bits is not valid for hmac(sha1); want a multiple of 8 up to 160`},
		{"truncation longer than the HMAC", ids + cbc + "auth-trunc sha256 " + sha256 + " 264",
			`x.sa:1: field "auth-trunc": truncation to 264 bits is not valid for hmac(sha256); want a multiple of 8 up to 256`},
		{"truncation not a number", ids + cbc + "auth-trunc sha256 " + sha256 + " full",
			`x.sa:1: field "auth-trunc": "full" is not a number`},
		{"HMAC-SHA-1 at 128 bits", ids + cbc + "auth-trunc sha1 " + sha1K + " 128",
			`x.sa:1: field "auth-trunc": hmac(sha1) truncated to 128 bits: the NIC does HMAC-SHA-1-96 (RFC 2404) only`},
		{"HMAC-SHA-256 untruncated", "\n\n" + ids + cbc + "auth-trunc 'hmac(sha256)' " + sha256 + " 256",
			`x.sa:3: field "auth-trunc": hmac(sha256) truncated to 256 bits: the NIC does HMAC-SHA-256-128 (RFC 4868) only`},
		{"enc cut short", ids + sha1 + "enc",
			`x.sa:1: field "enc": incomplete; want enc ALGO KEY`},
		{"enc without its key", ids + sha1 + "enc aes",
			`x.sa:1: field "enc": incomplete; want enc ALGO KEY`},
		{"auth-trunc without its bits", ids + cbc + "auth-trunc sha1 " + sha1K,
			`x.sa:1: field "auth-trunc": incomplete; want auth ALGO KEY or auth-trunc ALGO KEY BITS`},

		// Identity across protocols, and lines.
		{"AH and ESP with one SPI and destination", ids + cbc + sha1 + "\n" + ahIDs + sha1,
			`x.sa:2: field "spi": AH SA 0x00001001 to 198.51.100.2 (dir both) overlaps the one on line 1 (dir both)`},
		{"a line that starts nothing", ids + cbc + sha1 + "\ndir out\n",
			`x.sa:2: a line that is not indented must start a state or policy with "src ADDR dst ADDR", "ip xfrm state add" or "ip xfrm policy add"`},
		{"an indented line first", "\ttmpl proto esp\n",
			`x.sa:1: indented line outside any state; a state or policy starts with "src ADDR dst ADDR", "ip xfrm state add" or "ip xfrm policy add"`},
		{"other commands", "ip xfrm policy flush",
			`x.sa:1: only "ip xfrm state add" and "ip xfrm policy add" commands are accepted, not "ip xfrm policy flush"`},

		// Policies.
		{"policy without dir", "ip xfrm policy add src 10.0.1.0/24 dst 10.0.2.0/24 " + tmpl,
			`x.sa:1: field "dir": missing (every policy needs dir in, out or fwd)`},
		{"policy dir", "ip xfrm policy add dir sideways",
			`x.sa:1: field "dir": dir "sideways" is not valid; want in, out or fwd`},
		{"AH before ESP", tunnel + "src 10.0.1.0/24 dst 10.0.2.0/24 \n\tdir out priority 0 ptype main \n" +
			"\ttmpl src 192.0.2.1 dst 198.51.100.2\n\t\tproto ah reqid 1 mode tunnel\n" +
			"\ttmpl src 192.0.2.1 dst 198.51.100.2\n\t\tproto esp reqid 1 mode tunnel\n",
			`x.sa:2: field "tmpl": AH (tmpl on line 4) before ESP (tmpl on line 6): the NIC applies ESP first, then AH ` +
				`(NDIS allows only that order); list the esp tmpl first (templates go innermost first)`},
		{"two ESP templates", pol + tmpl + " " + tmpl,
			`x.sa:1: field "tmpl": templates esp, esp: the NIC takes one state (esp or ah) or an ESP+AH bundle (an esp tmpl, then an ah tmpl)`},
		{"three templates", pol + "tmpl proto esp tmpl proto ah tmpl proto ah",
			`x.sa:1: field "tmpl": templates esp, ah, ah: the NIC takes one state (esp or ah) or an ESP+AH bundle (an esp tmpl, then an ah tmpl)`},
		{"IPComp template", pol + "tmpl proto comp",
			`x.sa:1: field "proto": protocol "comp" is not supported in a tmpl; want esp or ah`},
		{"template without proto", pol + "tmpl src 192.0.2.1 dst 198.51.100.2 reqid 1 mode tunnel",
			`x.sa:1: field "tmpl": missing proto (want esp or ah)`},
		{"template proto twice", pol + "tmpl proto esp proto ah",
			`x.sa:1: field "proto": given twice in the tmpl (first on line 1)`},
		{"template mode", pol + "tmpl proto esp mode beet",
			`x.sa:1: field "mode": mode "beet" is not supported; want transport or tunnel`},
		{"template level", pol + "tmpl proto esp level maybe",
			`x.sa:1: field "level": level "maybe" is not valid; want required or use`},
		{"template families", pol + "tmpl src 192.0.2.1 dst 2001:db8::1 proto esp",
			`x.sa:1: field "tmpl": dst 2001:db8::1 and src 192.0.2.1 are different address families`},
		{"template mask", "src 10.0.1.0/24 dst 10.0.2.0/24 \n\tdir out\n\ttmpl src 0.0.0.0 dst 0.0.0.0\n\t\tproto esp reqid 1 mode transport\n\t\tenc-mask all\n",
			`x.sa:5: field "enc-mask": "all" is not 8 hex digits`},
		{"action", pol + "action drop",
			`x.sa:1: field "action": action "drop" is not valid; want allow or block`},
		{"ptype", pol + "ptype other",
			`x.sa:1: field "ptype": ptype "other" is not valid; want main or sub`},
		{"ports without tcp", "ip xfrm policy add proto icmp sport 80 dir out",
			`x.sa:1: field "sport": sport needs proto tcp, udp, sctp or dccp`},
		{"ICMP type without icmp", "ip xfrm policy add proto tcp type 8 dir out",
			`x.sa:1: field "type": type needs proto icmp or ipv6-icmp`},
		{"unknown protocol", "ip xfrm policy add proto tcpp dir out",
			`x.sa:1: field "proto": unknown protocol "tcpp"`},
		{"selector dev", "ip xfrm policy add dev eth0 dir out",
			`x.sa:1: field "dev": selector dev "eth0" is not supported; only src and dst prefixes, proto and ports are`},
		{"security context", pol + "ctx system_u",
			`x.sa:1: field "ctx": not supported`},
		{"extra flag", ids + aead + "extra-flag dont-encap-dscp",
			`x.sa:1: field "extra-flag": not supported`},
		{"extra flag as a listing prints it", "src 192.0.2.1 dst 198.51.100.2\n\tproto esp spi 0x1001 reqid 1 mode transport\n\t" +
			aead + "\n\textra_flag dont-encap-dscp\n",
			`x.sa:4: field "extra_flag": not supported`},
		{"selector families", "ip xfrm policy add src 10.0.0.0/8 dst 2001:db8::/32 dir out",
			`x.sa:1: field "dst": 2001:db8::/32 and src 10.0.0.0/8 are different address families`},
		{"flag without a value", pol + "flag",
			`x.sa:1: field "flag": missing value; want localok or icmp`},
		{"offload", pol + "offload dev",
			`x.sa:1: field "offload": want offload [packet] dev DEV`},
		{"a state written with a prefix", "src 192.0.2.1/32 dst 198.51.100.2 proto esp spi 0x1001 " + aead,
			`x.sa:1: field "spi": unknown keyword in a policy (the line was read as a policy: a state's src is an address, not a prefix, and it has no tmpl)`},

		// Binding policies to states.
		{"no state for the template", tunnel + "ip xfrm policy add src 10.0.1.0/24 dst 10.0.2.0/24 dir out \\\n" +
			"  tmpl src 192.0.2.1 dst 198.51.100.2 proto esp reqid 2 mode tunnel\n",
			`x.sa:2: field "tmpl": no state matches tmpl 1 (src 192.0.2.1 dst 198.51.100.2 proto esp reqid 2 mode tunnel, line 3)`},
		{"no state in that direction", strings.Replace(tunnel, "mode tunnel", "mode tunnel dir in", 1) + pol + tmpl,
			`x.sa:2: field "tmpl": no state matches tmpl 1 (src 192.0.2.1 dst 198.51.100.2 proto esp reqid 1 mode tunnel, line 2)`},
		{"an outbound template's reqid must match", tunnel + pol + "tmpl src 192.0.2.1 dst 198.51.100.2 proto esp reqid 0 mode tunnel",
			`x.sa:2: field "tmpl": no state matches tmpl 1 (src 192.0.2.1 dst 198.51.100.2 proto esp reqid 0 mode tunnel, line 2)`},
		{"no AH for the bundle", tunnel + pol + tmpl + " tmpl proto ah spi 7 reqid 1 mode transport",
			`x.sa:2: field "tmpl": no state matches tmpl 2 (proto ah spi 0x00000007 reqid 1 mode transport, line 2)`},
		{"two states for the template", tunnel + strings.Replace(tunnel, "0x1001", "0x1002", 1) + pol + "tmpl dst 198.51.100.2 proto esp reqid 1 mode tunnel",
			`x.sa:3: field "tmpl": tmpl 1 (dst 198.51.100.2 proto esp reqid 1 mode tunnel, line 3) matches the states on lines 1 and 2; give the tmpl an spi`},
		{"selector ports", tunnel + "ip xfrm policy add src 10.0.1.0/24 dst 10.0.2.0/24 proto tcp dport 443 dir out " + tmpl,
			`x.sa:2: field "proto": selector proto tcp is not supported in a policy with states; only src and dst prefixes are`},
		{"the state's sel disagrees", strings.Replace(tunnel, "mode tunnel", "mode tunnel\\\n  sel src 10.9.0.0/16", 1) + pol + tmpl,
			`x.sa:2: field "sel": src 10.9.0.0/16 dst any disagrees with the selector src 10.0.1.0/24 dst 10.0.2.0/24 of the policy on line 3`},
		{"two policies, two selectors", tunnel + pol + tmpl + "\n" + strings.Replace(pol, "10.0.1.0/24", "10.0.3.0/24", 1) + tmpl,
			`x.sa:3: field "src": the policy on line 2 gives the state on line 1 the selector src 10.0.1.0/24 dst 10.0.2.0/24; ` +
				`this one would give it src 10.0.3.0/24 dst 10.0.2.0/24, and the NIC gives a state one selector`},
		{"AH in tunnel mode over ESP", tunnel + "src 192.0.2.1 dst 198.51.100.2 proto ah spi 0x1002 reqid 1 mode tunnel " + sha1 + "\n" +
			pol + tmpl + " tmpl src 192.0.2.1 dst 198.51.100.2 proto ah reqid 1 mode tunnel",
			`x.sa:3: field "tmpl": the AH state on line 2 is in tunnel mode: over ESP it would add a second outer IP header ` +
				`(Linux nests two tunnels); the NIC's bundle has one: give AH mode transport`},
		{"AH to another host", tunnel + "src 192.0.2.1 dst 198.51.100.9 proto ah spi 0x1002 reqid 1 mode tunnel " + sha1 + "\n" +
			pol + tmpl + " tmpl src 192.0.2.1 dst 198.51.100.9 proto ah reqid 1 mode tunnel",
			`x.sa:3: field "tmpl": the ESP state on line 1 (src 192.0.2.1 dst 198.51.100.2) and the AH state on line 2 ` +
				`(src 192.0.2.1 dst 198.51.100.9) have different addresses; a bundle's states share one IP header`},
		{"AH over NAT-T", strings.Replace(tunnel, "\n", " encap espinudp 4500 4500 0.0.0.0\n", 1) +
			"src 192.0.2.1 dst 198.51.100.2 proto ah spi 0x1002 reqid 1 mode transport " + sha1 + "\n" +
			pol + tmpl + " tmpl proto ah reqid 1 mode transport",
			`x.sa:3: field "tmpl": the ESP state on line 1 is UDP-encapsulated; AH over it would not cross NAT`},
		{"a state alone and in a bundle", tunnel + "src 192.0.2.1 dst 198.51.100.2 proto ah spi 0x1002 reqid 1 mode transport " + sha1 + "\n" +
			pol + tmpl + "\n" + pol + tmpl + " tmpl proto ah reqid 1 mode transport",
			`x.sa:4: field "tmpl": the ESP state on line 1 is used alone by the policy on line 3, so it cannot also be bundled ` +
				`with the AH state on line 2 here (the NIC offloads a state once: alone or in one bundle)`},
		{"a state in a bundle, then alone", tunnel + "src 192.0.2.1 dst 198.51.100.2 proto ah spi 0x1002 reqid 1 mode transport " + sha1 + "\n" +
			pol + tmpl + " tmpl proto ah reqid 1 mode transport\n" +
			"ip xfrm policy add src 192.0.2.1 dst 198.51.100.2 dir out tmpl proto ah spi 0x1002 reqid 1 mode transport",
			`x.sa:4: field "tmpl": the AH state on line 2 is bundled with the ESP state on line 1 by the policy on line 3, so it ` +
				`cannot also go alone here (the NIC offloads a state once: alone or in one bundle)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConfig("x.sa", strings.NewReader(tt.in))
			if err == nil {
				t.Fatalf("no error; got%s\n%+v", dumpAll(c.States), c.Policies)
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

// Parse keeps refusing what host.SAConfig cannot express, with the messages it always gave
// (errors_test.go pins them): the new suites and policies are ParseConfig's.
func TestParseStillRefusesSuites(t *testing.T) {
	c, err := ParseConfigFile("testdata/suites.sa")
	if err != nil {
		t.Fatal(err)
	}
	_, err = ParseFile("testdata/suites.sa")
	const want = `testdata/suites.sa:62: only "ip xfrm state add" commands are accepted, not "ip xfrm policy add src 192.0.2.1/32 ` +
		`dst 198.51.100.18/32 dir out priority 1000 tmpl proto esp reqid 18 mode transport tmpl proto ah reqid 18 mode transport"`
	if err == nil || err.Error() != want {
		t.Errorf("ParseFile(suites.sa) = %v, want %s", err, want)
	}
	// Format writes what ParseConfig reads; Parse refuses it where it is not ESP with aead.
	var b strings.Builder
	if err := Format(&b, c.States); err != nil {
		t.Fatal(err)
	}
	const want2 = `f:3: field "enc": enc "cbc(aes)" is not supported; only aead rfc4106(gcm(aes)) (AES-GCM) and aead rfc4543(gcm(aes)) (AES-GMAC) are`
	if _, err := Parse("f", strings.NewReader(b.String())); err == nil || err.Error() != want2 {
		t.Errorf("Parse(Format(suites)) = %v, want %s", err, want2)
	}
	const want3 = `f:1: field "proto": protocol "ah" is not supported; only esp is`
	if _, err := Parse("f", strings.NewReader("src 192.0.2.1 dst 198.51.100.17 proto ah spi 0x1701 auth sha1 0x"+hx(1, 20))); err == nil || err.Error() != want3 {
		t.Errorf("Parse(AH) = %v, want %s", err, want3)
	}
}
