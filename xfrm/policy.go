package xfrm

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"

	"github.com/ov2dev/ov2/host"
)

// PolicyDir is the direction of a policy, `dir in|out|fwd`, numbered as Linux numbers them.
type PolicyDir uint8

// Policy directions. A fwd policy checks what arrives through its states for another host:
// for the offload it is an inbound policy (see bind).
const (
	PolicyIn PolicyDir = iota
	PolicyOut
	PolicyFwd
)

func (d PolicyDir) String() string {
	switch d {
	case PolicyIn:
		return "in"
	case PolicyOut:
		return "out"
	case PolicyFwd:
		return "fwd"
	}
	return "PolicyDir(" + strconv.Itoa(int(d)) + ")"
}

// Action is what a policy does with the traffic it selects: `action allow` (the default)
// or `action block`.
type Action uint8

// Actions.
const (
	Allow Action = iota
	Block
)

func (a Action) String() string {
	switch a {
	case Allow:
		return "allow"
	case Block:
		return "block"
	}
	return "Action(" + strconv.Itoa(int(a)) + ")"
}

// Policy is one `ip xfrm policy`: a selector, a direction and the templates that name the
// states its traffic goes through, innermost first (the first template is applied first on
// the way out). ParseConfig keeps the policies it reads, without the per-socket ones a
// listing may show (`socket in`), and binds their templates to states.
type Policy struct {
	File string
	Line int

	Sel          host.Selector // src and dst prefixes; a zero prefix was not given (any)
	UpperProto   uint8         // the selector's `proto` (6 for tcp); 0: any
	SPort, DPort uint16        // the selector's ports, or ICMP type and code (as Linux keeps them); 0: any
	Dir          PolicyDir
	Action       Action
	Priority     uint32
	Tmpls        []Tmpl
}

// Tmpl is one `tmpl` of a policy: which state carries the policy's traffic.
type Tmpl struct {
	Line     int        // where the tmpl keyword is
	Src, Dst netip.Addr // zero when not given or unspecified (0.0.0.0, ::): any
	Proto    Proto
	SPI      uint32 // 0: any
	ReqID    uint32 // 0 in an in or fwd policy: any
	Mode     host.Mode
	Optional bool // `level use`: the traffic may also arrive without this transform

	// State is the index in Config.States of the state the template names, or -1 where
	// none does: an optional template without a state, or a policy that blocks.
	State int
}

// Upper-layer protocols of a selector, by the names /etc/protocols gives them (which the
// listing prints) and a few more iproute2 users type.
var upperNames = map[string]uint8{
	"any": 0, "icmp": 1, "tcp": 6, "udp": 17, "dccp": 33, "gre": 47,
	"esp": 50, "ah": 51, "ipv6-icmp": 58, "icmpv6": 58, "sctp": 132, "mobility-header": 135,
}

func upperName(n uint8) string {
	for _, name := range []string{"icmp", "tcp", "udp", "dccp", "gre", "esp", "ah", "ipv6-icmp", "sctp", "mobility-header"} {
		if upperNames[name] == n {
			return name
		}
	}
	return strconv.Itoa(int(n))
}

func hasPorts(proto uint8) bool { return proto == 6 || proto == 17 || proto == 33 || proto == 132 }
func isICMP(proto uint8) bool   { return proto == 1 || proto == 58 }

// policyParser reads the words of one policy.
type policyParser struct {
	words
	pol    Policy
	socket bool
	tmpl   *Tmpl              // the template being read; nil outside one
	tseen  map[string]token   // what the current template has set
	tseens []map[string]token // what each template set
}

// parsePolicy reads a policy group; keep is false for a per-socket policy, which is read and
// dropped.
func parsePolicy(name string, g group) (pol Policy, keep bool, err error) {
	p := &policyParser{words: newWords(name, g.toks, g.line)}
	p.pol = Policy{File: name, Line: g.line}
	for p.i < len(p.toks) {
		t := p.toks[p.i]
		p.i++
		if p.tmpl != nil {
			took, err := p.tmplWord(t)
			if err != nil {
				return Policy{}, false, err
			}
			if took {
				continue
			}
			p.tmpl = nil // a template ends at the first word it does not take
		}
		if err := p.keyword(t); err != nil {
			return Policy{}, false, err
		}
	}
	if err := p.finish(); err != nil {
		return Policy{}, false, err
	}
	return p.pol, !p.socket, nil
}

// stateWords are a state's keywords: in a policy they mean the line was taken for one.
var stateWords = map[string]bool{"spi": true, "aead": true, "enc": true, "auth": true, "auth-trunc": true,
	"reqid": true, "mode": true, "replay-window": true, "sel": true}

