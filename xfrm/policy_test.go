package xfrm

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/ov2dev/ov2/host"
)

// gwState is the tunnel state the policy cases name: 192.0.2.1 to the gateway 198.51.100.2.
const gwState = "ip xfrm state add src 192.0.2.1 dst 198.51.100.2 proto esp spi 0x1001 reqid 1 mode tunnel " +
	"aead 'rfc4106(gcm(aes))' 0x" + k128 + " 128 dir out\n"

func gwWant(sel host.Selector) State {
	s := keyed(base(1), k128)
	s.ReqID, s.Mode, s.Dir, s.Sel = 1, host.Tunnel, Out, sel
	return s
}

// The same policy written every way: as a command, without the prefix, as `ip xfrm policy`
// lists it, and as `ip -s xfrm policy` lists it. The listings follow iproute2's
// xfrm_policy_info_print and xfrm_tmpl_print: the selector line always has prefix lengths
// (and, with -s, "uid N"); the dir line has action only with -s (or for block), index and
// share with -s, priority and ptype always; each tmpl prints "src A dst B" on its own line
// and "proto esp [spi 0x…] reqid N mode M" on the next (-s adds the spi, the decimal and hex
// forms, a "level required share any" line and the algorithm masks); -s also prints the
// lifetime blocks.
func TestParsePolicyForms(t *testing.T) {
	sel := host.Selector{Src: pfx("10.0.1.0/24"), Dst: pfx("10.0.2.0/24")}
	want := func(line, tmplLine int) Policy {
		return Policy{File: "sa.conf", Line: line, Sel: sel, Dir: PolicyOut, Priority: 7,
			Tmpls: []Tmpl{{Line: tmplLine, Src: addr("192.0.2.1"), Dst: addr("198.51.100.2"), Proto: ESP, ReqID: 1, Mode: host.Tunnel, State: 0}}}
	}
	forms := []struct {
		name, in string
		want     Policy
	}{
		{"command", gwState + "sudo ip xfrm policy add src 10.0.1.0/24 dst 10.0.2.0/24 dir out priority 7 ptype main action allow \\\n" +
			"    tmpl src 192.0.2.1 dst 198.51.100.2 proto esp reqid 1 mode tunnel level required\n", want(2, 3)},
		{"abbreviated command", gwState + "ip x p a src 10.0.1.0/24 dst 10.0.2.0/24 dir out priority 7 " +
			"tmpl mode tunnel reqid 1 src 192.0.2.1 dst 198.51.100.2 proto esp\n", want(2, 2)},
		{"no prefix", gwState + "src 10.0.1.0/24 dst 10.0.2.0/24 dir out priority 7 tmpl src 192.0.2.1 dst 198.51.100.2 proto esp reqid 1 mode tunnel\n",
			want(2, 2)},
		{"listing", gwState + "ip xfrm policy\n" +
			"src 10.0.1.0/24 dst 10.0.2.0/24 \n" +
			"\tdir out priority 7 ptype main \n" +
			"\ttmpl src 192.0.2.1 dst 198.51.100.2\n" +
			"\t\tproto esp reqid 1 mode tunnel\n", want(3, 5)},
		{"-s listing", gwState + "sudo ip -s xfrm policy list\n" +
			"src 10.0.1.0/24 dst 10.0.2.0/24 uid 0\n" +
			"\tdir out action allow index 8 priority 7 ptype main share any flag  (0x00000000)\n" +
			"\tlifetime config:\n" +
			"\t  limit: soft (INF)(bytes), hard (INF)(bytes)\n" +
			"\t  limit: soft (INF)(packets), hard (INF)(packets)\n" +
			"\t  expire add: soft 0(sec), hard 0(sec)\n" +
			"\t  expire use: soft 0(sec), hard 0(sec)\n" +
			"\tlifetime current:\n" +
			"\t  0(bytes), 0(packets)\n" +
			"\t  add 2024-05-01 10:00:00 use -\n" +
			"\ttmpl src 192.0.2.1 dst 198.51.100.2\n" +
			"\t\tproto esp spi 0x00000000(0) reqid 1(0x00000001) mode tunnel\n" +
			"\t\tlevel required share any \n" +
			"\t\tenc-mask ffffffff auth-mask ffffffff comp-mask ffffffff\n", want(3, 13)},
		{"listing with mark, flags, if_id and offload", gwState +
			"src 10.0.1.0/24 dst 10.0.2.0/24 \n" +
			"\tdir out priority 7 ptype main flag localok icmp\n" +
			"\tmark 0x5/0xff\n" +
			"\ttmpl src 192.0.2.1 dst 198.51.100.2\n" +
			"\t\tproto esp reqid 1 mode tunnel\n" +
			"\tcrypto offload parameters: dev eth0 mode packet\n" +
			"\tif_id 0x2a\n", want(2, 5)},
		{"command with the ignored keywords", gwState + "ip xfrm policy update src 10.0.1.0/24 dst 10.0.2.0/24 dir out index 0x10 priority 7 " +
			"ptype sub flag 0x1 mark 5 mask 0xff if_id 3 offload packet dev eth0 limit time-hard 60 " +
			"tmpl src 192.0.2.1 dst 198.51.100.2 proto esp reqid 1 mode tunnel\n", want(2, 2)},
	}
	for _, f := range forms {
		t.Run(f.name, func(t *testing.T) {
			c, err := ParseConfig("sa.conf", strings.NewReader(f.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.Policies, []Policy{f.want}) {
				t.Errorf("policies\n got %+v\nwant %+v", c.Policies, []Policy{f.want})
			}
			equalStates(t, c.States, []State{gwWant(sel)})
			if len(c.Bundles) != 0 {
				t.Errorf("bundles %+v", c.Bundles)
			}
		})
	}
}

// bundleStates are an ESP state and an AH state from 192.0.2.1 to 198.51.100.2 with reqid 9
// in transport mode, lines 1 and 2.
const bundleStates = "src 192.0.2.1 dst 198.51.100.2 proto esp spi 0x1001 reqid 9 mode transport " +
	"enc 'cbc(aes)' 0x00112233445566778899aabbccddeeff auth 'hmac(sha1)' 0x00112233445566778899aabbccddeeff00112233\n" +
	"src 192.0.2.1 dst 198.51.100.2 proto ah spi 0x1002 reqid 9 mode transport " +
	"auth-trunc 'hmac(sha256)' 0x" + "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff" + " 128\n"

func TestBundle(t *testing.T) {
	// Templates ESP then AH, innermost first: ESP is applied first, AH over it
	// (IP | AH | ESP | payload), as Linux's xfrm_bundle_create chains them in template order.
	in := bundleStates +
		"ip xfrm policy add src 192.0.2.1/32 dst 198.51.100.2/32 dir out tmpl proto esp reqid 9 mode transport tmpl proto ah reqid 9 mode transport\n" +
		// The same pair again from an in policy and a listed fwd policy: still one bundle.
		"src 192.0.2.1/32 dst 198.51.100.2/32 \n\tdir in priority 0 ptype main \n" +
		"\ttmpl src 0.0.0.0 dst 0.0.0.0\n\t\tproto esp reqid 9 mode transport\n" +
		"\ttmpl src 0.0.0.0 dst 0.0.0.0\n\t\tproto ah reqid 0 mode transport\n" +
		"src 192.0.2.1/32 dst 198.51.100.2/32 dir fwd tmpl proto esp spi 0x1001 reqid 9 mode transport tmpl proto ah spi 0x1002 reqid 9 mode transport\n"
	c, err := ParseConfig("sa.conf", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if want := []Bundle{{ESP: 0, AH: 1, Policy: 0}}; !reflect.DeepEqual(c.Bundles, want) {
		t.Fatalf("bundles %+v, want %+v", c.Bundles, want)
	}
	sel := host.Selector{Src: pfx("192.0.2.1/32"), Dst: pfx("198.51.100.2/32")}
	for i, s := range c.States {
		if s.Sel != sel {
			t.Errorf("state %d: selector %v, want %v", i, s.Sel, sel)
		}
		if b, ok := c.BundleOf(i); !ok || b != c.Bundles[0] {
			t.Errorf("BundleOf(%d) = %v, %v", i, b, ok)
		}
	}
	if _, ok := c.BundleOf(2); ok {
		t.Error("BundleOf(2) found a bundle")
	}
	for i, p := range c.Policies {
		if len(p.Tmpls) != 2 || p.Tmpls[0].State != 0 || p.Tmpls[1].State != 1 {
			t.Errorf("policy %d: templates %+v", i, p.Tmpls)
		}
	}
	if c.Policies[1].Tmpls[0].Src.IsValid() || c.Policies[2].Dir != PolicyFwd {
		t.Errorf("policies %+v", c.Policies)
	}

	// Tunnel mode: ESP in a tunnel, AH in transport mode over the tunnel's outer header
	// (Linux: a transport-mode template after a tunnel one takes the tunnel's addresses).
	tun := strings.ReplaceAll(bundleStates, "mode transport", "mode tunnel")
	tun = strings.Replace(tun, "proto ah spi 0x1002 reqid 9 mode tunnel", "proto ah spi 0x1002 reqid 9 mode transport", 1)
	c, err = ParseConfig("sa.conf", strings.NewReader(tun+
		"ip xfrm policy add src 10.1.0.0/16 dst 10.2.0.0/16 dir out tmpl src 192.0.2.1 dst 198.51.100.2 proto esp reqid 9 mode tunnel tmpl proto ah reqid 9 mode transport\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Bundles) != 1 || c.States[0].Sel.Src != pfx("10.1.0.0/16") || c.States[1].Sel.Dst != pfx("10.2.0.0/16") {
		t.Errorf("tunnel bundle: %+v, states%s", c.Bundles, dumpAll(c.States))
	}
}

func TestPolicyCases(t *testing.T) {
	tests := []struct {
		name, in   string
		policies   int
		bundles    int
		sel        []host.Selector // each state's, in order
		tmplStates []int           // every template's State, in order
	}{
		{"fwd binds an inbound state", gwState[:len(gwState)-len("dir out\n")] + "dir in\n" +
			"ip xfrm policy add src 10.0.2.0/24 dst 10.0.1.0/24 dir fwd tmpl src 192.0.2.1 dst 198.51.100.2 proto esp reqid 0 mode tunnel\n",
			1, 0, []host.Selector{{Src: pfx("10.0.2.0/24"), Dst: pfx("10.0.1.0/24")}}, []int{0}},
		{"per-socket policies are left out", gwState +
			"src 0.0.0.0/0 dst 0.0.0.0/0 \n\tsocket in priority 0 ptype main \nsrc 0.0.0.0/0 dst 0.0.0.0/0 \n\tsocket out priority 0 ptype main \n",
			0, 0, []host.Selector{{}}, nil},
		{"a bypass policy without templates", gwState + "ip xfrm policy add src 0.0.0.0/0 dst 0.0.0.0/0 proto udp dport 500 dir out priority 1\n" +
			"ip xfrm policy add proto icmp type 8 code 0 dir in\n",
			2, 0, []host.Selector{{}}, nil},
		{"a block policy takes no state", gwState + "ip xfrm policy add src 10.0.1.0/24 dst 10.0.2.0/24 dir out action block " +
			"tmpl src 192.0.2.1 dst 198.51.100.2 proto esp reqid 1 mode tunnel\n",
			1, 0, []host.Selector{{}}, []int{-1}},
		{"an optional AH without a state", gwState + "ip xfrm policy add src 10.0.1.0/24 dst 10.0.2.0/24 dir out " +
			"tmpl src 192.0.2.1 dst 198.51.100.2 proto esp reqid 1 mode tunnel tmpl proto ah reqid 1 mode transport level use\n",
			1, 0, []host.Selector{{Src: pfx("10.0.1.0/24"), Dst: pfx("10.0.2.0/24")}}, []int{0, -1}},
		{"a state's own sel that agrees, and one side any", strings.Replace(gwState, "dir out", "sel src 10.0.1.0/24 dst 0.0.0.0/0 dir out", 1) +
			"ip xfrm policy add src 10.0.1.0/24 dst 10.0.2.0/24 dir out tmpl src 192.0.2.1 dst 198.51.100.2 proto esp reqid 1 mode tunnel\n",
			1, 0, []host.Selector{{Src: pfx("10.0.1.0/24"), Dst: pfx("10.0.2.0/24")}}, []int{0}},
		{"a narrower state sel where the policy selects anything", strings.Replace(gwState, "dir out", "sel dst 10.0.2.0/24 dir out", 1) +
			"ip xfrm policy add dst 0.0.0.0/0 dir out tmpl dst 198.51.100.2 proto esp reqid 1 mode tunnel\n",
			1, 0, []host.Selector{{Dst: pfx("10.0.2.0/24")}}, []int{0}},
		{"transport state found by the selector; the other direction is not", bundleStates +
			"src 198.51.100.2 dst 192.0.2.1 proto esp spi 0x2001 reqid 9 mode transport aead rfc4106(gcm(aes)) 0x" + k128 + " 128\n" +
			"ip xfrm policy add src 198.51.100.0/24 dst 192.0.2.0/24 dir in tmpl proto esp reqid 9 mode transport\n",
			1, 0, []host.Selector{{}, {}, {Src: pfx("198.51.100.0/24"), Dst: pfx("192.0.2.0/24")}}, []int{2}},
		{"one ESP state under two policies with the same selector", gwState +
			"ip xfrm policy add src 10.0.1.0/24 dst 10.0.2.0/24 dir out tmpl src 192.0.2.1 dst 198.51.100.2 proto esp reqid 1 mode tunnel\n" +
			"ip xfrm policy add src 10.0.1.0/24 dst 10.0.2.0/24 dir out priority 9 tmpl dst 198.51.100.2 proto esp spi 0x1001 reqid 1 mode tunnel\n",
			2, 0, []host.Selector{{Src: pfx("10.0.1.0/24"), Dst: pfx("10.0.2.0/24")}}, []int{0, 0}},
		{"an AH state alone", "src 192.0.2.1 dst 198.51.100.2 proto ah spi 0x1002 reqid 9 mode transport auth sha1 0x" + hx(1, 20) + "\n" +
			"ip xfrm policy add src 192.0.2.1 dst 198.51.100.2 dir out tmpl proto ah reqid 9 mode transport\n",
			1, 0, []host.Selector{{Src: pfx("192.0.2.1/32"), Dst: pfx("198.51.100.2/32")}}, []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConfig("sa.conf", strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			var sels []host.Selector
			for _, s := range c.States {
				sels = append(sels, s.Sel)
			}
			var ts []int
			for _, p := range c.Policies {
				for _, tm := range p.Tmpls {
					ts = append(ts, tm.State)
				}
			}
			if len(c.Policies) != tt.policies || len(c.Bundles) != tt.bundles || !reflect.DeepEqual(sels, tt.sel) || !reflect.DeepEqual(ts, tt.tmplStates) {
				t.Errorf("%d policies, %d bundles, selectors %v, templates' states %v; want %d, %d, %v, %v\n%+v",
					len(c.Policies), len(c.Bundles), sels, ts, tt.policies, tt.bundles, tt.sel, tt.tmplStates, c.Policies)
			}
		})
	}
}

func TestParseSuitesDemoFile(t *testing.T) {
	c, err := ParseConfigFile("testdata/suites.sa")
	if err != nil {
		t.Fatal(err)
	}
	type summary struct {
		line  int
		spi   uint32
		suite string
		mode  host.Mode
		sel   string
	}
	var got []summary
	for _, s := range c.States {
		got = append(got, summary{s.Line, s.SPI, s.SuiteName(), s.Mode, selString(s.Sel)})
	}
	const none = "src any dst any"
	want := []summary{
		{10, 0x1101, "ESP AES-GCM-128 (16-byte ICV)", host.Transport, none},
		{14, 0x1201, "ESP AES-GMAC-256", host.Transport, none},
		{19, 0x1301, "ESP AES-CBC-128 + HMAC-SHA-1-96", host.Transport, none},
		{26, 0x1401, "ESP AES-CBC-256 + HMAC-SHA-256-128", host.Tunnel, "src 10.1.0.0/16 dst 10.14.0.0/16"},
		{38, 0x1501, "ESP NULL + HMAC-SHA-256-128", host.Transport, "src 0.0.0.0/0 dst 0.0.0.0/0"},
		{47, 0x1601, "ESP NULL + HMAC-SHA-1-96", host.Transport, none},
		{50, 0x1701, "AH HMAC-SHA-1-96", host.Transport, none},
		{57, 0x1801, "ESP AES-CBC-192 + HMAC-SHA-256-128", host.Transport, "src 192.0.2.1/32 dst 198.51.100.18/32"},
		{60, 0x1802, "AH HMAC-SHA-256-128", host.Transport, "src 192.0.2.1/32 dst 198.51.100.18/32"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("suites.sa:\n got %+v\nwant %+v", got, want)
	}
	if want := []Bundle{{ESP: 7, AH: 8, Policy: 1}}; !reflect.DeepEqual(c.Bundles, want) {
		t.Errorf("bundles %+v, want %+v", c.Bundles, want)
	}
	if len(c.Policies) != 2 || c.Policies[0].Line != 31 || c.Policies[1].Line != 62 {
		t.Errorf("policies %+v", c.Policies)
	}
	if !c.States[3].ESN || c.States[0].Key == nil || c.States[4].EncKey != nil {
		t.Errorf("states%s", dumpAll(c.States))
	}
	configRoundTrip(t, c)
}

// configRoundTrip formats c and checks that ParseConfig reads the result back to c.
func configRoundTrip(t *testing.T, c *Config) string {
	t.Helper()
	var b strings.Builder
	if err := FormatConfig(&b, c); err != nil {
		t.Fatalf("FormatConfig: %v", err)
	}
	back, err := ParseConfig("formatted", strings.NewReader(b.String()))
	if err != nil {
		t.Fatalf("ParseConfig(FormatConfig(c)): %v\n%s", err, b.String())
	}
	equalStates(t, withoutPlace(back.States), withoutPlace(c.States))
	if !reflect.DeepEqual(policiesWithoutPlace(back.Policies), policiesWithoutPlace(c.Policies)) || !reflect.DeepEqual(back.Bundles, c.Bundles) {
		t.Errorf("round trip:\n got %+v %+v\nwant %+v %+v\n%s", back.Policies, back.Bundles, c.Policies, c.Bundles, b.String())
	}
	return b.String()
}

func policiesWithoutPlace(ps []Policy) []Policy {
	var out []Policy
	for _, p := range ps {
		p.File, p.Line = "", 0
		p.Tmpls = append([]Tmpl(nil), p.Tmpls...)
		for i := range p.Tmpls {
			p.Tmpls[i].Line = 0
		}
		out = append(out, p)
	}
	return out
}

func TestFormatConfig(t *testing.T) {
	c, err := ParseConfig("sa.conf", strings.NewReader(bundleStates+
		"ip xfrm policy add src 192.0.2.1/32 dst 198.51.100.2/32 dir out priority 5 tmpl proto esp reqid 9 mode transport tmpl proto ah spi 0x1002 reqid 9 mode transport level use\n"+
		"ip xfrm policy add src 2001:db8::/32 dst 2001:db8:1::/48 proto tcp sport 80 dir in action block\n"+
		"ip xfrm policy add proto ipv6-icmp type 135 dir fwd\n"+
		"ip xfrm policy add dir out\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := configRoundTrip(t, c)
	want := "ip xfrm state add src 192.0.2.1 dst 198.51.100.2 proto esp spi 0x00001001 reqid 9 mode transport " +
		"enc 'cbc(aes)' 0x00112233445566778899aabbccddeeff auth-trunc 'hmac(sha1)' 0x00112233445566778899aabbccddeeff00112233 96 " +
		"sel src 192.0.2.1/32 dst 198.51.100.2/32\n" +
		"ip xfrm state add src 192.0.2.1 dst 198.51.100.2 proto ah spi 0x00001002 reqid 9 mode transport " +
		"auth-trunc 'hmac(sha256)' 0x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff 128 " +
		"sel src 192.0.2.1/32 dst 198.51.100.2/32\n" +
		"ip xfrm policy add src 192.0.2.1/32 dst 198.51.100.2/32 dir out priority 5 " +
		"tmpl proto esp reqid 9 mode transport tmpl proto ah spi 0x00001002 reqid 9 mode transport level use\n" +
		"ip xfrm policy add src 2001:db8::/32 dst 2001:db8:1::/48 proto tcp sport 80 dir in action block priority 0\n" +
		"ip xfrm policy add proto ipv6-icmp type 135 dir fwd priority 0\n" +
		"ip xfrm policy add dir out priority 0\n"
	if got != want {
		t.Errorf("FormatConfig =\n%s\nwant\n%s", got, want)
	}

	for _, tt := range []struct {
		name   string
		change func(*Policy)
		want   string
	}{
		{"dir", func(p *Policy) { p.Dir = 3 }, `sa.conf:3: field "dir": PolicyDir(3) is not in, out or fwd`},
		{"action", func(p *Policy) { p.Action = 2 }, `sa.conf:3: field "action": Action(2) is not allow or block`},
		{"ports without proto", func(p *Policy) { p.SPort = 80 }, `sa.conf:3: field "proto": ports 80 and 0 with proto 0`},
		{"ICMP type", func(p *Policy) { p.UpperProto, p.SPort = 1, 256 }, `sa.conf:3: field "type": ICMP type 256 or code 0 is more than 255`},
		{"prefix", func(p *Policy) { p.Sel.Src = netip.MustParsePrefix("10.1.2.3/8") }, `sa.conf:3: field "src": 10.1.2.3/8 is not a prefix without host bits`},
		{"families", func(p *Policy) { p.Sel.Dst = pfx("2001:db8::/32") }, `sa.conf:3: field "dst": 2001:db8::/32 and src 192.0.2.1/32 are different address families`},
		{"tmpl proto", func(p *Policy) { p.Tmpls[1].Proto = 2 }, `sa.conf:3: field "tmpl": tmpl 2: Proto(2) is not esp or ah`},
		{"tmpl mode", func(p *Policy) { p.Tmpls[0].Mode = 7 }, `sa.conf:3: field "tmpl": tmpl 1: mode 7 is not host.Transport or host.Tunnel`},
		{"tmpl address", func(p *Policy) { p.Tmpls[0].Src = addr("0.0.0.0") }, `sa.conf:3: field "tmpl": tmpl 1: address 0.0.0.0 or invalid IP is unspecified or has a zone`},
		{"tmpl families", func(p *Policy) { p.Tmpls[0].Src, p.Tmpls[0].Dst = addr("192.0.2.1"), addr("2001:db8::1") }, `sa.conf:3: field "tmpl": tmpl 1: dst 2001:db8::1 and src 192.0.2.1 are different address families`},
		{"tmpl order", func(p *Policy) { p.Tmpls[0], p.Tmpls[1] = p.Tmpls[1], p.Tmpls[0] }, `sa.conf:3: field "tmpl": templates other than one state or ESP then AH`},
		{"no place", func(p *Policy) { p.File, p.Dir = "", 9 }, `policies[0]: field "dir": PolicyDir(9) is not in, out or fwd`},
	} {
		bad := *c
		bad.Policies = policiesWithoutPlace(c.Policies)
		for i := range bad.Policies {
			bad.Policies[i].File, bad.Policies[i].Line = "sa.conf", 3+i
		}
		tt.change(&bad.Policies[0])
		var b strings.Builder
		if err := FormatConfig(&b, &bad); err == nil || err.Error() != tt.want || b.Len() != 0 {
			t.Errorf("%s: error %v, wrote %q; want %s", tt.name, err, b.String(), tt.want)
		}
	}
	bad := *c
	bad.States = append([]State(nil), c.States...)
	bad.States[1].AuthTrunc = 96
	if err := FormatConfig(&strings.Builder{}, &bad); err == nil || err.Error() != `sa.conf:2: field "auth-trunc": hmac(sha256) truncated to 96 bits: the NIC does HMAC-SHA-256-128 (RFC 4868) only` {
		t.Errorf("bad state: %v", err)
	}
}
