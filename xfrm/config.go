package xfrm

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"strings"

	"github.com/ov2dev/ov2/host"
)

// Config is what ParseConfig reads: the states, the policies, and the ESP+AH bundles the
// policies make of the states.
type Config struct {
	States   []State
	Policies []Policy
	Bundles  []Bundle
}

// Bundle is an ESP state and the AH state applied over it, as the templates of a policy
// name them (ESP first: templates go innermost first). Outbound, the NIC seals the packet
// with ESP and then authenticates the result with AH; inbound it checks AH, then opens ESP.
// NDIS's SA bundle takes the two in that order only. Both states have the same addresses;
// the ESP state's mode is the bundle's (an AH state over a tunnel-mode ESP state is in
// transport mode, on the tunnel's outer header, as Linux writes it).
type Bundle struct {
	ESP, AH int // indexes in Config.States
	Policy  int // index in Config.Policies of the first policy that names the pair
}

// BundleOf finds the bundle state i (an index in c.States) belongs to.
func (c *Config) BundleOf(i int) (Bundle, bool) {
	for _, b := range c.Bundles {
		if b.ESP == i || b.AH == i {
			return b, true
		}
	}
	return Bundle{}, false
}

// ParseConfigFile reads a file with ParseConfig. An unreadable file gives an *Error that
// names the path.
func ParseConfigFile(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		msg := err.Error()
		var pe *fs.PathError
		if errors.As(err, &pe) {
			msg = pe.Op + ": " + pe.Err.Error()
		}
		return nil, &Error{File: path, Msg: msg, err: err}
	}
	return parseAll(path, string(data), false)
}

// ParseConfig reads every state ov2 offloads, of every suite, and `ip xfrm policy` commands
// and listings, from the same kind of file as Parse; see the package documentation. The
// policies give the states they name their selectors and make ESP+AH bundles. name is the
// file name errors give. Every error is an *Error.
func ParseConfig(name string, r io.Reader) (*Config, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, &Error{File: name, Msg: "read: " + err.Error(), err: err}
	}
	return parseAll(name, string(data), false)
}

// bind finds the state each template of each policy names, gives the states their policy's
// selector and makes ESP+AH bundles. A template names the state with its proto, mode and
// reqid (a reqid 0 template of an in or fwd policy takes any, as Linux's inbound check
// does), its spi when it gives one, its addresses when it gives them, and a direction that
// can carry the policy's traffic (a fwd policy is an inbound one: for the offload, traffic
// that arrives for another host is still inbound traffic). A transport-mode state carries
// the packet's own addresses, so they must lie in the policy's selector, or, after another
// state in the same policy, equal that state's. Policies that block take no states.
// selLines[i] is the line of state i's sel (0 without one).
func bind(name string, c *Config, selLines []int) error {
	type cover struct {
		sel    host.Selector
		policy int
	}
	type partner struct{ other, policy int } // other: -1 when the state goes alone
	covers := make([]*cover, len(c.States))
	partners := map[int]partner{}
	for pi := range c.Policies {
		pol := &c.Policies[pi]
		fail := func(field, format string, args ...any) error {
			return &Error{File: name, Line: pol.Line, Field: field, Msg: fmt.Sprintf(format, args...)}
		}
		if pol.Action == Block {
			continue
		}
		var bound []int
		var prev *State
		for ti := range pol.Tmpls {
			tm := &pol.Tmpls[ti]
			var found []int
			for si := range c.States {
				if tmplMatches(pol, tm, prev, &c.States[si]) {
					found = append(found, si)
				}
			}
			switch {
			case len(found) == 0 && tm.Optional:
				continue
			case len(found) == 0:
				return fail("tmpl", "no state matches tmpl %d (%s, line %d)", ti+1, tmplString(tm), tm.Line)
			case len(found) > 1:
				return fail("tmpl", "tmpl %d (%s, line %d) matches the states on lines %d and %d; give the tmpl an spi",
					ti+1, tmplString(tm), tm.Line, c.States[found[0]].Line, c.States[found[1]].Line)
			}
			tm.State, prev = found[0], &c.States[found[0]]
			bound = append(bound, found[0])
		}
		if len(bound) == 0 {
			continue
		}

		if len(bound) == 2 {
			e, a := &c.States[bound[0]], &c.States[bound[1]]
			switch {
			case e.Src != a.Src || e.Dst != a.Dst:
				return fail("tmpl", "the ESP state on line %d (src %v dst %v) and the AH state on line %d (src %v dst %v) "+
					"have different addresses; a bundle's states share one IP header", e.Line, e.Src, e.Dst, a.Line, a.Src, a.Dst)
			case a.Mode == host.Tunnel || e.Mode == host.Transport && a.Mode != host.Transport:
				return fail("tmpl", "the AH state on line %d is in tunnel mode: over ESP it would add a second outer IP header "+
					"(Linux nests two tunnels); the NIC's bundle has one: give AH mode transport", a.Line)
			case e.Encap != nil:
				return fail("tmpl", "the ESP state on line %d is UDP-encapsulated; AH over it would not cross NAT", e.Line)
			}
		}
		for k, si := range bound {
			other := -1
			if len(bound) == 2 {
				other = bound[1-k]
			}
			prevP, seen := partners[si]
			if !seen {
				partners[si] = partner{other, pi}
				continue
			}
			if prevP.other == other {
				continue
			}
			s := &c.States[si]
			was := "used alone"
			if prevP.other >= 0 {
				was = fmt.Sprintf("bundled with the %s state on line %d", strings.ToUpper(c.States[prevP.other].Proto.String()), c.States[prevP.other].Line)
			}
			now := "go alone"
			if other >= 0 {
				now = fmt.Sprintf("be bundled with the %s state on line %d", strings.ToUpper(c.States[other].Proto.String()), c.States[other].Line)
			}
			return fail("tmpl", "the %s state on line %d is %s by the policy on line %d, so it cannot also %s here "+
				"(the NIC offloads a state once: alone or in one bundle)", strings.ToUpper(s.Proto.String()), s.Line, was, c.Policies[prevP.policy].Line, now)
		}
		if len(bound) == 2 {
			if _, ok := c.BundleOf(bound[0]); !ok {
				c.Bundles = append(c.Bundles, Bundle{ESP: bound[0], AH: bound[1], Policy: pi})
			}
		}

		if pol.UpperProto != 0 || pol.SPort != 0 || pol.DPort != 0 {
			return fail("proto", "selector proto %s is not supported in a policy with states; only src and dst prefixes are",
				upperName(pol.UpperProto))
		}
		for _, si := range bound {
			s := &c.States[si]
			sel, ok := mergeSel(s.Sel, pol.Sel)
			if !ok {
				line := selLines[si]
				if line == 0 {
					line = s.Line
				}
				return &Error{File: name, Line: line, Field: "sel", Msg: fmt.Sprintf("%s disagrees with the selector %s of the policy on line %d",
					selString(s.Sel), selString(pol.Sel), pol.Line)}
			}
			if cv := covers[si]; cv == nil {
				covers[si] = &cover{sel, pi}
			} else if cv.sel != sel {
				return fail("src", "the policy on line %d gives the state on line %d the selector %s; this one would give it %s, "+
					"and the NIC gives a state one selector", c.Policies[cv.policy].Line, s.Line, selString(cv.sel), selString(sel))
			}
		}
	}
	for si, cv := range covers {
		if cv != nil {
			c.States[si].Sel = cv.sel
		}
	}
	return nil
}

