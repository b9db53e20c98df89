package xfrm

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"

	"github.com/ov2dev/ov2/host"
)

// FormatConfig writes c's states as Format does, then its policies as `ip xfrm policy add`
// commands, one per line, which ParseConfig reads back to an equal Config (File and Line
// aside) and iproute2 accepts. It refuses, with an *Error and writing nothing, what
// ParseConfig could not have returned.
func FormatConfig(w io.Writer, c *Config) error {
	if err := checkAll(c.States); err != nil {
		return err
	}
	for i := range c.Policies {
		if field, msg := checkPolicy(&c.Policies[i]); msg != "" {
			file, line := c.Policies[i].File, c.Policies[i].Line
			if file == "" {
				file, line = fmt.Sprintf("policies[%d]", i), 0
			}
			return &Error{File: file, Line: line, Field: field, Msg: msg}
		}
	}
	bw := bufio.NewWriter(w)
	writeStates(bw, c.States)
	for i := range c.Policies {
		p := &c.Policies[i]
		bw.WriteString("ip xfrm policy add")
		if p.Sel.Src.IsValid() {
			fmt.Fprintf(bw, " src %v", p.Sel.Src)
		}
		if p.Sel.Dst.IsValid() {
			fmt.Fprintf(bw, " dst %v", p.Sel.Dst)
		}
		if p.UpperProto != 0 {
			fmt.Fprintf(bw, " proto %s", upperName(p.UpperProto))
			sport, dport := "sport", "dport"
			if isICMP(p.UpperProto) {
				sport, dport = "type", "code"
			}
			if p.SPort != 0 {
				fmt.Fprintf(bw, " %s %d", sport, p.SPort)
			}
			if p.DPort != 0 {
				fmt.Fprintf(bw, " %s %d", dport, p.DPort)
			}
		}
		fmt.Fprintf(bw, " dir %v", p.Dir)
		if p.Action != Allow {
			fmt.Fprintf(bw, " action %v", p.Action)
		}
		fmt.Fprintf(bw, " priority %d", p.Priority)
		for j := range p.Tmpls {
			fmt.Fprintf(bw, " tmpl %s", tmplString(&p.Tmpls[j]))
		}
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// checkPolicy says what is wrong with a policy ParseConfig cannot have produced.
func checkPolicy(p *Policy) (field, msg string) {
	switch {
	case p.Dir > PolicyFwd:
		return "dir", fmt.Sprintf("%v is not in, out or fwd", p.Dir)
	case p.Action > Block:
		return "action", fmt.Sprintf("%v is not allow or block", p.Action)
	case p.UpperProto == 0 && (p.SPort != 0 || p.DPort != 0),
		p.UpperProto != 0 && !hasPorts(p.UpperProto) && !isICMP(p.UpperProto) && (p.SPort != 0 || p.DPort != 0):
		return "proto", fmt.Sprintf("ports %d and %d with proto %s", p.SPort, p.DPort, upperName(p.UpperProto))
	case isICMP(p.UpperProto) && (p.SPort > 255 || p.DPort > 255):
		return "type", fmt.Sprintf("ICMP type %d or code %d is more than 255", p.SPort, p.DPort)
	}
	for _, pf := range []netip.Prefix{p.Sel.Src, p.Sel.Dst} {
		if pf != (netip.Prefix{}) && (!pf.IsValid() || pf.Addr().Zone() != "" || pf != pf.Masked()) {
			return "src", fmt.Sprintf("%v is not a prefix without host bits", pf)
		}
	}
	if s, d := p.Sel.Src, p.Sel.Dst; s.IsValid() && d.IsValid() && s.Addr().Is4() != d.Addr().Is4() {
		return "dst", fmt.Sprintf("%v and src %v are different address families", d, s)
	}
	for i := range p.Tmpls {
		t := &p.Tmpls[i]
		switch {
		case t.Proto > AH:
			return "tmpl", fmt.Sprintf("tmpl %d: %v is not esp or ah", i+1, t.Proto)
		case t.Mode != host.Transport && t.Mode != host.Tunnel:
			return "tmpl", fmt.Sprintf("tmpl %d: mode %d is not host.Transport or host.Tunnel", i+1, t.Mode)
		case t.Src.IsValid() && (t.Src.IsUnspecified() || t.Src.Zone() != ""),
			t.Dst.IsValid() && (t.Dst.IsUnspecified() || t.Dst.Zone() != ""):
			return "tmpl", fmt.Sprintf("tmpl %d: address %v or %v is unspecified or has a zone", i+1, t.Src, t.Dst)
		case t.Src.IsValid() && t.Dst.IsValid() && t.Src.Is4() != t.Dst.Is4():
			return "tmpl", fmt.Sprintf("tmpl %d: dst %v and src %v are different address families", i+1, t.Dst, t.Src)
		}
	}
	if n := len(p.Tmpls); n > 2 || n == 2 && (p.Tmpls[0].Proto != ESP || p.Tmpls[1].Proto != AH) {
		return "tmpl", "templates other than one state or ESP then AH"
	}
	return "", ""
}
