package xfrm

import (
	"encoding/hex"
	"math"
	"strconv"
	"strings"

	"github.com/ov2dev/ov2/esp"
)

func (p *stateParser) window(t token, canon string, dst *uint64) error {
	if err := p.once(canon, t); err != nil {
		return err
	}
	n, err := p.number(t, math.MaxUint32)
	if err != nil {
		return err
	}
	if n > maxWindow {
		return p.errf(t, t.text, "replay window %d is larger than %d, the Linux limit", n, maxWindow)
	}
	*dst = n
	return nil
}

func (p *stateParser) seq(t token, canon string) error {
	if err := p.once(canon, t); err != nil {
		return err
	}
	n, err := p.number(t, math.MaxUint32)
	if err != nil {
		return err
	}
	switch canon {
	case "replay-seq":
		p.seqLo = uint32(n)
	case "replay-oseq":
		p.oseqLo = uint32(n)
	case "replay-seq-hi":
		p.seqHi = uint32(n)
	case "replay-oseq-hi":
		p.oseqHi = uint32(n)
	}
	return nil
}

func (p *stateParser) flags(t token) error {
	n := 0
	for {
		v, ok := p.peek()
		if !ok {
			break
		}
		if b, known := flagBits[v.text]; known {
			if b == flagESN {
				p.st.ESN = true
			}
		} else if bits, ok := flagMask(v.text); ok {
			if bits&flagESN != 0 {
				p.st.ESN = true
			}
		} else if !isStatsMask(v.text) {
			if n == 0 {
				return p.errf(v, "flag", "unknown flag %q; want esn, noecn, decap-dscp, nopmtudisc, wildrecv, icmp, af-unspec or align4", v.text)
			}
			break
		}
		p.i++
		n++
	}
	if n == 0 {
		return p.errf(t, "flag", "missing value")
	}
	return nil
}

// flagMask reads flags given as a number: `flag 0x80` (the command), or the bits iproute2
// prints in hex after the names it knows ("flag af-unspec 80" from versions without esn).
func flagMask(s string) (uint8, bool) {
	if len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") {
		s = s[2:]
	} else if len(s) > 2 {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 16, 8)
	return uint8(n), err == nil
}

// isStatsMask matches the "(0x00010000)" bit string `ip -s` prints after the flags.
func isStatsMask(s string) bool {
	if len(s) != 12 || !strings.HasPrefix(s, "(0x") || s[11] != ')' {
		return false
	}
	return strings.Trim(s[3:11], "01") == ""
}

func isHexWord(s string) bool {
	if len(s) != 8 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

func isDate(s string) bool { return matchDigits(s, "dddd-dd-dd") }
func isTime(s string) bool { return matchDigits(s, "dd:dd:dd") }

func matchDigits(s, pattern string) bool {
	if len(s) != len(pattern) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if pattern[i] == 'd' && (s[i] < '0' || s[i] > '9') || pattern[i] != 'd' && s[i] != pattern[i] {
			return false
		}
	}
	return true
}

func (p *stateParser) aead(t token) error {
	if err := p.once("aead", t); err != nil {
		return err
	}
	if err := p.conflict(t, "aead"); err != nil {
		return err
	}
	incomplete := p.errf(t, "aead", "incomplete; want aead ALGO KEY+SALT ICV-BITS")
	algo, ok := p.peek()
	if !ok {
		return incomplete
	}
	p.i++
	switch algo.text {
	case nameGCM:
		p.alg = esp.AESGCM
	case nameGMAC:
		p.alg = esp.AESGMAC
	default:
		return p.errf(algo, "aead", "algorithm %q is not supported; only %s are", algo.text, supportedAlgs)
	}
	k, ok := p.peek()
	if !ok {
		return incomplete
	}
	p.i++
	if k.text == "<<Keys" {
		return p.errf(k, "aead", `the key is hidden (a "nokeys" listing); paste one that shows keys`)
	}
	digits, isHex := strings.CutPrefix(k.text, "0x")
	if !isHex {
		digits, isHex = strings.CutPrefix(k.text, "0X")
	}
	keySalt, err := hex.DecodeString(digits)
	switch {
	case !isHex || digits == "":
		return p.errf(k, "aead", "key+salt %q is not 0x followed by hex digits", k.text)
	case len(digits)%2 != 0:
		return p.errf(k, "aead", "key+salt has an odd number of hex digits (%d)", len(digits))
	case err != nil:
		return p.errf(k, "aead", "key+salt %q is not 0x followed by hex digits", k.text)
	case len(keySalt) != 20 && len(keySalt) != 28 && len(keySalt) != 36:
		return p.errf(k, "aead", "key+salt is %d bytes; want 20, 28 or 36 (16, 24 or 32-byte AES key + 4-byte salt)", len(keySalt))
	}
	// `ip -s` shows the key length after the key: "0x… (160 bits)".
	if b, ok := p.peek(); ok && strings.HasPrefix(b.text, "(") && p.i+1 < len(p.toks) && p.toks[p.i+1].text == "bits)" {
		if n, msg := parseNum(b.text[1:], math.MaxUint32); msg != "" || n != uint64(8*len(keySalt)) {
			return p.errf(b, "aead", "key+salt is %d bits, not %s", 8*len(keySalt), b.text[1:])
		}
		p.i += 2
	}
	if _, ok := p.peek(); !ok {
		return incomplete
	}
	bits, err := p.number(t, math.MaxUint32)
	if err != nil {
		return err
	}
	if p.alg == esp.AESGMAC && bits != 128 {
		return p.errf(p.toks[p.i-1], "aead", "ICV length %d bits is not valid with %s; want 128", bits, nameGMAC)
	}
	if bits != 64 && bits != 96 && bits != 128 {
		return p.errf(p.toks[p.i-1], "aead", "ICV length %d bits is not valid; want 64, 96 or 128", bits)
	}
	p.st.Alg = p.alg
	p.st.Key = keySalt[:len(keySalt)-4]
	copy(p.st.Salt[:], keySalt[len(keySalt)-4:])
	p.st.ICVLen = int(bits / 8)
	return nil
}