func (p *policyParser) keyword(t token) error {
	switch t.text {
	case "src", "dst":
		if err := p.once(t.text, t); err != nil {
			return err
		}
		pf, err := p.prefix(t, t.text)
		if err != nil {
			return err
		}
		if t.text == "src" {
			p.pol.Sel.Src = pf
		} else {
			p.pol.Sel.Dst = pf
		}
	case "proto":
		if err := p.once("proto", t); err != nil {
			return err
		}
		v, err := p.value(t)
		if err != nil {
			return err
		}
		n, ok := upperNames[v.text]
		if !ok {
			m, msg := parseNum(v.text, math.MaxUint8)
			if msg != "" {
				return p.errf(v, "proto", "unknown protocol %q", v.text)
			}
			n = uint8(m)
		}
		p.pol.UpperProto = n
	case "sport", "dport", "type", "code":
		if err := p.once(t.text, t); err != nil {
			return err
		}
		max := uint64(math.MaxUint16)
		if t.text == "type" || t.text == "code" {
			max = math.MaxUint8
		}
		n, err := p.number(t, max)
		if err != nil {
			return err
		}
		if t.text == "sport" || t.text == "type" {
			p.pol.SPort = uint16(n)
		} else {
			p.pol.DPort = uint16(n)
		}
	case "dir", "socket": // the listing says "socket in" for a per-socket policy
		if err := p.once("dir", t); err != nil {
			return err
		}
		v, err := p.value(t)
		if err != nil {
			return err
		}
		switch v.text {
		case "in":
			p.pol.Dir = PolicyIn
		case "out":
			p.pol.Dir = PolicyOut
		case "fwd":
			p.pol.Dir = PolicyFwd
		default:
			return p.errf(v, t.text, "dir %q is not valid; want in, out or fwd", v.text)
		}
		p.socket = t.text == "socket"
	case "ptype":
		return p.choice(t, "main", "sub")
	case "action":
		if err := p.choice(t, "allow", "block"); err != nil {
			return err
		}
		if p.toks[p.i-1].text == "block" {
			p.pol.Action = Block
		}
	case "share": // the listing's "share any"
		return p.choice(t, "any", "unique", "session", "user")
	case "priority":
		n, err := p.number(t, math.MaxUint32)
		p.pol.Priority = uint32(n)
		return err
	case "index", "if_id", "uid":
		_, err := p.number(t, math.MaxUint32)
		return err
	case "flag":
		return p.flags(t)
	case "mark":
		return p.mark(t)
	case "limit":
		return p.limit(t)
	case "offload": // offload [packet] dev DEV
		bad := p.errf(t, "offload", "want offload [packet] dev DEV")
		w, err := p.value(t)
		if err == nil && w.text == "packet" {
			w, err = p.value(t)
		}
		if err != nil || w.text != "dev" {
			return bad
		}
		if _, err := p.value(t); err != nil {
			return bad
		}
	case "crypto": // listing: "crypto offload parameters: dev eth0 mode packet"
		return p.offloadListing(t)
	case "tmpl":
		p.pol.Tmpls = append(p.pol.Tmpls, Tmpl{Line: t.line, State: -1})
		p.tmpl = &p.pol.Tmpls[len(p.pol.Tmpls)-1]
		p.tseen = map[string]token{"tmpl": t}
		p.tseens = append(p.tseens, p.tseen)
	case "dev", "key":
		v, err := p.value(t)
		if err != nil {
			return err
		}
		if t.text == "dev" && v.text == "none" {
			return nil
		}
		return p.errf(t, t.text, "selector %s %q is not supported; only src and dst prefixes, proto and ports are", t.text, v.text)
	case "ctx", "security":
		return p.errf(t, t.text, "not supported")
	default:
		if stateWords[t.text] {
			return p.errf(t, t.text, "unknown keyword in a policy (the line was read as a policy: a state's src is an address, not a prefix, and it has no tmpl)")
		}
		return p.errf(t, t.text, "unknown keyword")
	}
	return nil
}

// choice reads the word after t, which must be one of want.
func (p *policyParser) choice(t token, want ...string) error {
	v, err := p.value(t)
	if err != nil {
		return err
	}
	for _, w := range want {
		if v.text == w {
			return nil
		}
	}
	return p.errf(v, t.text, "%s %q is not valid; want %s", t.text, v.text, strings.Join(want, " or "))
}

// flags reads `flag localok|icmp|NUMBER...`; the listing may end them with the "(0x00000000)"
// bits of `ip -s`.
func (p *policyParser) flags(t token) error {
	n := 0
	for v, ok := p.peek(); ok; v, ok = p.peek() {
		if _, isMask := flagMask(v.text); v.text != "localok" && v.text != "icmp" && !isMask && !isStatsMask(v.text) {
			break
		}
		p.i++
		n++
	}
	if n == 0 {
		return p.errf(t, "flag", "missing value; want localok or icmp")
	}
	return nil
}

