package xfrm

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"

	"github.com/ov2dev/ov2/esp"
	"github.com/ov2dev/ov2/host"
)

// stateParser reads the words of one state.
type stateParser struct {
	file  string
	toks  []token
	i     int
	start int
	st    State

	seen    map[string]token // canonical field → the keyword that set it
	lastKey string

	alg                 esp.Algorithm
	seqLo, seqHi        uint32
	oseqLo, oseqHi      uint32
	windowXS, windowESN uint64
}

func (p *stateParser) errf(t token, field, format string, args ...any) *Error {
	return &Error{File: p.file, Line: t.line, Field: field, Msg: fmt.Sprintf(format, args...)}
}

func (p *stateParser) peek() (token, bool) {
	if p.i < len(p.toks) {
		return p.toks[p.i], true
	}
	return token{}, false
}

// value returns the word after keyword key.
func (p *stateParser) value(key token) (token, error) {
	if p.i < len(p.toks) {
		p.i++
		return p.toks[p.i-1], nil
	}
	return token{}, p.errf(key, key.text, "missing value")
}

// once records that key set the canonical field, failing the second time.
func (p *stateParser) once(canon string, key token) error {
	if prev, ok := p.seen[canon]; ok {
		return p.errf(key, key.text, "given twice (first on line %d)", prev.line)
	}
	p.seen[canon] = key
	return nil
}

// number parses the word after key (a trailing comma, as the listing prints, is dropped).
func (p *stateParser) number(key token, max uint64) (uint64, error) {
	v, err := p.value(key)
	if err != nil {
		return 0, err
	}
	n, msg := parseNum(strings.TrimSuffix(v.text, ","), max)
	if msg != "" {
		return 0, p.errf(v, key.text, "%s", msg)
	}
	return n, nil
}

// parseNum reads decimal or 0x hex. A leading 0 is refused: iproute2 would read it as octal,
// and a config file that means decimal would silently get another number.
func parseNum(s string, max uint64) (uint64, string) {
	var n uint64
	var err error
	switch {
	case len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X"):
		n, err = strconv.ParseUint(s[2:], 16, 64)
	case s == "" || s[0] < '0' || s[0] > '9':
		return 0, fmt.Sprintf("%q is not a number", s)
	case len(s) > 1 && s[0] == '0':
		if _, e := strconv.ParseUint(s, 10, 64); e != nil {
			return 0, fmt.Sprintf("%q is not a number", s)
		}
		return 0, fmt.Sprintf("%q has a leading 0, which iproute2 reads as octal; write it in decimal or with 0x", s)
	default:
		n, err = strconv.ParseUint(s, 10, 64)
	}
	if errors.Is(err, strconv.ErrRange) || err == nil && n > max {
		return 0, fmt.Sprintf("%q is out of range (at most %d)", s, max)
	}
	if err != nil {
		return 0, fmt.Sprintf("%q is not a number", s)
	}
	return n, ""
}

// number32Stats reads a 32-bit number that `ip -s` may print with its other base in parentheses:
// "0x00001001(4097)", "1(0x00000001)".
func (p *stateParser) number32Stats(key token) (uint32, error) {
	v, err := p.value(key)
	if err != nil {
		return 0, err
	}
	s := v.text
	var alt string
	if i := strings.IndexByte(s, '('); i > 0 && strings.HasSuffix(s, ")") {
		s, alt = s[:i], s[i+1:len(s)-1]
	}
	n, msg := parseNum(s, math.MaxUint32)
	if msg == "" && alt != "" {
		if m, msg2 := parseNum(alt, math.MaxUint32); msg2 != "" || m != n {
			msg = fmt.Sprintf("%q: %s and %s are not the same number", v.text, s, alt)
		}
	}
	if msg != "" {
		return 0, p.errf(v, key.text, "%s", msg)
	}
	return uint32(n), nil
}

func (p *stateParser) addr(key token) (netip.Addr, error) {
	v, err := p.value(key)
	if err != nil {
		return netip.Addr{}, err
	}
	a, err := netip.ParseAddr(v.text)
	if err != nil {
		return netip.Addr{}, p.errf(v, key.text, "%q is not an IP address", v.text)
	}
	if a.Zone() != "" {
		return netip.Addr{}, p.errf(v, key.text, "%q has an IPv6 zone, which is not supported", v.text)
	}
	return a, nil
}