func (p *stateParser) encap(t token) error {
	if err := p.once("encap", t); err != nil {
		return err
	}
	if err := p.conflict(t, "encap"); err != nil {
		return err
	}
	typ, err := p.value(t)
	if err != nil {
		return err
	}
	listing := typ.text == "type" // "encap type espinudp sport 4500 dport 4500 addr 0.0.0.0"
	if listing {
		if typ, err = p.value(t); err != nil {
			return err
		}
	}
	switch typ.text {
	case "espinudp":
	case "espinudp-nonike", "espintcp":
		return p.errf(typ, "encap", "encap type %q is not supported; want espinudp (RFC 3948)", typ.text)
	default:
		return p.errf(typ, "encap", "unknown encap type %q; want espinudp", typ.text)
	}
	e := &Encap{}
	for _, f := range []struct {
		word string
		port *uint16
	}{{"sport", &e.SPort}, {"dport", &e.DPort}} {
		if listing {
			if w, err := p.value(t); err != nil || w.text != f.word {
				return p.errf(t, "encap", "want encap type espinudp sport PORT dport PORT addr ADDR")
			}
		}
		n, err := p.number(t, math.MaxUint16)
		if err != nil {
			return err
		}
		*f.port = uint16(n)
	}
	if listing {
		if w, err := p.value(t); err != nil || w.text != "addr" {
			return p.errf(t, "encap", "want encap type espinudp sport PORT dport PORT addr ADDR")
		}
	}
	if e.OA, err = p.addr(t); err != nil {
		return err
	}
	p.st.Encap = e
	return nil
}

func (p *stateParser) sel(t token) error {
	if err := p.once("sel", t); err != nil {
		return err
	}
	n := 0
	var src, dst bool
loop:
	for {
		w, ok := p.peek()
		if !ok {
			break
		}
		switch w.text {
		case "src", "dst":
			p.i++
			if w.text == "src" && src || w.text == "dst" && dst {
				return p.errf(w, "sel", "%s given twice", w.text)
			}
			pf, err := p.prefix(w, "sel")
			if err != nil {
				return err
			}
			if w.text == "src" {
				src, p.st.Sel.Src = true, pf
			} else {
				dst, p.st.Sel.Dst = true, pf
			}
		case "uid": // `ip -s` prints the selector's owner after it
			p.i++
			if _, err := p.number(w, math.MaxUint32); err != nil {
				return err
			}
			continue
		case "proto", "sport", "dport", "dev", "type", "code", "key":
			p.i++
			v, err := p.value(w)
			if err != nil {
				return p.errf(w, "sel", "missing value after %s", w.text)
			}
			// Values that select everything are the same as leaving the word out.
			if w.text == "proto" && (v.text == "any" || v.text == "0") ||
				(w.text == "sport" || w.text == "dport") && v.text == "0" ||
				w.text == "dev" && v.text == "none" {
				break
			}
			return p.errf(w, "sel", "selector %s %q is not supported; only src and dst prefixes are", w.text, v.text)
		default:
			break loop
		}
		n++
	}
	if n == 0 {
		return p.errf(t, "sel", "empty selector; want sel [src PREFIX] [dst PREFIX]")
	}
	s := p.st.Sel
	if s.Src.IsValid() && s.Dst.IsValid() && s.Src.Addr().Is4() != s.Dst.Addr().Is4() {
		return p.errf(t, "sel", "src %v and dst %v are different address families", s.Src, s.Dst)
	}
	return nil
}

// offload skips `offload [crypto|packet] dev DEV dir in|out`: which Linux device offloads the
// SA does not matter here, and its dir is not the SA's.
func (p *stateParser) offload(t token) error {
	bad := p.errf(t, "offload", "want offload [crypto|packet] dev DEV dir in|out")
	w, err := p.value(t)
	if err == nil && (w.text == "crypto" || w.text == "packet") {
		w, err = p.value(t)
	}
	if err != nil || w.text != "dev" {
		return bad
	}
	if _, err := p.value(t); err != nil {
		return bad
	}
	if w, err := p.value(t); err != nil || w.text != "dir" {
		return bad
	}
	if d, err := p.value(t); err != nil || d.text != "in" && d.text != "out" {
		return bad
	}
	return nil
}

// offloadListing skips the listing's "crypto offload parameters: dev DEV [dir in|out] mode
// crypto|packet".
func (p *words) offloadListing(t token) error {
	bad := p.errf(t, "crypto", "want crypto offload parameters: dev DEV [dir in|out] mode crypto|packet")
	if w, err := p.value(t); err != nil || w.text != "offload" {
		return bad
	}
	if w, err := p.value(t); err != nil || w.text != "parameters:" {
		return bad
	}
	if w, err := p.value(t); err != nil || w.text != "dev" {
		return bad
	}
	if _, err := p.value(t); err != nil {
		return bad
	}
	if w, ok := p.peek(); ok && w.text == "dir" {
		p.i++
		if d, err := p.value(t); err != nil || d.text != "in" && d.text != "out" {
			return bad
		}
	}
	if w, ok := p.peek(); ok && w.text == "mode" {
		p.i++
		if m, err := p.value(t); err != nil || m.text != "crypto" && m.text != "packet" {
			return bad
		}
	}
	return nil
}