// tmplWord reads a word of the current template, saying whether it was one.
func (p *policyParser) tmplWord(t token) (bool, error) {
	tm := p.tmpl
	switch t.text {
	case "src", "dst", "proto", "spi", "reqid", "mode", "level":
		if prev, ok := p.tseen[t.text]; ok {
			return true, p.errf(t, t.text, "given twice in the tmpl (first on line %d)", prev.line)
		}
		p.tseen[t.text] = t
	case "share", "enc-mask", "auth-mask", "comp-mask": // the listing's; say nothing here
	default:
		return false, nil
	}
	var err error
	switch t.text {
	case "src", "dst":
		var a netip.Addr
		if a, err = p.addr(t); err == nil && !a.IsUnspecified() {
			if t.text == "src" {
				tm.Src = a
			} else {
				tm.Dst = a
			}
		}
	case "proto":
		var v token
		if v, err = p.value(t); err == nil {
			switch v.text {
			case "esp":
				tm.Proto = ESP
			case "ah":
				tm.Proto = AH
			default:
				err = p.errf(v, "proto", "protocol %q is not supported in a tmpl; want esp or ah", v.text)
			}
		}
	case "spi":
		tm.SPI, err = p.number32Stats(t)
	case "reqid":
		tm.ReqID, err = p.number32Stats(t)
	case "mode":
		var v token
		if v, err = p.value(t); err == nil {
			switch v.text {
			case "transport":
				tm.Mode = host.Transport
			case "tunnel":
				tm.Mode = host.Tunnel
			default:
				err = p.errf(v, "mode", "mode %q is not supported; want transport or tunnel", v.text)
			}
		}
	case "level":
		err = p.choice(t, "required", "use")
		tm.Optional = err == nil && p.toks[p.i-1].text == "use"
	case "share":
		err = p.choice(t, "any", "unique", "session", "user")
	default: // enc-mask ffffffff
		var v token
		if v, err = p.value(t); err == nil && !isHexWord(v.text) {
			err = p.errf(v, t.text, "%q is not 8 hex digits", v.text)
		}
	}
	return true, err
}

func (p *policyParser) finish() error {
	pol := &p.pol
	start := token{line: p.start}
	if _, ok := p.seen["dir"]; !ok {
		return p.errf(start, "dir", "missing (every policy needs dir in, out or fwd)")
	}
	if s, d := pol.Sel.Src, pol.Sel.Dst; s.IsValid() && d.IsValid() && s.Addr().Is4() != d.Addr().Is4() {
		return p.errf(p.seen["dst"], "dst", "%v and src %v are different address families", d, s)
	}
	for _, f := range []string{"sport", "dport", "type", "code"} {
		k, ok := p.seen[f]
		switch {
		case !ok:
		case (f == "sport" || f == "dport") && !hasPorts(pol.UpperProto):
			return p.errf(k, f, "%s needs proto tcp, udp, sctp or dccp", f)
		case (f == "type" || f == "code") && !isICMP(pol.UpperProto):
			return p.errf(k, f, "%s needs proto icmp or ipv6-icmp", f)
		}
	}
	var protos []string
	for i := range pol.Tmpls {
		tm := &pol.Tmpls[i]
		if _, ok := p.tseens[i]["proto"]; !ok {
			return p.errf(token{line: tm.Line}, "tmpl", "missing proto (want esp or ah)")
		}
		if tm.Src.IsValid() && tm.Dst.IsValid() && tm.Src.Is4() != tm.Dst.Is4() {
			return p.errf(token{line: tm.Line}, "tmpl", "dst %v and src %v are different address families", tm.Dst, tm.Src)
		}
		protos = append(protos, tm.Proto.String())
	}
	switch {
	case len(pol.Tmpls) < 2 || len(pol.Tmpls) == 2 && pol.Tmpls[0].Proto == ESP && pol.Tmpls[1].Proto == AH:
	case len(pol.Tmpls) == 2 && pol.Tmpls[0].Proto == AH && pol.Tmpls[1].Proto == ESP:
		return p.errf(start, "tmpl", "AH (tmpl on line %d) before ESP (tmpl on line %d): the NIC applies ESP first, then AH "+
			"(NDIS allows only that order); list the esp tmpl first (templates go innermost first)", pol.Tmpls[0].Line, pol.Tmpls[1].Line)
	default:
		return p.errf(start, "tmpl", "templates %s: the NIC takes one state (esp or ah) or an ESP+AH bundle (an esp tmpl, then an ah tmpl)",
			strings.Join(protos, ", "))
	}
	return nil
}

// selString writes a selector as the listing does, "src 10.0.1.0/24 dst 10.0.2.0/24", with
// "any" for a side that is not given.
func selString(s host.Selector) string {
	side := func(p netip.Prefix) string {
		if !p.IsValid() {
			return "any"
		}
		return p.String()
	}
	return fmt.Sprintf("src %s dst %s", side(s.Src), side(s.Dst))
}