// tmplMatches says whether template tm of pol names state s; prev is the state the template
// before it named (nil for the first).
func tmplMatches(pol *Policy, tm *Tmpl, prev, s *State) bool {
	switch {
	case s.Proto != tm.Proto || s.Mode != tm.Mode:
		return false
	case tm.SPI != 0 && s.SPI != tm.SPI:
		return false
	case s.ReqID != tm.ReqID && !(tm.ReqID == 0 && pol.Dir != PolicyOut):
		return false
	case s.Dir == In && pol.Dir == PolicyOut, s.Dir == Out && pol.Dir != PolicyOut:
		return false
	case tm.Src.IsValid() && tm.Src != s.Src, tm.Dst.IsValid() && tm.Dst != s.Dst:
		return false
	case s.Mode != host.Transport:
		return true
	case prev != nil:
		return s.Src == prev.Src && s.Dst == prev.Dst
	}
	return (!pol.Sel.Src.IsValid() || pol.Sel.Src.Contains(s.Src)) && (!pol.Sel.Dst.IsValid() || pol.Sel.Dst.Contains(s.Dst))
}

// mergeSel gives the selector a state covered by a policy gets: the policy's, except where
// the policy selects anything and the state's own sel is narrower. ok is false when the
// two disagree: both sides given, other than "any", and different.
func mergeSel(st, pol host.Selector) (host.Selector, bool) {
	anyP := func(p netip.Prefix) bool { return !p.IsValid() || p.Bits() == 0 }
	side := func(s, p netip.Prefix) (netip.Prefix, bool) {
		switch {
		case !anyP(p):
			return p, anyP(s) || s == p
		case !anyP(s):
			return s, true
		}
		return p, true
	}
	src, ok1 := side(st.Src, pol.Src)
	dst, ok2 := side(st.Dst, pol.Dst)
	if src.IsValid() && dst.IsValid() && src.Addr().Is4() != dst.Addr().Is4() {
		return host.Selector{}, false
	}
	return host.Selector{Src: src, Dst: dst}, ok1 && ok2
}

// tmplString writes a template as `ip xfrm policy` takes it: "src 192.0.2.1 dst
// 198.51.100.2 proto esp spi 0x00001001 reqid 1 mode tunnel".
func tmplString(tm *Tmpl) string {
	var b strings.Builder
	if tm.Src.IsValid() {
		fmt.Fprintf(&b, "src %v ", tm.Src)
	}
	if tm.Dst.IsValid() {
		fmt.Fprintf(&b, "dst %v ", tm.Dst)
	}
	fmt.Fprintf(&b, "proto %v ", tm.Proto)
	if tm.SPI != 0 {
		fmt.Fprintf(&b, "spi 0x%08x ", tm.SPI)
	}
	fmt.Fprintf(&b, "reqid %d mode %v", tm.ReqID, tm.Mode)
	if tm.Optional {
		b.WriteString(" level use")
	}
	return b.String()
}