func (p *stateParser) prefix(key token, field string) (netip.Prefix, error) {
	v, err := p.value(key)
	if err != nil {
		return netip.Prefix{}, err
	}
	if !strings.Contains(v.text, "/") {
		a, err := netip.ParseAddr(v.text)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, p.errf(v, field, "%q is not an IP address or prefix", v.text)
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	pf, err := netip.ParsePrefix(v.text)
	if err != nil {
		return netip.Prefix{}, p.errf(v, field, "%q is not an IP address or prefix", v.text)
	}
	return pf.Masked(), nil
}

// Known flags: esn matters, the rest are accepted and have no effect on the offload.
var flagBits = map[string]uint8{
	"noecn": 1, "decap-dscp": 2, "nopmtudisc": 4, "wildrecv": 8,
	"icmp": 16, "af-unspec": 32, "align4": 64, "esn": 128,
}

const flagESN = 128

const supportedAlgs = "aead rfc4106(gcm(aes)) (AES-GCM) and aead rfc4543(gcm(aes)) (AES-GMAC)"

// Keywords iproute2 knows that change what the SA does in ways this offload does not model.
var unsupported = map[string]bool{
	"coa": true, "ctx": true, "extra-flag": true, "tfcpad": true, "cpu": true,
	"security": true, "iptfs-opts": true, "tmpl": true,
}

func (p *stateParser) parse() (State, error) {
	p.st = State{File: p.file, Line: p.start, Mode: host.Transport}
	for p.i < len(p.toks) {
		t := p.toks[p.i]
		p.i++
		if err := p.keyword(t); err != nil {
			return State{}, err
		}
		p.lastKey = t.text
	}
	return p.finish()
}

func (p *stateParser) keyword(t token) error {
	switch t.text {
	case "src", "dst":
		if err := p.once(t.text, t); err != nil {
			return err
		}
		a, err := p.addr(t)
		if err != nil {
			return err
		}
		if t.text == "src" {
			p.st.Src = a
		} else {
			p.st.Dst = a
		}

	case "proto":
		if err := p.once("proto", t); err != nil {
			return err
		}
		v, err := p.value(t)
		if err != nil {
			return err
		}
		if v.text != "esp" {
			return p.errf(v, "proto", "protocol %q is not supported; only esp is", v.text)
		}

	case "spi":
		if err := p.once("spi", t); err != nil {
			return err
		}
		n, err := p.number32Stats(t)
		if err != nil {
			return err
		}
		if n == 0 {
			return p.errf(t, "spi", "SPI 0 is reserved")
		}
		p.st.SPI = n

	case "reqid":
		if err := p.once("reqid", t); err != nil {
			return err
		}
		n, err := p.number32Stats(t)
		if err != nil {
			return err
		}
		p.st.ReqID = n

	case "mode":
		if err := p.once("mode", t); err != nil {
			return err
		}
		v, err := p.value(t)
		if err != nil {
			return err
		}
		switch v.text {
		case "transport":
			p.st.Mode = host.Transport
		case "tunnel":
			p.st.Mode = host.Tunnel
		default:
			return p.errf(v, "mode", "mode %q is not supported; want transport or tunnel", v.text)
		}

	case "flag":
		return p.flags(t)

	case "replay-window":
		// The command's window, or (a trailing comma) the window in the listing's ESN
		// context as iproute2 prints it for an SA with a direction.
		if v, ok := p.peek(); ok && strings.HasSuffix(v.text, ",") {
			return p.window(t, "replay-window-esn", &p.windowESN)
		}
		return p.window(t, "replay-window", &p.windowXS)
	case "replay_window": // the listing's ESN context
		return p.window(t, "replay-window-esn", &p.windowESN)

	case "replay-seq", "replay-oseq", "replay-seq-hi", "replay-oseq-hi":
		return p.seq(t, t.text)
	case "seq-hi", "oseq-hi", "oseq": // the listing's replay context
		return p.seq(t, "replay-"+t.text)
	case "seq":
		// In a replay context ("seq 0x0, oseq 0x0" or "seq-hi 0x0, seq 0x5") it is the last
		// inbound number; alone (`seq SEQ`, or `ip -s`'s "seq 0x00000000") it is the
		// state's netlink sequence, which means nothing here.
		if v, ok := p.peek(); ok && strings.HasSuffix(v.text, ",") || p.lastKey == "seq-hi" || p.lastKey == "anti-replay" {
			return p.seq(t, "replay-seq")
		}
		_, err := p.value(t)
		return err
	case "anti-replay": // "anti-replay context:" or "anti-replay esn context:"
		v, err := p.value(t)
		if err == nil && v.text == "esn" {
			v, err = p.value(t)
		}
		if err != nil || v.text != "context:" {
			return p.errf(t, t.text, `want "anti-replay context:" or "anti-replay esn context:"`)
		}
	case "bitmap": // non-ESN replay context: "bitmap 0x00000000"
		_, err := p.number(t, math.MaxUint32)
		return err
	case "bitmap-length": // ESN replay context; the bitmap words follow
		n, err := p.number(t, math.MaxUint32)
		if err != nil {
			return err
		}
		for ; n > 0; n-- {
			v, ok := p.peek()
			if !ok || !isHexWord(v.text) {
				break
			}
			p.i++
		}

	case "aead":
		return p.aead(t)
	case "enc", "auth", "auth-trunc", "comp":
		if v, ok := p.peek(); ok {
			return p.errf(t, t.text, "%s %q is not supported; only %s are", t.text, v.text, supportedAlgs)
		}
		return p.errf(t, t.text, "%s is not supported; only %s are", t.text, supportedAlgs)

	case "encap":
		return p.encap(t)
	case "sel":
		return p.sel(t)

	case "dir":
		if err := p.once("dir", t); err != nil {
			return err
		}
		v, err := p.value(t)
		if err != nil {
			return err
		}
		switch v.text {
		case "in":
			p.st.Dir = In
		case "out":
			p.st.Dir = Out
		default:
			return p.errf(v, "dir", "dir %q is not valid; want in or out", v.text)
		}

	case "offload":
		return p.offload(t)
	case "crypto": // listing: "crypto offload parameters: dev eth0 dir out mode packet"
		return p.offloadListing(t)

	case "lastused": // listing: "lastused 2024-08-29 12:33:12" or "lastused -"
		v, err := p.value(t)
		if err != nil {
			return err
		}
		if v.text == "-" {
			return nil
		}
		w, ok := p.peek()
		if !isDate(v.text) || !ok || !isTime(w.text) {
			return p.errf(v, t.text, "want lastused YYYY-MM-DD HH:MM:SS")
		}
		p.i++

	case "if_id":
		_, err := p.number(t, math.MaxUint32)
		return err
	case "mark", "output-mark": // "mark 5 [mask 0xff]" or, listed, "mark 0x5/0xff"
		v, err := p.value(t)
		if err != nil {
			return err
		}
		val, mask, hasMask := strings.Cut(v.text, "/")
		if _, msg := parseNum(val, math.MaxUint32); msg != "" {
			return p.errf(v, t.text, "%s", msg)
		}
		if hasMask {
			if _, msg := parseNum(mask, math.MaxUint32); msg != "" {
				return p.errf(v, t.text, "%s", msg)
			}
		} else if m, ok := p.peek(); ok && m.text == "mask" {
			p.i++
			_, err := p.number(m, math.MaxUint32)
			return err
		}
	case "limit":
		v, err := p.value(t)
		if err != nil {
			return err
		}
		switch v.text {
		case "time-soft", "time-hard", "time-use-soft", "time-use-hard",
			"byte-soft", "byte-hard", "packet-soft", "packet-hard":
			_, err := p.number(v, math.MaxUint64)
			return err
		}
		return p.errf(v, "limit", "unknown limit %q", v.text)

	default:
		if unsupported[t.text] {
			return p.errf(t, t.text, "not supported")
		}
		return p.errf(t, t.text, "unknown keyword")
	}
	return nil
}

func (p *stateParser) finish() (State, error) {
	st := &p.st
	start := token{line: p.start}
	for _, f := range []string{"src", "dst", "spi", "aead"} {
		if _, ok := p.seen[f]; !ok {
			return State{}, p.errf(start, f, "missing (every state needs src, dst, spi and aead)")
		}
	}
	if st.Src.Is4() != st.Dst.Is4() {
		return State{}, p.errf(p.seen["dst"], "dst", "%v (%s) and src %v (%s) are different address families",
			st.Dst, family(st.Dst), st.Src, family(st.Src))
	}
	if !st.ESN {
		for _, f := range []struct {
			canon string
			v     uint32
		}{{"replay-seq-hi", p.seqHi}, {"replay-oseq-hi", p.oseqHi}} {
			if f.v != 0 {
				k := p.seen[f.canon]
				return State{}, p.errf(k, k.text, "%#x needs flag esn: without ESN there are no high 32 bits", f.v)
			}
		}
	}
	st.Seq = uint64(p.seqHi)<<32 | uint64(p.seqLo)
	st.OSeq = uint64(p.oseqHi)<<32 | uint64(p.oseqLo)
	for _, f := range []struct {
		canon, verb string
		v           uint64
	}{{"replay-seq", "receive", st.Seq}, {"replay-oseq", "send", st.OSeq}} {
		if _, m := checkSeq(st.ESN, f.v, f.canon, f.verb); m != "" {
			k, ok := p.seen[f.canon]
			if !ok {
				k = p.seen[f.canon+"-hi"]
			}
			return State{}, p.errf(k, k.text, "%s", m)
		}
	}
	// Linux keeps a window up to 32 in the SA and a larger one (or any with ESN) in the
	// replay state: a listing shows both, one of them 0.
	w := p.windowXS
	if p.windowESN != 0 {
		if w != 0 && w != p.windowESN {
			k := p.seen["replay-window-esn"]
			return State{}, p.errf(k, k.text, "replay window %d differs from replay-window %d on line %d",
				p.windowESN, w, p.seen["replay-window"].line)
		}
		w = p.windowESN
	}
	st.ReplayWindow = int(w)
	return *st, nil
}
